"""Candidates and scores: for each task, the top-k eligible workers and every score component.

Eligibility: the worker has capacity this batch, lists the task's category, and either the task is
remote and the worker takes remote work, or the task is on location and the worker's area is the
task's. With bids, only bidders are candidates and their bid is the price.

Scores are a weighted sum of named components, each in [0, 1] (see ``policies/default.yaml``), plus
the opportunity boost; they are rounded to 1e-6 so that every solver compares the same numbers.
Without bids, each (category, area) block is scored as dense task x worker chunks in NumPy, which is
where the time goes at platform scale; the loop runs over blocks and chunks, never over tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix

from gigshift._errors import InputError
from gigshift.allocate._policy import Policy

WORKER_COMPONENTS = ("rating", "reliability", "experience", "waiting")
_CHUNK_CELLS = 2_000_000  # task x worker cells scored at once: 8 MB per float32 matrix
_SMALL_BLOCK_CELLS = 4_000  # blocks up to this many pairs are scored together, flat


@dataclass(frozen=True, slots=True)
class WorkerFeatures:
    """Per-worker score components (arrays aligned with the workers table)."""

    rating: np.ndarray
    reliability: np.ndarray
    experience: np.ndarray
    waiting: np.ndarray
    boost: np.ndarray
    batches_waiting: np.ndarray

    def weighted(self, weights: dict[str, float]) -> np.ndarray:
        """The worker-only part of every score: sum of weight x component, plus the boost."""
        part = self.boost.copy()
        for name in WORKER_COMPONENTS:
            part += weights[name] * getattr(self, name)
        return part


def worker_features(
    workers: pl.DataFrame, policy: Policy, *, at: datetime, waiting: pl.DataFrame | None = None
) -> WorkerFeatures:
    """Rating, reliability, experience, waiting and opportunity boost for every worker."""
    n_jobs = workers.get_column("n_jobs_completed").fill_null(0).to_numpy().astype(np.float64)
    rating = workers.get_column("rating").to_numpy().astype(np.float64)
    prior, strength = policy.rating_prior_mean, policy.rating_prior_strength
    known = ~np.isnan(rating)
    jobs = np.where(known, n_jobs, 0.0)
    denominator = jobs + strength
    shrunk = np.where(
        denominator > 0, (jobs * np.nan_to_num(rating) + strength * prior) / np.maximum(denominator, 1e-12), prior
    )
    reliability = workers.get_column("reliability").fill_null(policy.reliability_prior).to_numpy().astype(np.float64)
    experience = np.minimum(1.0, np.log1p(n_jobs) / np.log1p(policy.experience_reference_jobs))
    hours = (
        workers.select(
            (pl.lit(at).cast(pl.Datetime("us", "UTC")) - pl.col("last_assigned_at")).dt.total_microseconds() / 3.6e9
        )
        .to_series()
        .to_numpy()
        .astype(np.float64)
    )
    waited = np.where(np.isnan(hours), 1.0, np.clip(hours / policy.waiting_full_hours, 0.0, 1.0))
    batches = np.zeros(workers.height, dtype=np.int64)
    if waiting is not None and waiting.height:
        joined = workers.select("worker_id").join(
            waiting.select("worker_id", "n_batches_waiting"), on="worker_id", how="left", maintain_order="left"
        )
        batches = joined.get_column("n_batches_waiting").fill_null(0).to_numpy().astype(np.int64)
    boost = np.minimum(policy.max_boost, policy.boost_per_batch * batches)
    return WorkerFeatures((shrunk - 1.0) / 4.0, reliability, experience, waited, boost, batches)


def check_waiting(waiting: object | None) -> pl.DataFrame | None:
    """Validate the opportunity state carried between batches: ``worker_id, n_batches_waiting``."""
    if waiting is None:
        return None
    from gigshift._tables import as_polars

    frame = as_polars(waiting, name="waiting")
    for column in ("worker_id", "n_batches_waiting"):
        if column not in frame.columns:
            raise InputError.single(
                source="waiting", column=column, expected="a column of the waiting table", got="missing"
            )
    frame = frame.select(pl.col("worker_id").cast(pl.String), "n_batches_waiting").with_row_index("row", offset=1)
    parsed = pl.col("n_batches_waiting").cast(pl.Int64, strict=False)
    bad = frame.filter(parsed.is_null() | (parsed < 0) | pl.col("worker_id").is_duplicated())
    if bad.height:
        raise InputError(
            bad.select(
                "row",
                column=pl.lit("n_batches_waiting"),
                expected=pl.lit("one row per worker with an integer >= 0"),
                got=pl.format("{} for {}", pl.col("n_batches_waiting"), pl.col("worker_id")),
            ),
            source="waiting",
        )
    return frame.select("worker_id", parsed.alias("n_batches_waiting"))


def _hours(tasks: pl.DataFrame) -> np.ndarray:
    """Expected hours per task; a missing value takes its category's median in the batch, else 1 hour."""
    return (
        tasks.select(
            pl.col("expected_hours").fill_null(pl.col("expected_hours").median().over("category")).fill_null(1.0)
        )
        .to_series()
        .to_numpy()
        .astype(np.float64)
    )


