"""``gigshift demo``: the whole story on embedded defaults, as one self-contained HTML report.

It builds a market from the atlas, simulates ``baseline``, ``genai-2022`` and
``policy-fair-allocation`` with replicates (common random numbers: replicate i of every scenario
starts from the same market), estimates the AI effect by exposure with ``gigshift.impact``,
compares it with the published studies, audits the allocation's fairness with and without the fair
policy, and follows three workers (a translator, a web developer, a courier). Everything is computed
here from the engines; nothing in the report is typed in by hand except the published figures,
which come with their citations from ``gigshift.impact.published_estimates``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._html import esc, figure_html, page, table_html, write_atomic
from gigshift._tables import check_positive_int

SCENARIOS = ("baseline", "genai-2022", "policy-fair-allocation")
# the fair scenario's counterfactual: the same biased ratings, allocated without the constraint
NO_POLICY = "no-fair-policy"
STORIES = (
    ("translation", "Ana, a translator"),
    ("web-dev", "Sam, a web developer"),
    ("parcel-courier", "Kofi, a courier"),
)
CHATGPT_RELEASE = date(2022, 11, 30)
_COLOURS = {"baseline": "#7f8c8d", "genai-2022": "#c0392b", "policy-fair-allocation": "#2471a3"}
_FILL = {
    "baseline": "rgba(127,140,141,0.18)",
    "genai-2022": "rgba(192,57,43,0.18)",
    "policy-fair-allocation": "rgba(36,113,163,0.15)",
}
_LATE_WEEKS = 26  # "after": the last half year of the run, when adoption has spread

ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoResult:
    """What ``run_demo`` wrote and the headline figures it found.

    Attributes
    ----------
    path : Path
        The report, ``DIR/index.html``.
    figures : dict
        Headline numbers (also in the report), e.g. ``did_estimate``, ``price_of_fairness``.
    timings : dict
        Seconds per stage.
    """

    path: Path
    figures: dict[str, object] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run_demo(
    out_dir: str | os.PathLike[str],
    *,
    workers: int = 3000,
    replicates: int = 3,
    weeks: int | None = None,
    seed: int = 2022,
    on_progress: ProgressCallback | None = None,
) -> DemoResult:
    """Run the demo and write ``out_dir/index.html``.

    Parameters
    ----------
    out_dir : path
        Folder for the report (created; an existing ``index.html`` is replaced atomically).
    workers : int, default=3000
        Workers in the simulated market at the start.
    replicates : int, default=3
        Independent runs per scenario; figures show their mean and range.
    weeks : int, optional
        Weeks to simulate (default: the scenarios' 104, January 2022 to December 2023). The event
        study needs weeks on both sides of ChatGPT's release (week 48); at least 60.
    seed : int, default=2022
        Root seed of every random draw.
    on_progress : callable, optional
        ``on_progress(stage, done, total)``.
    """
    from gigshift.simulate import load_scenario

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GigshiftError(f"--out {out_dir}: exists and is not a directory")
    workers = check_positive_int("workers", workers, caller="demo")
    replicates = check_positive_int("replicates", replicates, caller="demo")
    scenarios = {name: load_scenario(name) for name in SCENARIOS}
    scenarios[NO_POLICY] = scenarios["policy-fair-allocation"].with_values(
        {
            "name": NO_POLICY,
            "description": "As policy-fair-allocation (clients rate women 0.3 stars lower), without the fairness "
            "constraint.",
            "policies.fair_allocation.attribute": None,
        }
    )
    n_weeks = weeks if weeks is not None else scenarios["genai-2022"].get("weeks")
    if check_positive_int("weeks", n_weeks, caller="demo") < 60:
        raise GigshiftError(f"demo: weeks must be at least 60 (ChatGPT is released in week 48); got {n_weeks}")

    def progress(stage: str, done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(stage, done, total)

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    results = _simulate(scenarios, workers=workers, weeks=n_weeks, replicates=replicates, seed=seed, progress=progress)
    timings["simulate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    progress("estimate", 0, 3)
    cats = _category_frame(results)
    impact = {name: _estimate_by_exposure(cats, name) for name in ("genai-2022", "baseline")}
    progress("estimate", 1, 3)
    from gigshift.impact import compare_with_published

    genai = results["genai-2022"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*removed because of separation")
        comparison = compare_with_published(genai.categories, genai.panel, event=CHATGPT_RELEASE)
    progress("estimate", 3, 3)
    timings["estimate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    progress("audit", 0, 2)
    fairness = _fairness(scenarios["policy-fair-allocation"], workers=workers, seed=seed)
    progress("audit", 1, 2)
    simulated_audit = {
        "fair": _simulated_audit(results["policy-fair-allocation"], seed=seed),
        "plain": _simulated_audit(results[NO_POLICY], seed=seed, attribute=fairness["attribute"]),
    }
    progress("audit", 2, 2)
    timings["audit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    progress("report", 0, 1)
    changes = _category_changes(cats)
    stories = [_story(slug, who, results, changes) for slug, who in STORIES]
    figures = _headline(cats, impact, comparison, fairness, simulated_audit, stories)
    settings = {
        "workers": workers,
        "replicates": replicates,
        "weeks": n_weeks,
        "seed": seed,
        "start": str(scenarios["genai-2022"].get("start")),
    }
    timings["report"] = time.perf_counter() - clock
    html_text = _render(
        settings=settings,
        scenarios=scenarios,
        cats=cats,
        changes=changes,
        impact=impact,
        comparison=comparison,
        fairness=fairness,
        simulated_audit=simulated_audit,
        stories=stories,
        figures=figures,
        timings=timings,
    )
    path = write_atomic(out_dir / "index.html", html_text)
    progress("report", 1, 1)
    return DemoResult(path=path, figures=figures, timings=timings)


# --------------------------------------------------------------------------------------------- compute


def _simulate(scenarios: dict, *, workers: int, weeks: int, replicates: int, seed: int, progress: Callable) -> dict:
    from gigshift.simulate import run

    total = len(scenarios) * replicates * weeks
    results = {}
    for i, (name, scenario) in enumerate(scenarios.items()):

        def step(done: int, _total: int, i: int = i) -> None:
            progress("simulate", i * replicates * weeks + done, total)

        # the same seed for every scenario: replicate r of each starts from the same market, so
        # differences between scenarios are the scenario's, not the draw's
        results[name] = run(scenario, workers=workers, weeks=weeks, seed=seed, replicates=replicates, on_progress=step)
    return results


def _atlas() -> pl.DataFrame:
    from gigshift.taxonomy import categories

    return categories().select(
        pl.col("slug").alias("category"),
        "name",
        pl.col("class").cast(pl.String),
        pl.col("mode").cast(pl.String),
        "human_beta",
        "gpt4_beta",
    )


def _category_frame(results: dict) -> pl.DataFrame:
    """Every scenario's category x week table, stacked, with the atlas's names and exposure."""
    frames = [
        r.categories.with_columns(pl.col("category").cast(pl.String), scenario=pl.lit(name))
        for name, r in results.items()
    ]
    return (
        pl.concat(frames, how="vertical_relaxed")
        .with_columns(earnings_usd=pl.col("paid_usd") + pl.col("topup_usd"))
        .join(_atlas(), on="category", how="left")
    )


def _category_changes(cats: pl.DataFrame) -> pl.DataFrame:
    """Per category: the last half year under genai-2022 relative to baseline, per replicate, summarised."""
    last = cats.get_column("week").max()
    late = cats.filter(pl.col("week") > last - _LATE_WEEKS, pl.col("scenario").is_in(["baseline", "genai-2022"]))
    per = late.group_by("scenario", "replicate", "category").agg(
        posted=pl.col("posted").sum(),
        price=(pl.col("mean_price_usd").fill_nan(0) * pl.col("filled")).sum() / pl.col("filled").sum().replace(0, None),
        per_worker=pl.col("earnings_usd").sum() / pl.col("active_workers").sum().replace(0, None),
        workers=pl.col("active_workers").mean(),
    )
    wide = per.filter(pl.col("scenario") == "genai-2022").join(
        per.filter(pl.col("scenario") == "baseline"), on=["replicate", "category"], suffix="_base"
    )

    def change(col: str) -> pl.Expr:  # no change is defined against nothing (a category empty in the baseline)
        base = pl.col(f"{col}_base")
        return pl.when(base > 0).then(pl.col(col) / base - 1)

    ratios = wide.with_columns(
        d_posted=change("posted"),
        d_price=change("price"),
        d_per_worker=change("per_worker"),
        d_workers=change("workers"),
    )
    aggs = []
    for col in ("d_posted", "d_price", "d_per_worker", "d_workers"):
        aggs += [
            pl.col(col).mean().alias(col),
            pl.col(col).min().alias(f"{col}_lo"),
            pl.col(col).max().alias(f"{col}_hi"),
        ]
    return (
        ratios.group_by("category")
        .agg(*aggs, price=pl.col("price").mean(), per_worker=pl.col("per_worker").mean())
        .join(_atlas(), on="category", how="left")
        .sort("d_posted")
    )


def _estimate_by_exposure(cats: pl.DataFrame, scenario: str) -> object:
    """Poisson DiD of monthly posted tasks on the atlas's beta (human labels), online categories."""
    from gigshift.impact import estimate

    monthly = (
        cats.filter(pl.col("scenario") == scenario, pl.col("mode") == "online")
        .with_columns(month=pl.col("date").dt.truncate("1mo"))
        .group_by("replicate", "category", "month")
        .agg(posted=pl.col("posted").sum(), exposure=pl.col("human_beta").first())
        .with_columns(unit=pl.format("{}/{}", "replicate", "category"))
    )
    with warnings.catch_warnings():
        # categories with no posted tasks in some months are dropped by the Poisson fit (separation): expected
        warnings.filterwarnings("ignore", message=".*removed because of separation")
        return estimate(
            monthly,
            unit="unit",
            time="month",
            outcome="posted",
            exposure="exposure",
            event=CHATGPT_RELEASE,
            model="poisson",
            source=f"{scenario} category x month panel",
        )


def _policies(scenario: object) -> tuple[object, object]:
    """The scenario's allocation policy without and with its fairness constraint."""
    from gigshift.allocate import default_policy

    base = default_policy()
    plain = base.with_options(
        version="demo-unconstrained",
        mode="exact",
        k=scenario.get("allocation.k"),
        weights={**base.weights, "rating": scenario.get("allocation.rating_weight")},
    )
    fair = plain.with_options(
        version="demo-four-fifths",
        fairness_attribute=scenario.get("policies.fair_allocation.attribute"),
        min_impact_ratio=scenario.get("policies.fair_allocation.min_impact_ratio"),
    )
    return plain, fair


def _fairness(scenario: object, *, workers: int, seed: int) -> dict[str, object]:
    """One weekly batch of the biased market, allocated and audited with and without the fair policy."""
    from gigshift.allocate import allocate
    from gigshift.audit import audit
    from gigshift.market import synthetic

    n_tasks = max(1, round(workers * scenario.get("market.tasks_per_worker_week")))
    bias = scenario.get("market.rating_bias")
    market = synthetic(n_workers=workers, n_tasks=n_tasks, rating_bias=bias, seed=seed)
    plain_policy, fair_policy = _policies(scenario)
    attribute = fair_policy.fairness_attribute
    out: dict[str, object] = {"n_workers": workers, "n_tasks": n_tasks, "bias": bias, "attribute": attribute}
    for key, policy in (("plain", plain_policy), ("fair", fair_policy)):
        result = allocate(market.tasks, market.workers, policy, bids=market.bids, seed=seed, explain=False)
        report = audit(
            result.decision_log,
            [attribute],
            selected="is_selected",
            person="worker_id",
            seed=seed,
            source=f"decision log ({policy.version})",
            description=f"one weekly batch, policy {policy.version}",
        )
        out[key] = {"result": result, "audit": report}
    fairness_report = out["fair"]["result"].fairness  # type: ignore[index]
    out["price_of_fairness"] = fairness_report.price_of_fairness if fairness_report is not None else 0.0
    out["min_impact_ratio"] = fair_policy.min_impact_ratio
    return out


def _simulated_audit(result: object, *, seed: int, attribute: str | None = None) -> dict[str, object]:
    """A simulated run's two years: the audit of its decision-log sample and earnings by group."""
    from gigshift.audit import audit

    attribute = attribute or result.scenario.get("policies.fair_allocation.attribute")
    log = result.decision_log.with_columns(person=pl.format("{}/{}", "replicate", "worker_id"))
    report = audit(
        log, [attribute], selected="is_selected", person="person", seed=seed, source="simulated decision log"
    )
    earnings = (
        result.panel.filter(pl.col(attribute).is_not_null())
        .group_by(pl.col(attribute).cast(pl.String).alias("group"))
        .agg(
            workers=pl.struct("replicate", "worker_id").n_unique(),
            weekly_earnings=pl.col("earnings_usd").mean(),
            pay_per_hour=pl.col("earnings_usd").sum() / pl.col("hours").sum().replace(0, None),
        )
        .sort("group")
    )
    weeks = result.categories.group_by("replicate", "week").agg(pl.col("fairness_fallback").any())
    return {
        "audit": report,
        "earnings": earnings,
        "attribute": attribute,
        "fallback_weeks": int(weeks.get_column("fairness_fallback").sum()),
        "weeks": weeks.height,
    }


@cache
def _skill_similarity() -> tuple[list[str], np.ndarray]:
    """Cosine similarity of the categories' centred O*NET skill-importance profiles."""
    from gigshift.taxonomy import categories, category

    slugs = categories().sort("slug").get_column("slug").to_list()
    profiles = pl.concat(
        [category(s).skills.select("element_id", "importance").with_columns(slug=pl.lit(s)) for s in slugs]
    )
    wide = profiles.pivot(on="element_id", index="slug", values="importance", aggregate_function="mean").fill_null(0)
    wide = pl.DataFrame({"slug": slugs}).join(wide, on="slug", how="left").fill_null(0)
    matrix = wide.drop("slug").to_numpy()
    # centred: every occupation needs reading and listening; what sets categories apart is how
    # their profile departs from the average one (raw cosines are all ~0.98)
    matrix = matrix - matrix.mean(axis=0, keepdims=True)
    unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return slugs, unit @ unit.T


def _story(slug: str, who: str, results: dict, changes: pl.DataFrame) -> dict[str, object]:
    """One worker's story: exposure, what happened to people who started in their category, what next."""
    from gigshift.advise import paths as career_paths
    from gigshift.advise import tasks as task_split
    from gigshift.taxonomy import category

    cat = category(slug)
    tk = task_split(slug, by="category")
    split = tk.tasks

    def top(group: str) -> list[str]:
        rows = split.filter(pl.col("group") == group).sort("weight", descending=True)
        texts = rows.get_column("task").str.strip_chars_end(". ").unique(maintain_order=True)
        return texts.head(3).to_list()

    advice = career_paths(slug, by="category", top=3)
    paths = {}
    for name in ("baseline", "genai-2022"):
        panel = results[name].panel
        starters = panel.filter(pl.col("week") == 0, pl.col("category").cast(pl.String) == slug).select(
            "replicate", "worker_id"
        )
        mine = panel.join(starters, on=["replicate", "worker_id"], how="semi")
        n_start = starters.group_by("replicate").agg(n=pl.len())
        weekly = (
            mine.group_by("replicate", "week", "date")
            .agg(
                earnings=pl.col("earnings_usd").sum(),
                active=pl.len(),
                here=(pl.col("category").cast(pl.String) == slug).sum(),
            )
            .join(n_start, on="replicate")
            .sort("replicate", "week")
            .with_columns(
                per_starter=(pl.col("earnings") / pl.col("n")).rolling_mean(4, min_samples=1).over("replicate")
            )
        )
        last = weekly.get_column("week").max()
        end = weekly.filter(pl.col("week") == last)
        late = weekly.filter(pl.col("week") > last - _LATE_WEEKS)
        adopted = mine.filter(pl.col("week") == last).get_column("adopted_ai").mean() if name == "genai-2022" else None
        paths[name] = {
            "weekly": weekly.group_by("week", "date")
            .agg(mean=pl.col("per_starter").mean(), lo=pl.col("per_starter").min(), hi=pl.col("per_starter").max())
            .sort("week"),
            "n_starters": int(n_start.get_column("n").sum()),
            "active_share": float((end.get_column("active").sum()) / n_start.get_column("n").sum()),
            "still_here_share": float(end.get_column("here").sum() / n_start.get_column("n").sum()),
            "late_weekly_earnings": float(
                (late.get_column("earnings").sum())
                / (late.get_column("week").n_unique() * n_start.get_column("n").sum())
            ),
            "adopted_ai": None if adopted is None else float(adopted),
        }
    own = changes.filter(pl.col("category") == slug).row(0, named=True)
    slugs, similarity = _skill_similarity()
    row = slugs.index(slug)
    options = (
        changes.join(pl.DataFrame({"category": slugs, "similarity": similarity[row]}), on="category")
        .filter(pl.col("category") != slug, pl.col("human_beta") < cat.human.beta - 0.1)
        .with_columns(
            fit=pl.col("similarity").rank(descending=True)
            + pl.col("d_posted").rank(descending=True)
            + pl.col("per_worker").rank(descending=True)
        )
        .sort("fit", "similarity", descending=[False, True], nulls_last=True)
        .head(3)
    )
    learn = {}
    own_tech = set(cat.technology.get_column("technology").to_list())
    for dest in options.get_column("category").to_list():
        tech = category(dest).technology.filter(pl.col("is_hot") | pl.col("is_in_demand"))
        learn[dest] = [t for t in tech.get_column("technology").to_list() if t not in own_tech][:3]
    return {
        "slug": slug,
        "who": who,
        "name": cat.name,
        "mode": cat.mode,
        "human_beta": cat.human.beta,
        "gpt4_beta": cat.gpt4.beta,
        "shares": dict(zip(tk.groups["group"].to_list(), tk.groups["share"].to_list(), strict=True)),
        "hand_off": top("ai_can_do"),
        "speed_up": top("ai_speeds_up"),
        "human_edge": top("human_edge"),
        "advice": advice,
        "category_change": own,
        "paths": paths,
        "options": options,
        "learn": learn,
    }


def _pooled_change(cats: pl.DataFrame, where: pl.Expr, column: str = "posted") -> float:
    """genai-2022 / baseline - 1 of ``column`` summed over the rows ``where`` selects, last half year,
    mean over replicates."""
    last = cats.get_column("week").max()
    sums = (
        cats.filter(where, pl.col("week") > last - _LATE_WEEKS)
        .group_by("scenario", "replicate")
        .agg(pl.col(column).sum())
    )
    wide = sums.filter(pl.col("scenario") == "genai-2022").join(
        sums.filter(pl.col("scenario") == "baseline"), on="replicate", suffix="_base"
    )
    return float((wide.get_column(column) / wide.get_column(f"{column}_base") - 1).mean())


def _headline(cats, impact, comparison, fairness, simulated, stories) -> dict[str, object]:
    did = impact["genai-2022"].did
    placebo = impact["baseline"].did
    plain = fairness["plain"]["audit"].groups  # type: ignore[index]
    fair = fairness["fair"]["audit"].groups  # type: ignore[index]

    def lowest(groups: pl.DataFrame) -> tuple[str, float]:
        row = groups.filter(~pl.col("small")).sort("impact_ratio").row(0, named=True)
        return str(row["category"]), float(row["impact_ratio"])

    def ratio_of(groups: pl.DataFrame, group: str) -> float | None:
        rows = groups.filter(pl.col("category") == group)
        return float(rows.item(0, "impact_ratio")) if rows.height else None

    return {
        "exposed_posted_change": _pooled_change(cats, (pl.col("mode") == "online") & (pl.col("human_beta") >= 0.8)),
        "on_location_posted_change": _pooled_change(cats, pl.col("mode") == "on-location"),
        "did_estimate": did["estimate"],
        "did_ci": did["ci"],
        "did_per_tenth_beta": float(np.expm1(0.1 * did["estimate"])),
        "placebo_estimate": placebo["estimate"],
        "placebo_ci": placebo["ci"],
        "pre_trend_max_abs_t": impact["genai-2022"].pre_trend_max_abs_t(),
        "n_published": comparison.height,
        "lowest_group_unconstrained": lowest(plain)[0],
        "min_impact_ratio_unconstrained": lowest(plain)[1],
        "lowest_group_fair": lowest(fair)[0],
        "min_impact_ratio_fair": lowest(fair)[1],
        "simulated_female_impact_ratio": {
            key: ratio_of(simulated[key]["audit"].groups, "female") for key in ("plain", "fair")
        },
        "price_of_fairness": fairness["price_of_fairness"],
        "stories": {
            s["slug"]: {
                "human_beta": s["human_beta"],
                "earnings_change": s["paths"]["genai-2022"]["late_weekly_earnings"]
                / max(s["paths"]["baseline"]["late_weekly_earnings"], 1e-9)
                - 1,
            }
            for s in stories
        },
    }


# ---------------------------------------------------------------------------------------------- render


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:+.{digits}%}"


