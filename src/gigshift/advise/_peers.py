"""Peers: workers entering a category matched with experienced workers in it, as mentors or collaborators.

Who
---
- **Entrants**: workers with at most ``max_entrant_jobs`` jobs completed, in each category they list.
- **Mentors**: workers with at least ``min_mentor_jobs`` jobs completed and a rating of at least
  ``min_mentor_rating``, in each category they list, each taking at most ``mentor_capacity`` entrants.
- A pair shares a category; in an on-location category they also share the area (``location``).

Score
-----
A weighted sum (``PEER_WEIGHTS``, normalised to 1) of components in [0, 1]:

- ``skill_complement``: the share of what the entrant lacks that the mentor has, each skill weighted by
  its demand in the category (the share of the category's tasks that require it; the share of the
  category's workers who list it when the market has no such tasks). An entrant who lacks nothing the
  category asks for gets 0 from every mentor;
- ``time_zone``: ``1 - gap / 12``, with ``gap`` the hours between their UTC offsets (at most 12, round
  the clock) at the market's latest posting; 0.5 when either time zone is unknown;
- ``experience``: the mentor's ``log(1 + jobs) / log(1 + 100)``, at most 1.

A pair sharing several categories is scored on the best one. Each entrant keeps its ``k`` best
candidate mentors.

Matching
--------
:func:`gigshift.allocate.solve_table` (exact: the maximum total score) with entrants as tasks and
mentors as workers with capacities. With a ``fairness_attribute``, its group-parity option applies to
the entrants (``fair_to="entrants"``: each mentor's capacity becomes that many slots, each entrant a
worker of capacity 1, so selection rates are the entrants' match rates) or to the mentors (who gets a
mentoring role).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl
from scipy import sparse

import gigshift
from gigshift._errors import GigshiftError, InputError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars, check_option, check_positive_int
from gigshift.advise._market_results import PeersResult
from gigshift.advise._marketdata import check_market

_CALLER = "peers"
#: Default weights of the peer score's components (normalised to sum to 1).
PEER_WEIGHTS: dict[str, float] = {"skill_complement": 0.6, "time_zone": 0.3, "experience": 0.1}
#: Jobs completed at which the experience component reaches 1.
EXPERIENCE_REFERENCE_JOBS = 100
FairTo = Literal["entrants", "mentors"]
_SEP = "\x1f"  # joins a mentor id and a slot number into a slot id (never in a real id)


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    if weights is None:
        merged = dict(PEER_WEIGHTS)
    else:
        unknown = sorted(set(weights) - set(PEER_WEIGHTS))
        if unknown:
            raise GigshiftError(f"{_CALLER}: unknown weight(s) {unknown}; known: {sorted(PEER_WEIGHTS)}")
        bad = {k: v for k, v in weights.items() if isinstance(v, bool) or not isinstance(v, int | float) or v < 0}
        if bad:
            raise GigshiftError(f"{_CALLER}: weights must be numbers >= 0; got {bad}")
        merged = {**PEER_WEIGHTS, **{k: float(v) for k, v in weights.items()}}
    total = sum(merged.values())
    if total <= 0:
        raise GigshiftError(f"{_CALLER}: at least one weight must be > 0")
    return {k: v / total for k, v in merged.items()}


def _utc_offsets(zones: pl.Series, at: datetime) -> pl.Series:
    """Hours east of UTC of each time zone at ``at`` (null when unknown); computed once per distinct zone."""
    names = zones.drop_nulls().unique().sort().to_list()
    offsets: dict[str, float | None] = {}
    for name in names:  # distinct time zones: a few dozen at most
        try:
            delta = at.astimezone(ZoneInfo(name)).utcoffset()
            offsets[name] = None if delta is None else delta.total_seconds() / 3600
        except (ZoneInfoNotFoundError, ValueError):
            offsets[name] = None
    return zones.replace_strict(offsets, default=None, return_dtype=pl.Float64)


def _capacities(mentor_capacity: object, mentors: pl.DataFrame) -> pl.DataFrame:
    """``mentor_id, capacity`` for every mentor: one number for all, or a ``worker_id, capacity`` table."""
    if isinstance(mentor_capacity, int) and not isinstance(mentor_capacity, bool):
        if mentor_capacity < 1:
            raise GigshiftError(f"{_CALLER}: mentor_capacity must be an integer >= 1; got {mentor_capacity}")
        return mentors.select("mentor_id").unique().with_columns(capacity=pl.lit(mentor_capacity, dtype=pl.Int64))
    if mentor_capacity is None or isinstance(mentor_capacity, bool | float | str):
        raise GigshiftError(
            f"{_CALLER}: mentor_capacity must be an integer >= 1 or a table of worker_id, capacity; "
            f"got {mentor_capacity!r}"
        )
    table = as_polars(mentor_capacity, name="mentor_capacity")
    for column in ("worker_id", "capacity"):
        if column not in table.columns:
            raise InputError.single(
                source="mentor_capacity", column=column, expected="a column of the capacity table", got="missing"
            )
    parsed = table.with_row_index("row", offset=1).with_columns(
        parsed=pl.col("capacity").cast(pl.Int64, strict=False), raw=pl.col("capacity").cast(pl.String)
    )
    bad = parsed.filter(pl.col("parsed").is_null() | (pl.col("parsed") < 0) | pl.col("worker_id").is_duplicated())
    if bad.height:
        raise InputError(
            bad.select(
                pl.col("row").cast(pl.Int64),
                column=pl.when(pl.col("worker_id").is_duplicated())
                .then(pl.lit("worker_id"))
                .otherwise(pl.lit("capacity")),
                expected=pl.lit("one row per worker, capacity an integer >= 0"),
                got=pl.col("raw").fill_null("null"),
            ),
            source="mentor_capacity",
        )
    caps = parsed.select(mentor_id=pl.col("worker_id").cast(pl.String), capacity="parsed")
    return (
        mentors.select("mentor_id")
        .unique()
        .join(caps, on="mentor_id", how="left")
        .with_columns(pl.col("capacity").fill_null(0))
    )


def _demand(market, categories: list[str], vocab: pl.DataFrame) -> sparse.csr_matrix:  # type: ignore[no-untyped-def]
    """Category x skill demand weights: the share of the category's tasks requiring the skill (else of its workers)."""
    cat_index = pl.DataFrame({"category": categories}).with_row_index("c").with_columns(pl.col("c").cast(pl.Int64))
    from_tasks = (
        market.tasks.select("task_id", "category", skill="required_skills")
        .explode("skill")
        .drop_nulls("skill")
        .unique(["task_id", "skill"])
        .group_by("category", "skill")
        .agg(n=pl.len())
        .join(market.tasks.group_by("category").agg(n_total=pl.len()), on="category")
    )
    from_workers = (
        market.workers.select("worker_id", category="categories", skill="skills")
        .explode("category")
        .explode("skill")
        .drop_nulls("skill")
        .unique(["worker_id", "category", "skill"])
        .group_by("category", "skill")
        .agg(n=pl.len())
        .join(
            market.workers.select("worker_id", category="categories")
            .explode("category")
            .group_by("category")
            .agg(n_total=pl.len()),
            on="category",
        )
        .join(from_tasks.select("category").unique(), on="category", how="anti")  # only where there are no tasks
    )
    weights = (
        pl.concat([from_tasks, from_workers])
        .with_columns(weight=pl.col("n") / pl.col("n_total"))
        .join(cat_index, on="category")
        .join(vocab, on="skill")
    )
    return sparse.csr_matrix(
        (weights["weight"].to_numpy(), (weights["c"].to_numpy(), weights["s"].to_numpy())),
        shape=(len(categories), vocab.height),
    )


