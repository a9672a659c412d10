"""A synthetic gig market drawn on the atlas: realistic skews, known group shares and planted biases.

Everything is vectorised over workers, tasks and bids (loops run over categories, classes and group
attributes only), and one ``SeedSequence`` feeds five independent streams (popularity, clients,
workers, tasks, bids), so the same seed gives identical tables, and the workers of a seed do not
change when only ``n_tasks`` does.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import polars as pl
import pyarrow as pa

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import check_positive_int
from gigshift.market._market import Market
from gigshift.market._reference import (
    CLIENT_COUNTRY_SHARES,
    DEFAULT_GROUP_SHARES,
    LOCAL_COUNTRY,
    LOCAL_TIME_ZONE,
    OLI,
    OLI_CLASS_SHARES,
    WORKER_COUNTRIES,
)
from gigshift.market._schema import GROUP_ATTRIBUTES, SCHEMAS, UTC_DATETIME

_CALLER = "synthetic"
_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000

# Model constants (documented in ``synthetic``'s Notes).
RATE_SIGMA = 0.45  # lognormal spread of hourly rates around the category anchor
N_TECHNOLOGIES = 30  # technology skills per category vocabulary (highest weight, hot, in demand first)
N_ONET_SKILLS = 8  # O*NET basic/cross-functional skills per category vocabulary (most important first)
TECHNOLOGY_SHARE = 0.7  # share of skill draws that are technologies (the rest O*NET skills)
ZIPF_EXPONENT = 0.8  # popularity skew of categories within a class
SAME_CLASS = 0.75  # chance a worker's second or third category shares the first one's class
NEW_WORKER_SHARE = 0.3  # workers with no completed job (no rating, no reliability)
RATING_NOISE = 0.6  # standard deviation of one client rating around the worker's quality, in stars


@dataclass(frozen=True, slots=True)
class _Catalog:
    """The atlas categories as arrays: one row per category, vocabularies as flat arrays with offsets."""

    slugs: list[str]
    names: list[str]
    classes: list[str]
    is_online: np.ndarray  # bool per category
    anchor_usd: np.ndarray  # BLS-anchored median hourly wage per category
    vocab_offsets: np.ndarray  # category i's vocabulary is vocab_ids[offsets[i]:offsets[i + 1]]
    vocab_ids: np.ndarray  # index into skill_names
    vocab_prob: np.ndarray  # alias-method acceptance probability per vocabulary entry
    vocab_alias: np.ndarray  # alias-method alternative, as a position within the category
    skill_names: list[str]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at half the total weight; the midpoint when the half falls between two values."""
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(weights[order]) / weights.sum()
    i = int(np.searchsorted(cum, 0.5 - 1e-9))
    if abs(cum[i] - 0.5) < 1e-9 and i + 1 < len(v):
        return float((v[i] + v[i + 1]) / 2)
    return float(v[i])


