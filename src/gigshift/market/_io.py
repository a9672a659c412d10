"""Market tables on disk: CSV read as text and parsed through the schema, Parquet, atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift._tables import as_polars, check_option
from gigshift.market._schema import SCHEMAS, TableKind
from gigshift.market._validate import validate

SUFFIXES = {".csv": "csv", ".parquet": "parquet"}
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"


def _format_of(path: Path, caller: str) -> str:
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise GigshiftError(f"{caller}: {path.name}: unknown file type {path.suffix!r}; use .csv or .parquet")
    return fmt


def read(path: str | os.PathLike[str], *, kind: TableKind) -> pl.DataFrame:
    """Read one market table from CSV or Parquet (by suffix) and validate it.

    CSV is read as text and parsed through the schema, so a bad cell is reported with its row and
    column; list columns are ``;``-separated, date-times ISO 8601 (without an offset: UTC).

    Parameters
    ----------
    path : path
        A ``.csv`` or ``.parquet`` file.
    kind : {"workers", "clients", "tasks", "bids"}
        Which schema applies.

    Returns
    -------
    polars.DataFrame
        The validated table (see ``validate``).

    Raises
    ------
    GigshiftError
        The suffix is neither ``.csv`` nor ``.parquet``.
    InputError
        The file is missing or unreadable, or a value fails the schema (message names the file, the
        row and the column).
    """
    check_option("kind", kind, TableKind, caller="read")
    path = Path(path)
    fmt = _format_of(path, "read")
    if not path.is_file():
        raise InputError.single(source=str(path), expected="an existing file", got="missing")
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8") if fmt == "csv" else pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        what = "a UTF-8 CSV file with a header row" if fmt == "csv" else "a readable Parquet file"
        raise InputError.single(
            source=path.name, expected=what, got=f"unreadable ({str(exc).splitlines()[0][:120]})"
        ) from None
    return validate(frame, kind=kind, source=path.name)


def to_csv_frame(frame: pl.DataFrame, *, source: str) -> pl.DataFrame:
    """Lists as ``;``-separated text (no item may hold ``;``); date-times as ISO 8601 with ``Z``."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    for name in lists:
        bad = (
            frame.select(pl.col(name))
            .with_row_index("row", offset=1)
            .explode(name)
            .filter(pl.col(name).cast(pl.String).str.contains(";", literal=True))
        )
        if bad.height:
            failures = bad.select(
                pl.col("row").cast(pl.Int64),
                column=pl.lit(name),
                expected=pl.lit("list items without ';' (the CSV list separator); write Parquet instead"),
                got=pl.col(name).cast(pl.String),
            )
            raise InputError(failures, source=source)
    return frame.with_columns(
        *(pl.col(n).list.eval(pl.element().cast(pl.String)).list.join(";") for n in lists),
        *(
            pl.col(n).dt.convert_time_zone("UTC").dt.strftime(_DATETIME_FORMAT)
            for n, d in frame.schema.items()
            if isinstance(d, pl.Datetime) and d.time_zone is not None
        ),
    )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(mode: int) -> int:
    """``mode`` as the user's umask would leave it (temporary files are created private)."""
    return mode & ~_umask()


def write_frame(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write ``frame`` (already valid) to ``path`` atomically: a temporary file, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = to_csv_frame(frame, source=path.name) if fmt == "csv" else frame
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, default_mode(0o666))
        if fmt == "csv":
            body.write_csv(tmp)
        else:
            body.write_parquet(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write(table: object, path: str | os.PathLike[str], *, kind: TableKind) -> None:
    """Validate a market table, then write it to CSV or Parquet (by suffix), atomically.

    Nothing is written when validation fails. CSV lists are ``;``-separated, date-times ISO 8601 UTC.

    Raises
    ------
    GigshiftError
        The suffix is neither ``.csv`` nor ``.parquet``.
    InputError
        The table fails validation (see ``validate``), or a CSV list item holds ``;``.
    """
    check_option("kind", kind, TableKind, caller="write")
    path = Path(path)
    fmt = _format_of(path, "write")
    frame = validate(table, kind=kind, source=path.name)
    write_frame(frame, path, fmt)


def check_references(
    *,
    tasks: object,
    workers: object | None = None,
    clients: object | None = None,
    bids: object | None = None,
    sources: dict[str, str] | None = None,
) -> None:
    """Check that ids point at rows that exist: tasks' clients, bids' tasks and bids' workers.

    Each check runs only when both tables are given. All failures are collected.

    Parameters
    ----------
    tasks, workers, clients, bids : polars, pandas or Arrow table
        Market tables holding at least their id columns (``validate`` them first).
    sources : dict of str to str, optional
        Names for error messages per kind, e.g. ``{"bids": "bids.csv"}``; default the kind.

    Raises
    ------
    InputError
        ``failures`` lists every unknown id with its table (``table`` column), 1-based row and column;
        the message names the first.

    Examples
    --------
    >>> tasks = pl.DataFrame({"task_id": ["t1"], "client_id": ["c1"]})
    >>> bids = pl.DataFrame({"task_id": ["t1", "t2"], "worker_id": ["w1", "w1"]})
    >>> check_references(tasks=tasks, bids=bids)
    Traceback (most recent call last):
    ...
    gigshift._errors.InputError: bids, row 2, column 'task_id': expected a task_id listed in tasks, got 't2'
    """
    names = {"tasks": "tasks", "workers": "workers", "clients": "clients", "bids": "bids", **(sources or {})}
    frames = {
        kind: as_polars(t, name=kind)
        for kind, t in (("tasks", tasks), ("workers", workers), ("clients", clients), ("bids", bids))
        if t is not None
    }
    links = [("tasks", "client_id", "clients"), ("bids", "task_id", "tasks"), ("bids", "worker_id", "workers")]
    parts = []
    for child, column, parent in links:
        if child not in frames or parent not in frames:
            continue
        key = f"{parent[:-1]}_id"
        for kind, col in ((child, column), (parent, key)):
            if col not in frames[kind].columns:
                raise InputError.single(
                    source=names[kind], column=col, expected=f"a column named {col!r} (required)", got="missing"
                )
        known = frames[parent].get_column(key).cast(pl.String)
        unknown = (
            frames[child]
            .select(pl.col(column).cast(pl.String))
            .with_row_index("row", offset=1)
            .filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(known.implode()))
        )
        if unknown.height:
            parts.append(
                unknown.select(
                    table=pl.lit(names[child]),
                    row=pl.col("row").cast(pl.Int64),
                    column=pl.lit(column),
                    expected=pl.lit(f"a {key} listed in {names[parent]}"),
                    got=pl.col(column),
                )
            )
    if parts:
        failures = pl.concat(parts)
        raise InputError(failures, source=failures["table"][0])


def empty(kind: str) -> pl.DataFrame:
    """An empty table of ``kind``'s schema."""
    return pl.DataFrame(schema=SCHEMAS[kind])