def _ratio(x: float | None) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.2f}"


def _usd(x: float | None) -> str:
    return "–" if x is None or not np.isfinite(x) else f"${x:,.0f}"


def _more_less(x: float) -> str:
    return "as much" if abs(x) < 0.0005 else f"{abs(x):.1%} {'less' if x < 0 else 'more'}"


def _band_traces(
    fig,
    frame: pl.DataFrame,
    *,
    x: str,
    name: str,
    colour: str,
    fill: str,
    row=None,
    visible=True,
    legend=True,
    legendgroup=None,
):
    """A replicate band (min-max, filled) and its mean line.

    Numbers go out as float32 / int16 arrays, which Plotly writes as compact base64: the market
    figure holds ~1,500 traces and would otherwise weigh several MB of JSON text.
    """
    column = frame.get_column(x)
    xs = column.cast(pl.Int16).to_numpy() if column.dtype.is_integer() else np.array(column.to_list(), dtype=object)
    hi = frame.get_column("hi").cast(pl.Float32).to_numpy()
    lo = frame.get_column("lo").cast(pl.Float32).to_numpy()
    kwargs = {"row": row, "col": 1} if row is not None else {}
    fig.add_scatter(
        x=np.concatenate([xs, xs[::-1]]),
        y=np.concatenate([hi, lo[::-1]]),
        fill="toself",
        fillcolor=fill,
        line={"width": 0},
        hoverinfo="skip",
        showlegend=False,
        visible=visible,
        legendgroup=legendgroup or name,
        **kwargs,
    )
    fig.add_scatter(
        x=xs,
        y=frame.get_column("mean").cast(pl.Float32).to_numpy(),
        name=name,
        line={"color": colour, "width": 2},
        showlegend=legend,
        visible=visible,
        legendgroup=legendgroup or name,
        **kwargs,
    )
    return 2


