"""Privacy of pooled pay figures: small-cell suppression, differential privacy and a privacy-loss ledger.

Two protections, usable alone or together:

* :func:`suppress` withholds every cell with fewer than ``k`` contributing workers (primary
  suppression) and enough other cells that no withheld cell can be worked out from what is
  released, totals included (complementary suppression). :func:`released_totals` gives the totals
  that may be published beside the cells.
* :func:`dp_cells` releases cell sums with differential privacy: each worker's contribution is
  bounded, then noise from the OpenDP library, calibrated to that bound, is added. Every release
  spends part of the pool's privacy budget, which a :class:`PrivacyLedger` in the pool directory
  keeps and enforces.

Suppression
-----------
The cells are the rows of a table keyed by ``dims`` (e.g. platform x category x week). The
*released totals* are every margin of the additive ``values``: the sums over each dim (platform x
week across categories, category x week across platforms, platform x category across weeks), over
each pair of dims (per platform, per category, per week) and over all dims (the grand total). With
the cells they form a cube, one line per margin entry and dim: the entry equals the sum of the
entries one level finer along that dim. A margin entry is itself withheld when it covers fewer than
``k`` distinct workers.

Worker counts are not additive: a worker active in two categories is one worker in the platform's
total, not two. A released total of workers is the number of *distinct* workers in it, known only
from the job-level rows (``contributions``). Without them a total is taken to have as many workers
as its largest cell, a lower bound of the distinct count, so a total is never released on a count
that may be below ``k`` (this withholds more than needed, never less). The worker count of a
withheld cell is withheld too; released distinct counts bound it but never pin it, as a count that
is not a sum enters no equation.

The complementary cells are chosen by passes over the whole cube (no loop over cells): in every
line with exactly one withheld entry, withhold one more, the released entry of the line that loses
least (a finer entry before a total, an entry with no zero value before one with a zero, then the
fewest workers, then the smallest first value); repeat until every line has none or at least two
withheld entries. That rule alone can leave a withheld cell pinned by a chain of lines (a bridge
between two rings of withheld cells), so each pass then solves the linear system of the lines for
the withheld entries and withholds one more entry next to every entry the equations still pin,
until none is pinned. Values are taken as non-negative (sums of money, counts and hours).

Differential privacy
--------------------
The privacy unit is a worker: two pools are neighbours when one has all of one worker's jobs and
the other has none of them. :func:`dp_cells` sums each worker's jobs per cell, keeps at most
``max_cells_per_worker`` cells per worker (chosen at random), clips each worker's sum per cell to
``[0, bound]``, adds up the clipped sums per cell and adds noise. Adding or removing one worker then
changes the vector of a value's cell sums by at most ``max_cells_per_worker * bound`` in L1 norm
(the Laplace mechanism's sensitivity) and ``sqrt(max_cells_per_worker) * bound`` in L2 norm (the
Gaussian mechanism's). The budget ``epsilon`` (and ``delta`` for the Gaussian mechanism) is split
evenly between the values (basic composition). Ratios formed from noisy sums are post-processing
and cost nothing more. The cells released are all combinations of the dims' labels, which are
treated as public (pass ``keys`` to fix them), so a cell's presence reveals nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from gigshift._errors import GigshiftError, InputError
from gigshift._tables import as_polars, check_option, check_positive_int, require_columns

__all__ = [
    "DPRelease",
    "PrivacyLedger",
    "Release",
    "dp_cells",
    "privacy_statement",
    "released_totals",
    "suppress",
]

Mechanism = Literal["laplace", "gaussian"]
Noise = Literal["secure", "seeded"]
Suppression = pl.Enum(["primary", "complementary"])
LEDGER_FILE = "privacy_ledger.json"

_DEFAULT_DIMS = ("platform", "category", "week")
_ID, _LEVEL, _WORKERS, _N_CELLS = "__id", "__level", "__workers", "__n_cells"


# --------------------------------------------------------------------------------------------------
# Small-cell suppression


def suppress(
    cells: pl.DataFrame,
    *,
    k: int = 11,
    workers: str = "workers",
    dims: tuple[str, ...] = _DEFAULT_DIMS,
    values: Sequence[str],
    contributions: pl.DataFrame | None = None,
    worker_id: str = "worker_id",
) -> pl.DataFrame:
    """Withhold cells with fewer than ``k`` workers, and enough others that none can be recomputed.

    Parameters
    ----------
    cells : DataFrame
        One row per cell: the ``dims`` columns (one row per key; a null label, such as an unknown
        area, is a label like any other), the ``workers``
        count and the additive ``values`` (non-negative sums: jobs, earnings, hours, ...).
    k : int, default=11
        The fewest distinct workers a released cell or total may rest on.
    workers : str, default="workers"
        The column counting the distinct workers in each cell.
    dims : tuple of str, default=("platform", "category", "week")
        The columns that key the cells; the released totals are the sums along them.
    values : sequence of str
        The additive columns to protect; nulled in withheld cells, summed in the totals.
    contributions : DataFrame, optional
        Rows with ``worker_id`` and the ``dims`` (e.g. the jobs, with a ``week`` column), to count
        the distinct workers of every total exactly; without them a total is taken to have as many
        workers as its largest cell.
    worker_id : str, default="worker_id"
        The worker column of ``contributions``.

    Returns
    -------
    DataFrame
        ``cells`` sorted by ``dims``, every column but the ``dims`` null where withheld, and two
        columns added: ``suppressed`` (bool) and ``suppression`` (``"primary"``: fewer than ``k``
        workers; ``"complementary"``: withheld to protect another cell; null when released).

    Notes
    -----
    A cell with no workers holds no one's data and is released (it is a known zero).

    Examples
    --------
    The first platform's first week has 4 workers; three more cells go so that neither it nor they
    follow from the platform and week totals:

    >>> cells = pl.DataFrame({"platform": ["a"] * 3 + ["b"] * 3, "week": [1, 2, 3] * 2,
    ...                       "workers": [4, 20, 15, 30, 25, 12], "pay": [60.0, 900, 700, 1400, 1100, 500]})
    >>> out = suppress(cells, k=11, dims=("platform", "week"), values=["pay"])
    >>> out.select("platform", "week", "pay", "suppression").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('a', 1, None, 'primary'), ('a', 2, 900.0, None), ('a', 3, None, 'complementary'),
     ('b', 1, None, 'complementary'), ('b', 2, 1100.0, None), ('b', 3, None, 'complementary')]
    """
    options = {"k": k, "workers": workers, "dims": dims, "values": values, "contributions": contributions}
    return _protect(cells, **options, worker_id=worker_id, caller="suppress", totals=False)[0]  # type: ignore[return-value]


def _released_cells(
    cells: pl.DataFrame, plan: pl.DataFrame, labels: dict[str, pl.DataFrame], *, dims: tuple[str, ...]
) -> pl.DataFrame:
    """:func:`suppress`'s answer from the plan."""
    codes = {d: f"__code_{d}" for d in dims}
    status = plan.filter(pl.col(_LEVEL) == 0).select(*dims, "suppressed", "suppression").rename(codes)
    coded = _encode(cells, labels, keep_labels=True)
    out = coded.join(status, on=list(codes.values()), how="left").drop(codes.values()).sort(list(dims), nulls_last=True)
    # every column but the keys is withheld: a ratio or label beside the values could give them away
    hidden = [c for c in cells.columns if c not in dims]
    return out.with_columns([pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in hidden])


