"""The collective pay audit: pooled pay, costs, standards, changes and gaps, released with privacy protection."""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars, check_positive_int, finite
from gigshift.pay._config import PayConfig, Standard, standards_table
from gigshift.pay._metrics import (
    _US_PER_HOUR,
    CI_METRICS,
    METRICS,
    aggregate,
    below_standards,
    intervals,
    metric_exprs,
    poisson_weights,
    share_exprs,
    standard_counts,
    units,
    worker_codes,
)
from gigshift.pay._pool import Pool
from gigshift.pay._schema import SCHEMAS
from gigshift.pay._validate import validate

Dim = Literal["platform", "category", "area", "week"]
DIMS: tuple[str, ...] = ("platform", "category", "area", "week")
UNKNOWN_AREA = "(unknown)"
#: the additive sums every released cell carries (net, bonus and before-tips follow from them)
RELEASED_SUMS = (
    "n_jobs",
    "engaged_hours",
    "logged_in_hours",
    "earnings",
    "worker_pay",
    "tips",
    "fees",
    "expenses",
    "distance_km",
    "pay_on_distance",
    "client_price",
    "pay_priced",
    "n_priced",
)
#: per worker and weekly cell: the most one worker may add (public bounds for differential privacy)
DP_BOUNDS = {
    "earnings": 1500.0,
    "engaged_hours": 50.0,
    "logged_in_hours": 70.0,
    "costs": 400.0,
    "pay_priced": 1500.0,
    "client_price": 2500.0,
}
DP_DELTA = 1e-6
GAP_BOOTSTRAP = 50  # replicates for the standard errors of the gap's parts (statsmodels refits each)
DP_METRICS = ("hourly_engaged", "hourly_logged_in", "hourly_net", "hourly_net_engaged", "utilisation", "take_rate")
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
JSON_METRICS = ("hourly_engaged", "hourly_logged_in", "hourly_net", "utilisation", "take_rate")


