"""The whole allocation pipeline: candidates -> scores -> solve (with fairness) -> log and explanations."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError, InputError, NotFoundError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars
from gigshift.allocate._candidates import candidates, check_waiting, worker_features
from gigshift.allocate._explain import (
    Explanation,
    apply_change,
    apply_skill_change,
    counterfactuals,
    task_explanations,
    transparency_statement,
    worker_explanations,
)
from gigshift.allocate._policy import COMPONENTS, Policy, default_policy
from gigshift.allocate._solve import (
    EdgeArrays,
    FairnessReport,
    group_codes,
    solve_deferred_acceptance,
    solve_exact,
    solve_fair,
)
from gigshift.market import GROUP_ATTRIBUTES, check_references, validate

LOG_COLUMNS = (
    "policy_version",
    "task_id",
    "worker_id",
    "category",
    "rank",
    "score",
    *COMPONENTS,
    "opportunity_boost",
    "is_selected",
    "outcome",
    "winner_worker_id",
    "winner_score",
    "margin",
    "price_usd",
    "is_bid",
    "budget_usd",
    "expected_hours",
    "n_required_skills",
    "missing_skills",
    "worker_rating",
    "worker_n_jobs_completed",
    "worker_reliability",
    "worker_hourly_rate_usd",
    "worker_capacity",
)
"""Decision-log columns, in order; the worker's group attributes follow when the workers table has them."""


@dataclass(frozen=True)
class AllocationResult:
    """What one allocation batch decided, and why.

    Attributes
    ----------
    assignments : polars.DataFrame
        ``task_id, worker_id, score, price_usd``, sorted by task_id.
    decision_log : polars.DataFrame
        Every candidate edge (see :data:`LOG_COLUMNS`): components, score, rank, outcome, the
        winner's score and the margin, the policy version, and the worker's group attributes. This
        is the record a bias audit reads.
    tasks : polars.DataFrame
        Per task: assigned worker, rank, runner-up, margin and a reason.
    workers : polars.DataFrame
        Per candidate worker: tasks won, the closest task lost, the biggest gap and a counterfactual.
    waiting : polars.DataFrame
        ``worker_id, n_batches_waiting``: the opportunity state to pass to the next batch.
    fairness : FairnessReport or None
        Selection rates per group and the price of fairness, with a fairness attribute in the policy.
    """

    assignments: pl.DataFrame
    decision_log: pl.DataFrame
    tasks: pl.DataFrame
    workers: pl.DataFrame
    waiting: pl.DataFrame
    policy: Policy
    objective: float
    fairness: FairnessReport | None
    timings: dict[str, float]
    provenance: Provenance
    n_tasks: int = 0
    n_workers: int = 0
    group_columns: tuple[str, ...] = field(default_factory=tuple)
    candidate_counts: pl.DataFrame = field(default_factory=pl.DataFrame)

    def tidy(self) -> pl.DataFrame:
        return self.assignments

    def summary(self) -> dict[str, object]:
        """Headline figures of the batch."""
        n_assigned = self.assignments.height
        out: dict[str, object] = {
            "policy_version": self.policy.version,
            "mode": self.policy.mode,
            "n_tasks": self.n_tasks,
            "n_workers": self.n_workers,
            "n_candidate_edges": int(self.candidate_counts.get_column("n_candidates").sum())
            if self.candidate_counts.width
            else self.decision_log.height,
            "n_assigned": n_assigned,
            "fill_rate": n_assigned / self.n_tasks if self.n_tasks else None,
            "n_workers_assigned": self.assignments.get_column("worker_id").n_unique(),
            "objective": round(self.objective, 6),
            "mean_score": round(self.objective / n_assigned, 6) if n_assigned else None,
        }
        if self.fairness is not None:
            out["fairness_attribute"] = self.policy.fairness_attribute
            out["min_impact_ratio"] = self.fairness.min_impact_ratio
            out["achieved_impact_ratio"] = self.fairness.achieved_impact_ratio
            out["price_of_fairness_pct"] = round(self.fairness.price_of_fairness, 4)
        return out

    def transparency(self) -> str:
        """The transparency statement for workers, generated from the policy (Markdown)."""
        return transparency_statement(self.policy, group_columns=list(self.group_columns))

    def to_json(self) -> str:
        body = {
            "summary": self.summary(),
            "assignments": self.assignments.to_dicts(),
            "fairness": None if self.fairness is None else self.fairness.by_group.to_dicts(),
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "provenance": self.provenance.to_dict(),
        }
        return json.dumps(body, allow_nan=False, default=str)

    def to_markdown(self) -> str:
        lines = [f"# Allocation (policy {self.policy.version})", "", "| figure | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in self.summary().items()]
        if self.fairness is not None:
            lines += ["", "## Selection rates by group", "", _markdown_table(self.fairness.by_group)]
        return "\n".join(lines) + "\n"

    def explain(self, *, worker_id: str | None = None, task_id: str | None = None, verify: bool = True) -> Explanation:
        """Explain the decisions about one worker or one task (see :func:`explain`)."""
        return explain(self.decision_log, self.policy, worker_id=worker_id, task_id=task_id, verify=verify)


def _markdown_table(frame: pl.DataFrame) -> str:
    def fmt(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))

    head = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


