"""Maximum-score assignment of tasks to workers: exact, greedy and dispatch modes, with group parity.

Everything here works on integer arrays: ``task`` and ``worker`` hold dense indices (0..n-1) and
``score`` one float per candidate edge. The public :func:`solve` maps ids to indices once, checks
the input, and maps the chosen edges back.

The problem: choose a set of edges maximising the total score such that each task is chosen at most
once and each worker at most ``capacity`` times. Tasks may stay unassigned, so an edge whose score is
not positive never improves the objective and is never chosen by the exact modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching, min_weight_full_bipartite_matching

from gigshift._errors import GigshiftError, InputError
from gigshift._tables import as_polars, check_option

Mode = Literal["exact", "greedy", "dispatch"]
Solver = Literal["auto", "ortools", "scipy"]

# Costs handed to the min-cost-flow solver are integers: scores are rounded to this many units per
# 1.0 of score. 1e-9 resolution keeps the rounding far below any score difference that matters while
# costs times node counts stay well inside int64 for a million edges.
_COST_UNITS = 1_000_000_000


class InfeasibleError(GigshiftError):
    """A fairness constraint that no allocation (other than assigning nobody) can satisfy."""


@dataclass(frozen=True, slots=True)
class EdgeArrays:
    """Candidate edges as dense index arrays, the form every solver below works on."""

    task: np.ndarray  # int64, 0..n_tasks-1
    worker: np.ndarray  # int64, 0..n_workers-1
    score: np.ndarray  # float64, finite
    n_tasks: int
    n_workers: int


def solve_exact(edges: EdgeArrays, capacity: np.ndarray, *, solver: Solver = "auto") -> np.ndarray:
    """Indices of the edges in a maximum-score assignment (exact).

    ``"ortools"`` (and ``"auto"``) solve a min-cost flow with OR-Tools, any capacities;
    ``"scipy"`` needs every capacity to be 1 and uses SciPy's sparse LAPJV
    (``min_weight_full_bipartite_matching``). Both are exact; on candidate graphs of the sizes in
    ``benchmarks/allocate.py`` the flow is several times faster, hence the default.
    """
    if edges.task.size == 0:
        return np.empty(0, dtype=np.int64)
    usable = _prune_dominated(edges, capacity, (edges.score > 0) & (capacity[edges.worker] > 0))
    if solver == "scipy":
        if np.any(capacity[np.unique(edges.worker[usable])] != 1):
            raise GigshiftError("solve: solver='scipy' handles capacity 1 only; use solver='ortools'")
        return _matching_scipy(edges, usable)
    chosen = _min_cost_flow(edges, capacity, usable)
    assert chosen is not None  # the unassigned arc makes the plain problem always feasible
    return chosen


def _prune_dominated(edges: EdgeArrays, capacity: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Drop edges no optimum needs: those ranked below a candidate who can never be saturated.

    A worker with at least as much capacity as candidate tasks always has room. If such a worker u
    is ranked above w for task t, any assignment giving t to w can give it to u instead without
    losing score, so (t, w) can go. Dropping edges lowers degrees, so the rule is applied until
    nothing changes. On the pipeline's candidate graphs it removes about half the edges, and the
    flow runs faster on the rest; the optimum value is unchanged.
    """
    keep = usable.copy()
    order = np.lexsort((edges.worker, -edges.score, edges.task))
    for _ in range(50):
        live = order[keep[order]]
        if live.size == 0:
            break
        degree = np.bincount(edges.worker[live], minlength=edges.n_workers)
        never_full = capacity >= degree
        task = edges.task[live]
        first = np.r_[True, task[1:] != task[:-1]]
        group = np.cumsum(first) - 1
        position = np.arange(live.size) - np.flatnonzero(first)[group]
        candidate_first = np.where(never_full[edges.worker[live]], position, live.size)
        first_free = np.full(int(group[-1]) + 1, live.size)
        np.minimum.at(first_free, group, candidate_first)
        drop = position > first_free[group]
        if not drop.any():
            break
        keep[live[drop]] = False
    return keep


