"""Explanations: why each task went where it did, why a worker was left out, and what would change it.

The bulk tables are computed for every task and worker from the decision log, vectorised. A
counterfactual in them is *local*: the smallest change to one attribute that lifts the worker's
score on the task above the winner's. Because the exact solver optimises all tasks together, a local
counterfactual does not always flip the decision; :func:`explain` re-runs the solver with the change
applied and only reports a counterfactual it has seen flip the decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from gigshift.allocate._policy import COMPONENT_LABELS, COMPONENTS, Policy

# Components a worker can act on, with the attribute that moves them.
ACTIONABLE = ("skill_match", "price_fit", "rating", "reliability")
_EPS = 1e-6  # the score resolution: a counterfactual must win by at least this much


def task_explanations(log: pl.DataFrame) -> pl.DataFrame:
    """One row per task: the assigned worker, its rank, the runner-up and the margin.

    The runner-up is the best candidate who lost (still had capacity at the end); the best
    candidates may instead have been assigned elsewhere, where they added more to the total.
    """
    ranked = log.sort(["task_id", "rank"])
    best_other = (
        ranked.filter(pl.col("outcome") == "lost")
        .group_by("task_id", maintain_order=True)
        .agg(
            runner_up_worker_id=pl.col("worker_id").first(),
            runner_up_score=pl.col("score").first(),
            runner_up_outcome=pl.col("outcome").first(),
        )
    )
    chosen = ranked.filter(pl.col("is_selected")).select("task_id", "worker_id", "score", "rank", pl.col("category"))
    summary = ranked.group_by("task_id", maintain_order=True).agg(
        pl.col("category").first(), n_candidates=pl.len(), top_score=pl.col("score").max()
    )
    out = (
        summary.join(chosen.drop("category"), on="task_id", how="left")
        .join(best_other, on="task_id", how="left")
        .with_columns(margin=(pl.col("score") - pl.col("runner_up_score")).round(6))
    )
    reason = (
        pl.when(pl.col("worker_id").is_null())
        .then(
            pl.lit(
                "not assigned: every candidate was assigned to a task where they added more score, "
                "or none scored above 0"
            )
        )
        .when(pl.col("rank") == 1)
        .then(pl.lit("assigned to the best-scoring candidate"))
        .otherwise(
            pl.format(
                "assigned to the candidate ranked {}: the higher-ranked candidates were worth more on other tasks",
                pl.col("rank"),
            )
        )
    )
    return out.with_columns(reason=reason).sort("task_id")


def worker_explanations(log: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """One row per candidate worker: tasks won, the closest task lost, why, and a local counterfactual."""
    weights = policy.normalised_weights
    per_worker = log.group_by("worker_id").agg(
        n_candidate_tasks=pl.len(),
        n_assigned=pl.col("is_selected").sum().cast(pl.Int64),
        assigned_task_ids=pl.col("task_id").filter(pl.col("is_selected")).sort(),
    )
    lost = log.filter(~pl.col("is_selected") & pl.col("winner_worker_id").is_not_null())
    closest = (
        lost.sort(["worker_id", "margin", "task_id"], descending=[False, True, False])
        .group_by("worker_id", maintain_order=True)
        .first()
    )
    gaps = closest.select(
        "worker_id",
        *[((pl.col(f"winner_{c}") - pl.col(c)) * weights[c]).alias(c) for c in COMPONENTS],
    )
    biggest = gaps.select(
        "worker_id",
        biggest_gap_component=pl.concat_list(*[pl.lit(c) for c in COMPONENTS]).list.get(
            pl.concat_list(*COMPONENTS).list.arg_max()
        ),
        biggest_gap=pl.max_horizontal(*COMPONENTS).round(6),
    )
    cf = counterfactuals(closest, policy)
    closest = closest.select(
        "worker_id",
        closest_lost_task_id=pl.col("task_id"),
        closest_lost_score=pl.col("score"),
        closest_lost_winner_id=pl.col("winner_worker_id"),
        closest_lost_winner_score=pl.col("winner_score"),
        closest_lost_gap=(-pl.col("margin")).round(6),
    )
    out = per_worker.join(closest, on="worker_id", how="left").join(biggest, on="worker_id", how="left")
    out = out.join(cf, on="worker_id", how="left")
    reason = (
        pl.when(pl.col("n_assigned") > 0)
        .then(pl.format("assigned {} task(s)", pl.col("n_assigned")))
        .when(pl.col("closest_lost_task_id").is_null())
        .then(
            pl.lit("not assigned: your candidate tasks were left unassigned (no score above 0) or you had no capacity")
        )
        .otherwise(
            pl.format(
                "not assigned: closest was task {}, won by a score {} higher; the biggest gap was {}",
                pl.col("closest_lost_task_id"),
                pl.col("closest_lost_gap"),
                pl.col("biggest_gap_component"),
            )
        )
    )
    return out.with_columns(reason=reason).sort("worker_id")


def counterfactuals(rows: pl.DataFrame, policy: Policy, *, extra_gain: float = 0.0) -> pl.DataFrame:
    """For each losing edge, the smallest single-attribute change that beats the winner's score.

    ``rows`` holds decision-log rows with ``winner_score``. Candidate changes: list more of the
    required skills, lower the price (hourly rate, or the bid), a higher rating (only for workers
    with a rating history; the prior is not theirs to change), a higher completion rate. The change
    needing the smallest share of the room left on its component wins. ``extra_gain`` asks for that
    much more score than the bare minimum (used when a verified re-solve needs more).
    """
    if rows.height == 0:
        return pl.DataFrame(
            schema={
                "worker_id": pl.String,
                "counterfactual_component": pl.String,
                "counterfactual_from": pl.Float64,
                "counterfactual_to": pl.Float64,
                "counterfactual": pl.String,
            }
        )
    weights = policy.normalised_weights
    need = (rows.get_column("winner_score").to_numpy() - rows.get_column("score").to_numpy()) + _EPS + extra_gain
    options: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for c in ACTIONABLE:
        w = weights[c]
        current = rows.get_column(c).to_numpy().astype(np.float64)
        target = current + (need / w if w > 0 else np.inf)
        feasible = target <= 1.0 + 1e-12
        effort = np.where(feasible, (target - current) / np.maximum(1.0 - current, 1e-12), np.inf)
        raw_from, raw_to, ok = _raw_change(rows, c, np.minimum(target, 1.0), policy)
        effort = np.where(ok, effort, np.inf)
        options[c] = (effort, raw_from, raw_to, ok)
    efforts = np.column_stack([options[c][0] for c in ACTIONABLE])
    best = np.argmin(efforts, axis=1)
    has = np.isfinite(efforts[np.arange(best.size), best])
    comp = np.array(ACTIONABLE, dtype=object)[best]
    raw_from = np.array([options[c][1] for c in ACTIONABLE])[best, np.arange(best.size)]
    raw_to = np.array([options[c][2] for c in ACTIONABLE])[best, np.arange(best.size)]
    frame = pl.DataFrame(
        {
            "worker_id": rows.get_column("worker_id"),
            "task_id": rows.get_column("task_id"),
            "missing_skills": rows.get_column("missing_skills"),
            "is_bid": rows.get_column("is_bid"),
            "has": has,
            "counterfactual_component": comp.astype(str),
            "counterfactual_from": raw_from,
            "counterfactual_to": raw_to,
        }
    ).with_columns(
        counterfactual_component=pl.when("has").then(pl.col("counterfactual_component")),
        counterfactual_from=pl.when("has").then(pl.col("counterfactual_from")),
        counterfactual_to=pl.when("has").then(pl.col("counterfactual_to")),
    )
    return frame.select(
        "worker_id",
        "counterfactual_component",
        "counterfactual_from",
        "counterfactual_to",
        counterfactual=pl.when("has").then(
            pl.format("{} you would have outscored the winner on task {}", _change_text(), "task_id")
        ),
    )


def _money(expr: pl.Expr) -> pl.Expr:
    return pl.format("${}", expr.round(2).cast(pl.String))


def _change_text() -> pl.Expr:
    """The counterfactual change in words, vectorised over rows."""
    a, b, c = pl.col("counterfactual_from"), pl.col("counterfactual_to"), pl.col("counterfactual_component")
    n_extra = (b - a).cast(pl.Int64)
    names = pl.col("missing_skills").list.head(n_extra).list.join(", ")
    return (
        pl.when(c == "rating")
        .then(pl.format("with a rating of {} instead of {}", b.round(2), a.round(2)))
        .when(c == "reliability")
        .then(pl.format("with a completion rate of {}% instead of {}%", (b * 100).round(1), (a * 100).round(1)))
        .when((c == "price_fit") & pl.col("is_bid"))
        .then(pl.format("with a bid of {} instead of {}", _money(b), _money(a)))
        .when(c == "price_fit")
        .then(pl.format("with an hourly rate of {} instead of {}", _money(b), _money(a)))
        .otherwise(pl.format("listing {} more of the required skills ({})", n_extra, names))
    )


def _raw_change(
    rows: pl.DataFrame, component: str, target: np.ndarray, policy: Policy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The worker attribute value that gives a component its target value; ``ok`` where possible."""
    if component == "rating":
        n = rows.get_column("worker_n_jobs_completed").fill_null(0).to_numpy().astype(np.float64)
        has_rating = rows.get_column("worker_rating").is_not_null().to_numpy()
        old = rows.get_column("worker_rating").fill_null(np.nan).to_numpy().astype(np.float64)
        m, mu = policy.rating_prior_strength, policy.rating_prior_mean
        shrunk = 1.0 + 4.0 * target
        with np.errstate(divide="ignore", invalid="ignore"):
            new = ((n + m) * shrunk - m * mu) / n
        new = np.ceil(new * 100 - 1e-9) / 100  # ratings are shown to two decimals
        ok = has_rating & (n > 0) & (new <= 5.0) & (new > old)
        return old, new, ok
    if component == "reliability":
        old = rows.get_column("reliability").to_numpy().astype(np.float64)
        new = np.ceil(target * 1000 - 1e-9) / 1000
        return old, new, (new <= 1.0) & rows.get_column("worker_reliability").is_not_null().to_numpy()
    if component == "price_fit":
        budget = rows.get_column("budget_usd").to_numpy()
        price = rows.get_column("price_usd").to_numpy()
        hours = rows.get_column("expected_hours").to_numpy()
        new_price = budget * (1.0 + policy.price_tolerance * (1.0 - target))
        is_bid = rows.get_column("is_bid").to_numpy()
        old = np.where(is_bid, price, price / hours)
        new = np.where(is_bid, new_price, new_price / hours)
        new = np.floor(new * 100 + 1e-9) / 100  # cents, rounded down so the fit is reached
        return old, new, (new > 0) & (new < old)
    # skill_match: how many more of the required skills the worker would need to list
    n_req = rows.get_column("n_required_skills").to_numpy().astype(np.float64)
    matched = np.rint(rows.get_column("skill_match").to_numpy() * n_req)
    extra = np.ceil(target * n_req - matched - 1e-9)
    ok = (n_req > 0) & (extra >= 1) & (matched + extra <= n_req)
    return matched, matched + extra, ok