def released_totals(
    cells: pl.DataFrame,
    *,
    k: int = 11,
    workers: str = "workers",
    dims: tuple[str, ...] = _DEFAULT_DIMS,
    values: Sequence[str],
    contributions: pl.DataFrame | None = None,
    worker_id: str = "worker_id",
) -> pl.DataFrame:
    """The totals that may be released beside :func:`suppress`'s cells, withheld ones nulled.

    Same parameters as :func:`suppress`, which it agrees with (the same cube, the same choices).

    Returns
    -------
    DataFrame
        One row per margin entry: ``margin`` (the dims kept, joined by ``" x "``, or ``"all"``), the
        ``dims`` (null where summed over), ``workers`` (distinct workers, null unless
        ``contributions`` were given), ``n_cells``, the ``values`` (null where withheld),
        ``suppressed`` and ``suppression``; coarsest margins last.

    Examples
    --------
    >>> cells = pl.DataFrame({"platform": ["a"] * 3 + ["b"] * 3, "week": [1, 2, 3] * 2,
    ...                       "workers": [4, 20, 15, 30, 25, 12], "pay": [60.0, 900, 700, 1400, 1100, 500]})
    >>> totals = released_totals(cells, k=11, dims=("platform", "week"), values=["pay"])
    >>> totals.select("margin", "platform", "week", "pay").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('platform', 'a', None, 1660.0), ('platform', 'b', None, 3000.0), ('week', None, 1, 1460.0),
     ('week', None, 2, 2000.0), ('week', None, 3, 1200.0), ('all', None, None, 4660.0)]
    """
    options = {"k": k, "workers": workers, "dims": dims, "values": values, "contributions": contributions}
    return _protect(cells, **options, worker_id=worker_id, caller="released_totals", cells_=False)[1]  # type: ignore[return-value]


def suppress_with_totals(
    cells: pl.DataFrame,
    *,
    k: int = 11,
    workers: str = "workers",
    dims: tuple[str, ...] = _DEFAULT_DIMS,
    values: Sequence[str],
    contributions: pl.DataFrame | None = None,
    worker_id: str = "worker_id",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`suppress` and :func:`released_totals` at once, planned once: (cells, totals)."""
    options = {"k": k, "workers": workers, "dims": dims, "values": values, "contributions": contributions}
    return _protect(cells, **options, worker_id=worker_id, caller="suppress_with_totals")  # type: ignore[return-value]


def _protect(
    cells: pl.DataFrame,
    *,
    k: int,
    workers: str,
    dims: tuple[str, ...],
    values: Sequence[str],
    contributions: pl.DataFrame | None,
    worker_id: str,
    caller: str,
    cells_: bool = True,
    totals: bool = True,
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The released cells and the released totals (each only if asked for) from one plan."""
    plan, labels = _plan(cells, k=k, workers=workers, dims=dims, values=values, contributions=contributions,
                         worker_id=worker_id, caller=caller)  # fmt: skip
    dims = tuple(dims)
    released = _released_cells(as_polars(cells, name="cells"), plan, labels, dims=dims) if cells_ else None
    margins = (
        _released_totals(plan, labels, dims=dims, values=list(values), workers=workers, exact=contributions is not None)
        if totals
        else None
    )
    return released, margins


def _released_totals(
    plan: pl.DataFrame,
    labels: dict[str, pl.DataFrame],
    *,
    dims: tuple[str, ...],
    values: list[str],
    workers: str,
    exact: bool,
) -> pl.DataFrame:
    """:func:`released_totals`' answer from the plan."""
    totals = _decode(plan.filter(pl.col(_LEVEL) > 0), labels)
    kept = [pl.when(pl.col(f"__code_{d}").is_not_null()).then(pl.lit(d)) for d in dims]
    margin = pl.concat_str(kept, separator=" x ", ignore_nulls=True).replace("", "all")
    return totals.select(
        margin.alias("margin"),
        *dims,
        (pl.col(_WORKERS) if exact else pl.lit(None, dtype=pl.Int64)).cast(pl.Int64).alias(workers),
        pl.col(_N_CELLS).cast(pl.Int64).alias("n_cells"),
        *[pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(v)).alias(v) for v in values],
        "suppressed",
        "suppression",
    )