@dataclass(frozen=True, slots=True)
class PayAudit:
    """A collective pay audit, every table protected for release.

    Attributes
    ----------
    pool : dict
        ``workers``, ``jobs``, ``platforms``, ``period`` ([first day, last day]), ``currency``.
    cells : DataFrame
        One row per cell of ``dims``: ``workers``, the released sums, every metric (see
        ``gigshift.pay._metrics``), ``<metric>_ci_lo/hi`` for the main ones, ``n_worker_weeks``,
        ``below_<standard>`` shares, ``suppressed`` and ``suppression``. Withheld cells are null.
    platforms : DataFrame
        The same per platform over the whole period (with intervals and shares of worker-weeks
        below each standard).
    weekly : DataFrame
        Per platform and week (take rate, utilisation and hourly pay over time).
    distribution : DataFrame
        Per platform and metric, quantiles of worker-weeks' hourly pay.
    changes : DataFrame
        Detected pay-algorithm changes per platform and metric: date, change, ci_lo, ci_hi,
        share_of_workers_cut.
    gaps : DataFrame
        Group pay gaps (Oaxaca-Blinder, log hourly pay per engaged hour), one row per attribute.
    standards : DataFrame
        Each standard's name, value, pay and hours basis, source.
    privacy : dict
        ``k``, ``epsilon`` (this release, or null), ``epsilon_spent``, ``epsilon_left``, ``budget``,
        cells withheld, and the plain-words ``statement``.
    """

    pool: dict[str, Any]
    cells: pl.DataFrame
    platforms: pl.DataFrame
    weekly: pl.DataFrame
    distribution: pl.DataFrame
    changes: pl.DataFrame
    gaps: pl.DataFrame
    standards: pl.DataFrame
    privacy: dict[str, Any]
    dims: tuple[str, ...]
    settings: dict[str, Any]
    provenance: Provenance
    config: dict[str, Any] = field(default_factory=dict)

    def tidy(self) -> pl.DataFrame:
        return self.cells

    def _standard_names(self) -> list[str]:
        return self.standards.get_column("name").to_list()

    def to_dict(self) -> dict[str, Any]:
        names = self._standard_names()
        cells = []
        for r in self.cells.iter_rows(named=True):
            cell = {d: _key(r[d]) for d in self.dims}
            cell["workers"] = r["workers"]
            cell.update({m: r[m] for m in JSON_METRICS})
            cell["below_standard"] = {n: r[f"below_{n}"] for n in names}
            cell["suppressed"] = bool(r["suppressed"])
            cell["intervals"] = {m: [r[f"{m}_ci_lo"], r[f"{m}_ci_hi"]] for m in CI_METRICS}
            cell.update({m: r[m] for m in ("hourly_net_engaged", "pay_per_job", "pay_per_km", "pay_per_minute")})
            cell["tips_share"] = r["tips_share"]
            cells.append(cell)
        changes = [
            {
                "platform": r["platform"],
                "metric": r["metric"],
                "date": _key(r["date"]),
                "change": r["change"],
                "ci": [r["ci_lo"], r["ci_hi"]],
                "share_of_workers_cut": r["share_of_workers_cut"],
            }
            for r in self.changes.iter_rows(named=True)
        ]
        privacy = {k: v for k, v in self.privacy.items()}
        body = {
            "pool": self.pool,
            "cells": cells,
            "changes": changes,
            "privacy": privacy,
            "platforms": [_json_row(r) for r in self.platforms.iter_rows(named=True)],
            "weekly": [_json_row(r) for r in self.weekly.iter_rows(named=True)],
            "distribution": [_json_row(r) for r in self.distribution.iter_rows(named=True)],
            "gaps": [_json_row(r) for r in self.gaps.iter_rows(named=True)],
            "standards": self.standards.to_dicts(),
            "dims": list(self.dims),
            "settings": self.settings,
            "provenance": self.provenance.to_dict(),
        }
        return rounded(finite(body))  # type: ignore[return-value]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    def findings(self) -> list[str]:
        """The main results in sentences, for the report's top and the command line."""
        cur = self.pool.get("currency") or ""
        out = []
        for r in self.platforms.iter_rows(named=True):
            if r["suppressed"]:
                out.append(f"{r['platform']}: fewer than {self.privacy['k']} workers; figures withheld.")
                continue
            line = (
                f"{r['platform']}: {'workers' if r['workers'] is None else str(r['workers']) + ' workers'} earned "
                f"{_money(r['hourly_engaged'], cur)} per engaged hour "
                f"and {_money(r['hourly_logged_in'], cur)} per logged-in hour ({_money(r['hourly_net'], cur)} after "
                f"costs); utilisation {_pct(r['utilisation'])}"
            )
            if r["take_rate"] is not None:
                line += f"; the platform kept {_pct(r['take_rate'])} of what clients paid"
            out.append(line + ".")
            for name in self._standard_names():
                share = r.get(f"below_{name}")
                if share is not None:
                    out.append(f"{r['platform']}: {_pct(share)} of worker-weeks below {name}.")
        for r in self.changes.iter_rows(named=True):
            out.append(
                f"{r['platform']}: {r['metric']} changed by {_pct(r['change'], signed=True)} on {r['date']} "
                f"(95% interval {_pct(r['ci_lo'], signed=True)} to {_pct(r['ci_hi'], signed=True)}); "
                f"{_pct(r['share_of_workers_cut'])} of workers saw a cut."
            )
        for r in self.gaps.iter_rows(named=True):
            if r["unexplained"] is None:
                continue
            out.append(
                f"{r['attribute']}: {r['comparison']} earned {_pct(math.expm1(-r['gap']), signed=True)} per engaged "
                f"hour against {r['reference']}; {_pct(math.expm1(-r['unexplained']), signed=True)} is not explained "
                "by the kind of work and the area."
            )
        return out

    def to_markdown(self) -> str:
        cur = self.pool.get("currency") or ""
        p = self.pool
        lines = [
            "# Collective pay audit",
            "",
            f"{p['workers']} workers, {p['jobs']:,} jobs on {', '.join(p['platforms'])}, "
            f"{p['period'][0]} to {p['period'][1]}; money in {cur}.",
            "",
            "## Privacy",
            "",
            self.privacy["statement"],
            "",
            "## Findings",
            "",
            *[f"- {f}" for f in self.findings()],
            "",
            "## Per platform",
            "",
            _md_table(
                self.platforms,
                ["platform", "workers", *JSON_METRICS, *[f"below_{n}" for n in self._standard_names()]],
            ),
            "## Standards",
            "",
            _md_table(self.standards, ["name", "value", "pay", "hours", "source"]),
            "## Cells",
            "",
            _md_table(self.cells, [*self.dims, "workers", *JSON_METRICS, "suppressed"]),
        ]
        if self.changes.height:
            lines += [
                "## Detected pay changes",
                "",
                _md_table(
                    self.changes, ["platform", "metric", "date", "change", "ci_lo", "ci_hi", "share_of_workers_cut"]
                ),
            ]
        if self.gaps.height:
            lines += [
                "## Group pay gaps",
                "",
                _md_table(self.gaps, ["attribute", "reference", "comparison", "n_reference", "n_comparison", "gap",
                                      "explained", "unexplained", "unexplained_se"]),
            ]  # fmt: skip
        lines += [
            f"gigshift {self.provenance.gigshift_version}; {self.provenance.method}; seed {self.provenance.seed}.",
            "",
        ]
        return "\n".join(lines)

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML report (Plotly inlined); written atomically to ``path`` if given."""
        from gigshift._html import write_atomic
        from gigshift.pay._report import audit_html

        text = audit_html(self)
        if path is not None:
            write_atomic(Path(path), text)
        return text


def rounded(value: object, digits: int = 12) -> object:
    """Floats to ``digits`` significant digits: parallel sums differ in the last bits from run to run."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


