"""Helpers shared by the CLI commands: error handling, JSON output, atomic writes."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a GigshiftError into one red line on stderr and exit code 2."""
    from gigshift._errors import GigshiftError

    try:
        yield
    except GigshiftError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def emit_json(text: str) -> None:
    """Write exactly ``text`` (a result's ``to_json()``) and a newline to stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def debug() -> bool:
    return os.environ.get("GIGSHIFT_DEBUG", "") not in ("", "0")


def read_any(path: Path, *, name: str):  # type: ignore[no-untyped-def]
    """Read a CSV or Parquet table; a missing or unreadable file is the user's error, naming it."""
    import polars as pl

    from gigshift._errors import GigshiftError

    if not path.is_file():
        raise GigshiftError(f"{name}: no such file {str(path)!r}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".csv", ".txt"):
            return pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise GigshiftError(f"{path.name}: cannot read as {suffix[1:]}: {exc}") from None
    raise GigshiftError(f"{path.name}: expected a .csv or .parquet file, got {suffix or 'no suffix'!r}")


def renamed(exc: Exception, mapping: dict[str, str]) -> Exception:
    """An InputError about an in-memory table re-labelled with the file it came from."""
    from gigshift._errors import InputError

    if isinstance(exc, InputError) and exc.source in mapping:
        return InputError(exc.failures, source=mapping[exc.source])
    return exc


def write_table_atomic(frame, path: Path) -> None:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if path.suffix.lower() == ".csv":
            frame.write_csv(tmp)
        else:
            frame.write_parquet(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_dir_atomic(target: Path, fill: Callable[[Path], None]) -> None:
    """Fill a temporary folder beside ``target``, then swap it in: nothing is half-written."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        fill(staging)
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
            os.replace(target, old / "previous")
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
