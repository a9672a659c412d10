"""YAML column mappings: any platform's export (trips file, GDPR access data) onto the canonical tables, without code.

A mapping names, for each canonical column, the export column(s) it comes from::

    name: rideco-driver-trips
    time_zone: America/New_York     # export times without an offset are local times here
    separator: ","                   # CSV field separator
    decimal: "."                     # decimal mark in numbers ("," for 12,50); thousands: optional
    jobs:
      columns:
        worker_id: Driver ID
        start: {column: Pickup Time, format: "%m/%d/%Y %I:%M %p"}
        end: Dropoff Time            # or duration_minutes / duration_seconds: a duration column
        distance_km: {column: Distance (mi), scale: 1.609344}
        worker_pay: [Base Fare, Time Fare, Distance Fare]   # several columns are summed
        fees: {column: Service Fee, scale: -1}              # exported as negative amounts
      constants: {platform: rideco, currency: USD}
      values: {category: {UberX: ride, Comfort: ride}}      # recode values
      keep: {Trip Status: [COMPLETED]}                      # other rows are left out and counted
    sessions:
      columns: {worker_id: Driver ID, start: Online From, end: Online Until}
      constants: {platform: rideco}
    workers:                         # optional: group attributes the worker chose to share
      columns: {worker_id: Driver ID, gender: Gender}

Numbers may carry currency symbols (``$12.50``); they are stripped. A file already in canonical
columns needs no mapping.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift.pay._schema import COLUMNS, UTC_DATETIME
from gigshift.pay._validate import FAILURE_SCHEMA, ROW, check_time_zone, no_failures, parse_datetime_series

DURATIONS = {"duration_seconds": 1.0, "duration_minutes": 60.0, "duration_hours": 3600.0}
_SECTION_KEYS = {"columns", "constants", "values", "keep"}
_TOP_KEYS = {"name", "description", "time_zone", "separator", "decimal", "thousands", "jobs", "sessions", "workers"}


@dataclass(frozen=True, slots=True)
class Source:
    """Where one canonical column comes from: export columns (summed), a scale, a date-time format."""

    columns: tuple[str, ...]
    scale: float = 1.0
    format: str | None = None

    @property
    def label(self) -> str:
        return " + ".join(self.columns)


@dataclass(frozen=True, slots=True)
class TableMapping:
    """The mapping of one table: sources per canonical column, constants, value recodes and row filters."""

    columns: dict[str, Source] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    keep: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """A parsed mapping file; ``source`` is its name, for error messages."""

    name: str
    source: str
    tables: dict[str, TableMapping]
    time_zone: str | None = None
    separator: str = ","
    decimal: str = "."
    thousands: str | None = None
    description: str = ""


def _unknown(key: str, known: list[str], *, source: str, where: str) -> InputError:
    close = difflib.get_close_matches(key, known, n=2, cutoff=0.5)
    hint = f" (closest: {', '.join(repr(c) for c in close)})" if close else ""
    return InputError.single(source=source, column=f"{where}{key}", expected=f"a known key{hint}", got="unknown")


def _check_keys(body: Mapping[str, Any], known: set[str], *, source: str, where: str) -> None:
    for key in body:
        if key not in known:
            raise _unknown(str(key), sorted(known), source=source, where=where)


def _source(spec: Any, *, source: str, where: str) -> Source:
    if isinstance(spec, str) and spec:
        return Source((spec,))
    if isinstance(spec, list) and spec and all(isinstance(s, str) and s for s in spec):
        return Source(tuple(spec))
    if isinstance(spec, dict):
        _check_keys(spec, {"column", "scale", "format"}, source=source, where=f"{where}.")
        inner = _source(spec.get("column"), source=source, where=f"{where}.column")
        scale = spec.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale == 0:
            raise InputError.single(source=source, column=f"{where}.scale", expected="a non-zero number", got=scale)
        fmt = spec.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise InputError.single(source=source, column=f"{where}.format", expected="a strftime format", got=fmt)
        return Source(inner.columns, float(scale), fmt)
    raise InputError.single(
        source=source, column=where, expected="an export column name, a list of them, or {column: ...}", got=spec
    )


def _table(body: Any, kind: str, *, source: str) -> TableMapping:
    if not isinstance(body, dict):
        raise InputError.single(source=source, column=kind, expected="a mapping with 'columns'", got=body)
    _check_keys(body, _SECTION_KEYS, source=source, where=f"{kind}.")
    canonical = [c.name for c in COLUMNS[kind]]
    allowed = [*canonical, *DURATIONS] if kind in ("jobs", "sessions") else None
    columns: dict[str, Source] = {}
    for key, spec in (body.get("columns") or {}).items():
        if allowed is not None and key not in allowed:
            raise _unknown(str(key), allowed, source=source, where=f"{kind}.columns.")
        columns[str(key)] = _source(spec, source=source, where=f"{kind}.columns.{key}")
    constants = dict(body.get("constants") or {})
    for key in constants:
        if allowed is not None and key not in canonical:
            raise _unknown(str(key), canonical, source=source, where=f"{kind}.constants.")
        if key in columns:
            raise InputError.single(
                source=source, column=f"{kind}.constants.{key}", expected="a column or a constant, not both", got=key
            )
    if "end" in columns and any(d in columns for d in DURATIONS):
        raise InputError.single(source=source, column=f"{kind}.columns", expected="end or a duration", got="both")
    values = {}
    for key, recode in (body.get("values") or {}).items():
        if not isinstance(recode, dict):
            raise InputError.single(source=source, column=f"{kind}.values.{key}", expected="a mapping", got=recode)
        if key not in columns:
            raise InputError.single(
                source=source, column=f"{kind}.values.{key}", expected="a column mapped in columns", got=key
            )
        values[str(key)] = {str(k): str(v) for k, v in recode.items()}
    keep = {}
    for key, allowed_values in (body.get("keep") or {}).items():
        items = allowed_values if isinstance(allowed_values, list) else [allowed_values]
        keep[str(key)] = tuple(str(v) for v in items)
    return TableMapping(columns, constants, values, keep)


def mapping_from_dict(body: Mapping[str, Any], *, source: str = "mapping") -> ColumnMapping:
    """Parse and check a mapping (see the module docstring); an unknown key is named with the closest ones."""
    if not isinstance(body, dict):
        raise InputError.single(source=source, expected="a YAML mapping", got=type(body).__name__)
    body = dict(body)
    if "columns" in body and "jobs" not in body:  # shorthand: a jobs-only mapping
        body["jobs"] = {k: body.pop(k) for k in list(body) if k in _SECTION_KEYS}
    _check_keys(body, _TOP_KEYS, source=source, where="")
    tables = {kind: _table(body[kind], kind, source=source) for kind in ("jobs", "sessions", "workers") if kind in body}
    if not tables:
        raise InputError.single(source=source, expected="a 'jobs' (or 'columns') section", got="none")
    time_zone = body.get("time_zone")
    if time_zone is not None:
        check_time_zone(str(time_zone), source=f"{source}: time_zone")
    for key in ("separator", "decimal"):
        if key in body and (not isinstance(body[key], str) or len(body[key]) != 1):
            raise InputError.single(source=source, column=key, expected="one character", got=body[key])
    return ColumnMapping(
        name=str(body.get("name", Path(source).stem)),
        source=source,
        tables=tables,
        time_zone=None if time_zone is None else str(time_zone),
        separator=str(body.get("separator", ",")),
        decimal=str(body.get("decimal", ".")),
        thousands=None if body.get("thousands") is None else str(body["thousands"]),
        description=str(body.get("description", "")),
    )


SHIPPED = Path(__file__).resolve().parent / "mappings"


def shipped_mappings() -> list[str]:
    """Names of the mappings shipped with gigshift (use them by name)."""
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def read_mapping(path: str | Path) -> ColumnMapping:
    """Read a YAML mapping file, or a shipped mapping by name (``"rideco-trips"``, ``"dashfood-gdpr"``)."""
    import yaml

    path = Path(path)
    if not path.is_file() and str(path) in shipped_mappings():
        path = SHIPPED / f"{path}.yaml"
    if not path.is_file():
        names = ", ".join(shipped_mappings())
        raise GigshiftError(f"mapping: no such file {str(path)!r} (shipped mappings: {names})")
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError.single(source=path.name, expected="valid YAML", got=str(exc).splitlines()[0]) from None
    return mapping_from_dict(body, source=path.name)


def _number(text: pl.Expr, mapping: ColumnMapping) -> pl.Expr:
    """Export text to a number: currency symbols and spaces stripped, thousands and decimal marks honoured."""
    x = text.cast(pl.String).str.replace_all(r"[\s$€£¥₹]", "")
    if mapping.thousands:
        x = x.str.replace_all(mapping.thousands, "", literal=True)
    if mapping.decimal != ".":
        x = x.str.replace_all(mapping.decimal, ".", literal=True)
    x = pl.when(x == "").then(None).otherwise(x)
    return x.cast(pl.Float64, strict=False)


def apply_mapping(
    frame: pl.DataFrame, mapping: ColumnMapping, *, kind: str, source: str
) -> tuple[pl.DataFrame, pl.DataFrame, int, dict[str, str]]:
    """Map an export onto the canonical columns of ``kind``.

    Returns ``(mapped, failures, n_left_out, labels)``: the mapped frame (``ROW`` is the export's
    data row), failures of numbers that do not parse (named by export column), how many rows the
    ``keep`` filters left out, and canonical column -> export column label, to name export columns
    in later errors.
    """
    table = mapping.tables[kind]
    missing = []
    for key, src in table.columns.items():
        for col in src.columns:
            if col not in frame.columns:
                close = difflib.get_close_matches(col, frame.columns, n=2, cutoff=0.5)
                hint = f" (closest: {', '.join(repr(c) for c in close)})" if close else ""
                missing.append((None, f"{kind}.columns.{key}", f"a column of {source}{hint}", col))
    for col in table.keep:
        if col not in frame.columns:
            missing.append((None, f"{kind}.keep.{col}", f"a column of {source}", col))
    if missing:
        raise InputError(pl.DataFrame(missing, schema=FAILURE_SCHEMA, orient="row"), source=mapping.source)
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=1)
    n_before = frame.height
    for col, allowed in table.keep.items():
        frame = frame.filter(pl.col(col).cast(pl.String).str.strip_chars().is_in(list(allowed)))
    n_left_out = n_before - frame.height

    schema = {c.name: c.dtype for c in COLUMNS[kind]}
    exprs: list[pl.Expr] = [pl.col(ROW)]
    labels: dict[str, str] = {}
    numeric_targets = {name for name, dtype in schema.items() if dtype == pl.Float64} | set(DURATIONS)
    numeric = {
        key: src
        for key, src in table.columns.items()
        if key in numeric_targets or src.scale != 1.0 or len(src.columns) > 1
    }
    # every export column that holds numbers, parsed once
    sources = list(dict.fromkeys(c for src in numeric.values() for c in src.columns))
    numbers = frame.select(pl.col(ROW), *(_number(pl.col(c), mapping).alias(f"__num_{c}") for c in sources))
    bad = [
        (pl.col(c).cast(pl.String).str.strip_chars().fill_null("") != "") & numbers.get_column(f"__num_{c}").is_null()
        for c in sources
    ]
    failed = no_failures()
    if sources:
        flags = frame.select(*(b.alias(c) for b, c in zip(bad, sources, strict=True)))
        if flags.select(pl.any_horizontal(pl.all()).any()).item():
            rows = frame.with_columns(flags.rename(lambda c: f"__bad_{c}")).filter(
                pl.any_horizontal(pl.col(f"__bad_{c}") for c in sources)
            )
            failed = pl.concat(
                [
                    rows.filter(pl.col(f"__bad_{c}")).select(
                        pl.col(ROW).cast(pl.Int64).alias("row"),
                        pl.lit(c).alias("column"),
                        pl.lit("a number").alias("expected"),
                        pl.col(c).cast(pl.String).alias("got"),
                    )
                    for c in sources
                ]
            )
    frame = frame.with_columns(numbers.drop(ROW))
    for key, src in table.columns.items():
        labels[key] = src.label
        if key in numeric:
            parts = [pl.col(f"__num_{c}") for c in src.columns]
            total = parts[0]
            if len(parts) > 1:
                total = pl.when(pl.any_horizontal([p.is_not_null() for p in parts])).then(pl.sum_horizontal(parts))
            exprs.append((total * src.scale).alias(key))
        else:
            text = pl.col(src.columns[0]).cast(pl.String) if frame.schema[src.columns[0]] != pl.String else None
            expr = text if text is not None else pl.col(src.columns[0])
            if frame.schema[src.columns[0]] not in (pl.String,) and schema.get(key) == UTC_DATETIME:
                expr = pl.col(src.columns[0])  # typed date-times (Parquet) pass through
            if key in table.values:
                expr = expr.cast(pl.String).str.strip_chars().replace(table.values[key])
            exprs.append(expr.alias(key))
    for key, value in table.constants.items():
        dtype = schema.get(key, pl.String)
        exprs.append(pl.lit(value).cast(dtype if dtype == pl.Float64 else pl.String).alias(key))
        labels[key] = f"{key} (constant in {mapping.source})"
    mapped = frame.select(exprs)
    duration = next((d for d in DURATIONS if d in table.columns), None)
    if duration is not None and "start" in mapped.columns:
        fmt = table.columns["start"].format if "start" in table.columns else None
        start = pl.col("start")
        if mapped.schema["start"] == pl.String:
            text = mapped.get_column("start").str.strip_chars().replace("", None)
            start = pl.lit(parse_datetime_series(text, time_zone=mapping.time_zone or "UTC", fmt=fmt))
        elif isinstance(mapped.schema["start"], pl.Datetime) and mapped.schema["start"].time_zone is None:
            start = start.dt.replace_time_zone(mapping.time_zone or "UTC").dt.convert_time_zone("UTC")
        seconds = pl.col(duration) * DURATIONS[duration]
        end = start.cast(UTC_DATETIME) + pl.duration(microseconds=(seconds * 1e6).round(0).cast(pl.Int64))
        mapped = mapped.with_columns(end.alias("end")).drop(duration)
        labels["end"] = f"{labels['start']} + {table.columns[duration].label}"
    return mapped, failed, n_left_out, labels


def formats_of(mapping: ColumnMapping | None, kind: str) -> dict[str, str]:
    if mapping is None or kind not in mapping.tables:
        return {}
    return {k: s.format for k, s in mapping.tables[kind].columns.items() if s.format is not None}