def _key(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _key(v) if not isinstance(v, list | tuple) else list(v) for k, v in row.items()}


def _money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{value:,.2f} {currency}".strip()


def _pct(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _md_table(frame: pl.DataFrame, columns: Sequence[str]) -> str:
    columns = [c for c in columns if c in frame.columns]
    if frame.height == 0:
        return "(none)\n"

    def fmt(v: object) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
        if isinstance(v, list | tuple):
            return ", ".join(str(x) for x in v)
        return str(_key(v))

    head = "| " + " | ".join(columns) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(fmt(r[c]) for c in columns) + " |" for r in frame.select(columns).iter_rows(named=True)]
    return "\n".join([head, rule, *body]) + "\n"


# --------------------------------------------------------------------------------------------------
# the audit


def _inputs(
    data: object, sessions: object | None, workers: object | None, config: PayConfig | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, PayConfig, Pool | None]:
    if isinstance(data, Pool):
        needed = [c for c in SCHEMAS["jobs"] if c != "currency"]  # one currency per pool
        return data.jobs(columns=needed), data.sessions(), data.workers(), config or data.config, data
    jobs, _ = validate(as_polars(data, name="jobs"), kind="jobs")
    sess = pl.DataFrame(schema=SCHEMAS["sessions"]) if sessions is None else validate(sessions, kind="sessions")[0]
    work = pl.DataFrame(schema=SCHEMAS["workers"]) if workers is None else validate(workers, kind="workers")[0]
    config = config or PayConfig(currency=jobs.get_column("currency").first() if jobs.height else None)
    return jobs, sess, work, config, None


def _derived() -> list[pl.Expr]:
    """Sums that follow from the released ones (null where those are)."""
    return [
        (pl.col("earnings") - pl.col("fees") - pl.col("expenses")).alias("net"),
        (pl.col("earnings") - pl.col("worker_pay") - pl.col("tips")).alias("bonus"),
        (pl.col("earnings") - pl.col("tips")).alias("before_tips"),
    ]


def _cell_sums(table: pl.DataFrame, keys: list[str], standards: Sequence[Standard]) -> pl.DataFrame:
    """Released sums, distinct workers, worker-weeks and counts below each standard, per cell."""
    sums = table.group_by(keys).agg(
        pl.col("worker_id").n_unique().cast(pl.Int64).alias("workers"), *(pl.col(s).sum() for s in RELEASED_SUMS)
    )
    counts = below_standards(table, keys, standards).select(*keys, *standard_counts(standards))
    return sums.join(counts, on=keys, how="left", nulls_equal=True).sort(keys)


def _with_metrics(frame: pl.DataFrame, standards: Sequence[Standard]) -> pl.DataFrame:
    missing = [c for c in standard_counts(standards) if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in missing)
    return frame.with_columns(_derived()).with_columns(*metric_exprs(), *share_exprs(standards))


def _fill_area(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("area").fill_null(UNKNOWN_AREA))


