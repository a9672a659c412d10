"""Career paths: destinations ranked jointly on exposure, pay, outlook and similarity, with what to learn.

Constraints
-----------
A destination is a *path* when it is

- **less exposed**: lower beta under both lenses (GPT-4 and human labels, Eloundou et al. 2024) and an
  E1 share (alpha) no higher under either;
- **well paid**: a BLS median wage at least ``min_wage_ratio`` times the origin's (when the origin
  has no BLS wage, pay cannot be checked and is left out, which the result says);
- **close enough**: among the ``reach`` occupations most similar to the origin.

When fewer than ``min_paths`` destinations pass, the search is widened step by step, first in reach
(x2, x4, then every occupation) and last in pay (the floor lowered to two thirds of itself), and each
step is reported. Exposure is never relaxed: when nothing less exposed exists, the result is empty
and says so.

Ranking
-------
Each path's score is ``sum(w_k * component_k) - w_preparation * preparation_cost`` over components in
[0, 1] (``SCORE_WEIGHTS``):

- ``similarity``: the origin's similarity row scaled from its median occupation (0) to its closest (1);
- ``exposure``: the mean relative fall in alpha and beta over both lenses, ``(origin - dest) / origin``;
- ``pay``: ``0.5 + log2(wage_ratio) / 2``, clipped (half pay 0, same pay 0.5, double pay 1);
- ``outlook``: the mean percentile, over the 923 occupations, of the BLS 2024-34 projected employment
  change and of annual openings per job; for occupations behind an online gig class, one fifth of it is
  that class's Online Labour Index trend (last 12 months against the 12 before) ranked among the classes.

``preparation_cost`` comes from the change in O*NET job zone and is asymmetric: moving up ``d`` zones
costs ``min(1, 0.25 * d**1.5)`` (0.25, 0.71, 1.0), moving down costs ``0.05 * d``.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import check_positive_int
from gigshift.advise._model import AdviceModel, default_model
from gigshift.advise._origin import Origin, OriginKind, resolve
from gigshift.advise._results import PathsResult, SimilarResult, SkillLeversResult

#: Default weights of the ranking components; ``preparation`` is a penalty.
SCORE_WEIGHTS: dict[str, float] = {
    "similarity": 0.4,
    "exposure": 0.25,
    "pay": 0.15,
    "outlook": 0.2,
    "preparation": 0.3,
}
_LENSES = ("gpt4", "human")
#: A technology O*NET lists for at least this share of occupations (Excel, Outlook, Windows, email...) is a
#: baseline tool: a worker very likely has it even where O*NET does not list it for their occupation, so
#: it goes last in learning lists and is never a skill lever.
BASELINE_SHARE = 0.25


def preparation_cost(job_zone_change: int | float | np.ndarray) -> float | np.ndarray:
    """Cost of changing O*NET job zone by ``job_zone_change`` (asymmetric: up costs far more than down).

    Moving up ``d`` zones costs ``min(1, 0.25 * d**1.5)``, moving down ``0.05 * d``; no change costs 0.

    Examples
    --------
    >>> [round(float(preparation_cost(d)), 3) for d in (-2, -1, 0, 1, 2, 3)]
    [0.1, 0.05, 0.0, 0.25, 0.707, 1.0]
    """
    d = np.asarray(job_zone_change, dtype=np.float64)
    cost = np.where(d > 0, np.minimum(1.0, 0.25 * np.abs(d) ** 1.5), 0.05 * np.abs(d))
    return float(cost) if cost.ndim == 0 else cost


def _provenance(method: str) -> Provenance:
    from gigshift.taxonomy._sources import sources_for

    return Provenance(
        sources=sources_for("onet", "gpts_are_gpts", "bls_oews", "bls_ep", "bls_crosswalk", "oli"),
        method=method,
        gigshift_version=gigshift.__version__,
    )


def _similarity_row(model: AdviceModel, origin: Origin) -> tuple[np.ndarray, np.ndarray]:
    """The origin's similarity to every occupation (-inf for its own) and the same scaled to [0, 1]."""
    members = origin.members["i"].to_numpy()
    raw = origin.weights[members] @ model.similarity[members].astype(np.float64)
    raw[members] = -np.inf
    others = raw[np.isfinite(raw)]
    floor, top = float(np.median(others)), float(others.max())
    scaled = np.clip((raw - floor) / (top - floor), 0.0, 1.0) if top > floor else np.zeros_like(raw)
    scaled[members] = np.nan
    return raw, scaled