def apply_change(log: pl.DataFrame, worker_id: str, component: str, value: float, policy: Policy) -> pl.DataFrame:
    """The decision log with one worker's attribute changed and their scores recomputed."""
    weights = policy.normalised_weights
    mine = pl.col("worker_id") == worker_id
    if component == "rating":
        m, mu = policy.rating_prior_strength, policy.rating_prior_mean
        n = pl.col("worker_n_jobs_completed").fill_null(0).cast(pl.Float64)
        new = ((n * value + m * mu) / (n + m) - 1.0) / 4.0
        log = log.with_columns(rating=pl.when(mine).then(new).otherwise(pl.col("rating")))
    elif component == "reliability":
        log = log.with_columns(reliability=pl.when(mine).then(pl.lit(value)).otherwise(pl.col("reliability")))
    elif component == "price_fit":
        price = pl.when(pl.col("is_bid")).then(pl.lit(value)).otherwise(pl.col("expected_hours") * value)
        fit = (1.0 - (price / pl.col("budget_usd") - 1.0) / policy.price_tolerance).clip(0.0, 1.0)
        log = log.with_columns(price_fit=pl.when(mine).then(fit).otherwise(pl.col("price_fit")))
    else:  # skill_match: the worker now lists `value` of this task's required skills
        raise ValueError("skill changes are applied per task with apply_skill_change")
    return rescore(log, weights, mine)


