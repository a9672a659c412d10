"""What clients reward: a conditional logit of who is chosen among each task's candidates.

For task ``g`` with candidates ``j``, ``P(j chosen) = exp(x_j' b) / sum_k exp(x_k' b)`` (McFadden 1974;
the conditional logit of Chamberlain 1980 with one chosen per task). Attributes fixed within a task
(its budget, category, week) cancel, so ``b`` weighs what differs between candidates: rating, price,
experience, reliability, skill match. The likelihood is maximised by Newton's method with step
halving, vectorised over candidates (``ufunc.reduceat`` over tasks stored contiguously); standard
errors come from the inverse information matrix. ``statsmodels``' ``ConditionalLogit`` gives the same
estimates (checked in the tests) but loops over tasks in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import polars as pl

from gigshift.insights._log import TaskLog

PREFERENCE_SCHEMA = {
    "attribute": pl.String,
    "unit": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "odds_ratio": pl.Float64,
    "odds_ratio_ci_lo": pl.Float64,
    "odds_ratio_ci_hi": pl.Float64,
    "p_value": pl.Float64,
    "mean": pl.Float64,
}

#: attribute -> (unit in which its coefficient reads, the decision-log column it is built from)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "rating": ("per star of rating (rated workers)", "worker_rating"),
    "no_rating": ("no rating yet, vs a worker of mean rating", "worker_rating"),
    "price": ("per 10% higher price", "price_usd"),
    "experience": ("per doubling of 1 + jobs completed", "worker_n_jobs_completed"),
    "reliability": ("per 0.1 of reliability (workers with a record)", "worker_reliability"),
    "no_reliability": ("no reliability record, vs a worker of mean reliability", "worker_reliability"),
    "skill_match": ("per 10 points of required skills held", "skill_match"),
}


@dataclass(frozen=True, slots=True)
class ChoiceFit:
    beta: np.ndarray
    cov: np.ndarray
    log_likelihood: float
    null_log_likelihood: float
    converged: bool
    n_iter: int


def conditional_logit(
    x: np.ndarray,
    chosen: np.ndarray,
    starts: np.ndarray,
    *,
    max_iter: int = 100,
    tol: float = 1e-10,
    beta0: np.ndarray | None = None,
) -> ChoiceFit:
    """Fit a conditional logit with one chosen row per group; rows of a group are contiguous from ``starts``.

    Parameters
    ----------
    x : (n, k) array
        Attributes of each candidate.
    chosen : (n,) bool array
        Exactly one true per group.
    starts : (g,) int array
        Index of the first row of each group, increasing, ``starts[0] == 0``.
    beta0 : (k,) array, optional
        Starting values; default zeros, or for 40,000 groups and more the fit on the first tenth of them.
    """
    n, k = x.shape
    sizes = np.diff(np.append(starts, n))
    group = np.repeat(np.arange(starts.size), sizes)
    x = np.asfortranarray(x, dtype=np.float64)  # column-major: each column a contiguous pass
    x_chosen = x[chosen]
    null_ll = -float(np.log(sizes).sum())
    if beta0 is None and starts.size >= 40_000:
        # warm start from the first tenth of the tasks: two or three full Newton steps are then left
        m = starts.size // 10
        head = int(starts[m])
        beta0 = conditional_logit(x[:head], chosen[:head], starts[:m], max_iter=max_iter, tol=tol).beta

    def evaluate(beta: np.ndarray) -> tuple[float, np.ndarray]:
        u = x @ beta
        m = np.maximum.reduceat(u, starts)
        e = np.exp(u - m[group])
        total = np.add.reduceat(e, starts)
        return float(u[chosen].sum() - (m + np.log(total)).sum()), e / total[group]

    def information(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        px = x * p[:, None]
        xbar = np.column_stack([np.add.reduceat(px[:, j], starts) for j in range(k)])  # contiguous columns
        return x_chosen.sum(axis=0) - px.sum(axis=0), x.T @ px - xbar.T @ xbar

    beta = np.zeros(k) if beta0 is None else np.asarray(beta0, dtype=np.float64)
    ll, p = evaluate(beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 -- Newton iterations, a handful, each vectorised
        grad, info = information(p)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        scale = 1.0
        while True:  # step halving: the log likelihood never falls
            trial = beta + scale * step
            new_ll, new_p = evaluate(trial)
            if new_ll >= ll - 1e-12 * max(1.0, abs(ll)) or scale < 1e-8:
                break
            scale /= 2
        beta, ll, p = trial, new_ll, new_p
        if np.max(np.abs(scale * step)) < tol or abs(float(grad @ step)) < tol:
            converged = True
            break
    _, info = information(p)
    cov = np.linalg.pinv(info)
    return ChoiceFit(beta=beta, cov=cov, log_likelihood=ll, null_log_likelihood=null_ll, converged=converged, n_iter=it)


def _features(log: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The attribute columns that can be built from the log's columns (centred where a 'no record' flag exists)."""
    exprs: list[pl.Expr] = []
    names: list[str] = []
    cols = log.columns
    if "worker_rating" in cols:
        rating = pl.col("worker_rating")
        exprs += [
            (rating - rating.mean()).fill_null(0.0).alias("rating"),
            rating.is_null().cast(pl.Float64).alias("no_rating"),
        ]
        names += ["rating", "no_rating"]
    if "price_usd" in cols:
        exprs.append((pl.col("price_usd").log() / math.log(1.1)).alias("price"))
        names.append("price")
    if "worker_n_jobs_completed" in cols:
        exprs.append((pl.col("worker_n_jobs_completed").cast(pl.Float64) + 1).log(2).alias("experience"))
        names.append("experience")
    if "worker_reliability" in cols:
        rel = pl.col("worker_reliability") * 10
        exprs += [
            (rel - rel.mean()).fill_null(0.0).alias("reliability"),
            rel.is_null().cast(pl.Float64).alias("no_reliability"),
        ]
        names += ["reliability", "no_reliability"]
    if "skill_match" in cols:
        exprs.append((pl.col("skill_match") * 10).alias("skill_match"))
        names.append("skill_match")
    return log.select(*exprs), names