def _plan(
    cells: object,
    *,
    k: int,
    workers: str,
    dims: tuple[str, ...],
    values: Sequence[str],
    contributions: pl.DataFrame | None,
    worker_id: str,
    caller: str,
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The cube of cells and totals with the final ``suppressed``/``suppression`` of every entry.

    Labels are replaced by integer codes (a null label, such as an unknown area, gets a code too), so
    that a null code in the cube means "summed over"; ``labels`` maps each dim's codes back.
    """
    cells = as_polars(cells, name="cells")
    check_positive_int("k", k, caller=caller)
    dims, values = tuple(dims), list(values)
    if not dims:
        raise GigshiftError(f"{caller}: dims must name at least one column")
    if isinstance(values, str) or not values:
        raise GigshiftError(f"{caller}: values must be a list of column names; got {values!r}")
    require_columns(
        cells,
        {**{f"dim {d}": d for d in dims}, "workers": workers, **{f"value {v}": v for v in values}},
        source="cells",
    )
    _check_cells(cells, dims=dims, values=values, workers=workers)
    labels = {d: cells.select(d).unique().sort(d, nulls_last=True).with_row_index(f"__code_{d}") for d in dims}
    cube = _cube(_encode(cells.select(*dims, *values, workers), labels), dims=dims, values=values, workers=workers)
    if contributions is not None:
        jobs = as_polars(contributions, name="contributions")
        require_columns(jobs, {"worker id": worker_id, **{f"dim {d}": d for d in dims}}, source="contributions")
        cube = _exact_workers(cube, _encode(jobs.select(worker_id, *dims), labels), dims=dims, worker_id=worker_id)
    entry, line, is_head = _lines(cube, dims)
    n_workers = cube[_WORKERS].to_numpy()
    primary = (n_workers < k) & (n_workers > 0)
    rank = _cost_rank(cube, values)
    withheld = _complete(primary, entry=entry, line=line, is_head=is_head, rank=rank)
    # built as an expression: an object array of strings and None cannot be cast to String by Polars
    # when its first element is None (a released first cell)
    cube = (
        cube.with_columns(suppressed=pl.Series(withheld), __primary=pl.Series(primary))
        .with_columns(
            suppression=pl.when(pl.col("__primary"))
            .then(pl.lit("primary"))
            .when(pl.col("suppressed"))
            .then(pl.lit("complementary"))
            .otherwise(pl.lit(None, dtype=pl.String))
            .cast(Suppression)
        )
        .drop("__primary")
    )
    return cube, labels


def _encode(frame: pl.DataFrame, labels: dict[str, pl.DataFrame], *, keep_labels: bool = False) -> pl.DataFrame:
    """Each dim's labels replaced by their codes (or, with ``keep_labels``, the codes added as ``__code_<dim>``).

    Rows whose label is not among ``labels`` are dropped.
    """
    for d, table in labels.items():
        frame = frame.join(table, on=d, how="inner", nulls_equal=True, maintain_order="left")
        if not keep_labels:
            frame = frame.drop(d).rename({f"__code_{d}": d})
    return frame


def _decode(cube: pl.DataFrame, labels: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Codes back to labels; ``__code_<dim>`` keeps the code (null where summed over)."""
    for d, table in labels.items():
        code = f"__code_{d}"
        cube = cube.rename({d: code}).join(table, on=code, how="left", maintain_order="left")
    return cube


def _check_cells(cells: pl.DataFrame, *, dims: tuple[str, ...], values: list[str], workers: str) -> None:
    failures = []
    indexed = cells.with_row_index("row", offset=1)
    for col in (*values, workers):
        if not cells.schema[col].is_numeric():
            failures.append(
                pl.DataFrame(
                    {"row": [None], "column": [col], "expected": ["a numeric column"], "got": [str(cells.schema[col])]},
                    schema_overrides={"row": pl.UInt32},
                )
            )
            continue
        bad = indexed.filter(pl.col(col).is_not_null() & ~(pl.col(col).cast(pl.Float64) >= 0))
        if bad.height:
            failures.append(
                bad.select("row", column=pl.lit(col), expected=pl.lit("a number >= 0"), got=pl.col(col).cast(pl.String))
            )
    dup = indexed.filter(pl.struct(list(dims)).is_duplicated())
    if dup.height:
        failures.append(
            dup.select(
                "row", column=pl.lit(", ".join(dims)), expected=pl.lit("one row per cell"), got=pl.lit("a repeated key")
            )
        )
    if failures:
        table = pl.concat([f.with_columns(pl.col("row").cast(pl.Int64)) for f in failures])
        raise InputError(table.with_columns(pl.col("got").cast(pl.String)), source="cells")


def _cube(cells: pl.DataFrame, *, dims: tuple[str, ...], values: list[str], workers: str) -> pl.DataFrame:
    """Cells (level 0) and every margin (level = number of dims summed over; null marks a summed dim)."""
    frames = []
    agg = [
        *[pl.col(v).fill_null(0).sum() for v in values],
        pl.col(workers).max().cast(pl.Int64).alias(_WORKERS),
        pl.len().cast(pl.Int64).alias(_N_CELLS),
    ]
    base = cells.select(*dims, *values, workers)
    for level in range(len(dims) + 1):
        for summed in combinations(dims, level):
            kept = [d for d in dims if d not in summed]
            frame = base.group_by(kept).agg(agg) if kept else base.select(agg)
            frame = frame.with_columns(
                *[pl.lit(None, dtype=cells.schema[d]).alias(d) for d in summed], pl.lit(level).alias(_LEVEL)
            )
            frames.append(frame.select(*dims, *values, _WORKERS, _N_CELLS, _LEVEL))
    cube = pl.concat(frames, how="vertical_relaxed")
    return cube.sort([_LEVEL, *dims], nulls_last=True).with_row_index(_ID)


def _exact_workers(cube: pl.DataFrame, jobs: pl.DataFrame, *, dims: tuple[str, ...], worker_id: str) -> pl.DataFrame:
    """Replace the totals' worker counts (a lower bound) by the distinct workers in ``jobs`` (dims coded)."""
    # the workers as integers once (one pass hashing their ids), then every margin's count at once
    coded = jobs.lazy().with_columns(pl.col(worker_id).cast(pl.String).cast(pl.Categorical).to_physical())
    counts = []
    for level in range(1, len(dims) + 1):
        for summed in combinations(dims, level):
            kept = [d for d in dims if d not in summed]
            n = pl.col(worker_id).n_unique().cast(pl.Int64).alias("__exact")
            frame = coded.group_by(kept).agg(n) if kept else coded.select(n)
            frame = frame.with_columns(*[pl.lit(None, dtype=cube.schema[d]).alias(d) for d in summed])
            counts.append(frame.select(*[pl.col(d).cast(cube.schema[d]) for d in dims], "__exact"))
    exact = pl.concat(pl.collect_all(counts, engine="streaming"))  # counts: exact in any order of adding up
    joined = cube.join(exact, on=list(dims), how="left", nulls_equal=True)
    return (
        joined.with_columns(
            pl.when(pl.col(_LEVEL) > 0).then(pl.col("__exact").fill_null(0)).otherwise(pl.col(_WORKERS)).alias(_WORKERS)
        )
        .drop("__exact")
        .sort(_ID)
    )


def _lines(cube: pl.DataFrame, dims: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Membership of cube entries in lines: (entry id, line id, is the line's total) arrays.

    The line of dim ``d`` headed by a total ``h`` (``h[d]`` summed over) holds ``h`` and every entry
    equal to ``h`` except for a label in ``d``; the line says ``h`` = the sum of the others.
    """
    m = len(dims)
    heads = cube.select(*dims, pl.col(_ID).alias("__head"))
    entries, lines, is_head = [], [], []
    for j, d in enumerate(dims):
        members = cube.filter(pl.col(d).is_not_null()).select(_ID, *[c for c in dims if c != d])
        members = members.with_columns(pl.lit(None, dtype=cube.schema[d]).alias(d))
        matched = members.join(heads, on=list(dims), how="inner", nulls_equal=True)
        entries.append(matched[_ID].to_numpy())
        lines.append(matched["__head"].to_numpy() * m + j)
        is_head.append(np.zeros(matched.height, dtype=bool))
        own = cube.filter(pl.col(d).is_null())[_ID].to_numpy()
        entries.append(own)
        lines.append(own * m + j)
        is_head.append(np.ones(own.size, dtype=bool))
    line = np.concatenate(lines)
    _, line = np.unique(line, return_inverse=True)
    return np.concatenate(entries).astype(np.int64), line.astype(np.int64), np.concatenate(is_head)


def _cost_rank(cube: pl.DataFrame, values: list[str]) -> np.ndarray:
    """Rank of each entry as a complementary choice, 0 = loses least (finer, no zero, fewest workers)."""
    has_zero = pl.any_horizontal([pl.col(v) <= 0 for v in values]).alias("__zero")
    order = (
        cube.select(_ID, _LEVEL, has_zero, _WORKERS, pl.col(values[0]).alias("__v"))
        .sort([_LEVEL, "__zero", _WORKERS, "__v", _ID])[_ID]
        .to_numpy()
    )
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank


def _complete(
    primary: np.ndarray, *, entry: np.ndarray, line: np.ndarray, is_head: np.ndarray, rank: np.ndarray
) -> np.ndarray:
    """Add complementary suppressions until no withheld entry is pinned by the released ones."""
    withheld = primary.copy()
    n_lines = int(line.max()) + 1 if line.size else 0
    by_rank = np.argsort(rank)
    sentinel = rank.size
    for _ in range(rank.size + 1):  # each pass withholds at least one more entry, so this bounds the passes
        count = np.bincount(line, weights=withheld[entry].astype(float), minlength=n_lines)
        lonely = count == 1
        if lonely.any():
            candidate = lonely[line] & ~withheld[entry]
            best = np.full(n_lines, sentinel)
            np.minimum.at(best, line[candidate], rank[entry[candidate]])
            withheld[by_rank[best[lonely]]] = True
            continue
        pinned = _pinned(withheld, entry=entry, line=line, is_head=is_head, n_lines=n_lines)
        if not pinned.any():
            return withheld
        withheld[_next_to(pinned, withheld, entry=entry, line=line, rank=rank, by_rank=by_rank)] = True
    raise AssertionError("complementary suppression did not settle")  # pragma: no cover - bounded above


def _next_to(
    pinned: np.ndarray,
    withheld: np.ndarray,
    *,
    entry: np.ndarray,
    line: np.ndarray,
    rank: np.ndarray,
    by_rank: np.ndarray,
) -> np.ndarray:
    """For each pinned entry, the released entry sharing a line with it that loses least."""
    n_lines = int(line.max()) + 1
    pinned_lines = np.zeros(n_lines, dtype=bool)
    pinned_lines[line[pinned[entry]]] = True
    # the cheapest released entry in each line through a pinned entry, then the cheapest such line per entry
    sentinel = rank.size
    best_in_line = np.full(n_lines, sentinel)
    candidate = pinned_lines[line] & ~withheld[entry]
    np.minimum.at(best_in_line, line[candidate], rank[entry[candidate]])
    through = pinned[entry]
    best_for_entry = np.full(rank.size, sentinel)
    np.minimum.at(best_for_entry, entry[through], best_in_line[line[through]])
    chosen = np.unique(best_for_entry[pinned & (best_for_entry < sentinel)])
    if chosen.size == 0:
        # every line through a pinned entry is fully withheld: widen to any line with a withheld entry
        touched = np.zeros(n_lines, dtype=bool)
        touched[line[withheld[entry]]] = True
        candidate = touched[line] & ~withheld[entry]
        chosen = np.array([rank[entry[candidate]].min()])
    return by_rank[chosen]


def _pinned(
    withheld: np.ndarray, *, entry: np.ndarray, line: np.ndarray, is_head: np.ndarray, n_lines: int
) -> np.ndarray:
    """Withheld entries whose value the line equations determine from the released entries.

    Entry ``i`` is determined exactly when every solution of the homogeneous system (the lines,
    restricted to withheld entries) has a zero in ``i``: its row of a null-space basis is zero.
    The system splits into connected components, solved one at a time.
    """
    from scipy import sparse
    from scipy.linalg import null_space
    from scipy.sparse.csgraph import connected_components

    pinned = np.zeros(withheld.size, dtype=bool)
    unknown = np.flatnonzero(withheld)
    if unknown.size == 0:
        return pinned
    column = np.full(withheld.size, -1)
    column[unknown] = np.arange(unknown.size)
    keep = withheld[entry]
    coef = np.where(is_head[keep], 1.0, -1.0)
    a = sparse.csr_matrix((coef, (line[keep], column[entry[keep]])), shape=(n_lines, unknown.size))
    a = a[np.flatnonzero(a.getnnz(axis=1))]
    pattern = abs(a)
    n_comp, comp = connected_components(pattern.T @ pattern, directed=False)
    row_comp = comp[a.indices[a.indptr[:-1]]]  # every row's first column names its component
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], np.arange(n_comp + 1))
    row_order = np.argsort(row_comp, kind="stable")
    row_starts = np.searchsorted(row_comp[row_order], np.arange(n_comp + 1))
    for c in range(n_comp):  # one small dense solve per component of withheld entries
        cols = order[starts[c] : starts[c + 1]]
        rows = row_order[row_starts[c] : row_starts[c + 1]]
        block = a[rows][:, cols].toarray()
        basis = null_space(block)
        free = np.linalg.norm(basis, axis=1) > 1e-8 if basis.size else np.zeros(cols.size, dtype=bool)
        pinned[unknown[cols[~free]]] = True
    return pinned


# --------------------------------------------------------------------------------------------------
# Differential privacy


@dataclass(frozen=True, slots=True)
class DPRelease:
    """Cell sums released with differential privacy, and how they were protected.

    Attributes
    ----------
    cells : DataFrame
        One row per key (``dims`` sorted), a noisy sum per value and one column per ratio of
        noisy sums (null where the noisy denominator is not positive). Noisy sums can be negative.
    epsilon, delta : float
        The privacy loss of the whole release (``delta`` is 0 for the Laplace mechanism).
    mechanism : str
        ``"laplace"`` or ``"gaussian"``.
    bounds : dict of str to float
        Each worker's sum per cell is clipped to ``[0, bound]``.
    max_cells_per_worker : int
        The most cells one worker contributes to.
    sensitivity : dict of str to float
        Per value, the most one worker can move its vector of cell sums: L1 norm for Laplace, L2
        norm for Gaussian.
    noise_sd : dict of str to float
        Per value, the standard deviation of the noise added to each cell (public: use it for
        intervals).
    noise : str
        ``"secure"`` (OpenDP's sampler on the system's secure randomness) or ``"seeded"``.
    """

    cells: pl.DataFrame
    epsilon: float
    delta: float
    mechanism: str
    bounds: dict[str, float]
    max_cells_per_worker: int
    sensitivity: dict[str, float]
    noise_sd: dict[str, float]
    noise: str

    def tidy(self) -> pl.DataFrame:
        """The released cells."""
        return self.cells


def dp_cells(
    jobs: pl.DataFrame,
    *,
    epsilon: float,
    bounds: Mapping[str, float],
    dims: tuple[str, ...] = _DEFAULT_DIMS,
    worker_id: str = "worker_id",
    max_cells_per_worker: int = 12,
    mechanism: Mechanism = "laplace",
    delta: float = 1e-6,
    ratios: Mapping[str, tuple[str, str]] | None = None,
    keys: pl.DataFrame | None = None,
    noise: Noise = "secure",
    seed: int | None = None,
) -> DPRelease:
    """Cell sums with differential privacy at the level of a worker (all of a worker's jobs).

    Parameters
    ----------
    jobs : DataFrame
        Job rows, or rows already summed per worker and cell: ``worker_id``, the ``dims`` and the
        value columns. A ``week`` dim missing from the table is the Monday of ``start``.
    epsilon : float
        The privacy loss of the whole release, split evenly between the values.
    bounds : mapping of str to float
        Value column to the most one worker may add to one cell (e.g. ``{"worker_pay": 1500.0,
        "hours": 60.0, "n_jobs": 100}``); a worker's larger sum is clipped. ``"n_jobs"``, when not a
        column, counts jobs. Set bounds from public knowledge, never from the data.
    dims : tuple of str, default=("platform", "category", "week")
        The columns that key the cells.
    worker_id : str, default="worker_id"
        The column naming the worker: the unit of privacy.
    max_cells_per_worker : int, default=12
        A worker contributing to more cells keeps this many, chosen at random.
    mechanism : {"laplace", "gaussian"}, default="laplace"
        Laplace noise (pure epsilon-DP, calibrated to L1 sensitivity) or Gaussian noise
        ((epsilon, delta)-DP through zero-concentrated DP, calibrated to L2 sensitivity, which
        grows with the square root of ``max_cells_per_worker`` rather than linearly).
    delta : float, default=1e-6
        For the Gaussian mechanism: the chance the epsilon guarantee fails. Ignored for Laplace.
    ratios : mapping of str to (str, str), optional
        Ratio column to (numerator, denominator) values, formed from the noisy sums.
    keys : DataFrame, optional
        The cells to release (the ``dims`` columns). By default every combination of the labels
        seen in ``jobs``, which are thereby taken as public.
    noise : {"secure", "seeded"}, default="secure"
        ``"secure"`` draws the noise with OpenDP from the system's secure randomness: a new draw
        each call, whatever the seed (a noise seed anyone could learn would undo the privacy).
        ``"seeded"`` draws it from ``seed``, for tests and demonstrations only.
    seed : int, optional
        Seeds the choice of cells for workers above ``max_cells_per_worker`` (and the noise when
        ``noise="seeded"``).

    Returns
    -------
    DPRelease

    Notes
    -----
    Charge the release to the pool's :class:`PrivacyLedger` (``ledger.charge(release.epsilon,
    delta=release.delta, release=...)``) before anyone sees it. Neighbouring pools differ by one
    worker's records; see the module docstring for the sensitivity.

    Examples
    --------
    >>> jobs = pl.DataFrame({"worker_id": ["w1", "w1", "w2"], "platform": ["a", "a", "a"],
    ...                      "week": [1, 2, 1], "worker_pay": [20.0, 30.0, 25.0]})
    >>> out = dp_cells(jobs, epsilon=1.0, bounds={"worker_pay": 100.0}, dims=("platform", "week"),
    ...                max_cells_per_worker=2, noise="seeded", seed=0)
    >>> out.sensitivity, round(out.noise_sd["worker_pay"], 1)
    ({'worker_pay': 200.0}, 282.8)
    """
    jobs = as_polars(jobs, name="jobs")
    caller = "dp_cells"
    check_option("mechanism", mechanism, Mechanism, caller=caller)
    check_option("noise", noise, Noise, caller=caller)
    check_positive_int("max_cells_per_worker", max_cells_per_worker, caller=caller)
    epsilon = _positive_finite("epsilon", epsilon, caller=caller)
    if mechanism == "gaussian" and not (isinstance(delta, int | float) and 0 < delta < 1):
        raise GigshiftError(f"{caller}: delta must be in (0, 1) for the Gaussian mechanism; got {delta!r}")
    delta = float(delta) if mechanism == "gaussian" else 0.0
    if not isinstance(bounds, Mapping) or not bounds:
        raise GigshiftError(f"{caller}: bounds must map value columns to their per-worker, per-cell bound")
    bounds = {str(v): _positive_finite(f"bounds[{v!r}]", b, caller=caller) for v, b in bounds.items()}
    ratios = dict(ratios or {})
    for name, pair in ratios.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(p in bounds for p in pair)):
            raise GigshiftError(
                f"{caller}: ratios[{name!r}] must be a (numerator, denominator) pair of bounded "
                f"values ({', '.join(bounds)}); got {pair!r}"
            )
    dims = tuple(dims)
    if "week" in dims and "week" not in jobs.columns and "start" in jobs.columns:
        jobs = jobs.with_columns(pl.col("start").dt.truncate("1w").dt.date().alias("week"))
    counted = [v for v in bounds if v == "n_jobs" and v not in jobs.columns]
    require_columns(
        jobs,
        {
            "worker id": worker_id,
            **{f"dim {d}": d for d in dims},
            **{f"value {v}": v for v in bounds if v not in counted},
        },
        source="jobs",
    )
    root = np.random.SeedSequence(seed)
    pick_rng, noise_rng = (np.random.default_rng(s) for s in root.spawn(2))

    sums, keys = _bounded_sums(
        jobs,
        bounds=bounds,
        dims=dims,
        worker_id=worker_id,
        max_cells_per_worker=max_cells_per_worker,
        keys=keys,
        rng=pick_rng,
    )
    share_eps, share_delta = epsilon / len(bounds), delta / len(bounds)
    sensitivity, noise_sd, noisy = {}, {}, {}
    for value, bound in bounds.items():  # one mechanism per value column, each on the whole vector of cells
        exact = sums[value].to_numpy().astype(float)
        if mechanism == "laplace":
            sensitivity[value] = max_cells_per_worker * bound
        else:
            sensitivity[value] = math.sqrt(max_cells_per_worker) * bound
        measurement, scale = _calibrated(
            mechanism, sensitivity=sensitivity[value], epsilon=share_eps, delta=share_delta
        )
        noise_sd[value] = scale * math.sqrt(2.0) if mechanism == "laplace" else scale
        if noise == "secure":
            noisy[value] = np.asarray(measurement(exact.tolist()), dtype=float) if exact.size else exact
        elif mechanism == "laplace":
            noisy[value] = exact + noise_rng.laplace(0.0, scale, exact.size)
        else:
            noisy[value] = exact + noise_rng.normal(0.0, scale, exact.size)
    cells = keys.with_columns(*[pl.Series(v, noisy[v]) for v in bounds])
    cells = cells.with_columns(
        [pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).alias(name) for name, (num, den) in ratios.items()]
    )
    return DPRelease(
        cells=cells,
        epsilon=epsilon,
        delta=delta,
        mechanism=mechanism,
        bounds=bounds,
        max_cells_per_worker=max_cells_per_worker,
        sensitivity=sensitivity,
        noise_sd=noise_sd,
        noise=noise,
    )


def _positive_finite(name: str, value: object, *, caller: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value > 0):
        raise GigshiftError(f"{caller}: {name} must be a finite number > 0; got {value!r}")
    return float(value)


def _bounded_sums(
    jobs: pl.DataFrame,
    *,
    bounds: dict[str, float],
    dims: tuple[str, ...],
    worker_id: str,
    max_cells_per_worker: int,
    keys: pl.DataFrame | None,
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-cell sums after bounding each worker: at most ``max_cells_per_worker`` cells, each clipped.

    Returns the sums (``keys`` with one column per value) and the keys.
    """
    if keys is None:
        labels = [jobs.select(pl.col(d).drop_nulls().unique().sort()) for d in dims]
        keys = labels[0]
        for more in labels[1:]:
            keys = keys.join(more, how="cross")
    else:
        keys = as_polars(keys, name="keys")
        require_columns(keys, {f"dim {d}": d for d in dims}, source="keys")
        keys = keys.select(dims).unique()
    keys = keys.sort(list(dims))
    per_cell = [
        pl.len().alias(v) if v == "n_jobs" and v not in jobs.columns else pl.col(v).fill_null(0).sum() for v in bounds
    ]
    per_worker = (
        jobs.group_by([worker_id, *dims])
        .agg(per_cell)
        .join(keys, on=list(dims), how="semi")  # contributions outside the public keys are dropped
        .sort([worker_id, *dims])
    )
    # a worker's cells are ranked by a seeded hash of (worker, cell): the choice depends on that worker's
    # records alone, so adding or removing one worker leaves every other worker's choice as it was
    salt = int(rng.integers(0, 2**63))
    order = pl.struct([worker_id, *dims]).hash(seed=salt)
    per_worker = (
        per_worker.with_columns(order.alias("__order"))
        .filter(pl.col("__order").rank("ordinal").over(worker_id) <= max_cells_per_worker)
        .with_columns([pl.col(v).cast(pl.Float64).clip(0.0, b) for v, b in bounds.items()])
    )
    sums = (
        keys.join(per_worker.group_by(list(dims)).agg([pl.col(v).sum() for v in bounds]), on=list(dims), how="left")
        .with_columns([pl.col(v).fill_null(0.0) for v in bounds])
        .sort(list(dims))
    )
    return sums, keys


def _calibrated(mechanism: str, *, sensitivity: float, epsilon: float, delta: float) -> tuple[object, float]:
    """An OpenDP measurement over float vectors whose privacy map gives ``epsilon`` at ``sensitivity``."""
    scale = _calibrated_scale(mechanism, sensitivity, epsilon, delta)
    return _measurement(mechanism, scale, delta), scale


def _measurement(mechanism: str, scale: float, delta: float) -> object:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    if mechanism == "laplace":
        return dp.m.make_laplace(domain, dp.l1_distance(T=float), scale=scale)
    gaussian = dp.m.make_gaussian(domain, dp.l2_distance(T=float), scale=scale)
    return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian), delta)


