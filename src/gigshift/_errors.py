"""Exceptions shared by every engine and face.

A :class:`GigshiftError` is the user's fault (bad data, unknown code, bad parameter): the CLI
prints its one-line message and exits with code 2. Anything else is a bug.
"""

from __future__ import annotations

import polars as pl


class GigshiftError(Exception):
    """Base class for errors caused by user input or data, never by a bug."""


class NotFoundError(GigshiftError, LookupError):
    """An identifier (occupation code, category slug, ...) that does not exist.

    Parameters
    ----------
    kind : str
        What was looked up, e.g. ``"occupation"``.
    key : str
        The identifier that was not found.
    suggestions : list of str
        The closest existing identifiers, best first, each with a short label.
    """

    def __init__(self, kind: str, key: str, suggestions: list[str] | None = None) -> None:
        self.kind, self.key, self.suggestions = kind, key, list(suggestions or [])
        hint = f"; closest: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(f"unknown {kind} {key!r}{hint}")


class InputError(GigshiftError, ValueError):
    """Bad user data; ``failures`` holds one row per problem: row, column, expected, got.

    The message names the source, the first failing row and column, and how many more failed.
    Row 1 is the first data row.
    """

    def __init__(self, failures: pl.DataFrame, *, source: str) -> None:
        self.failures, self.source = failures, source
        first = failures.row(0, named=True)
        more = f" (+{failures.height - 1} more)" if failures.height > 1 else ""
        where = [source]
        if first.get("row") is not None:
            where.append(f"row {first['row']}")
        if first.get("column") is not None:
            where.append(f"column {first['column']!r}")
        super().__init__(f"{', '.join(where)}: expected {first['expected']}, got {first['got']!r}{more}")

    @classmethod
    def single(
        cls, *, source: str, expected: str, got: object, row: int | None = None, column: str | None = None
    ) -> InputError:
        """Build an error for one problem."""
        failures = pl.DataFrame(
            {"row": [row], "column": [column], "expected": [expected], "got": [str(got)]},
            schema={"row": pl.Int64, "column": pl.String, "expected": pl.String, "got": pl.String},
        )
        return cls(failures, source=source)
