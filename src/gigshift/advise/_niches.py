"""Niches: the categories and skill clusters of a market a worker could serve, ranked and explained.

Niches
------
- a **category** niche: all of a category's tasks on the market;
- a **skill** niche: the tasks of a category that require one skill (e.g. *Web development: Python*),
  for the skills the worker has. A skill niche holding every task of its category is left out (it is
  the category).

A worker *could serve* a niche when it is in one of their categories, or when its category is one of
the ``n_related`` closest to one of theirs (by the advice model's occupation similarity, same mode
first) and the worker has, on average over the niche's tasks, at least ``min_fit`` of the required
skills (``fit``), each skill weighted by how specific it is: ``log((1 + C) / (1 + c))`` for a skill
required in ``c`` of the market's ``C`` categories, so a skill every category asks for (reading,
listening) counts for nothing and a specialist tool for much (a task needing only such common skills
counts them equally). A niche is ranked when the market posted at least ``min_niche_tasks`` tasks in
it; thinner ones are named in the notes.

Components (each in [0, 1], higher is better)
---------------------------------------------
- ``demand``: the mean of the percentile ranks of the growth signals available: the niche's weekly
  growth of tasks posted on this market (log-linear trend over its weeks, when there are two or more),
  the category's online class in the Online Labour Index (last 12 months against the 12 before; online
  categories), and the BLS 2024-34 projected employment change of the category's occupations
  (weighted as the atlas weighs them). Market growth ranks among the market's rankable niches (both
  kinds together); the other two among the 74 atlas categories.
- ``competition``: one minus the mean percentile rank of bids per task and of active workers (distinct
  bidders in a week) per task posted, among the market's rankable niches;
- ``exposure``: one minus the share of the category's tasks that an LLM alone can do (E1, the mean of
  the GPT-4 and human labels; Eloundou et al. 2024): the AI substitution exposure;
- ``pay``: ``0.5 + log2(ratio) / 2``, clipped, with ``ratio`` the niche's median winning hourly rate over
  the worker's own rate (the market's median winning rate for a profile without one).

A component that cannot be computed is 0.5 (neutral) and the niche's ``why`` says so. The ``score`` is
``sum(weight_k * component_k)`` with the weights normalised to sum to 1 (``NICHE_WEIGHTS``).

Category activity (tasks posted per week, bids per task, active workers) comes from
:func:`gigshift.insights.market`; skill niches use the same definitions on the tasks that need the skill.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import check_positive_int
from gigshift.advise._market_results import NICHE_METRICS, NichesResult
from gigshift.advise._marketdata import check_market, find_worker, neighbour_categories, winning_bids

_CALLER = "niches"
#: Default weights of the niche score's components (normalised to sum to 1).
NICHE_WEIGHTS: dict[str, float] = {"demand": 0.3, "competition": 0.25, "exposure": 0.25, "pay": 0.2}
_COMPONENTS = tuple(NICHE_WEIGHTS)
#: Fewest winning bids in a niche for its median winning rate.
MIN_PAY_BIDS = 5


def check_weights(weights: Mapping[str, float] | None, *, caller: str = _CALLER) -> dict[str, float]:
    merged = dict(NICHE_WEIGHTS)
    if weights is not None:
        unknown = sorted(set(weights) - set(NICHE_WEIGHTS))
        if unknown:
            raise GigshiftError(f"{caller}: unknown weight(s) {unknown}; known: {sorted(NICHE_WEIGHTS)}")
        bad = {k: v for k, v in weights.items() if isinstance(v, bool) or not isinstance(v, int | float) or v < 0}
        if bad:
            raise GigshiftError(f"{caller}: weights must be numbers >= 0; got {bad}")
        merged.update({k: float(v) for k, v in weights.items()})
    total = sum(merged.values())
    if total <= 0:
        raise GigshiftError(f"{caller}: at least one weight must be > 0")
    return {k: v / total for k, v in merged.items()}


def category_facts() -> pl.DataFrame:
    """Per atlas category: name, mode, class, E1 share and beta (mean of lenses), OLI class trend, BLS change."""
    from gigshift.advise._model import default_model
    from gigshift.taxonomy import categories
    from gigshift.taxonomy._atlas import _definitions

    occ = default_model().occupations
    trend = (
        occ.select("occupation_class", "oli_trend_pct")
        .drop_nulls()
        .unique("occupation_class")
        .rename({"occupation_class": "class"})
    )
    _, members = _definitions()
    bls = (
        members.unique(["slug", "soc_code"])
        .join(occ.select("soc_code", change="ep_employment_change_2024_34_pct"), on="soc_code", how="inner")
        .drop_nulls("change")
        .group_by("slug")
        .agg(bls_change_pct=(pl.col("change") * pl.col("occupation_weight")).sum() / pl.col("occupation_weight").sum())
    )
    table = categories().select(
        "slug",
        "name",
        mode=pl.col("mode").cast(pl.String),
        **{"class": pl.col("class").cast(pl.String)},
        ai_substitution_share=(pl.col("gpt4_alpha") + pl.col("human_alpha")) / 2,
        exposure_beta=(pl.col("gpt4_beta") + pl.col("human_beta")) / 2,
    )
    table = table.join(trend, on="class", how="left").join(bls, on="slug", how="left")
    return table.with_columns(oli_pct_rank=_pct_rank("oli_trend_pct"), bls_pct_rank=_pct_rank("bls_change_pct")).sort(
        "slug"
    )


def _pct_rank(column: str) -> pl.Expr:
    """Percentile rank in (0, 1] among the non-null values (ties averaged); null stays null."""
    return pl.col(column).rank("average") / pl.col(column).count()


def _weekly_growth(counts: pl.DataFrame, n_weeks: int) -> pl.DataFrame:
    """``niche_id, market_growth_pct``: exp(slope) - 1 of log(1 + tasks posted) on the week, over every week
    of the market (weeks without a post count as 0); vectorised over niches. Null with fewer than 2 weeks."""
    if n_weeks < 2 or counts.height == 0:
        return counts.select("niche_id").unique().with_columns(market_growth_pct=pl.lit(None, dtype=pl.Float64))
    ids = counts["niche_id"].unique().sort()
    code = {v: i for i, v in enumerate(ids.to_list())}
    grid = np.zeros((ids.len(), n_weeks))
    rows = counts["niche_id"].replace_strict(code, return_dtype=pl.Int64).to_numpy()
    grid[rows, counts["week"].to_numpy()] = counts["n"].to_numpy()
    t = np.arange(n_weeks) - (n_weeks - 1) / 2
    slope = np.log1p(grid) @ t / (t @ t)
    return pl.DataFrame({"niche_id": ids, "market_growth_pct": 100 * np.expm1(slope)})


def _activity(
    tasks: pl.DataFrame, bids: pl.DataFrame, key: str, first_week: object
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per niche (``key`` column of ``tasks``): tasks posted, bids per task, active workers per task posted;
    and tasks posted per week. The definitions of :func:`gigshift.insights.market` (active workers: distinct
    bidders in a week, summed over weeks)."""
    week = ((pl.col("posted_at").dt.truncate("1w").dt.date() - pl.lit(first_week)).dt.total_days() // 7).cast(pl.Int64)
    facts = tasks.select("task_id", key, week=week)
    n_bids = bids.group_by("task_id").agg(n_bids=pl.len())
    # sorted, so that float sums run in one order and the same input gives the same bits
    per_task = (
        facts.join(n_bids, on="task_id", how="left").with_columns(pl.col("n_bids").fill_null(0)).sort(key, "task_id")
    )
    active = (
        facts.join(bids.select("task_id", "worker_id"), on="task_id")
        .group_by(key, "week")
        .agg(active=pl.col("worker_id").n_unique())
        .group_by(key)
        .agg(n_active=pl.col("active").sum())
    )
    table = (
        per_task.group_by(key)
        .agg(n_tasks=pl.len().cast(pl.Int64), bids_per_task=pl.col("n_bids").mean())
        .join(active, on=key, how="left")
        .with_columns(workers_per_task=pl.col("n_active").fill_null(0) / pl.col("n_tasks"))
        .drop("n_active")
    )
    weekly = facts.group_by(key, "week").agg(n=pl.len().cast(pl.Int64))
    return table, weekly


def _worker_profile(market, worker_id, skills, categories, hourly_rate_usd) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from gigshift.taxonomy import category as lookup_category

    if worker_id is not None:
        if skills is not None or categories is not None or hourly_rate_usd is not None:
            raise GigshiftError(
                f"{_CALLER}: give worker_id, or a profile (skills, categories, hourly_rate_usd), not both"
            )
        row = find_worker(market, worker_id, caller=_CALLER)
        return {
            "worker_id": row["worker_id"],
            "skills": list(row["skills"]),
            "categories": list(row["categories"]),
            "hourly_rate_usd": row["hourly_rate_usd"],
        }
    if skills is None and categories is None:
        raise GigshiftError(f"{_CALLER}: give a worker_id, or a profile: skills and/or categories")
    for name, value in (("skills", skills), ("categories", categories)):
        if value is not None and (
            isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value)
        ):
            raise GigshiftError(f"{_CALLER}: {name} must be a list of strings; got {value!r}")
    if hourly_rate_usd is not None and (
        isinstance(hourly_rate_usd, bool)
        or not isinstance(hourly_rate_usd, int | float)
        or not math.isfinite(hourly_rate_usd)
        or hourly_rate_usd <= 0
    ):
        raise GigshiftError(f"{_CALLER}: hourly_rate_usd must be a number > 0; got {hourly_rate_usd!r}")
    slugs = [lookup_category(c.strip().lower()).slug for c in (categories or [])]  # NotFoundError: closest
    return {
        "worker_id": None,
        "skills": sorted({s.strip() for s in (skills or []) if s.strip()}),
        "categories": slugs,
        "hourly_rate_usd": None if hourly_rate_usd is None else float(hourly_rate_usd),
    }