def apply_skill_change(log: pl.DataFrame, worker_id: str, skills: list[str], policy: Policy) -> pl.DataFrame:
    """The decision log with a worker listing more skills; every task requiring them is rescored."""
    mine = pl.col("worker_id") == worker_id
    gained = pl.col("missing_skills").list.set_intersection(pl.lit(skills, dtype=pl.List(pl.String))).list.len()
    n_req = pl.col("n_required_skills").cast(pl.Float64)
    new = pl.when(n_req > 0).then((pl.col("skill_match") * n_req).round(0).add(gained) / n_req).otherwise(1.0)
    log = log.with_columns(skill_match=pl.when(mine).then(new).otherwise(pl.col("skill_match")))
    return rescore(log, policy.normalised_weights, mine)


def rescore(log: pl.DataFrame, weights: dict[str, float], rows: pl.Expr) -> pl.DataFrame:
    total = sum((weights[c] * pl.col(c) for c in COMPONENTS), pl.col("opportunity_boost"))
    return log.with_columns(score=pl.when(rows).then(total.round(6)).otherwise(pl.col("score")))


def transparency_statement(policy: Policy, *, group_columns: list[str] | None = None) -> str:
    """What workers must be told about the automated allocation (EU Platform Work Directive, Art. 9).

    Lists the data used, the main parameters with their relative importance, the solver, the
    fairness rule, the opportunity boost, and how to get an explanation of a decision.
    """
    weights = policy.normalised_weights
    ordered = sorted(COMPONENTS, key=lambda c: -weights[c])
    lines = [
        f"# How tasks are allocated (policy {policy.version})",
        "",
        policy.description.strip() or "This platform allocates tasks with the gigshift allocation engine.",
        "",
        "## Data the system uses about you",
        "",
        "- the gig categories, skills, hourly rate, area and capacity you give in your profile;",
        "- your client rating and the number of jobs you completed; the share of accepted jobs you completed;",
        "- when you were last assigned a task, and how many batches in a row you were a candidate without a task;",
        "- for each task: its category, required skills, budget, expected hours, remote or on-location area.",
    ]
    if policy.fairness_attribute:
        lines.append(
            f"- your `{policy.fairness_attribute}`, only if you gave it, and only to check and enforce equal "
            "selection rates between groups; it never lowers your score."
        )
    else:
        lines.append("- no personal characteristics (such as sex, ethnicity or age) are used.")
    lines += [
        "",
        "## Main parameters and their relative importance",
        "",
        "Each candidate gets a score between 0 and 1: a weighted sum of these components (each 0 to 1).",
        "",
        "| component | what it measures | weight | share of the score |",
        "| --- | --- | ---: | ---: |",
    ]
    for c in ordered:
        if weights[c] > 0:
            lines.append(f"| {c} | {COMPONENT_LABELS[c]} | {policy.weights[c]:g} | {weights[c]:.0%} |")
    lines += [
        "",
        f"Only workers who list the task's category, have capacity, and take remote work (for remote tasks) or work "
        f"in the task's area (for on-location tasks) are candidates; each task keeps its {policy.k} best-scoring "
        "candidates"
        + (
            f", and a candidate must list at least {policy.min_skill_match:.0%} of the required skills."
            if policy.min_skill_match > 0
            else "."
        )
        + " A new worker's rating counts as "
        f"{policy.rating_prior_mean:g} stars, weighted like {policy.rating_prior_strength:g} jobs, "
        "so a short record is not punished.",
        "",
        "## How the assignment is decided",
        "",
    ]
    if policy.mode == "exact":
        lines.append(
            "All tasks in a batch are assigned together to maximise the total score: each task to at most one worker, "
            "each worker up to their capacity. So the best-scoring candidate for a task can be assigned elsewhere, "
            "where they add more."
        )
    elif policy.mode == "greedy":
        lines.append("Pairs are taken from the best score down; each task goes to its best-scoring free candidate.")
    else:
        lines.append(
            "Tasks are dispatched one at a time in the order they were posted, each to its best-scoring free candidate."
        )
    if policy.fairness_attribute:
        lines += [
            "",
            f"**Equal opportunity by `{policy.fairness_attribute}`**: in every batch, each group's selection rate "
            "(workers "
            f"assigned / candidate workers) is at least {policy.min_impact_ratio:.0%} of the highest group's "
            "(the four-fifths rule when 80%). The cost of this rule in total score is published with each batch. "
            f"Groups with fewer than {policy.min_group_share:.0%} of the candidates are reported but not constrained.",
        ]
    if policy.max_boost > 0 and policy.boost_per_batch > 0:
        lines += [
            "",
            f"**No one is starved of work**: each batch in a row in which you were a candidate but got no task adds "
            f"{policy.boost_per_batch:g} to your scores, up to {policy.max_boost:g}; it resets when you get a task.",
        ]
    lines += [
        "",
        "## Your right to an explanation",
        "",
        "Every decision is logged with all score components and the policy version. You can ask for the explanation "
        "of any decision about you: your score and rank, the winner's score, the component where you fell short, and "
        "the smallest change that would have won you the task (checked by re-running the allocation).",
    ]
    if group_columns:
        lines += ["", f"Recorded for audits only: {', '.join(group_columns)}."]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Explanation:
    """A readable explanation of the decisions about one worker or one task."""

    subject: str  # "worker" or "task"
    subject_id: str
    table: pl.DataFrame  # the candidate edges involved, best first
    summary: str
    counterfactual: str | None = None
    counterfactual_verified: bool | None = None

    def to_text(self) -> str:
        parts = [self.summary]
        if self.counterfactual:
            check = {True: " (verified by re-running the allocation)", False: " (not verified)"}
            parts.append(
                f"What would have changed it: {self.counterfactual}{check.get(self.counterfactual_verified, '')}."
            )
        return "\n".join(parts)

    def to_dict(self) -> dict[str, object]:
        def clean(value: object) -> object:
            return None if isinstance(value, float) and not math.isfinite(value) else value

        return {
            "subject": self.subject,
            "subject_id": self.subject_id,
            "summary": self.summary,
            "counterfactual": self.counterfactual,
            "counterfactual_verified": self.counterfactual_verified,
            "candidates": [{k: clean(v) for k, v in row.items()} for row in self.table.to_dicts()],
        }
