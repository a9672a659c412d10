"""The weekly model: demand, AI substitution and augmentation, bids, allocation, outcomes, dynamics.

State lives in NumPy arrays indexed by worker and by category; each week is a handful of vectorised
steps and one call to :func:`gigshift.allocate.allocate`, the same engine a platform runs. Nothing
loops over workers or tasks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

import numpy as np
import polars as pl

import gigshift
from gigshift._provenance import Provenance
from gigshift.allocate import InfeasibleError, Policy, allocate, default_policy
from gigshift.market import GROUP_ATTRIBUTES, synthetic, synthetic_tasks
from gigshift.simulate._scenario import Scenario, load_scenario

_DAY = 86_400.0


@dataclass(frozen=True)
class SimulationResult:
    """The tables one simulation run produces.

    Attributes
    ----------
    panel : polars.DataFrame
        One row per worker and week while active: worker_id, week, date, category, assigned
        (tasks allocated), jobs (completed), hours, earnings_usd (pay for completed tasks plus any
        pay-floor top-up), topup_usd, adopted_ai, rating, learning, group attributes.
    categories : polars.DataFrame
        One row per category and week: demand (tasks clients wanted done), substituted (done by AI
        instead), posted, filled, mean_price_usd, paid_usd (pay for completed tasks), topup_usd,
        mean_pay_per_hour_usd, bids_per_task (candidate workers per task), active_workers, markup,
        capability, client_adoption, substitution_probability, fairness_fallback (the week's batch
        was allocated without the fairness constraint because no allocation could meet it).
    decision_log : polars.DataFrame
        A sample of the weekly decision logs (the allocation engine's format) with a ``week`` column.
    scenario : Scenario
        The resolved scenario.
    """

    panel: pl.DataFrame
    categories: pl.DataFrame
    decision_log: pl.DataFrame
    scenario: Scenario
    provenance: Provenance
    timings: dict[str, float]
    n_workers: int
    weeks: int

    def summary(self) -> dict[str, object]:
        last = self.categories.get_column("week").max()
        first = self.categories.filter(pl.col("week") == 0)
        final = self.categories.filter(pl.col("week") == last)
        return {
            "scenario": self.scenario.name,
            "n_workers": self.n_workers,
            "weeks": self.weeks,
            "tasks_posted": int(self.categories.get_column("posted").sum()),
            "tasks_substituted": int(self.categories.get_column("substituted").sum()),
            "tasks_filled": int(self.categories.get_column("filled").sum()),
            "posted_first_week": int(first.get_column("posted").sum()),
            "posted_last_week": int(final.get_column("posted").sum()),
            "active_first_week": int(first.get_column("active_workers").sum()),
            "active_last_week": int(final.get_column("active_workers").sum()),
            "earnings_usd": round(float(self.panel.get_column("earnings_usd").sum()), 2),
        }


@cache
def _category_table() -> pl.DataFrame:
    from gigshift.taxonomy import categories

    return categories().sort("slug").with_columns(pl.col("class").cast(pl.String), pl.col("mode").cast(pl.String))


@cache
def _neighbours(k: int = 3) -> np.ndarray:
    """For each category, the k most similar categories of the same mode (skill profiles, cosine)."""
    from gigshift.taxonomy import category

    table = _category_table()
    slugs = table.get_column("slug").to_list()
    profiles = [category(s).skills.select("element_id", "importance") for s in slugs]
    elements = sorted({e for p in profiles for e in p.get_column("element_id").to_list()})
    index = {e: i for i, e in enumerate(elements)}
    matrix = np.zeros((len(slugs), len(elements)))
    for row, p in enumerate(profiles):  # once per category, cached
        matrix[row, [index[e] for e in p.get_column("element_id").to_list()]] = p.get_column("importance").to_numpy()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms > 0, norms, 1)
    similarity = unit @ unit.T
    modes = table.get_column("mode").to_numpy()
    similarity[modes[:, None] != modes[None, :]] = -np.inf
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def _oli_levels(classes: list[str], days: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Relative demand level of each online class on each day (1 at the first day), from the OLI.

    After ``demand.anchor_until`` (and past the end of the series) the level follows the log-linear
    trend of the ``demand.trend_years`` before it: the path without the shock that followed.
    """
    from gigshift.taxonomy import online_labour_index

    oli = online_labour_index()
    anchor_until = scenario.get("demand.anchor_until")
    years = scenario.get("demand.trend_years")
    out = np.ones((len(classes), days.size))
    for i, cls in enumerate(classes):
        series = oli.filter(pl.col("occupation_class") == cls).sort("month")
        month_days = np.array([(m - date(1970, 1, 1)).days for m in series.get_column("month").to_list()], float)
        level = series.get_column("level").to_numpy()
        cut = month_days[-1] if anchor_until is None else min((anchor_until - date(1970, 1, 1)).days, month_days[-1])
        window = (month_days <= cut) & (month_days >= cut - years * 365.25)
        slope = np.polyfit(month_days[window], np.log(level[window]), 1)[0] if window.sum() >= 3 else 0.0
        at_cut = np.interp(cut, month_days, level)
        observed = np.interp(days, month_days, level)
        trend = at_cut * np.exp(slope * (days - cut))
        path = np.where(days <= cut, observed, trend)
        out[i] = path / path[0]
    return out


def _logistic(days: np.ndarray, midpoint: date, years: float, maximum: float) -> np.ndarray:
    """Adoption share: 10% to 90% of ``maximum`` over ``years``, half at ``midpoint``."""
    steepness = 2 * math.log(9) / (years * 365.25)
    mid = (midpoint - date(1970, 1, 1)).days
    return maximum / (1 + np.exp(-steepness * (days - mid)))


def _capability(days: np.ndarray, spec: dict) -> np.ndarray:
    if spec["release"] is None or spec["max"] == 0:
        return np.zeros(days.size)
    start = (spec["release"] - date(1970, 1, 1)).days
    return spec["max"] * np.clip((days - start) / (spec["ramp_weeks"] * 7), 0.0, 1.0)


def _policy(scenario: Scenario) -> Policy:
    base = default_policy()
    weights = {**base.weights, "rating": scenario.get("allocation.rating_weight")}
    fair = scenario.get("policies.fair_allocation.attribute")
    return base.with_options(
        version=f"simulate-{scenario.name}",
        k=scenario.get("allocation.k"),
        mode="exact" if fair else scenario.get("allocation.mode"),
        weights=weights,
        fairness_attribute=fair,
        min_impact_ratio=scenario.get("policies.fair_allocation.min_impact_ratio"),
    )


def simulate_one(
    scenario: Scenario | str,
    *,
    workers: int = 10_000,
    weeks: int | None = None,
    seed: int | np.random.SeedSequence | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """One run of the model; see :func:`gigshift.simulate.run`."""
    scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
    weeks = weeks or scenario.get("weeks")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    seq_market, seq_loop, seq_alloc = root.spawn(3)
    rng = np.random.default_rng(seq_loop)
    timings: dict[str, float] = {"setup": 0.0, "demand": 0.0, "allocate": 0.0, "outcomes": 0.0, "tables": 0.0}
    clock = time.perf_counter()

    start = scenario.get("start")
    start_dt = datetime(start.year, start.month, start.day, tzinfo=UTC)
    n_total = workers + math.ceil(scenario.get("market.entry_reserve") * workers)
    bias_spec = scenario.get("market.rating_bias")
    market = synthetic(
        n_workers=n_total,
        n_tasks=1,
        n_clients=scenario.get("market.n_clients"),
        n_areas=scenario.get("market.n_areas"),
        on_location_share=scenario.get("market.on_location_share"),
        rating_bias=bias_spec or None,
        start=start_dt,
        seed=int(seq_market.generate_state(1)[0]),
    )
    w_frame = market.workers
    table = _category_table()
    slugs = table.get_column("slug").to_list()
    slug_index = {s: i for i, s in enumerate(slugs)}
    n_cat = len(slugs)
    cls = table.get_column("class").to_list()
    online = (table.get_column("mode") == "online").to_numpy()
    lens = scenario.get("ai.lens")
    e1 = table.get_column(f"{lens}_share_e1").fill_null(0.0).to_numpy()
    e2 = table.get_column(f"{lens}_share_e2").fill_null(0.0).to_numpy()
    kinds = scenario.get("ai.kinds")
    kind_of = [kinds[c] for c in cls]
    kind_names = sorted(set(scenario.get("ai.capability")))

    days = np.array([(start + timedelta(weeks=t) - date(1970, 1, 1)).days for t in range(weeks)], float)
    online_classes = sorted({c for c, o in zip(cls, online, strict=True) if o})
    if scenario.get("demand.anchor") == "oli":
        class_level = dict(zip(online_classes, _oli_levels(online_classes, days, scenario), strict=True))
    else:
        class_level = {c: np.ones(weeks) for c in online_classes}
    local_growth = (1 + scenario.get("demand.on_location_growth_per_year")) ** ((days - days[0]) / 365.25)
    level = np.stack([class_level[c] if o else local_growth for c, o in zip(cls, online, strict=True)])  # (C, T)
    ai_on = scenario.get("ai.enabled")
    capability = {
        k: (_capability(days, scenario.get(f"ai.capability.{k}")) if ai_on else np.zeros(weeks)) for k in kind_names
    }
    cap = np.stack([capability[k] for k in kind_of])  # (C, T)
    client_adoption = _logistic(days, **_adoption(scenario, "client")) if ai_on else np.zeros(weeks)
    worker_adoption = _logistic(days, **_adoption(scenario, "worker")) if ai_on else np.zeros(weeks)
    substitution = np.clip(scenario.get("ai.substitution") * client_adoption[None, :] * cap * e1[:, None], 0, 1)
    new_kind = scenario.get("ai.new_demand.kind")
    new_max = scenario.get(f"ai.capability.{new_kind}")["max"]
    new_share = capability[new_kind] / new_max if new_max > 0 else np.zeros(weeks)
    boost = np.ones((n_cat, weeks))
    for slug in scenario.get("ai.new_demand.categories"):
        boost[slug_index[slug]] = 1 + scenario.get("ai.new_demand.growth") * new_share
    shock_start = scenario.get("demand.shock.start")
    if shock_start is not None:
        after = days >= (shock_start - date(1970, 1, 1)).days
        for slug in scenario.get("demand.shock.categories"):
            boost[slug_index[slug], after] *= scenario.get("demand.shock.factor")

    # worker state
    primary = w_frame.select(pl.col("categories").list.first()).to_series().replace_strict(slug_index).to_numpy().copy()
    active = np.zeros(n_total, dtype=bool)
    active[:workers] = True
    ever_active = active.copy()
    markup0 = scenario.get("bids.markup")
    reservation = w_frame.get_column("hourly_rate_usd").to_numpy() / (1 + markup0)
    n_jobs = w_frame.get_column("n_jobs_completed").to_numpy().astype(np.int64)
    rating_obs = w_frame.get_column("rating").to_numpy().astype(float)
    bias = np.zeros(n_total)
    for attribute, groups in (bias_spec or {}).items():
        values = w_frame.get_column(attribute).to_numpy()
        for group, shift in groups.items():
            bias[values == group] += shift
    quality = np.where(np.isnan(rating_obs), 4.95 - rng.gamma(1.3, 0.22, n_total), np.clip(rating_obs - bias, 1, 5))
    rating_sum = np.where(np.isnan(rating_obs), 0.0, rating_obs * n_jobs)
    n_rated = np.where(np.isnan(rating_obs), 0, n_jobs)
    reliability = w_frame.get_column("reliability").fill_null(0.9).to_numpy()
    adopted = np.zeros(n_total, dtype=bool)
    weeks_idle = np.zeros(n_total, dtype=np.int64)
    learning_left = np.zeros(n_total, dtype=np.int64)
    last_assigned = w_frame.get_column("last_assigned_at")
    categories_col = w_frame.get_column("categories")
    base_share = np.bincount(primary[active], minlength=n_cat) / workers
    base_demand = scenario.get("market.tasks_per_worker_week") * workers * base_share
    ratio0 = np.where(base_demand > 0, np.bincount(primary[active], minlength=n_cat) / np.maximum(base_demand, 1e-9), 1)
    markup = np.full(n_cat, markup0)
    policy = _policy(scenario)
    waiting = None
    neighbours = _neighbours()
    aug = scenario.get("ai.augmentation")
    kind_gain = np.array([aug["text_gain"] if k == "text" else aug["other_gain"] for k in kind_of])
    floor = scenario.get("policies.pay_floor_usd_per_hour")
    learning_weeks = round(
        scenario.get("dynamics.learning_weeks") * scenario.get("policies.reskilling.learning_weeks_factor")
    )
    noise = scenario.get("demand.noise")
    log_sample = scenario.get("allocation.log_sample")
    alloc_seeds = seq_alloc.spawn(weeks)
    panel_parts: list[dict[str, np.ndarray]] = []
    cat_parts: list[dict[str, np.ndarray]] = []
    log_parts: list[pl.DataFrame] = []
    timings["setup"] += time.perf_counter() - clock

    for t in range(weeks):
        clock = time.perf_counter()
        when = start_dt + timedelta(weeks=t)
        # demand, substitution, postings
        expected = base_demand * level[:, t] * boost[:, t] * np.exp(noise * rng.standard_normal(n_cat) - noise**2 / 2)
        demand = rng.poisson(expected)
        substituted = rng.binomial(demand, substitution[:, t])
        posted = demand - substituted
        counts = {slugs[c]: int(posted[c]) for c in np.flatnonzero(posted)}
        tasks = (
            synthetic_tasks(
                counts,
                start=when,
                n_clients=scenario.get("market.n_clients"),
                n_areas=scenario.get("market.n_areas"),
                id_prefix=f"t{t:03d}-",
                seed=rng,
            )
            if counts
            else None
        )
        # adoption and augmentation
        share_now = adopted[active].mean() if active.any() else 0.0
        hazard = max(0.0, (worker_adoption[t] - share_now) / max(1e-9, 1 - share_now))
        adopted |= active & ~adopted & (rng.random(n_total) < hazard)
        novice = np.where(n_jobs < aug["novice_jobs"], aug["novice_factor"], 1.0)
        gain = adopted * cap[primary, t] * (e1 + e2)[primary] * kind_gain[primary] * novice
        speed = np.maximum(1.0 / (1.0 + gain), 0.4)  # hours needed, as a share of the unaided hours
        learning_left = np.maximum(learning_left - 1, 0)
        available = active & (learning_left == 0)
        timings["demand"] += time.perf_counter() - clock

        clock = time.perf_counter()
        chosen_w = np.empty(0, dtype=np.int64)
        price = hours_task = np.empty(0)
        cat_of = np.empty(0, dtype=np.int64)
        n_candidates = np.zeros(n_cat)
        filled = np.zeros(n_cat, dtype=np.int64)
        fallback = False
        if tasks is not None and available.any():
            idx = np.flatnonzero(available)
            rating_now = np.where(n_rated > 0, rating_sum / np.maximum(n_rated, 1), np.nan)
            week_workers = w_frame[idx].with_columns(
                categories=categories_col.gather(idx),
                hourly_rate_usd=pl.Series(reservation[idx] * (1 + markup[primary[idx]]) * speed[idx]),
                rating=pl.Series(rating_now[idx]).fill_nan(None),
                n_jobs_completed=pl.Series(n_jobs[idx]),
                last_assigned_at=last_assigned.gather(idx),
            )
            task_ids = tasks.get_column("task_id")
            sampled = task_ids.filter(pl.Series(rng.random(task_ids.len()) < log_sample))
            batch = {
                "waiting": waiting,
                "at": when,
                "seed": int(alloc_seeds[t].generate_state(1)[0]),
                "explain": False,
                "validate_input": False,
                "log_tasks": sampled,  # the full log of a million-worker week is not kept, a sample is
            }
            try:
                result = allocate(tasks, week_workers, policy, **batch)
            except InfeasibleError:
                # a small week's candidate lists can make group parity impossible; a platform then
                # allocates that batch unconstrained, and the week is flagged (fairness_fallback)
                result = allocate(tasks, week_workers, policy.with_options(fairness_attribute=None), **batch)
                fallback = True
            waiting = result.waiting
            task_info = tasks.select("task_id", "category", "expected_hours")
            chosen = result.assignments.join(task_info, on="task_id", how="left")
            chosen_w = idx[_positions(chosen.get_column("worker_id"), week_workers.get_column("worker_id"))]
            price = chosen.get_column("price_usd").to_numpy()
            hours_task = chosen.get_column("expected_hours").to_numpy()  # unaided hours the task takes
            cat_of = chosen.get_column("category").replace_strict(slug_index).to_numpy()
            filled = np.bincount(cat_of, minlength=n_cat)
            per_task = result.candidate_counts.join(task_info, on="task_id", how="left")
            n_candidates = _sums(
                per_task.get_column("category").replace_strict(slug_index).to_numpy(),
                weights=per_task.get_column("n_candidates").to_numpy(),
                minlength=n_cat,
            )
            if sampled.len():
                log_parts.append(result.decision_log.with_columns(week=pl.lit(t)))
            del result
        timings["allocate"] += time.perf_counter() - clock

        clock = time.perf_counter()
        # outcomes: completion, pay (with the floor), hours, ratings
        completed = rng.random(chosen_w.size) < reliability[chosen_w]
        hours_worked = hours_task * speed[chosen_w]
        pay = np.where(completed, price, 0.0)
        topup = np.zeros_like(pay)
        if floor is not None:
            topup = np.where(completed, np.maximum(floor * hours_worked - pay, 0.0), 0.0)
        earnings = _sums(chosen_w, weights=pay + topup, minlength=n_total)
        topups = _sums(chosen_w, weights=topup, minlength=n_total)
        jobs = _sums(chosen_w, weights=completed, minlength=n_total).astype(np.int64)
        assigned = np.bincount(chosen_w, minlength=n_total).astype(np.int64)
        hours = _sums(chosen_w, weights=hours_worked * completed, minlength=n_total)
        done = chosen_w[completed]
        stars = np.clip(
            quality[done] + bias[done] + scenario.get("outcomes.rating_noise") * rng.standard_normal(done.size), 1, 5
        )
        np.add.at(rating_sum, done, stars)
        np.add.at(n_rated, done, 1)
        n_jobs += jobs
        if chosen_w.size:
            last_assigned = last_assigned.scatter(
                chosen_w, pl.Series([when] * chosen_w.size, dtype=last_assigned.dtype)
            )

        rating_now = np.where(n_rated > 0, rating_sum / np.maximum(n_rated, 1), np.nan)
        # compact dtypes: a 1M-worker year is 52M panel rows
        panel_parts.append(
            {
                "w": np.flatnonzero(active).astype(np.int32),
                "week": np.full(int(active.sum()), t, dtype=np.int16),
                "category": primary[active].astype(np.int16),
                "assigned": assigned[active].astype(np.int16),
                "jobs": jobs[active].astype(np.int16),
                "hours": hours[active].astype(np.float32),
                "earnings_usd": earnings[active],  # float64: sums must match the paid tasks exactly
                "topup_usd": topups[active].astype(np.float32),
                "adopted_ai": adopted[active],
                "rating": rating_now[active].astype(np.float32),
                "learning": learning_left[active] > 0,
            }
        )
        active_c = np.bincount(primary[active], minlength=n_cat)
        paid = _sums(cat_of, weights=price, minlength=n_cat)
        paid_completed = _sums(cat_of, weights=pay, minlength=n_cat)
        hours_c = _sums(cat_of, weights=hours_worked, minlength=n_cat)
        cat_parts.append(
            {
                "category": np.arange(n_cat),
                "week": np.full(n_cat, t),
                "demand": demand,
                "substituted": substituted,
                "posted": posted,
                "filled": filled,
                "mean_price_usd": np.where(filled > 0, paid / np.maximum(filled, 1), np.nan),
                "paid_usd": paid_completed,
                "topup_usd": _sums(cat_of, weights=topup, minlength=n_cat),
                "mean_pay_per_hour_usd": np.where(hours_c > 0, paid / np.maximum(hours_c, 1e-9), np.nan),
                "bids_per_task": np.where(posted > 0, n_candidates / np.maximum(posted, 1), np.nan),
                "active_workers": active_c,
                "markup": markup.copy(),
                "capability": cap[:, t],
                "client_adoption": np.full(n_cat, client_adoption[t]),
                "substitution_probability": substitution[:, t],
                "fairness_fallback": np.full(n_cat, fallback),
            }
        )

        # prices respond to competition: more workers per posted task, lower markups
        ratio = active_c / np.maximum(posted, 1)
        markup = np.clip(
            markup0 * (ratio0 / np.maximum(ratio, 1e-9)) ** scenario.get("bids.elasticity"),
            scenario.get("bids.min_markup"),
            scenario.get("bids.max_markup"),
        )
        # worker dynamics: idle weeks, exit, moves to adjacent categories, entry where pay is high
        weeks_idle = np.where(active & (jobs == 0), weeks_idle + 1, 0)
        leave = (
            active
            & (weeks_idle >= scenario.get("dynamics.exit_weeks"))
            & (rng.random(n_total) < scenario.get("dynamics.exit_probability"))
        )
        active &= ~leave
        move = (
            active
            & (learning_left == 0)
            & (weeks_idle >= scenario.get("dynamics.switch_after_weeks"))
            & (rng.random(n_total) < scenario.get("dynamics.switch_probability"))
        )
        if move.any():
            movers = np.flatnonzero(move)
            options = neighbours[primary[movers]]  # (m, 3)
            demand_per_worker = posted / np.maximum(active_c, 1)
            target = options[np.arange(movers.size), np.argmax(demand_per_worker[options], axis=1)]
            primary[movers] = target
            learning_left[movers] = learning_weeks
            weeks_idle[movers] = 0
            categories_col = _prepend(categories_col, movers, [slugs[c] for c in target])
        mean_pay = earnings[active].mean() if active.any() else 0.0
        pay_c = _sums(primary[active], weights=earnings[active], minlength=n_cat) / np.maximum(active_c, 1)
        attractive = pay_c > (1 + scenario.get("dynamics.entry_premium")) * mean_pay
        reserve = np.flatnonzero(~ever_active)
        if attractive.any() and reserve.size:
            entrants_c = rng.poisson(scenario.get("dynamics.entry_rate") * active_c * attractive)
            total = min(int(entrants_c.sum()), reserve.size)
            if total:
                new = reserve[:total]
                target = np.repeat(np.arange(n_cat), entrants_c)[:total]
                primary[new] = target
                active[new] = True
                ever_active[new] = True
                learning_left[new] = learning_weeks
                categories_col = _prepend(categories_col, new, [slugs[c] for c in target])
        timings["outcomes"] += time.perf_counter() - clock
        if on_progress is not None:
            on_progress(t + 1, weeks)

    clock = time.perf_counter()
    panel, cat_table, log_table = _tables(panel_parts, cat_parts, log_parts, w_frame, slugs, start)
    timings["tables"] += time.perf_counter() - clock
    provenance = Provenance(
        sources=(),
        method=f"gigshift.simulate, scenario {scenario.name}; weekly allocation with gigshift.allocate ({policy.mode})",
        gigshift_version=gigshift.__version__,
        seed=int(root.entropy) if isinstance(root.entropy, int) else None,
        extra={"spawn_key": str(root.spawn_key)},
    )
    return SimulationResult(panel, cat_table, log_table, scenario, provenance, timings, workers, weeks)


def _adoption(scenario: Scenario, who: str) -> dict:
    spec = scenario.get(f"ai.{who}_adoption")
    return {"midpoint": spec["midpoint"], "years": spec["years_to_saturation"], "maximum": spec["max"]}


def _sums(index: np.ndarray, *, weights: np.ndarray, minlength: int) -> np.ndarray:
    """``np.bincount`` with weights, always float64 (NumPy returns int64 zeros for an empty week)."""
    return np.bincount(index, weights=weights, minlength=minlength).astype(np.float64, copy=False)


def _positions(values: pl.Series, ids: pl.Series) -> np.ndarray:
    """Position of each value within ``ids`` (all present)."""
    index = pl.DataFrame({"id": ids, "pos": np.arange(ids.len())})
    return (
        pl.DataFrame({"id": values})
        .join(index, on="id", how="left", maintain_order="left")
        .get_column("pos")
        .to_numpy()
    )


def _prepend(column: pl.Series, rows: np.ndarray, slugs: list[str]) -> pl.Series:
    """Workers ``rows`` now list ``slugs`` first among their categories."""
    updated = pl.DataFrame({"i": rows, "new": slugs, "old": column.gather(rows)}).select(
        "i", updated=pl.concat_list(pl.col("new"), pl.col("old")).list.unique(maintain_order=True)
    )
    frame = pl.DataFrame({"i": np.arange(column.len()), "categories": column})
    return (
        frame.join(updated, on="i", how="left", maintain_order="left")
        .select(pl.coalesce("updated", "categories").alias("categories"))
        .to_series()
    )


def _tables(
    panel_parts: list[dict[str, np.ndarray]],
    cat_parts: list[dict[str, np.ndarray]],
    log_parts: list[pl.DataFrame],
    w_frame: pl.DataFrame,
    slugs: list[str],
    start: date,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    slug_enum = pl.Enum(slugs)
    groups = [c for c in GROUP_ATTRIBUTES if c in w_frame.columns]
    # Memory: a 1M-worker year has tens of millions of panel rows, so text columns are stored as
    # categorical codes (4 bytes a row) and the weekly parts are concatenated without a NumPy copy.
    ids = w_frame.get_column("worker_id").cast(pl.Categorical)
    group_codes = {g: w_frame.get_column(g).cast(pl.Categorical) for g in groups}
    frames = []
    while panel_parts:
        part = panel_parts.pop(0)
        frames.append(pl.DataFrame(part))
    panel = pl.concat(frames, rechunk=False)
    del frames
    w = panel.get_column("w")
    rest = [c for c in panel.columns if c not in ("w", "week", "category")]
    panel = panel.select(
        ids.gather(w).alias("worker_id"),
        pl.col("week").cast(pl.Int32),
        pl.col("category").replace_strict(list(range(len(slugs))), slugs, return_dtype=slug_enum),
        *rest,
        *[codes.gather(w).alias(g) for g, codes in group_codes.items()],
    ).with_columns(
        date=pl.lit(start) + pl.duration(weeks=pl.col("week")),
        rating=pl.col("rating").fill_nan(None),
    )
    cat_np = {k: np.concatenate([p[k] for p in cat_parts]) for k in cat_parts[0]}
    cat_table = (
        pl.DataFrame(cat_np)
        .with_columns(
            category=pl.col("category").replace_strict(list(range(len(slugs))), slugs, return_dtype=slug_enum)
        )
        .select("category", pl.exclude("category"))
        .with_columns(
            pl.col("mean_price_usd", "mean_pay_per_hour_usd", "bids_per_task").fill_nan(None),
            date=pl.lit(start) + pl.duration(weeks=pl.col("week")),
        )
    )
    log = pl.concat(log_parts, how="vertical_relaxed") if log_parts else pl.DataFrame()
    return panel, cat_table.sort("week", "category"), log
