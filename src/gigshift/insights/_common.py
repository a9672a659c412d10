"""Helpers shared by the insights modules: Markdown tables, JSON-safe rows, small-sample critical values."""

from __future__ import annotations

import datetime as dt

import polars as pl


def md_table(frame: pl.DataFrame, columns: list[str], *, digits: int = 3) -> str:
    """A Markdown table of ``columns`` (floats rounded, nulls as an en dash)."""

    def cell(value: object) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.select(columns).iter_rows()]
    return "\n".join(lines)


def json_rows(frame: pl.DataFrame) -> list[dict[str, object]]:
    """Rows as dicts with dates as ISO strings."""
    rows = frame.to_dicts()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dt.date):
                row[key] = value.isoformat()
    return rows
