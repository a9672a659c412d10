"""A decision log indexed by task: rows of a task contiguous, per-task figures by ``ufunc.reduceat``.

The allocation engine writes each task's candidates together, so the index is a scan for the rows
where the task changes (checked: each task must form one run; otherwise the log is sorted once).
Everything per task or per category-week is then a gather or a ``reduceat`` over NumPy arrays, with
no hashing of ten million strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class TaskLog:
    """The checked log with its rows grouped by task.

    Attributes
    ----------
    frame : polars.DataFrame
        The log, rows of a task contiguous.
    starts : numpy.ndarray
        First row of each task (int64), increasing.
    sizes : numpy.ndarray
        Candidates per task.
    keys : list of str
        Columns identifying a task: ``replicate`` and ``week`` when present, and ``task_id``.
    """

    frame: pl.DataFrame
    starts: np.ndarray
    sizes: np.ndarray
    keys: list[str]

    @property
    def n_tasks(self) -> int:
        return int(self.starts.size)

    def task_of_rows(self) -> np.ndarray:
        return np.repeat(np.arange(self.starts.size, dtype=np.int64), self.sizes)

    def per_task_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (one per row) over each task's rows; booleans count (int64), without a copy."""
        if values.size == 0:
            return np.zeros(0, dtype=np.int64 if values.dtype == bool else values.dtype)
        if values.dtype == bool:
            return np.add.reduceat(values.view(np.uint8), self.starts, dtype=np.int64)
        return np.add.reduceat(values, self.starts)

    def rows_of(self, tasks: np.ndarray) -> np.ndarray:
        """Row indices of the given tasks (sorted task codes), in order."""
        sizes = self.sizes[tasks]
        offsets = np.repeat(self.starts[tasks] - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        return np.arange(int(sizes.sum()), dtype=np.int64) + offsets


def _run_starts(frame: pl.DataFrame, keys: list[str]) -> np.ndarray:
    changed = pl.lit(False)
    for key in keys:
        changed = changed | (pl.col(key) != pl.col(key).shift(1)).fill_null(True)
    return np.flatnonzero(frame.select(changed.alias("c")).to_series().to_numpy())


def _increasing(heads: pl.DataFrame, keys: list[str]) -> bool:
    """Whether the rows of ``heads`` are in strictly increasing lexicographic order of ``keys``."""
    later = pl.lit(False)
    for key in reversed(keys):
        col, prev = pl.col(key), pl.col(key).shift(1)
        later = (col > prev) | ((col == prev) & later)
    return bool(heads.select(later.fill_null(True).all()).item())


def index_log(log: pl.DataFrame) -> TaskLog:
    """Group the rows of ``log`` by task, sorting only when a task's rows are not already contiguous."""
    keys = [c for c in ("replicate", "week") if c in log.columns] + ["task_id"]
    if log.height == 0:
        return TaskLog(frame=log, starts=np.zeros(0, dtype=np.int64), sizes=np.zeros(0, dtype=np.int64), keys=keys)
    starts = _run_starts(log, keys)
    heads = log.select(keys).gather(starts)
    # runs in increasing key order (as the allocation engine writes them) are distinct without hashing
    if not _increasing(heads, keys) and heads.n_unique() != heads.height:
        # some task comes back later: group its rows (stable)
        log = log.sort(keys, maintain_order=True)
        starts = _run_starts(log, keys)
    sizes = np.diff(np.append(starts, log.height))
    return TaskLog(frame=log, starts=starts.astype(np.int64), sizes=sizes.astype(np.int64), keys=keys)


def task_facts(tl: TaskLog) -> pl.DataFrame:
    """One row per task: ids, category, week, candidates, bids, filled, winner and price paid, characteristics."""
    log = tl.frame
    cols = log.columns
    first = [c for c in ("task_id", "category", "week", "replicate", "budget_usd", "n_required_skills") if c in cols]
    facts = (
        log.select(first)
        .gather(tl.starts)
        .with_columns(task=pl.Series(np.arange(tl.n_tasks, dtype=np.int64)), n_candidates=pl.Series(tl.sizes))
    )
    selected = log.get_column("is_selected").to_numpy()
    n_selected = tl.per_task_sum(selected)
    rows = np.flatnonzero(selected)
    task_of = np.searchsorted(tl.starts, rows, side="right") - 1
    keep = np.r_[True, task_of[1:] != task_of[:-1]] if rows.size else np.zeros(0, dtype=bool)
    winner_rows, winner_tasks = rows[keep], task_of[keep]
    extra: dict[str, pl.Series] = {"is_filled": pl.Series(n_selected > 0)}
    winners = np.full(tl.n_tasks, -1, dtype=np.int64)
    winners[winner_tasks] = winner_rows
    has = winners >= 0
    winner_ids = log.get_column("worker_id").gather(np.where(has, winners, 0))
    extra["winner_worker_id"] = pl.select(pl.when(pl.Series(has)).then(winner_ids)).to_series()
    if "price_usd" in cols:
        paid = log.get_column("price_usd").gather(np.where(has, winners, 0))
        extra["paid_usd"] = pl.select(pl.when(pl.Series(has)).then(paid)).to_series()
    if "is_bid" in cols:
        extra["n_bids_log"] = pl.Series(tl.per_task_sum(log.get_column("is_bid").fill_null(False).to_numpy()))
    if "expected_hours" in cols:
        hours = log.get_column("expected_hours")
        if hours.null_count() < hours.len():
            values = hours.fill_null(0.0).to_numpy()
            counts = tl.per_task_sum(hours.is_not_null().to_numpy())
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = tl.per_task_sum(values) / counts
            extra["expected_hours"] = pl.Series(mean).fill_nan(None)
        else:
            extra["expected_hours"] = pl.Series([None] * tl.n_tasks, dtype=pl.Float64)
    return facts.with_columns(**{k: v.alias(k) for k, v in extra.items()})


def distinct_per_cell(cell: np.ndarray, item: pl.Series, n_cells: int) -> np.ndarray:
    """How many distinct ``item`` values (e.g. worker ids) each cell code in ``cell`` (per row) holds.

    Items are coded through a Categorical, then counted with a cells x items bitmap when it fits in
    400 MB (one scatter and one sum, no sort), else with a hash-based unique.
    """
    physical = item.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    present = np.zeros(int(physical.max()) + 1 if physical.size else 1, dtype=bool)
    present[physical] = True
    code = (np.cumsum(present) - 1)[physical]
    n_items = int(present.sum())
    if n_cells * n_items <= 400_000_000:
        bitmap = np.zeros(n_cells * n_items, dtype=bool)
        bitmap[cell * n_items + code] = True
        return bitmap.reshape(n_cells, n_items).sum(axis=1)
    pairs = pl.DataFrame({"cell": cell, "item": code}).unique()
    return np.bincount(pairs.get_column("cell").to_numpy(), minlength=n_cells)
