"""Helpers shared by the CLI commands: error handling, JSON output, atomic writes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

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
