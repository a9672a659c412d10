"""The solver against brute force, independent solvers, reference greedy rules, and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import coo_matrix

from gigshift import InputError
from gigshift.allocate import InfeasibleError, solve, solve_table


def random_edges(rng: np.random.Generator, n_tasks: int, n_workers: int, density: float, decimals: int = 6):
    t, w = np.nonzero(rng.random((n_tasks, n_workers)) < density)
    score = np.round(rng.normal(0.6, 0.3, t.size), decimals)
    return pl.DataFrame({"task_id": [f"t{i:03d}" for i in t], "worker_id": [f"w{j:03d}" for j in w], "score": score})


def brute_force(edges: pl.DataFrame, capacity: dict[str, int]) -> float:
    options = [
        [None, *zip(g["worker_id"], g["score"], strict=True)] for _, g in edges.group_by("task_id", maintain_order=True)
    ]
    best = 0.0
    for combo in itertools.product(*options):
        used: dict[str, int] = {}
        total, ok = 0.0, True
        for pick in combo:
            if pick is None:
                continue
            used[pick[0]] = used.get(pick[0], 0) + 1
            if used[pick[0]] > capacity[pick[0]]:
                ok = False
                break
            total += pick[1]
        if ok:
            best = max(best, total)
    return best


def check_feasible(assignments: pl.DataFrame, edges: pl.DataFrame, capacity: dict[str, int] | None = None) -> None:
    assert assignments.get_column("task_id").is_unique().all()
    counts = assignments.group_by("worker_id").len()
    for worker, n in counts.iter_rows():
        assert n <= (capacity or {}).get(worker, 1)
    # every assignment is a real edge with its real score
    joined = assignments.join(edges, on=["task_id", "worker_id"], how="left", suffix="_edge")
    assert joined.get_column("score_edge").null_count() == 0
    np.testing.assert_allclose(joined["score"], joined["score_edge"])


@pytest.mark.parametrize("with_capacities", [False, True], ids=["capacity-1", "capacities-0-to-3"])
def test_exact_equals_brute_force(with_capacities):
    rng = np.random.default_rng(7)
    for _ in range(60):
        edges = random_edges(rng, int(rng.integers(1, 6)), int(rng.integers(1, 5)), 0.6, decimals=3)
        if edges.height == 0:
            continue
        workers = edges.get_column("worker_id").unique().sort().to_list()
        caps = rng.integers(0, 4, len(workers)) if with_capacities else np.ones(len(workers), dtype=int)
        capacity = dict(zip(workers, caps.tolist(), strict=True))
        table = pl.DataFrame({"worker_id": workers, "capacity": caps})
        result = solve_table(edges, table if with_capacities else None)
        assert result.objective == pytest.approx(brute_force(edges, capacity), abs=1e-9)
        check_feasible(result.assignments, edges, capacity)


def test_exact_matches_scipy_linear_sum_assignment():
    """An independent dense optimum: the Hungarian method on a square matrix with 'unassigned' columns."""
    rng = np.random.default_rng(11)
    edges = random_edges(rng, 120, 200, 0.08)
    t = edges.get_column("task_id").rank("dense").to_numpy() - 1
    w = edges.get_column("worker_id").rank("dense").to_numpy() - 1
    n_t, n_w = t.max() + 1, w.max() + 1
    gain = np.zeros((n_t, n_w + n_t))  # gains; the extra columns are "leave the task unassigned" at 0
    gain[:, :n_w] = -1e9
    gain[t, w] = np.maximum(edges.get_column("score").to_numpy(), 0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    optimum = gain[rows, cols].sum()
    for solver in ("auto", "ortools", "scipy"):
        result = solve_table(edges, solver=solver)
        assert result.objective == pytest.approx(optimum, abs=1e-9), solver
        check_feasible(result.assignments, edges)


def test_capacities_match_scipy_on_replicated_workers():
    """With capacities, the optimum equals SciPy's matching where each worker is copied capacity times."""
    rng = np.random.default_rng(5)
    edges = random_edges(rng, 150, 60, 0.1)
    workers = edges.get_column("worker_id").unique().sort()
    caps = rng.integers(0, 4, workers.len())
    capacity = dict(zip(workers.to_list(), caps.tolist(), strict=True))
    copies = pl.DataFrame({"worker_id": workers, "capacity": caps}).filter(pl.col("capacity") > 0)
    copies = copies.with_columns(copy=pl.int_ranges(0, pl.col("capacity"))).explode("copy")
    replicated = edges.join(copies, on="worker_id").with_columns(worker_id=pl.format("{}#{}", "worker_id", "copy"))
    reference = solve_table(replicated.select("task_id", "worker_id", "score"), solver="scipy").objective
    result = solve_table(edges, pl.DataFrame({"worker_id": workers, "capacity": caps}))
    assert result.objective == pytest.approx(reference, abs=1e-9)
    check_feasible(result.assignments, edges, capacity)


