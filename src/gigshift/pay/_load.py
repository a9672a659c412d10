"""Loading one contribution: an export (CSV or Parquet, mapped by YAML) checked into canonical tables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift._tables import as_polars, check_option
from gigshift.pay._mapping import ColumnMapping, apply_mapping, formats_of, mapping_from_dict, read_mapping
from gigshift.pay._schema import COLUMNS, SCHEMAS
from gigshift.pay._validate import (
    FAILURE_SCHEMA,
    ROW,
    OnBad,
    check_time_zone,
    mixed_currency,
    no_failures,
    overlaps,
    parse,
    sort_failures,
)

SET_ASIDE_SCHEMA = {"file": pl.String, **FAILURE_SCHEMA}


@dataclass(frozen=True, slots=True)
class Contribution:
    """One worker's (or one export's) records in canonical columns, checked, ready to add to a pool.

    ``set_aside`` lists every failure of the rows left out with ``on_bad="set_aside"`` (file, row,
    column, expected, got); ``n_left_out`` counts rows the mapping's ``keep`` filters dropped
    (cancelled trips and the like), which are not errors.
    """

    jobs: pl.DataFrame
    sessions: pl.DataFrame
    workers: pl.DataFrame
    set_aside: pl.DataFrame
    n_left_out: int
    sources: tuple[str, ...]
    mapping: str | None
    ignored_columns: tuple[str, ...] = ()
    time_zone: str = "UTC"
    rows: dict[str, pl.Series] | None = None  # each table row's data row in its source file

    @property
    def n_set_aside(self) -> int:
        """Rows set aside (a row with several failures counts once)."""
        return self.set_aside.select("file", "row").unique().height

    def summary(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "mapping": self.mapping,
            "jobs": self.jobs.height,
            "sessions": self.sessions.height,
            "workers": self.jobs.get_column("worker_id").n_unique() if self.jobs.height else 0,
            "rows_set_aside": self.n_set_aside,
            "rows_left_out_by_mapping": self.n_left_out,
            "ignored_columns": list(self.ignored_columns),
        }

    def to_json(self) -> str:
        body = {**self.summary(), "set_aside": self.set_aside.head(1000).to_dicts()}
        return json.dumps(body, allow_nan=False)


def read_export(path: Path, *, separator: str = ",") -> pl.DataFrame:
    """A CSV (read as text, so every cell is checked through the schema) or Parquet file."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".txt"):
        raise GigshiftError(f"{path.name}: expected a .csv or .parquet file, got {suffix or 'no suffix'!r}")
    if not path.is_file():
        raise InputError.single(source=str(path), expected="an existing file", got="missing")
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, infer_schema=False, separator=separator, encoding="utf8", truncate_ragged_lines=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        what = "a UTF-8 CSV file with a header row" if suffix != ".parquet" else "a readable Parquet file"
        raise InputError.single(
            source=path.name, expected=what, got=f"unreadable ({str(exc).splitlines()[0][:160]})"
        ) from None


def _as_mapping(mapping: object) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, dict):
        return mapping_from_dict(mapping)
    if isinstance(mapping, str | os.PathLike):
        return read_mapping(Path(mapping))
    raise TypeError(f"mapping must be a path, a dict or None; got {type(mapping).__name__}")


def _frame(data: object, *, name: str, separator: str) -> tuple[pl.DataFrame, str]:
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        return read_export(path, separator=separator), path.name
    return as_polars(data, name=name), name


def _one(
    data: object,
    *,
    kind: str,
    name: str,
    mapping: ColumnMapping | None,
    time_zone: str,
    fill: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, int, str, tuple[str, ...]]:
    """Read, map and parse one table.

    Returns ``(parsed with ROW, failures named by export column, n_left_out, source, ignored columns)``.
    """
    frame, source = _frame(data, name=name, separator=mapping.separator if mapping else ",")
    labels: dict[str, str] = {}
    n_left_out = 0
    ignored: tuple[str, ...] = ()
    map_failures = no_failures()
    if mapping is not None and kind in mapping.tables:
        frame, map_failures, n_left_out, labels = apply_mapping(frame, mapping, kind=kind, source=source)
    elif kind != "workers":
        names = [c.name for c in COLUMNS[kind]]
        ignored = tuple(c for c in frame.columns if c not in names and c != ROW)
        frame = frame.drop(list(ignored))
    for column, value in (fill or {}).items():
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(value).alias(column))
    parsed, failures = parse(frame, kind=kind, source=source, time_zone=time_zone, formats=formats_of(mapping, kind))  # type: ignore[arg-type]
    if "end" in labels and "+" in labels["end"]:
        # an end computed from start + duration fails when start does; name start only
        bad_start = failures.filter(pl.col("column") == "start").get_column("row")
        failures = failures.filter(~((pl.col("column") == "end") & pl.col("row").is_in(bad_start.implode())))
    extra = []
    if kind == "jobs":
        extra = [mixed_currency(parsed), overlaps(parsed)]
    elif kind == "sessions":
        extra = [overlaps(parsed, within=("worker_id", "platform"), what="session")]
    elif kind == "workers":
        first = pl.col(ROW).min().over("worker_id")
        dup = parsed.filter(pl.col("worker_id").is_not_null() & (pl.col(ROW) != first))
        extra = [
            dup.select(
                pl.col(ROW).alias("row"),
                column=pl.lit("worker_id"),
                expected=pl.lit("one row per worker"),
                got=pl.col("worker_id"),
            )
        ]
    failures = sort_failures(pl.concat([failures, *extra]), [c.name for c in COLUMNS[kind]])
    if labels:
        failures = failures.with_columns(pl.col("column").replace(labels))
    failures = pl.concat([map_failures, failures]).sort("row", nulls_last=False, maintain_order=True)
    return parsed, failures, n_left_out, source, ignored