def _matching_scipy(edges: EdgeArrays, usable: np.ndarray) -> np.ndarray:
    """Maximum-weight (not maximum-cardinality) matching through a full matching with dummy columns.

    Each task gets a private dummy column whose cost stands for "unassigned"; a real edge costs
    ``big - score``, so a task only leaves its dummy when that gains score.
    """
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return idx
    n_t, n_w = edges.n_tasks, edges.n_workers
    score = edges.score[idx]
    big = float(score.max()) + 1.0
    rows = np.concatenate([edges.task[idx], np.arange(n_t)])
    cols = np.concatenate([edges.worker[idx], n_w + np.arange(n_t)])
    cost = np.concatenate([big - score, np.full(n_t, big)])
    matrix = csr_matrix((cost, (rows, cols)), shape=(n_t, n_w + n_t))
    row_of, col_of = min_weight_full_bipartite_matching(matrix)
    real = col_of < n_w
    return _edge_index(edges, idx, row_of[real], col_of[real])


def _edge_index(edges: EdgeArrays, idx: np.ndarray, task: np.ndarray, worker: np.ndarray) -> np.ndarray:
    """Map chosen (task, worker) pairs back to positions in the edge arrays (pairs are unique)."""
    key = edges.task[idx] * edges.n_workers + edges.worker[idx]
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], task * edges.n_workers + worker)
    return np.sort(idx[order[pos]])


def _integer_costs(score: np.ndarray) -> np.ndarray:
    """Scores as negative integer costs: exact for scores on the pipeline's 1e-6 grid, else 1e-9 units.

    Fewer cost units mean fewer cost-scaling phases in the flow solver, so the coarser grid is used
    whenever it loses nothing.
    """
    top = float(np.abs(score).max()) if score.size else 1.0
    micro = score * 1e6
    if top <= 1e6 and np.all(np.abs(micro - np.rint(micro)) < 1e-6):
        return -np.rint(micro).astype(np.int64)
    units = _COST_UNITS if top <= 1000 else _COST_UNITS * 1000 / top
    return -np.rint(score * units).astype(np.int64)


