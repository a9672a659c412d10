"""Pay-algorithm changes: when a platform's pay per job, per km or per minute shifted, for whom, and by how much.

The model
---------
Platforms pay by a rate card: a job pays ``base + per_km * km + per_minute * minutes``, scaled by
the worker (some earn more per job throughout: better hours, areas, ratings) and by the job's
category, with noise (surge). A change to the algorithm moves one or more of the rates from a date,
for all workers or for some. The three metrics are the three rates: ``pay_per_job`` the base fare,
``pay_per_km`` the per-km rate, ``pay_per_minute`` the per-minute rate (a change to all three by
one factor is a change to the pay for the same job). Each worker's rates are estimated together in
one regression, so a shift in the trip mix (longer or shorter jobs, another category) moves none of
them; only a change in what the same job pays does.

The estimate, for each group (platform by default)
--------------------------------------------------
1. A baseline rate card with worker and category scales is fitted to all jobs (weighted least
   squares, weights ``1 / fitted pay ** 2`` for multiplicative noise); pay is divided by its category
   scale. Each worker-week is summarised by the sufficient statistics of the regression of pay on
   ``[1, km, minutes]``; everything after works on these small arrays (workers x weeks), with
   cumulative sums over weeks instead of loops over workers or weeks.
2. Scan. For every rate and candidate week ``tau``, each worker's change in that rate from ``tau``
   (the other rates held: a one-parameter partitioned regression, precise even though distance and
   duration go together) enters Cochran's ``Q``, standardised as ``(Q - (n - 1)) / sqrt(2 (n - 1))``:
   large when the rate moved for some workers and not others, and blind to shocks all workers share
   (a surge week). To it is added ``Z^2``, the squared step at ``tau`` in the weekly pooled rate
   (every rate free) against weekly noise estimated from successive differences: large when the
   rate moved for everyone. The best ``tau`` dates the change (Monday of its first week).
3. Significance. The weeks are permuted (one permutation for all workers and groups, so shocks a
   week's jobs share stay together); the maximum statistic over weeks, rates and groups under each
   permutation gives single-step max-T adjusted p-values (Westfall and Young, 1993). On a pool with
   no change, the chance of flagging anything is at most ``alpha`` as long as weeks are
   exchangeable without a change (no trend or seasonal cycle in the rates).
4. Attribution. A change in one rate leaks into the others' one-parameter tests, so flagged rates
   dated within a week of the strongest are only candidates: a candidate joins the strongest if,
   in each worker's full before/after fit (every rate free, nothing leaks), the rate's change of
   the workers cut against the unchanged ones stands out of its standard error by 3.
5. Who and how much. Each worker's share ``lambda`` of the change's pattern (its rates' changes) is
   again a one-parameter regression. A normal mixture of the workers' pay effects (unchanged, cut,
   raised; the model with the lowest BIC of unchanged+cut, unchanged+raised and all three; error
   inflation fitted; the unchanged part may shift by common shocks within 3 of their standard
   errors) gives the shares of workers cut and raised and each worker's chance of having been cut.
   A rate's change is the mean change of the workers cut (or raised, if more were) against the
   unchanged ones', with a 95% percentile interval from resampling workers. When the change was for
   everyone (the common step outweighs the spread between workers) there are no unchanged workers
   to compare with: the pooled change of the full fits is reported, its interval widened by the
   weekly noise.

Jobs without a distance are left out of a group whose jobs mostly have one; a group without
distances is fitted without the per-km rate. A rate that makes up under 5% of a group's baseline
pay is not tested. Only ``worker_pay`` counts: tips and bonuses are not set by the rate card.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import polars as pl

from gigshift._errors import GigshiftError
from gigshift._tables import as_polars, check_positive_int, require_columns

__all__ = ["Metric", "detect_changes"]

Metric = Literal["pay_per_job", "pay_per_km", "pay_per_minute"]
_METRICS: tuple[str, ...] = get_args(Metric)
_MIN_SHARE = 0.05  # a rate below this share of baseline pay is not tested
_MIN_CHANGE = 0.05  # a rate changing by less with a stronger one is taken for an echo of it
_Z = 1.959963984540054
_N_BOOT = 400  # resamples of workers for a change's interval, the mixture fitted to each

POOLED_SCHEMA = {
    "metric": pl.String,
    "date": pl.Date,
    "change": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "share_of_workers_cut": pl.Float64,
    "share_of_workers_raised": pl.Float64,
    "change_all_workers": pl.Float64,
    "n_workers": pl.Int64,
    "p_value": pl.Float64,
    "is_change": pl.Boolean,
}
WORKER_SCHEMA = {
    "metric": pl.String,
    "date": pl.Date,
    "change": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "prob_cut": pl.Float64,
    "is_cut": pl.Boolean,
    "worker_date": pl.Date,
}


def detect_changes(
    jobs: pl.DataFrame,
    *,
    metrics: Sequence[Metric] = ("pay_per_job", "pay_per_km", "pay_per_minute"),
    by: Sequence[str] = ("platform",),
    alpha: float = 0.05,
    min_workers: int = 11,
    min_jobs: int = 20,
    n_permutations: int = 199,
    keep_all: bool = False,
    seed: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Find changes to the pay algorithm: the date, the pooled change, and which workers were cut.

    Parameters
    ----------
    jobs : DataFrame
        Canonical job rows: ``worker_id``, the ``by`` columns, ``category``, ``start``, ``end``,
        ``distance_km`` (nullable) and ``worker_pay``. Jobs with no pay or no duration are left out.
    metrics : sequence of {"pay_per_job", "pay_per_km", "pay_per_minute"}
        The rates to test: the base fare, the per-km rate, the per-minute rate.
    by : sequence of str, default=("platform",)
        The groups with a rate card each.
    alpha : float, default=0.05
        The family-wise false-alarm rate: on a pool with no change, the chance that any group and
        rate is flagged.
    min_workers : int, default=11
        The fewest workers, with ``min_jobs`` jobs on each side of a date, a change may rest on.
    min_jobs : int, default=20
        The fewest jobs a worker needs on each side of a date to count.
    n_permutations : int, default=199
        Week permutations for the p-values (their resolution is ``1 / (n_permutations + 1)``).
    keep_all : bool, default=False
        Also return the best candidate of every group and rate tested, flagged or not.
    seed : int, optional
        Seeds the permutations and the resampling.

    Returns
    -------
    pooled : DataFrame
        One row per rate found changed (``is_change``), sorted: the ``by`` columns, ``metric``,
        ``date`` (Monday of the first week at the new rate), ``change`` (proportional change of the
        rate for the workers it changed, against those it did not, e.g. -0.15) with ``ci_lo``,
        ``ci_hi`` (95%, resampling workers), ``share_of_workers_cut``, ``share_of_workers_raised``,
        ``change_all_workers`` (mean over all workers), ``n_workers``, ``p_value`` (family-wise
        adjusted) and ``is_change``.
    workers : DataFrame
        One row per worker and rate found changed: ``worker_id``, the ``by`` columns, ``metric``,
        ``date``, ``change`` with ``ci_lo``, ``ci_hi``, ``prob_cut`` (the mixture's weight of "cut"),
        ``is_cut`` (``prob_cut > 0.5``) and ``worker_date`` (the worker's own best date).

    Examples
    --------
    Sixteen weeks of rides on one platform; from week 8 the per-km rate is cut 15% for 40% of drivers:

    >>> from datetime import UTC, datetime
    >>> rng = np.random.default_rng(1)
    >>> n = 60_000
    >>> worker, day = rng.integers(0, 60, n), rng.integers(0, 7 * 16, n)
    >>> minutes = rng.lognormal(np.log(18), 0.4, n)
    >>> km = minutes * 0.5 * rng.lognormal(0, 0.25, n)
    >>> per_km = np.where((worker < 24) & (day >= 7 * 8), 0.7 * 0.85, 0.7)
    >>> pay = (2.5 + per_km * km + 0.25 * minutes) * rng.lognormal(0, 0.08, n)
    >>> jobs = pl.DataFrame({"worker_id": worker.astype(str), "platform": "rideco", "category": "ride",
    ...                      "distance_km": km, "worker_pay": pay, "day": day, "minutes": minutes})
    >>> jobs = jobs.with_columns(start=pl.lit(datetime(2025, 1, 6, 9, tzinfo=UTC)) + pl.duration(days="day"))
    >>> jobs = jobs.with_columns(end=pl.col("start") + pl.duration(seconds=pl.col("minutes") * 60))
    >>> pooled, per_worker = detect_changes(jobs, seed=0)
    >>> pooled.select("metric", "date", pl.col("change", "share_of_workers_cut").round(2)).rows()
    [('pay_per_km', datetime.date(2025, 3, 3), -0.15, 0.4)]
    >>> int(per_worker["is_cut"].sum())
    24
    """
    jobs = as_polars(jobs, name="jobs")
    caller = "detect_changes"
    metrics = tuple([metrics] if isinstance(metrics, str) else metrics)
    if not metrics or any(m not in _METRICS for m in metrics):
        raise GigshiftError(
            f"{caller}: metrics must be a non-empty list of {', '.join(map(repr, _METRICS))}; got {metrics!r}"
        )
    by = [by] if isinstance(by, str) else list(by)
    if isinstance(alpha, bool) or not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise GigshiftError(f"{caller}: alpha must be in (0, 1); got {alpha!r}")
    check_positive_int("min_workers", min_workers, caller=caller)
    check_positive_int("min_jobs", min_jobs, caller=caller)
    check_positive_int("n_permutations", n_permutations, caller=caller)
    needed = {"worker": "worker_id", "category": "category", "start": "start", "end": "end",
              "distance": "distance_km", "pay": "worker_pay", **{f"group {b}": b for b in by}}  # fmt: skip
    require_columns(jobs, needed, source="jobs")

    groups, week_starts = _prepare(jobs, by=by)
    n_weeks = week_starts.size
    panels = [
        panel
        for key, rows in groups
        if (panel := _panel(key, rows, n_weeks=n_weeks, metrics=metrics, min_jobs=min_jobs)) is not None
    ]
    root = np.random.SeedSequence(seed)
    perm_rng, boot_rng = (np.random.default_rng(s) for s in root.spawn(2))
    options = {"min_workers": min_workers, "min_jobs": min_jobs}

    identity = np.arange(n_weeks)
    # one draw per permutation (cheap); each group's scan then runs over the weeks' own order and all
    # permutations at once
    orders = np.array([perm_rng.permutation(n_weeks) for _ in range(n_permutations)]).reshape(n_permutations, n_weeks)
    observed, top = [], np.full(n_permutations, -np.inf)
    for p in panels:
        stats = _scan(p, np.vstack([identity, orders]), **options)
        observed.append(_best(stats[0]))
        top = np.maximum(top, stats[1:].max(axis=(1, 2), initial=-np.inf))
    exceed = [(top[:, None] >= best[None, :]).sum(axis=0) for best, _ in observed]

    pooled_rows: list[dict] = []
    worker_rows: list[pl.DataFrame] = []
    for i, panel in enumerate(panels):
        best, where = observed[i]
        p_values = (1.0 + exceed[i]) / (n_permutations + 1.0)
        for rates, flagged in _events(best, where, p_values, alpha=alpha, keep_all=keep_all):
            tau = int(where[rates[0]])
            parts = {panel.component[j]: _parts(panel, panel.component[j], identity, min_jobs=min_jobs) for j in rates}
            # the common step's error at the date, proportional: weekly sampling noise plus common shocks
            noise = {c: float(part.error[tau - 1] / panel.rate[c]) for c, part in parts.items()}
            # how far the pay level of every worker may shift at the date by shocks they all share
            level_sd = float(_step(panel.level, panel.level_var)[2][tau - 1])
            lead = parts[panel.component[rates[0]]]
            z, q_norm = lead.z[tau - 1], lead.q_norm[tau - 1]
            everyone = bool(abs(z) >= 3.0 and z**2 >= max(q_norm, 0.0) * 4.0)
            found = _describe(
                panel, [panel.component[j] for j in rates], tau, noise=noise, level_sd=level_sd,
                everyone=everyone, rng=boot_rng, min_jobs=min_jobs,
            )  # fmt: skip
            if found is None:
                continue
            date = week_starts[tau].astype(object)
            for j in rates:
                c = panel.component[j]
                if c not in found.pooled:  # flagged only through the lead rate's change leaking into its test
                    continue
                pooled_rows.append({**panel.key, "metric": panel.tested[j], "date": date, **found.pooled[c],
                                    "p_value": float(p_values[j]), "is_change": flagged})  # fmt: skip
                if flagged:
                    frame = pl.DataFrame({"worker_id": panel.workers[found.valid], **found.per_worker[c],
                                          "worker_date": week_starts[found.worker_tau]})  # fmt: skip
                    worker_rows.append(
                        frame.with_columns(
                            *[pl.lit(panel.key[b], dtype=jobs.schema[b]).alias(b) for b in by],
                            pl.lit(panel.tested[j]).alias("metric"),
                            pl.lit(date, dtype=pl.Date).alias("date"),
                        )
                    )
    return _tables(pooled_rows, worker_rows, jobs=jobs, by=by)