def _alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction): draw slot i uniformly, keep it with prob[i], else alias[i]."""
    k = len(weights)
    scaled = weights / weights.sum() * k
    prob, alias = np.ones(k), np.arange(k)
    small = [i for i in range(k) if scaled[i] < 1.0]
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return prob, alias


@cache
def _catalog() -> _Catalog:
    from gigshift.taxonomy import categories, category

    table = categories().sort("slug")
    slugs = table["slug"].to_list()
    anchors, vocab_ids, vocab_w, offsets = [], [], [], [0]
    names_index: dict[str, int] = {}
    for slug in slugs:
        cat = category(slug)
        occ = cat.occupations.drop_nulls("bls_median_hourly_wage_usd")
        anchors.append(
            _weighted_median(occ["bls_median_hourly_wage_usd"].to_numpy(), occ["weight"].to_numpy())
            if occ.height
            else math.nan
        )
        tech = (
            cat.technology.with_columns(
                score=pl.col("weight") * (1 + pl.col("is_hot").cast(pl.Float64)) * (1 + 0.5 * pl.col("is_in_demand"))
            )
            .sort(["score", "technology"], descending=[True, False])
            .head(N_TECHNOLOGIES)
        )
        skills = cat.skills.sort(["importance", "skill"], descending=[True, False]).head(N_ONET_SKILLS)
        # a Zipf-like fall-off by rank, so a few tools of each category are common and overlaps matter
        tw = tech["score"].to_numpy() / np.arange(1, tech.height + 1) ** 0.6
        sw = skills["importance"].to_numpy() ** 2
        tech_share = TECHNOLOGY_SHARE if skills.height else 1.0
        weights = np.concatenate([tw / tw.sum() * tech_share, sw / sw.sum() * (1 - tech_share) if sw.size else sw])
        seen: dict[str, float] = {}
        for name, w in zip([*tech["technology"].to_list(), *skills["skill"].to_list()], weights, strict=True):
            seen[name] = seen.get(name, 0.0) + float(w)
        for name, w in seen.items():
            vocab_ids.append(names_index.setdefault(name, len(names_index)))
            vocab_w.append(w)
        offsets.append(len(vocab_ids))
    anchor = np.array(anchors)
    anchor[np.isnan(anchor)] = np.nanmedian(anchor)
    offsets_arr = np.array(offsets)
    w = np.array(vocab_w)
    prob, alias = np.ones_like(w), np.zeros(len(w), dtype=np.int64)
    for i in range(len(slugs)):
        lo, hi = offsets_arr[i], offsets_arr[i + 1]
        prob[lo:hi], alias[lo:hi] = _alias_table(w[lo:hi])
    return _Catalog(
        slugs=slugs,
        names=table["name"].to_list(),
        classes=table["class"].cast(pl.String).to_list(),
        is_online=(table["mode"].cast(pl.String) == "online").to_numpy(),
        anchor_usd=anchor,
        vocab_offsets=offsets_arr.astype(np.int32),
        vocab_ids=np.array(vocab_ids, dtype=np.int32),
        vocab_prob=prob.astype(np.float32),
        vocab_alias=alias.astype(np.int32),
        skill_names=list(names_index),
    )


# ----------------------------------------------------------------------------------------------
# parameter checks


def _number(name: str, value: object, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GigshiftError(f"{_CALLER}: {name} must be a finite number; got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"from {low} to {high}"
        raise GigshiftError(f"{_CALLER}: {name} must be {bounds}; got {value!r}")
    return float(value)


def _check_categories(selected: Sequence[str] | None, catalog: _Catalog) -> list[int]:
    if selected is None:
        return list(range(len(catalog.slugs)))
    if isinstance(selected, str) or not isinstance(selected, Sequence) or not selected:
        raise GigshiftError(f"{_CALLER}: categories must be a non-empty list of category slugs; got {selected!r}")
    index = {s: i for i, s in enumerate(catalog.slugs)}
    for slug in selected:
        if slug not in index:
            close = difflib.get_close_matches(str(slug), catalog.slugs, n=3, cutoff=0.5)
            hint = f"; closest: {', '.join(close)}" if close else "; see `gigshift categories`"
            raise GigshiftError(f"{_CALLER}: unknown category {slug!r}{hint}")
    return sorted({index[s] for s in selected})


def _check_group_shares(group_shares: Mapping[str, Mapping[str, float]] | None) -> dict[str, dict[str, float]]:
    shares = {attr: dict(groups) for attr, groups in DEFAULT_GROUP_SHARES.items()}
    if group_shares is None:
        return shares
    if not isinstance(group_shares, Mapping):
        raise GigshiftError(f"{_CALLER}: group_shares must be a dict of attribute -> {{group: share}}")
    for attr, groups in group_shares.items():
        if attr not in GROUP_ATTRIBUTES:
            raise GigshiftError(
                f"{_CALLER}: group_shares: unknown attribute {attr!r}; known: {', '.join(GROUP_ATTRIBUTES)}"
            )
        if not isinstance(groups, Mapping):
            raise GigshiftError(f"{_CALLER}: group_shares[{attr!r}] must be a dict of group -> share")
        clean = {str(g): _number(f"group_shares[{attr!r}][{g!r}]", v, low=0.0) for g, v in groups.items()}
        if sum(clean.values()) > 1 + 1e-9:
            raise GigshiftError(
                f"{_CALLER}: group_shares[{attr!r}] must sum to at most 1 (the rest is not disclosed); "
                f"got {sum(clean.values()):.4g}"
            )
        if attr == "country":
            unknown = [g for g in clean if g not in WORKER_COUNTRIES]
            if unknown:
                raise GigshiftError(
                    f"{_CALLER}: group_shares['country']: unknown country {unknown[0]!r}; "
                    f"known: {', '.join(WORKER_COUNTRIES)}"
                )
        shares[attr] = clean
    return shares


def _check_bias(
    name: str, bias: Mapping[str, Mapping[str, float]] | None, shares: dict[str, dict[str, float]], *, factor: bool
) -> dict[str, dict[str, float]]:
    if bias is None:
        return {}
    if not isinstance(bias, Mapping):
        raise GigshiftError(f"{_CALLER}: {name} must be a dict of attribute -> {{group: value}}")
    out: dict[str, dict[str, float]] = {}
    for attr, groups in bias.items():
        if attr not in GROUP_ATTRIBUTES:
            raise GigshiftError(f"{_CALLER}: {name}: unknown attribute {attr!r}; known: {', '.join(GROUP_ATTRIBUTES)}")
        if not isinstance(groups, Mapping):
            raise GigshiftError(f"{_CALLER}: {name}[{attr!r}] must be a dict of group -> value")
        known = list(shares[attr]) + (
            [LOCAL_COUNTRY] if attr == "country" and LOCAL_COUNTRY not in shares[attr] else []
        )
        for group, value in groups.items():
            if group not in known:
                raise GigshiftError(f"{_CALLER}: {name}: unknown {attr} group {group!r}; known: {', '.join(known)}")
            if factor:
                _number(f"{name}[{attr!r}][{group!r}]", value, low=1e-9)
            else:
                _number(f"{name}[{attr!r}][{group!r}]", value)
        out[attr] = {str(g): float(v) for g, v in groups.items()}
    return out


def _check_start(start: object) -> int:
    if not isinstance(start, datetime):
        raise GigshiftError(f"{_CALLER}: start must be a datetime; got {start!r}")
    aware = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    return (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# ----------------------------------------------------------------------------------------------
# vectorised helpers


def _draw(rng: np.random.Generator, cum: np.ndarray, n: int) -> np.ndarray:
    """n indices drawn with cumulative probabilities ``cum`` (last entry may be < 1: index len(cum))."""
    return np.searchsorted(cum, rng.random(n), side="right")


def _ids(prefix: str, n: int) -> pl.Series:
    width = max(len(str(n)), 1)
    return pl.select(pl.concat_str(pl.lit(prefix), pl.int_range(1, n + 1).cast(pl.String).str.zfill(width))).to_series()


def _labels(values: Sequence[str | None], index: np.ndarray) -> pl.Series:
    """``values[index]`` as a String Series (a None in ``values`` gives a null)."""
    return pl.Series(values=list(values), dtype=pl.String).gather(index)


def _lists(values: pl.Series, counts: np.ndarray) -> pl.Series:
    """A List(String) Series from flat values and per-row counts."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    arrow = pa.LargeListArray.from_arrays(pa.array(offsets), values.to_arrow().cast(pa.large_string()))
    return pl.Series(arrow).cast(pl.List(pl.String))