def _min_cost_flow(
    edges: EdgeArrays,
    capacity: np.ndarray,
    usable: np.ndarray,
    *,
    group: np.ndarray | None = None,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> np.ndarray | None:
    """Exact maximum-score assignment as a min-cost flow; optional bounds on workers chosen per group.

    Network: source -> worker (capacity) -> task (1, cost -score) -> sink (1), plus a source -> sink
    arc for tasks left unassigned. With groups, a worker's first unit comes through its group node,
    which carries between ``lower[g]`` and ``upper[g]`` units, so the number of distinct workers of
    group g chosen is bounded (exactly so with capacity 1; with larger capacities a worker could take
    its extra units without its first, which the caller checks). Returns None when infeasible.
    """
    from ortools.graph.python import min_cost_flow

    idx = np.flatnonzero(usable)
    n_t = int(edges.n_tasks)
    n_g = 0 if group is None else int(lower.size)
    # Only workers with a usable edge become nodes: fewer nodes, faster flow.
    workers, worker_node = np.unique(edges.worker[idx], return_inverse=True)
    n_w = workers.size
    source, sink = 0, 1
    first_group, first_worker = 2, 2 + n_g
    first_task = first_worker + n_w
    cap = capacity.astype(np.int64)
    tails, heads, caps, costs = [], [], [], []

    def arcs(t: np.ndarray, h: np.ndarray, c: np.ndarray, k: np.ndarray | int = 0) -> None:
        tails.append(t)
        heads.append(h)
        caps.append(np.broadcast_to(np.asarray(c, dtype=np.int64), t.shape))
        costs.append(np.broadcast_to(np.asarray(k, dtype=np.int64), t.shape))

    local = np.arange(n_w)
    supplies = np.zeros(first_task + n_t, dtype=np.int64)
    if group is None:
        arcs(np.full(n_w, source), first_worker + local, cap[workers])
    else:
        g = group[workers]
        ungrouped = g < 0
        arcs(np.full(int(ungrouped.sum()), source), first_worker + local[ungrouped], cap[workers[ungrouped]])
        grouped = local[~ungrouped]
        gcap = cap[workers[~ungrouped]]
        arcs(first_group + g[~ungrouped], first_worker + grouped, np.minimum(gcap, 1))
        arcs(np.full(grouped.size, source), first_worker + grouped, np.maximum(gcap - 1, 0))
        arcs(np.full(n_g, source), first_group + np.arange(n_g), np.maximum(upper - lower, 0))
        supplies[first_group : first_group + n_g] = lower
    arcs(first_worker + worker_node, first_task + edges.task[idx], 1, _integer_costs(edges.score[idx]))
    arcs(first_task + np.arange(n_t), np.full(n_t, sink), 1)
    arcs(np.array([source]), np.array([sink]), n_t)
    supplies[source] = n_t - (0 if lower is None else int(lower.sum()))
    supplies[sink] = -n_t

    flow = min_cost_flow.SimpleMinCostFlow()
    all_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    flow.set_nodes_supplies(np.arange(supplies.size), supplies)
    status = flow.solve()
    if status == flow.INFEASIBLE:
        return None
    if status != flow.OPTIMAL:  # pragma: no cover - ranges are checked above
        raise RuntimeError(f"min-cost flow failed with status {status}")
    n_before = sum(t.size for t in tails[:-3])
    edge_flow = flow.flows(all_arcs[n_before : n_before + idx.size])
    return idx[edge_flow > 0]


def solve_deferred_acceptance(
    edges: EdgeArrays, capacity: np.ndarray, worker_priority: np.ndarray, tiebreak: np.ndarray
) -> np.ndarray:
    """Task-proposing deferred acceptance, vectorised by rounds; returns chosen edge indices.

    Tasks propose to candidates in order of score; a worker holds its best ``capacity`` proposals by
    ``worker_priority`` (higher first) and rejects the rest. When every worker ranks edges by the
    same score as tasks do, the stable matching is unique and equals the greedy matching that takes
    edges from the best score down; when workers rank tasks by arrival, it equals dispatching each
    task in turn to its best free worker. ``tiebreak`` (one float per edge) orders exact ties.
    """
    n_t = edges.n_tasks
    if edges.task.size == 0:
        return np.empty(0, dtype=np.int64)
    # Each task's proposal list: its edges by score, best first.
    by_task = np.lexsort((tiebreak, -edges.score, edges.task))
    degree = np.bincount(edges.task, minlength=n_t)
    start = np.concatenate([[0], np.cumsum(degree)[:-1]])
    pointer = np.zeros(n_t, dtype=np.int64)
    held_edge = np.full(n_t, -1, dtype=np.int64)  # edge (position in by_task) each task holds
    active = np.flatnonzero(degree > 0)
    touched = np.zeros(edges.n_workers, dtype=bool)
    while active.size:
        proposals = by_task[start[active] + pointer[active]]
        proposal_workers = edges.worker[proposals]
        touched[proposal_workers] = True
        holders = np.flatnonzero(held_edge >= 0)
        holders = holders[touched[edges.worker[held_edge[holders]]]]
        touched[proposal_workers] = False
        pool = np.concatenate([held_edge[holders], proposals])
        pool_worker = edges.worker[pool]
        order = np.lexsort((tiebreak[pool], -worker_priority[pool], pool_worker))
        pool, pool_worker = pool[order], pool_worker[order]
        first = np.flatnonzero(np.r_[True, pool_worker[1:] != pool_worker[:-1]])
        rank = np.arange(pool.size) - np.repeat(first, np.diff(np.r_[first, pool.size]))
        accepted = rank < capacity[pool_worker]
        pool_task = edges.task[pool]
        held_edge[pool_task[accepted]] = pool[accepted]
        rejected = pool_task[~accepted]
        held_edge[rejected] = -1
        pointer[rejected] += 1
        active = rejected[pointer[rejected] < degree[rejected]]
    return np.sort(held_edge[held_edge >= 0])


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """Selection rates per group before and after the parity constraint."""

    by_group: pl.DataFrame  # group, n_candidates, n_selected, selection_rate, impact_ratio, (unconstrained_*)
    min_impact_ratio: float
    unconstrained_objective: float
    objective: float
    n_subproblems: int

    @property
    def price_of_fairness(self) -> float:
        """Objective lost to the constraint, in % of the unconstrained optimum."""
        if self.unconstrained_objective <= 0:
            return 0.0
        return 100.0 * (self.unconstrained_objective - self.objective) / self.unconstrained_objective

    @property
    def achieved_impact_ratio(self) -> float | None:
        """The lowest impact ratio among the constrained groups."""
        ratios = self.by_group.filter(pl.col("is_constrained")).get_column("impact_ratio").drop_nulls()
        return float(ratios.min()) if ratios.len() else None


def group_counts(
    chosen: np.ndarray, edges: EdgeArrays, group: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate workers and selected workers per group (a worker counts once however many tasks)."""
    candidates = np.unique(edges.worker)
    candidates = candidates[group[candidates] >= 0]
    n_candidates = np.bincount(group[candidates], minlength=n_groups)
    selected = np.unique(edges.worker[chosen])
    selected = selected[group[selected] >= 0]
    n_selected = np.bincount(group[selected], minlength=n_groups)
    return n_candidates, n_selected


def _parity_holds(n_candidates: np.ndarray, n_selected: np.ndarray, ratio: float) -> bool:
    present = n_candidates > 0
    rates = n_selected[present] / n_candidates[present]
    return bool(rates.size == 0 or rates.max() == 0 or rates.min() >= ratio * rates.max() - 1e-12)


def solve_fair(
    edges: EdgeArrays,
    capacity: np.ndarray,
    group: np.ndarray,
    group_names: list[str],
    *,
    min_impact_ratio: float,
    min_group_share: float = 0.0,
) -> tuple[np.ndarray, FairnessReport]:
    """Maximum-score assignment in which every group's selection rate is at least r times the highest.

    The selection rate of a group is the share of its candidate workers (workers with at least one
    edge) who are chosen at least once; workers whose group is unknown (``group < 0``) are left out
    of the rates, as in an LL144 audit. Groups with fewer than ``min_group_share`` of the candidates
    are reported but not constrained (LL144 audits may set aside categories under 2%): a group of
    three candidates can only have rates 0, 1/3, 2/3 or 1, which can make parity unreachable.

    For a top rate rho, requiring each group g to have between
    ``ceil(r * rho * N_g)`` and ``floor(rho * N_g)`` selected workers makes every solution satisfy
    parity, and for a fixed rho that problem is an exact min-cost flow. The best rho is searched on
    [0, rho_max], where rho_max is the lowest top rate that every group can still reach (from each
    group's maximum matching): a coarse grid walked down from rho_max, then a golden-section
    refinement, keeping the best solution that really satisfies parity. Every subproblem is solved
    exactly; the search over rho is the one heuristic step, and the objective is reported against
    the unconstrained optimum.
    """
    n_g = len(group_names)
    unconstrained = solve_exact(edges, capacity)
    unc_objective = float(edges.score[unconstrained].sum())
    all_cand, all_sel_unc = group_counts(unconstrained, edges, group, n_g)
    share = all_cand / max(int(all_cand.sum()), 1)
    constrained = (all_cand > 0) & (share >= min_group_share - 1e-12)
    full_group = group
    group = np.where(group >= 0, np.where(constrained[np.maximum(group, 0)], group, -1), -1)
    n_cand, n_sel_unc = group_counts(unconstrained, edges, group, n_g)

    def report(chosen: np.ndarray, n_sub: int) -> FairnessReport:
        _, n_sel = group_counts(chosen, edges, full_group, n_g)
        frame = _rates_frame(group_names, all_cand, n_sel, all_sel_unc, constrained)
        return FairnessReport(frame, min_impact_ratio, unc_objective, float(edges.score[chosen].sum()), n_sub)

    if _parity_holds(n_cand, n_sel_unc, min_impact_ratio):
        return unconstrained, report(unconstrained, 1)

    # Counting distinct workers is not a flow quantity once a worker can take several tasks, so the
    # parity stage gives every worker one task; the spare capacity of the selected workers is then
    # filled exactly with the tasks left over, which leaves every group's count unchanged.
    full_capacity, capacity = capacity, np.minimum(capacity, 1)
    usable = (edges.score > 0) & (capacity[edges.worker] > 0)
    reachable = _max_selectable(edges, usable, group, n_g)
    present = n_cand > 0
    top_unconstrained = float((n_sel_unc[present] / n_cand[present]).max())
    reach_rate = reachable[present] / (min_impact_ratio * n_cand[present])
    rho_max = min(top_unconstrained, float(reach_rate.min()))
    if rho_max <= 0:
        worst = int(np.flatnonzero(present)[np.argmin(reach_rate)])
        raise InfeasibleError(
            f"group parity infeasible: no candidate of group {group_names[worst]!r} "
            f"({int(n_cand[worst])} candidates) can be assigned any task, so only an empty "
            f"allocation meets min_impact_ratio={min_impact_ratio}"
        )

    best: tuple[float, np.ndarray] | None = None
    tried: dict[float, float] = {}

    def snap(rho: float) -> float:
        """The largest top rate <= rho at which every group has a whole number of workers to select.

        Group g needs an integer count in [r * rho * N_g, rho * N_g]; for small groups that
        interval can hold no integer, and rho drops to where the count below fits.
        """
        for _ in range(100):
            k = np.floor(rho * n_cand + 1e-9)
            empty = present & (k < np.ceil(min_impact_ratio * rho * n_cand - 1e-9))
            if not empty.any():
                return rho
            rho = float(np.min(k[empty] / (min_impact_ratio * n_cand[empty])))
            if rho <= 0:
                return 0.0
        return rho

    def evaluate(rho: float) -> float:
        nonlocal best
        rho = round(snap(rho), 12)
        if rho <= 0:
            return -math.inf
        if rho in tried:
            return tried[rho]
        lower = np.where(present, np.ceil(min_impact_ratio * rho * n_cand - 1e-9), 0).astype(np.int64)
        upper = np.where(present, np.floor(rho * n_cand + 1e-9), 0).astype(np.int64)
        value = -math.inf
        if np.all(lower <= np.minimum(upper, reachable)):
            chosen = _min_cost_flow(edges, capacity, usable, group=group, lower=lower, upper=upper)
            if chosen is not None:
                _, n_sel = group_counts(chosen, edges, group, n_g)
                if _parity_holds(n_cand, n_sel, min_impact_ratio):
                    value = float(edges.score[chosen].sum())
                    if best is None or value > best[0]:
                        best = (value, chosen)
        tried[rho] = value
        return value

    # The LP relaxation's optimum is concave in rho, so walk the grid down from rho_max and stop
    # once two points in a row fall below the best, then refine around the best point.
    grid = [rho_max * f for f in (1.0, 0.9, 0.75, 0.6, 0.45, 0.3, 0.15)]
    values: list[float] = []
    for rho in grid:
        values.append(evaluate(rho))
        best_so_far = max(values)
        if math.isfinite(best_so_far) and len(values) >= 3 and values[-1] < best_so_far and values[-2] < best_so_far:
            break
    i = int(np.argmax(values))
    if math.isfinite(values[i]):
        lo = grid[min(i + 1, len(grid) - 1)]
        hi = grid[max(i - 1, 0)]
        _golden_section(evaluate, lo, hi, steps=4)
    if best is None:
        raise InfeasibleError(
            f"group parity infeasible at min_impact_ratio={min_impact_ratio}: with these candidate "
            "lists no allocation that assigns anyone gives every group a selection rate within "
            "the ratio of the highest; lower min_impact_ratio or widen the candidate lists"
        )
    chosen = _fill_spare_capacity(edges, best[1], full_capacity)
    return chosen, report(chosen, len(tried) + 1)


def _fill_spare_capacity(edges: EdgeArrays, chosen: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Give the tasks left unassigned to already-selected workers with capacity to spare (exact)."""
    spare = capacity.copy()
    np.subtract.at(spare, edges.worker[chosen], 1)
    selected = np.zeros(edges.n_workers, dtype=bool)
    selected[edges.worker[chosen]] = True
    open_task = np.ones(edges.n_tasks, dtype=bool)
    open_task[edges.task[chosen]] = False
    extra = np.flatnonzero(selected[edges.worker] & (spare[edges.worker] > 0) & open_task[edges.task])
    if extra.size == 0:
        return chosen
    sub = EdgeArrays(edges.task[extra], edges.worker[extra], edges.score[extra], edges.n_tasks, edges.n_workers)
    more = extra[solve_exact(sub, np.maximum(spare, 0))]
    return np.sort(np.concatenate([chosen, more]))


def _golden_section(f, lo: float, hi: float, *, steps: int) -> None:
    """Probe f on [lo, hi] by golden-section search (f is kept by the caller's memo)."""
    if hi <= lo:
        return
    phi = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - phi * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + phi * (b - a)
            fd = f(d)


def _max_selectable(edges: EdgeArrays, usable: np.ndarray, group: np.ndarray, n_g: int) -> np.ndarray:
    """For each group, the most of its workers that can be chosen at once (a maximum matching)."""
    out = np.zeros(n_g, dtype=np.int64)
    idx = np.flatnonzero(usable & (group[edges.worker] >= 0))
    matrix = csr_matrix(
        (np.ones(idx.size), (edges.worker[idx], edges.task[idx])), shape=(edges.n_workers, edges.n_tasks)
    )
    for g in range(n_g):
        rows = np.flatnonzero(group == g)
        if rows.size == 0:
            continue
        match = maximum_bipartite_matching(matrix[rows].tocsr(), perm_type="column")
        out[g] = int((match >= 0).sum())
    return out


def _rates_frame(
    names: list[str], n_cand: np.ndarray, n_sel: np.ndarray, n_sel_unc: np.ndarray, constrained: np.ndarray
) -> pl.DataFrame:
    """Rates per group; impact ratios are against the highest constrained group, as in an LL144 table."""
    present = n_cand > 0
    rate = np.where(present, n_sel / np.maximum(n_cand, 1), np.nan)
    rate_unc = np.where(present, n_sel_unc / np.maximum(n_cand, 1), np.nan)
    reference = constrained if constrained.any() else present
    top = np.nanmax(np.where(reference, rate, np.nan)) if reference.any() else 0.0
    top_unc = np.nanmax(np.where(reference, rate_unc, np.nan)) if reference.any() else 0.0
    frame = pl.DataFrame(
        {
            "group": names,
            "is_constrained": constrained,
            "n_candidates": n_cand.astype(np.int64),
            "n_selected": n_sel.astype(np.int64),
            "selection_rate": rate,
            "impact_ratio": rate / top if top > 0 else np.full(rate.size, np.nan),
            "unconstrained_n_selected": n_sel_unc.astype(np.int64),
            "unconstrained_selection_rate": rate_unc,
            "unconstrained_impact_ratio": rate_unc / top_unc if top_unc > 0 else np.full(rate.size, np.nan),
        }
    )
    return frame.filter(pl.col("n_candidates") > 0).fill_nan(None).sort("group")


# --------------------------------------------------------------------------------------------------
# Public table interface


@dataclass(frozen=True, slots=True)
class Solution:
    """An assignment and how it was found.

    Attributes
    ----------
    assignments : polars.DataFrame
        ``task_id, worker_id, score``, one row per assigned task, sorted by task_id.
    objective : float
        Total score of the assignment.
    mode : str
        ``"exact"``, ``"greedy"`` or ``"dispatch"``.
    fairness : FairnessReport or None
        Selection rates per group and the price of fairness, when a group constraint was given.
    """

    assignments: pl.DataFrame
    objective: float
    mode: str
    fairness: FairnessReport | None = None


def _check_edges(edges: pl.DataFrame, source: str) -> pl.DataFrame:
    missing = [c for c in ("task_id", "worker_id", "score") if c not in edges.columns]
    if missing:
        raise InputError.single(source=source, column=missing[0], expected="a column of the edge table", got="missing")
    frame = edges.select("task_id", "worker_id", "score").with_row_index("row", offset=1)
    if not frame.schema["score"].is_numeric():
        raise InputError.single(source=source, column="score", expected="numbers", got=str(frame.schema["score"]))
    frame = frame.with_columns(pl.col("score").cast(pl.Float64))
    failures = [
        frame.filter(pl.col(c).is_null()).select(
            "row", column=pl.lit(c), expected=pl.lit("a value"), got=pl.lit("null")
        )
        for c in ("task_id", "worker_id", "score")
    ]
    failures.append(
        frame.filter(pl.col("score").is_nan() | pl.col("score").is_infinite()).select(
            "row", column=pl.lit("score"), expected=pl.lit("a finite number"), got=pl.col("score").cast(pl.String)
        )
    )
    dup = frame.filter(~pl.struct("task_id", "worker_id").is_first_distinct())
    failures.append(
        dup.select(
            "row",
            column=pl.lit("task_id, worker_id"),
            expected=pl.lit("each (task, worker) pair once"),
            got=pl.format("duplicate ({}, {})", "task_id", "worker_id"),
        )
    )
    bad = pl.concat([f.with_columns(pl.col("got").cast(pl.String)) for f in failures]).sort("row")
    if bad.height:
        raise InputError(bad, source=source)
    return frame.drop("row")


def _index(values: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """Sorted unique ids and each value's position among them (ties between ids break by id order)."""
    ids = values.unique().sort()
    codes = values.rank("dense").cast(pl.Int64).to_numpy() - 1
    return ids, codes


def _worker_table(table: object | None, name: str, column: str, ids: pl.Series) -> pl.DataFrame | None:
    if table is None:
        return None
    frame = as_polars(table, name=name)
    for c in ("worker_id", column):
        if c not in frame.columns:
            raise InputError.single(source=name, column=c, expected=f"a column of the {name} table", got="missing")
    frame = frame.select("worker_id", column).with_row_index("row", offset=1)
    dup = frame.filter(~pl.col("worker_id").is_first_distinct() | pl.col("worker_id").is_null())
    if dup.height:
        raise InputError(
            dup.select(
                "row",
                column=pl.lit("worker_id"),
                expected=pl.lit("unique, non-null worker ids"),
                got=pl.col("worker_id").cast(pl.String),
            ),
            source=name,
        )
    return frame.with_columns(pl.col("worker_id").cast(ids.dtype, strict=False))


def _capacities(table: object | None, ids: pl.Series) -> np.ndarray:
    frame = _worker_table(table, "capacities", "capacity", ids)
    if frame is None:
        return np.ones(ids.len(), dtype=np.int64)
    parsed = frame.with_columns(pl.col("capacity").cast(pl.Int64, strict=False).alias("parsed"))
    bad = parsed.filter(pl.col("parsed").is_null() | (pl.col("parsed") < 0))
    if bad.height:
        raise InputError(
            bad.select(
                "row",
                column=pl.lit("capacity"),
                expected=pl.lit("an integer >= 0"),
                got=pl.col("capacity").cast(pl.String),
            ),
            source="capacities",
        )
    joined = pl.DataFrame({"worker_id": ids}).join(parsed, on="worker_id", how="left", maintain_order="left")
    unknown = joined.filter(pl.col("parsed").is_null())
    if unknown.height:
        raise InputError(
            unknown.select(
                row=pl.lit(None, dtype=pl.Int64),
                column=pl.lit("worker_id"),
                expected=pl.lit("every worker in the edges to have a capacity"),
                got=pl.col("worker_id").cast(pl.String),
            ),
            source="capacities",
        )
    return joined.get_column("parsed").to_numpy().astype(np.int64)


def group_codes(values: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Group names (sorted) and each value's position among them; -1 where the group is unknown."""
    values = values.cast(pl.String)
    names = values.drop_nulls().unique().sort().to_list()
    if not names:
        return np.full(values.len(), -1, dtype=np.int64), names
    codes = values.cast(pl.Enum(names)).to_physical().fill_null(-1)
    return codes.to_numpy().astype(np.int64), names


def _groups(table: object | None, ids: pl.Series) -> tuple[np.ndarray, list[str]]:
    frame = _worker_table(table, "groups", "group", ids)
    assert frame is not None
    joined = pl.DataFrame({"worker_id": ids}).join(
        frame.select("worker_id", pl.col("group").cast(pl.String)), on="worker_id", how="left", maintain_order="left"
    )
    return group_codes(joined.get_column("group"))


def solve_table(
    edges: object,
    capacities: object | None = None,
    *,
    mode: Mode = "exact",
    groups: object | None = None,
    min_impact_ratio: float | None = None,
    order: object | None = None,
    solver: Solver = "auto",
    min_group_share: float = 0.0,
    seed: int | None = None,
) -> Solution:
    """Like :func:`solve`, but return a :class:`Solution` with the objective and fairness report."""
    check_option("mode", mode, Mode, caller="solve")
    check_option("solver", solver, Solver, caller="solve")
    frame = _check_edges(as_polars(edges, name="edges"), "edges")
    task_ids, task = _index(frame.get_column("task_id"))
    worker_ids, worker = _index(frame.get_column("worker_id"))
    arrays = EdgeArrays(task, worker, frame.get_column("score").to_numpy(), task_ids.len(), worker_ids.len())
    capacity = _capacities(capacities, worker_ids)
    fairness = None
    if (groups is None) != (min_impact_ratio is None):
        raise GigshiftError("solve: groups and min_impact_ratio go together; give both or neither")
    if groups is not None:
        if mode != "exact":
            raise GigshiftError("solve: the group parity constraint needs mode='exact'")
        if not isinstance(min_impact_ratio, int | float) or not 0 < min_impact_ratio <= 1:
            raise GigshiftError(f"solve: min_impact_ratio must be in (0, 1]; got {min_impact_ratio!r}")
        group, names = _groups(groups, worker_ids)
        chosen, fairness = solve_fair(
            arrays, capacity, group, names, min_impact_ratio=float(min_impact_ratio), min_group_share=min_group_share
        )
    elif mode == "exact":
        chosen = solve_exact(arrays, capacity, solver=solver)
    else:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        tiebreak = rng.random(arrays.n_workers)[arrays.worker]
        priority = arrays.score if mode == "greedy" else -_task_order(order, task_ids)[arrays.task]
        chosen = solve_deferred_acceptance(arrays, capacity, priority, tiebreak)
    assignments = pl.DataFrame(
        {
            "task_id": task_ids.gather(arrays.task[chosen]),
            "worker_id": worker_ids.gather(arrays.worker[chosen]),
            "score": arrays.score[chosen],
        }
    ).sort("task_id")
    return Solution(assignments, float(arrays.score[chosen].sum()), mode, fairness)


def _task_order(order: object | None, task_ids: pl.Series) -> np.ndarray:
    """Arrival rank of each task for dispatch mode (default: task id order)."""
    if order is None:
        return np.arange(task_ids.len(), dtype=np.float64)
    frame = as_polars(order, name="order")
    if "task_id" not in frame.columns or frame.width < 2:
        raise GigshiftError("solve: order must be a table of task_id and an arrival key (e.g. posted_at)")
    key = next(c for c in frame.columns if c != "task_id")
    joined = pl.DataFrame({"task_id": task_ids}).join(
        frame.select("task_id", pl.col(key).rank("ordinal").alias("rank")), on="task_id", how="left"
    )
    if joined.get_column("rank").null_count():
        missing = joined.filter(pl.col("rank").is_null()).get_column("task_id").head(3).to_list()
        raise GigshiftError(f"solve: order has no arrival key for tasks {missing}")
    return joined.get_column("rank").to_numpy().astype(np.float64)


def solve(
    edges: object,
    capacities: object | None = None,
    *,
    mode: Mode = "exact",
    groups: object | None = None,
    min_impact_ratio: float | None = None,
    order: object | None = None,
    solver: Solver = "auto",
    min_group_share: float = 0.0,
    seed: int | None = None,
) -> pl.DataFrame:
    """Assign tasks to workers to maximise the total score.

    Each task goes to at most one worker, each worker takes at most its capacity, and a task may
    stay unassigned (so no edge with a score <= 0 is ever used by the exact mode).

    Parameters
    ----------
    edges : DataFrame or Arrow table
        Candidate edges ``task_id, worker_id, score`` (Polars, pandas or Arrow); scores finite, each
        (task, worker) pair once.
    capacities : DataFrame, optional
        ``worker_id, capacity`` (integers >= 0) for every worker in ``edges``; default 1 each.
    mode : {"exact", "greedy", "dispatch"}, default="exact"
        ``"exact"``: the optimum (see ``solver``). ``"greedy"``: edges from the best score down, as
        a batch greedy dispatcher does (at least half the optimum). ``"dispatch"``: tasks one at a
        time in arrival order, each to its best worker with capacity left.
    groups : DataFrame, optional
        ``worker_id, group``; with ``min_impact_ratio``, every group's selection rate (workers
        chosen / candidate workers) must be at least that ratio of the highest group's rate.
    min_impact_ratio : float, optional
        In (0, 1]; 0.8 is the four-fifths rule.
    min_group_share : float, default=0.0
        Groups with fewer than this share of the candidate workers are reported but not
        constrained (LL144 audits may set aside categories under 2%, i.e. 0.02).
    order : DataFrame, optional
        ``task_id`` and one arrival key (e.g. ``posted_at``) for ``mode="dispatch"``; default id order.
    solver : {"auto", "ortools", "scipy"}, default="auto"
        Exact mode's solver: OR-Tools min-cost flow (``"auto"``) or, for capacity 1, SciPy's sparse
        LAPJV. Both give the optimum; they may pick different assignments when several tie.
    seed : int, optional
        Seeds the lottery that breaks exact ties in the greedy and dispatch modes.

    Returns
    -------
    polars.DataFrame
        ``task_id, worker_id, score`` of the assigned tasks, sorted by task_id.

    Raises
    ------
    InputError
        Missing columns, null ids, NaN or infinite scores, duplicate pairs, bad capacities.
    InfeasibleError
        The group constraint can only be met by assigning nobody.

    Examples
    --------
    >>> import polars as pl
    >>> edges = pl.DataFrame({"task_id": ["t1", "t1", "t2"], "worker_id": ["ana", "bo", "ana"],
    ...                       "score": [0.9, 0.8, 0.7]})
    >>> solve(edges).rows()
    [('t1', 'bo', 0.8), ('t2', 'ana', 0.7)]
    >>> solve(edges, mode="greedy").rows()
    [('t1', 'ana', 0.9)]
    """
    return solve_table(
        edges,
        capacities,
        mode=mode,
        groups=groups,
        min_impact_ratio=min_impact_ratio,
        order=order,
        solver=solver,
        min_group_share=min_group_share,
        seed=seed,
    ).assignments