def _market_figure(cats: pl.DataFrame) -> object:
    """Demand, price and earnings per active worker by group, scenario bands; a menu picks the group."""
    from plotly.subplots import make_subplots

    base = (
        cats.filter(pl.col("scenario").is_in(SCENARIOS))
        .select(
            "scenario",
            "replicate",
            "week",
            "date",
            "category",
            "name",
            "class",
            "posted",
            "filled",
            "mean_price_usd",
            "earnings_usd",
            "active_workers",
        )
        .with_columns(priced=pl.col("mean_price_usd") * pl.col("filled"))
    )
    stacked = pl.concat(
        [
            base.with_columns(group=pl.lit("All categories"), order=pl.lit(0)),
            base.with_columns(group=pl.format("class: {}", "class"), order=pl.lit(1)),
            base.with_columns(group=pl.col("name"), order=pl.lit(2)),
        ]
    )
    weekly = (
        stacked.group_by("order", "group", "scenario", "replicate", "week", "date")
        .agg(
            demand=pl.col("posted").sum(),
            price=pl.col("priced").sum() / pl.col("filled").sum(),
            earnings=pl.col("earnings_usd").sum() / pl.col("active_workers").sum(),
        )
        .sort("order", "group", "scenario", "replicate", "week")
        .with_columns(
            [
                pl.col(m).rolling_mean(4, min_samples=1).over("group", "scenario", "replicate")
                for m in ("demand", "price", "earnings")
            ]
        )
    )
    metrics = (
        ("demand", "tasks posted per week"),
        ("price", "mean price per task, USD"),
        ("earnings", "earnings per active worker per week, USD"),
    )
    bands = (
        weekly.group_by("order", "group", "scenario", "week", "date")
        .agg(
            *[pl.col(m).mean().alias(f"{m}_mean") for m, _ in metrics],
            *[pl.col(m).min().alias(f"{m}_lo") for m, _ in metrics],
            *[pl.col(m).max().alias(f"{m}_hi") for m, _ in metrics],
        )
        .sort("order", "group", "scenario", "week")
    )
    groups = bands.select("order", "group").unique().sort("order", "group").get_column("group").to_list()
    calendar = bands.select("week", "date").unique().sort("week")
    release_week = calendar.filter(pl.col("date") < CHATGPT_RELEASE).height - 0.5
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, subplot_titles=[t for _, t in metrics]
    )
    owners: list[int] = []
    parts = bands.partition_by("group", "scenario", as_dict=True)
    for gi, group in enumerate(groups):
        for scenario in SCENARIOS:
            part = parts.get((group, scenario))
            if part is None:
                continue
            for row, (metric, _) in enumerate(metrics, start=1):
                frame = part.select(
                    "week",
                    mean=pl.col(f"{metric}_mean"),
                    lo=pl.col(f"{metric}_lo"),
                    hi=pl.col(f"{metric}_hi"),
                ).with_columns(pl.col("mean", "lo", "hi").fill_nan(None))
                n = _band_traces(
                    fig,
                    frame,
                    x="week",
                    name=scenario,
                    colour=_COLOURS[scenario],
                    fill=_FILL[scenario],
                    row=row,
                    visible=gi == 0,
                    legend=row == 1,
                    legendgroup=scenario,
                )
                owners += [gi] * n
    owners_np = np.array(owners)
    buttons = [
        {"label": group, "method": "update", "args": [{"visible": (owners_np == gi).tolist()}]}
        for gi, group in enumerate(groups)
    ]
    fig.update_layout(
        height=820,
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 80},
        updatemenus=[
            {"buttons": buttons, "x": 0, "y": 1.1, "xanchor": "left", "yanchor": "bottom", "direction": "down"}
        ],
        legend={"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        shapes=[
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": release_week,
                "x1": release_week,
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": "#555"},
            }
        ],
    )
    # weeks on the axis (compact int16 data), labelled with their dates every quarter
    ticks = calendar.filter(pl.col("date").dt.day() <= 7, pl.col("date").dt.month().is_in([1, 4, 7, 10]))
    fig.update_xaxes(tickvals=ticks.get_column("week").to_list(), ticktext=[str(d) for d in ticks["date"]])
    fig.add_annotation(x=release_week, y=1.0, xref="x", yref="paper", text="ChatGPT", showarrow=False, yanchor="bottom")
    return fig


