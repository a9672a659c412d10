"""Validation of market tables: parse every column through its schema, collect all failures, raise once."""

from __future__ import annotations

import difflib
import zoneinfo
from functools import cache

import polars as pl

from gigshift._errors import InputError
from gigshift._tables import as_polars, check_option
from gigshift.market._schema import COLUMNS, GROUP_ATTRIBUTES, TEXT_LIST, UTC_DATETIME, Column, TableKind

_ROW = "__gigshift_row"
_EMPTY = "<empty>"
_FAILURE_SCHEMA = {"row": pl.Int64, "column": pl.String, "expected": pl.String, "got": pl.String}
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def _raw(name: str) -> str:
    return f"__gigshift_raw_{name}"


def _bad(name: str) -> str:
    return f"__gigshift_bad_{name}"


def _first(name: str) -> str:
    return f"__gigshift_first_{name}"


@cache
def category_modes() -> dict[str, str]:
    """Gig category slug -> mode ('online' or 'on-location'), from the atlas."""
    from gigshift.taxonomy import categories

    table = categories()
    return dict(zip(table["slug"].to_list(), table["mode"].cast(pl.String).to_list(), strict=True))


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _parse_datetime(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text to UTC: with an offset (or Z) it is converted, without one it is taken as UTC."""
    x = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T").str.replace(r"[zZ]$", "+00:00")
    aware = [
        x.str.to_datetime(format=f, time_unit="us", time_zone="UTC", strict=False)
        for f in ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
    ]
    naive = [
        x.str.to_datetime(format=f, time_unit="us", strict=False).dt.replace_time_zone("UTC")
        for f in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
    ]
    return pl.coalesce(*aware, *naive)


def _whole(x: pl.Expr) -> pl.Expr:
    return pl.when(x.is_finite() & (x == x.round(0))).then(x).otherwise(None).cast(pl.Int64, strict=False)


def _parse(col: Column, dtype: pl.DataType) -> pl.Expr | None:
    """An expression turning the source column (of ``dtype``) into ``col.dtype``; None if it cannot."""
    src = pl.col(col.name)
    if dtype == pl.Null:
        return pl.lit(None, dtype=col.dtype)
    if isinstance(dtype, pl.Categorical | pl.Enum):
        src, dtype = src.cast(pl.String), pl.String
    # text cells: blank means missing for every typed column
    text = src.str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    target = col.dtype
    if target == pl.String:
        if dtype == pl.String:  # missing is null: a blank optional cell is no value ('' is no area)
            return pl.when(src.str.strip_chars() == "").then(None).otherwise(src) if col.nullable else src
        if dtype.is_numeric() or dtype == pl.Boolean:
            return src.cast(pl.String)
        return None
    if target == pl.Float64:
        if dtype.is_numeric():
            return src.cast(pl.Float64)
        return text.cast(pl.Float64, strict=False) if dtype == pl.String else None
    if target == pl.Int64:
        if dtype.is_integer():
            return src.cast(pl.Int64, strict=False)
        if dtype.is_float():
            return _whole(src.cast(pl.Float64))
        return _whole(text.cast(pl.Float64, strict=False)) if dtype == pl.String else None
    if target == pl.Boolean:
        if dtype == pl.Boolean:
            return src
        if dtype.is_integer():
            return pl.when(src == 1).then(True).when(src == 0).then(False).otherwise(None)
        if dtype == pl.String:
            mapping = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
            return text.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.Boolean)
        return None
    if target == UTC_DATETIME:
        if isinstance(dtype, pl.Datetime):
            zoned = src.dt.replace_time_zone("UTC") if dtype.time_zone is None else src.dt.convert_time_zone("UTC")
            return zoned.cast(UTC_DATETIME)
        if dtype == pl.Date:
            return src.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        return _parse_datetime(text) if dtype == pl.String else None
    if target == TEXT_LIST:
        if isinstance(dtype, pl.Array):
            src, dtype = src.cast(pl.List(dtype.inner)), pl.List(dtype.inner)  # type: ignore[arg-type]
        if isinstance(dtype, pl.List):
            items = src if dtype.inner == pl.String else src.list.eval(pl.element().cast(pl.String))
        elif dtype == pl.String:
            items = src.str.split(";")
        else:
            return None
        item = pl.element().str.strip_chars()
        return items.list.eval(item.filter(item.is_not_null() & (item != "")))
    raise AssertionError(f"no parser for {target}")  # pragma: no cover - schema and parsers go together


def _render(name: str, dtype: pl.DataType) -> pl.Expr:
    """The source value as text, for the ``got`` column of a failure."""
    src = pl.col(_raw(name))
    if isinstance(dtype, pl.List | pl.Array):
        text = src.cast(pl.List(dtype.inner)).list.eval(pl.element().cast(pl.String)).list.join(";")  # type: ignore[arg-type]
    else:
        text = src.cast(pl.String, strict=False)
    return text.fill_null(_EMPTY)


def _failures(frame: pl.LazyFrame, bad: pl.Expr, column: str, expected: str | pl.Expr, got: pl.Expr) -> pl.LazyFrame:
    return frame.filter(bad.fill_null(False)).select(
        pl.col(_ROW).cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        (pl.lit(expected) if isinstance(expected, str) else expected).cast(pl.String).alias("expected"),
        got.cast(pl.String).alias("got"),
    )


def _suggest_slugs(bad: list[str]) -> dict[str, str]:
    known = sorted(category_modes())
    out = {}
    for slug in bad:
        close = difflib.get_close_matches(str(slug).strip().lower(), known, n=2, cutoff=0.6)
        hint = f"closest: {', '.join(close)}" if close else "see `gigshift categories`"
        out[slug] = f"a known gig category slug ({hint})"
    return out


def _unknown_categories(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    known = list(category_modes())
    values = frame.select(_ROW, pl.col(column).alias("slug"))
    if values.schema["slug"] == TEXT_LIST:
        values = values.explode("slug")
    bad = values.filter(pl.col("slug").is_not_null() & ~pl.col("slug").is_in(known))
    if bad.height == 0:
        return pl.DataFrame(schema=_FAILURE_SCHEMA)
    hints = _suggest_slugs(bad["slug"].unique(maintain_order=True).head(100).to_list())
    return bad.select(
        pl.col(_ROW).cast(pl.Int64).alias("row"),
        pl.lit(column).alias("column"),
        pl.col("slug")
        .replace_strict(hints, default="a known gig category slug", return_dtype=pl.String)
        .alias("expected"),
        pl.col("slug").alias("got"),
    )


def _missing_columns(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in frame.columns]
    shown = ", ".join(frame.columns[:12]) + (", ..." if frame.width > 12 else "")
    return pl.DataFrame(
        {
            "row": [None] * len(missing),
            "column": missing,
            "expected": [f"a column named {m!r} (required)" for m in missing],
            "got": [f"columns: {shown or 'none'}"] * len(missing),
        },
        schema=_FAILURE_SCHEMA,
    )


def validate(table: object, *, kind: TableKind, source: str | None = None) -> pl.DataFrame:
    """Check a market table against its schema and return it parsed: typed, defaults filled, in order.

    Every column is cast to its schema dtype (text cells are parsed; list columns may be ``;``-separated
    text), documented defaults fill missing columns and null cells (``skills`` and ``required_skills``:
    empty list; ``n_jobs_completed``: 0; ``capacity``: 1; workers' ``is_remote``: true; tasks'
    ``is_remote``: false for an on-location category, else true). Then types, ranges, NaN and
    infinity, nulls, duplicate ids, unknown category slugs, time zones and the location of on-location
    tasks are checked, all at once.

    Parameters
    ----------
    table : polars, pandas or Arrow table
        The table; it is never modified.
    kind : {"workers", "clients", "tasks", "bids"}
        Which schema applies (see ``SCHEMAS``).
    source : str, optional
        Name used in error messages (a file name); default ``kind``.

    Returns
    -------
    polars.DataFrame
        A new frame with the schema's columns in schema order, then any extra columns in input order.
        Group attribute columns (``GROUP_ATTRIBUTES``) are cast to String.

    Raises
    ------
    InputError
        Listing every failure in ``failures`` (row is the 1-based data row, column, expected, got).
        A missing required column fails with row null.

    Examples
    --------
    >>> bids = pl.DataFrame({"task_id": ["t1", "t1"], "worker_id": ["w1", "w2"], "price_usd": ["40", "35.5"]})
    >>> validate(bids, kind="bids")["price_usd"].to_list()
    [40.0, 35.5]
    >>> validate(bids.with_columns(price_usd=pl.lit("-3")), kind="bids")
    Traceback (most recent call last):
    ...
    gigshift._errors.InputError: bids, row 1, column 'price_usd': expected a finite number > 0, got '-3' (+1 more)
    """
    check_option("kind", kind, TableKind, caller="validate")
    frame = as_polars(table, name=kind)
    source = source or kind
    missing = _missing_columns(frame, kind)
    if missing.height:
        raise InputError(missing, source=source)

    columns = COLUMNS[kind]
    names = [c.name for c in columns]
    extras = [c for c in frame.columns if c not in names]
    wrong_type: list[dict[str, object]] = []
    parsed: list[pl.Expr] = []
    raws: list[pl.Expr] = []
    bads: list[pl.Expr] = []
    for col in columns:
        if col.name not in frame.columns:
            parsed.append(pl.lit(col.default, dtype=col.dtype).alias(col.name))
            continue
        dtype = frame.schema[col.name]
        expr = _parse(col, dtype)
        if expr is None:
            wrong_type.append({"row": None, "column": col.name, "expected": col.expected, "got": f"a {dtype} column"})
            expr = pl.lit(None, dtype=col.dtype)
        raws.append(pl.col(col.name).alias(_raw(col.name)))
        given = pl.col(col.name).is_not_null()
        if dtype == pl.String:  # a blank cell is a missing value, not a bad one
            given = given & (pl.col(col.name).str.strip_chars() != "")
        bads.append((given & expr.is_null()).alias(_bad(col.name)))
        if col.default is not None:
            expr = expr.fill_null(pl.lit(col.default, dtype=col.dtype))
        parsed.append(expr.alias(col.name))
    for name in extras:
        dtype = frame.schema[name]
        if name in GROUP_ATTRIBUTES and dtype != pl.String:
            if (
                dtype == pl.Null
                or dtype.is_numeric()
                or dtype == pl.Boolean
                or isinstance(dtype, pl.Categorical | pl.Enum)
            ):
                parsed.append(pl.col(name).cast(pl.String))
                continue
            wrong_type.append(
                {"row": None, "column": name, "expected": "text (a group label)", "got": f"a {dtype} column"}
            )
        parsed.append(pl.col(name))
    if wrong_type:
        raise InputError(pl.DataFrame(wrong_type, schema=_FAILURE_SCHEMA), source=source)

    work = frame.with_row_index(_ROW, offset=1).select(pl.col(_ROW), *parsed, *raws, *bads)
    if kind == "tasks":
        on_location = pl.col("category").replace_strict(category_modes(), default=None) == "on-location"
        work = work.with_columns(pl.col("is_remote").fill_null(~on_location.fill_null(False)))

    # the first row of each id, for duplicate messages (computed before any filter)
    firsts = [pl.col(_ROW).min().over(c.name).alias(_first(c.name)) for c in columns if c.is_id]
    if kind == "bids":
        firsts.append(pl.col(_ROW).min().over("task_id", "worker_id").alias(_first("bid")))
    lazy = work.lazy().with_columns(firsts)
    checks: list[pl.LazyFrame] = []
    for col in columns:
        present = col.name in frame.columns
        got = _render(col.name, frame.schema[col.name]) if present else pl.lit(_EMPTY)
        value = pl.col(col.name)
        if present:
            checks.append(_failures(lazy, pl.col(_bad(col.name)), col.name, col.expected, got))
        if not col.nullable:
            bad_null = value.is_null() & (~pl.col(_bad(col.name)) if present else pl.lit(True))
            checks.append(_failures(lazy, bad_null, col.name, col.expected, got))
        if col.dtype == pl.String and not col.nullable:
            checks.append(_failures(lazy, value.str.strip_chars() == "", col.name, col.expected, got))
        if col.check is not None:
            checks.append(_failures(lazy, value.is_not_null() & ~col.check(value), col.name, col.expected, got))
        if col.is_id:
            first = pl.col(_first(col.name))
            expected = pl.format(f"a unique {col.name} (already in row {{}})", first)
            checks.append(_failures(lazy, value.is_not_null() & (pl.col(_ROW) != first), col.name, expected, got))
    if kind == "bids":
        first = pl.col(_first("bid"))
        expected = pl.format("one bid per worker and task (already in row {})", first)
        bad = pl.col("task_id").is_not_null() & pl.col("worker_id").is_not_null() & (pl.col(_ROW) != first)
        checks.append(_failures(lazy, bad, "worker_id", expected, pl.col("worker_id")))
    if kind == "workers" and _time_zones():
        bad = pl.col("time_zone").is_not_null() & ~pl.col("time_zone").is_in(sorted(_time_zones()))
        expected = next(c.expected for c in columns if c.name == "time_zone")
        checks.append(_failures(lazy, bad, "time_zone", expected, pl.col("time_zone")))
    if kind == "tasks":
        bad = ~pl.col("is_remote") & pl.col("location").is_null()
        checks.append(
            _failures(lazy, bad, "location", "an area for an on-location task (is_remote is false)", pl.lit(_EMPTY))
        )
    failures = pl.concat([pl.DataFrame(schema=_FAILURE_SCHEMA).lazy(), *checks]).collect()
    if kind in ("workers", "tasks"):
        failures = pl.concat([failures, _unknown_categories(work, "categories" if kind == "workers" else "category")])
    if failures.height:
        order = {name: i for i, name in enumerate([*names, *extras])}
        failures = (
            failures.unique(maintain_order=True)
            .with_columns(pl.col("column").replace_strict(order, default=len(order)).alias("__order"))
            .sort("row", "__order", nulls_last=False, maintain_order=True)
            .drop("__order")
        )
        raise InputError(failures, source=source)
    return work.select(*names, *extras)
