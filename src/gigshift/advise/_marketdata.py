"""What the market-based advice reads from a market: winning bids, one worker, and categories near each other.

- **Winning bids.** A market's tables record bids but not who won. Given the platform's assignments
  (``task_id, worker_id`` and optionally ``price_usd``, as ``gigshift allocate run`` writes them), those
  are the winners. Without them, the winners are the ones the allocation engine picks among the bids
  (:func:`gigshift.allocate.allocate`, default policy, one batch per ISO week of posting, the opportunity
  state carried from week to week), which the result says.
- **Workers** are looked up by id; an unknown id lists the closest ids.
- **Neighbouring categories** are ranked by the advice model's occupation similarity between the
  categories' member occupations (weighted as the atlas weighs them), same mode (online or on location)
  first.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from gigshift._errors import GigshiftError, InputError, NotFoundError
from gigshift._tables import as_polars

#: How the winners were found, for notes and provenance.
WINNERS_FROM_ASSIGNMENTS = "the platform's assignments"
WINNERS_FROM_REPLAY = (
    "the market records bids but not winners: the winners are those the allocation engine (gigshift.allocate, "
    "default policy) picks among the bids, one batch per week of posting"
)


def check_market(market: object, *, caller: str):  # type: ignore[no-untyped-def]
    """``market`` if it is a :class:`gigshift.market.Market`, else a GigshiftError saying how to get one."""
    from gigshift.market import Market

    if not isinstance(market, Market):
        raise GigshiftError(
            f"{caller}: market must be a gigshift.market.Market (read_market(DIR) or synthetic(...)); "
            f"got {type(market).__name__}"
        )
    return market


def closest_ids(key: str, ids: pl.Series, *, n: int = 3) -> list[str]:
    """The ``n`` ids closest to ``key``, for 'unknown id' messages: first an id that differs only in the
    zero-padding of its number (``w07`` -> ``w0007``), then by difflib similarity."""
    values = ids.cast(pl.String).drop_nulls()
    match = re.fullmatch(r"(\D*)0*(\d+)(\D*)", key.strip())
    same_number: list[str] = []
    if match:
        head, number, tail = match.groups()
        pattern = f"^{re.escape(head)}0*{number}{re.escape(tail)}$"
        same_number = values.filter(values.str.contains(pattern)).sort().head(n).to_list()
    close = difflib.get_close_matches(str(key), values.to_list(), n=n, cutoff=0.5)
    return list(dict.fromkeys([*same_number, *close]))[:n]


def find_worker(market, worker_id: object, *, caller: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The worker's row (named), or NotFoundError listing the closest worker ids."""
    if not isinstance(worker_id, str) or not worker_id.strip():
        raise GigshiftError(f"{caller}: worker_id must be a non-empty string; got {worker_id!r}")
    rows = market.workers.filter(pl.col("worker_id") == worker_id.strip())
    if rows.height == 0:
        raise NotFoundError("worker", worker_id, closest_ids(worker_id.strip(), market.workers["worker_id"]))
    return rows.row(0, named=True)


def _check_assignments(assignments: object, market) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """``task_id, worker_id, price_usd`` of the assignments, each failure named (row 1 = first data row)."""
    frame = as_polars(assignments, name="assignments")
    missing = [c for c in ("task_id", "worker_id") if c not in frame.columns]
    if missing:
        raise InputError.single(
            source="assignments", column=missing[0], expected="a column of the assignments table", got="missing"
        )
    price = pl.col("price_usd").cast(pl.Float64, strict=False) if "price_usd" in frame.columns else pl.lit(None)
    work = frame.with_row_index("row", offset=1).select(
        pl.col("row").cast(pl.Int64),
        pl.col("task_id").cast(pl.String),
        pl.col("worker_id").cast(pl.String),
        price_usd=price.cast(pl.Float64),
        raw_price=pl.col("price_usd").cast(pl.String) if "price_usd" in frame.columns else pl.lit(None, pl.String),
    )
    checks = [
        (pl.col("task_id").is_null(), "task_id", "a task id", pl.lit("null")),
        (pl.col("worker_id").is_null(), "worker_id", "a worker id", pl.lit("null")),
        (
            pl.col("raw_price").is_not_null()
            & ~(pl.col("price_usd").is_finite() & (pl.col("price_usd") > 0)).fill_null(False),
            "price_usd",
            "a finite number > 0, or empty",
            pl.col("raw_price"),
        ),
        (
            pl.col("task_id").is_not_null() & ~pl.col("task_id").is_in(market.tasks["task_id"].implode()),
            "task_id",
            "a task_id listed in tasks",
            pl.col("task_id"),
        ),
        (
            pl.col("worker_id").is_not_null() & ~pl.col("worker_id").is_in(market.workers["worker_id"].implode()),
            "worker_id",
            "a worker_id listed in workers",
            pl.col("worker_id"),
        ),
        (
            pl.col("task_id").is_not_null() & pl.col("task_id").is_duplicated(),
            "task_id",
            "each task assigned once",
            pl.col("task_id"),
        ),
    ]
    failures = [
        work.filter(cond).select("row", column=pl.lit(col), expected=pl.lit(exp), got=got.cast(pl.String))
        for cond, col, exp, got in checks
    ]
    bad = pl.concat(failures).sort("row")
    if bad.height:
        raise InputError(bad, source="assignments")
    return work.select("task_id", "worker_id", "price_usd")


