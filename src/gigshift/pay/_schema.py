"""The collective pay audit's canonical tables: jobs, logged-in sessions, workers and consent.

Every importer maps a platform's export onto these columns; every metric, the privacy tools and
the change detector read them. Money columns are in the row's ``currency`` (one per pool), times
are UTC, and missing is null.

Jobs (one row per paid job: a trip, a delivery, a task)

=============  ===========  ========  ==========================================================
column         dtype        required  meaning
=============  ===========  ========  ==========================================================
worker_id      String       yes       who did the job (a pseudonymous id)
platform       String       yes       the platform or app, e.g. ``"rideco"``
category       String       yes       the kind of job, e.g. ``"ride"``, ``"food"``
area           String       no        where, e.g. a city zone
start          Datetime UTC yes       when the job started (accepted or picked up)
end            Datetime UTC yes       when it ended; after ``start``
distance_km    Float64      no        distance driven or ridden for the job, >= 0
client_price   Float64      no        what the client paid the platform, >= ``worker_pay``
worker_pay     Float64      yes       what the platform paid the worker for the job, >= 0
tips           Float64      no        tips, >= 0
bonus          Float64      no        bonuses and incentives attributed to the job, >= 0
fees           Float64      no        fees the platform charged the worker, >= 0
currency       String       yes       ISO 4217 code of every money column, e.g. ``"USD"``
=============  ===========  ========  ==========================================================

Sessions: ``worker_id, platform, start, end`` (logged-in, available for work; ``end`` after
``start``). Workers: ``worker_id`` plus optional group attributes (text; null = not disclosed).
Consent: one row per contribution and worker (see :data:`CONSENT_SCHEMA`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

TableKind = Literal["jobs", "sessions", "workers"]
UTC_DATETIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True, slots=True)
class Column:
    """One canonical column: dtype, whether it must be given, and the check a non-null value passes.

    ``check`` takes the parsed column and returns true where a non-null value is acceptable;
    ``expected`` says what is acceptable, for error messages.
    """

    name: str
    dtype: pl.DataType
    expected: str
    required: bool = False
    check: Callable[[pl.Expr], pl.Expr] | None = None


def _non_negative(x: pl.Expr) -> pl.Expr:
    return x.is_finite() & (x >= 0)


def _currency_code(x: pl.Expr) -> pl.Expr:
    return x.str.contains(r"^[A-Z]{3}$")


def _id(name: str) -> Column:
    return Column(name, pl.String, f"a non-empty {name.replace('_', ' ')}", required=True)


COLUMNS: dict[str, tuple[Column, ...]] = {
    "jobs": (
        _id("worker_id"),
        _id("platform"),
        Column("category", pl.String, "a non-empty job category", required=True),
        Column("area", pl.String, "an area name, or empty"),
        Column("start", UTC_DATETIME, "an ISO 8601 date-time", required=True),
        Column("end", UTC_DATETIME, "an ISO 8601 date-time after start", required=True),
        Column("distance_km", pl.Float64, "a distance in km >= 0, or empty", check=_non_negative),
        Column("client_price", pl.Float64, "an amount >= 0, or empty", check=_non_negative),
        Column("worker_pay", pl.Float64, "an amount >= 0", required=True, check=_non_negative),
        Column("tips", pl.Float64, "an amount >= 0, or empty", check=_non_negative),
        Column("bonus", pl.Float64, "an amount >= 0, or empty", check=_non_negative),
        Column("fees", pl.Float64, "an amount >= 0, or empty", check=_non_negative),
        Column(
            "currency", pl.String, "a three-letter ISO 4217 code such as 'USD'", required=True, check=_currency_code
        ),
    ),
    "sessions": (
        _id("worker_id"),
        _id("platform"),
        Column("start", UTC_DATETIME, "an ISO 8601 date-time", required=True),
        Column("end", UTC_DATETIME, "an ISO 8601 date-time after start", required=True),
    ),
    "workers": (_id("worker_id"),),
}

#: Column name to Polars dtype, per table kind, in canonical order.
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    kind: {c.name: c.dtype for c in columns} for kind, columns in COLUMNS.items()
}
JOB_COLUMNS: tuple[str, ...] = tuple(SCHEMAS["jobs"])
SESSION_COLUMNS: tuple[str, ...] = tuple(SCHEMAS["sessions"])
MONEY_COLUMNS: tuple[str, ...] = ("client_price", "worker_pay", "tips", "bonus", "fees")

#: One row per contribution and worker: who gave it, when, under which terms; revoked_at null while valid.
CONSENT_SCHEMA: dict[str, pl.DataType] = {
    "contribution_id": pl.String,
    "worker_id": pl.String,
    "given_at": UTC_DATETIME,
    "terms": pl.String,
    "source": pl.String,
    "n_jobs": pl.Int64,
    "n_sessions": pl.Int64,
    "revoked_at": UTC_DATETIME,
}