def _event_study_figure(impact: dict) -> object:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, label in (("genai-2022", "genai-2022"), ("baseline", "baseline (no AI): placebo")):
        es = (
            impact[name]
            .event_study.filter(pl.col("estimate").is_not_null())
            .with_columns(
                lo=pl.col("ci_lo").fill_null(pl.col("estimate")),
                hi=pl.col("ci_hi").fill_null(pl.col("estimate")),
                mean=pl.col("estimate"),
            )
        )
        _band_traces(fig, es, x="rel_period", name=label, colour=_COLOURS[name], fill=_FILL[name])
    fig.add_hline(y=0, line={"color": "#333", "width": 1})
    fig.add_vline(x=-0.5, line={"dash": "dot", "color": "#555"})
    fig.update_layout(
        height=420,
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 30},
        xaxis={"title": "months relative to ChatGPT's release (0 = December 2022; -1 is the reference)"},
        yaxis={"title": "log change in posted tasks per unit of beta"},
        legend={"orientation": "h", "y": 1.08, "x": 0},
    )
    return fig


def _published_figure(comparison: pl.DataFrame) -> object:
    import plotly.graph_objects as go

    labels = [f"{s}: {m}" for s, m in zip(comparison["study"].to_list(), comparison["measure"].to_list(), strict=True)]
    fig = go.Figure()
    pub = comparison.get_column("published").to_numpy()
    fig.add_scatter(
        x=pub, y=labels, mode="markers", name="published", marker={"symbol": "diamond", "size": 12, "color": "#1d2330"}
    )
    sim = comparison.get_column("simulated").to_numpy().astype(float)
    lo = comparison.get_column("ci_lo").to_numpy().astype(float)
    hi = comparison.get_column("ci_hi").to_numpy().astype(float)
    fig.add_scatter(
        x=sim,
        y=labels,
        mode="markers",
        name="simulated (genai-2022), 95% CI",
        marker={"size": 10, "color": _COLOURS["genai-2022"]},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": np.nan_to_num(hi - sim),
            "arrayminus": np.nan_to_num(sim - lo),
        },
    )
    fig.add_vline(x=0, line={"color": "#333", "width": 1})
    fig.update_layout(
        height=120 + 60 * comparison.height,
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 30},
        xaxis={"title": "proportional change", "tickformat": ".0%"},
        legend={"orientation": "h", "y": 1.08, "x": 0},
    )
    return fig