def audit(
    data: object,
    *,
    sessions: object | None = None,
    workers: object | None = None,
    config: PayConfig | None = None,
    standards: Mapping[str, float] | None = None,
    dims: Sequence[Dim] = ("platform", "category", "week"),
    k: int = 11,
    epsilon: float | None = None,
    ledger: object | None = None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    detect: bool = True,
    gap_controls: Sequence[Literal["platform", "category", "area"]] = ("platform", "category", "area"),
    at: datetime | None = None,
    seed: int | None = None,
) -> PayAudit:
    """Audit a pool's pay: per cell and platform, with intervals, standards, changes and gaps, protected.

    Parameters
    ----------
    data : Pool or table
        A :class:`Pool` (its jobs, sessions, workers, config and privacy ledger), or a jobs table.
    sessions, workers : table, optional
        With a jobs table: logged-in sessions and workers' group attributes.
    config : PayConfig, optional
        Costs, standards, time zone; default the pool's (or no costs and no standards).
    standards : dict of str to float, optional
        Standards' hourly values to set or add (``{"minimum_wage": 16.5}``); a known name
        (``minimum_wage``, ``minimum_wage_net``, ``delivery_minimum``, ``fairwork_1_1``,
        ``fairwork_1_2``) keeps its basis, a new one counts gross pay per logged-in hour.
    dims : sequence of {"platform", "category", "area", "week"}, default=("platform", "category", "week")
        The cells.
    k : int, default=11
        No released figure rests on fewer than ``k`` workers (small cells and enough others to
        protect them are withheld; see ``gigshift.pay._privacy.suppress``).
    epsilon : float, optional
        Also release cell sums with differential privacy at this epsilon, charged to the pool's
        ledger (refused, with nothing released, when over budget). Bootstrap intervals are then
        not released (they are not private).
    ledger : PrivacyLedger, optional
        With a jobs table and ``epsilon``: the ledger to charge.
    n_bootstrap : int, default=200
        Replicates resampling workers (Poisson weights per worker); 0: no intervals.
    confidence : float, default=0.95
    detect : bool, default=True
        Look for pay-algorithm changes (``gigshift.pay._changes.detect_changes``).
    gap_controls : sequence of {"platform", "category", "area"}, default=("platform", "category", "area")
        Controls of the Oaxaca-Blinder group pay gaps (by every attribute in the workers table, one row
        per worker): shares of each worker's engaged hours per platform and category, and the area
        they work in most.
    at : datetime, optional
        Release time for the ledger (the CLI passes the clock; default: the ledger's).
    seed : int, optional
        Seeds the bootstrap, the change detection and the gap bootstrap.

    Returns
    -------
    PayAudit
    """
    k = check_positive_int("k", k, caller="audit")
    dims = tuple(dims)
    if not dims or len(set(dims)) != len(dims) or any(d not in DIMS for d in dims):
        raise GigshiftError(f"audit: dims must be distinct names from {', '.join(DIMS)}; got {list(dims)}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise GigshiftError(f"audit: n_bootstrap must be an integer >= 0; got {n_bootstrap!r}")
    if not 0 < confidence < 1:
        raise GigshiftError(f"audit: confidence must be in (0, 1); got {confidence!r}")
    if epsilon is not None and (isinstance(epsilon, bool) or not (math.isfinite(epsilon) and epsilon > 0)):
        raise GigshiftError(f"audit: epsilon must be a number > 0; got {epsilon!r}")
    jobs, sess, work, config, pool = _inputs(data, sessions, workers, config)
    if jobs.height == 0:
        raise GigshiftError("audit: the pool has no jobs (with consent in force)")
    config = config.with_standards(standards or {})
    from gigshift.pay._privacy import PrivacyLedger

    if pool is not None and ledger is None:
        ledger = PrivacyLedger.open(pool.path, budget=config.privacy_budget)
    if epsilon is not None:
        if ledger is None:
            raise GigshiftError("audit: epsilon needs a privacy ledger: audit a Pool, or pass ledger=")
        if epsilon > ledger.left + 1e-12:  # type: ignore[attr-defined]
            raise GigshiftError(
                f"audit: epsilon={epsilon:g} is more than the {ledger.left:g} left of the pool's privacy budget "  # type: ignore[attr-defined]
                f"of {ledger.budget:g}; nothing was released"  # type: ignore[attr-defined]
            )
    root = np.random.SeedSequence(seed)
    boot_seed, change_seed, gap_seed, dp_seed = root.spawn(4)

    with _detecting(jobs, seed=change_seed, detect=detect) as found:
        table = _fill_area(units(jobs, sess, config))
        std = config.standards
        keys = list(dims)
        codes = worker_codes(table)
        weights = (
            poisson_weights(codes.height, n_bootstrap, np.random.default_rng(boot_seed)) if n_bootstrap > 0 else None
        )

        from gigshift.pay._privacy import suppress_with_totals

        exact = _cell_sums(table, keys, std)
        values = [*RELEASED_SUMS, *standard_counts(std)]
        contributions = table.select("worker_id", *keys)
        protected, totals = suppress_with_totals(exact, k=k, dims=dims, values=values, contributions=contributions)  # type: ignore[arg-type]
        dp_info: dict[str, Any] | None = None
        if epsilon is not None:
            protected, totals, dp_info = _dp_release(
                table, exact, protected, totals, keys=keys, epsilon=epsilon, k=k, seed=dp_seed
            )
        cells = _with_metrics(protected, std)
        if weights is not None and epsilon is None:
            ci = intervals(table, keys, exact, worker_codes=codes, weights=weights, confidence=confidence)
            cells = cells.join(ci, on=keys, how="left", nulls_equal=True).with_columns(
                pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
                for c in ci.columns
                if c not in keys
            )
        else:
            cells = cells.with_columns(
                pl.lit(None, dtype=pl.Float64).alias(f"{m}_ci_{side}") for m in CI_METRICS for side in ("lo", "hi")
            )
        if epsilon is not None:
            cells = cells.with_columns(pl.lit(None, dtype=pl.Float64).alias(m) for m in METRICS if m not in DP_METRICS)

        platforms = _platforms(table, totals, std, keys=keys, k=k, weights=weights, codes=codes, confidence=confidence,
                               dp=epsilon is not None)  # fmt: skip
        weekly = _weekly(cells, totals, std, keys=keys)
        distribution = _distribution(table, platforms)
        changes = _released_changes(found.result(), platforms) if found is not None else _no_changes()
        gaps = _gaps(table, work, k=k, controls=gap_controls, seed=gap_seed)

    release = f"pay audit, cells by {' x '.join(dims)}, k={k}"
    spent_now = None
    if epsilon is not None:
        charged = ledger.charge(dp_info["epsilon"], release=release, delta=dp_info["delta"], at=at)  # type: ignore[attr-defined,index]
        spent_now = charged.epsilon
    from gigshift.pay._privacy import privacy_statement

    spent = float(ledger.spent) if ledger is not None else 0.0  # type: ignore[attr-defined]
    left = float(ledger.left) if ledger is not None else float(config.privacy_budget)  # type: ignore[attr-defined]
    privacy = {
        "k": k,
        "epsilon": spent_now,
        "epsilon_spent": spent,
        "epsilon_left": left,
        "budget": float(ledger.budget) if ledger is not None else float(config.privacy_budget),  # type: ignore[attr-defined]
        "cells": cells.height,
        "cells_withheld": int(cells.get_column("suppressed").sum()),
        "cells_withheld_primary": int((cells.get_column("suppression") == "primary").sum()),
        "differential_privacy": dp_info,
        "statement": privacy_statement(k, spent, max(left, 0.0)),
    }
    first = jobs.get_column("start").min()
    last = jobs.get_column("end").max()
    tz = config.time_zone
    pool_info = {
        "workers": jobs.get_column("worker_id").n_unique(),
        "jobs": jobs.height,
        "platforms": sorted(jobs.get_column("platform").unique().to_list()),
        "period": [_local_day(first, tz), _local_day(last, tz)],
        "currency": config.currency,
        "time_zone": tz,
    }
    settings = {
        "dims": list(dims),
        "k": k,
        "epsilon": epsilon,
        "n_bootstrap": n_bootstrap if epsilon is None else 0,
        "confidence": confidence,
        "gap_controls": list(gap_controls),
        "detect": detect,
        "seed": root.entropy if isinstance(root.entropy, int) else None,
    }
    provenance = Provenance(
        sources=(),
        method=(
            "ratios of sums over jobs per cell; logged-in hours from sessions; costs from the pool's cost table; "
            "percentile intervals resampling workers (Poisson weights); k-anonymous suppression with complementary "
            "cells" + ("; differential privacy (OpenDP)" if epsilon is not None else "")
        ),
        gigshift_version=gigshift.__version__,
        seed=settings["seed"],  # type: ignore[arg-type]
        extra={"expenses_source": config.expenses.source} if config.expenses.source else {},
    )
    return PayAudit(
        pool=pool_info,
        cells=cells,
        platforms=platforms,
        weekly=weekly,
        distribution=distribution,
        changes=changes,
        gaps=gaps,
        standards=standards_table(std),
        privacy=privacy,
        dims=dims,
        settings=settings,
        provenance=provenance,
        config=config.to_dict(),
    )


@contextlib.contextmanager
def _detecting(jobs: pl.DataFrame, *, seed: np.random.SeedSequence, detect: bool) -> Iterator[Future | None]:
    """For the block: change detection in a background thread (its future, None without ``detect``), BLAS
    held to one thread, and the gap tools imported in another.

    Change detection needs only the jobs and is mostly compiled and NumPy code that lets go of the GIL,
    so it runs beside the cells, intervals and gaps; with both cores busy, idle BLAS threads would only
    spin. statsmodels' Oaxaca-Blinder takes a second to import: it loads while the cells are summed.
    """
    from threadpoolctl import threadpool_limits

    if "statsmodels.stats.oaxaca" not in sys.modules:
        threading.Thread(target=_import_quietly, args=("statsmodels.stats.oaxaca",), daemon=True).start()
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(1, "gigshift-detect-changes") as background:
        yield background.submit(_detect_changes, jobs, seed=seed) if detect else None


def _import_quietly(module: str) -> None:
    with contextlib.suppress(Exception):  # the module's own import, where it is needed, reports any failure
        importlib.import_module(module)


def _local_day(moment: datetime | None, tz: str) -> str | None:
    if moment is None:
        return None
    return pl.Series([moment]).dt.convert_time_zone(tz).dt.date().item().isoformat()


def _dp_release(
    table: pl.DataFrame,
    exact: pl.DataFrame,
    protected: pl.DataFrame,
    totals: pl.DataFrame,
    *,
    keys: list[str],
    epsilon: float,
    k: int,
    seed: np.random.SeedSequence,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Cells' sums replaced by differentially private ones (Gaussian noise); totals are sums of the noisy cells.

    Only the sums behind the main metrics are released (earnings, engaged and logged-in hours, costs,
    priced pay and client prices): each extra value would take a share of epsilon. Worker counts and
    shares below standards are not released with differential privacy (null).
    """
    from gigshift.pay._privacy import dp_cells

    n_weeks = table.get_column("week").n_unique()  # the period's length, published with the release
    scale = 1.0 if "week" in keys else float(n_weeks)
    bounds = {v: b * scale for v, b in DP_BOUNDS.items()}
    # a worker's cells: their categories (or areas) in each week; more are subsampled (public cap)
    max_cells = max(1, min(exact.height, 2 * (n_weeks if "week" in keys else 1)))
    rows = table.group_by(["worker_id", *keys]).agg(
        pl.col("earnings").sum(),
        pl.col("engaged_hours").sum(),
        pl.col("logged_in_hours").sum(),
        (pl.col("fees") + pl.col("expenses")).sum().alias("costs"),
        pl.col("pay_priced").sum(),
        pl.col("client_price").sum(),
    )
    release = dp_cells(
        rows,
        epsilon=epsilon,
        bounds=bounds,
        dims=tuple(keys),
        keys=exact.select(keys),
        max_cells_per_worker=max_cells,
        mechanism="gaussian",
        delta=DP_DELTA,
        seed=int(seed.generate_state(1)[0]),
    )
    noisy = release.cells.select(*keys, *bounds).rename({"costs": "expenses"}).with_columns(pl.lit(0.0).alias("fees"))
    released = [*bounds.keys() - {"costs"}, "expenses", "fees"]
    absent = [c for c in (*RELEASED_SUMS, "n_worker_weeks") if c not in released]
    status = protected.select(*keys, "suppressed", "suppression")
    cells = (
        exact.select(keys)
        .join(noisy, on=keys, how="left", nulls_equal=True)
        .join(status, on=keys, how="left", nulls_equal=True)
        .with_columns(
            pl.lit(None, dtype=pl.Int64).alias("workers"), *(pl.lit(None, dtype=pl.Float64).alias(c) for c in absent)
        )
        .with_columns(pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in released)
    )
    parts = []
    for margin in (["platform"], [m for m in ("platform", "week") if m in keys]) if "platform" in keys else ():
        name = " x ".join(margin)
        known = totals.filter(pl.col("margin") == name).select(*margin, "suppressed")
        sums = noisy.group_by(margin).agg(pl.col(v).sum() for v in released)
        parts.append(
            known.join(sums, on=margin, how="left").with_columns(
                pl.lit(name).alias("margin"), pl.lit(None, dtype=pl.Int64).alias("workers")
            )
        )
    new_totals = pl.concat(parts, how="diagonal_relaxed") if parts else totals.head(0)
    info = {
        "epsilon": release.epsilon,
        "delta": release.delta,
        "mechanism": release.mechanism,
        "bounds": release.bounds,
        "max_cells_per_worker": release.max_cells_per_worker,
        "noise_sd": release.noise_sd,
        "noise": release.noise,
        "note": "worker counts, intervals and shares below standards are not released with differential privacy",
    }
    return cells, new_totals, info


def _rate(standard: Standard) -> pl.Expr:
    from gigshift.pay._metrics import standard_rate

    return standard_rate(standard)


def _platforms(
    table: pl.DataFrame,
    totals: pl.DataFrame,
    std: Sequence[Standard],
    *,
    keys: list[str],
    k: int,
    weights: np.ndarray | None,
    codes: pl.DataFrame,
    confidence: float,
    dp: bool,
) -> pl.DataFrame:
    """Per platform over the period: released totals' sums, metrics, intervals and worker-weeks below standards."""
    exact = aggregate(table, ["platform"])
    margin = totals.filter(pl.col("margin") == "platform") if "platform" in keys else totals.head(0)
    if margin.height == 0:  # the platform is not a dim: its figures rest on its own worker count
        sums = exact.select("platform", "workers", *RELEASED_SUMS).with_columns(
            pl.col("workers").cast(pl.Int64), (pl.col("workers") < k).alias("suppressed")
        )
    else:
        cols = [c for c in RELEASED_SUMS if c in margin.columns]
        sums = margin.select(
            "platform",
            pl.col("workers").cast(pl.Int64),
            *cols,
            *(pl.lit(None, dtype=pl.Float64).alias(c) for c in RELEASED_SUMS if c not in cols),
            pl.col("suppressed"),
        )
        sums = (
            exact.select("platform")
            .join(sums, on="platform", how="left")
            .with_columns(pl.col("suppressed").fill_null(True))
        )
    sums = sums.with_columns(_derived()).with_columns(metric_exprs())
    if dp:
        sums = sums.with_columns(pl.lit(None, dtype=pl.Float64).alias(m) for m in METRICS if m not in DP_METRICS)
    if dp:  # shares below standards are not released with differential privacy
        below = exact.select(
            "platform",
            pl.lit(None, dtype=pl.Float64).alias("n_worker_weeks"),
            *(pl.lit(None, dtype=pl.Float64).alias(f"below_{s.name}") for s in std),
        )
    else:
        below = below_standards(table, ["platform"], std)
    out = sums.join(below, on="platform", how="left")
    if weights is not None and not dp:
        ci = intervals(table, ["platform"], exact, worker_codes=codes, weights=weights, confidence=confidence)
        out = out.join(ci, on="platform", how="left")
    else:
        out = out.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(f"{m}_ci_{side}") for m in CI_METRICS for side in ("lo", "hi")
        )
    hide = [c for c in out.columns if c not in ("platform", "suppressed")]
    return out.with_columns(pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in hide).sort(
        "platform"
    )


def _weekly(cells: pl.DataFrame, totals: pl.DataFrame, std: Sequence[Standard], *, keys: list[str]) -> pl.DataFrame:
    """Per platform and week: the released margin (or the cells themselves when they are platform x week)."""
    cols = ["platform", "week", "workers", *JSON_METRICS, "pay_per_km", "suppressed"]
    if keys == ["platform", "week"]:
        return cells.select([c for c in cols if c in cells.columns])
    if not {"platform", "week"} <= set(keys):
        return pl.DataFrame(schema={"platform": pl.String, "week": pl.Date})
    margin = totals.filter(pl.col("margin") == "platform x week")
    margin = margin.with_columns(
        *(pl.lit(None, dtype=pl.Float64).alias(c) for c in RELEASED_SUMS if c not in margin.columns)
    )
    out = margin.with_columns(_derived()).with_columns(metric_exprs())
    return out.select([c for c in cols if c in out.columns]).sort("platform", "week")


def _distribution(table: pl.DataFrame, platforms: pl.DataFrame) -> pl.DataFrame:
    """Quantiles of worker-weeks' hourly pay per platform (released where the platform's figures are)."""
    weeks = (
        table.group_by("worker_id", "platform", "week")
        .agg(pl.col(c).sum() for c in ("earnings", "net", "engaged_hours", "logged_in_hours"))
        .with_columns(
            (pl.col("earnings") / pl.col("engaged_hours")).alias("hourly_engaged"),
            (pl.col("earnings") / pl.col("logged_in_hours")).alias("hourly_logged_in"),
            (pl.col("net") / pl.col("logged_in_hours")).alias("hourly_net"),
        )
        .filter(pl.col("engaged_hours") > 0)
    )
    released = platforms.filter(~pl.col("suppressed")).get_column("platform").implode()
    long = weeks.filter(pl.col("platform").is_in(released)).unpivot(
        index=["platform"], on=["hourly_engaged", "hourly_logged_in", "hourly_net"], variable_name="metric"
    )
    return (
        long.group_by("platform", "metric")
        .agg(
            pl.len().alias("n_worker_weeks"),
            *(pl.col("value").quantile(q, interpolation="linear").alias(f"p{round(q * 100)}") for q in QUANTILES),
        )
        .sort("platform", "metric")
    )


def _no_changes() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "platform": pl.String,
            "metric": pl.String,
            "date": pl.Date,
            "change": pl.Float64,
            "ci_lo": pl.Float64,
            "ci_hi": pl.Float64,
            "share_of_workers_cut": pl.Float64,
        }
    )


