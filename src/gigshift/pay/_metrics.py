"""Pay metrics as ratios of sums, per worker and pooled per cell, with intervals from resampling workers.

Definitions (all money in the pool's currency):

- earnings = worker_pay + tips + bonus (a missing tip or bonus adds nothing);
- engaged hours = the sum of job durations (end - start);
- logged-in hours, per worker, platform and local week = the hours of the sessions starting that
  week, or the engaged hours if larger (a job counts as logged-in time even when no session covers
  it; with no sessions at all, logged-in equals engaged). They are shared among the week's
  categories and areas in proportion to engaged hours; a week with sessions but no job goes to the
  worker's main category on that platform;
- expenses = per-km cost x distance_km + the fixed cost per worker-week, shared among the week's
  jobs in proportion to their duration (rates from the pool's cost table);
- net = earnings - fees - expenses; before tips = worker_pay + bonus.

A pooled value is a ratio of sums over the cell's jobs: ``hourly_engaged`` = earnings / engaged
hours, ``hourly_logged_in`` = earnings / logged-in hours, ``hourly_net`` = net / logged-in hours,
``hourly_net_engaged`` = net / engaged hours, ``utilisation`` = engaged / logged-in hours,
``pay_per_job`` = worker_pay / jobs, ``pay_per_km`` = worker_pay / km over jobs with a distance,
``pay_per_minute`` = worker_pay / engaged minutes, ``tips_share`` = tips / earnings,
``take_rate`` = 1 - worker_pay / client_price over jobs with a known client price. A worker's value
is the same over their own jobs. Weeks start on Monday, in the pool's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from gigshift.pay._config import PayConfig, Standard, expense_rates

NO_JOBS = "(no jobs)"
UNIT_KEYS = ("worker_id", "platform", "category", "area", "week")
SUMS = (
    "n_jobs",
    "engaged_hours",
    "logged_in_hours",
    "earnings",
    "worker_pay",
    "tips",
    "bonus",
    "fees",
    "expenses",
    "net",
    "before_tips",
    "distance_km",
    "pay_on_distance",
    "client_price",
    "pay_priced",
    "n_priced",
)
#: metric -> (numerator sum, denominator sum, scale); take_rate is 1 - ratio.
METRICS: dict[str, tuple[str, str, float]] = {
    "hourly_engaged": ("earnings", "engaged_hours", 1.0),
    "hourly_logged_in": ("earnings", "logged_in_hours", 1.0),
    "hourly_net": ("net", "logged_in_hours", 1.0),
    "hourly_net_engaged": ("net", "engaged_hours", 1.0),
    "utilisation": ("engaged_hours", "logged_in_hours", 1.0),
    "pay_per_job": ("worker_pay", "n_jobs", 1.0),
    "pay_per_km": ("pay_on_distance", "distance_km", 1.0),
    "pay_per_minute": ("worker_pay", "engaged_hours", 1.0 / 60.0),
    "tips_share": ("tips", "earnings", 1.0),
    "take_rate": ("pay_priced", "client_price", 1.0),
}
#: metrics given bootstrap intervals
CI_METRICS = ("hourly_engaged", "hourly_logged_in", "hourly_net", "utilisation", "take_rate")
PAY_SUM = {"gross": "earnings", "net": "net", "before_tips": "before_tips"}
HOURS_SUM = {"engaged": "engaged_hours", "logged_in": "logged_in_hours"}
_US_PER_HOUR = 3_600_000_000


def _week(col: str, time_zone: str) -> pl.Expr:
    local = pl.col(col) if time_zone == "UTC" else pl.col(col).dt.convert_time_zone(time_zone)
    return local.dt.truncate("1w").dt.date()


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def metric_exprs(names: Sequence[str] = tuple(METRICS)) -> list[pl.Expr]:
    """Each metric from the sums, null where its denominator is zero."""
    out = []
    for name in names:
        num, den, scale = METRICS[name]
        value = _ratio(pl.col(num), pl.col(den)) * scale
        out.append((1 - value if name == "take_rate" else value).alias(name))
    return out


def week_of(lazy: pl.LazyFrame, col: str, time_zone: str, *, bounds: tuple[object, object]) -> pl.LazyFrame:
    """``lazy`` with ``week``, the local Monday of ``col``: the zone is looked up once per hour of the period,
    and each row takes its hour's week by position (an index, not a join)."""
    if time_zone == "UTC":
        return lazy.with_columns(_week(col, time_zone).alias("week"))
    first, last = bounds
    hours = pl.datetime_range(first, last, "1h", time_unit="us", time_zone="UTC", eager=True).alias("_hour")  # type: ignore[arg-type]
    weeks = hours.to_frame().select(_week("_hour", time_zone)).to_series()
    hour = (pl.col(col).dt.epoch("us") - hours.dt.epoch("us")[0]) // _US_PER_HOUR
    return lazy.with_columns(pl.lit(weeks).gather(hour).alias("week"))