def allocate(
    tasks: object,
    workers: object,
    policy: Policy | None = None,
    *,
    bids: object | None = None,
    waiting: object | None = None,
    at: datetime | None = None,
    seed: int | None = None,
    on_progress: Callable[[str], None] | None = None,
    explain: bool = True,
    validate_input: bool = True,
    log_tasks: object | None = None,
) -> AllocationResult:
    """Run one allocation batch: candidates, scores, optimal (and fair) assignment, log, explanations.

    Parameters
    ----------
    tasks, workers : DataFrame
        Tables in the :mod:`gigshift.market` schemas (Polars, pandas or Arrow); validated here.
    policy : Policy, optional
        Weights, candidate rules, solver mode, fairness and boost; default :func:`default_policy`.
    bids : DataFrame, optional
        ``task_id, worker_id, price_usd``: when given, only eligible bidders are candidates and the
        bid is the price.
    waiting : DataFrame, optional
        ``worker_id, n_batches_waiting`` from the previous batch's ``result.waiting``.
    at : datetime, optional
        The batch time, for the waiting component; default the latest ``posted_at`` (the engine
        never reads the clock).
    seed : int, optional
        Seeds the lottery that breaks exact score ties (never id order, which would favour some ids).
    on_progress : callable, optional
        Called with the name of each stage as it starts.
    explain : bool, default=True
        Build the per-task and per-worker explanation tables (the decision log is always built);
        the simulator turns them off.
    validate_input : bool, default=True
        Check the tables against the market schemas. Only callers that pass tables already
        returned by :func:`gigshift.market.validate` (such as the simulator, every week) may skip it.
    log_tasks : collection of task ids, optional
        Keep only these tasks' candidates in the decision log (all of them by default); the
        assignments, waiting state and candidate counts always cover every task.

    Returns
    -------
    AllocationResult
    """
    policy = policy or default_policy()
    if not isinstance(policy, Policy):
        raise GigshiftError(f"allocate: policy must be a Policy (see Policy.from_yaml); got {type(policy).__name__}")
    progress = on_progress or (lambda _stage: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    progress("validate")
    if validate_input:
        tasks_df = validate(tasks, kind="tasks").sort("task_id")
        workers_df = validate(workers, kind="workers")
        bids_df = None if bids is None else validate(bids, kind="bids")
        check_references(tasks=tasks_df, workers=workers_df, bids=bids_df)
    else:
        tasks_df = as_polars(tasks, name="tasks").sort("task_id")
        workers_df = as_polars(workers, name="workers")
        bids_df = None if bids is None else as_polars(bids, name="bids")
    waiting_df = check_waiting(waiting)
    if policy.fairness_attribute and policy.fairness_attribute not in workers_df.columns:
        raise InputError.single(
            source="workers",
            column=policy.fairness_attribute,
            expected="the column named by the policy's fairness.attribute",
            got="missing",
        )
    if at is None:
        at = tasks_df.get_column("posted_at").max() if tasks_df.height else datetime(1970, 1, 1)
    lap("validate")

    progress("candidates")
    root = np.random.SeedSequence(seed)
    rng = np.random.default_rng(root)
    lottery = rng.random(workers_df.height)
    features = worker_features(workers_df, policy, at=at, waiting=waiting_df)
    edges = candidates(tasks_df, workers_df, policy, features, bids=bids_df, lottery=lottery)
    lap("candidates")

    progress("solve")
    t = edges.get_column("t").to_numpy()
    w = edges.get_column("w").to_numpy()
    arrays = EdgeArrays(t, w, edges.get_column("score").to_numpy(), tasks_df.height, workers_df.height)
    capacity = workers_df.get_column("capacity").to_numpy().astype(np.int64)
    fairness = None
    chosen, fairness = _solve(arrays, capacity, policy, workers_df, lottery, tasks_df)
    lap("solve")

    progress("explain")
    selected = np.zeros(t.size, dtype=bool)
    selected[chosen] = True
    # how many tasks each worker won, counted over every task (the log may keep only a sample)
    won = np.bincount(w[chosen], minlength=workers_df.height)[w]
    edges = edges.with_columns(is_selected=selected, worker_n_selected=won)
    task_ids, worker_ids = tasks_df.get_column("task_id"), workers_df.get_column("worker_id")
    outcome = pl.DataFrame({"worker_id": worker_ids.gather(w), "is_selected": selected})
    new_waiting = _next_waiting(outcome, waiting_df)
    counts = np.bincount(t, minlength=tasks_df.height)
    candidate_counts = pl.DataFrame({"task_id": task_ids, "n_candidates": counts.astype(np.int64)})
    assignments = pl.DataFrame(
        {
            "task_id": task_ids.gather(t[chosen]),
            "worker_id": worker_ids.gather(w[chosen]),
            "score": edges.get_column("score").gather(chosen),
            "price_usd": edges.get_column("price_usd").gather(chosen),
        }
    ).sort("task_id")
    if log_tasks is not None:
        keep = tasks_df.select(pl.col("task_id").is_in(pl.Series(list(log_tasks), dtype=pl.String).implode()))
        edges = edges.filter(pl.Series(keep.to_series().to_numpy()[t]))
    log = _decision_log(edges, tasks_df, workers_df, policy, bids_df is not None)
    task_table = task_explanations(log) if explain else pl.DataFrame()
    worker_table = worker_explanations(log, policy) if explain else pl.DataFrame()
    lap("explain")

    group_columns = tuple(c for c in GROUP_ATTRIBUTES if c in workers_df.columns)
    provenance = Provenance(
        sources=(),
        method=f"gigshift.allocate, policy {policy.version}, mode {policy.mode}",
        gigshift_version=gigshift.__version__,
        seed=root.entropy if isinstance(root.entropy, int) else None,
        extra={"batch_time": str(at)},
    )
    return AllocationResult(
        assignments=assignments,
        decision_log=log,
        tasks=task_table,
        workers=worker_table,
        waiting=new_waiting,
        policy=policy,
        objective=float(assignments.get_column("score").sum()),
        fairness=fairness,
        timings=timings,
        provenance=provenance,
        n_tasks=tasks_df.height,
        n_workers=workers_df.height,
        group_columns=group_columns,
        candidate_counts=candidate_counts,
    )


def _solve(
    arrays: EdgeArrays,
    capacity: np.ndarray,
    policy: Policy,
    workers: pl.DataFrame,
    lottery: np.ndarray,
    tasks: pl.DataFrame,
) -> tuple[np.ndarray, FairnessReport | None]:
    if policy.fairness_attribute:
        group, names = group_codes(workers.get_column(policy.fairness_attribute))
        return solve_fair(
            arrays,
            capacity,
            group,
            names,
            min_impact_ratio=policy.min_impact_ratio,
            min_group_share=policy.min_group_share,
        )
    if policy.mode == "exact":
        return solve_exact(arrays, capacity), None
    tiebreak = lottery[arrays.worker]
    if policy.mode == "greedy":
        priority = arrays.score
    else:
        posted = tasks.get_column("posted_at").rank("ordinal").to_numpy().astype(np.float64)
        priority = -posted[arrays.task]
    return solve_deferred_acceptance(arrays, capacity, priority, tiebreak), None


def _decision_log(
    edges: pl.DataFrame, tasks: pl.DataFrame, workers: pl.DataFrame, policy: Policy, is_bid: bool
) -> pl.DataFrame:
    group_columns = [c for c in GROUP_ATTRIBUTES if c in workers.columns]
    task_part = tasks.select(
        t=pl.int_range(pl.len()),
        task_id=pl.col("task_id"),
        category=pl.col("category"),
        budget_usd=pl.col("budget_usd"),
        n_required_skills=pl.col("required_skills").list.unique().list.drop_nulls().list.len().cast(pl.Int64),
    )
    worker_part = workers.select(
        *group_columns,
        w=pl.int_range(pl.len()),
        worker_id=pl.col("worker_id"),
        worker_rating=pl.col("rating"),
        worker_n_jobs_completed=pl.col("n_jobs_completed"),
        worker_reliability=pl.col("reliability"),
        worker_hourly_rate_usd=pl.col("hourly_rate_usd"),
        worker_capacity=pl.col("capacity"),
    )
    log = edges.join(task_part, on="t", how="left").join(worker_part, on="w", how="left")
    winners = log.filter(pl.col("is_selected")).select(
        "t",
        winner_worker_id=pl.col("worker_id"),
        winner_score=pl.col("score"),
        **{f"winner_{c}": pl.col(c) for c in COMPONENTS},
    )
    # A candidate "lost" a task when they still had capacity at the end; candidates whose capacity
    # went to other tasks were "assigned_elsewhere". The winner's margin is over the best candidate
    # who lost (in the exact, greedy and dispatch modes it is never negative: a free candidate with
    # a higher score would have taken the task); a loser's margin is the (negative) gap to the winner.
    log = log.join(winners, on="t", how="left").with_columns(
        at_capacity=pl.col("worker_n_selected") >= pl.col("worker_capacity")
    )
    at_capacity = pl.col("at_capacity")
    best_free_other = pl.col("score").filter(~pl.col("is_selected") & ~at_capacity).max().over("t")
    outcome = (
        pl.when(pl.col("is_selected"))
        .then(pl.lit("assigned"))
        .when(at_capacity)
        .then(pl.lit("assigned_elsewhere"))
        .when(pl.col("winner_worker_id").is_not_null())
        .then(pl.lit("lost"))
        .otherwise(pl.lit("task_unassigned"))
    )
    log = log.with_columns(
        policy_version=pl.lit(policy.version),
        outcome=outcome,
        margin=pl.when(pl.col("is_selected"))
        .then(pl.col("score") - best_free_other)
        .otherwise(pl.col("score") - pl.col("winner_score"))
        .round(6),
        is_bid=pl.lit(is_bid),
        expected_hours=pl.col("price_usd") / pl.col("worker_hourly_rate_usd")
        if not is_bid
        else pl.lit(None, dtype=pl.Float64),
    )
    winner_cols = [f"winner_{c}" for c in COMPONENTS]
    # Tasks are sorted by id and candidates by (task, rank) already, so the log needs no sort.
    return log.select(*LOG_COLUMNS, *group_columns, *winner_cols)


def _next_waiting(log: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Candidates not chosen wait one more batch; chosen ones reset; others keep their count.

    ``log`` has one row per candidate edge: ``worker_id, is_selected``.
    """
    this_batch = log.group_by("worker_id").agg(chosen=pl.col("is_selected").any())
    prev = (
        previous
        if previous is not None
        else pl.DataFrame(schema={"worker_id": pl.String, "n_batches_waiting": pl.Int64})
    )
    merged = this_batch.join(prev, on="worker_id", how="full", coalesce=True)
    return merged.select(
        "worker_id",
        n_batches_waiting=pl.when(pl.col("chosen").is_null())
        .then(pl.col("n_batches_waiting"))
        .when(pl.col("chosen"))
        .then(0)
        .otherwise(pl.col("n_batches_waiting").fill_null(0) + 1)
        .cast(pl.Int64),
    ).sort("worker_id")


# --------------------------------------------------------------------------------------------------
# Explaining one worker or task, with counterfactuals verified by re-solving


def _resolve(log: pl.DataFrame, policy: Policy) -> pl.Series:
    """Re-run the solver on a decision log's edges; return a boolean is_selected per row."""
    task_ids = log.get_column("task_id")
    worker_ids = log.get_column("worker_id")
    t = task_ids.rank("dense").cast(pl.Int64).to_numpy() - 1
    w = worker_ids.rank("dense").cast(pl.Int64).to_numpy() - 1
    n_w = int(w.max()) + 1 if w.size else 0
    arrays = EdgeArrays(t, w, log.get_column("score").to_numpy(), int(t.max()) + 1 if t.size else 0, n_w)
    capacity = np.zeros(n_w, dtype=np.int64)
    capacity[w] = log.get_column("worker_capacity").to_numpy()
    if policy.fairness_attribute and policy.fairness_attribute in log.columns:
        codes, names = group_codes(log.get_column(policy.fairness_attribute))
        group = np.full(n_w, -1, dtype=np.int64)
        group[w] = codes
        chosen, _ = solve_fair(
            arrays,
            capacity,
            group,
            names,
            min_impact_ratio=policy.min_impact_ratio,
            min_group_share=policy.min_group_share,
        )
    elif policy.mode == "exact":
        chosen = solve_exact(arrays, capacity)
    else:
        # The recorded rank already holds the lottery order of ties within each task.
        tiebreak = log.get_column("rank").to_numpy().astype(np.float64)
        priority = arrays.score if policy.mode == "greedy" else -t.astype(np.float64)
        chosen = solve_deferred_acceptance(arrays, capacity, priority, tiebreak)
    selected = np.zeros(t.size, dtype=bool)
    selected[chosen] = True
    return pl.Series("is_selected", selected)


def explain(
    decision_log: object,
    policy: Policy,
    *,
    worker_id: str | None = None,
    task_id: str | None = None,
    verify: bool = True,
) -> Explanation:
    """Explain the decisions about one worker or one task from a decision log.

    For a task: the assigned worker with the score components and weights, its rank, the runner-up
    and the margin. For a worker: the tasks they won, or the closest task they lost, the component
    where they fell furthest behind the winner, and the smallest single change (skills, price,
    rating, completion rate) that wins that task; with ``verify`` the allocation is re-run with the
    change applied, strengthening it until the decision really flips, and said when it cannot.
    """
    if (worker_id is None) == (task_id is None):
        raise GigshiftError("explain: give exactly one of worker_id or task_id")
    log = as_polars(decision_log, name="decision_log")
    weights = policy.normalised_weights
    shown = ["task_id", "worker_id", "rank", "score", *COMPONENTS, "opportunity_boost", "outcome", "margin"]
    if task_id is not None:
        rows = log.filter(pl.col("task_id") == task_id).sort("rank")
        if rows.height == 0:
            raise NotFoundError("task", task_id, _closest(log.get_column("task_id"), task_id))
        return _explain_task(rows, weights, shown)
    rows = log.filter(pl.col("worker_id") == worker_id).sort(["margin"], descending=True)
    if rows.height == 0:
        raise NotFoundError(
            "worker (not a candidate in this batch)", worker_id, _closest(log.get_column("worker_id"), worker_id)
        )
    won = rows.filter(pl.col("is_selected"))
    if won.height:
        parts = [
            f"task {r['task_id']} (score {r['score']:.3f}, rank {r['rank']} of its candidates, "
            + (f"ahead of the runner-up by {r['margin']:.3f})" if r["margin"] is not None else "no runner-up)")
            for r in won.iter_rows(named=True)
        ]
        summary = (
            f"Worker {worker_id} was assigned "
            + "; ".join(parts)
            + "."
            + _components_text(won.row(0, named=True), weights)
        )
        return Explanation("worker", worker_id, rows.select(shown), summary)
    lost = rows.filter(pl.col("winner_worker_id").is_not_null())
    if lost.height == 0:
        summary = (
            f"Worker {worker_id} was a candidate for {rows.height} task(s), none of which was assigned "
            "(no candidate scored above 0, or capacity was 0)."
        )
        return Explanation("worker", worker_id, rows.select(shown), summary)
    closest = lost.row(0, named=True)
    gaps = {c: weights[c] * (closest[f"winner_{c}"] - closest[c]) for c in COMPONENTS}
    worst = max(gaps, key=lambda c: gaps[c])
    summary = (
        f"Worker {worker_id} was a candidate for {rows.height} task(s) and got none. Closest: task "
        f"{closest['task_id']}, rank {closest['rank']}, score {closest['score']:.3f} against the winner's "
        f"{closest['winner_score']:.3f} (worker {closest['winner_worker_id']}). Biggest gap: {worst} "
        f"({closest[worst]:.2f} vs {closest[f'winner_{worst}']:.2f}, worth {gaps[worst]:.3f} of score)."
    )
    text, verified = _verified_counterfactual(log, lost.head(1), policy, worker_id, closest["task_id"], verify)
    return Explanation("worker", worker_id, rows.select(shown), summary, text, verified)


def _explain_task(rows: pl.DataFrame, weights: dict[str, float], shown: list[str]) -> Explanation:
    task_id = rows.item(0, "task_id")
    winner = rows.filter(pl.col("is_selected"))
    if winner.height == 0:
        summary = (
            f"Task {task_id} had {rows.height} candidate(s) and was not assigned: each was worth more on "
            "another task, had no capacity left, or scored 0."
        )
        return Explanation("task", task_id, rows.select(shown), summary)
    r = winner.row(0, named=True)
    others = rows.filter(pl.col("outcome") == "lost")
    runner = others.row(0, named=True) if others.height else None
    elsewhere = rows.filter((pl.col("outcome") == "assigned_elsewhere") & (pl.col("rank") < r["rank"]))
    summary = (
        f"Task {task_id} went to worker {r['worker_id']} (rank {r['rank']} of {rows.height}, score {r['score']:.3f})."
    )
    if runner is not None:
        summary += f" Runner-up: worker {runner['worker_id']} with {runner['score']:.3f} (margin {r['margin']:.3f})"
        summary += "."
        if elsewhere.height:
            summary += (
                f" {elsewhere.height} higher-ranked candidate(s) were assigned other tasks, where they added more "
                "to the total score."
            )
        if r["margin"] is not None and r["margin"] < 0:
            summary += " The runner-up scored higher; the winner was chosen to meet the group-parity rule."
    summary += _components_text(r, weights)
    return Explanation("task", task_id, rows.select(shown), summary)


def _components_text(row: dict, weights: dict[str, float]) -> str:
    parts = [f"{c} {row[c]:.2f} x {weights[c]:.2f}" for c in COMPONENTS if weights[c] > 0]
    boost = f" + boost {row['opportunity_boost']:.2f}" if row["opportunity_boost"] else ""
    return " Score = " + " + ".join(parts) + boost + "."


def _verified_counterfactual(
    log: pl.DataFrame, row: pl.DataFrame, policy: Policy, worker_id: str, task_id: str, verify: bool
) -> tuple[str | None, bool | None]:
    """Strengthen the local counterfactual until a re-solve gives the worker the task, or give up."""
    extra = 0.0
    for _attempt in range(6):
        cf = counterfactuals(row, policy, extra_gain=extra).row(0, named=True)
        if cf["counterfactual"] is None:
            return ("no single change to skills, price, rating or completion rate would outscore the winner", None)
        if not verify:
            return cf["counterfactual"], False
        component, value = cf["counterfactual_component"], cf["counterfactual_to"]
        if component == "skill_match":
            n_extra = int(value - cf["counterfactual_from"])
            missing = row.get_column("missing_skills").to_list()[0] or []
            changed = apply_skill_change(log, worker_id, missing[:n_extra], policy)
        else:
            changed = apply_change(log, worker_id, component, value, policy)
        selected = _resolve(changed, policy)
        won = changed.with_columns(selected).filter(
            (pl.col("task_id") == task_id) & (pl.col("worker_id") == worker_id) & pl.col("is_selected")
        )
        if won.height:
            return cf["counterfactual"], True
        extra = max(2 * extra, 0.01)
    return (
        f"raising one attribute is not enough: with it, the allocation still gives task {task_id} to someone "
        "else (the optimiser would move you or others between tasks)",
        None,
    )


def _closest(ids: pl.Series, key: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(key, ids.unique().to_list(), n=3, cutoff=0.6)