def reference_greedy(edges: pl.DataFrame, order_by_task: dict[str, int] | None = None) -> set[tuple[str, str]]:
    """Plain-Python greedy: edges best score first (or tasks in arrival order, each its best free worker)."""
    taken_t: set[str] = set()
    taken_w: set[str] = set()
    out = set()
    rows = edges.rows()
    if order_by_task is None:
        rows = sorted(rows, key=lambda r: -r[2])
    else:
        rows = sorted(rows, key=lambda r: (order_by_task[r[0]], -r[2]))
    for task, worker, score in rows:
        if score is None or task in taken_t or worker in taken_w:
            continue
        taken_t.add(task)
        taken_w.add(worker)
        out.add((task, worker))
    return out


def test_greedy_and_dispatch_follow_their_rules():
    rng = np.random.default_rng(3)
    for _ in range(30):
        edges = random_edges(rng, 25, 15, 0.3, decimals=9)  # distinct scores: no ties to break
        greedy = solve(edges, mode="greedy", seed=1)
        assert set(greedy.select("task_id", "worker_id").rows()) == reference_greedy(edges)
        arrival = {f"t{i:03d}": int(r) for i, r in enumerate(rng.permutation(25))}
        order = pl.DataFrame({"task_id": list(arrival), "posted_at": list(arrival.values())})
        dispatched = solve(edges, mode="dispatch", order=order, seed=1)
        assert set(dispatched.select("task_id", "worker_id").rows()) == reference_greedy(edges, arrival)


def test_greedy_is_at_least_half_the_optimum_and_deterministic():
    rng = np.random.default_rng(8)
    edges = random_edges(rng, 300, 200, 0.05, decimals=2)  # many ties
    exact = solve_table(edges).objective
    greedy = solve_table(edges, mode="greedy", seed=4)
    assert exact / 2 <= greedy.objective <= exact + 1e-9
    assert greedy.assignments.equals(solve_table(edges, mode="greedy", seed=4).assignments)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 5), st.floats(-1, 2, allow_nan=False)),
        min_size=1,
        max_size=40,
        unique_by=lambda e: (e[0], e[1]),
    ),
    st.lists(st.integers(0, 3), min_size=6, max_size=6),
    st.sampled_from(["exact", "greedy", "dispatch"]),
)
def test_constraints_always_hold(edge_list, caps, mode):
    edges = pl.DataFrame(
        {
            "task_id": [f"t{t}" for t, _, _ in edge_list],
            "worker_id": [f"w{w}" for _, w, _ in edge_list],
            "score": [s for _, _, s in edge_list],
        }
    )
    workers = edges.get_column("worker_id").unique().to_list()
    capacity = {w: caps[int(w[1:])] for w in workers}
    table = pl.DataFrame({"worker_id": list(capacity), "capacity": list(capacity.values())})
    result = solve(edges, table, mode=mode, seed=0)
    check_feasible(result, edges, capacity)
    if mode == "exact":
        assert (result.get_column("score") > 0).all()