def _bounds(frame: pl.DataFrame, col: str) -> tuple[object, object]:
    span = frame.select(pl.col(col).min().dt.truncate("1h").alias("a"), pl.col(col).max().dt.truncate("1h").alias("b"))
    return span.item(0, "a"), span.item(0, "b")


def units(jobs: pl.DataFrame, sessions: pl.DataFrame, config: PayConfig) -> pl.DataFrame:
    """Sums per worker, platform, category, area and week (see the module docstring), the audit's base table.

    The jobs are summed in one streaming pass; costs are applied per unit (their rates depend only on
    the unit's area, category and platform, and the fixed cost is shared by engaged hours).
    """
    zero = pl.lit(0.0)
    known_km = pl.col("distance_km").is_not_null()
    priced = pl.col("client_price").is_not_null()
    hours = (pl.col("end") - pl.col("start")).dt.total_microseconds() / _US_PER_HOUR
    # element-wise first, so the group-by only adds up plain columns (its fast path)
    lazy = week_of(
        jobs.lazy().select(
            *UNIT_KEYS[:-1],
            "start",
            hours.alias("engaged_hours"),
            "worker_pay",
            pl.col("tips").fill_null(zero),
            pl.col("bonus").fill_null(zero),
            pl.col("fees").fill_null(zero),
            pl.col("distance_km").fill_null(zero),
            pl.when(known_km).then(pl.col("worker_pay")).otherwise(zero).alias("pay_on_distance"),
            pl.col("client_price").fill_null(zero),
            pl.when(priced).then(pl.col("worker_pay")).otherwise(zero).alias("pay_priced"),
            priced.cast(pl.Float64).alias("n_priced"),
        ),
        "start",
        config.time_zone,
        bounds=_bounds(jobs, "start") if jobs.height else (None, None),
    )
    summed = ("engaged_hours", "worker_pay", "tips", "bonus", "fees", "distance_km", "pay_on_distance", "client_price",
              "pay_priced", "n_priced")  # fmt: skip
    base = (
        lazy.group_by(list(UNIT_KEYS))
        .agg(pl.len().cast(pl.Float64).alias("n_jobs"), *(pl.col(c).sum() for c in summed))
        .collect(engine="streaming")
    )
    week_hours = pl.col("engaged_hours").sum().over("worker_id", "week")
    base = (
        expense_rates(base.lazy(), config.expenses)
        .with_columns(
            (pl.col("worker_pay") + pl.col("tips") + pl.col("bonus")).alias("earnings"),
            (pl.col("worker_pay") + pl.col("bonus")).alias("before_tips"),
            (
                pl.col("per_km_cost") * pl.col("distance_km")
                + pl.col("fixed_cost_per_week") * _ratio(pl.col("engaged_hours"), week_hours).fill_null(0.0)
            ).alias("expenses"),
        )
        .with_columns((pl.col("earnings") - pl.col("fees") - pl.col("expenses")).alias("net"))
        .drop("per_km_cost", "fixed_cost_per_week")
        .collect()
    )
    if sessions.height:
        hours = (pl.col("end") - pl.col("start")).dt.total_microseconds() / _US_PER_HOUR
        logged = (
            week_of(sessions.lazy(), "start", config.time_zone, bounds=_bounds(sessions, "start"))
            .group_by("worker_id", "platform", "week")
            .agg(hours.sum().alias("session_hours"))
            .collect()
        )
    else:
        logged = pl.DataFrame(
            schema={"worker_id": pl.String, "platform": pl.String, "week": pl.Date, "session_hours": pl.Float64}
        )
    wpw = ["worker_id", "platform", "week"]
    engaged_wpw = pl.col("engaged_hours").sum().over(wpw)
    base = (
        base.lazy()
        .join(logged.lazy(), on=wpw, how="left")
        .with_columns(
            (
                pl.max_horizontal(pl.col("session_hours").fill_null(0.0), engaged_hours := engaged_wpw)
                * _ratio(pl.col("engaged_hours"), engaged_hours).fill_null(0.0)
            ).alias("logged_in_hours")
        )
        .drop("session_hours")
        .collect()
    )
    engaged = base.select(wpw).unique()
    idle = logged.join(engaged, on=wpw, how="anti").filter(pl.col("session_hours") > 0)
    if idle.height:
        main = (
            base.group_by("worker_id", "platform", "category", "area")
            .agg(pl.col("engaged_hours").sum())
            .sort(["engaged_hours", "category", "area"], descending=[True, False, False], nulls_last=True)
            .unique(["worker_id", "platform"], keep="first")
            .select("worker_id", "platform", "category", "area")
        )
        idle = idle.join(main, on=["worker_id", "platform"], how="left").select(
            "worker_id",
            "platform",
            pl.col("category").fill_null(NO_JOBS),
            "area",
            "week",
            *(pl.lit(0.0).alias(s) for s in SUMS if s != "logged_in_hours"),
            pl.col("session_hours").alias("logged_in_hours"),
        )
        base = pl.concat([base, idle.select(base.columns)])
    return base.select(*UNIT_KEYS, *SUMS)  # in no particular order: every table made from it is sorted