def _identified(x: np.ndarray, starts: np.ndarray, names: list[str]) -> tuple[list[int], list[str]]:
    """Columns whose within-task variation is not zero and not a combination of earlier kept columns.

    Only within-task variation identifies a conditional logit, so the check runs on the Gram matrix of
    the task-demeaned attributes (k x k): a column is kept when its residual sum of squares after
    projecting on the kept ones is above a relative tolerance (e.g. "no rating" and "no reliability"
    coincide when both are missing for exactly the new workers).
    """
    sizes = np.diff(np.append(starts, x.shape[0]))
    x = np.asfortranarray(x)
    sums = np.column_stack([np.add.reduceat(x[:, j], starts) for j in range(x.shape[1])])
    # within-task Gram matrix without forming the centred matrix: X'X - sum_g n_g mean_g mean_g'
    gram = x.T @ x - (sums / sizes[:, None]).T @ sums
    keep: list[int] = []
    dropped: list[str] = []
    for j, name in enumerate(names):
        own = gram[j, j]
        if own <= 1e-9 * x.shape[0] * max(1.0, float(np.abs(x[:, j]).max()) ** 2):
            dropped.append(f"{name} (no variation within tasks)")
            continue
        if keep:
            g = gram[np.ix_(keep, keep)]
            c = gram[keep, j]
            residual = own - c @ np.linalg.lstsq(g, c, rcond=None)[0]
            if residual <= 1e-8 * own:
                dropped.append(f"{name} (a combination of the attributes before it)")
                continue
        keep.append(j)
    return keep, dropped