def milp_optimum(edges: pl.DataFrame, groups: pl.DataFrame, ratio: float) -> float:
    """Exact group-parity optimum by mixed-integer programming (HiGHS), capacity 1."""
    t = edges.get_column("task_id").rank("dense").to_numpy() - 1
    w = edges.get_column("worker_id").rank("dense").to_numpy() - 1
    n_e, n_t, n_w = t.size, t.max() + 1, w.max() + 1
    ids = edges.get_column("worker_id").unique().sort()
    g = pl.DataFrame({"worker_id": ids}).join(groups, on="worker_id", how="left").get_column("group").to_list()
    names = sorted({x for x in g if x is not None})
    score = edges.get_column("score").to_numpy()
    rows = [coo_matrix((np.ones(n_e), (t, np.arange(n_e))), shape=(n_t, n_e)).toarray()]
    rows.append(coo_matrix((np.ones(n_e), (w, np.arange(n_e))), shape=(n_w, n_e)).toarray())
    a = np.vstack(rows)
    cons = [LinearConstraint(a, -np.inf, 1)]
    # with capacity 1, workers selected in a group = sum of its edges
    share = {}
    for name in names:
        members = np.array([x == name for x in g])
        share[name] = (members[w].astype(float), members.sum())
    for a_name, b_name in itertools.permutations(names, 2):
        (ea, na), (eb, nb) = share[a_name], share[b_name]
        cons.append(LinearConstraint(ea / na - ratio * eb / nb, 0, np.inf))
    res = milp(-score, constraints=cons, integrality=np.ones(n_e), bounds=Bounds(0, 1))
    assert res.success
    return -res.fun


def test_group_parity_holds_and_is_near_the_milp_optimum():
    rng = np.random.default_rng(21)
    gaps = []
    for trial in range(6):
        n_t, n_w = 30, 60
        edges = random_edges(rng, n_t, n_w, 0.15)
        workers = edges.get_column("worker_id").unique().sort()
        group = rng.choice(["a", "b"], workers.len(), p=[0.6, 0.4])
        groups = pl.DataFrame({"worker_id": workers, "group": group})
        # plant a bias: group b's scores are lower, so the unconstrained optimum under-selects it
        edges = (
            edges.join(groups, on="worker_id")
            .with_columns(
                score=pl.when(pl.col("group") == "b").then(pl.col("score") - 0.3).otherwise(pl.col("score")).round(6)
            )
            .drop("group")
        )
        result = solve_table(edges, groups=groups, min_impact_ratio=0.8)
        report = result.fairness
        assert report is not None
        assert report.achieved_impact_ratio >= 0.8 - 1e-12
        # the report's rates agree with the assignments
        chosen = result.assignments.join(groups, on="worker_id").group_by("group").agg(pl.col("worker_id").n_unique())
        counted = dict(chosen.rows())
        for row in report.by_group.iter_rows(named=True):
            assert row["n_selected"] == counted.get(row["group"], 0)
        optimum = milp_optimum(edges, groups, 0.8)
        assert result.objective <= optimum + 1e-6
        assert report.unconstrained_objective >= optimum - 1e-6
        gaps.append((optimum - result.objective) / optimum)
        assert report.price_of_fairness >= -1e-9, trial
    assert max(gaps) < 0.02, gaps  # the search over the top rate lands within 2% of the MILP optimum


def test_parity_already_met_costs_nothing():
    edges = pl.DataFrame({"task_id": ["t1", "t2"], "worker_id": ["a1", "b1"], "score": [0.5, 0.5]})
    groups = pl.DataFrame({"worker_id": ["a1", "b1"], "group": ["a", "b"]})
    result = solve_table(edges, groups=groups, min_impact_ratio=0.8)
    assert result.fairness.price_of_fairness == 0
    assert result.fairness.n_subproblems == 1