def _events(
    best: np.ndarray, where: np.ndarray, p_values: np.ndarray, *, alpha: float, keep_all: bool
) -> Iterator[tuple[list[int], bool]]:
    """Tested rates grouped into changes, strongest first: flagged rates dated within a week of the
    strongest are candidates to have changed with it (:func:`_describe` decides)."""
    finite = np.isfinite(best)
    flagged = [int(j) for j in np.argsort(-best, kind="stable") if finite[j] and p_values[j] <= alpha]
    while flagged:
        lead = flagged[0]
        members = [j for j in flagged if abs(int(where[j]) - int(where[lead])) <= 1]
        flagged = [j for j in flagged if j not in members]
        yield members, True
    if keep_all:
        for j in np.flatnonzero(finite & (p_values > alpha)):
            yield [int(j)], False


# --------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class _Rows:
    """One group's jobs as arrays, in one order whatever the input's: by worker, week, then values."""

    workers: np.ndarray  # worker ids, one per worker code
    worker: np.ndarray  # each job's worker code (ids' order, sorted)
    week: np.ndarray  # each job's week index
    category: np.ndarray  # each job's category code (categories sorted)
    minutes: np.ndarray
    km: np.ndarray  # NaN where the job has no distance
    pay: np.ndarray


def _prepare(jobs: pl.DataFrame, *, by: list[str]) -> tuple[list[tuple[dict, _Rows]], np.ndarray]:
    """Each group's jobs with pay and duration (key, arrays), sorted by key; the weeks' Mondays."""
    table = jobs.select(
        *[pl.col(b) for b in by],
        pl.col("worker_id").cast(pl.String),
        pl.col("category").cast(pl.String).fill_null("(none)"),
        pl.col("start").dt.truncate("1w").dt.date().alias("week"),
        ((pl.col("end") - pl.col("start")).dt.total_seconds(fractional=True) / 60.0).alias("minutes"),
        pl.col("distance_km").cast(pl.Float64).alias("km"),
        pl.col("worker_pay").cast(pl.Float64).alias("pay"),
    ).filter(
        (pl.col("pay") > 0) & (pl.col("minutes") > 0) & pl.col("week").is_not_null() & pl.col("worker_id").is_not_null()
    )
    if table.height == 0:
        return [], np.array([], dtype="datetime64[D]")
    first, last = table["week"].min(), table["week"].max()
    week_starts = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1, 7).astype("datetime64[D]")
    # each column's values, sorted, and the codes of the jobs' values among them (nulls last), in parallel
    coded = [*by, "worker_id", "category"]
    found = table.select(pl.col(c).drop_nulls().unique().sort().implode().alias(f"_{i}") for i, c in enumerate(coded))
    levels = [found.to_series(i)[0] for i in range(len(coded))]

    def code(i: int) -> pl.Expr:
        name, level = coded[i], levels[i]
        if table.schema[name] == pl.String:
            as_code = pl.col(name).cast(pl.Enum(level)).to_physical()
        else:
            as_code = pl.col(name).rank("dense") - 1
        return as_code.cast(pl.Int64).fill_null(level.len()).alias(f"_{i}")

    codes = table.select(
        *[code(i) for i in range(len(coded))],
        ((pl.col("week") - pl.lit(first)).dt.total_days() // 7).cast(pl.Int64).alias("_week"),
        "minutes",
        pl.col("km").fill_null(np.nan),
        "pay",
    )
    arrays = [codes.to_series(i).to_numpy() for i in range(codes.width)]
    group, keys = _group_codes(arrays[: len(by)], levels[: len(by)], by, size=table.height)
    worker, category, week, minutes, km, pay = arrays[len(by) :]
    worker_ids = levels[len(by)]
    order = _canonical_order(group, worker, week, category, minutes, km, pay, n_weeks=week_starts.size)
    group, worker, week, category, minutes, km, pay = (
        a[order] for a in (group, worker, week, category, minutes, km, pay)
    )
    bounds = np.searchsorted(group, np.arange(len(keys) + 1))
    names = worker_ids.to_numpy()
    groups = []
    for i, key in enumerate(keys):  # one pass per group (platform): a handful
        rows = slice(bounds[i], bounds[i + 1])
        groups.append((key, _Rows(workers=names, worker=worker[rows], week=week[rows], category=category[rows],
                                  minutes=minutes[rows], km=km[rows], pay=pay[rows])))  # fmt: skip
    return groups, week_starts


def _group_codes(
    codes: list[np.ndarray], levels: list[pl.Series], by: list[str], *, size: int
) -> tuple[np.ndarray, list[dict]]:
    """Each job's group (0, 1, ... in the order of the groups' keys, nulls last) and the groups' keys, from
    the codes of the jobs' values of each ``by`` column among that column's sorted ``levels``."""
    sizes = [level.len() + 1 for level in levels]  # the last code: null
    n_keys = math.prod(sizes)
    if n_keys > 4 * size + 65_536:  # far more combinations than jobs: sort them
        rows, group = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
        group = group.ravel()
    else:
        combined = np.ravel_multi_index(codes, sizes) if codes else np.zeros(size, dtype=np.int64)
        present = np.flatnonzero(np.bincount(combined, minlength=n_keys))
        lookup = np.zeros(n_keys, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        group, rows = lookup[combined], np.stack(np.unravel_index(present, sizes), axis=1)
    values = [[*level.to_list(), None] for level in levels]
    keys = [{b: values[j][i] for j, (b, i) in enumerate(zip(by, row, strict=True))} for row in rows.tolist()]
    return group, keys


def _canonical_order(
    group: np.ndarray,
    worker: np.ndarray,
    week: np.ndarray,
    category: np.ndarray,
    minutes: np.ndarray,
    km: np.ndarray,
    pay: np.ndarray,
    *,
    n_weeks: int,
) -> np.ndarray:
    """An order of the jobs that does not depend on the input's, so that every sum, and so every figure,
    comes out the same to the last bit: by group, worker and week, then by a 64-bit hash of the values.

    A counting sort by cell (group, worker, week), then each cell's jobs by hash (compiled). Two jobs of
    one cell with the same hash but other values would keep the input's order, so then the values
    themselves sort them, as they do when there are far more cells than jobs to count them in.
    """
    cell = (group * (worker.max() + 1) + worker) * max(n_weeks, 1) + week
    n_cells = int(cell.max()) + 1
    if n_cells > 4 * cell.size + 65_536:
        return np.lexsort((category, pay, np.nan_to_num(km, nan=-1.0), minutes, cell))
    from gigshift.pay._kernels import order_by_cell_and_hash

    order, same = order_by_cell_and_hash(cell, minutes, km, pay, category, n_cells)
    if same.size:
        a, b = order[same], order[same + 1]
        values = (minutes, np.nan_to_num(km, nan=-1.0), pay, category)
        if any((v[a] != v[b]).any() for v in values):
            return np.lexsort((category, pay, np.nan_to_num(km, nan=-1.0), minutes, cell))
    return order


@dataclass(frozen=True, slots=True)
class _Panel:
    """One group's worker-week sufficient statistics of the rate-card regression, and each worker's full fit."""

    key: dict
    workers: np.ndarray  # worker ids, one per row of the arrays
    xx: np.ndarray  # (workers, weeks, k, k) sum of w x x'
    xy: np.ndarray  # (workers, weeks, k) sum of w x y
    yy: np.ndarray  # (workers, weeks) sum of w y^2
    n: np.ndarray  # (workers, weeks) jobs
    inv: np.ndarray  # (workers, k, k) inverse of the worker's whole-period x'x
    beta: np.ndarray  # (workers, k) the worker's rates over the whole period
    rss: np.ndarray  # (workers,) their weighted residual sum of squares
    share: np.ndarray  # (k,) each rate's share of the group's baseline pay
    rate: np.ndarray  # (k,) the group's rates (jobs-weighted mean of the workers')
    weekly: np.ndarray  # (weeks, k) each week's pooled change in each rate against the workers' fits
    weekly_var: np.ndarray  # (weeks, k) its sampling variance (inf for a week without enough jobs)
    level: np.ndarray  # (weeks,) each week's pooled proportional shift of all pay against the workers' fits
    level_var: np.ndarray  # (weeks,) its sampling variance
    component: tuple[int, ...]  # the column of x of each tested rate
    tested: tuple[str, ...]  # the tested metrics, in the order of ``component``


def _panel(key: dict, rows: _Rows, *, n_weeks: int, metrics: tuple[str, ...], min_jobs: int) -> _Panel | None:
    from gigshift.pay._kernels import cell_moments  # Numba: imported when first needed

    known = ~np.isnan(rows.km)
    has_km = bool(known.mean() >= 0.5)
    keep = known if has_km and not known.all() else slice(None)
    worker, week, category = rows.worker[keep], rows.week[keep], rows.category[keep]
    minutes, km, pay = rows.minutes[keep], rows.km[keep], rows.pay[keep]
    if pay.size < 2 * min_jobs:
        return None
    names = ["pay_per_job", "pay_per_km", "pay_per_minute"] if has_km else ["pay_per_job", "pay_per_minute"]
    # unit means: comparable scales, better conditioning
    columns = [v / max(float(v.mean()), 1e-12) for v in ([km, minutes] if has_km else [minutes])]
    x = np.column_stack([np.ones(pay.size), *columns])
    means = np.array([1.0, *(float(v.mean()) for v in columns)])
    # jobs come sorted by worker: codes from where it changes
    new_worker = np.r_[True, worker[1:] != worker[:-1]]
    worker_ids = rows.workers[worker[new_worker]]
    worker = np.cumsum(new_worker) - 1
    present = np.bincount(category) > 0
    category = (np.cumsum(present) - 1)[category]
    rates, fitted, cat_scale = _baseline(x, pay, worker=worker, category=category)
    share = rates * means / float(means @ rates)  # the mean of x @ rates is means @ rates
    tested = [(names.index(m), m) for m in metrics if m in names and share[names.index(m)] >= _MIN_SHARE]
    if not tested:
        return None
    y = pay / cat_scale[category]
    w = 1.0 / np.maximum(fitted, 1e-12) ** 2
    k = x.shape[1]
    xx, xy, yy, n = cell_moments(x, y, w, worker * n_weeks + week, worker_ids.size * n_weeks)
    xx, xy = xx.reshape(worker_ids.size, n_weeks, k, k), xy.reshape(worker_ids.size, n_weeks, k)
    yy, n = yy.reshape(worker_ids.size, n_weeks), n.reshape(worker_ids.size, n_weeks)
    inv = np.linalg.pinv(xx.sum(axis=1), hermitian=True)  # one small inverse per worker, batched
    beta = np.einsum("wij,wj->wi", inv, xy.sum(axis=1))
    rss = np.maximum(yy.sum(axis=1) - np.einsum("wi,wi->w", beta, xy.sum(axis=1)), 0.0)
    jobs_per_worker = n.sum(axis=1)
    rate = np.average(beta, axis=0, weights=jobs_per_worker)
    sigma2 = rss / np.maximum(jobs_per_worker - k, 1)
    weekly, weekly_var, level, level_var = _weekly(xx, xy, n, beta=beta, sigma2=sigma2, min_jobs=3 * k)
    return _Panel(
        key=key,
        workers=worker_ids,
        xx=xx,
        xy=xy,
        yy=yy,
        n=n,
        inv=inv,
        beta=beta,
        rss=rss,
        share=share,
        rate=rate,
        weekly=weekly,
        weekly_var=weekly_var,
        level=level,
        level_var=level_var,
        component=tuple(c for c, _ in tested),
        tested=tuple(m for _, m in tested),
    )


def _weekly(
    xx: np.ndarray, xy: np.ndarray, n: np.ndarray, *, beta: np.ndarray, sigma2: np.ndarray, min_jobs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each week's pooled change in the rates, and in the level of all pay, against the workers' fits.

    All workers' residuals against their own whole-period fits are regressed on x together
    (precision weights ``1 / sigma_i^2``) for the rates, and on the fitted pay for the level.
    """
    weight = np.where(sigma2 > 0, 1.0 / np.where(sigma2 > 0, sigma2, 1.0), 0.0)
    resid = xy - np.einsum("wtij,wj->wti", xx, beta)  # x' r per worker-week
    a = np.einsum("w,wtij->tij", weight, xx)
    b = np.einsum("w,wti->ti", weight, resid)
    inv, relative = _inverse(a)
    ok = (n.sum(axis=0) >= min_jobs) & (relative > 1e-9)
    g = np.einsum("tij,tj->ti", inv, b)
    var = np.diagonal(inv, axis1=-2, axis2=-1)
    ff = np.einsum("w,wi,wtij,wj->t", weight, beta, xx, beta)  # fitted' fitted
    fr = np.einsum("w,wi,wti->t", weight, beta, resid)  # fitted' residual
    level_ok = ok & (ff > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        level, level_var = np.where(level_ok, fr / ff, 0.0), np.where(level_ok, 1.0 / ff, np.inf)
    return (
        np.where(ok[:, None], g, 0.0),
        np.where(ok[:, None] & (var > 0), var, np.inf),
        level,
        level_var,
    )


def _baseline(
    x: np.ndarray, pay: np.ndarray, *, worker: np.ndarray, category: np.ndarray, rounds: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate card, fitted pay and category scales: pay ~ worker scale * category scale * (x @ rates).

    Each round sets the worker scales (mean log ratio of pay to the card over the worker's jobs,
    less their categories' scales), then the category scales likewise, then refits the rates. The
    scales' means come from sums per worker and category, so a round passes over the jobs only for
    the card's log and the weighted fit.
    """
    from gigshift.pay._kernels import card_log_ratio, card_normal_equations

    n_cat = category.max() + 1
    cell = worker * n_cat + category
    counts = np.bincount(cell, minlength=(worker.max() + 1) * n_cat).reshape(-1, n_cat).astype(float)
    per_worker, per_cat = np.maximum(counts.sum(axis=1), 1.0), counts.sum(axis=0)
    rates = _least_squares(x, pay)
    rates = np.maximum(rates, 1e-6 * max(rates.max(), 1e-6))
    log_worker, log_cat = np.zeros(counts.shape[0]), np.zeros(n_cat)
    log_pay = np.log(pay)
    for _ in range(rounds):  # two compiled passes over the jobs a round (gigshift.pay._kernels)
        log_ratio = card_log_ratio(x, rates, log_pay, cell, counts.size).reshape(counts.shape)
        log_worker = (log_ratio.sum(axis=1) - counts @ log_cat) / per_worker
        log_cat = (log_ratio.sum(axis=0) - counts.T @ log_worker) / np.maximum(per_cat, 1.0)
        log_cat -= per_cat @ log_cat / per_cat.sum()
        scale = np.exp(log_worker[:, None] + log_cat[None, :]).ravel()
        # weights 1 / card^2 (multiplicative noise), pay over the worker's and category's scales
        rates = np.linalg.lstsq(*card_normal_equations(x, rates, pay, scale, cell), rcond=None)[0]
        rates = np.maximum(rates, 1e-6 * max(rates.max(), 1e-6))
    return rates, (x @ rates) * np.exp(log_worker)[worker], np.exp(log_cat)  # fitted pay over its category scale


def _least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares through the normal equations: millions of rows, at most three columns (of unit mean)."""
    return np.linalg.lstsq(x.T @ x, x.T @ y, rcond=None)[0]


# --------------------------------------------------------------------------------------------------
# The scan over candidate dates


def _inverse(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and relative determinant (det / product of the diagonal) of stacked symmetric 1x1, 2x2 or
    3x3 matrices, in closed form: elementwise arithmetic over the whole stack."""
    k = a.shape[-1]
    diag = np.prod(np.diagonal(a, axis1=-2, axis2=-1), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if k == 1:
            det = a[..., 0, 0]
            inv = (1.0 / det)[..., None, None]
        elif k == 2:
            p, q, r = a[..., 0, 0], a[..., 0, 1], a[..., 1, 1]
            det = p * r - q * q
            inv = np.stack([np.stack([r, -q], -1), np.stack([-q, p], -1)], -2) / det[..., None, None]
        else:
            p, q, r = a[..., 0, 0], a[..., 0, 1], a[..., 0, 2]
            s, t, u = a[..., 1, 1], a[..., 1, 2], a[..., 2, 2]
            c00, c01, c02 = s * u - t * t, r * t - q * u, q * t - r * s
            c11, c12, c22 = p * u - r * r, q * r - p * t, p * s - q * q
            det = p * c00 + q * c01 + r * c02
            rows = [np.stack([c00, c01, c02], -1), np.stack([c01, c11, c12], -1), np.stack([c02, c12, c22], -1)]
            inv = np.stack(rows, -2) / det[..., None, None]
        relative = det / diag
    return np.nan_to_num(inv, nan=0.0, posinf=0.0, neginf=0.0), np.nan_to_num(relative, nan=0.0)


@dataclass(frozen=True, slots=True)
class _Split:
    """Every worker's rates before and after every candidate date (arrays over workers x dates)."""

    before: np.ndarray  # (workers, dates, k) rates before the date
    change: np.ndarray  # (workers, dates, k) after - before
    var: np.ndarray  # (workers, dates, k) variance of the change
    valid: np.ndarray  # (workers, dates)


def _split(panel: _Panel, order: np.ndarray, *, min_jobs: int) -> _Split:
    """Fits before and after each date ``tau`` = 1..weeks-1 (weeks in ``order``), from cumulative sums."""
    k = panel.inv.shape[-1]
    parts = []
    for a in (panel.xx, panel.xy, panel.yy, panel.n):
        cum = np.cumsum(a[:, order], axis=1)
        parts.append((cum[:, :-1], cum[:, -1:] - cum[:, :-1]))
    fits = []
    for side in (0, 1):
        xx, xy, yy, n = (p[side] for p in parts)
        inv, relative = _inverse(xx)
        beta = np.einsum("...ij,...j->...i", inv, xy)
        rss = np.maximum(yy - np.einsum("...i,...i->...", beta, xy), 0.0)
        fits.append((beta, np.diagonal(inv, axis1=-2, axis2=-1), rss, n, relative))
    (b0, d0, r0, n0, q0), (b1, d1, r1, n1, q1) = fits
    dof = n0 + n1 - 2 * k
    valid = (n0 >= min_jobs) & (n1 >= min_jobs) & (q0 > 1e-9) & (q1 > 1e-9) & (dof > 0)
    sigma2 = np.where(valid, (r0 + r1) / np.maximum(dof, 1), np.nan)
    return _Split(before=b0, change=b1 - b0, var=sigma2[..., None] * (d0 + d1), valid=valid)


def _restricted(panel: _Panel, c: int, order: np.ndarray, *, min_jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """Each worker's change ``gamma`` in rate ``c`` alone and its variance, at every split ``tau`` = 1..weeks-1.

    Pay ~ x @ rates + after * x[c] * gamma, by the partitioned regression (Frisch-Waugh-Lovell)
    against the worker's whole-period fit: only cumulative sums of one column of x'x are needed. With
    the other rates held, this is far more precise than the full before/after fit when distance and
    duration go together, but a change in another rate leaks into it; :func:`_describe` sorts that out.
    """
    k = panel.inv.shape[-1]
    col = panel.xx[..., c][:, order]  # (workers, weeks, k): column c of each week's x'x
    after_x = col.sum(axis=1, keepdims=True) - np.cumsum(col, axis=1)[:, :-1]  # x'z, z = after * x[c]
    xy_c = panel.xy[..., c][:, order]
    after_zy = xy_c.sum(axis=1, keepdims=True) - np.cumsum(xy_c, axis=1)[:, :-1]
    n = panel.n[:, order]
    n_before = np.cumsum(n, axis=1)[:, :-1]
    n_after = n.sum(axis=1, keepdims=True) - n_before
    zz = after_x[..., c]
    zmz = zz - np.einsum("wti,wij,wtj->wt", after_x, panel.inv, after_x)
    zmy = after_zy - np.einsum("wti,wi->wt", after_x, panel.beta)
    dof = n_before + n_after - k - 1
    ok = (n_before >= min_jobs) & (n_after >= min_jobs) & (zmz > 1e-9 * np.maximum(zz, 1e-300)) & (dof > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = zmy / zmz
        var = np.maximum(panel.rss[:, None] - zmy * gamma, 0.0) / dof / zmz
    ok &= np.isfinite(gamma) & np.isfinite(var) & (var > 0)
    return np.where(ok, gamma, 0.0), np.where(ok, var, np.inf)


@dataclass(frozen=True, slots=True)
class _Parts:
    """The two parts of one rate's statistic at every date."""

    q: np.ndarray  # Cochran's Q of the workers' changes
    n_valid: np.ndarray  # workers counted
    q_norm: np.ndarray  # (Q - (n - 1)) / sqrt(2 (n - 1))
    z: np.ndarray  # the common step's z-statistic
    step: np.ndarray  # the common step, in the rate's units
    error: np.ndarray  # its standard error


def _parts(panel: _Panel, c: int, order: np.ndarray, *, min_jobs: int) -> _Parts:
    g, var = _restricted(panel, c, order, min_jobs=min_jobs)
    counted = np.isfinite(var)
    w = np.where(counted, 1.0 / np.where(counted, var, 1.0), 0.0)
    n_valid = counted.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (w * g).sum(axis=0) / w.sum(axis=0)
        q = (w * (g - mean) ** 2).sum(axis=0)
        q_norm = (q - (n_valid - 1)) / np.sqrt(2.0 * (n_valid - 1))
    z, step, error = _step(panel.weekly[order, c], panel.weekly_var[order, c])
    return _Parts(q=q, n_valid=n_valid, q_norm=q_norm, z=z, step=step, error=error)


def _best(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per tested rate, the largest statistic over dates and its date ``tau`` (1-based split)."""
    if stats.shape[1] == 0:
        return np.full(stats.shape[0], -np.inf), np.ones(stats.shape[0], int)
    return stats.max(axis=1), stats.argmax(axis=1) + 1


def _scan_series(panel: _Panel) -> np.ndarray:
    """Per week, the worker sums the restricted fits of :func:`_restricted` need, stacked (weeks, series, workers).

    For each tested rate ``c``: ``x_c' x_c``, ``L' x' x_c`` (``k`` of them; ``L L'`` is the inverse
    of the worker's whole-period ``x'x``, so that ``z' x (x'x)^-1 x' z`` is a squared norm of sums),
    and the worker's ``x_c``-residual ``x_c' y - x_c' x beta``; last, the jobs. Sums over any set of
    weeks are then the after-the-date sums of the restricted regression, for any order of weeks.
    """
    mu, vectors = np.linalg.eigh(panel.inv)
    lift = vectors * np.sqrt(np.clip(mu, 0.0, None))[:, None, :]
    parts = []
    for c in panel.component:
        col = panel.xx[..., c]  # (workers, weeks, k)
        parts += [col[..., c], *np.moveaxis(np.einsum("wji,wtj->wti", lift, col), -1, 0)]
        parts.append(panel.xy[..., c] - np.einsum("wtj,wj->wt", col, panel.beta))
    parts.append(panel.n)
    return np.ascontiguousarray(np.stack(parts).transpose(2, 0, 1))


def _scan(panel: _Panel, orders: np.ndarray, *, min_workers: int, min_jobs: int) -> np.ndarray:
    """The statistic of every tested rate at every date, for each order of the weeks (a row of ``orders``):
    heterogeneity ``Q`` plus squared common step ``Z``; returns (orders, tested rates, dates), -inf where
    too few workers count.

    :func:`_parts` for many orders at once: the weekly sums of :func:`_scan_series` are added up in
    each order, and Cochran's ``Q`` follows from three sums over workers, ``sum w``, ``sum w g`` and
    ``sum w g^2``, with ``w = 1 / var`` in closed form (``w = dof zmz^2 / D``, ``w g = dof zmz zmy / D``,
    ``w g^2 = dof zmy^2 / D``, ``D = rss zmz - zmy^2``), in a compiled loop (``gigshift.pay._kernels``).
    """
    from gigshift.pay._kernels import LOCK, scan_sums

    k = panel.inv.shape[-1]
    series = _scan_series(panel)
    n_rates = len(panel.component)
    if series.shape[0] < 2:
        return np.full((orders.shape[0], n_rates, 0), -np.inf)
    dof = panel.n.sum(axis=1) - k - 1
    with LOCK:
        sums = scan_sums(series, series.sum(axis=0), np.ascontiguousarray(orders, dtype=np.int64),
                         np.ascontiguousarray(panel.rss), dof, n_rates, k, float(min_jobs))  # fmt: skip
    sw, swg, swg2, n_valid = np.moveaxis(sums, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = swg2 - swg * swg / sw
        q_norm = (q - (n_valid - 1)) / np.sqrt(2.0 * (n_valid - 1))
    z = np.stack([_steps(panel.weekly[:, c], panel.weekly_var[:, c], orders)[0] for c in panel.component], axis=1)
    stat = np.where(n_valid >= max(min_workers, 2), q_norm + z**2, -np.inf)
    return np.where(np.isnan(stat), -np.inf, stat)


def _step(series: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-statistic, size and standard error of a step in a weekly series between weeks ``< tau`` and
    ``>= tau``, every tau (:func:`_steps` in the weeks' own order)."""
    z, step, error = _steps(series, var, np.arange(series.size)[None, :])
    return z[0], step[0], error[0]


def _steps(series: np.ndarray, var: np.ndarray, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_step` for each order of the weeks (rows of ``orders``): arrays (orders, dates).

    Each week's variance is its sampling variance plus common weekly noise ``omega^2``, estimated
    from the median successive difference of the weeks with data, which one step barely moves.
    """
    observed = np.isfinite(var)
    shape = (orders.shape[0], max(series.size - 1, 0))
    if observed.sum() < 4:
        return np.zeros(shape), np.zeros(shape), np.full(shape, np.inf)
    seen = observed[orders]
    values = series[orders[seen].reshape(orders.shape[0], -1)]  # the weeks with data, in each order
    noise = (np.median(np.abs(np.diff(values, axis=1)), axis=1) / 0.6745) ** 2 / 2.0
    omega2 = np.maximum(0.0, noise - float(np.median(var[observed])))
    v = np.zeros(orders.shape)
    v[seen] = 1.0 / (var[orders][seen] + np.broadcast_to(omega2[:, None], orders.shape)[seen])
    vs = v * np.where(seen, series[orders], 0.0)  # weeks without data weigh nothing (and divide nothing)
    before_w, before_s = np.cumsum(v, axis=1)[:, :-1], np.cumsum(vs, axis=1)[:, :-1]
    after_w, after_s = v.sum(axis=1, keepdims=True) - before_w, vs.sum(axis=1, keepdims=True) - before_s
    weeks_before = np.cumsum(seen, axis=1)[:, :-1]
    weeks_after = observed.sum() - weeks_before
    with np.errstate(divide="ignore", invalid="ignore"):
        step = after_s / after_w - before_s / before_w
        error = np.sqrt(1.0 / after_w + 1.0 / before_w)
        z = step / error
    ok = (weeks_before >= 2) & (weeks_after >= 2) & np.isfinite(z)
    return np.where(ok, z, 0.0), np.where(ok, step, 0.0), np.where(ok, error, np.inf)


# --------------------------------------------------------------------------------------------------
# At the date: the pattern, each worker's share of it, the mixture, the summaries


@dataclass(frozen=True, slots=True)
class _Found:
    """A change's figures: per rate, the pooled row and the per-worker columns."""

    pooled: dict[int, dict]
    per_worker: dict[int, dict]
    valid: np.ndarray  # over the panel's workers: those described
    worker_tau: np.ndarray  # each described worker's own best date index


def _describe(
    panel: _Panel,
    rates: list[int],
    tau: int,
    *,
    noise: dict[int, float],
    level_sd: float,
    everyone: bool,
    rng: np.random.Generator,
    min_jobs: int,
) -> _Found | None:
    """Who a change at ``tau`` reached, by how much, in which rates (``rates[0]`` leads).

    1. Each worker's full before/after fit gives their proportional change in every rate (every rate
       free, so a change in one does not leak into another; noisy where distance and duration go
       together).
    2. Each worker's share ``lambda`` of a pattern of rate changes is a one-parameter regression
       (:func:`_shares`), precise; its pay effect ``u`` feeds the mixture (:func:`_mixture`), which
       says who was cut, raised or left alone; the unchanged workers' mean may move by shocks all
       workers share, with a prior of ``level_sd`` (the standard error of the level of all pay
       stepping at the date). ``everyone``: the scan found the change common to all workers (its
       common step outweighed the spread between workers), so no one is left unchanged.
    3. A rate's change, measured as the difference between the mean full-fit change of the workers
       cut (or raised, if more were) and that of the unchanged ones (who carry the shocks every
       worker shares), joins the lead's pattern if it is at least 5% and 3.5 standard errors (less
       is taken for an echo of the lead: workers classed as cut by their pay include those whose other
       rates came out low by chance). The changed workers must have moved the pool's mean full-fit
       change of the lead rate their way, where that mean stands out of the weekly noise. Step 2
       runs again with that pattern; each rate's change is then the changed workers' mean change
       along the pattern against the unchanged ones' (weighted by the mixture's responsibilities).
       For a change for everyone there are no unchanged workers to compare with: the rates' changes
       are the pooled full-fit changes. Standard errors allow for workers' changes spreading more
       than their job-level noise says.
    """
    split = _split(panel, np.arange(panel.n.shape[1]), min_jobs=min_jobs)
    i = tau - 1
    before, var = split.before[:, i], split.var[:, i]
    tested = list(panel.component)
    valid = split.valid[:, i] & np.all(before[:, tested] > 0, axis=1) & np.all(np.isfinite(var[:, tested]), axis=1)
    valid &= np.all(var[:, tested] > 0, axis=1)
    prop = {c: split.change[valid, i, c] / before[valid, c] for c in tested}
    weight = {c: before[valid, c] ** 2 / var[valid, c] for c in tested}  # 1 / variance of prop
    if valid.sum() < 2:
        return None

    def pooled_all(c: int) -> float:
        return float((weight[c] * prop[c]).sum() / weight[c].sum())

    delta = {rates[0]: pooled_all(rates[0])}
    for attempt in range(2):  # the lead alone; then the pattern of the rates that changed, as measured
        lam, se = _shares(panel, delta, tau, min_jobs=min_jobs)
        keep = np.isfinite(lam[valid]) & np.isfinite(se[valid])
        if keep.sum() < 2:
            return None
        effect = float(sum(d * panel.share[c] for c, d in delta.items()))
        effect = effect if abs(effect) > 1e-12 else -1e-12
        u, s = lam[valid][keep] * effect, se[valid][keep] * abs(effect)
        mix_weight, mix_mu, resp, kappa = _mixture(u, s, common_sd=level_sd)
        side = 1 if mix_weight[1] >= mix_weight[2] else 2
        lead_all = pooled_all(rates[0])
        direction = 1 if lead_all < 0 else 2  # the pooled change's: the changed workers moved the pool's mean
        if side != direction and abs(lead_all) > 2.0 * noise.get(rates[0], 0.0):
            mix_weight, mix_mu, resp, kappa = _mixture(u, s, common_sd=level_sd, sides=(direction,))
            side = direction
        elif mix_weight[0] >= 0.05 and _unlike_a_shock(prop, weight, keep, resp[:, 0], resp[:, side], rates[0]):
            side = 3 - side  # the group taken as unchanged moved the lead rate alone: it is the changed one
            mix_weight, mix_mu, resp, kappa = _mixture(u, s, common_sd=level_sd, sides=(side,))
        for_all = everyone or bool(mix_weight[0] < 0.05)
        if for_all:  # everyone changed, in the direction of the pooled change
            side = direction
            resp = np.zeros_like(resp)
            resp[:, side] = 1.0
            mix_weight = resp.mean(axis=0)
        against = not for_all
        r_side, r_zero = resp[:, side], (resp[:, 0] if against else np.zeros(u.size))
        change, error = {}, {}
        for c in rates:
            change[c], error[c] = _did(prop[c][keep], weight[c][keep], r_side, r_zero, for_all=for_all,
                                       noise=noise.get(c, 0.0))  # fmt: skip
        if attempt == 1:
            break
        delta = {c: change[c] for c in rates if c == rates[0] or abs(change[c]) > max(3.5 * error[c], _MIN_CHANGE)}
    rows = np.flatnonzero(valid)[keep]
    valid = np.zeros_like(valid)
    valid[rows] = True
    s_fit, s = s, s * np.sqrt(kappa)
    # sizes come from the precise one-parameter shares: lambda * delta_c is worker i's change in rate c
    # against their whole-period rate, which already mixes in part of the change (a share ``f`` of
    # their jobs came after), so against the rate before it is g = lambda delta / (1 - lambda delta f)
    n_after = panel.n[:, tau:].sum(axis=1)[valid]
    after_share = n_after / np.maximum(panel.n.sum(axis=1)[valid], 1)
    picks = rng.integers(0, u.size, (_N_BOOT, u.size))  # resample workers
    unit = np.ones(picks.shape)
    if not for_all:  # who was cut is itself estimated: the mixture is fitted again to each resample
        refit = _refit_mixture(u, s_fit, picks, weight=mix_weight, mu=mix_mu, kappa=kappa, common_sd=level_sd)
        boot_side, boot_zero = refit[..., side], (refit[..., 0] if against else np.zeros(picks.shape))
    pooled, per_worker = {}, {}
    for c, d in delta.items():
        p_c, w_c = prop[c][keep], weight[c][keep]
        g = (u / effect) * d
        g = g / np.maximum(1.0 - g * after_share, 0.05)
        if for_all:  # no unchanged workers to compare with: the pooled full-fit change
            rate_change = float((w_c * p_c).sum() / w_c.sum())
            boot = (w_c[picks] * p_c[picks]).sum(axis=1) / w_c[picks].sum(axis=1)
            boot = boot + rng.normal(0.0, noise.get(c, 0.0), boot.size)
            centre_c, all_workers = float(g.mean()) - rate_change, rate_change  # shocks leak into lambda
        else:
            rate_change = float(_did_many(g[None, :], unit[:1], r_side[None, :], r_zero[None, :])[0])
            boot = _did_many(g[picks], unit, boot_side, boot_zero)
            centre_c = float((r_zero * g).sum() / r_zero.sum()) if against else 0.0
            all_workers = float(g.mean() - centre_c)
        lo, hi = np.nanquantile(boot, [0.025, 0.975])
        pooled[c] = {
            "change": rate_change,
            "ci_lo": float(lo),
            "ci_hi": float(hi),
            "share_of_workers_cut": float(mix_weight[1]),
            "share_of_workers_raised": float(mix_weight[2]),
            "change_all_workers": all_workers,
            "n_workers": int(u.size),
        }
        half = _Z * s / np.abs(effect) * abs(d)  # the worker's error, in rate-c units
        per_worker[c] = {
            "change": g - centre_c,
            "ci_lo": g - centre_c - half,
            "ci_hi": g - centre_c + half,
            "prob_cut": resp[:, 1],
            "is_cut": resp[:, 1] > 0.5,
        }
    # a rate moving by under 5% beside one moving more is an echo of it (the scan's strongest need not be
    # the rate that changed most: a change leaks into the other rates' one-parameter tests)
    main = max(pooled, key=lambda c: abs(pooled[c]["change"]))
    for c in [c for c in pooled if c != main and abs(pooled[c]["change"]) < _MIN_CHANGE]:
        del pooled[c], per_worker[c]
    lead = rates[0]
    t = split.change[valid][..., lead] / np.sqrt(split.var[valid][..., lead])
    own = np.argmax(np.where(split.valid[valid] & np.isfinite(t), np.abs(t), -1.0), axis=1) + 1
    return _Found(pooled=pooled, per_worker=per_worker, valid=valid, worker_tau=own)


def _unlike_a_shock(
    prop: dict[int, np.ndarray],
    weight: dict[int, np.ndarray],
    keep: np.ndarray,
    r_zero: np.ndarray,
    r_side: np.ndarray,
    lead: int,
) -> bool:
    """Whether the group the mixture takes as unchanged looks less like it than the changed group.

    A shock every worker shares moves all rates alike, so the unchanged group's full-fit changes
    differ little between the lead rate and the others; the changed group's differ by the change.
    Where pay effects alone cannot tell which group is which (a small rate, a large shock), this can:
    the groups swap when the unchanged one's gap is at least 5% and twice the changed one's.
    """
    others = [c for c in prop if c != lead]
    if not others:
        return False

    def gap(r: np.ndarray) -> float:
        means = {c: float((r * weight[c][keep] * prop[c][keep]).sum() / max((r * weight[c][keep]).sum(), 1e-300))
                 for c in prop}  # fmt: skip
        return abs(means[lead] - float(np.mean([means[c] for c in others])))

    zero, changed = gap(r_zero), gap(r_side)
    return zero > max(2.0 * changed, _MIN_CHANGE)


def _did(
    prop: np.ndarray, weight: np.ndarray, r_side: np.ndarray, r_zero: np.ndarray, *, for_all: bool, noise: float
) -> tuple[float, float]:
    """A rate's change and its standard error: changed workers' mean against the unchanged ones'.

    ``weight`` is 1 / each worker's error variance; the errors are scaled up by how much more the
    reference workers (the unchanged ones, or all for a change for everyone) spread around their mean.
    """
    if for_all:
        mean = (weight * prop).sum() / weight.sum()
        spread = max(1.0, float((weight * (prop - mean) ** 2).sum() / max(prop.size - 1, 1)))
        return float(mean), float(np.sqrt(spread / weight.sum() + noise**2))
    a_w, b_w = r_side * weight, r_zero * weight
    change = (a_w * prop).sum() / max(a_w.sum(), 1e-300)
    var = (r_side**2 * weight).sum() / max(a_w.sum(), 1e-300) ** 2
    spread = 1.0
    if b_w.sum() > 0:
        zero = (b_w * prop).sum() / b_w.sum()
        change -= zero
        var += (r_zero**2 * weight).sum() / b_w.sum() ** 2
        if r_zero.sum() > 2:
            spread = max(1.0, float((b_w * (prop - zero) ** 2).sum() / (r_zero.sum() - 1)))
    return float(change), float(np.sqrt(var * spread))


def _did_many(prop: np.ndarray, weight: np.ndarray, r_side: np.ndarray, r_zero: np.ndarray) -> np.ndarray:
    """:func:`_did` for rows of resampled workers at once."""
    a_w, b_w = r_side * weight, r_zero * weight
    with np.errstate(invalid="ignore", divide="ignore"):
        change = (a_w * prop).sum(axis=1) / a_w.sum(axis=1)
        zero = (b_w * prop).sum(axis=1) / b_w.sum(axis=1)
    return change - np.where(b_w.sum(axis=1) > 0, zero, 0.0)


def _shares(panel: _Panel, delta: dict[int, float], tau: int, *, min_jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """Each worker's share ``lambda`` of the pattern ``delta`` (proportional changes of rates) from ``tau``.

    Pay ~ x @ rates + after * lambda * z with ``z = sum_c delta_c * rate_ic * x_c`` (the worker's
    own rates), by the partitioned regression on the worker's whole-period fit. ``lambda = 1``: the
    worker's rates moved by ``delta``; 0: not at all. Returns ``lambda`` and its standard error (nan
    where a worker has too few jobs on a side).
    """
    k = panel.inv.shape[-1]
    pattern = np.zeros_like(panel.beta)
    for c, d in delta.items():
        pattern[:, c] = d * panel.beta[:, c]
    after_xx = panel.xx[:, tau:].sum(axis=1)
    after_xy = panel.xy[:, tau:].sum(axis=1)
    xz = np.einsum("wij,wj->wi", after_xx, pattern)
    zz = np.einsum("wi,wi->w", pattern, xz)
    zmz = zz - np.einsum("wi,wij,wj->w", xz, panel.inv, xz)
    zmy = np.einsum("wi,wi->w", pattern, after_xy) - np.einsum("wi,wi->w", xz, panel.beta)
    n_before, n_after = panel.n[:, :tau].sum(axis=1), panel.n[:, tau:].sum(axis=1)
    dof = n_before + n_after - k - 1
    ok = (n_before >= min_jobs) & (n_after >= min_jobs) & (zmz > 1e-9 * np.maximum(np.abs(zz), 1e-300)) & (dof > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = zmy / zmz
        se = np.sqrt(np.maximum(panel.rss - zmy * lam, 0.0) / dof / zmz)
    ok &= np.isfinite(lam) & np.isfinite(se) & (se > 0)
    return np.where(ok, lam, np.nan), np.where(ok, se, np.nan)


def _mixture(
    u: np.ndarray, s: np.ndarray, *, common_sd: float, sides: tuple[int, ...] = (1, 2), iterations: int = 300
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Normal mixture of pay effects ``u`` with errors ``s``: unchanged, cut and raised workers.

    The unchanged part's mean is the common shift (shocks every worker shares), with a normal prior
    of standard deviation ``common_sd`` around 0 (and never beyond 3 of them), so that when either of
    two groups could be the unchanged one, the one nearer 0 is. The cut part's mean lies below it by
    at least ``m`` and the raised part's above it by at least ``m``, ``m`` the median error (a change
    smaller than a worker's error cannot be told from none). Each worker spreads around their part's
    mean by their error times ``sqrt(kappa)``, ``kappa >= 1`` fitted with the rest: shocks reach
    workers unevenly, so errors from job-level noise alone are too small. Of the mixtures with the
    unchanged part and the cut part, the raised part or both, the one with the lowest BIC is kept, so
    a wide spread of unchanged workers is not split into a spurious third part; ``sides`` limits the
    changed parts to cut (1) or raised (2). Returns the weights, the means, the responsibilities
    (workers x 3) and ``kappa``.
    """
    common_sd = max(common_sd, 1e-9)
    models = [(0, side) for side in sides] + ([(0, 1, 2)] if len(sides) == 2 else [])
    fits = [_fit_mixture(u, s, active, common_sd=common_sd, iterations=iterations) for active in models]
    penalty = np.log(max(u.size, 2))
    scores = [-2.0 * loglik + penalty * 2 * len(active) for *_, loglik, active in fits]
    weight, mu, resp, kappa, _, _ = fits[int(np.argmin(scores))]
    return weight, mu, resp, kappa


def _fit_mixture(
    u: np.ndarray, s: np.ndarray, active: tuple[int, ...], *, common_sd: float, iterations: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, tuple[int, ...]]:
    """EM (MAP for the unchanged mean) for :func:`_mixture` with only the ``active`` parts; also returns
    the log posterior."""
    from gigshift.pay._kernels import mixture_em

    on = np.zeros(3, dtype=bool)
    on[list(active)] = True
    median_s = float(np.median(s))
    mu = np.array([0.0, min(np.quantile(u, 0.1), -2 * median_s), max(np.quantile(u, 0.9), 2 * median_s)])
    # EM steps, compiled (gigshift.pay._kernels), until nothing moves
    weight, mu, resp, kappa, loglik = mixture_em(u, s, on, mu, median_s, float(common_sd), int(iterations))
    return weight, mu, resp, kappa, loglik - 0.5 * (mu[0] / common_sd) ** 2, active


def _refit_mixture(
    u: np.ndarray,
    s: np.ndarray,
    picks: np.ndarray,
    *,
    weight: np.ndarray,
    mu: np.ndarray,
    kappa: float,
    common_sd: float,
    iterations: int = 30,
) -> np.ndarray:
    """:func:`_fit_mixture` again on each resample of workers (rows of ``picks``), all at once: returns the
    responsibilities (resamples, workers, 3).

    Each fit starts from the whole sample's (``weight``, ``mu``, ``kappa``) with the same parts (those
    of positive weight), so a resample's fit is a few EM steps away; the steps stop when no resample's
    parameters move by 1e-9 or after ``iterations``. A resample counts each worker as often as drawn,
    so the EM sums are sums over the workers weighted by these counts. A worker whose part is certain
    (responsibility within 1e-9 of 1: their pay effect is many errors from the other parts) keeps it
    in every resample, and enters the sums through one product of the counts with their fixed terms;
    only the others are classified again, so that large pools, where most workers are certain, cost
    little more than a fixed-responsibility bootstrap.
    """
    common_sd = max(common_sd, 1e-9)
    n_boot, n = picks.shape
    var = s**2
    with np.errstate(invalid="ignore", divide="ignore"):
        fixed = _mixture_resp(u, var, weight, mu, kappa)
        certain = fixed.max(axis=1) > 1.0 - 1e-9
        counts = np.bincount((picks + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n)
        counts = counts.reshape(n_boot, n).astype(float)
        # the certain workers' terms of the M-step: r, r / var, r u / var, r u^2 / var for each part
        terms = (
            fixed[certain][:, None, :] * np.stack([np.ones(n), 1 / var, u / var, u * u / var])[:, certain].T[..., None]
        )
        base = (counts[:, certain] @ terms.reshape(int(certain.sum()), 12)).reshape(n_boot, 4, 3)
        open_ = np.flatnonzero(~certain)
        c_open, u_open, var_open = counts[:, open_], u[open_], var[open_]
        median_s = np.median(s[picks], axis=1)
        open_terms = np.stack([np.ones(open_.size), 1 / var_open, u_open / var_open, u_open**2 / var_open])
        w = np.broadcast_to(np.where(weight > 0, weight, 0.0), (n_boot, 3)).copy()
        m = np.broadcast_to(mu, (n_boot, 3)).copy()
        k = np.full(n_boot, float(kappa))
        active = weight > 0
        resp_open = np.zeros((n_boot, open_.size, 3))
        for _ in range(iterations):
            resp_open = _mixture_resp(u_open, var_open, w, m, k)
            sums = base + np.matmul(open_terms, c_open[..., None] * resp_open)  # counted sums, (resamples, 4, 3)
            count, prec, first, second = sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3]
            before = np.concatenate([w, m, k[:, None]], axis=1)
            w = np.where(active, count / n, 0.0)
            means = first / prec
            data = prec[:, 0] / k
            shifted = np.clip(means[:, 0] * data / (data + common_sd**-2), -3 * common_sd, 3 * common_sd)
            m[:, 0] = np.where((w[:, 0] >= 0.05) & np.isfinite(means[:, 0]), shifted, m[:, 0])
            floor = median_s * np.sqrt(k)
            m[:, 1] = np.where(np.isfinite(means[:, 1]), np.minimum(means[:, 1], m[:, 0] - floor), m[:, 1])
            m[:, 2] = np.where(np.isfinite(means[:, 2]), np.maximum(means[:, 2], m[:, 0] + floor), m[:, 2])
            spread = np.where(active, second - 2 * m * first + m * m * prec, 0.0).sum(axis=1)  # sum r (u - mu)^2 / var
            k = np.clip(spread / n, 1.0, 16.0)
            moved = np.abs(np.concatenate([w, m, k[:, None]], axis=1) - before)
            if np.nanmax(moved, initial=0.0) < 1e-9:
                break
        resp_open = _mixture_resp(u_open, var_open, w, m, k)
    out = np.broadcast_to(fixed, (n_boot, n, 3)).copy()
    out[:, open_] = resp_open
    return np.take_along_axis(out, picks[..., None], axis=1)


def _mixture_resp(u: np.ndarray, var: np.ndarray, weight: np.ndarray, mu: np.ndarray, kappa) -> np.ndarray:
    """Responsibilities of the mixture's parts for pay effects ``u`` with error variances ``var``: (workers, 3)
    for one set of parameters, (sets, workers, 3) for rows of ``weight``, ``mu`` and ``kappa``."""
    weight, mu, kappa = np.asarray(weight), np.asarray(mu), np.asarray(kappa, dtype=float)
    if weight.ndim == 2:
        weight, mu, kappa = weight[:, None, :], mu[:, None, :], kappa[:, None, None]
    spread = kappa * var[..., None]
    log_p = np.log(weight) - 0.5 * (np.log(2 * np.pi * spread) + (u[..., None] - mu) ** 2 / spread)
    resp = np.exp(log_p - log_p.max(axis=-1, keepdims=True))
    return resp / resp.sum(axis=-1, keepdims=True)


def _tables(pooled_rows: list[dict], worker_rows: list[pl.DataFrame], *, jobs: pl.DataFrame, by: list[str]):
    by_schema = {b: jobs.schema[b] for b in by}
    pooled = (
        pl.DataFrame(pooled_rows, schema={**by_schema, **POOLED_SCHEMA}, orient="row")
        if pooled_rows
        else (pl.DataFrame(schema={**by_schema, **POOLED_SCHEMA}))
    )
    workers_schema = {"worker_id": pl.String, **by_schema, **WORKER_SCHEMA}
    workers = (
        pl.concat([w.select(list(workers_schema)).cast(workers_schema) for w in worker_rows])
        if worker_rows
        else pl.DataFrame(schema=workers_schema)
    )
    return pooled.sort([*by, "metric", "date"], nulls_last=True), workers.sort([*by, "metric", "worker_id"])