def _skill_matrices(tasks: pl.DataFrame, workers: pl.DataFrame) -> tuple[csr_matrix, csr_matrix, np.ndarray, pl.Series]:
    """Binary task x skill and worker x skill matrices over the skills some task requires.

    Lists are flattened through their offsets (no per-row work) and skills are coded with one
    hash lookup; a skill listed twice counts once.
    """
    req_flat = tasks.get_column("required_skills").explode()
    vocabulary = req_flat.drop_nulls().unique().sort()
    mapping = dict(zip(vocabulary.to_list(), range(vocabulary.len()), strict=True))
    n_s = max(vocabulary.len(), 1)

    def binary(lists: pl.Series, n_rows: int) -> csr_matrix:
        lists = lists.fill_null(pl.lit([], dtype=pl.List(pl.String)))
        lengths = lists.list.len().to_numpy()
        # one flat value per list element, nulls included, so rows line up with the lengths
        flat = lists.explode(empty_as_null=False) if lengths.sum() else pl.Series([], dtype=pl.String)
        rows = np.repeat(np.arange(n_rows), lengths)
        codes = flat.replace_strict(mapping, default=None, return_dtype=pl.Int64).to_numpy()
        keep = ~np.isnan(codes) if codes.dtype.kind == "f" else np.ones(codes.size, dtype=bool)
        matrix = csr_matrix((np.ones(int(keep.sum())), (rows[keep], codes[keep].astype(np.int64))), shape=(n_rows, n_s))
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return matrix

    task_skills = binary(tasks.get_column("required_skills"), tasks.height)
    worker_skills = binary(workers.get_column("skills"), workers.height)
    n_required = np.asarray(task_skills.sum(axis=1)).ravel()
    return task_skills, worker_skills, n_required, vocabulary


def _blocks(tasks: pl.DataFrame, workers: pl.DataFrame) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Group tasks and eligible workers by (category, area) block; remote work is its own area."""
    task_keys = tasks.select(
        pl.int_range(pl.len()).alias("t"),
        pl.col("category"),
        area=pl.when(pl.col("is_remote")).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("location")),
    )
    block_ids = task_keys.select("category", "area").unique().sort("category", "area", nulls_last=False)
    block_ids = block_ids.with_row_index("b")
    task_block = task_keys.join(block_ids, on=["category", "area"], how="left", nulls_equal=True).sort("t")
    available = workers.select(
        pl.int_range(pl.len()).alias("w"), "categories", "is_remote", "location", "capacity"
    ).filter(pl.col("capacity") > 0)
    exploded = available.explode("categories").rename({"categories": "category"})
    remote = exploded.filter(pl.col("is_remote")).select("w", "category", area=pl.lit(None, dtype=pl.String))
    local = exploded.filter(pl.col("location").is_not_null()).select("w", "category", area=pl.col("location"))
    worker_block = pl.concat([remote, local]).join(block_ids, on=["category", "area"], how="inner", nulls_equal=True)
    worker_block = worker_block.unique(["b", "w"]).sort("b", "w")
    n_b = block_ids.height
    tb = task_block.get_column("b").to_numpy()
    t_sorted = np.argsort(tb, kind="stable")
    t_bounds = np.searchsorted(tb[t_sorted], np.arange(n_b + 1))
    wb = worker_block.get_column("b").to_numpy()
    ww = worker_block.get_column("w").to_numpy()
    w_bounds = np.searchsorted(wb, np.arange(n_b + 1))
    task_lists = [t_sorted[t_bounds[b] : t_bounds[b + 1]] for b in range(n_b)]
    worker_lists = [ww[w_bounds[b] : w_bounds[b + 1]] for b in range(n_b)]
    return tb, task_lists, worker_lists


def _row_indices(matrix: csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``rows``, column) of every stored entry of the given CSR rows, without SciPy indexing."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    owner = np.repeat(np.arange(rows.size), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, matrix.indices[np.repeat(starts, lengths) + offsets]


def _dense_rows(matrix: csr_matrix, rows: np.ndarray, position: np.ndarray, width: int) -> np.ndarray:
    """The given rows of a binary CSR matrix as dense float32, restricted to the mapped columns."""
    owner, column = _row_indices(matrix, rows)
    mapped = position[column]
    keep = mapped >= 0
    out = np.zeros((rows.size, width), dtype=np.float32)
    out[owner[keep], mapped[keep]] = 1.0
    return out


def _small_blocks_top_k(
    jobs: list[tuple[np.ndarray, np.ndarray]],
    k: int,
    base: np.ndarray,
    rate: np.ndarray,
    w_skill: float,
    w_price: float,
    slope: np.ndarray,
    intercept: float,
    policy: Policy,
    task_skills: csr_matrix,
    worker_skills: csr_matrix,
    n_required: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of many small blocks at once: every (task, worker) pair of each block, scored flat."""
    tasks = np.concatenate([tb for tb, _ in jobs])
    block_of_task = np.repeat(np.arange(len(jobs)), [tb.size for tb, _ in jobs])
    sizes = np.array([wb.size for _, wb in jobs])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    workers_flat = np.concatenate([wb for _, wb in jobs])
    per_task = sizes[block_of_task]
    t = np.repeat(tasks, per_task)
    offset = np.arange(per_task.sum()) - np.repeat(np.cumsum(per_task) - per_task, per_task)
    w = workers_flat[np.repeat(starts[block_of_task], per_task) + offset]
    fit = np.clip(intercept - slope[t] * rate[w], 0.0, 1.0)
    skill = _pair_skills(task_skills, worker_skills, t, w, n_required)
    score = base[w] + w_price * fit + w_skill * skill  # base includes the tie-breaking jitter
    if policy.min_skill_match > 0:
        score[skill < policy.min_skill_match - 1e-12] = -np.inf
    order = np.lexsort((-score, t))
    t, w, score = t[order], w[order], score[order]
    first = np.r_[True, t[1:] != t[:-1]]
    rank = np.arange(t.size) - np.repeat(np.flatnonzero(first), np.diff(np.r_[np.flatnonzero(first), t.size]))
    keep = (rank < k) & np.isfinite(score)
    return t[keep], w[keep]