def _story_figure(story: dict) -> object:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in ("baseline", "genai-2022"):
        _band_traces(fig, story["paths"][name]["weekly"], x="date", name=name, colour=_COLOURS[name], fill=_FILL[name])
    fig.add_vline(x=str(CHATGPT_RELEASE), line={"dash": "dot", "color": "#555"})
    fig.update_layout(
        height=300,
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 10},
        yaxis={"title": "USD per week per starter"},
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return fig


def _ll144_table(groups: pl.DataFrame) -> str:
    view = groups.select(
        pl.col("category").alias("group"),
        pl.col("n").alias("candidates"),
        pl.col("n_selected").alias("selected"),
        pl.col("rate").alias("selection rate"),
        pl.format("{}–{}", pl.col("ci_lo").round(3).cast(pl.String), pl.col("ci_hi").round(3).cast(pl.String)).alias(
            "95% CI"
        ),
        pl.col("impact_ratio").alias("impact ratio"),
        pl.when(pl.col("small")).then(pl.lit("small group: read with care")).otherwise(pl.lit("")).alias("note"),
    )
    return table_html(view)


def _story_html(story: dict, i: int) -> str:
    sh = story["shares"]
    cc = story["category_change"]
    g, b = story["paths"]["genai-2022"], story["paths"]["baseline"]
    change = g["late_weekly_earnings"] / max(b["late_weekly_earnings"], 1e-9) - 1
    lines = [
        f"<h3>{esc(story['who'])}: {esc(story['name'])}</h3>",
        f"<p><b>Exposure.</b> beta {story['human_beta']:.2f} (human labels) / {story['gpt4_beta']:.2f} (GPT-4 labels). "
        f"Of the category's tasks (both lenses' labels averaged, <code>gigshift advise tasks</code>), "
        f"<span class='pill E1'>{sh['ai_can_do']:.0%}</span> AI can do, "
        f"<span class='pill E2'>{sh['ai_speeds_up']:.0%}</span> it speeds up and "
        f"<span class='pill E0'>{sh['human_edge']:.0%}</span> stay the human edge.</p>",
        f"<p><b>What happened</b> (genai-2022 vs the no-AI baseline, last {_LATE_WEEKS} weeks, mean of replicates): "
        f"tasks posted in {esc(story['name'].lower())} {_pct(cc['d_posted'])} "
        f"(range {_pct(cc['d_posted_lo'])} to {_pct(cc['d_posted_hi'])}), prices {_pct(cc['d_price'])}. "
        f"The {g['n_starters']:,} simulated workers who started here earned {_more_less(change)} per week "
        f"(${g['late_weekly_earnings']:.2f} vs ${b['late_weekly_earnings']:.2f}, "
        "counting those who left as earning nothing); "
        f"{g['active_share']:.0%} were still active at the end (baseline {b['active_share']:.0%}) and "
        f"{g['still_here_share']:.0%} still worked in this category (baseline {b['still_here_share']:.0%})"
        + (f"; {g['adopted_ai']:.0%} of those active used AI tools." if g["adopted_ai"] is not None else ".")
        + "</p>",
        figure_html(_story_figure(story), f"story-{i}"),
        "<p><b>What the data suggests.</b></p><ul>",
    ]
    if story["hand_off"]:
        lines.append(f"<li>Hand off or re-price what AI does alone: {esc('; '.join(story['hand_off']))}.</li>")
    if story["speed_up"]:
        lines.append(
            f"<li>Learn the tools for what AI speeds up: {esc('; '.join(story['speed_up']))} "
            "(measured gains: 40% less time on writing tasks, Noy &amp; Zhang 2023; +14% output, +34% for novices, "
            "Brynjolfsson, Li &amp; Raymond 2023).</li>"
        )
    if story["human_edge"]:
        lines.append(f"<li>Lead the profile with the human edge: {esc('; '.join(story['human_edge']))}.</li>")
    advice = story["advice"]
    learn_lists = (
        advice.learn.filter(pl.col("rank") <= 3)
        .group_by("soc_code", maintain_order=True)
        .agg(pl.col("name").str.strip_chars_end(". "))
    )
    learn_by_code = dict(zip(learn_lists["soc_code"].to_list(), learn_lists["name"].to_list(), strict=True))
    if advice.paths.height:
        items = [
            f"<b>{esc(r['title'])}</b>: {esc(r['why'])}"
            + (
                f"; learn {esc(', '.join(learn_by_code.get(r['soc_code'], [])))}"
                if r["soc_code"] in learn_by_code
                else ""
            )
            for r in advice.paths.iter_rows(named=True)
        ]
        lines.append(
            f"<li>Career paths from the advisor (<code>gigshift advise paths --category {esc(story['slug'])}</code>): "
            + esc(advice.note)
            + "<ol>"
            + "".join(f"<li>{x}</li>" for x in items)
            + "</ol></li>"
        )
    else:
        lines.append(f"<li>The advisor finds no career path: {esc(advice.note)}</li>")
    opts = story["options"]
    if opts.height:
        items = []
        for r in opts.iter_rows(named=True):
            learn = story["learn"].get(r["category"]) or []
            items.append(
                f"{esc(r['name'])} (skill similarity {r['similarity']:.2f}, beta {r['human_beta']:.2f}, "
                f"simulated demand {_pct(r['d_posted'])}, {_usd(r['per_worker'])} per active worker-week"
                + (f"; learn {esc(', '.join(learn))}" if learn else "")
                + ")"
            )
        lines.append(
            "<li>On the platform, nearby gig categories that are less exposed and held up better in the "
            "simulation: " + "; ".join(items) + ".</li>"
        )
    else:
        lines.append("<li>No category within reach is both clearly less exposed and similar in skills.</li>")
    lines.append("</ul>")
    return "<div>" + "".join(lines) + "</div>"