def _replay(market, seed: int | None) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """Winners the allocation engine picks among the bids, one batch per ISO week (the state carried over)."""
    from gigshift.allocate import allocate

    tasks = market.tasks.filter(pl.col("task_id").is_in(market.bids["task_id"].implode()))
    if tasks.height == 0:
        return pl.DataFrame(schema={"task_id": pl.String, "worker_id": pl.String, "price_usd": pl.Float64})
    tasks = tasks.with_columns(_week=pl.col("posted_at").dt.truncate("1w"))
    weeks = tasks["_week"].unique().sort()
    root = np.random.SeedSequence(seed)
    parts, waiting = [], None
    for week, child in zip(weeks, root.spawn(weeks.len()), strict=True):  # a loop over weeks, not rows
        batch = tasks.filter(pl.col("_week") == week).drop("_week")
        bids = market.bids.filter(pl.col("task_id").is_in(batch["task_id"].implode()))
        seed_week = int(child.generate_state(1)[0])
        result = allocate(batch, market.workers, bids=bids, waiting=waiting, seed=seed_week, explain=False)
        parts.append(result.assignments.select("task_id", "worker_id", "price_usd"))
        waiting = result.waiting
    return pl.concat(parts)


@dataclass(frozen=True, slots=True)
class Winners:
    """Winning bids with the task and the winner's profile, and how they were found."""

    table: pl.DataFrame  # task_id, worker_id, category, price_usd, expected_hours, hourly_rate_usd, week, ...
    source: str  # WINNERS_FROM_ASSIGNMENTS or WINNERS_FROM_REPLAY
    n_without_hours: int  # winning bids left out for want of expected hours


def winning_bids(market, *, assignments: object | None = None, seed: int | None = None) -> Winners:  # type: ignore[no-untyped-def]
    """Winning bids of ``market`` with the task's facts and the winner's rating, experience and skills.

    ``hourly_rate_usd`` is the price over the task's expected hours (tasks without hours are counted in
    ``n_without_hours`` and left out). The price is the assignment's ``price_usd`` when given, else the
    winner's bid.
    """
    if assignments is not None:
        won, source = _check_assignments(assignments, market), WINNERS_FROM_ASSIGNMENTS
    else:
        won, source = _replay(market, seed), WINNERS_FROM_REPLAY
    bid_price = market.bids.select("task_id", "worker_id", bid_usd="price_usd").unique(["task_id", "worker_id"])
    table = (
        won.join(bid_price, on=["task_id", "worker_id"], how="left")
        .with_columns(price_usd=pl.coalesce("price_usd", "bid_usd"))
        .drop("bid_usd")
        .join(
            market.tasks.select("task_id", "category", "expected_hours", "required_skills", "posted_at", "is_remote"),
            on="task_id",
            how="inner",
        )
        .join(
            market.workers.select(
                "worker_id", "rating", "n_jobs_completed", worker_skills="skills", time_zone="time_zone"
            ),
            on="worker_id",
            how="inner",
        )
        .filter(pl.col("price_usd").is_not_null())
    )
    has_hours = pl.col("expected_hours").is_not_null() & (pl.col("expected_hours") > 0)
    n_without = table.filter(~has_hours).height
    table = (
        table.filter(has_hours)
        .with_columns(hourly_rate_usd=pl.col("price_usd") / pl.col("expected_hours"))
        .sort("task_id")
    )
    return Winners(table=table, source=source, n_without_hours=n_without)


@functools.cache
def _category_similarity() -> tuple[tuple[str, ...], np.ndarray]:
    """Slugs (sorted) and the category x category similarity from the advice model (self on the diagonal)."""
    from gigshift.advise._model import default_model
    from gigshift.taxonomy import categories
    from gigshift.taxonomy._atlas import _definitions

    model = default_model()
    slugs = tuple(sorted(categories()["slug"].to_list()))
    _, members = _definitions()
    index = model.occupations.select("soc_code", "i")
    weights = (
        members.unique(["slug", "soc_code"])
        .select(slug="slug", soc_code="soc_code", weight="occupation_weight")
        .join(index, on="soc_code", how="inner")
    )
    w = np.zeros((len(slugs), model.occupations.height))
    row = {s: k for k, s in enumerate(slugs)}
    w[[row[s] for s in weights["slug"]], weights["i"].to_numpy()] = weights["weight"].to_numpy()
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    s = model.similarity.astype(np.float64)  # a copy
    np.fill_diagonal(s, s.max(axis=1))  # an occupation is closest to itself
    return slugs, w @ s @ w.T


def neighbour_categories(slug: str) -> pl.DataFrame:
    """Every other category with its similarity to ``slug``: same mode first, then most similar first."""
    from gigshift.taxonomy import categories

    slugs, sim = _category_similarity()
    k = slugs.index(slug)
    table = categories().select("slug", "name", mode=pl.col("mode").cast(pl.String))
    mode = table.filter(pl.col("slug") == slug)["mode"][0]
    frame = pl.DataFrame({"slug": list(slugs), "similarity": sim[k]}).join(table, on="slug")
    return (
        frame.filter(pl.col("slug") != slug)
        .with_columns(is_same_mode=pl.col("mode") == mode)
        .sort(["is_same_mode", "similarity", "slug"], descending=[True, True, False])
        .select("slug", "name", "mode", "is_same_mode", "similarity")
    )
