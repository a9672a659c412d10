"""Checks of the tables ``market`` reads beyond the market schemas: decision log, assignments, simulation categories.

Each column is parsed once, vectorised; every bad cell is collected (row 1 = first data row) and
raised together as one :class:`~gigshift.InputError` naming the table, the first row and column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from gigshift._errors import InputError
from gigshift._tables import as_polars, require_columns

_FAILURE_SCHEMA = {"row": pl.Int64, "column": pl.String, "expected": pl.String, "got": pl.String}
_ROW = "__insights_row"


@dataclass(frozen=True, slots=True)
class Spec:
    """One column: target dtype, whether it must be present, nulls allowed, the value check and its wording."""

    name: str
    dtype: pl.DataType
    expected: str
    required: bool = False
    nullable: bool = True
    check: Callable[[pl.Expr], pl.Expr] | None = None


def _positive(x: pl.Expr) -> pl.Expr:
    return x.is_finite() & (x > 0)


def _unit(x: pl.Expr) -> pl.Expr:
    return x.is_between(0, 1)


def _non_negative(x: pl.Expr) -> pl.Expr:
    return x >= 0


#: Decision-log columns ``market`` uses (the allocation engine's format, see ``gigshift.allocate.LOG_COLUMNS``).
LOG_SPECS: tuple[Spec, ...] = (
    Spec("task_id", pl.String, "a task id", required=True, nullable=False),
    Spec("worker_id", pl.String, "a worker id", required=True, nullable=False),
    Spec("category", pl.String, "a gig category slug", required=True, nullable=False),
    Spec("is_selected", pl.Boolean, "true or false", required=True, nullable=False),
    Spec("price_usd", pl.Float64, "a finite number > 0, or empty", check=_positive),
    Spec("is_bid", pl.Boolean, "true or false, or empty"),
    Spec("outcome", pl.String, "an outcome such as 'lost', or empty"),
    Spec("budget_usd", pl.Float64, "a finite number > 0, or empty", check=_positive),
    Spec("expected_hours", pl.Float64, "a finite number > 0, or empty", check=_positive),
    Spec("n_required_skills", pl.Int64, "a whole number >= 0, or empty", check=_non_negative),
    Spec("worker_rating", pl.Float64, "a number from 1 to 5, or empty", check=lambda x: x.is_between(1, 5)),
    Spec("worker_n_jobs_completed", pl.Int64, "a whole number >= 0, or empty", check=_non_negative),
    Spec("worker_reliability", pl.Float64, "a number from 0 to 1, or empty", check=_unit),
    Spec("skill_match", pl.Float64, "a number from 0 to 1, or empty", check=_unit),
    Spec("week", pl.Int64, "a whole number >= 0", nullable=False, check=_non_negative),
    Spec("replicate", pl.Int64, "a whole number >= 0", nullable=False, check=_non_negative),
)

#: The simulator's per-category, per-week table (``SimulationResult.categories``).
CATEGORY_SPECS: tuple[Spec, ...] = (
    Spec("category", pl.String, "a gig category slug", required=True, nullable=False),
    Spec("week", pl.Int64, "a whole number >= 0", required=True, nullable=False, check=_non_negative),
    Spec("posted", pl.Int64, "a whole number >= 0", required=True, nullable=False, check=_non_negative),
    Spec("filled", pl.Int64, "a whole number >= 0", required=True, nullable=False, check=_non_negative),
    Spec("bids_per_task", pl.Float64, "a number >= 0, or empty", check=_non_negative),
    Spec("active_workers", pl.Int64, "a whole number >= 0", required=True, nullable=False, check=_non_negative),
    Spec("mean_price_usd", pl.Float64, "a finite number > 0, or empty", check=_positive),
    Spec("date", pl.Date, "a date, or empty"),
    Spec("replicate", pl.Int64, "a whole number >= 0", nullable=False, check=_non_negative),
)

#: ``gigshift allocate run``'s assignments.
ASSIGNMENT_SPECS: tuple[Spec, ...] = (
    Spec("task_id", pl.String, "a task id", required=True, nullable=False),
    Spec("worker_id", pl.String, "a worker id", required=True, nullable=False),
    Spec("price_usd", pl.Float64, "a finite number > 0", required=True, nullable=False, check=_positive),
)

SPECS = {"decision_log": LOG_SPECS, "categories": CATEGORY_SPECS, "assignments": ASSIGNMENT_SPECS}


def _cast(name: str, dtype: pl.DataType, source_dtype: pl.DataType) -> pl.Expr:
    src = pl.col(name)
    if isinstance(source_dtype, pl.Categorical | pl.Enum):
        src = src.cast(pl.String)
        source_dtype = pl.String
    if dtype == pl.Boolean and source_dtype == pl.String:
        low = src.str.strip_chars().str.to_lowercase()
        return (
            pl.when(low.is_in(["true", "t", "yes", "1"]))
            .then(True)
            .when(low.is_in(["false", "f", "no", "0"]))
            .then(False)
            .otherwise(None)
        )
    if dtype == pl.Boolean and source_dtype.is_numeric():
        return pl.when(src == 1).then(True).when(src == 0).then(False).otherwise(None)
    if dtype == pl.Int64 and source_dtype.is_float():
        return pl.when(src.is_finite() & (src == src.round(0))).then(src).otherwise(None).cast(pl.Int64)
    if dtype == pl.Date and source_dtype == pl.String:
        return src.str.to_date(strict=False)
    if dtype == pl.Date and isinstance(source_dtype, pl.Datetime):
        return src.dt.date()
    if source_dtype == pl.String and dtype != pl.String:
        return src.str.strip_chars().cast(dtype, strict=False)
    return src.cast(dtype, strict=False)


def _bad(s: Spec, source_dtype: pl.DataType) -> pl.Expr | None:
    """True where a parsed cell fails: unparsable text, a forbidden null, a value outside the check."""
    value = pl.col(s.name)
    terms = []
    if source_dtype != s.dtype and source_dtype != pl.Null:
        terms.append(value.is_null() & pl.col(f"__raw_{s.name}").is_not_null())  # did not parse
    if not s.nullable:
        terms.append(value.is_null())
    if s.check is not None:
        terms.append(value.is_not_null() & ~s.check(value).fill_null(False))
    if s.dtype == pl.String and not s.nullable:
        # empty ids fail; a byte-length test costs a tenth of stripping ten million strings
        terms.append((value.str.len_bytes() == 0).fill_null(False))
    if not terms:
        return None
    bad = terms[0]
    for term in terms[1:]:
        bad = bad | term
    return bad


def check_table(table: object, *, kind: str, source: str) -> pl.DataFrame:
    """Parse ``table`` through the specs of ``kind`` (present columns only) and raise every bad cell at once.

    Returns the parsed columns of the specs that are present, in spec order; other columns are dropped.
    One vectorised pass counts the failures of every column; rows are listed only for columns that fail.
    """
    frame = as_polars(table, name=source)
    specs = SPECS[kind]
    require_columns(frame, {s.name: s.name for s in specs if s.required}, source=source)
    present = [s for s in specs if s.name in frame.columns]
    schema = frame.schema
    raw = [pl.col(s.name).alias(f"__raw_{s.name}") for s in present if schema[s.name] not in (s.dtype, pl.Null)]
    work = frame.select(
        *[_cast(s.name, s.dtype, schema[s.name]).alias(s.name) for s in present],
        *raw,
    )
    checks = {s.name: bad for s in present if (bad := _bad(s, schema[s.name])) is not None}
    counts = work.select(**{name: bad.sum() for name, bad in checks.items()}).row(0, named=True) if checks else {}
    failing = [s for s in present if counts.get(s.name)]
    if failing:
        failures = []
        for s in failing:
            rows = work.with_row_index(_ROW, offset=1).filter(checks[s.name])
            original = frame.get_column(s.name).gather(rows.get_column(_ROW) - 1)
            failures.append(
                pl.DataFrame(
                    {
                        "row": rows.get_column(_ROW).cast(pl.Int64),
                        "column": s.name,
                        "expected": s.expected,
                        "got": original.cast(pl.String).fill_null(""),
                    },
                    schema=_FAILURE_SCHEMA,
                )
            )
        raise InputError(pl.concat(failures).sort("row", "column"), source=source)
    return work.select([s.name for s in present])


def log_columns() -> list[str]:
    """The decision-log columns ``market`` reads (when present)."""
    return [s.name for s in LOG_SPECS]