@functools.lru_cache(maxsize=256)
def _calibrated_scale(mechanism: str, sensitivity: float, epsilon: float, delta: float) -> float:
    """The least noise scale whose OpenDP privacy map stays within ``epsilon`` (and ``delta``)."""
    import opendp.prelude as dp

    # brackets: Laplace needs sensitivity / epsilon; the Gaussian needs more than sensitivity / sqrt(2 epsilon)
    # (rho <= epsilon) and less than twice the classical sensitivity * sqrt(2 ln(1.25 / delta)) / epsilon
    if mechanism == "laplace":
        d_out: object = epsilon
        bracket = (0.5 * sensitivity / epsilon, 2.0 * sensitivity / epsilon)
    else:
        d_out = (epsilon, delta)
        bracket = (
            0.99 * sensitivity / math.sqrt(2.0 * epsilon),
            sensitivity * (1.0 + 2.0 * math.sqrt(2.0 * math.log(1.25 / delta)) / epsilon),
        )
    make = functools.partial(_measurement, mechanism, delta=delta)
    return float(dp.binary_search_param(make, d_in=sensitivity, d_out=d_out, bounds=bracket))


# --------------------------------------------------------------------------------------------------
# The pool's privacy-loss ledger


@dataclass(frozen=True, slots=True)
class Release:
    """One release charged to a ledger."""

    time: datetime
    epsilon: float
    delta: float
    release: str