def _price_fit(price: np.ndarray, budget: np.ndarray, tolerance: float) -> np.ndarray:
    return np.clip(1.0 - (price / budget - 1.0) / tolerance, 0.0, 1.0)


def candidates(
    tasks: pl.DataFrame,
    workers: pl.DataFrame,
    policy: Policy,
    features: WorkerFeatures,
    *,
    bids: pl.DataFrame | None = None,
    lottery: np.ndarray,
) -> pl.DataFrame:
    """The candidate edges of a batch with every score component.

    Returns one row per (task, worker) candidate: ``t, w`` (row positions in ``tasks`` and
    ``workers``), the components, ``opportunity_boost``, ``score``, ``price_usd`` and ``rank`` (1 =
    best score for the task; ties broken by the seeded ``lottery``, one number per worker).
    """
    weights = policy.normalised_weights
    budget = tasks.get_column("budget_usd").to_numpy().astype(np.float64)
    hours = _hours(tasks)
    rate = workers.get_column("hourly_rate_usd").to_numpy().astype(np.float64)
    task_skills, worker_skills, n_required, vocabulary = _skill_matrices(tasks, workers)
    base = features.weighted(weights)
    if bids is not None:
        t, w, price = _bid_edges(tasks, workers, bids)
        skill = _pair_skills(task_skills, worker_skills, t, w, n_required)
        keep = skill >= policy.min_skill_match - 1e-12
        t, w, price, skill = t[keep], w[keep], price[keep], skill[keep]
        fit = _price_fit(price, budget[t], policy.price_tolerance)
        score = base[w] + weights["skill_match"] * skill + weights["price_fit"] * fit
        t, w, price, skill, fit, score = _top_k(t, w, price, skill, fit, score, lottery, policy.k)
    else:
        t, w, price, skill, fit, score = _dense_top_k(
            tasks, workers, policy, weights, base, budget, hours, rate, task_skills, worker_skills, n_required, lottery
        )
    score = np.round(score, 6)
    frame = pl.DataFrame(
        {
            "t": t.astype(np.int64),
            "w": w.astype(np.int64),
            "skill_match": skill,
            "price_fit": fit,
            "rating": features.rating[w],
            "reliability": features.reliability[w],
            "experience": features.experience[w],
            "waiting": features.waiting[w],
            "opportunity_boost": features.boost[w],
            "score": score,
            "price_usd": price,
            "lottery": lottery[w],
            "missing_skills": _missing_skills(task_skills, worker_skills, t, w, vocabulary),
        }
    )
    return frame.sort(["t", "score", "lottery"], descending=[False, True, False]).with_columns(
        rank=pl.int_range(1, pl.len() + 1).over("t")
    )