def _datetimes(us: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(us.astype(np.int64)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if null is not None:
        s = pl.select(pl.when(pl.Series(null)).then(None).otherwise(s)).to_series()
    return s.cast(UTC_DATETIME)


def _pick_skills(
    rng: np.random.Generator, cats: np.ndarray, n_owned: np.ndarray, n_keep: np.ndarray, catalog: _Catalog
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct skills per row: each draw picks one of the row's categories, then a skill by weight.

    ``cats`` is (rows, slots) with the row's categories in its first ``n_owned`` slots. Returns the
    flat skill ids (row-major) and the count kept per row (at most ``n_keep``).
    """
    rows = cats.shape[0]
    draws = int(n_keep.max(initial=0)) + 4  # a few spare draws make up for repeats
    # (draws, rows) layout: each draw is one contiguous vector over rows, which keeps the loops fast
    shape = (draws, rows)
    owned = n_owned.astype(np.int32)
    slot = np.minimum((rng.random(shape, dtype=np.float32) * owned).astype(np.int32), owned - 1)
    picked_cat = np.take_along_axis(np.ascontiguousarray(cats.T, dtype=np.int32), slot, axis=0)
    # Walker's alias method: a uniform slot of the category's vocabulary, kept or swapped for its alias
    lo = catalog.vocab_offsets[picked_cat]
    size = catalog.vocab_offsets[picked_cat + 1] - lo
    slot_in = lo + np.minimum((rng.random(shape, dtype=np.float32) * size).astype(np.int32), size - 1)
    accept = rng.random(shape, dtype=np.float32) < catalog.vocab_prob[slot_in]
    skill = catalog.vocab_ids[np.where(accept, slot_in, lo + catalog.vocab_alias[slot_in])]
    fresh = np.ones(shape, dtype=bool)
    for j in range(1, draws):
        seen = np.zeros(rows, dtype=bool)
        for i in range(j):
            seen |= skill[i] == skill[j]
        fresh[j] = ~seen
    keep = fresh & (np.cumsum(fresh, axis=0, dtype=np.int32) <= n_keep)
    return skill.T[keep.T], keep.sum(axis=0)


def _popularity(rng: np.random.Generator, chosen: list[int], catalog: _Catalog, on_location_share: float) -> np.ndarray:
    """Category popularity: OLI class shares for online work, ``on_location_share`` for on-location work,
    and a Zipf fall-off over a seeded order of the categories within each class."""
    classes = [catalog.classes[i] for i in chosen]
    online = catalog.is_online[chosen]
    has_online, has_local = bool(online.any()), bool((~online).any())
    class_weight: dict[str, float] = {}
    online_classes = {c for c, o in zip(classes, online, strict=True) if o}
    online_total = sum(OLI_CLASS_SHARES.get(c, 0.05) for c in online_classes)
    for cls in set(classes):
        if cls in online_classes:
            share = 1.0 - on_location_share if has_local else 1.0
            class_weight[cls] = share * OLI_CLASS_SHARES.get(cls, 0.05) / online_total
        else:
            class_weight[cls] = on_location_share if has_online else 1.0
    local_classes = [c for c in set(classes) if c not in online_classes]
    for cls in local_classes:  # several on-location classes would share on_location_share
        class_weight[cls] /= len(local_classes)
    pop = np.zeros(len(chosen))
    for cls in sorted(set(classes)):
        members = np.flatnonzero(np.array(classes) == cls)
        ranks = rng.permutation(len(members))
        w = 1.0 / (ranks + 1.0) ** ZIPF_EXPONENT
        pop[members] = class_weight[cls] * w / w.sum()
    return pop / pop.sum()


# ----------------------------------------------------------------------------------------------


def synthetic(
    *,
    n_workers: int = 1000,
    n_tasks: int = 200,
    n_clients: int | None = None,
    categories: Sequence[str] | None = None,
    group_shares: Mapping[str, Mapping[str, float]] | None = None,
    rating_bias: Mapping[str, Mapping[str, float]] | None = None,
    rate_bias: Mapping[str, Mapping[str, float]] | None = None,
    n_areas: int = 20,
    bids_per_task: float = 8.0,
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC),
    on_location_share: float = 0.3,
    seed: int | None = None,
) -> Market:
    """Draw a synthetic gig market on the atlas categories: workers, clients, tasks and bids.

    Parameters
    ----------
    n_workers, n_tasks : int, default=1000, 200
        Table sizes (>= 1).
    n_clients : int, optional
        Number of clients; default one per five tasks (at least one).
    categories : list of str, optional
        Category slugs to restrict the market to; default every atlas category.
    group_shares : dict, optional
        ``{attribute: {group: share of all workers}}`` for ``sex``, ``race_ethnicity``, ``age_band``
        and ``country``; shares are >= 0 and sum to at most 1, the remainder is not disclosed (null).
        A given attribute replaces its default; see Notes.
    rating_bias : dict, optional
        ``{attribute: {group: stars}}``: added to every client rating of that group's workers before
        averaging and capping to [1, 5], e.g. ``{"sex": {"female": -0.25}}``.
    rate_bias : dict, optional
        ``{attribute: {group: factor}}``: multiplies the hourly rate of that group's workers, e.g.
        ``{"sex": {"female": 0.9}}``.
    n_areas : int, default=20
        Number of areas (``area-01`` ...) of the on-location market, with skewed sizes.
    bids_per_task : float, default=8.0
        Mean of the Poisson number of bids per task (fewer when few workers are eligible).
    start : datetime, default=2026-01-05 00:00 UTC
        Start of the posting week (naive: UTC).
    on_location_share : float, default=0.3
        Share of demand (and supply) in on-location categories, when the market has both modes.
    seed : int, optional
        Seed of the root ``numpy.random.SeedSequence``; None draws fresh entropy, recorded in
        ``provenance.seed`` so the market can be regenerated.

    Returns
    -------
    Market
        Tables that pass ``validate`` and ``check_references``. Workers' ``categories`` lists the
        worker's main category first (its hourly rate is anchored on it). Workers carry the group
        columns ``sex``, ``race_ethnicity``, ``age_band`` and ``country`` (null: not disclosed).

    Raises
    ------
    GigshiftError
        A bad parameter: a size below 1, an unknown category, attribute, group or country, shares
        summing above 1, a non-finite bias or a rate factor <= 0.

    Notes
    -----
    - **Demand.** Online classes get their share of online vacancies in the Online Labour Index
      (Sep 2023 - Aug 2024), on-location categories ``on_location_share``; within a class popularity
      falls off as ``1 / rank**0.8`` over a seeded order. Supply follows the same popularity.
    - **Workers** list 1-3 categories (a second or third one shares the first one's class with
      probability 0.75). Experience ``n_jobs_completed`` is 0 for 30% and otherwise
      ``1 + floor(LogNormal(log 6, 1.4))`` (heavy-tailed). Skills: 3-12 distinct names (more with
      experience) from the vocabularies of their categories: the 30 leading O*NET technology skills
      (by weight, hot, in demand; 70% of draws) and the 8 most important O*NET skills (30%).
    - **Rates** are anchored on BLS: the occupation-weighted median of the category's occupations'
      median hourly wage (May 2025 OEWS; the median of all anchors when none is published), times a
      country multiplier for online work (an assumption standing for global supply: 0.33 for
      Bangladesh to 1.0 for the United States, mean about 0.5), times ``LogNormal(0, 0.45)``,
      times ``1 + 0.04 log(1 + n_jobs_completed)``, times ``rate_bias``. On-location work happens in
      one US metro at the BLS wage level.
    - **Ratings**: a latent quality ``4.95 - Gamma(1.3, 0.22)`` plus ``rating_bias``; each of the
      worker's ``n_jobs_completed`` client ratings adds ``Normal(0, 0.6)`` noise; the mean is capped to
      [1, 5] and rounded to 0.01. Null for workers without a completed job. Because of the cap at 5,
      the observed gap between groups is slightly smaller than the planted shift (about 0.22 for -0.25).
    - **Groups** are drawn independently of everything else, so any rating or rate gap between them
      is the planted bias plus noise (country aside: it sets the online rate multiplier). Workers
      with an on-location category live in the local US market (country United States).
    - **Tasks**: client by skewed activity (``LogNormal(0, 1.2)`` weights), category by popularity,
      ``expected_hours`` ``LogNormal(log 5, 0.8)`` online and ``LogNormal(log 2.5, 0.45)`` on location
      (quarter hours), ``budget_usd`` = anchor x online multiplier mean x hours x ``LogNormal(0, 0.35)``,
      ``posted_at`` uniform over the week from ``start``, 1-3 required skills from the category's
      vocabulary. **Bids**: ``Poisson(bids_per_task)`` draws among available workers (capacity > 0)
      of the task's category, and of its area for on-location tasks, repeats dropped; ``price_usd``
      = worker rate x hours x ``LogNormal(0, 0.2)``.

    Examples
    --------
    >>> market = synthetic(n_workers=200, n_tasks=40, seed=7)
    >>> market.counts()["workers"], market.counts()["tasks"]
    (200, 40)
    >>> market.workers.equals(synthetic(n_workers=200, n_tasks=40, seed=7).workers)
    True
    """
    n_workers = check_positive_int("n_workers", n_workers, caller=_CALLER)
    n_tasks = check_positive_int("n_tasks", n_tasks, caller=_CALLER)
    n_clients = max(1, math.ceil(n_tasks / 5)) if n_clients is None else n_clients
    n_clients = check_positive_int("n_clients", n_clients, caller=_CALLER)
    n_areas = check_positive_int("n_areas", n_areas, caller=_CALLER)
    bids_per_task = _number("bids_per_task", bids_per_task, low=0.0)
    on_location_share = _number("on_location_share", on_location_share, low=0.0, high=1.0)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise GigshiftError(f"{_CALLER}: seed must be an integer >= 0 or None; got {seed!r}")
    start_us = _check_start(start)
    catalog = _catalog()
    chosen = _check_categories(categories, catalog)
    shares = _check_group_shares(group_shares)
    rating_shift = _check_bias("rating_bias", rating_bias, shares, factor=False)
    rate_factor = _check_bias("rate_bias", rate_bias, shares, factor=True)

    root = np.random.SeedSequence(seed)
    rng_pop, rng_clients, rng_workers, rng_tasks, rng_bids = (np.random.default_rng(s) for s in root.spawn(5))
    pop = _popularity(rng_pop, chosen, catalog, on_location_share)
    area_w = 1.0 / np.arange(1, n_areas + 1) ** 0.7
    area_cum = np.cumsum(area_w / area_w.sum())
    area_names = [f"area-{i:0{max(2, len(str(n_areas)))}d}" for i in range(1, n_areas + 1)]

    workers = _workers(
        rng_workers, n_workers, chosen, pop, catalog, shares, rating_shift, rate_factor, area_cum, start_us
    )
    clients, client_cum = _clients(rng_clients, n_clients)
    online_factor = _online_factor(shares)
    tasks = _tasks(rng_tasks, n_tasks, chosen, pop, catalog, client_cum, area_cum, start_us, online_factor)

    bids = _bids(rng_bids, workers, tasks, catalog.is_online, n_areas, bids_per_task)
    ids = {
        "worker": _ids("w", n_workers),
        "task": _ids("t", n_tasks),
        "client": _ids("c", n_clients),
    }
    worker_frame = _worker_frame(workers, ids["worker"], catalog, area_names)
    client_frame = pl.DataFrame({"client_id": ids["client"], "country": clients})
    task_frame = _task_frame(tasks, ids, catalog, area_names)
    bid_frame = pl.DataFrame(
        {
            "task_id": ids["task"].gather(bids["task"]),
            "worker_id": ids["worker"].gather(bids["worker"]),
            "price_usd": bids["price_usd"],
            "bid_at": _datetimes(bids["bid_at_us"]),
        },
        schema=SCHEMAS["bids"],
    )
    parameters = {
        "n_workers": n_workers,
        "n_tasks": n_tasks,
        "n_clients": n_clients,
        "categories": [catalog.slugs[i] for i in chosen] if categories is not None else None,
        "group_shares": shares,
        "rating_bias": rating_shift,
        "rate_bias": rate_factor,
        "n_areas": n_areas,
        "bids_per_task": bids_per_task,
        "start": datetime.fromtimestamp(start_us / 1e6, tz=UTC).isoformat(),
        "on_location_share": on_location_share,
    }
    from gigshift.taxonomy import all_sources

    provenance = Provenance(
        sources=(*(s for s in all_sources() if s.key in ("onet", "bls_oews")), OLI),
        method=(
            "synthetic market (gigshift.market.synthetic): atlas categories; rates anchored on BLS OEWS median "
            "hourly wages; online demand by OLI class shares; skills from O*NET; assumed worker-country table"
        ),
        gigshift_version=gigshift.__version__,
        seed=int(root.entropy),  # type: ignore[arg-type]
        extra={k: json.dumps(v, sort_keys=True) for k, v in parameters.items()},
    )
    return Market(workers=worker_frame, clients=client_frame, tasks=task_frame, bids=bid_frame, provenance=provenance)


def _online_factor(shares: dict[str, dict[str, float]]) -> float:
    """Mean country multiplier of online workers: what clients pay relative to the US level."""
    country = shares["country"]
    total = sum(country.values())
    if total <= 0:
        country, total = {k: v[0] for k, v in WORKER_COUNTRIES.items()}, 1.0
    return sum(v * WORKER_COUNTRIES[k][2] for k, v in country.items()) / total


def _workers(
    rng: np.random.Generator,
    n: int,
    chosen: list[int],
    pop: np.ndarray,
    catalog: _Catalog,
    shares: dict[str, dict[str, float]],
    rating_shift: dict[str, dict[str, float]],
    rate_factor: dict[str, dict[str, float]],
    area_cum: np.ndarray,
    start_us: int,
) -> dict[str, object]:
    chosen_arr = np.array(chosen)
    classes = np.array([catalog.classes[i] for i in chosen])
    pop_cum = np.cumsum(pop)
    pop_cum[-1] = 1.0
    # categories: slot 0 by popularity; slots 1-2 mostly within the first one's class
    n_slots = _draw(rng, np.cumsum([0.55, 0.30, 0.15])[:-1], n) + 1
    slots = np.full((n, 3), -1, dtype=np.int64)
    slots[:, 0] = np.minimum(_draw(rng, pop_cum, n), len(chosen) - 1)
    first_class = classes[slots[:, 0]]
    for j in (1, 2):
        same = rng.random(n) < SAME_CLASS
        anywhere = np.minimum(_draw(rng, pop_cum, n), len(chosen) - 1)
        within = anywhere.copy()
        for cls in sorted(set(classes.tolist())):
            members = np.flatnonzero(classes == cls)
            mask = same & (first_class == cls)
            cum = np.cumsum(pop[members] / pop[members].sum())
            within[mask] = members[np.minimum(_draw(rng, cum, int(mask.sum())), len(members) - 1)]
        pick = np.where(same, within, anywhere)
        repeat = (pick[:, None] == slots[:, :j]).any(axis=1)
        slots[:, j] = np.where((n_slots > j) & ~repeat, pick, -1)
    # compact: valid slots first, in order
    valid = slots >= 0
    order = np.argsort(~valid, axis=1, kind="stable")
    slots = np.take_along_axis(slots, order, axis=1)
    n_cats = valid.sum(axis=1)
    cat_idx = np.where(slots >= 0, chosen_arr[np.maximum(slots, 0)], -1)  # catalog indices
    online = np.where(cat_idx >= 0, catalog.is_online[np.maximum(cat_idx, 0)], False)
    local = (cat_idx >= 0) & ~online
    has_online, has_local = online.any(axis=1), local.any(axis=1)

    n_jobs = np.where(
        rng.random(n) < NEW_WORKER_SHARE, 0, 1 + np.floor(rng.lognormal(math.log(6), 1.4, n)).astype(np.int64)
    )
    rated = n_jobs > 0

    # group attributes, independent of everything else; countries: online-only workers come from the
    # global supply table, workers with on-location categories live in the local (US) market
    groups: dict[str, tuple[list[str | None], np.ndarray]] = {}
    for attr in GROUP_ATTRIBUTES:
        names = list(shares[attr])
        if attr == "country":
            if sum(shares[attr].values()) <= 0:  # nobody discloses: true countries still follow the table
                names = list(WORKER_COUNTRIES)
            if LOCAL_COUNTRY not in names:
                names.append(LOCAL_COUNTRY)
            p = np.array([shares[attr].get(c, 0.0) for c in names])
            disclosed = p.sum()
            p_true = p / disclosed if disclosed > 0 else np.array([WORKER_COUNTRIES.get(c, (0.0,))[0] for c in names])
            p_true = p_true / p_true.sum()
            true = np.minimum(_draw(rng, np.cumsum(p_true), n), len(names) - 1)
            true = np.where(has_local, names.index(LOCAL_COUNTRY), true)
            idx = np.where(rng.random(n) < disclosed, true, len(names))
            groups[attr] = ([*names, None], idx)
            country_true = true
            country_names = names
        else:
            idx = _draw(rng, np.cumsum(list(shares[attr].values())), n)
            groups[attr] = ([*names, None], idx)

    shift = np.zeros(n)
    factor = np.ones(n)
    for attr, (names, idx) in groups.items():
        for group, value in rating_shift.get(attr, {}).items():
            shift[idx == names.index(group)] += value
        for group, value in rate_factor.get(attr, {}).items():
            factor[idx == names.index(group)] *= value

    quality = 4.95 - rng.gamma(1.3, 0.22, n)
    mean_noise = rng.normal(0.0, RATING_NOISE, n) / np.sqrt(np.maximum(n_jobs, 1))
    rating = np.round(np.clip(quality + shift + mean_noise, 1.0, 5.0), 2)
    reliability = np.round(rng.beta(9.0, 1.0, n), 3)

    multiplier = np.array([WORKER_COUNTRIES.get(c, (0, {}, 1.0))[2] for c in country_names])[country_true]
    multiplier = np.where(has_local, 1.0, multiplier)
    rate = (
        catalog.anchor_usd[cat_idx[:, 0]]
        * multiplier
        * rng.lognormal(0.0, RATE_SIGMA, n)
        * (1 + 0.04 * np.log1p(n_jobs))
        * factor
    )
    rate = np.maximum(np.round(rate, 2), 1.0)

    n_skills = np.clip(3 + rng.poisson(1.0 + 1.2 * np.log1p(n_jobs)), 3, 12)
    skill_ids, skill_counts = _pick_skills(rng, np.maximum(cat_idx, 0), n_cats, n_skills, catalog)

    capacity = _draw(rng, np.cumsum([0.03, 0.72, 0.17, 0.08])[:-1], n)
    area = np.where(has_local, np.minimum(_draw(rng, area_cum, n), len(area_cum) - 1), -1)

    # time zone: from the worker's country (online-only), the local market's otherwise
    tz_names: list[str] = [LOCAL_TIME_ZONE]
    tz = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    for ci, country in enumerate(country_names):
        mask = (country_true == ci) & ~has_local
        if not mask.any() or country not in WORKER_COUNTRIES:
            continue
        zones = WORKER_COUNTRIES[country][1]
        base = len(tz_names)
        tz_names.extend(zones)
        cum = np.cumsum(list(zones.values()))
        tz[mask] = base + np.minimum(np.searchsorted(cum / cum[-1], u[mask], side="right"), len(zones) - 1)

    ago = np.minimum(rng.exponential(10.0, n), 180.0) * _US_PER_DAY
    last_assigned = (start_us - ago).astype(np.int64) // 1_000_000 * 1_000_000
    return {
        "cat_idx": cat_idx,
        "n_cats": n_cats,
        "has_online": has_online,
        "area": area,
        "rate": rate,
        "n_jobs": n_jobs,
        "rated": rated,
        "rating": rating,
        "reliability": reliability,
        "capacity": capacity,
        "skill_ids": skill_ids,
        "skill_counts": skill_counts,
        "groups": groups,
        "tz_names": tz_names,
        "tz": tz,
        "last_assigned_us": last_assigned,
    }


def _worker_frame(w: dict[str, object], ids: pl.Series, catalog: _Catalog, area_names: list[str]) -> pl.DataFrame:
    cat_idx, n_cats = w["cat_idx"], w["n_cats"]
    flat_cats = cat_idx[cat_idx >= 0]  # type: ignore[index,operator]
    rated = w["rated"]
    frame = pl.DataFrame(
        {
            "worker_id": ids,
            "categories": _lists(_labels(catalog.slugs, flat_cats), n_cats),  # type: ignore[arg-type]
            "skills": _lists(_labels(catalog.skill_names, w["skill_ids"]), w["skill_counts"]),  # type: ignore[arg-type]
            "hourly_rate_usd": w["rate"],
            "rating": pl.Series(w["rating"]).set(pl.Series(~rated), None),  # type: ignore[operator]
            "n_jobs_completed": w["n_jobs"],
            "reliability": pl.Series(w["reliability"]).set(pl.Series(~rated), None),  # type: ignore[operator]
            "capacity": w["capacity"],
            "is_remote": w["has_online"],
            "location": _labels([*area_names, None], np.where(w["area"] >= 0, w["area"], len(area_names))),  # type: ignore[operator]
            "time_zone": _labels(w["tz_names"], w["tz"]),  # type: ignore[arg-type]
            "last_assigned_at": _datetimes(w["last_assigned_us"], null=~rated),  # type: ignore[arg-type,operator]
        },
        schema=SCHEMAS["workers"],
    )
    groups = w["groups"]
    return frame.with_columns(
        _labels(names, idx).alias(attr)
        for attr, (names, idx) in groups.items()  # type: ignore[attr-defined]
    )


def _clients(rng: np.random.Generator, n: int) -> tuple[pl.Series, np.ndarray]:
    names = list(CLIENT_COUNTRY_SHARES)
    cum = np.cumsum(list(CLIENT_COUNTRY_SHARES.values()))
    country = _labels(names, np.minimum(_draw(rng, cum / cum[-1], n), len(names) - 1))
    activity = rng.lognormal(0.0, 1.2, n)
    client_cum = np.cumsum(activity / activity.sum())
    client_cum[-1] = 1.0
    return country, client_cum


def _tasks(
    rng: np.random.Generator,
    n: int,
    chosen: list[int],
    pop: np.ndarray,
    catalog: _Catalog,
    client_cum: np.ndarray,
    area_cum: np.ndarray,
    start_us: int,
    online_factor: float,
) -> dict[str, np.ndarray]:
    pop_cum = np.cumsum(pop)
    pop_cum[-1] = 1.0
    cat = np.array(chosen)[np.minimum(_draw(rng, pop_cum, n), len(chosen) - 1)]
    return _task_arrays(rng, cat, catalog, client_cum, area_cum, start_us, online_factor)


def _task_arrays(
    rng: np.random.Generator,
    cat: np.ndarray,
    catalog: _Catalog,
    client_cum: np.ndarray,
    area_cum: np.ndarray,
    start_us: int,
    online_factor: float,
) -> dict[str, np.ndarray]:
    """Everything about tasks of the given categories, drawn as in ``synthetic``'s Notes."""
    n = cat.size
    client = np.minimum(_draw(rng, client_cum, n), len(client_cum) - 1)
    online = catalog.is_online[cat]
    hours = np.where(online, rng.lognormal(math.log(5.0), 0.8, n), rng.lognormal(math.log(2.5), 0.45, n))
    hours = np.maximum(np.round(hours * 4) / 4, 0.25)
    budget = catalog.anchor_usd[cat] * np.where(online, online_factor, 1.0) * hours * rng.lognormal(0.0, 0.35, n)
    budget = np.maximum(np.round(budget, 2), 5.0)
    posted = start_us + (rng.random(n) * 7 * _US_PER_DAY).astype(np.int64) // 1_000_000 * 1_000_000
    area = np.where(online, -1, np.minimum(_draw(rng, area_cum, n), len(area_cum) - 1))
    n_required = _draw(rng, np.cumsum([0.45, 0.35, 0.20])[:-1], n) + 1
    skill_ids, skill_counts = _pick_skills(rng, cat[:, None], np.ones(n, dtype=np.int64), n_required, catalog)
    return {
        "cat": cat,
        "client": client,
        "online": online,
        "hours": hours,
        "budget": budget,
        "posted_us": posted,
        "area": area,
        "skill_ids": skill_ids,
        "skill_counts": skill_counts,
    }


def synthetic_tasks(
    category_counts: Mapping[str, int],
    *,
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC),
    n_clients: int = 100,
    n_areas: int = 20,
    id_prefix: str = "t",
    seed: int | np.random.Generator | None = None,
) -> pl.DataFrame:
    """Tasks for given counts per category, drawn as ``synthetic`` draws its tasks (see its Notes).

    For callers that decide demand themselves, such as the simulator's weekly postings. Areas and
    clients are numbered as in ``synthetic`` (``area-01`` ..., ``c001`` ...), so the tasks fit a
    market drawn with the same ``n_areas`` and ``n_clients``.

    Examples
    --------
    >>> tasks = synthetic_tasks({"translation": 3, "plumbing": 2}, seed=1)
    >>> tasks.group_by("category").len().sort("category").rows()
    [('plumbing', 2), ('translation', 3)]
    """
    catalog = _catalog()
    index = {slug: i for i, slug in enumerate(catalog.slugs)}
    unknown = sorted(set(category_counts) - set(index))
    if unknown:
        raise GigshiftError(f"synthetic_tasks: unknown category {unknown[0]!r}")
    counts = []
    for slug, count in category_counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise GigshiftError(f"synthetic_tasks: the count for {slug!r} must be an integer >= 0; got {count!r}")
        counts.append((index[slug], int(count)))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(np.random.SeedSequence(seed))
    cat = np.repeat(np.array([c for c, _ in counts], dtype=np.int64), [n for _, n in counts])
    n_clients = check_positive_int("n_clients", n_clients, caller="synthetic_tasks")
    n_areas = check_positive_int("n_areas", n_areas, caller="synthetic_tasks")
    client_w = np.ones(n_clients)
    area_w = 1.0 / np.arange(1, n_areas + 1) ** 0.7
    area_names = [f"area-{i:0{max(2, len(str(n_areas)))}d}" for i in range(1, n_areas + 1)]
    arrays = _task_arrays(
        rng,
        cat,
        catalog,
        np.cumsum(client_w / client_w.sum()),
        np.cumsum(area_w / area_w.sum()),
        _check_start(start),
        _online_factor(_check_group_shares(None)),
    )
    ids = {"task": _ids(id_prefix, cat.size), "client": _ids("c", n_clients)}
    return _task_frame(arrays, ids, catalog, area_names)


def _task_frame(
    t: dict[str, np.ndarray], ids: dict[str, pl.Series], catalog: _Catalog, area_names: list[str]
) -> pl.DataFrame:
    required = _lists(_labels(catalog.skill_names, t["skill_ids"]), t["skill_counts"])
    frame = pl.DataFrame(
        {
            "task_id": ids["task"],
            "client_id": ids["client"].gather(t["client"]),
            "category": _labels(catalog.slugs, t["cat"]),
            "required_skills": required,
            "budget_usd": t["budget"],
            "expected_hours": t["hours"],
            "posted_at": _datetimes(t["posted_us"]),
            "is_remote": t["online"],
            "location": _labels([*area_names, None], np.where(t["area"] >= 0, t["area"], len(area_names))),
            "text": _labels(catalog.names, t["cat"]),
        },
        schema=SCHEMAS["tasks"],
    )
    return frame.with_columns(text=pl.format("{}: needs {}", pl.col("text"), pl.col("required_skills").list.join(", ")))


def _bids(
    rng: np.random.Generator,
    w: dict[str, object],
    t: dict[str, np.ndarray],
    is_online: np.ndarray,
    n_areas: int,
    bids_per_task: float,
) -> dict[str, np.ndarray]:
    """Bids from eligible workers: same category; same area for on-location work; capacity > 0."""
    cat_idx: np.ndarray = w["cat_idx"]  # type: ignore[assignment]
    area: np.ndarray = w["area"]  # type: ignore[assignment]
    n_workers, slots = cat_idx.shape
    n_categories = len(is_online)
    owner = np.repeat(np.arange(n_workers), slots)
    cat = cat_idx.ravel()
    keep = (cat >= 0) & np.repeat(w["capacity"] > 0, slots)  # type: ignore[operator]
    owner, cat = owner[keep], cat[keep]

    def pool_key(category: np.ndarray, where: np.ndarray) -> np.ndarray:
        # an online category is one pool; an on-location category has one pool per area
        return np.where(is_online[category], category, n_categories + category * n_areas + np.maximum(where, 0))

    pair_key = pool_key(cat, area[owner])
    pool = owner[np.argsort(pair_key, kind="stable")]
    counts = np.bincount(pair_key, minlength=n_categories * (1 + n_areas))
    starts = np.cumsum(counts) - counts

    task_key = pool_key(t["cat"], t["area"])
    size = counts[task_key]
    n_bids = np.minimum(rng.poisson(bids_per_task, len(task_key)), size)
    task = np.repeat(np.arange(len(task_key)), n_bids)
    draw = (rng.random(len(task)) * size[task]).astype(np.int64)
    worker = pool[starts[task_key[task]] + draw]
    pair = np.sort(task * n_workers + worker)  # sorted by task, then worker; repeats dropped next
    pair = pair[np.concatenate([[True], pair[1:] != pair[:-1]])] if pair.size else pair  # no bids at all: fine
    task, worker = pair // n_workers, pair % n_workers
    price = w["rate"][worker] * t["hours"][task] * rng.lognormal(0.0, 0.2, len(task))  # type: ignore[index]
    bid_at = t["posted_us"][task] + (rng.exponential(6.0, len(task)) * _US_PER_HOUR).astype(np.int64)
    return {
        "task": task,
        "worker": worker,
        "price_usd": np.maximum(np.round(price, 2), 1.0),
        "bid_at_us": bid_at // 1_000_000 * 1_000_000,
    }