def preferences(
    log: TaskLog, *, max_tasks: int, rng: np.random.Generator, confidence: float
) -> tuple[pl.DataFrame, dict[str, object], list[str]]:
    """Fit the choice model on a decision log indexed by task.

    Returns the preference table, a summary, and notes. Tasks qualify when exactly one candidate was
    selected and at least two candidates were available; candidates the batch assigned to another
    task (``outcome == 'assigned_elsewhere'``) are not counted as available, nor are candidates
    without a price. Above ``max_tasks`` qualifying tasks a seeded random sample of tasks is used.
    """
    notes: list[str] = []
    summary: dict[str, object] = {"n_tasks": 0, "n_candidates": 0, "n_tasks_available": 0, "sampled": False}
    empty = pl.DataFrame(schema=PREFERENCE_SCHEMA)
    frame = log.frame
    available = np.ones(frame.height, dtype=bool)
    if "price_usd" in frame.columns:
        has_price = frame.get_column("price_usd").is_not_null().to_numpy()
        if not has_price.all():
            notes.append(f"{int((~has_price).sum()):,} candidates without a price left out of the choice model")
        available &= has_price
    if "outcome" in frame.columns:
        available &= (frame.get_column("outcome") != "assigned_elsewhere").fill_null(True).to_numpy()
    selected = frame.get_column("is_selected").to_numpy()
    n_available = log.per_task_sum(available)
    n_chosen = log.per_task_sum(selected & available)
    n_selected = log.per_task_sum(selected)
    n_multi = int((n_selected > 1).sum())
    if n_multi:
        notes.append(f"{n_multi:,} tasks with more than one selected candidate left out of the choice model")
    eligible = np.flatnonzero((n_chosen == 1) & (n_available >= 2) & (n_selected == 1))
    summary["n_tasks_available"] = int(eligible.size)
    if eligible.size < 30:
        notes.append(
            f"only {eligible.size} tasks with one chosen among two or more candidates: too few for a choice "
            "model (at least 30 needed)"
        )
        return empty, summary, notes
    if eligible.size > max_tasks:
        eligible = np.sort(rng.choice(eligible, size=max_tasks, replace=False))
        summary["sampled"] = True
        notes.append(
            f"choice model fitted on a seeded random sample of {max_tasks:,} of {summary['n_tasks_available']:,} tasks"
        )
    rows = log.rows_of(eligible)
    rows = rows[available[rows]]
    used = ["is_selected", *dict.fromkeys(column for _, column in ATTRIBUTES.values())]
    data = frame.select([c for c in used if c in frame.columns]).gather(rows)
    task = np.repeat(np.arange(eligible.size), n_available[eligible])
    features, names = _features(data)
    starts = np.flatnonzero(np.r_[True, task[1:] != task[:-1]])
    x = features.select(names).to_numpy().astype(np.float64)
    if np.isnan(x).any():
        raise AssertionError("choice attributes hold NaN after filling")  # a bug, not bad input
    keep, dropped = _identified(x, starts, names)
    if dropped:
        notes.append(
            "no weight for attributes that do not vary between the candidates of a task, or repeat others: "
            + ", ".join(dropped)
        )
    if not keep:
        notes.append("no attribute varies between the candidates of a task")
        return empty, summary, notes
    x = x[:, keep]
    names = [names[j] for j in keep]
    chosen = data.get_column("is_selected").to_numpy().astype(bool)
    fit = conditional_logit(x, chosen, starts)
    se = np.sqrt(np.maximum(np.diag(fit.cov), 0.0))
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    lo, hi = fit.beta - z * se, fit.beta + z * se
    with np.errstate(divide="ignore", invalid="ignore"):
        pvalue = np.array([math.erfc(abs(t) / math.sqrt(2)) for t in fit.beta / se])  # two-sided normal
    raw_means = {}
    for name in names:
        column = ATTRIBUTES[name][1]
        if name.startswith("no_"):
            raw_means[name] = float(data.get_column(column).is_null().mean())
        else:
            raw_means[name] = data.get_column(column).cast(pl.Float64).mean()
    if not fit.converged or np.max(np.abs(fit.beta)) > 30:
        notes.append(
            "the choice model did not settle: choices are (nearly) perfectly predicted by the attributes, as with "
            "a deterministic ranking, so the weights are not identified"
        )
    with np.errstate(over="ignore"):
        odds, odds_lo, odds_hi = np.exp(fit.beta), np.exp(lo), np.exp(hi)
    table = pl.DataFrame(
        {
            "attribute": names,
            "unit": [ATTRIBUTES[n][0] for n in names],
            "coef": fit.beta,
            "se": se,
            "ci_lo": lo,
            "ci_hi": hi,
            "odds_ratio": odds,
            "odds_ratio_ci_lo": odds_lo,
            "odds_ratio_ci_hi": odds_hi,
            "p_value": pvalue,
            "mean": [raw_means[n] for n in names],
        },
        schema=PREFERENCE_SCHEMA,
    )
    summary.update(
        {
            "n_tasks": int(starts.size),
            "n_candidates": int(x.shape[0]),
            "log_likelihood": fit.log_likelihood,
            "null_log_likelihood": fit.null_log_likelihood,
            "mcfadden_r2": 1 - fit.log_likelihood / fit.null_log_likelihood if fit.null_log_likelihood else None,
            "converged": fit.converged,
            "n_iter": fit.n_iter,
        }
    )
    return table, summary, notes