def aggregate(table: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Sums by ``keys`` with the number of distinct workers, then every metric; sorted by key."""
    keys = list(keys)
    agg = [pl.col(s).sum() for s in SUMS]
    if "worker_id" not in keys:
        agg.insert(0, pl.col("worker_id").n_unique().alias("workers"))
    return (
        table.group_by(keys)
        .agg(agg)
        .with_columns(metric_exprs())
        .sort(keys, nulls_last=True)
        .with_columns(pl.col("n_jobs").cast(pl.Int64))
    )


def standard_rate(standard: Standard) -> pl.Expr:
    return _ratio(pl.col(PAY_SUM[standard.pay]), pl.col(HOURS_SUM[standard.hours]))


def standard_counts(standards: Sequence[Standard]) -> list[str]:
    """The additive count columns behind the shares below standards."""
    return ["n_worker_weeks", *(f"n_{kind}_{s.name}" for s in standards for kind in ("below", "rated"))]


def below_standards(table: pl.DataFrame, keys: Sequence[str], standards: Sequence[Standard]) -> pl.DataFrame:
    """Share of worker-weeks in each ``keys`` cell whose pay (on the standard's basis) is below each standard.

    A worker-week is one worker's jobs in the cell in one week (a ratio of sums over them); one with no
    hours of the standard's kind (waiting but no job, for a standard per engaged hour) has no rate and
    is left out of that share. Columns ``n_worker_weeks``, ``n_below_<name>``, ``n_rated_<name>``
    and ``below_<name>``.
    """
    keys = list(keys)
    unit = ["worker_id", *dict.fromkeys([*keys, "week"])]
    weeks = table.group_by(unit).agg(pl.col(s).sum() for s in ("earnings", "net", "before_tips", *HOURS_SUM.values()))
    flags = []
    for s in standards:
        rate = standard_rate(s)
        flags += [(rate < s.value).cast(pl.Float64).alias(f"n_below_{s.name}"),
                  rate.is_not_null().cast(pl.Float64).alias(f"n_rated_{s.name}")]  # fmt: skip
    counts = [c for c in standard_counts(standards) if c != "n_worker_weeks"]
    return (
        weeks.with_columns(flags)
        .group_by(keys)
        .agg(pl.len().cast(pl.Float64).alias("n_worker_weeks"), *(pl.col(c).sum() for c in counts))
        .with_columns(share_exprs(standards))
        .sort(keys, nulls_last=True)
    )


def share_exprs(standards: Sequence[Standard]) -> list[pl.Expr]:
    return [
        _ratio(pl.col(f"n_below_{s.name}"), pl.col(f"n_rated_{s.name}")).alias(f"below_{s.name}") for s in standards
    ]


#: The largest (sums x cells) x workers matrix of :func:`intervals` made dense (8 bytes an entry: 240 MB).
_DENSE_BOOTSTRAP_MAX = 30_000_000


def poisson_weights(n_workers: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Poisson(1) resampling weights, one row per worker (the unit of resampling), one column per replicate."""
    return rng.poisson(1.0, size=(n_workers, n_bootstrap)).astype(np.float64)


def intervals(
    table: pl.DataFrame,
    keys: Sequence[str],
    cells: pl.DataFrame,
    *,
    worker_codes: pl.DataFrame,
    weights: np.ndarray,
    confidence: float,
    metrics: Sequence[str] = CI_METRICS,
) -> pl.DataFrame:
    """Percentile intervals of ``metrics`` per cell, resampling workers with the given weights.

    Each replicate's cell sums are ``sum over workers of weight x the worker's sums in the cell``:
    one sparse product (cells x workers) @ (workers x replicates) for all sums at once.
    """
    from scipy import sparse

    keys = list(keys)
    needed = sorted({METRICS[m][i] for m in metrics for i in (0, 1)})
    per_worker = (
        table.group_by(["worker_id", *keys])
        .agg(pl.col(s).sum() for s in needed)
        .join(worker_codes, on="worker_id", how="left")
        .join(cells.select(keys).with_row_index("_cell"), on=keys, how="left", nulls_equal=True)
    )
    n_cells, n_workers = cells.height, weights.shape[0]
    rows = per_worker.get_column("_cell").cast(pl.Int64).to_numpy()
    cols = per_worker.get_column("_worker").cast(pl.Int64).to_numpy()
    data = np.concatenate([per_worker.get_column(s).cast(pl.Float64).to_numpy() for s in needed])
    at = (np.concatenate([rows + i * n_cells for i in range(len(needed))]), np.tile(cols, len(needed)))
    shape = (len(needed) * n_cells, n_workers)
    if shape[0] * shape[1] <= _DENSE_BOOTSTRAP_MAX:  # BLAS on a dense matrix beats a sparse product many times over
        matrix = np.zeros(shape)
        matrix[at] = data  # one entry per worker and cell: they were summed per worker above
    else:
        matrix = sparse.csr_matrix((data, at), shape=shape)
    sums = matrix @ weights  # (sums x cells, replicates)
    block = {s: sums[i * n_cells : (i + 1) * n_cells] for i, s in enumerate(needed)}
    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for m in metrics:
            num, den, scale = METRICS[m]
            ratio = np.where(block[den] > 0, block[num] / block[den], np.nan) * scale
            if m == "take_rate":
                ratio = 1 - ratio
            lo, hi = _nan_quantiles(ratio, lo_q, hi_q)
            out[f"{m}_ci_lo"], out[f"{m}_ci_hi"] = lo, hi
    return cells.select(keys).with_columns(
        pl.Series(name, values, dtype=pl.Float64, nan_to_null=True) for name, values in out.items()
    )


def _nan_quantiles(values: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise quantiles ignoring NaN (replicates where the cell had no one); NaN if under half are valid."""
    valid = np.isfinite(values)
    enough = valid.sum(axis=1) >= max(2, values.shape[1] // 2)
    out_lo = np.full(values.shape[0], np.nan)
    out_hi = np.full(values.shape[0], np.nan)
    if enough.any():
        sub = values[enough]
        quantile = np.quantile if np.isfinite(sub).all() else np.nanquantile  # nanquantile is slow
        q = quantile(sub, [lo, hi], axis=1)
        out_lo[enough], out_hi[enough] = q[0], q[1]
    return out_lo, out_hi


def worker_codes(table: pl.DataFrame) -> pl.DataFrame:
    """Worker id -> row of the weight matrix (sorted ids: the same seed draws the same weights per worker)."""
    ids = table.get_column("worker_id").unique().sort()
    return pl.DataFrame({"worker_id": ids, "_worker": np.arange(ids.len(), dtype=np.int64)})