def _incidence(people: pl.DataFrame, vocab: pl.DataFrame) -> sparse.csr_matrix:
    """Person x skill 0/1 incidence, rows in ``people`` order."""
    pairs = (
        people.select(pl.int_range(pl.len()).alias("r"), skill="skills")
        .explode("skill")
        .drop_nulls("skill")
        .join(vocab, on="skill")
        .unique(["r", "s"])
    )
    return sparse.csr_matrix(
        (np.ones(pairs.height), (pairs["r"].to_numpy(), pairs["s"].to_numpy())), shape=(people.height, vocab.height)
    )


def candidate_edges(
    market,  # type: ignore[no-untyped-def]
    *,
    category: str | None,
    max_entrant_jobs: int,
    min_mentor_jobs: int,
    min_mentor_rating: float,
    weights: dict[str, float],
    k: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Entrants, mentors (one row per worker and category) and the scored candidate edges (best ``k`` per entrant)."""
    from gigshift.taxonomy import categories as atlas_categories

    modes = dict(atlas_categories().select("slug", pl.col("mode").cast(pl.String)).iter_rows())
    at = market.tasks["posted_at"].max() if market.tasks.height else datetime(2026, 1, 5, tzinfo=UTC)
    workers = market.workers.with_columns(utc_offset=_utc_offsets(market.workers["time_zone"], at))
    per_category = workers.select(
        "worker_id",
        "n_jobs_completed",
        "rating",
        "location",
        "utc_offset",
        "skills",
        "time_zone",
        category="categories",
    ).explode("category")
    if category is not None:
        per_category = per_category.filter(pl.col("category") == category)
    per_category = per_category.with_columns(
        is_on_location=pl.col("category").replace_strict(modes, default=None) == "on-location"
    )
    entrants = per_category.filter(pl.col("n_jobs_completed") <= max_entrant_jobs).rename({"worker_id": "entrant_id"})
    mentors = per_category.filter(
        (pl.col("n_jobs_completed") >= min_mentor_jobs) & (pl.col("rating") >= min_mentor_rating)
    ).rename({"worker_id": "mentor_id"})
    cats = sorted(set(per_category["category"].unique().to_list()))
    vocab = (
        pl.concat(
            [
                workers.select(skill=pl.col("skills")).explode("skill"),
                market.tasks.select(skill=pl.col("required_skills")).explode("skill"),
            ]
        )
        .drop_nulls()
        .unique()
        .sort("skill")
        .with_row_index("s")
        .with_columns(pl.col("s").cast(pl.Int64))
    )
    edge_schema = {
        "entrant_id": pl.String,
        "mentor_id": pl.String,
        "category": pl.String,
        "score": pl.Float64,
        "skill_complement": pl.Float64,
        "time_zone": pl.Float64,
        "experience": pl.Float64,
        "time_gap_hours": pl.Float64,
        "n_skills_taught": pl.Int64,
    }
    if entrants.height == 0 or mentors.height == 0 or not cats:
        return entrants, mentors, pl.DataFrame(schema=edge_schema)
    demand = _demand(market, cats, vocab)
    e_rows = entrants.with_row_index("e").with_columns(pl.col("e").cast(pl.Int64))
    m_rows = mentors.with_row_index("m").with_columns(pl.col("m").cast(pl.Int64))
    e_skill, m_skill = _incidence(e_rows, vocab), _incidence(m_rows, vocab)
    cat_code = {c: i for i, c in enumerate(cats)}
    # same category; on location also the same area
    area = pl.when(pl.col("is_on_location")).then(pl.col("location")).otherwise(pl.lit(""))
    pairs = (
        e_rows.select("e", "entrant_id", "category", "utc_offset", _area=area)
        .join(
            m_rows.select("m", "mentor_id", "category", "utc_offset", "n_jobs_completed", _area=area),
            on=["category", "_area"],
            how="inner",
            suffix="_mentor",
        )
        .filter(pl.col("entrant_id") != pl.col("mentor_id"))
    )
    if pairs.height == 0:
        return entrants, mentors, pl.DataFrame(schema=edge_schema)
    e_idx, m_idx = pairs["e"].to_numpy(), pairs["m"].to_numpy()
    c_idx = pairs["category"].replace_strict(cat_code, return_dtype=pl.Int64).to_numpy()
    # demand the entrant lacks, and the part of it the mentor has: category x person products, then one
    # sparse product of the gathered rows for the skills both have (no dense edge x skill matrix)
    dense = demand.toarray()
    has_e = np.asarray((demand @ e_skill.T).todense())[c_idx, e_idx]
    has_m = np.asarray((demand @ m_skill.T).todense())[c_idx, m_idx]
    shared = e_skill[e_idx].multiply(m_skill[m_idx]).tocoo()
    both = np.bincount(shared.row, weights=dense[c_idx[shared.row], shared.col], minlength=e_idx.size)
    n_shared = np.bincount(shared.row, minlength=e_idx.size)
    n_taught = np.diff(m_skill.indptr)[m_idx] - n_shared
    gap = dense.sum(axis=1)[c_idx] - has_e
    with np.errstate(invalid="ignore", divide="ignore"):
        complement = np.where(gap > 1e-12, np.clip((has_m - both) / gap, 0.0, 1.0), 0.0)
    scored = (
        pairs.with_columns(
            skill_complement=pl.Series(complement),
            n_skills_taught=pl.Series(n_taught.astype(np.int64)),
            time_gap_hours=(pl.col("utc_offset") - pl.col("utc_offset_mentor")).abs(),
        )
        .with_columns(
            time_gap_hours=pl.when(pl.col("time_gap_hours") > 12)
            .then(24 - pl.col("time_gap_hours"))
            .otherwise(pl.col("time_gap_hours")),
        )
        .with_columns(
            time_zone=(1 - pl.col("time_gap_hours") / 12).fill_null(0.5),
            experience=(
                pl.col("n_jobs_completed").cast(pl.Float64).log1p() / math.log1p(EXPERIENCE_REFERENCE_JOBS)
            ).clip(0.0, 1.0),
        )
    )
    score = sum(pl.lit(w) * pl.col(name) for name, w in weights.items())
    edges = (
        scored.with_columns(score=score)
        .sort(["entrant_id", "mentor_id", "score", "category"], descending=[False, False, True, False])
        .unique(["entrant_id", "mentor_id"], keep="first", maintain_order=True)  # best shared category
        .sort(["entrant_id", "score", "mentor_id"], descending=[False, True, False])
        .filter(pl.int_range(pl.len()).over("entrant_id") < k)
        .select(list(edge_schema))
    )
    return entrants, mentors, edges.cast(edge_schema)


def _why() -> pl.Expr:
    """The reason for each entrant's outcome, as one vectorised string expression."""
    pct = (pl.col("skill_complement") * 100).round(0).cast(pl.Int64).cast(pl.String)
    skills = (
        pl.when(pl.col("skill_complement") > 0)
        .then(pl.format("knows {} skills you lack, {}% of the demand you cannot yet serve", "n_skills_taught", pct))
        .otherwise(pl.lit("no skills you lack that this category asks for"))
    )
    gap = pl.col("time_gap_hours")
    gap_text = pl.when(gap == gap.floor()).then(gap.cast(pl.Int64).cast(pl.String)).otherwise(gap.cast(pl.String))
    zone = (
        pl.when(gap.is_null()).then(pl.lit("time zone unknown")).otherwise(pl.format("{} h time difference", gap_text))
    )
    matched = pl.format("{}; {}; {} jobs completed", skills, zone, "mentor_jobs")
    return (
        pl.when(pl.col("outcome") == "matched")
        .then(matched)
        .when(pl.col("outcome") == "no_candidate")
        .then(pl.lit("no experienced worker shares your categories (and area, on location)"))
        .when(pl.col("n_candidates") == 1)
        .then(pl.lit("your one candidate mentor is at capacity with other entrants (the best total match)"))
        .otherwise(
            pl.format(
                "all {} candidate mentors are at capacity with other entrants (the best total match)", "n_candidates"
            )
        )
    )


def peers(
    market: object,
    *,
    category: str | None = None,
    max_entrant_jobs: int = 2,
    min_mentor_jobs: int = 20,
    min_mentor_rating: float = 4.5,
    mentor_capacity: int | object = 2,
    k: int = 20,
    weights: Mapping[str, float] | None = None,
    fairness_attribute: str | None = None,
    fair_to: FairTo = "entrants",
    min_impact_ratio: float = 0.8,
) -> PeersResult:
    """Match workers entering a category with experienced workers in it (see the module docstring).

    Parameters
    ----------
    market : gigshift.market.Market
        The market (``read_market(DIR)`` or ``synthetic(...)``).
    category : str, optional
        Only this category; default every category of the market.
    max_entrant_jobs : int, default=2
        An entrant has completed at most this many jobs.
    min_mentor_jobs : int, default=20
        A mentor has completed at least this many jobs...
    min_mentor_rating : float, default=4.5
        ...and has at least this rating.
    mentor_capacity : int or DataFrame, default=2
        Entrants per mentor: one number, or a ``worker_id, capacity`` table (mentors not in it: 0).
    k : int, default=20
        Candidate mentors kept per entrant (best score first).
    weights : dict, optional
        Weights of ``skill_complement``, ``time_zone`` and ``experience`` (default ``PEER_WEIGHTS``).
    fairness_attribute : str, optional
        A worker column (e.g. ``sex``): with it, group parity (``min_impact_ratio``) of match rates.
    fair_to : {"entrants", "mentors"}, default="entrants"
        Whose match rates the parity applies to.
    min_impact_ratio : float, default=0.8
        Each group's rate at least this share of the highest group's (0.8: the four-fifths rule).

    Returns
    -------
    PeersResult

    Raises
    ------
    NotFoundError
        An unknown category (closest slugs listed).
    InputError
        A bad ``mentor_capacity`` table, or a ``fairness_attribute`` the workers table lacks.
    GigshiftError
        A bad parameter.

    Examples
    --------
    >>> from gigshift.market import synthetic
    >>> m = synthetic(n_workers=600, n_tasks=300, categories=["web-dev"], seed=1)
    >>> r = peers(m, mentor_capacity=2)
    >>> r.pairs.height > 0, int(r.mentors["n_mentees"].max()) <= 2
    (True, True)
    """
    from gigshift.allocate import solve_table

    market = check_market(market, caller=_CALLER)
    if category is not None:
        from gigshift.taxonomy import category as lookup_category

        category = lookup_category(str(category).strip().lower()).slug
    for name, value in (("max_entrant_jobs", max_entrant_jobs), ("min_mentor_jobs", min_mentor_jobs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GigshiftError(f"{_CALLER}: {name} must be an integer >= 0; got {value!r}")
    if min_mentor_jobs <= max_entrant_jobs:
        raise GigshiftError(
            f"{_CALLER}: min_mentor_jobs ({min_mentor_jobs}) must exceed max_entrant_jobs ({max_entrant_jobs})"
        )
    if (
        isinstance(min_mentor_rating, bool)
        or not isinstance(min_mentor_rating, int | float)
        or not 1 <= min_mentor_rating <= 5
    ):
        raise GigshiftError(f"{_CALLER}: min_mentor_rating must be a number from 1 to 5; got {min_mentor_rating!r}")
    k = check_positive_int("k", k, caller=_CALLER)
    check_option("fair_to", fair_to, FairTo, caller=_CALLER)
    w = _check_weights(weights)
    if fairness_attribute is not None and fairness_attribute not in market.workers.columns:
        from gigshift._tables import closest_column

        hint = closest_column(fairness_attribute, market.workers.columns)
        raise InputError.single(
            source="workers",
            column=fairness_attribute,
            expected=f"the column named by fairness_attribute{hint}",
            got="missing",
        )

    entrants, mentors, edges = candidate_edges(
        market,
        category=category,
        max_entrant_jobs=max_entrant_jobs,
        min_mentor_jobs=min_mentor_jobs,
        min_mentor_rating=float(min_mentor_rating),
        weights=w,
        k=k,
    )
    caps = _capacities(mentor_capacity, mentors)
    notes: list[str] = []
    usable = edges.filter(pl.col("score") > 0).join(caps.filter(pl.col("capacity") > 0), on="mentor_id", how="semi")
    fairness = None
    if usable.height == 0:
        matches = pl.DataFrame(schema={"entrant_id": pl.String, "mentor_id": pl.String})
        objective = 0.0
        notes.append("no entrant shares a category (and, on location, an area) with an available mentor")
    elif fairness_attribute is not None and fair_to == "entrants":
        slot_caps = caps.join(usable.select("mentor_id").unique(), on="mentor_id")
        slots = slot_caps.select("mentor_id", slot=pl.int_ranges(0, pl.col("capacity"))).explode("slot")
        slot_edges = usable.join(slots, on="mentor_id").select(
            task_id=pl.concat_str(pl.col("mentor_id"), pl.lit(_SEP), pl.col("slot").cast(pl.String)),
            worker_id="entrant_id",
            score="score",
        )
        groups = market.workers.select("worker_id", group=pl.col(fairness_attribute).cast(pl.String))
        groups = groups.join(slot_edges.select("worker_id").unique(), on="worker_id", how="semi")
        solution = solve_table(slot_edges, groups=groups, min_impact_ratio=min_impact_ratio)
        matches = solution.assignments.select(
            entrant_id="worker_id", mentor_id=pl.col("task_id").str.split(_SEP).list.first()
        )
        objective, fairness = solution.objective, solution.fairness
    else:
        task_edges = usable.select(task_id="entrant_id", worker_id="mentor_id", score="score")
        cap_table = caps.join(usable.select("mentor_id").unique(), on="mentor_id").select(
            worker_id="mentor_id", capacity="capacity"
        )
        kwargs: dict[str, object] = {}
        if fairness_attribute is not None:
            groups = market.workers.select("worker_id", group=pl.col(fairness_attribute).cast(pl.String))
            kwargs = {
                "groups": groups.join(cap_table, on="worker_id", how="semi"),
                "min_impact_ratio": min_impact_ratio,
            }
        solution = solve_table(task_edges, cap_table, **kwargs)  # type: ignore[arg-type]
        matches = solution.assignments.select(entrant_id="task_id", mentor_id="worker_id")
        objective, fairness = solution.objective, solution.fairness
    return _result(
        market,
        entrants=entrants,
        mentors=mentors,
        edges=edges,
        caps=caps,
        matches=matches,
        objective=objective,
        fairness=fairness,
        notes=notes,
        settings={
            "category": category,
            "max_entrant_jobs": max_entrant_jobs,
            "min_mentor_jobs": min_mentor_jobs,
            "min_mentor_rating": float(min_mentor_rating),
            "mentor_capacity": mentor_capacity if isinstance(mentor_capacity, int) else "table",
            "k": k,
            "weights": w,
            "fairness_attribute": fairness_attribute,
            "fair_to": fair_to if fairness_attribute else None,
            "min_impact_ratio": min_impact_ratio if fairness_attribute else None,
        },
    )


def _result(
    market,  # type: ignore[no-untyped-def]
    *,
    entrants: pl.DataFrame,
    mentors: pl.DataFrame,
    edges: pl.DataFrame,
    caps: pl.DataFrame,
    matches: pl.DataFrame,
    objective: float,
    fairness,  # type: ignore[no-untyped-def]
    notes: list[str],
    settings: dict[str, object],
) -> PeersResult:
    """Per-entrant explanations (rank of the match, runner-up, margin, why), mentor loads, and the result."""
    ranked = edges.with_columns(rank=pl.int_range(1, pl.len() + 1).over("entrant_id").cast(pl.Int64))
    load = matches.group_by("mentor_id").agg(n_mentees=pl.len().cast(pl.Int64))
    ranked = (
        ranked.join(load, on="mentor_id", how="left")
        .join(caps, on="mentor_id", how="left")
        .with_columns(pl.col("n_mentees").fill_null(0), pl.col("capacity").fill_null(0))
    )
    chosen = ranked.join(matches, on=["entrant_id", "mentor_id"], how="semi")
    others = ranked.join(matches, on=["entrant_id", "mentor_id"], how="anti")
    best_other = (
        others.sort(["entrant_id", "rank"])
        .group_by("entrant_id", maintain_order=True)
        .agg(runner_up_mentor_id=pl.col("mentor_id").first(), runner_up_score=pl.col("score").first())
    )
    top = ranked.filter(pl.col("rank") == 1).select(
        "entrant_id", top_mentor_id="mentor_id", top_is_full=pl.col("n_mentees") >= pl.col("capacity")
    )
    n_candidates = edges.group_by("entrant_id").agg(n_candidates=pl.len().cast(pl.Int64))
    jobs = market.workers.select(mentor_id="worker_id", mentor_jobs="n_jobs_completed")
    people = entrants.group_by("entrant_id").agg(categories=pl.col("category").sort())
    table = (
        people.join(chosen.drop("n_mentees", "capacity"), on="entrant_id", how="left")
        .join(best_other, on="entrant_id", how="left")
        .join(top, on="entrant_id", how="left")
        .join(n_candidates, on="entrant_id", how="left")
        .join(jobs, on="mentor_id", how="left")
        .with_columns(pl.col("n_candidates").fill_null(0))
        .with_columns(
            outcome=pl.when(pl.col("mentor_id").is_not_null())
            .then(pl.lit("matched"))
            .when(pl.col("n_candidates") == 0)
            .then(pl.lit("no_candidate"))
            .otherwise(pl.lit("mentors_full")),
            margin=pl.when(pl.col("mentor_id").is_not_null()).then(pl.col("score") - pl.col("runner_up_score")),
        )
    )
    table = (
        table.with_columns(why=_why())
        .select(
            "entrant_id",
            "categories",
            "outcome",
            "mentor_id",
            "category",
            "score",
            "skill_complement",
            "time_zone",
            "experience",
            "time_gap_hours",
            "n_skills_taught",
            "mentor_jobs",
            "rank",
            "n_candidates",
            "runner_up_mentor_id",
            "margin",
            pl.col("top_mentor_id").alias("first_choice_mentor_id"),
            "why",
        )
        .sort("entrant_id")
    )
    mentor_table = (
        mentors.group_by("mentor_id")
        .agg(categories=pl.col("category").sort(), n_jobs_completed=pl.col("n_jobs_completed").first())
        .join(caps, on="mentor_id", how="left")
        .join(load, on="mentor_id", how="left")
        .join(edges.group_by("mentor_id").agg(n_candidate_entrants=pl.len().cast(pl.Int64)), on="mentor_id", how="left")
        .with_columns(pl.col("n_mentees").fill_null(0), pl.col("n_candidate_entrants").fill_null(0))
        .sort("mentor_id")
    )
    n_matched = table.filter(pl.col("outcome") == "matched").height
    if table.height:
        notes.insert(
            0,
            f"{n_matched} of {table.height} entrants matched with one of {mentor_table.height} mentors "
            f"(total score {objective:.3f})",
        )
    provenance = Provenance(
        sources=(),
        method=(
            "candidate pairs sharing a category (and area on location), scored on demand-weighted skill complement, "
            "time-zone overlap and mentor experience; maximum-score matching with mentor capacities "
            "(gigshift.allocate.solve_table, exact)"
            + (f", group parity on {settings['fairness_attribute']} ({settings['fair_to']})" if fairness else "")
        ),
        gigshift_version=gigshift.__version__,
    )
    return PeersResult(
        matches=table,
        mentors=mentor_table,
        edges=edges,
        objective=objective,
        fairness=None if fairness is None else fairness.by_group,
        price_of_fairness_pct=None if fairness is None else fairness.price_of_fairness,
        settings=settings,
        notes=tuple(notes),
        provenance=provenance,
    )
