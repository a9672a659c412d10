"""The market tables' schemas: one dtype per column, which columns are required, defaults and checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

TableKind = Literal["workers", "clients", "tasks", "bids"]
KINDS: tuple[str, ...] = ("workers", "clients", "tasks", "bids")

#: Optional worker columns describing protected or reported groups (String; null = not disclosed).
GROUP_ATTRIBUTES: tuple[str, ...] = ("sex", "race_ethnicity", "age_band", "country")

UTC_DATETIME = pl.Datetime("us", "UTC")
TEXT_LIST = pl.List(pl.String)


@dataclass(frozen=True, slots=True)
class Column:
    """One schema column: dtype, whether it must be present, the default filling nulls, and its check.

    ``default`` fills a missing column and null cells (``None``: stays null). ``check`` takes the parsed
    column and returns true where a non-null value is acceptable; ``expected`` describes what is
    acceptable, for error messages.
    """

    name: str
    dtype: pl.DataType
    expected: str
    required: bool = False
    nullable: bool = True
    default: object = None
    check: Callable[[pl.Expr], pl.Expr] | None = None
    is_id: bool = False


def _positive(x: pl.Expr) -> pl.Expr:
    return x.is_finite() & (x > 0)


def _non_negative(x: pl.Expr) -> pl.Expr:
    return x >= 0


def _non_empty_list(x: pl.Expr) -> pl.Expr:
    return x.list.len() > 0


COLUMNS: dict[str, tuple[Column, ...]] = {
    "workers": (
        Column("worker_id", pl.String, "a non-empty worker id", required=True, nullable=False, is_id=True),
        Column(
            "categories",
            TEXT_LIST,
            "a non-empty list of gig category slugs ('a;b' in CSV)",
            required=True,
            nullable=False,
            check=_non_empty_list,
        ),
        Column("skills", TEXT_LIST, "a list of skills ('a;b' in CSV)", nullable=False, default=[]),
        Column("hourly_rate_usd", pl.Float64, "a finite number > 0", required=True, nullable=False, check=_positive),
        Column("rating", pl.Float64, "a number from 1 to 5, or empty", check=lambda x: x.is_between(1, 5)),
        Column("n_jobs_completed", pl.Int64, "a whole number >= 0", nullable=False, default=0, check=_non_negative),
        Column("reliability", pl.Float64, "a number from 0 to 1, or empty", check=lambda x: x.is_between(0, 1)),
        Column("capacity", pl.Int64, "a whole number >= 0", nullable=False, default=1, check=_non_negative),
        Column("is_remote", pl.Boolean, "true or false", nullable=False, default=True),
        Column("location", pl.String, "an area name, or empty"),
        Column("time_zone", pl.String, "an IANA time zone such as 'Asia/Kolkata', or empty"),
        Column("last_assigned_at", UTC_DATETIME, "an ISO 8601 date-time, or empty"),
    ),
    "clients": (
        Column("client_id", pl.String, "a non-empty client id", required=True, nullable=False, is_id=True),
        Column("country", pl.String, "a country name, or empty"),
    ),
    "tasks": (
        Column("task_id", pl.String, "a non-empty task id", required=True, nullable=False, is_id=True),
        Column("client_id", pl.String, "a non-empty client id", required=True, nullable=False),
        Column("category", pl.String, "a gig category slug", required=True, nullable=False),
        Column("required_skills", TEXT_LIST, "a list of skills ('a;b' in CSV)", nullable=False, default=[]),
        Column("budget_usd", pl.Float64, "a finite number > 0", required=True, nullable=False, check=_positive),
        Column("expected_hours", pl.Float64, "a finite number > 0, or empty", check=_positive),
        Column("posted_at", UTC_DATETIME, "an ISO 8601 date-time", required=True, nullable=False),
        # default: false for an on-location category, true otherwise (filled in _validate)
        Column("is_remote", pl.Boolean, "true or false", nullable=False),
        Column("location", pl.String, "an area name, or empty"),
        Column("text", pl.String, "text, or empty"),
    ),
    "bids": (
        Column("task_id", pl.String, "a non-empty task id", required=True, nullable=False),
        Column("worker_id", pl.String, "a non-empty worker id", required=True, nullable=False),
        Column("price_usd", pl.Float64, "a finite number > 0", required=True, nullable=False, check=_positive),
        Column("bid_at", UTC_DATETIME, "an ISO 8601 date-time, or empty"),
    ),
}

#: Column name to Polars dtype, per table kind, in output order (extra columns follow).
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    kind: {c.name: c.dtype for c in columns} for kind, columns in COLUMNS.items()
}
