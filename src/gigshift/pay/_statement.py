"""One worker's private statement: their own numbers beside the pool's protected ones."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import check_positive_int, finite
from gigshift.pay._audit import (
    RELEASED_SUMS,
    _cell_sums,
    _distribution,
    _fill_area,
    _inputs,
    _md_table,
    _with_metrics,
    rounded,
)
from gigshift.pay._config import PayConfig, standards_table
from gigshift.pay._metrics import aggregate, standard_counts, standard_rate, units
from gigshift.pay._schema import CONSENT_SCHEMA

OWN = ("n_jobs", "engaged_hours", "logged_in_hours", "earnings", "net", "hourly_engaged", "hourly_logged_in",
       "hourly_net", "utilisation", "take_rate", "pay_per_job", "pay_per_km", "tips_share")  # fmt: skip
WEEK_COLUMNS = ("platform", "week", "n_jobs", "hourly_logged_in", "pool_hourly_logged_in", "hourly_net",
                "pool_hourly_net", "utilisation", "pool_utilisation")  # fmt: skip
POOL = ("hourly_engaged", "hourly_logged_in", "hourly_net", "utilisation", "take_rate")


@dataclass(frozen=True, slots=True)
class Statement:
    """A worker's statement.

    ``weeks``: per platform and week, the worker's own figures, ``below_<standard>`` (true when
    the week's pay is below it) and the pool's (``pool_*``, null where protected). ``platforms``:
    the same over the whole period, with the pool's quartiles of pay per logged-in hour.
    ``cuts``: pay-algorithm changes that cut this worker's pay. ``consent``: their consent rows.
    """

    worker_id: str
    currency: str | None
    k: int
    weeks: pl.DataFrame
    platforms: pl.DataFrame
    cuts: pl.DataFrame
    consent: pl.DataFrame
    standards: pl.DataFrame
    provenance: Provenance

    def tidy(self) -> pl.DataFrame:
        return self.weeks

    def sentences(self) -> list[str]:
        cur = self.currency or ""
        out = []
        for r in self.platforms.iter_rows(named=True):
            line = (
                f"On {r['platform']} you earned {r['hourly_logged_in']:.2f} {cur} per logged-in hour "
                f"({r['hourly_net']:.2f} after costs) over {r['n_jobs']:,} jobs."
            )
            if r.get("pool_p50") is not None:
                line += (
                    f" Half the pool's worker-weeks there earned between {r['pool_p25']:.2f} and {r['pool_p75']:.2f}"
                    f" {cur} (median {r['pool_p50']:.2f})."
                )
            out.append(line)
        names = self.standards.get_column("name").to_list()
        n_weeks = self.weeks.height
        for name in names:
            below = int(self.weeks.get_column(f"below_{name}").sum()) if n_weeks else 0
            value = self.standards.filter(pl.col("name") == name).item(0, "value")
            out.append(f"{below} of your {n_weeks} platform-weeks were below {name} ({value:.2f} {cur} an hour).")
        for r in self.cuts.iter_rows(named=True):
            out.append(f"{r['platform']} changed {r['metric']} on {r['date']}: {r['change']:+.1%} for you.")
        return out

    def to_dict(self) -> dict[str, Any]:
        def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
            return [{k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()} for r in frame.to_dicts()]

        return rounded(
            finite(
                {
                    "worker_id": self.worker_id,
                    "currency": self.currency,
                    "k": self.k,
                    "weeks": rows(self.weeks),
                    "platforms": rows(self.platforms),
                    "cuts": rows(self.cuts),
                    "consent": rows(self.consent),
                    "standards": self.standards.to_dicts(),
                    "provenance": self.provenance.to_dict(),
                }
            )
        )  # type: ignore[return-value]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    def to_markdown(self) -> str:
        lines = [
            f"# Pay statement for {self.worker_id}",
            "",
            f"Your own numbers beside the pool's (no pool figure describes fewer than {self.k} workers).",
            "",
            *[f"- {s}" for s in self.sentences()],
            "",
            "## Week by week",
            "",
            _md_table(self.weeks, WEEK_COLUMNS),
            "## Your consent",
            "",
            _md_table(self.consent, ["contribution_id", "given_at", "terms", "revoked_at"]),
        ]
        return "\n".join(lines)

    def to_html(self, path: str | Path | None = None) -> str:
        from gigshift._html import write_atomic
        from gigshift.pay._report import statement_html

        text = statement_html(self)
        if path is not None:
            write_atomic(Path(path), text)
        return text


def statement(
    data: object,
    *,
    worker_id: str,
    sessions: object | None = None,
    config: PayConfig | None = None,
    k: int = 11,
    detect: bool = True,
    seed: int | None = None,
) -> Statement:
    """One worker's own figures beside the pool's protected ones, for that worker's eyes only.

    Parameters
    ----------
    data : Pool or table
        A pool (or a jobs table with ``sessions``).
    worker_id : str
        Whose statement.
    k : int, default=11
        The pool's figures beside the worker's are withheld where fewer than ``k`` workers (or
        enough other cells to protect those) stand behind them.
    detect : bool, default=True
        Name pay-algorithm changes that cut this worker's pay.
    seed : int, optional
        For the change detection.

    Raises
    ------
    GigshiftError
        The worker has no records with consent in force (never contributed, or revoked).
    """
    k = check_positive_int("k", k, caller="statement")
    jobs, sess, _, config, pool = _inputs(data, sessions, None, config)
    if worker_id not in jobs.get_column("worker_id").unique().to_list():
        raise GigshiftError(f"statement: worker {worker_id!r} has no records with consent in force in this pool")
    table = _fill_area(units(jobs, sess, config))
    std = config.standards
    keys = ["platform", "week"]

    from gigshift.pay._privacy import suppress_with_totals

    exact = _cell_sums(table, keys, std)
    values = [*RELEASED_SUMS, *standard_counts(std)]
    contributions = table.select("worker_id", *keys)
    released, totals = suppress_with_totals(exact, k=k, dims=tuple(keys), values=values, contributions=contributions)
    pool_cells = _with_metrics(released, std)
    pool_platforms = _with_metrics(
        totals.filter(pl.col("margin") == "platform").with_columns(
            *(pl.lit(None, dtype=pl.Float64).alias(c) for c in RELEASED_SUMS if c not in totals.columns)
        ),
        std,
    )

    mine = table.filter(pl.col("worker_id") == worker_id)
    own_weeks = aggregate(mine, keys).with_columns(
        *((standard_rate(s) < s.value).fill_null(False).alias(f"below_{s.name}") for s in std)
    )
    weeks = own_weeks.select(*keys, *OWN, *(f"below_{s.name}" for s in std)).join(
        pool_cells.select(
            *keys, pl.col("workers").alias("pool_workers"), *(pl.col(m).alias(f"pool_{m}") for m in POOL)
        ),
        on=keys,
        how="left",
    )
    own_platforms = aggregate(mine, ["platform"]).select("platform", *OWN)
    released = pool_platforms.filter(~pl.col("suppressed").fill_null(True))
    quartiles = (
        _distribution(table, released.select("platform", pl.lit(False).alias("suppressed")))
        .filter(pl.col("metric") == "hourly_logged_in")
        .select(
            "platform",
            pl.col("p25").alias("pool_p25"),
            pl.col("p50").alias("pool_p50"),
            pl.col("p75").alias("pool_p75"),
        )
    )
    platforms = own_platforms.join(
        released.select(
            "platform", pl.col("workers").alias("pool_workers"), *(pl.col(m).alias(f"pool_{m}") for m in POOL)
        ),
        on="platform",
        how="left",
    ).join(quartiles, on="platform", how="left")

    cuts = pl.DataFrame(schema={"platform": pl.String, "metric": pl.String, "date": pl.Date, "change": pl.Float64})
    if detect:
        from gigshift.pay._changes import detect_changes

        child = np.random.SeedSequence(seed).spawn(1)[0]
        _, per_worker = detect_changes(jobs, seed=int(child.generate_state(1)[0]))
        cols = [c for c in cuts.columns if c in per_worker.columns]
        cut = pl.col("is_cut") if "is_cut" in per_worker.columns else pl.col("change") < 0
        cuts = per_worker.filter((pl.col("worker_id") == worker_id) & cut).select(cols)
    consent = (
        pool.consent.filter(pl.col("worker_id") == worker_id).drop("worker_id")
        if pool is not None
        else pl.DataFrame(schema={c: t for c, t in CONSENT_SCHEMA.items() if c != "worker_id"})
    )
    provenance = Provenance(
        sources=(),
        method="the worker's ratios of sums over their own jobs; the pool's k-anonymous cells by platform and week",
        gigshift_version=gigshift.__version__,
        seed=seed,
    )
    return Statement(
        worker_id=worker_id,
        currency=config.currency,
        k=k,
        weeks=weeks.sort(keys),
        platforms=platforms.sort("platform"),
        cuts=cuts,
        consent=consent,
        standards=standards_table(std),
        provenance=provenance,
    )
