"""A market: workers, clients, tasks and bids with their provenance; written and read as one directory."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

import gigshift
from gigshift._errors import GigshiftError, InputError
from gigshift._provenance import Provenance, Source
from gigshift._tables import check_option
from gigshift.market._io import check_references, default_mode, empty, read, write_frame
from gigshift.market._schema import KINDS
from gigshift.market._validate import validate

MarketFormat = Literal["parquet", "csv"]
MANIFEST = "market.json"
_MARKET_FILES = frozenset({f"{k}.{ext}" for k in KINDS for ext in ("csv", "parquet")} | {MANIFEST})


@dataclass(frozen=True, slots=True, eq=False)
class Market:
    """One market: four validated tables and where they came from.

    Attributes
    ----------
    workers, clients, tasks, bids : polars.DataFrame
        Tables following ``SCHEMAS`` (see ``validate``).
    provenance : Provenance
        Sources, method, gigshift version and seed (the root ``SeedSequence`` entropy for
        ``synthetic``), so a market can be regenerated.
    """

    workers: pl.DataFrame
    clients: pl.DataFrame
    tasks: pl.DataFrame
    bids: pl.DataFrame
    provenance: Provenance

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {kind: getattr(self, kind).height for kind in KINDS}

    def to_dict(self) -> dict[str, object]:
        """Counts and provenance (the body of ``market.json``)."""
        return {"counts": self.counts(), "provenance": self.provenance.to_dict()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, ensure_ascii=False)

    def summary(self) -> pl.DataFrame:
        """One row per category: n_tasks, n_workers, n_bids, median hourly rate and mean rating of its workers.

        A worker counts in every category it lists. ``mean_rating`` is over rated workers (null if none).
        Sorted by category.
        """
        supply = (
            self.workers.select("categories", "hourly_rate_usd", "rating")
            .explode("categories")
            .group_by(category="categories")
            .agg(
                n_workers=pl.len().cast(pl.Int64),
                median_hourly_rate_usd=pl.col("hourly_rate_usd").median(),
                mean_rating=pl.col("rating").mean(),
            )
        )
        demand = self.tasks.group_by("category").agg(n_tasks=pl.len().cast(pl.Int64))
        bids = (
            self.bids.join(self.tasks.select("task_id", "category"), on="task_id", how="inner")
            .group_by("category")
            .agg(n_bids=pl.len().cast(pl.Int64))
        )
        table = demand.join(supply, on="category", how="full", coalesce=True).join(bids, on="category", how="left")
        return table.select(
            "category",
            pl.col("n_tasks").fill_null(0),
            pl.col("n_workers").fill_null(0),
            pl.col("n_bids").fill_null(0),
            "median_hourly_rate_usd",
            "mean_rating",
        ).sort("category")

    def write(self, directory: str | os.PathLike[str], *, format: MarketFormat = "parquet") -> Path:
        """Write the four tables and ``market.json`` to ``directory``, all or nothing.

        Every table is validated and references are checked first; the files go to a temporary
        directory beside ``directory`` which then takes its place. An existing ``directory`` is
        replaced only if it is empty or holds nothing but market files.

        Parameters
        ----------
        directory : path
            The market directory to create or replace.
        format : {"parquet", "csv"}, default="parquet"
            File format of the tables.

        Returns
        -------
        pathlib.Path
            ``directory``.

        Raises
        ------
        GigshiftError
            Bad ``format``, or ``directory`` is a file or holds other files.
        InputError
            A table fails validation or references an unknown id.
        """
        check_option("format", format, MarketFormat, caller="Market.write")
        target = Path(directory)
        tables = {kind: validate(getattr(self, kind), kind=kind) for kind in KINDS}
        check_references(**tables)
        if target.exists():
            if not target.is_dir():
                raise GigshiftError(f"Market.write: {target} is a file; give a directory")
            others = sorted(p.name for p in target.iterdir() if p.name not in _MARKET_FILES)
            if others:
                raise GigshiftError(
                    f"Market.write: {target} holds files that are not part of a market ({', '.join(others[:3])}); "
                    "choose a new or empty directory"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
        try:
            os.chmod(staging, default_mode(0o777))
            for kind, frame in tables.items():
                write_frame(frame, staging / f"{kind}.{format}", format)
            body = {"gigshift_market": 1, "format": format, **self.to_dict()}
            (staging / MANIFEST).write_text(json.dumps(body, indent=2, allow_nan=False, ensure_ascii=False) + "\n")
            _swap_in(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


def _swap_in(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target``; an old ``target`` is removed only once the new one is in."""
    if not target.exists():
        os.rename(staging, target)
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _provenance_from(body: object, source: str) -> Provenance:
    try:
        prov = body["provenance"]  # type: ignore[index]
        return Provenance(
            sources=tuple(Source(**s) for s in prov["sources"]),
            method=str(prov["method"]),
            gigshift_version=str(prov["gigshift_version"]),
            seed=prov.get("seed"),
            extra={str(k): str(v) for k, v in prov.get("extra", {}).items()},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError.single(
            source=source, expected="a market manifest with provenance", got=f"malformed ({exc!r})"
        ) from None


def read_market(directory: str | os.PathLike[str]) -> Market:
    """Read a market directory: ``workers`` and ``tasks`` (required), ``clients`` and ``bids`` (optional).

    Each table is ``<kind>.parquet`` or ``<kind>.csv``; each is validated, then references between
    them are checked. Provenance comes from ``market.json`` when present.

    Raises
    ------
    InputError
        The directory or a required table is missing, a table fails validation, or an id points at
        nothing; the message names the file, row and column.
    GigshiftError
        A table exists both as CSV and as Parquet.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError.single(source=str(folder), expected="a market directory", got="not a directory")
    tables: dict[str, pl.DataFrame] = {}
    names: dict[str, str] = {}
    for kind in KINDS:
        found = [folder / f"{kind}.{ext}" for ext in ("parquet", "csv") if (folder / f"{kind}.{ext}").is_file()]
        if len(found) > 1:
            raise GigshiftError(f"read_market: {folder} holds both {kind}.parquet and {kind}.csv; keep one")
        if not found:
            if kind in ("workers", "tasks"):
                raise InputError.single(
                    source=str(folder), expected=f"a {kind}.parquet or {kind}.csv file", got="missing"
                )
            continue
        tables[kind], names[kind] = read(found[0], kind=kind), found[0].name
    check_references(**tables, sources=names)
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            body = json.loads(manifest.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError.single(source=str(manifest), expected="valid JSON", got=str(exc)) from None
        provenance = _provenance_from(body, str(manifest))
    else:
        provenance = Provenance(
            sources=(), method=f"market tables read from {folder.name}", gigshift_version=gigshift.__version__
        )
    return Market(
        workers=tables["workers"],
        clients=tables.get("clients", empty("clients")),
        tasks=tables["tasks"],
        bids=tables.get("bids", empty("bids")),
        provenance=provenance,
    )