def _ranks(raw: np.ndarray) -> np.ndarray:
    """1 = the most similar occupation; the origin's own occupations come last."""
    order = np.argsort(-raw, kind="stable")
    rank = np.empty(len(raw), dtype=np.int64)
    rank[order] = np.arange(1, len(raw) + 1)
    return rank


def check_weights(weights: dict[str, float] | None, *, caller: str) -> dict[str, float]:
    if weights is None:
        return dict(SCORE_WEIGHTS)
    unknown = sorted(set(weights) - set(SCORE_WEIGHTS))
    if unknown:
        raise GigshiftError(f"{caller}: unknown weight(s) {unknown}; known: {sorted(SCORE_WEIGHTS)}")
    bad = {k: v for k, v in weights.items() if isinstance(v, bool) or not isinstance(v, int | float) or v < 0}
    if bad:
        raise GigshiftError(f"{caller}: weights must be numbers >= 0; got {bad}")
    return {**SCORE_WEIGHTS, **{k: float(v) for k, v in weights.items()}}


def _check_ratio(value: object, *, caller: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise GigshiftError(
            f"{caller}: min_wage_ratio must be a number >= 0 (0.75 = at least 75% of your pay); got {value!r}"
        )
    return float(value)


def _candidates(model: AdviceModel, origin: Origin, weights: dict[str, float]) -> pl.DataFrame:
    """Every occupation but the origin's own, with the components, constraints and score (vectorised)."""
    occ = model.occupations
    raw, scaled = _similarity_row(model, origin)
    rank = _ranks(raw)
    o_exp = origin.exposure
    less = np.ones(occ.height, dtype=bool)
    falls = []
    for lens in _LENSES:
        d_alpha, d_beta = occ[f"{lens}_alpha"].to_numpy(), occ[f"{lens}_beta"].to_numpy()
        o_alpha, o_beta = o_exp[lens]["alpha"], o_exp[lens]["beta"]
        less &= (d_beta < o_beta) & (d_alpha <= o_alpha)
        falls += [(o_alpha - d_alpha) / max(o_alpha, 0.05), (o_beta - d_beta) / max(o_beta, 0.05)]
    exposure = np.clip(np.mean(falls, axis=0), 0.0, 1.0)

    wage = occ["bls_median_hourly_wage_usd"].to_numpy().astype(np.float64)
    ratio = wage / origin.wage_usd_hourly if origin.wage_usd_hourly else np.full(occ.height, np.nan)
    pay = np.where(np.isnan(ratio), 0.5, np.clip(0.5 + np.log2(np.where(ratio > 0, ratio, 1e-9)) / 2, 0.0, 1.0))

    zone = occ["job_zone"].to_numpy().astype(np.float64)
    change = zone - origin.job_zone if origin.job_zone is not None else np.zeros(occ.height)
    cost = preparation_cost(change)

    oli_rank = occ["oli_trend_pct"].rank("dense") / occ["oli_trend_pct"].n_unique()
    bls = (occ["change_rank"].fill_null(0.5) + occ["openings_rank"].fill_null(0.5)).to_numpy() / 2
    outlook = np.where(oli_rank.is_null().to_numpy(), bls, 0.8 * bls + 0.2 * oli_rank.fill_null(0).to_numpy())

    components = {"similarity": np.nan_to_num(scaled), "exposure": exposure, "pay": pay, "outlook": outlook}
    score = sum(weights[k] * v for k, v in components.items()) - weights["preparation"] * cost
    frame = occ.select(
        "i",
        "soc_code",
        "title",
        "job_zone",
        *[f"{lens}_{m}" for lens in _LENSES for m in ("alpha", "beta", "gamma")],
        wage_usd_hourly="bls_median_hourly_wage_usd",
        employment_change_pct="ep_employment_change_2024_34_pct",
        openings_thousands_per_year="ep_openings_2024_34_annual_thousands",
        openings_rate="openings_rate",
        online_class="occupation_class",
        oli_trend_pct="oli_trend_pct",
    ).with_columns(
        similarity=pl.Series(scaled),
        similarity_rank=pl.Series(rank),
        is_less_exposed=pl.Series(less),
        wage_ratio=pl.Series(ratio),
        job_zone_change=pl.Series(change).cast(pl.Int64),
        preparation_cost=pl.Series(cost),
        score_similarity=pl.Series(components["similarity"]),
        score_exposure=pl.Series(exposure),
        score_pay=pl.Series(pay),
        score_outlook=pl.Series(outlook),
        score=pl.Series(score),
    )
    return frame.filter(pl.col("i").is_in(origin.members["i"].implode()).not_()).with_columns(
        pl.col("wage_ratio").fill_nan(None)
    )


def _search(
    candidates: pl.DataFrame,
    *,
    has_wage: bool,
    reach: int,
    min_wage_ratio: float,
    min_paths: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Qualifying paths at the first step of the ladder with at least ``min_paths``; and the steps tried."""
    n = candidates.height
    ladder: list[tuple[int, float]] = []
    for r in (reach, 2 * reach, 4 * reach, n):
        if not ladder or min(r, n) > ladder[-1][0]:
            ladder.append((min(r, n), min_wage_ratio))
    if has_wage and min_wage_ratio > 0:
        ladder.append((n, round(min_wage_ratio * 2 / 3, 4)))
    steps, chosen = [], None
    for step, (within, floor) in enumerate(ladder):
        ok = pl.col("is_less_exposed") & (pl.col("similarity_rank") <= within)
        if has_wage:
            ok &= pl.col("wage_ratio").fill_null(-1.0) >= floor
        passing = candidates.filter(ok)
        steps.append(
            {"step": step, "reach": within, "min_wage_ratio": floor if has_wage else None, "n_paths": passing.height}
        )
        chosen = passing
        if passing.height >= min_paths:
            break
    search = pl.DataFrame(
        steps, schema={"step": pl.Int64, "reach": pl.Int64, "min_wage_ratio": pl.Float64, "n_paths": pl.Int64}
    )
    assert chosen is not None
    return chosen.sort(["score", "soc_code"], descending=[True, False]), search


def _origin_items(model: AdviceModel, origin: Origin) -> tuple[np.ndarray, np.ndarray]:
    members = origin.members["i"].to_numpy()
    tech = np.asarray(model.technology[members].sum(axis=0)).ravel() > 0
    act = np.asarray(model.activities[members].sum(axis=0)).ravel() > 0
    return tech, act


def _learn(model: AdviceModel, origin: Origin, destinations: np.ndarray) -> pl.DataFrame:
    """Technologies and activities each destination has and the origin lacks, most important first.

    Importance: a technology's ``(1 + hot + 2 * in_demand) / 4``, or 0.1 for a baseline tool (see
    ``BASELINE_SHARE``; ties: the more occupations use it, the more it carries over, the earlier); an
    activity's number of the destination's tasks that link to it, over the most-linked activity's.
    The list alternates technology and activity, each kind most important first.
    """
    baseline = BASELINE_SHARE * model.occupations.height
    has_tech, has_act = _origin_items(model, origin)
    frames = []
    tech = model.technology[destinations].tocoo()
    keep = ~has_tech[tech.col]
    ti = model.technology_items
    frames.append(
        pl.DataFrame({"row": tech.row[keep].astype(np.int64), "k": tech.col[keep].astype(np.int64)})
        .join(ti.select("k", "item", "name", "is_hot", "is_in_demand", "n_occupations"), on="k")
        .with_columns(
            kind=pl.lit("technology"),
            importance=pl.when(pl.col("n_occupations") >= baseline)
            .then(0.1)
            .otherwise((1 + pl.col("is_hot").cast(pl.Float64) + 2 * pl.col("is_in_demand").cast(pl.Float64)) / 4),
        )
    )
    act = model.activities[destinations].tocoo()
    keep = ~has_act[act.col]
    linked = act.data.astype(np.float64)
    most = np.zeros(len(destinations))
    np.maximum.at(most, act.row, linked)
    frames.append(
        pl.DataFrame(
            {
                "row": act.row[keep].astype(np.int64),
                "k": act.col[keep].astype(np.int64),
                "importance": (linked / most[act.row])[keep],
            }
        )
        .join(model.activity_items.select("k", "item", "name", "n_occupations"), on="k")
        .with_columns(kind=pl.lit("activity"), is_hot=pl.lit(None, pl.Boolean), is_in_demand=pl.lit(None, pl.Boolean))
    )
    columns = ["row", "kind", "item", "name", "is_hot", "is_in_demand", "importance", "n_occupations"]
    learn = pl.concat([f.select(columns) for f in frames])
    codes = pl.DataFrame(
        {
            "row": np.arange(len(destinations), dtype=np.int64),
            "soc_code": model.occupations["soc_code"].gather(destinations),
        }
    )
    return (
        learn.join(codes, on="row")
        .sort(["row", "kind", "importance", "n_occupations", "name"], descending=[False, True, True, True, False])
        .with_columns(within=pl.int_range(pl.len()).over("row", "kind"))
        .sort(["row", "within", "kind"], descending=[False, False, True])
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("row"))
        .select("soc_code", "rank", "kind", "item", "name", "is_hot", "is_in_demand", "importance")
    )


def _levers(model: AdviceModel, origin: Origin, pool: pl.DataFrame, *, top: int) -> pl.DataFrame:
    """The single technologies and activities that open the most paths in ``pool`` (origin lacks them).

    ``pool`` is sorted best path first; each lever lists the first three paths it opens. Baseline
    tools (``BASELINE_SHARE``) are not levers.
    """
    schema = {
        "rank": pl.Int64,
        "kind": pl.String,
        "item": pl.String,
        "name": pl.String,
        "n_paths": pl.Int64,
        "share_of_paths": pl.Float64,
        "is_hot": pl.Boolean,
        "is_in_demand": pl.Boolean,
        "paths": pl.List(pl.String),
    }
    if pool.height == 0:
        return pl.DataFrame(schema=schema)
    rows = pool["i"].to_numpy()
    has_tech, has_act = _origin_items(model, origin)
    incidence, frames = {}, []
    for kind, matrix, items, has in (
        ("technology", model.technology, model.technology_items, has_tech),
        ("activity", model.activities, model.activity_items, has_act),
    ):
        incidence[kind] = (matrix[rows] > 0).astype(np.int64).tocsc()
        counts = np.asarray(incidence[kind].sum(axis=0)).ravel()
        counts[has] = 0
        if kind == "technology":
            counts[items["n_occupations"].to_numpy() >= BASELINE_SHARE * model.occupations.height] = 0
        picked = np.flatnonzero(counts)
        frame = items[picked.tolist()].with_columns(kind=pl.lit(kind), n_paths=pl.Series(counts[picked]))
        if kind == "activity":
            frame = frame.with_columns(is_hot=pl.lit(None, pl.Boolean), is_in_demand=pl.lit(None, pl.Boolean))
        frames.append(frame.select("kind", "k", "item", "name", "n_paths", "is_hot", "is_in_demand"))
    best = (
        pl.concat(frames)
        .sort(
            ["n_paths", "is_in_demand", "is_hot", "kind", "name"],
            descending=[True, True, True, True, False],
            nulls_last=True,
        )
        .head(top)
    )
    codes = pool["soc_code"].to_numpy()
    # the first three paths each lever opens: a loop over at most `top` levers, not over the data
    opens = [
        codes[np.sort(incidence[kind][:, k].indices)[:3]].tolist()
        for kind, k in zip(best["kind"].to_list(), best["k"].to_list(), strict=True)
    ]
    return best.with_columns(
        rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        share_of_paths=pl.col("n_paths") / pool.height,
        paths=pl.Series(opens, dtype=pl.List(pl.String)),
    ).select(list(schema))


def _why(row: dict[str, object], origin: Origin, has_wage: bool) -> str:
    """One line naming every component of the score."""
    o = origin.exposure
    parts = [
        f"similarity {row['similarity']:.2f} (#{row['similarity_rank']} closest)",
        f"beta {row['gpt4_beta']:.2f}/{row['human_beta']:.2f} vs your {o['gpt4']['beta']:.2f}/{o['human']['beta']:.2f}"
        " (GPT-4/human)",
    ]
    if row["wage_ratio"] is not None:
        parts.append(f"pays {row['wage_ratio']:.2f}x (${row['wage_usd_hourly']:.2f}/h)")
    elif not has_wage:
        parts.append("pay not compared (no BLS wage for your work)")
    outlook = []
    if row["employment_change_pct"] is not None:
        outlook.append(f"{row['employment_change_pct']:+.1f}% jobs 2024-34")
    if row["openings_thousands_per_year"] is not None:
        outlook.append(f"{row['openings_thousands_per_year']:,.1f}k openings/yr")
    if row["oli_trend_pct"] is not None:
        outlook.append(f"online {row['online_class']} {row['oli_trend_pct']:+.0f}% y/y")
    if outlook:
        parts.append(", ".join(outlook))
    change = row["job_zone_change"]
    if change:
        plural = "s" if abs(change) > 1 else ""
        parts.append(f"{abs(change)} job zone{plural} {'up' if change > 0 else 'down'}")
    else:
        parts.append("same job zone")
    return "; ".join(parts)


def _plan(
    origin: str,
    *,
    caller: str,
    top: int,
    min_wage_ratio: float,
    by: OriginKind,
    reach: int,
    min_paths: int,
    weights: dict[str, float] | None,
) -> tuple[AdviceModel, Origin, pl.DataFrame, pl.DataFrame, dict[str, float]]:
    """Check the arguments, resolve the origin and search: (model, origin, pool best first, search, weights)."""
    top = check_positive_int("top", top, caller=caller)
    reach = check_positive_int("reach", reach, caller=caller)
    min_paths = check_positive_int("min_paths", min_paths, caller=caller)
    ratio = _check_ratio(min_wage_ratio, caller=caller)
    w = check_weights(weights, caller=caller)
    model = default_model()
    org = resolve(origin, kind=by, model=model, caller=caller)
    candidates = _candidates(model, org, w)
    pool, search = _search(
        candidates,
        has_wage=org.wage_usd_hourly is not None,
        reach=reach,
        min_wage_ratio=ratio,
        min_paths=min(min_paths, top),
    )
    return model, org, pool, search, w


def paths(
    origin: str,
    *,
    top: int = 10,
    min_wage_ratio: float = 0.75,
    by: OriginKind = "auto",
    reach: int = 50,
    min_paths: int = 3,
    n_learn: int = 8,
    weights: dict[str, float] | None = None,
) -> PathsResult:
    """Career paths from an occupation, a gig category or a description of the work.

    Parameters
    ----------
    origin : str
        An O*NET-SOC code (``27-3091.00``), a gig category slug (``translation``) or free text.
    top : int, default=10
        How many paths to return, best first.
    min_wage_ratio : float, default=0.75
        A path must pay at least this share of the origin's BLS median wage.
    by : {"auto", "occupation", "category", "text"}, default="auto"
        How to read ``origin``; ``auto`` tries a code, then a slug, then text.
    reach : int, default=50
        "Close enough": a path must be among this many most similar occupations (before widening).
    min_paths : int, default=3
        Widen the search until at least this many paths (or ``top``, if fewer) qualify.
    n_learn : int, default=8
        How many items of each path's learning list go into ``to_json()`` (``learn`` has them all).
    weights : dict, optional
        Override ``SCORE_WEIGHTS`` (``similarity``, ``exposure``, ``pay``, ``outlook``, ``preparation``).

    Returns
    -------
    PathsResult
        ``paths`` (one row per path with every component), ``learn``, ``skill_levers``, ``search``
        (the steps tried) and ``widened``.

    Examples
    --------
    >>> result = paths("27-3091.00", top=3)
    >>> bool((result.paths["gpt4_beta"] < result.origin.exposure["gpt4"]["beta"]).all())
    True
    """
    caller = "advise.paths"
    n_learn = check_positive_int("n_learn", n_learn, caller=caller)
    model, org, pool, search, w = _plan(
        origin,
        caller=caller,
        top=top,
        min_wage_ratio=min_wage_ratio,
        by=by,
        reach=reach,
        min_paths=min_paths,
        weights=weights,
    )
    has_wage = org.wage_usd_hourly is not None
    chosen = pool.head(top)
    why = [_why(r, org, has_wage) for r in chosen.iter_rows(named=True)]  # at most `top` rows
    chosen = chosen.with_columns(why=pl.Series(why, dtype=pl.String))
    return PathsResult(
        origin=org,
        paths=chosen.drop("i", "is_less_exposed"),
        learn=_learn(model, org, chosen["i"].to_numpy()),
        skill_levers=_levers(model, org, pool, top=10),
        search=search,
        widened=search.height > 1,
        note=_note(search, org, has_wage=has_wage, n_others=model.occupations.height - org.members.height),
        weights=w,
        n_learn=n_learn,
        n_qualifying=pool.height,
        provenance=_provenance(
            "paths: less exposed (beta lower, alpha no higher, both lenses), BLS wage >= min_wage_ratio x origin, "
            f"within the `reach` most similar, widened when too few; score = weighted components {w}"
        ),
    )


def _note(search: pl.DataFrame, origin: Origin, *, has_wage: bool, n_others: int) -> str:
    """What the search found, in words, including every widening step."""

    def found(n: int, reach: int, floor: float | None) -> str:
        where = f"all {reach} other occupations" if reach >= n_others else f"your {reach} closest occupations"
        count = "None" if n == 0 else ("Only " if search.height > 1 else "") + str(n)
        verb, pays = ("is", "pays") if n <= 1 else ("are", "pay")
        pay = f" and {pays} at least {floor:.0%} of yours" if floor is not None else ""
        return f"{count} of {where} {verb} less exposed to AI under both lenses{pay}"

    lines = [] if has_wage else ["Your work has no BLS median wage, so pay was not compared."]
    first = search.row(0, named=True)
    lines.append(found(first["n_paths"], first["reach"], first["min_wage_ratio"]) + ".")
    if search.height > 1:
        steps = [
            (f"all {r['reach']}" if r["reach"] >= n_others else f"{r['reach']} closest")
            + (f", pay >= {r['min_wage_ratio']:.0%}" if r["min_wage_ratio"] is not None else "")
            + f": {r['n_paths']} path{'' if r['n_paths'] == 1 else 's'}"
            for r in search.iter_rows(named=True)
        ]
        lines.append("The search was widened: " + "; ".join(steps[1:]) + ".")
    if search["n_paths"][-1] == 0:
        pay = " at that pay" if has_wage else ""
        lines.append(
            f"No occupation in the atlas is less exposed than {origin.label}{pay}: the honest advice is to work "
            "with AI in your current work (`gigshift advise tasks`)."
        )
    return " ".join(lines)


def similar(origin: str, *, top: int = 20, by: OriginKind = "auto") -> SimilarResult:
    """The occupations closest to the origin by the similarity alone, closest first (origin left out).

    Examples
    --------
    >>> similar("15-1252.00", top=3).similar["soc_code"].to_list()[0]
    '15-1253.00'
    """
    caller = "advise.similar"
    top = check_positive_int("top", top, caller=caller)
    model = default_model()
    org = resolve(origin, kind=by, model=model, caller=caller)
    raw, scaled = _similarity_row(model, org)
    rank = _ranks(raw)
    order = np.argsort(rank)[:top]
    order = order[np.isfinite(raw[order])]
    table = (
        model.occupations[order.tolist()]
        .select("soc_code", "title", "job_zone")
        .with_columns(
            similarity=pl.Series(scaled[order]), similarity_rank=pl.Series(rank[order]), score=pl.Series(raw[order])
        )
    )
    return SimilarResult(
        origin=org,
        similar=table.select("similarity_rank", "soc_code", "title", "similarity", "score", "job_zone"),
        provenance=_provenance(
            "blend of row-standardised cosine similarities of O*NET tasks, titles, description, DWAs, IWAs, "
            "technology skills, tool classes and skills, plus a second-order term; similarity scaled from the "
            "median occupation (0) to the closest (1)"
        ),
    )


def skill_levers(
    origin: str,
    *,
    top: int = 10,
    min_wage_ratio: float = 0.75,
    by: OriginKind = "auto",
    reach: int = 50,
    min_paths: int = 3,
) -> SkillLeversResult:
    """The single technologies and activities that open the most less-exposed, well-paid paths.

    The paths are every destination that qualifies in :func:`paths`'s search (not only its top); a
    lever "opens" a path when the destination has it and the origin lacks it.

    Examples
    --------
    >>> levers = skill_levers("43-9021.00", top=3).levers
    >>> levers.columns[:5], bool((levers["n_paths"] > 0).all())
    (['rank', 'kind', 'item', 'name', 'n_paths'], True)
    """
    caller = "advise.skill_levers"
    top = check_positive_int("top", top, caller=caller)
    model, org, pool, search, _ = _plan(
        origin,
        caller=caller,
        top=10,
        min_wage_ratio=min_wage_ratio,
        by=by,
        reach=reach,
        min_paths=min_paths,
        weights=None,
    )
    return SkillLeversResult(
        origin=org,
        levers=_levers(model, org, pool, top=top),
        n_paths=pool.height,
        search=search,
        widened=search.height > 1,
        provenance=_provenance(
            "skill levers: technologies and DWAs the origin lacks, counted over the destinations that are less "
            "exposed, well paid and close enough (the paths search)"
        ),
    )
