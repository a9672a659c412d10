"""Read the tables of a market, allocation-run or simulation folder for :func:`gigshift.insights.market`.

A folder is recognised by what it holds (several kinds may be combined in one folder):

- a **market** (``gigshift market synth``, or a platform export): ``tasks`` and optionally ``bids``;
- an **allocation run** (``gigshift allocate run``): ``decision_log`` and ``assignments``;
- a **simulation** (``gigshift simulate --out``): ``categories`` and a sampled ``decision_log`` with a
  ``week`` column.

Each table is ``<name>.parquet`` or ``<name>.csv``. Only the columns the insights use are read, so a
10-million-row decision log loads in a second or two.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift.insights._inputs import log_columns

TABLES = ("tasks", "bids", "assignments", "decision_log", "categories")
_SIM_MARKERS = ("scenario.yaml", "panel.parquet")
_RUN_MARKERS = ("policy.yaml", "task_explanations.parquet")


@dataclass(frozen=True)
class MarketFolder:
    """The tables found in a folder, what kind of folder it is, and which file each table came from.

    Attributes
    ----------
    kinds : tuple of str
        ``"market"``, ``"allocation run"`` and/or ``"simulation"``.
    tables : dict of str to polars.DataFrame
        ``tasks``, ``bids``, ``assignments``, ``decision_log``, ``categories``: those present. Pass
        them on with ``market(**folder.tables, sources=folder.files)``.
    files : dict of str to str
        Table name -> file name, for error messages.
    """

    path: Path
    kinds: tuple[str, ...]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        listed = ", ".join(self.files[k] for k in TABLES if k in self.files)
        return f"{self.path.name}: {' + '.join(self.kinds)} folder ({listed})"


def _find(folder: Path, name: str) -> Path | None:
    found = [folder / f"{name}.{ext}" for ext in ("parquet", "csv") if (folder / f"{name}.{ext}").is_file()]
    if len(found) > 1:
        raise GigshiftError(f"{folder}: holds both {name}.parquet and {name}.csv; keep one")
    return found[0] if found else None


def _read(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """Read a CSV or Parquet table (only ``columns`` that exist, when given); unreadable -> InputError."""
    try:
        if path.suffix == ".parquet":
            if columns is None:
                return pl.read_parquet(path)
            present = set(pl.read_parquet_schema(path))
            return pl.read_parquet(path, columns=[c for c in columns if c in present])
        frame = pl.read_csv(path, infer_schema_length=10_000)
        return frame if columns is None else frame.select([c for c in columns if c in frame.columns])
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        what = "a readable Parquet file" if path.suffix == ".parquet" else "a UTF-8 CSV file with a header row"
        raise InputError.single(
            source=path.name, expected=what, got=f"unreadable ({str(exc).splitlines()[0][:120]})"
        ) from None


def read_folder(directory: str | os.PathLike[str]) -> MarketFolder:
    """Read the tables :func:`market` uses from a market, allocation-run or simulation folder.

    Parameters
    ----------
    directory : path
        The folder.

    Returns
    -------
    MarketFolder

    Raises
    ------
    InputError
        The folder does not exist, a table is unreadable, or a market table fails its schema (the
        message names the file, row and column).
    GigshiftError
        The folder holds none of the tables, or one both as CSV and as Parquet.

    Notes
    -----
    ``tasks`` and ``bids`` are parsed through the market schemas (``gigshift.market.read``); the
    decision log, assignments and categories are checked by :func:`market`, which names their files
    through ``sources``.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError.single(
            source=str(folder), expected="a market, allocation-run or simulation folder", got="not a directory"
        )
    paths = {name: p for name in TABLES if (p := _find(folder, name)) is not None}
    if not {"tasks", "decision_log", "categories"} & paths.keys():
        present = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        found = f"found {', '.join(present[:8])}" if present else "it is empty"
        raise GigshiftError(
            f"{folder}: not a market, allocation-run or simulation folder; expected tasks.parquet or tasks.csv "
            "(a market, `gigshift market synth`), decision_log.parquet (`gigshift allocate run`) or "
            f"categories.parquet (`gigshift simulate --out`); {found}"
        )
    kinds = []
    if "tasks" in paths or (folder / "market.json").is_file():
        kinds.append("market")
    if "assignments" in paths or any((folder / m).is_file() for m in _RUN_MARKERS):
        kinds.append("allocation run")
    if "categories" in paths or any((folder / m).is_file() for m in _SIM_MARKERS):
        kinds.append("simulation")
    if not kinds:
        kinds.append("decision log")
    tables: dict[str, pl.DataFrame] = {}
    for name, path in paths.items():
        if name in ("tasks", "bids"):
            from gigshift.market import read

            tables[name] = read(path, kind=name)  # type: ignore[arg-type]
        elif name == "decision_log":
            tables[name] = _read(path, log_columns())
        else:
            tables[name] = _read(path)
    return MarketFolder(
        path=folder, kinds=tuple(kinds), tables=tables, files={name: p.name for name, p in paths.items()}
    )
