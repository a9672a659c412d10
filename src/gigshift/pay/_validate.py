"""Validation of pay tables: parse every column through the schema, collect every failure, then decide.

A failure is one bad cell: ``row`` (1-based data row of the source file), ``column``, ``expected``,
``got``. With ``on_bad="error"`` every failure is raised at once as an :class:`InputError`; with
``"set_aside"`` the failing rows are removed and returned, with their reasons, to be counted.
"""

from __future__ import annotations

import zoneinfo
from typing import Literal

import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift._tables import as_polars, check_option
from gigshift.pay._schema import COLUMNS, UTC_DATETIME, Column, TableKind

OnBad = Literal["error", "set_aside"]
ROW = "__gigshift_row"
FAILURE_SCHEMA = {"row": pl.Int64, "column": pl.String, "expected": pl.String, "got": pl.String}
_EMPTY = "<empty>"
_ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def no_failures() -> pl.DataFrame:
    return pl.DataFrame(schema=FAILURE_SCHEMA)


def check_time_zone(name: str, *, source: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise GigshiftError(f"{source}: unknown time zone {name!r}; use an IANA name such as 'Europe/London'") from None


def _localise(naive: pl.Expr, time_zone: str) -> pl.Expr:
    """Naive local times in ``time_zone`` to UTC (a time skipped by a clock change is bad: null)."""
    if time_zone == "UTC":
        return naive.dt.replace_time_zone("UTC")
    local = naive.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def parse_datetime(text: pl.Expr, *, time_zone: str = "UTC", fmt: str | None = None) -> pl.Expr:
    """Text to UTC date-times: ISO 8601 (an offset or Z is honoured; none means ``time_zone``).

    ``fmt`` is a strftime format for other layouts, or ``"unix"`` / ``"unix_ms"`` for epoch times.
    A cell that does not parse becomes null.
    """
    if fmt in ("unix", "unix_ms"):
        number = text.cast(pl.Float64, strict=False)
        scale = 1_000_000 if fmt == "unix" else 1_000
        micros = (number * scale).round(0).cast(pl.Int64, strict=False)
        return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")
    if fmt is not None:
        aware = "%z" in fmt or "%Z" in fmt
        if aware:  # parsed with an offset, the result is already in UTC
            return text.str.to_datetime(format=fmt, time_unit="us", strict=False).dt.convert_time_zone("UTC")
        return _localise(text.str.to_datetime(format=fmt, time_unit="us", strict=False), time_zone)
    x = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T").str.replace(r"[zZ]$", "+00:00")
    aware_parts = [x.str.to_datetime(format=f, time_unit="us", time_zone="UTC", strict=False) for f in _ISO_AWARE]
    naive = pl.coalesce(*[x.str.to_datetime(format=f, time_unit="us", strict=False) for f in _ISO_NAIVE])
    return pl.coalesce(*aware_parts, _localise(naive, time_zone))


_AWARE_FAST = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z")
_NAIVE_FAST = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_UTC_FAST = ("%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%d %H:%M:%S%.fZ")
_UTC_SUFFIXES = ("+0000", "+00:00")


def _with_format(text: pl.Expr, fmt: str, time_zone: str) -> pl.Expr:
    if fmt in _UTC_FAST:
        return text.str.to_datetime(format=fmt, time_unit="us", strict=False).dt.replace_time_zone("UTC")
    return parse_datetime(text, time_zone=time_zone, fmt=fmt)


def localise(naive: pl.Series, time_zone: str) -> pl.Series:
    """Naive local times to UTC, looking the zone up once per distinct local hour (clocks change on the hour).

    A local time a clock change skips becomes null; one it repeats is taken the first time.
    """
    if time_zone == "UTC":
        return naive.dt.replace_time_zone("UTC")
    hours = naive.dt.truncate("1h").alias("_h")
    table = (
        hours.drop_nulls()
        .unique()
        .to_frame()
        .with_columns(
            (
                pl.col("_h")
                .dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
                .dt.replace_time_zone(None)
                - pl.col("_h")
            ).alias("_offset")
        )
    )
    offset = hours.to_frame().join(table, on="_h", how="left", maintain_order="left").get_column("_offset")
    return (naive + offset).dt.replace_time_zone("UTC")


def parse_datetime_series(text: pl.Series, *, time_zone: str = "UTC", fmt: str | None = None) -> pl.Series:
    """Like :func:`parse_datetime` on a column, fast: the layout is found on a sample and parsed once.

    Cells the sample's layout does not fit are parsed again, alone, with every accepted layout. Local
    times are converted through :func:`localise`.
    """
    frame = text.to_frame("t")
    if fmt is not None and fmt not in ("unix", "unix_ms") and "%z" not in fmt and "%Z" not in fmt:
        naive = frame.select(pl.col("t").str.to_datetime(format=fmt, time_unit="us", strict=False)).to_series()
        return localise(naive, time_zone)
    if fmt is not None:
        return frame.select(parse_datetime(pl.col("t"), time_zone=time_zone, fmt=fmt)).to_series()
    sample = text.drop_nulls().head(500)
    chosen = None
    for candidate in (*_UTC_FAST, *_AWARE_FAST, *_NAIVE_FAST):
        parsed = sample.to_frame("t").select(_with_format(pl.col("t"), candidate, time_zone)).to_series()
        if sample.len() and parsed.null_count() == 0:
            chosen = candidate
            break
    if chosen is None:
        return frame.select(parse_datetime(pl.col("t"), time_zone=time_zone)).to_series()
    utc = next((z for z in _UTC_SUFFIXES if chosen in _AWARE_FAST and sample.str.ends_with(z).all()), None)
    if chosen in _NAIVE_FAST:
        naive = frame.select(pl.col("t").str.to_datetime(format=chosen, time_unit="us", strict=False)).to_series()
        out = localise(naive, time_zone)
    elif utc is not None:  # times in UTC with an offset of zero: parsed as naive times, much faster
        naive = chosen.replace("%z", "")
        out = frame.select(
            pl.col("t").str.strip_suffix(utc).str.to_datetime(format=naive, time_unit="us", strict=False)
        ).to_series()
        out = out.dt.replace_time_zone("UTC")
    else:
        out = frame.select(_with_format(pl.col("t"), chosen, time_zone)).to_series()
    missed = out.is_null() & text.is_not_null()
    if missed.any():
        index = missed.arg_true()
        again = text.gather(index).to_frame("t").select(parse_datetime(pl.col("t"), time_zone=time_zone)).to_series()
        out = out.scatter(index, again)
    return out


def _parse(col: Column, dtype: pl.DataType, *, time_zone: str, fmt: str | None) -> pl.Expr | None:
    """An expression turning the source column (of ``dtype``) into ``col.dtype``; None if it cannot."""
    src = pl.col(col.name)
    if dtype == pl.Null:
        return pl.lit(None, dtype=col.dtype)
    if isinstance(dtype, pl.Categorical | pl.Enum):
        src, dtype = src.cast(pl.String), pl.String
    text = src.str.strip_chars() if dtype == pl.String else src
    if dtype == pl.String:
        text = pl.when(text == "").then(None).otherwise(text)
    if col.dtype == pl.String:
        if dtype == pl.String:
            return text
        return src.cast(pl.String) if dtype.is_numeric() else None
    if col.dtype == pl.Float64:
        if dtype.is_numeric():
            return src.cast(pl.Float64)
        return text.cast(pl.Float64, strict=False) if dtype == pl.String else None
    if col.dtype == UTC_DATETIME:
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                return _localise(src.cast(pl.Datetime("us")), time_zone)
            return src.dt.convert_time_zone("UTC").cast(UTC_DATETIME)
        if dtype == pl.Date:
            return _localise(src.cast(pl.Datetime("us")), time_zone)
        if dtype == pl.String:
            return pl.col(f"__parsed_{col.name}")  # parsed eagerly, once (see parse)
        if dtype.is_numeric() and fmt in ("unix", "unix_ms"):
            return parse_datetime(src.cast(pl.String), fmt=fmt)
        return None
    raise AssertionError(f"no parser for {col.dtype}")  # pragma: no cover - schema and parsers go together


def _got(name: str) -> pl.Expr:
    return pl.col(f"__raw_{name}").cast(pl.String, strict=False).fill_null(_EMPTY)


def _fail(frame: pl.LazyFrame, bad: pl.Expr, column: str, expected: str | pl.Expr, got: pl.Expr) -> pl.LazyFrame:
    return frame.filter(bad.fill_null(False)).select(
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        (pl.lit(expected) if isinstance(expected, str) else expected).cast(pl.String).alias("expected"),
        got.cast(pl.String).alias("got"),
    )


def missing_columns(columns: list[str], kind: str) -> pl.DataFrame:
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in columns]
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    return pl.DataFrame(
        {
            "row": [None] * len(missing),
            "column": missing,
            "expected": [f"a column named {m!r} (required)" for m in missing],
            "got": [f"columns: {shown or 'none'}"] * len(missing),
        },
        schema=FAILURE_SCHEMA,
    )