class PrivacyLedger:
    """The privacy budget of a pool and every release charged to it, kept in ``privacy_ledger.json``.

    Releases compose by adding their epsilons (and deltas): the basic composition theorem. The file
    is rewritten whole, through a temporary file and ``os.replace``, under a lock, so a crash or two
    concurrent charges never leave it half-written or lose a charge. Open with :meth:`open`.
    """

    def __init__(self, path: Path, *, budget: float, delta_budget: float) -> None:
        self.path, self.budget, self.delta_budget = path, budget, delta_budget

    @classmethod
    def open(
        cls, pool_dir: str | os.PathLike[str], *, budget: float = 1.0, delta_budget: float = 1e-5
    ) -> PrivacyLedger:
        """The ledger of the pool in ``pool_dir`` (nothing is written until the first charge).

        Parameters
        ----------
        pool_dir : path
            The pool directory; must exist.
        budget : float, default=1.0
            The total epsilon the pool may ever spend. Fixed by the first charge: reopening an
            existing ledger with another budget is an error.
        delta_budget : float, default=1e-5
            The total delta (for Gaussian releases), fixed likewise.
        """
        caller = "PrivacyLedger.open"
        budget = _positive_finite("budget", budget, caller=caller)
        if not (isinstance(delta_budget, int | float) and 0 <= delta_budget < 1):
            raise GigshiftError(f"{caller}: delta_budget must be in [0, 1); got {delta_budget!r}")
        pool = Path(pool_dir)
        if not pool.is_dir():
            raise GigshiftError(f"{caller}: pool directory {str(pool)!r} does not exist")
        ledger = cls(pool / LEDGER_FILE, budget=budget, delta_budget=float(delta_budget))
        ledger._read()
        return ledger

    def _read(self) -> dict:
        if not self.path.exists():
            return {"budget": self.budget, "delta_budget": self.delta_budget, "releases": []}
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
            releases = state["releases"]
            stored, stored_delta = float(state["budget"]), float(state["delta_budget"])
            for r in releases:
                float(r["epsilon"]), float(r["delta"]), str(r["release"]), datetime.fromisoformat(r["time"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GigshiftError(
                f"{self.path}: not a readable privacy ledger ({exc}); restore it from a backup, "
                "as the privacy already spent cannot be recomputed"
            ) from None
        if not (math.isclose(stored, self.budget) and math.isclose(stored_delta, self.delta_budget)):
            raise GigshiftError(
                f"{self.path}: the pool's budget is epsilon={stored:g}, delta={stored_delta:g}; got "
                f"budget={self.budget:g}, delta_budget={self.delta_budget:g}; a pool's budget is fixed by its first "
                "release"
            )
        return state

    @property
    def releases(self) -> pl.DataFrame:
        """Every charged release, oldest first: time, epsilon, delta, release."""
        rows = self._read()["releases"]
        return pl.DataFrame(
            {
                "time": [datetime.fromisoformat(r["time"]) for r in rows],
                "epsilon": [float(r["epsilon"]) for r in rows],
                "delta": [float(r["delta"]) for r in rows],
                "release": [str(r["release"]) for r in rows],
            },
            schema={"time": pl.Datetime("us", "UTC"), "epsilon": pl.Float64, "delta": pl.Float64, "release": pl.String},
        )

    @property
    def spent(self) -> float:
        """Epsilon spent so far."""
        return math.fsum(float(r["epsilon"]) for r in self._read()["releases"])

    @property
    def delta_spent(self) -> float:
        """Delta spent so far."""
        return math.fsum(float(r["delta"]) for r in self._read()["releases"])

    @property
    def left(self) -> float:
        """Epsilon left to spend."""
        return max(0.0, self.budget - self.spent)

    def charge(self, epsilon: float, *, release: str, delta: float = 0.0, at: datetime | None = None) -> Release:
        """Record a release of privacy loss ``epsilon`` (and ``delta``), or refuse it, writing nothing.

        Raises
        ------
        GigshiftError
            When the release would take the pool past its budget.
        """
        caller = "PrivacyLedger.charge"
        epsilon = _positive_finite("epsilon", epsilon, caller=caller)
        if not (isinstance(delta, int | float) and 0 <= delta < 1):
            raise GigshiftError(f"{caller}: delta must be in [0, 1); got {delta!r}")
        if not isinstance(release, str) or not release.strip():
            raise GigshiftError(f"{caller}: release must say what is released; got {release!r}")
        when = (at or datetime.now(UTC)).astimezone(UTC)
        with self._locked():
            state = self._read()
            spent = math.fsum(float(r["epsilon"]) for r in state["releases"])
            delta_spent = math.fsum(float(r["delta"]) for r in state["releases"])
            slack = 1e-9 * self.budget  # float sums of planned shares, e.g. 0.1 + 0.2
            if spent + epsilon > self.budget + slack:
                raise GigshiftError(
                    f"{self.path}: {release!r} needs epsilon={epsilon:g}, but only {max(0.0, self.budget - spent):g} "
                    f"of the pool's budget of {self.budget:g} is left; nothing was released or recorded"
                )
            if delta_spent + delta > self.delta_budget * (1 + 1e-9):
                raise GigshiftError(
                    f"{self.path}: {release!r} needs delta={delta:g}, but only "
                    f"{max(0.0, self.delta_budget - delta_spent):g} of the pool's delta budget of "
                    f"{self.delta_budget:g} is left; nothing was released or recorded"
                )
            state["releases"].append(
                {"time": when.isoformat(), "epsilon": epsilon, "delta": float(delta), "release": release}
            )
            _write_json_atomically(self.path, state)
        return Release(time=when, epsilon=epsilon, delta=float(delta), release=release)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: os.replace still keeps the file whole
            yield
            return
        with open(self.path.with_name(self.path.name + ".lock"), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def __repr__(self) -> str:
        return f"PrivacyLedger({str(self.path)!r}, budget={self.budget:g}, spent={self.spent:g})"


def _write_json_atomically(path: Path, body: dict) -> None:
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as handle:
        try:
            json.dump(body, handle, indent=2, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            os.unlink(handle.name)
            raise
    try:
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


def privacy_statement(k: int, epsilon_spent: float, epsilon_left: float) -> str:
    """How the pool's figures are protected, in plain words, for the top of every report.

    Examples
    --------
    >>> print(privacy_statement(11, 0.0, 1.0))  # doctest: +NORMALIZE_WHITESPACE
    No figure describes fewer than 11 workers: smaller groups are left out, and so are enough other
    figures that the missing ones cannot be worked out from the totals. No figures with added noise
    (differential privacy) have been published from this pool yet; its whole privacy budget of
    epsilon = 1 is left.
    """
    k = check_positive_int("k", k, caller="privacy_statement")
    for name, value in (("epsilon_spent", epsilon_spent), ("epsilon_left", epsilon_left)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value >= 0):
            raise GigshiftError(f"privacy_statement: {name} must be a finite number >= 0; got {value!r}")
    first = (
        f"No figure describes fewer than {k} workers: smaller groups are left out, and so are enough other "
        "figures that the missing ones cannot be worked out from the totals."
    )
    if epsilon_spent == 0:
        return (
            f"{first} No figures with added noise (differential privacy) have been published from this pool "
            f"yet; its whole privacy budget of epsilon = {epsilon_left:.3g} is left."
        )
    end = (
        "The budget is now used up: no more noisy figures will be published from this pool."
        if epsilon_left <= 0
        else f"epsilon = {epsilon_left:.3g} is left; once it is used up, no more noisy figures are published."
    )
    return (
        f"{first} Some figures also carry deliberate random noise (differential privacy), so that they come out "
        "almost the same whether or not any one worker's records are in the pool: the chance of any result "
        f"changes by at most a factor of {math.exp(epsilon_spent):.2f} (epsilon = {epsilon_spent:.3g} spent so far). "
        f"{end}"
    )