def _render(
    *, settings, scenarios, cats, changes, impact, comparison, fairness, simulated_audit, stories, figures, timings
) -> str:
    from gigshift.report._atlas import _ranking_figure
    from gigshift.taxonomy import all_sources, categories

    did = impact["genai-2022"].did
    placebo = impact["baseline"].did
    pre_t = impact["genai-2022"].pre_trend_max_abs_t()
    f = figures
    findings = [
        f"In the most exposed online categories (beta ≥ 0.8, human labels), clients posted "
        f"<b>{_pct(f['exposed_posted_change'])}</b> tasks in the last half of 2023 than without AI; on-location "
        f"work changed {_pct(f['on_location_posted_change'])}.",
        f"A difference in differences across online categories finds that each +0.1 of exposure beta meant "
        f"<b>{_pct(f['did_per_tenth_beta'])}</b> posted tasks per month after ChatGPT (log coefficient "
        f"{did['estimate']:+.3f}, 95% CI {did['ci'][0]:+.3f} to {did['ci'][1]:+.3f}); before the release the "
        f"coefficients are flat (largest |t| {pre_t:.1f})"
        + (
            f"; on the no-AI baseline the same estimator finds {placebo['estimate']:+.3f} "
            f"(CI {placebo['ci'][0]:+.3f} to {placebo['ci'][1]:+.3f})."
            if placebo
            else "."
        ),
        f"Where clients rate women 0.3 stars lower, two simulated years of allocation give women an impact "
        f"ratio of <b>{_ratio(f['simulated_female_impact_ratio']['plain'])}</b> without the four-fifths policy and "
        f"<b>{_ratio(f['simulated_female_impact_ratio']['fair'])}</b> with it. In one weekly batch the lowest "
        f"impact ratio ({esc(f['lowest_group_unconstrained'])}) is <b>{f['min_impact_ratio_unconstrained']:.2f}</b> "
        f"without the policy and <b>{f['min_impact_ratio_fair']:.2f}</b> ({esc(f['lowest_group_fair'])}) with "
        f"it, at a price of fairness of <b>{f['price_of_fairness']:.2f}%</b> of the allocation's total score.",
    ] + [
        f"{esc(s['who'])} (beta {s['human_beta']:.2f}): weekly earnings "
        f"{_pct(f['stories'][s['slug']]['earnings_change'])} "
        "against the no-AI baseline by the end of 2023."
        for s in stories
    ]
    atlas = categories()
    scen_rows = pl.DataFrame(
        {"scenario": list(scenarios), "description": [s.get("description") for s in scenarios.values()]}
    )
    change_view = changes.select(
        "name",
        "class",
        pl.col("human_beta").alias("beta (human)"),
        pl.col("d_posted").alias("tasks posted"),
        pl.format("{} to {}", (pl.col("d_posted_lo") * 100).round(1), (pl.col("d_posted_hi") * 100).round(1)).alias(
            "range, %"
        ),
        pl.col("d_price").alias("price"),
        pl.col("d_per_worker").alias("earnings per active worker"),
        pl.col("d_workers").alias("active workers"),
    )
    formats = {c: "+.1%" for c in ("tasks posted", "price", "earnings per active worker", "active workers")}
    formats["beta (human)"] = ".2f"
    comp_view = comparison.select(
        "study",
        "measure",
        "published",
        "simulated",
        pl.format("{} to {}", (pl.col("ci_lo") * 100).round(1), (pl.col("ci_hi") * 100).round(1)).alias("95% CI, %"),
        "method",
    )
    did_table = pl.DataFrame(
        {
            "scenario": ["genai-2022", "baseline (placebo)"],
            "estimate": [did["estimate"], placebo["estimate"]],
            "se": [did["se"], placebo["se"]],
            "95% CI": [
                f"{did['ci'][0]:+.3f} to {did['ci'][1]:+.3f}",
                f"{placebo['ci'][0]:+.3f} to {placebo['ci'][1]:+.3f}",
            ],
            "observations": [did["n_obs"], placebo["n_obs"]],
            "units": [did["n_units"], placebo["n_units"]],
        }
    )
    fa = fairness
    sim = simulated_audit
    sources = (
        pl.DataFrame([{"source": s.name, "licence": s.licence, "citation": s.citation} for s in all_sources()])
        if all_sources()
        else pl.DataFrame()
    )
    timing_text = ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    body = [
        "<h1>gigshift demo: what generative AI did to a gig market, simulated and measured</h1>",
        f"<p class='lead'>A simulated online-and-local gig market of {settings['workers']:,} workers on the 74 "
        f"categories of the gigshift atlas, run week by week from {settings['start']} for {settings['weeks']} weeks "
        f"under three scenarios, {settings['replicates']} replicates each (seed {settings['seed']}). Bands show the "
        "range across replicates. Every figure below is computed by gigshift's engines on this run; published "
        "figures are cited.</p>",
        "<nav><a href='#findings'>Findings</a><a href='#atlas'>Exposure atlas</a><a href='#market'>Market</a>"
        "<a href='#impact'>AI effect</a><a href='#fairness'>Fairness</a><a href='#stories'>Three workers</a>"
        "<a href='#method'>How this was made</a></nav>",
        "<h2 id='findings'>Findings</h2><ul>" + "".join(f"<li>{x}</li>" for x in findings) + "</ul>",
        "<h2 id='atlas'>How exposed is each kind of gig work?</h2>",
        "<p>Exposure beta is the share of a category's O*NET tasks that a large language model can do alone (E1) "
        "plus half of those it speeds up with tools (E2), from the task labels of Eloundou et al. (2024) under two "
        "lenses: GPT-4's labels and human annotators'. The simulator uses the human labels.</p>",
        figure_html(_ranking_figure(atlas), "atlas-ranking"),
        "<h2 id='market'>What happened in the simulated market</h2>",
        "<p>Scenarios:</p>" + table_html(scen_rows),
        "<p>Tasks posted, the mean price of filled tasks and earnings per active worker, four-week rolling means; "
        "pick a class or a category from the menu.</p>",
        figure_html(_market_figure(cats), "market"),
        f"<h3>Every category: genai-2022 against the baseline, last {_LATE_WEEKS} weeks</h3>",
        "<p class='muted'>Changes are means over replicates of genai-2022 / baseline − 1; the range is across "
        "replicates.</p>",
        "<details><summary>Show the table (74 categories)</summary>"
        + table_html(change_view, formats=formats)
        + "</details>",
        "<h2 id='impact'>What a difference in differences finds, and how it compares with published studies</h2>",
        "<p>A fixed-effects Poisson regression of monthly posted tasks per online category on exposure beta × "
        "after ChatGPT, with category and month effects and standard errors clustered by category "
        "(<code>gigshift.impact.estimate</code>, pyfixest). The same estimator on the baseline, where nothing "
        "happened, is the placebo.</p>",
        table_html(did_table, formats={"estimate": "+.4f", "se": ".4f"}),
        figure_html(_event_study_figure(impact), "event-study"),
        "<h3>Simulated beside published</h3>",
        "<p>Each published figure re-estimated on the simulated genai-2022 market the way its study did "
        "(<code>gigshift.impact.compare_with_published</code>).</p>",
        figure_html(_published_figure(comparison), "published"),
        table_html(comp_view, formats={"published": "+.3f", "simulated": "+.3f"}),
        "<h2 id='fairness'>Is the allocation fair?</h2>",
        f"<p>One weekly batch of the <code>policy-fair-allocation</code> market ({fa['n_workers']:,} workers, "
        f"{fa['n_tasks']:,} tasks; clients' ratings biased by {esc(fa['bias'])}), allocated by the exact solver with "
        "a rating-heavy policy, once without and once with the four-fifths constraint on "
        f"{esc(fa['attribute'])}, then audited from the decision log as in a New York City Local Law 144 bias audit "
        "(selection rate = workers chosen / candidate workers).</p>",
        "<div class='cols' style='grid-template-columns:1fr 1fr'>",
        "<div><h3>Without the fair policy</h3>" + _ll144_table(fa["plain"]["audit"].groups) + "</div>",
        f"<div><h3>With the four-fifths rule (min impact ratio {fa['min_impact_ratio']})</h3>"
        + _ll144_table(fa["fair"]["audit"].groups)
        + "</div></div>",
        f"<p><b>Price of fairness: {fa['price_of_fairness']:.2f}%</b> of the unconstrained allocation's "
        "total score.</p>",
        "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in fa["plain"]["audit"].findings()) + "</ul>",
        "<h3>Two simulated years, with and without the fair policy</h3>"
        "<p>The audit of the sampled decision logs (every week, all replicates) of <code>policy-fair-allocation"
        f"</code> and of the same market allocated without the constraint (<code>{NO_POLICY}</code>). Under the "
        f"policy, {sim['fair']['fallback_weeks']} of {sim['fair']['weeks']} weekly batches could not meet the "
        "constraint with their candidate lists and were allocated without it.</p>"
        "<div class='cols' style='grid-template-columns:1fr 1fr'>"
        "<div><h3>Without the fair policy</h3>"
        + _ll144_table(sim["plain"]["audit"].groups)
        + table_html(sim["plain"]["earnings"], formats={"weekly_earnings": ".2f", "pay_per_hour": ".2f"})
        + "</div><div><h3>With the four-fifths rule</h3>"
        + _ll144_table(sim["fair"]["audit"].groups)
        + table_html(sim["fair"]["earnings"], formats={"weekly_earnings": ".2f", "pay_per_hour": ".2f"})
        + "</div></div><p class='muted'>Selection parity is not pay parity: the second table of each column "
        "gives weekly earnings and pay per hour by group over the run.</p>",
        "<h2 id='stories'>Three workers</h2>",
        "<p>Each story follows every simulated worker who started in the category and compares the two worlds "
        "(the same people, the same draws, with and without AI).</p>",
        "<div class='cols'>" + "".join(_story_html(s, i) for i, s in enumerate(stories)) + "</div>",
        "<h2 id='method'>How this was made</h2>",
        f"<p>gigshift {esc(gigshift.__version__)}; run time {timing_text}. Reproduce with "
        f"<code>gigshift demo --workers {settings['workers']} --replicates {settings['replicates']} "
        f"--seed {settings['seed']}</code>. The scenarios are YAML files shipped with gigshift "
        "(<code>gigshift/simulate/scenarios/</code>), every parameter with its source.</p>",
        "<p>What the simulator cannot reproduce: it has no client-side learning about quality, no cross-platform "
        "moves, no change in the kinds of tasks posted within a category, and its categories are the atlas's, not a "
        "platform's; published effects are on real platforms with their own mix.</p>",
        table_html(sources) if sources.height else "",
    ]
    return page("gigshift demo", "".join(body))