def niches(
    market: object,
    *,
    worker_id: str | None = None,
    skills: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    hourly_rate_usd: float | None = None,
    assignments: object | None = None,
    top: int = 10,
    n_related: int = 8,
    min_fit: float = 0.25,
    min_niche_tasks: int = 10,
    weights: Mapping[str, float] | None = None,
    seed: int | None = None,
) -> NichesResult:
    """Rank the niches (categories and skill clusters) a worker could serve, and explain the ranking.

    Parameters
    ----------
    market : gigshift.market.Market
        The market (``read_market(DIR)`` or ``synthetic(...)``).
    worker_id : str, optional
        A worker of the market: their skills, categories and hourly rate make the profile.
    skills, categories : list of str, optional
        A profile instead of a worker: skill names and category slugs.
    hourly_rate_usd : float, optional
        The profile's hourly rate, for the pay component (default the market's median winning rate).
    assignments : DataFrame, optional
        ``task_id, worker_id`` (and ``price_usd``) of filled tasks; default the allocation engine picks
        the winners among the bids (as :func:`price` does).
    top : int, default=10
        Niches returned, best first.
    n_related : int, default=8
        Categories closest to each of the worker's (same mode first) that are searched beyond their own.
    min_fit : float, default=0.25
        Share of a niche's required skills (specificity-weighted mean over its tasks) the worker must have
        for a niche outside their own categories.
    min_niche_tasks : int, default=10
        Fewest tasks posted for a niche to be ranked.
    weights : dict, optional
        Weights of ``demand``, ``competition``, ``exposure`` and ``pay`` (default ``NICHE_WEIGHTS``).
    seed : int, optional
        Seeds the allocation engine's tie lottery when it picks the winners.

    Returns
    -------
    NichesResult

    Raises
    ------
    NotFoundError
        A worker id not in the market (the closest ids are listed), or an unknown category.
    InputError
        Bad assignments (row and column named).
    GigshiftError
        A bad parameter.

    Examples
    --------
    >>> from gigshift.market import synthetic
    >>> m = synthetic(n_workers=600, n_tasks=600, categories=["data-entry", "data-labelling"], seed=1)
    >>> r = niches(m, worker_id="w001", seed=0)
    >>> r.niches["rank"][0], bool((r.niches["score"].diff().drop_nulls() <= 0).all())
    (1, True)
    """
    from gigshift.insights import market as insights_market
    from gigshift.taxonomy._sources import sources_for

    market = check_market(market, caller=_CALLER)
    profile = _worker_profile(market, worker_id, skills, categories, hourly_rate_usd)
    top = check_positive_int("top", top, caller=_CALLER)
    if isinstance(n_related, bool) or not isinstance(n_related, int) or n_related < 0:
        raise GigshiftError(f"{_CALLER}: n_related must be an integer >= 0; got {n_related!r}")
    min_niche_tasks = check_positive_int("min_niche_tasks", min_niche_tasks, caller=_CALLER)
    if isinstance(min_fit, bool) or not isinstance(min_fit, int | float) or not 0 <= min_fit <= 1:
        raise GigshiftError(f"{_CALLER}: min_fit must be a number from 0 to 1; got {min_fit!r}")
    w = check_weights(weights)
    notes: list[str] = []
    tasks, bids = market.tasks, market.bids
    if tasks.height == 0:
        raise GigshiftError(f"{_CALLER}: the market has no tasks, so there are no niches to rank")

    winners = winning_bids(market, assignments=assignments, seed=seed)
    won = winners.table
    notes.append(winners.source)
    first_week = tasks.select(pl.col("posted_at").dt.truncate("1w").dt.date().min()).item()
    last_week = tasks.select(pl.col("posted_at").dt.truncate("1w").dt.date().max()).item()
    n_weeks = (last_week - first_week).days // 7 + 1

    # -- category niches: activity from gigshift.insights.market -----------------------------------------------
    insight = insights_market(
        tasks=tasks,
        bids=bids if bids.height else None,
        assignments=won.select("task_id", "worker_id", "price_usd") if won.height else None,
        seed=seed,
    )
    act = insight.activity
    cat_stats = act.group_by("category").agg(
        n_tasks=pl.col("n_tasks_posted").sum().cast(pl.Int64),
        # bids per task x tasks is a whole count of bids: rounded, its sum is exact in any order
        bids_per_task=(pl.col("bids_per_task") * pl.col("n_tasks_posted")).round(0).sum()
        / pl.col("n_tasks_posted").sum(),
        workers_per_task=pl.col("n_active_workers").sum() / pl.col("n_tasks_posted").sum(),
        _has_bids=pl.col("bids_per_task").is_not_null().any(),
    )
    cat_stats = cat_stats.with_columns(
        bids_per_task=pl.when("_has_bids").then("bids_per_task"),
        workers_per_task=pl.when("_has_bids").then("workers_per_task"),
    ).drop("_has_bids")
    cat_weekly = act.select(niche_id="category", week="week", n="n_tasks_posted")
    cat_niches = cat_stats.select(
        niche_id="category",
        kind=pl.lit("category"),
        category="category",
        skill=pl.lit(None, dtype=pl.String),
        n_tasks="n_tasks",
        bids_per_task="bids_per_task",
        workers_per_task="workers_per_task",
    )

    # -- skill niches: the same definitions on the tasks needing each skill -------------------------------------
    by_skill = (
        tasks.select("task_id", "category", "posted_at", skill="required_skills")
        .explode("skill")
        .drop_nulls("skill")
        .unique(["task_id", "skill"])
        .with_columns(niche_id=pl.concat_str("category", pl.lit("/"), "skill"))
    )
    skill_stats, skill_weekly = _activity(by_skill, bids, "niche_id", first_week)
    if bids.height == 0:
        skill_stats = skill_stats.with_columns(
            bids_per_task=pl.lit(None, dtype=pl.Float64), workers_per_task=pl.lit(None, dtype=pl.Float64)
        )
    skill_niches = skill_stats.join(
        by_skill.select("niche_id", "category", "skill").unique("niche_id"), on="niche_id"
    ).join(cat_stats.select("category", cat_n="n_tasks"), on="category")
    skill_niches = skill_niches.filter(pl.col("n_tasks") < pl.col("cat_n")).select(
        "niche_id",
        kind=pl.lit("skill"),
        category="category",
        skill="skill",
        n_tasks="n_tasks",
        bids_per_task="bids_per_task",
        workers_per_task="workers_per_task",
    )
    weekly = pl.concat([cat_weekly, skill_weekly.select("niche_id", "week", "n")])
    growth = _weekly_growth(weekly, n_weeks)
    if n_weeks < 2:
        notes.append("the market spans one week: demand growth rests on the OLI class trend and BLS projections")

    # -- components over every rankable niche (so a niche's percentiles do not depend on the worker) ----------
    facts = category_facts()
    ranked_pool = (
        pl.concat([cat_niches, skill_niches])
        .filter(pl.col("n_tasks") >= min_niche_tasks)
        .join(growth, on="niche_id", how="left")
        .with_columns(
            growth_rank=_pct_rank("market_growth_pct"),
            bids_rank=_pct_rank("bids_per_task"),
            workers_rank=_pct_rank("workers_per_task"),
        )
        .join(
            facts.select(
                "slug",
                category_name="name",
                mode="mode",
                online_class="class",
                ai_substitution_share="ai_substitution_share",
                exposure_beta="exposure_beta",
                oli_trend_pct="oli_trend_pct",
                bls_change_pct="bls_change_pct",
                oli_rank="oli_pct_rank",
                bls_rank="bls_pct_rank",
            ),
            left_on="category",
            right_on="slug",
            how="left",
        )
    )

    # pay: the niche's median winning hourly rate against the worker's rate
    won_skill = (
        won.select("task_id", "category", "hourly_rate_usd", skill="required_skills")
        .explode("skill")
        .drop_nulls("skill")
        .unique(["task_id", "skill"])
        .select(niche_id=pl.concat_str("category", pl.lit("/"), "skill"), rate="hourly_rate_usd")
    )
    pay = (
        pl.concat([won.select(niche_id="category", rate="hourly_rate_usd"), won_skill])
        .group_by("niche_id")
        .agg(n_won=pl.len().cast(pl.Int64), median_rate=pl.col("rate").median())
        .with_columns(median_winning_rate_usd=pl.when(pl.col("n_won") >= MIN_PAY_BIDS).then("median_rate"))
        .select("niche_id", "n_won", "median_winning_rate_usd")
    )
    reference = profile["hourly_rate_usd"]
    reference_kind = "your rate"
    if reference is None:
        reference = float(won["hourly_rate_usd"].median()) if won.height else None
        reference_kind = "the market's median winning rate"

    # fit: mean over the niche's tasks of the idf-weighted share of required skills the worker has. Float sums
    # run in NumPy over rows sorted by task (bincount adds in array order): Polars' partitioned group sums
    # may add in any order, and the same market must give the same bits.
    have = pl.Series(profile["skills"], dtype=pl.String).implode()
    required = (
        tasks.select("task_id", "category", skill="required_skills").explode("skill").unique(["task_id", "skill"])
    )
    n_categories = tasks["category"].n_unique()
    idf = (
        required.drop_nulls("skill")
        .group_by("skill")
        .agg(n_cat=pl.col("category").n_unique())
        .select("skill", idf=((1 + n_categories) / (1 + pl.col("n_cat"))).log())
    )
    rows = (
        required.join(idf, on="skill", how="left")
        .with_columns(has=pl.col("skill").is_in(have).fill_null(False), idf=pl.col("idf").fill_null(0.0))
        .sort("task_id", "skill", nulls_last=True)
    )
    task_ids, task_code = np.unique(rows["task_id"].to_numpy(), return_inverse=True)
    has_np, idf_np = rows["has"].to_numpy(), rows["idf"].to_numpy()
    n_req = np.bincount(task_code, weights=rows["skill"].is_not_null().to_numpy(), minlength=task_ids.size)
    n_has = np.bincount(task_code, weights=has_np, minlength=task_ids.size)
    idf_req = np.bincount(task_code, weights=idf_np, minlength=task_ids.size)
    idf_has = np.bincount(task_code, weights=idf_np * has_np, minlength=task_ids.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_req == 0, 1.0, np.where(idf_req > 0, idf_has / idf_req, n_has / np.maximum(n_req, 1)))
    per_task = pl.DataFrame({"task_id": task_ids.astype(str), "share": share})
    in_niche = pl.concat(
        [
            tasks.select("task_id", niche_id="category"),
            required.drop_nulls("skill").select("task_id", niche_id=pl.concat_str("category", pl.lit("/"), "skill")),
        ]
    ).join(per_task, on="task_id")
    in_niche = in_niche.sort("niche_id", "task_id")
    niche_ids, niche_code = np.unique(in_niche["niche_id"].to_numpy(), return_inverse=True)
    fit = np.bincount(niche_code, weights=in_niche["share"].to_numpy()) / np.bincount(niche_code)
    fits = pl.DataFrame({"niche_id": niche_ids.astype(str), "fit": fit})
    related = sorted(
        {slug for c in profile["categories"] for slug in neighbour_categories(c).head(n_related)["slug"].to_list()}
    )
    pool = (
        ranked_pool.join(pay, on="niche_id", how="left")
        .join(fits, on="niche_id", how="left")
        .with_columns(
            pay_ratio=pl.col("median_winning_rate_usd") / reference if reference else pl.lit(None, dtype=pl.Float64),
            is_listed=pl.col("category").is_in(pl.Series(profile["categories"], dtype=pl.String).implode()),
            is_related=pl.col("category").is_in(pl.Series(related, dtype=pl.String).implode()),
            has_skill=pl.col("skill").is_in(have),
        )
    )
    # components
    demand = pl.mean_horizontal("growth_rank", "oli_rank", "bls_rank")
    competition = 1 - pl.mean_horizontal("bids_rank", "workers_rank")
    pay_score = (0.5 + pl.col("pay_ratio").log(2) / 2).clip(0.0, 1.0)
    pool = pool.with_columns(
        score_demand=demand.fill_null(0.5),
        score_competition=competition.fill_null(0.5),
        score_exposure=(1 - pl.col("ai_substitution_share")).fill_null(0.5),
        score_pay=pay_score.fill_null(0.5),
    )
    pool = pool.with_columns(score=pl.sum_horizontal(*(pl.lit(w[k]) * pl.col(f"score_{k}") for k in _COMPONENTS)))
    # in one of their categories, or a related one with enough of the skills; a skill niche also needs the skill
    outside = pl.col("is_related") & (pl.col("fit") >= min_fit)
    can_serve = (pl.col("is_listed") | outside) & ((pl.col("kind") == "category") | pl.col("has_skill"))
    candidates = pool.filter(can_serve).sort(["score", "niche_id"], descending=[True, False])
    n_candidates = candidates.height
    shown = candidates.head(top).with_columns(rank=pl.int_range(1, pl.len() + 1).cast(pl.Int64))
    shown = shown.with_columns(
        label=pl.when(pl.col("kind") == "skill")
        .then(pl.concat_str("category_name", pl.lit(": "), "skill"))
        .otherwise("category_name"),
    )
    shown = shown.with_columns(
        why=pl.Series([_why(r, w, reference_kind) for r in shown.iter_rows(named=True)], dtype=pl.String)
    )  # at most `top` rows

    thin = (
        cat_stats.filter(
            pl.col("category").is_in(pl.Series(profile["categories"], dtype=pl.String).implode())
            & (pl.col("n_tasks") < min_niche_tasks)
        )
        .sort("category")
        .rows()
    )
    absent = sorted(set(profile["categories"]) - set(cat_stats["category"].to_list()))
    if thin or absent:
        listed = [f"{c} ({n} tasks)" for c, n, *_ in thin] + [f"{c} (no tasks)" for c in absent]
        notes.append(
            f"too few tasks on this market to rank your categories {', '.join(listed)} "
            f"(a niche needs {min_niche_tasks})"
        )
    if bids.height == 0:
        notes.append("the market has no bids: competition and pay are unknown (neutral 0.5)")
    if n_candidates == 0:
        notes.append(
            f"no niche on this market fits: none of your categories has {min_niche_tasks} tasks, and no related "
            f"category's tasks need on average {min_fit:.0%} of their skills from yours"
        )
    columns = [
        "rank",
        "niche_id",
        "kind",
        "category",
        "skill",
        "label",
        "score",
        *(f"score_{k}" for k in _COMPONENTS),
        *NICHE_METRICS,
        "is_listed",
        "is_related",
        "mode",
        "online_class",
        "why",
    ]
    provenance = Provenance(
        sources=sources_for("onet", "gpts_are_gpts", "bls_ep", "oli"),
        method=(
            "niches (categories; category x required skill) scored on demand growth (market weekly trend, OLI class "
            "trend, BLS 2024-34 projections; percentile ranks), competition (bids and active workers per task, "
            "gigshift.insights.market), AI substitution exposure (E1 share, both lenses) and pay (median winning "
            "hourly rate vs the worker's); weighted sum"
        ),
        gigshift_version=gigshift.__version__,
        seed=seed,
        extra={"winners": winners.source},
    )
    return NichesResult(
        worker=profile,
        niches=shown.select(columns),
        n_candidates=n_candidates,
        weights=w,
        settings={
            "top": top,
            "n_related": n_related,
            "min_fit": min_fit,
            "min_niche_tasks": min_niche_tasks,
            "n_weeks": n_weeks,
            "related_categories": related,
        },
        notes=tuple(notes),
        provenance=provenance,
    )