def _pair_skills(
    task_skills: csr_matrix, worker_skills: csr_matrix, t: np.ndarray, w: np.ndarray, n_required: np.ndarray
) -> np.ndarray:
    matched = np.asarray(task_skills[t].multiply(worker_skills[w]).sum(axis=1)).ravel()
    return np.where(n_required[t] > 0, matched / np.maximum(n_required[t], 1), 1.0)


def _missing_skills(
    task_skills: csr_matrix, worker_skills: csr_matrix, t: np.ndarray, w: np.ndarray, vocabulary: pl.Series
) -> pl.Series:
    """Each edge's required skills the worker does not list, as a list column (sorted by name).

    Built straight from the sparse rows as Arrow list offsets: no per-edge Python, no list joins.
    """
    import pyarrow as pa

    required = task_skills[t]
    missing = (required - required.multiply(worker_skills[w])).tocsr()
    missing.eliminate_zeros()
    missing.sort_indices()
    names = vocabulary.to_arrow().take(pa.array(missing.indices.astype(np.int64)))
    offsets = pa.array(missing.indptr.astype(np.int32))
    return pl.Series("missing_skills", pa.ListArray.from_arrays(offsets, names))


def _bid_edges(tasks: pl.DataFrame, workers: pl.DataFrame, bids: pl.DataFrame) -> tuple[np.ndarray, ...]:
    """Bids whose bidder is eligible for the task (category, remote or same area, capacity)."""
    task_index = tasks.select("task_id", "category", "is_remote", "location", t=pl.int_range(pl.len()))
    worker_index = workers.select(
        "worker_id",
        "categories",
        pl.col("is_remote").alias("worker_remote"),
        pl.col("location").alias("worker_location"),
        "capacity",
        w=pl.int_range(pl.len()),
    )
    edges = (
        bids.select("task_id", "worker_id", "price_usd")
        .join(task_index, on="task_id", how="inner")
        .join(worker_index, on="worker_id", how="inner")
        .filter(
            (pl.col("capacity") > 0)
            & pl.col("categories").list.contains(pl.col("category"))
            & pl.when(pl.col("is_remote"))
            .then(pl.col("worker_remote"))
            .otherwise(pl.col("worker_location") == pl.col("location"))
            .fill_null(False)
        )
    )
    return (
        edges.get_column("t").to_numpy(),
        edges.get_column("w").to_numpy(),
        edges.get_column("price_usd").to_numpy().astype(np.float64),
    )


def _top_k(t, w, price, skill, fit, score, lottery, k):  # type: ignore[no-untyped-def]
    order = np.lexsort((lottery[w], -score, t))
    t, w, price, skill, fit, score = (a[order] for a in (t, w, price, skill, fit, score))
    first = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    rank = np.arange(t.size) - np.repeat(first, np.diff(np.r_[first, t.size]))
    keep = rank < k
    return tuple(a[keep] for a in (t, w, price, skill, fit, score))