def load(
    jobs: object,
    *,
    sessions: object | None = None,
    workers: object | None = None,
    mapping: object | None = None,
    on_bad: OnBad = "error",
    time_zone: str | None = None,
) -> Contribution:
    """Read a platform export (and optionally its logged-in sessions and workers' attributes) into canonical tables.

    Parameters
    ----------
    jobs : path or table
        A ``.csv`` (read as text: every cell is checked) or ``.parquet`` file, or a Polars, pandas or
        Arrow table.
    sessions, workers : path or table, optional
        Logged-in sessions; workers' group attributes (``worker_id`` plus any text columns).
    mapping : path, dict or ColumnMapping, optional
        A YAML column mapping (see ``gigshift.pay._mapping``); none for files in canonical columns
        (other columns are then ignored and listed in ``ignored_columns``).
    on_bad : {"error", "set_aside"}, default="error"
        Raise every bad row at once, or leave bad rows out and list them in ``set_aside``.
    time_zone : str, optional
        Zone of export times without an offset; default the mapping's, else UTC.

    Returns
    -------
    Contribution

    Raises
    ------
    InputError
        Naming the file, row and column (the export's column name when a mapping is used), or the
        mapping file and key for an unknown column in a mapping. Nothing is returned half-checked.
    """
    check_option("on_bad", on_bad, OnBad, caller="load")
    mapping_ = _as_mapping(mapping)
    zone = time_zone or (mapping_.time_zone if mapping_ else None) or "UTC"
    check_time_zone(zone, source="load: time_zone")
    tables: dict[str, pl.DataFrame] = {}
    all_failures = []
    sources = []
    ignored: tuple[str, ...] = ()
    n_left_out = 0
    rows: dict[str, pl.Series] = {}
    for kind, data in (("jobs", jobs), ("sessions", sessions), ("workers", workers)):
        if data is None:
            continue
        fill = None
        if kind == "sessions" and "jobs" in tables:
            platforms = tables["jobs"].get_column("platform").drop_nulls().unique()
            if platforms.len() == 1:  # sessions of a one-platform export need not repeat it
                fill = {"platform": platforms.item()}
        parsed, failures, left_out, source, skipped = _one(
            data, kind=kind, name=kind, mapping=mapping_, time_zone=zone, fill=fill
        )
        if kind == "jobs":
            ignored = skipped
        n_left_out += left_out
        sources.append(source)
        if failures.height and on_bad == "error":
            raise InputError(failures, source=source)
        bad_rows = failures.get_column("row").drop_nulls().unique().implode()
        kept = parsed.filter(~pl.col(ROW).is_in(bad_rows))
        rows[kind] = kept.get_column(ROW)
        tables[kind] = kept.drop(ROW)
        all_failures.append(failures.select(pl.lit(source).alias("file"), *FAILURE_SCHEMA))
    for kind in ("sessions", "workers"):
        if kind not in tables:
            tables[kind] = pl.DataFrame(schema=SCHEMAS[kind])
    set_aside = pl.concat([pl.DataFrame(schema=SET_ASIDE_SCHEMA), *all_failures])
    return Contribution(
        jobs=tables["jobs"],
        sessions=tables["sessions"],
        workers=tables["workers"],
        set_aside=set_aside,
        n_left_out=n_left_out,
        sources=tuple(sources),
        mapping=None if mapping_ is None else mapping_.name,
        ignored_columns=ignored,
        time_zone=zone,
        rows=rows,
    )