_LABELS = {"demand": "demand", "competition": "competition", "exposure": "AI exposure", "pay": "pay"}


def _fmt_pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:+.{digits}f}%"


def _why(r: dict[str, object], weights: dict[str, float], reference_kind: str) -> str:
    """One line per niche: the figures behind each component, then its strongest and weakest."""
    signals = []
    if r["market_growth_pct"] is not None:
        signals.append(f"{_fmt_pct(r['market_growth_pct'], 1)}/week here")
    if r["oli_trend_pct"] is not None and r["mode"] == "online":
        signals.append(f"OLI {r['online_class']} {_fmt_pct(r['oli_trend_pct'])} over the last year")
    if r["bls_change_pct"] is not None:
        signals.append(f"BLS jobs {_fmt_pct(r['bls_change_pct'], 1)} by 2034")
    parts = [f"demand {r['score_demand']:.2f} ({'; '.join(signals) or 'no signal'})"]
    if r["bids_per_task"] is None:
        parts.append("competition unknown (no bids)")
    else:
        parts.append(
            f"competition {r['score_competition']:.2f} ({r['bids_per_task']:.1f} bids and "
            f"{r['workers_per_task']:.1f} active workers per task)"
        )
    parts.append(f"AI exposure {r['score_exposure']:.2f} ({r['ai_substitution_share']:.0%} of tasks E1)")
    if r["median_winning_rate_usd"] is None:
        parts.append("pay unknown (fewer than 5 winning bids)")
    else:
        ratio = f", {r['pay_ratio']:.2f}x {reference_kind}" if r["pay_ratio"] is not None else ""
        parts.append(f"pay {r['score_pay']:.2f} (${r['median_winning_rate_usd']:.2f}/h median winning rate{ratio})")
    contrib = {k: weights[k] * (r[f"score_{k}"] - 0.5) for k in _COMPONENTS}
    best = max(contrib, key=lambda k: (contrib[k], k))
    worst = min(contrib, key=lambda k: (contrib[k], k))
    return f"{'; '.join(parts)}. Lifted most by {_LABELS[best]}, held back most by {_LABELS[worst]}."