def parse(
    table: object,
    *,
    kind: TableKind,
    source: str,
    time_zone: str = "UTC",
    formats: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse a table through its schema: ``(parsed, failures)``, where a bad cell is null in ``parsed``.

    The parsed frame has the ``ROW`` column (kept from the input if present, else 1, 2, ...), the
    schema's columns in order and, for workers, every other column as text (group attributes).
    A missing required column or a column of the wrong type raises at once (nothing is usable).
    """
    check_option("kind", kind, TableKind, caller="validate")
    frame = as_polars(table, name=source)
    missing = missing_columns([c for c in frame.columns if c != ROW], kind)
    if missing.height:
        raise InputError(missing, source=source)
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=1)
    formats = formats or {}
    parsed, raws, wrong = [], [], []
    names = [c.name for c in COLUMNS[kind]]
    for col in COLUMNS[kind]:
        if col.name not in frame.columns:
            parsed.append(pl.lit(None, dtype=col.dtype).alias(col.name))
            continue
        dtype = frame.schema[col.name]
        expr = _parse(col, dtype, time_zone=time_zone, fmt=formats.get(col.name))
        if expr is None:
            wrong.append({"row": None, "column": col.name, "expected": col.expected, "got": f"a {dtype} column"})
            expr = pl.lit(None, dtype=col.dtype)
        parsed.append(expr.alias(col.name))
        raws.append(pl.col(col.name).alias(f"__raw_{col.name}"))
    if wrong:
        raise InputError(pl.DataFrame(wrong, schema=FAILURE_SCHEMA), source=source)
    extras = [c for c in frame.columns if c not in names and c != ROW] if kind == "workers" else []
    dates = [
        parse_datetime_series(
            frame.get_column(c.name).str.strip_chars().replace("", None), time_zone=time_zone, fmt=formats.get(c.name)
        ).alias(f"__parsed_{c.name}")
        for c in COLUMNS[kind]
        if c.dtype == UTC_DATETIME and c.name in frame.columns and frame.schema[c.name] == pl.String
    ]
    work = (
        frame.with_columns(dates)
        .lazy()
        .select(pl.col(ROW).cast(pl.Int64), *parsed, *(pl.col(c).cast(pl.String) for c in extras), *raws)
        .collect()  # once: every check below reads it
    )
    checks: list[tuple[pl.Expr, str, str | pl.Expr, pl.Expr]] = []  # (bad, column, expected, got)
    for col in COLUMNS[kind]:
        value = pl.col(col.name)
        present = col.name in frame.columns
        got = _got(col.name) if present else pl.lit(_EMPTY)
        if present:
            given = pl.col(f"__raw_{col.name}").is_not_null()
            if frame.schema[col.name] == pl.String:
                given = given & (pl.col(f"__raw_{col.name}").str.strip_chars() != "")
            checks.append((given & value.is_null(), col.name, col.expected, got))
            if col.required:
                checks.append((~given, col.name, col.expected, got))
        if col.check is not None:
            checks.append((value.is_not_null() & ~col.check(value), col.name, col.expected, got))
    if kind in ("jobs", "sessions"):
        bad = pl.col("start").is_not_null() & pl.col("end").is_not_null() & (pl.col("end") <= pl.col("start"))
        got = pl.format("{} (start {})", _got("end"), _got("start"))
        checks.append((bad, "end", "an end after the start", got))
    if kind == "jobs" and "client_price" in frame.columns:
        bad = pl.col("client_price") < pl.col("worker_pay")
        got = pl.format("{} (worker_pay {})", _got("client_price"), _got("worker_pay"))
        checks.append((bad, "client_price", "a client price >= the worker's pay", got))
    # one pass flags the rows with any failure (usually none); the failures are spelled out for those rows only
    flagged = work.select(pl.any_horizontal([bad.fill_null(False) for bad, *_ in checks]).alias("_any")).to_series()
    failures = no_failures()
    if flagged.any():
        sub = work.filter(flagged).lazy()
        failures = pl.concat(
            [no_failures().lazy(), *(_fail(sub, bad, name, expected, got) for bad, name, expected, got in checks)]
        ).collect()
    out = work.select(ROW, *names, *extras)
    return out, sort_failures(failures, names)


def sort_failures(failures: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    order = {name: i for i, name in enumerate(names)}
    return (
        failures.unique(maintain_order=True)
        .with_columns(pl.col("column").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_o"))
        .sort("row", "_o", nulls_last=False, maintain_order=True)
        .drop("_o")
    )


def mixed_currency(jobs: pl.DataFrame, *, currency: str | None = None) -> pl.DataFrame:
    """Failures for rows whose currency is not ``currency`` (default: the file's most common one)."""
    known = jobs.filter(pl.col("currency").is_not_null())
    if known.height == 0:
        return no_failures()
    if currency is None:
        counts = known.group_by("currency").len().sort(["len", "currency"], descending=[True, False])
        currency = counts.item(0, "currency")
    return known.filter(pl.col("currency") != currency).select(
        pl.col(ROW).alias("row"),
        column=pl.lit("currency"),
        expected=pl.lit(f"one currency per pool ({currency}, as in the other rows)"),
        got=pl.col("currency"),
    )


def overlaps(frame: pl.DataFrame, *, within: tuple[str, ...] = ("worker_id",), what: str = "job") -> pl.DataFrame:
    """Failures for rows that start before an earlier row of the same ``within`` key has ended.

    ``frame`` has ``ROW``, ``start``, ``end`` and the key columns; rows with a null ``ROW`` are
    already stored (in the pool) and are never reported themselves, only named as what is overlapped.
    """
    keys = list(within)
    usable = frame.filter(pl.col("start").is_not_null() & pl.col("end").is_not_null())
    if usable.height < 2:
        return no_failures()
    # stored rows first among equal times, so a job imported twice is reported, not the one already stored
    ordered = usable.lazy().sort([*keys, "start", "end", ROW], nulls_last=False)
    prev_end = pl.col("end").cum_max().shift(1).over(keys)
    # the row that holds the running maximum end, to name what was overlapped (0: a stored row)
    holder = pl.when(pl.col("end") == pl.col("end").cum_max().over(keys)).then(pl.col(ROW).fill_null(0))
    checked = ordered.with_columns(
        prev_end.alias("_prev_end"),
        holder.forward_fill().shift(1).over(keys).alias("_prev_row"),
    ).filter(pl.col("start") < pl.col("_prev_end"))
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    other = pl.when(pl.col("_prev_row") > 0).then(pl.format("row {}", pl.col("_prev_row")))
    new_late = checked.filter(pl.col(ROW).is_not_null()).select(
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.col("start").dt.strftime(stamp).alias("_start"),
        pl.col("_prev_end").dt.strftime(stamp).alias("_end"),
        other.otherwise(pl.lit("one already in the pool")).alias("_other"),
    )
    # a new row that started first and is overlapped by a stored one
    new_early = checked.filter(pl.col(ROW).is_null() & (pl.col("_prev_row") > 0)).select(
        pl.col("_prev_row").cast(pl.Int64).alias("row"),
        pl.col("start").dt.strftime(stamp).alias("_start"),
        pl.col("end").dt.strftime(stamp).alias("_end"),
        pl.lit("one already in the pool").alias("_other"),
    )
    return (
        pl.concat([new_late, new_early])
        .select(
            "row",
            column=pl.lit("start"),
            expected=pl.format(f"a {what} that does not overlap another {what} of the same worker ({{}})", "_other"),
            got=pl.format("{} (the other {} ends {})", "_start", pl.lit(what), "_end"),
        )
        .collect()
        .unique("row", keep="first", maintain_order=True)
        .sort("row")
    )


def resolve(
    parsed: pl.DataFrame, failures: pl.DataFrame, *, source: str, on_bad: OnBad
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Raise every failure (``"error"``) or set the failing rows aside: ``(kept, set_aside)``."""
    check_option("on_bad", on_bad, OnBad, caller="load")
    if failures.height == 0:
        return parsed, no_failures()
    if on_bad == "error":
        raise InputError(failures, source=source)
    bad_rows = failures.get_column("row").drop_nulls().unique()
    return parsed.filter(~pl.col(ROW).is_in(bad_rows.implode())), failures


def validate(
    table: object,
    *,
    kind: TableKind,
    source: str | None = None,
    on_bad: OnBad = "error",
    time_zone: str = "UTC",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check a jobs, sessions or workers table against its schema: ``(valid, set_aside)``.

    Cells are parsed (text numbers and ISO 8601 date-times; times without an offset are taken in
    ``time_zone``), then every rule is checked at once: required values, amounts >= 0, an end after
    the start, a client price at least the worker's pay, one currency, no overlapping jobs (sessions)
    of one worker (on one platform), unique worker ids in a workers table.

    Parameters
    ----------
    table : polars, pandas or Arrow table
        The table; never modified.
    kind : {"jobs", "sessions", "workers"}
    source : str, optional
        Name used in messages (a file name); default ``kind``.
    on_bad : {"error", "set_aside"}, default="error"
        Raise every failure, or remove the failing rows and return them with their reasons.

    Returns
    -------
    (polars.DataFrame, polars.DataFrame)
        The valid rows in canonical columns, and the failures set aside (row, column, expected, got;
        empty with ``"error"``).

    Raises
    ------
    InputError
        Naming the source, the first bad row and column, and how many more failed.

    Examples
    --------
    >>> jobs = pl.DataFrame({"worker_id": ["w1"], "platform": ["p"], "category": ["ride"],
    ...     "start": ["2025-03-03T08:00:00"], "end": ["2025-03-03T07:30:00"], "worker_pay": ["9.5"],
    ...     "currency": ["USD"]})
    >>> validate(jobs, kind="jobs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gigshift._errors.InputError: jobs, row 1, column 'end': expected an end after the start, got '2025-03-03T07:30...'
    """
    source = source or kind
    check_time_zone(time_zone, source=source)
    parsed, failures = parse(table, kind=kind, source=source, time_zone=time_zone)
    names = [c.name for c in COLUMNS[kind]]
    extra = []
    if kind == "jobs":
        extra = [mixed_currency(parsed), overlaps(parsed)]
    elif kind == "sessions":
        extra = [overlaps(parsed, within=("worker_id", "platform"), what="session")]
    elif kind == "workers":
        dup = parsed.with_columns(pl.col(ROW).min().over("worker_id").alias("_first")).filter(
            pl.col("worker_id").is_not_null() & (pl.col(ROW) != pl.col("_first"))
        )
        extra = [
            dup.select(
                pl.col(ROW).alias("row"),
                column=pl.lit("worker_id"),
                expected=pl.format("a unique worker_id (already in row {})", pl.col("_first")),
                got=pl.col("worker_id"),
            )
        ]
    failures = sort_failures(pl.concat([failures, *extra]), names)
    kept, set_aside = resolve(parsed, failures, source=source, on_bad=on_bad)
    return kept.drop(ROW), set_aside