def _detect_changes(jobs: pl.DataFrame, *, seed: np.random.SeedSequence) -> pl.DataFrame:
    """Pooled pay-algorithm changes (``gigshift.pay._changes.detect_changes``)."""
    from gigshift.pay._changes import detect_changes

    pooled, _ = detect_changes(jobs, seed=int(seed.generate_state(1)[0]))
    return pooled


def _released_changes(pooled: pl.DataFrame, platforms: pl.DataFrame) -> pl.DataFrame:
    """The changes of platforms whose figures are released."""
    released = platforms.filter(~pl.col("suppressed")).get_column("platform").implode()
    pooled = pooled.filter(pl.col("platform").is_in(released))
    keep = [c for c in _no_changes().columns if c in pooled.columns]
    return pooled.select(keep).sort("platform", "metric", "date")


def _gaps(
    table: pl.DataFrame, workers: pl.DataFrame, *, k: int, controls: Sequence[str], seed: np.random.SeedSequence
) -> pl.DataFrame:
    """Oaxaca-Blinder gaps in log pay per engaged hour, by each attribute, between its two largest groups."""
    import statsmodels.stats.oaxaca  # noqa: F401  (imported first: its import resets warning filters)
    from threadpoolctl import threadpool_limits

    from gigshift.audit import pay_gap

    schema = {
        "attribute": pl.String,
        "reference": pl.String,
        "comparison": pl.String,
        "n_reference": pl.Int64,
        "n_comparison": pl.Int64,
        "gap": pl.Float64,
        "explained": pl.Float64,
        "unexplained": pl.Float64,
        "explained_se": pl.Float64,
        "unexplained_se": pl.Float64,
        "controls": pl.List(pl.String),
        "note": pl.String,
    }
    attributes = [c for c in workers.columns if c != "worker_id"]
    if not attributes:
        return pl.DataFrame(schema=schema)
    # one row per worker (the unit the bootstrap resamples): pay per engaged hour over all their jobs; controls
    # are the shares of their engaged hours in each kind of work (platform x category) and the area they work in most
    controls = list(dict.fromkeys(controls))
    kind = [c for c in ("platform", "category") if c in controls]
    # whole cents and microseconds, summed as integers: exact, so parallel sums give the same fit on every run
    table = table.with_columns(
        (pl.col("earnings") * 100).round(0).cast(pl.Int64).alias("_cents"),
        (pl.col("engaged_hours") * _US_PER_HOUR).round(0).cast(pl.Int64).alias("_us"),
    )
    rows = (
        table.group_by("worker_id")
        .agg(
            (pl.col("_cents").sum() / 100).alias("earnings"),
            (pl.col("_us").sum() / _US_PER_HOUR).alias("engaged_hours"),
        )
        .filter(pl.col("engaged_hours") > 0)
        .with_columns((pl.col("earnings") / pl.col("engaged_hours")).alias("hourly_engaged"))
        .filter(pl.col("hourly_engaged") > 0)
        .join(workers, on="worker_id", how="inner")
    )
    control_cols: list[str] = []
    if kind:
        shares = (
            table.with_columns(pl.concat_str(kind, separator="/").alias("_kind"))
            .group_by("worker_id", "_kind")
            .agg(pl.col("_us").sum().alias("engaged_hours"))
            .with_columns(pl.col("engaged_hours") / pl.col("engaged_hours").sum().over("worker_id"))
            .pivot(on="_kind", index="worker_id", values="engaged_hours", sort_columns=True)
            .fill_null(0.0)
        )
        names = [c for c in shares.columns if c != "worker_id"][1:]  # shares sum to 1: drop the first
        shares = shares.select("worker_id", *(pl.col(c).alias(f"share {c}") for c in names))
        rows = rows.join(shares, on="worker_id", how="left")
        control_cols += [f"share {c}" for c in names]
    for c in (c for c in controls if c not in kind):
        main = (
            table.group_by("worker_id", c)
            .agg(pl.col("_us").sum().alias("_h"))
            .sort(["worker_id", "_h", c], descending=[False, True, False], nulls_last=True)
            .unique("worker_id", keep="first")
            .select("worker_id", pl.col(c).alias(f"main {c}"))
        )
        rows = rows.join(main, on="worker_id", how="left")
        control_cols.append(f"main {c}")
    out = []
    children = seed.spawn(len(attributes))
    for attribute, child in zip(attributes, children, strict=True):
        sizes = (
            rows.filter(pl.col(attribute).is_not_null())
            .group_by(attribute)
            .agg(pl.col("worker_id").n_unique().alias("n"))
            .sort(["n", attribute], descending=[True, False])
        )
        big = sizes.filter(pl.col("n") >= k)
        base = {c: None for c in schema}
        base.update(attribute=attribute, controls=list(controls))
        if big.height < 2:
            out.append({**base, "note": f"fewer than two groups with at least {k} workers; not released"})
            continue
        reference, comparison = big.item(0, attribute), big.item(1, attribute)
        sub = rows.filter(pl.col(attribute).is_in([reference, comparison]))
        used = [c for c in control_cols if sub.get_column(c).n_unique() > 1]
        with warnings.catch_warnings(), threadpool_limits(1):
            # collinear controls (a worker's shares of kinds of work) are fine: the parts of the gap stay defined
            warnings.simplefilter("ignore", category=UserWarning)
            # one BLAS thread: hundreds of small least-squares fits run 4x faster than with threads fighting
            result = pay_gap(
                sub,
                group=attribute,
                outcome="hourly_engaged",
                controls=used or ["engaged_hours"],
                reference=reference,
                comparison=comparison,
                log_outcome=True,
                n_bootstrap=GAP_BOOTSTRAP,
                seed=int(child.generate_state(1)[0]),
            )
        out.append(
            {
                **base,
                "reference": reference,
                "comparison": comparison,
                "n_reference": int(big.item(0, "n")),
                "n_comparison": int(big.item(1, "n")),
                "gap": result.gap,
                "explained": result.explained,
                "unexplained": result.unexplained,
                "explained_se": result.explained_se,
                "unexplained_se": result.unexplained_se,
                "controls": used or ["engaged_hours"],
                "note": "log points of pay per engaged hour, one row per worker",
            }
        )
    return pl.DataFrame(out, schema=schema)
