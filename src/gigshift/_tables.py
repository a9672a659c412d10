"""Table plumbing shared by the engines: conversion at the public edge, column and option checks, JSON."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any, get_args

import polars as pl

from gigshift._errors import GigshiftError, InputError


def as_polars(table: object, *, name: str) -> pl.DataFrame:
    """Convert a Polars, pandas or Arrow table to Polars, once, at the public edge."""
    kind = type(table).__module__.split(".")[0]
    if kind == "polars" and isinstance(table, pl.DataFrame):
        return table
    if kind == "pandas":
        return pl.from_pandas(table)
    if kind == "pyarrow":
        return pl.from_arrow(table)  # type: ignore[return-value]
    raise TypeError(f"{name} must be a Polars, pandas or Arrow table; got {type(table).__name__}")


def check_option(name: str, value: Any, allowed: Any, *, caller: str) -> None:
    """Raise a GigshiftError unless ``value`` is one of the ``Literal`` type ``allowed``."""
    choices = get_args(allowed)
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise GigshiftError(f"{caller}: {name} must be one of {listed}; got {value!r}")


def check_positive_int(name: str, value: Any, *, caller: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise a GigshiftError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GigshiftError(f"{caller}: {name} must be an integer >= 1; got {value!r}")
    return value


def closest_column(name: str, columns: Sequence[str]) -> str:
    """`` (closest: 'x', 'y')`` or ``""``, for error messages about a missing column."""
    close = difflib.get_close_matches(name, list(columns), n=2, cutoff=0.5)
    return f" (closest: {', '.join(repr(c) for c in close)})" if close else ""


def require_columns(frame: pl.DataFrame, names: dict[str, str | None], *, source: str) -> None:
    """Raise an InputError naming every missing column, with the closest existing names."""
    failures = []
    for role, name in names.items():
        if name is not None and name not in frame.columns:
            failures.append(
                {
                    "row": None,
                    "column": name,
                    "expected": f"a column for {role}{closest_column(name, frame.columns)}",
                    "got": "missing",
                }
            )
    if failures:
        raise InputError(pl.DataFrame(failures, schema=_FAILURE_SCHEMA), source=source)


_FAILURE_SCHEMA = {"row": pl.Int64, "column": pl.String, "expected": pl.String, "got": pl.String}


def finite(value: object) -> object:
    """``value`` with every non-finite float (NaN, inf) replaced by None, for ``json.dumps(allow_nan=False)``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