def _dense_top_k(
    tasks, workers, policy, weights, base, budget, hours, rate, task_skills, worker_skills, n_required, lottery
):  # type: ignore[no-untyped-def]
    """Score every eligible pair block by block and keep each task's k best.

    The price fit is linear in the worker's rate until clipped, so a chunk's price-fit matrix is one
    outer product; skill matches are sparse (a task requires a few skills), so they are scattered
    into the chunk rather than densified. Components of the kept pairs are then recomputed exactly.
    """
    _, task_lists, worker_lists = _blocks(tasks, workers)
    k = policy.k
    w_skill, w_price = weights["skill_match"], weights["price_fit"]
    # fit = clip(1 - (hours * rate / budget - 1) / tol) = clip(intercept - slope_t * rate)
    intercept = 1.0 + 1.0 / policy.price_tolerance
    slope = hours / (budget * policy.price_tolerance)
    # Ties at the k-th place are broken by the seeded lottery.
    # A seeded jitter below the 1e-6 score grid orders exact ties at the k-th place by lottery rather
    # than by position; float32 rounding (~3e-8) can still blur ties whose lottery numbers are close.
    jitter = 2e-7 * lottery
    base32 = (base + jitter).astype(np.float32)
    rate32 = rate.astype(np.float32)
    slope32 = slope.astype(np.float32)

    best_pair = np.float32(w_skill + w_price)

    def chunk_scores(
        rows: np.ndarray, workers_c: np.ndarray, share: np.ndarray, listed: np.ndarray, no_skills: np.ndarray
    ) -> np.ndarray:
        """Scores of a task x worker chunk (float32: half the memory traffic; kept pairs are rescored).

        ``share`` holds, per task, 1 / (number of required skills) on each skill it requires, and
        ``listed`` the workers' skills, both over the block's few required skills, so one small
        matrix product gives every pair's skill match.
        """
        total = np.multiply.outer(slope32[rows], rate32[workers_c])
        np.subtract(np.float32(intercept), total, out=total)
        np.clip(total, 0.0, 1.0, out=total)
        total *= np.float32(w_price)
        total += base32[workers_c]
        skill = share @ listed.T
        skill[no_skills] = 1.0  # no required skills: a full match
        if policy.min_skill_match > 0:
            total[skill < policy.min_skill_match - 1e-6] = -np.inf
        skill *= np.float32(w_skill)
        total += skill
        return total

    def block_top_k(task_block: np.ndarray, worker_block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k of a block by the threshold algorithm over workers in order of their best score.

        A worker's score is at most its worker-only part plus the skill and price weights. Workers
        are visited in chunks from the highest such bound down; a task stops looking once its k-th
        best score beats the bound of every worker still to come, which on real markets skips most
        of the block.
        """
        bound = base32[worker_block] + best_pair
        order = np.argsort(-bound, kind="stable")
        workers_sorted, bound = worker_block[order], bound[order]
        vocab = np.unique(_row_indices(task_skills, task_block)[1])
        position = np.full(task_skills.shape[1], -1, dtype=np.int64)
        position[vocab] = np.arange(vocab.size)
        n_req = n_required[task_block]
        share = _dense_rows(task_skills, task_block, position, vocab.size)
        share /= np.maximum(n_req, 1)[:, None].astype(np.float32)
        listed = _dense_rows(worker_skills, workers_sorted, position, vocab.size)
        no_skills = n_req == 0
        n, m = task_block.size, workers_sorted.size
        kk = min(k, m)
        top_score = np.full((n, kk), -np.inf, dtype=np.float32)
        top_worker = np.full((n, kk), -1, dtype=np.int64)
        kth = np.full(n, -np.inf, dtype=np.float32)
        width = max(4 * kk, 512)
        for c0 in range(0, m, width):
            active = np.flatnonzero(kth < bound[c0])
            if active.size == 0:
                break
            workers_c = workers_sorted[c0 : c0 + width]
            listed_c = listed[c0 : c0 + width]
            step = max(1, _CHUNK_CELLS // (workers_c.size + kk))
            for a0 in range(0, active.size, step):
                local = active[a0 : a0 + step]
                scores = chunk_scores(task_block[local], workers_c, share[local], listed_c, no_skills[local])
                scores = np.hstack([top_score[local], scores])
                ids = np.hstack([top_worker[local], np.broadcast_to(workers_c, (local.size, workers_c.size))])
                keep = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
                top_score[local] = np.take_along_axis(scores, keep, axis=1)
                top_worker[local] = np.take_along_axis(ids, keep, axis=1)
                kth[local] = top_score[local].min(axis=1)
        ok = np.isfinite(top_score) & (top_worker >= 0)
        return np.broadcast_to(task_block[:, None], ok.shape)[ok], top_worker[ok]

    jobs = [(tb, wb) for tb, wb in zip(task_lists, worker_lists, strict=True) if tb.size and wb.size]
    small = [job for job in jobs if job[0].size * job[1].size <= _SMALL_BLOCK_CELLS]
    large = [job for job in jobs if job[0].size * job[1].size > _SMALL_BLOCK_CELLS]
    # Large blocks one by one (threshold search); the many small ones (a category in one area)
    # together as one flat list of pairs, where per-block overhead would dominate.
    results = [block_top_k(*job) for job in large]
    if small:
        results.append(
            _small_blocks_top_k(
                small,
                k,
                base + jitter,
                rate,
                w_skill,
                w_price,
                slope,
                intercept,
                policy,
                task_skills,
                worker_skills,
                n_required,
            )
        )
    picked_t = [r[0] for r in results]
    picked_w = [r[1] for r in results]
    if not picked_t:
        empty_i, empty_f = np.empty(0, dtype=np.int64), np.empty(0)
        return empty_i, empty_i, empty_f, empty_f, empty_f, empty_f
    t, w = np.concatenate(picked_t), np.concatenate(picked_w)
    price = hours[t] * rate[w]
    fit = _price_fit(price, budget[t], policy.price_tolerance)
    skill = _pair_skills(task_skills, worker_skills, t, w, n_required)
    score = base[w] + w_price * fit + w_skill * skill
    return t, w, price, skill, fit, score