def test_infeasible_parity_is_reported_clearly():
    edges = pl.DataFrame({"task_id": ["t1", "t2"], "worker_id": ["a1", "b1"], "score": [0.9, 0.8]})
    groups = pl.DataFrame({"worker_id": ["a1", "b1"], "group": ["a", "b"]})
    caps = pl.DataFrame({"worker_id": ["a1", "b1"], "capacity": [1, 0]})
    with pytest.raises(InfeasibleError, match=r"group 'b'.*can be assigned any task"):
        solve(edges, caps, groups=groups, min_impact_ratio=0.8)


@pytest.mark.parametrize(
    ("edges", "match"),
    [
        (
            {"task_id": ["t1", "t1"], "worker_id": ["w1", "w2"], "score": [0.5, float("nan")]},
            r"row 2, column 'score'.*finite",
        ),
        ({"task_id": ["t1", "t2"], "worker_id": ["w1", "w1"], "score": [float("inf"), 1.0]}, r"row 1, column 'score'"),
        (
            {"task_id": ["t1", "t1"], "worker_id": ["w1", "w1"], "score": [0.5, 0.4]},
            r"row 2.*each \(task, worker\) pair once",
        ),
        ({"task_id": ["t1", None], "worker_id": ["w1", "w1"], "score": [0.5, 0.4]}, r"row 2, column 'task_id'"),
        ({"task_id": ["t1"], "worker": ["w1"], "score": [0.5]}, r"column 'worker_id'.*missing"),
        ({"task_id": ["t1"], "worker_id": ["w1"], "score": ["high"]}, r"column 'score': expected numbers"),
    ],
    ids=["nan", "inf", "duplicate", "null-id", "missing-column", "text-score"],
)
def test_bad_edges_name_the_row(edges, match):
    with pytest.raises(InputError, match=match):
        solve(pl.DataFrame(edges))


def test_bad_capacities_and_groups():
    edges = pl.DataFrame({"task_id": ["t1", "t2"], "worker_id": ["w1", "w2"], "score": [0.5, 0.4]})
    with pytest.raises(InputError, match=r"capacities, row 2, column 'capacity': expected an integer >= 0, got '-1'"):
        solve(edges, pl.DataFrame({"worker_id": ["w1", "w2"], "capacity": [1, -1]}))
    with pytest.raises(InputError, match=r"capacities, column 'worker_id'.*got 'w2'"):
        solve(edges, pl.DataFrame({"worker_id": ["w1"], "capacity": [1]}))
    with pytest.raises(InputError, match=r"capacities, row 2, column 'worker_id'.*unique"):
        solve(edges, pl.DataFrame({"worker_id": ["w1", "w1", "w2"], "capacity": [1, 1, 1]}))
    with pytest.raises(Exception, match="groups and min_impact_ratio go together"):
        solve(edges, groups=pl.DataFrame({"worker_id": ["w1"], "group": ["a"]}))
    with pytest.raises(Exception, match=r"min_impact_ratio must be in \(0, 1\]"):
        solve(edges, groups=pl.DataFrame({"worker_id": ["w1"], "group": ["a"]}), min_impact_ratio=1.5)
    with pytest.raises(Exception, match="mode must be one of"):
        solve(edges, mode="fast")


def test_accepts_pandas_and_arrow():
    edges = pl.DataFrame({"task_id": ["t1", "t1", "t2"], "worker_id": ["a", "b", "a"], "score": [0.9, 0.8, 0.7]})
    expected = solve(edges)
    assert solve(edges.to_pandas()).equals(expected)
    assert solve(edges.to_arrow()).equals(expected)
    # integer ids work too, and come back as integers
    ints = pl.DataFrame({"task_id": [1, 1, 2], "worker_id": [10, 20, 10], "score": [0.9, 0.8, 0.7]})
    assert solve(ints).rows() == [(1, 20, 0.8), (2, 10, 0.7)]
