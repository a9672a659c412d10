"""Table plumbing shared by the engines: conversion at the public edge and option checks."""

from __future__ import annotations

from typing import Any, get_args

import polars as pl

from gigshift._errors import GigshiftError


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
