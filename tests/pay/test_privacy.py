"""Privacy of pooled pay figures: suppression checked by linear programming, DP noise by its variance, the ledger."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import combinations

import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog
from scipy.stats import norm

from gigshift._errors import GigshiftError, InputError
from gigshift.pay._privacy import (
    LEDGER_FILE,
    PrivacyLedger,
    _bounded_sums,
    dp_cells,
    privacy_statement,
    released_totals,
    suppress,
)

DIMS = ("platform", "category", "week")
VALUES = ["n_jobs", "earnings", "hours"]


def make_jobs(*, n_workers: int, n_weeks: int, seed: int) -> pl.DataFrame:
    """Jobs of a pool: big and small platforms, workers in one or two categories, irregular weeks."""
    rng = np.random.default_rng(seed)
    platforms = np.array(["ridego", "fooddash", "tasky"])
    categories = np.array(["ride", "food", "parcel", "errand"])
    worker_platform = rng.choice(3, n_workers, p=[0.55, 0.35, 0.10])
    worker_cats = rng.choice(4, (n_workers, 2), p=[0.4, 0.3, 0.2, 0.1])
    active = rng.random((n_workers, n_weeks)) < rng.uniform(0.2, 0.9, (n_workers, 1))
    w, t = np.nonzero(active)
    n_jobs = rng.poisson(6, w.size) + 1
    w, t = np.repeat(w, n_jobs), np.repeat(t, n_jobs)
    second = rng.random(w.size) < 0.3
    cat = np.where(second, worker_cats[w, 1], worker_cats[w, 0])
    minutes = rng.gamma(4, 8, w.size)
    return pl.DataFrame(
        {
            "worker_id": [f"w{i:04d}" for i in w],
            "platform": platforms[worker_platform[w]],
            "category": categories[cat],
            "week": t.astype(np.int64),
            "earnings": np.round(2.5 + 0.3 * minutes * rng.lognormal(0, 0.2, w.size), 2),
            "hours": minutes / 60,
        }
    )


def make_cells(jobs: pl.DataFrame) -> pl.DataFrame:
    return (
        jobs.group_by(DIMS)
        .agg(
            pl.col("worker_id").n_unique().alias("workers"),
            pl.len().alias("n_jobs"),
            pl.col("earnings").sum(),
            pl.col("hours").sum(),
        )
        .sort(DIMS)
    )


@pytest.fixture(scope="module")
def pool() -> tuple[pl.DataFrame, pl.DataFrame]:
    jobs = make_jobs(n_workers=260, n_weeks=10, seed=7)
    return jobs, make_cells(jobs)


# --------------------------------------------------------------------------------------------------
# An independent checker: what can an attacker learn about a withheld cell from all that is released?


def released_equations(cells: pl.DataFrame, out: pl.DataFrame, totals: pl.DataFrame, value: str):
    """Equality constraints on the withheld cells: every released total equals the sum of its cells.

    Built from the raw cells and the released tables only, without the engine's cube or lines.
    """
    hidden = out.filter(pl.col("suppressed")).select(DIMS).with_row_index("var")
    known = out.filter(~pl.col("suppressed"))
    rows, rhs = [], []
    for level in range(1, len(DIMS) + 1):
        for summed in combinations(DIMS, level):
            kept = [d for d in DIMS if d not in summed]
            margin = " x ".join(kept) if kept else "all"
            released = totals.filter((pl.col("margin") == margin) & ~pl.col("suppressed"))
            for total in released.iter_rows(named=True):
                match = pl.all_horizontal([pl.col(d).eq_missing(total[d]) for d in kept]) if kept else pl.lit(True)
                members = hidden.filter(match)["var"].to_numpy()
                if members.size == 0:
                    continue
                row = np.zeros(hidden.height)
                row[members] = 1.0
                rows.append(row)
                rhs.append(total[value] - known.filter(match)[value].sum())
    return hidden, np.array(rows), np.array(rhs)


def feasible_intervals(cells, out, totals, value):
    """For each withheld cell, the least and most it can be given the released cells and totals (>= 0)."""
    hidden, a, b = released_equations(cells, out, totals, value)
    lo, hi = np.empty(hidden.height), np.empty(hidden.height)
    for i in range(hidden.height):
        c = np.zeros(hidden.height)
        c[i] = 1.0
        low = linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        high = linprog(-c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        assert low.status == 0 and high.status == 0, "the released figures must be consistent"
        lo[i], hi[i] = low.fun, -high.fun
    return hidden, lo, hi


# --------------------------------------------------------------------------------------------------
# Suppression


@pytest.mark.parametrize("k", [5, 11], ids=["k5", "k11"])
@pytest.mark.parametrize("exact", [False, True], ids=["bound", "exact-totals"])
def test_no_released_cell_or_total_rests_on_fewer_than_k_workers(pool, k, exact):
    jobs, cells = pool
    contributions = jobs if exact else None
    out = suppress(cells, k=k, values=VALUES, contributions=contributions)
    joined = out.join(cells.select(*DIMS, pl.col("workers").alias("true_workers")), on=list(DIMS))
    assert joined.filter(~pl.col("suppressed"))["true_workers"].min() >= k
    assert (joined.filter(pl.col("true_workers") < k)["suppression"] == "primary").all()
    assert (
        out.filter(pl.col("suppressed")).select([*VALUES, "workers"]).null_count().row(0)
        == (out["suppressed"].sum(),) * 4
    )
    totals = released_totals(cells, k=k, values=VALUES, contributions=contributions)
    for level in range(1, 4):  # distinct workers behind every released total, from the jobs themselves
        for summed in combinations(DIMS, level):
            kept = [d for d in DIMS if d not in summed]
            n = pl.col("worker_id").n_unique().alias("distinct")
            truth = jobs.group_by(kept).agg(n) if kept else jobs.select(n)
            margin = " x ".join(kept) if kept else "all"
            part = totals.filter(pl.col("margin") == margin)
            part = part.join(truth, on=kept, how="left") if kept else part.with_columns(distinct=truth["distinct"][0])
            assert part.filter(~pl.col("suppressed"))["distinct"].min() >= k
            if exact:
                assert part["workers"].to_list() == part["distinct"].to_list()
            else:
                assert part["workers"].is_null().all()


def test_every_margin_line_has_none_or_at_least_two_withheld(pool):
    _, cells = pool
    out = suppress(cells, k=11, values=VALUES)
    totals = released_totals(cells, k=11, values=VALUES)
    assert out["suppression"].value_counts().height == 3  # primary, complementary and released all occur
    for d in DIMS:  # lines of cells along d, closed by their total over d
        others = [c for c in DIMS if c != d]
        heads = totals.filter(pl.col("margin") == " x ".join(others)).select(*others, head=pl.col("suppressed"))
        lines = out.group_by(others).agg(n=pl.col("suppressed").sum()).join(heads, on=others)
        count = lines["n"] + lines["head"].cast(pl.UInt32)
        assert ((count == 0) | (count >= 2)).all(), f"a line along {d} gives a withheld figure away"


@pytest.mark.parametrize("value", ["n_jobs", "earnings", "hours"])
def test_withheld_cells_cannot_be_recomputed_from_released_figures(value):
    jobs = make_jobs(n_workers=140, n_weeks=6, seed=3)
    cells = make_cells(jobs)
    out = suppress(cells, k=11, values=VALUES)
    totals = released_totals(cells, k=11, values=VALUES)
    hidden, lo, hi = feasible_intervals(cells, out, totals, value)
    assert hidden.height >= 20
    truth = hidden.join(cells, on=list(DIMS))[value].to_numpy()
    assert np.all(lo <= truth + 1e-6) and np.all(truth <= hi + 1e-6)  # the checker is sound
    width = hi - lo
    assert width.min() > 1e-6 * max(1.0, np.abs(truth).max()), f"a withheld cell is pinned to {lo[width.argmin()]}"


def test_a_bridge_between_two_rings_of_withheld_cells_is_protected():
    """Two rings of small cells joined by one more: every line has 0 or >= 2 withheld cells, yet the
    bridge cell follows from the totals; the engine must withhold more."""
    rows, cols = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    small = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)}
    workers = np.array([[3 if (r, c) in small else 40 for c in range(5)] for r in range(5)]).ravel()
    rng = np.random.default_rng(0)
    cells = pl.DataFrame(
        {
            "platform": rows.ravel().astype(str),
            "category": cols.ravel().astype(str),
            "week": np.zeros(25, int),
            "workers": workers,
            "n_jobs": workers * 5,
            "earnings": rng.uniform(100, 900, 25),
            "hours": rng.uniform(5, 50, 25),
        }
    )
    out = suppress(cells, k=11, values=VALUES)
    assert out["suppression"].eq("primary").sum() == 9
    assert out["suppression"].eq("complementary").sum() >= 1
    totals = released_totals(cells, k=11, values=VALUES)
    _, lo, hi = feasible_intervals(cells, out, totals, "earnings")
    assert (hi - lo).min() > 1e-6


def test_a_table_whose_first_cell_is_released_is_labelled():
    cells = pl.DataFrame(
        {"platform": ["a"] * 3 + ["b"] * 3, "week": [1, 2, 3] * 2, "workers": [30, 4, 15, 30, 25, 12],
         "pay": [900.0, 60, 700, 1400, 1100, 500]}
    )  # fmt: skip
    out = suppress(cells, k=11, dims=("platform", "week"), values=["pay"])
    assert out["suppression"].to_list()[:2] == [None, "primary"]
    assert out["suppression"].dtype == pl.Enum(["primary", "complementary"])
    assert released_totals(cells, k=11, dims=("platform", "week"), values=["pay"])["suppression"].null_count() > 0


def test_complementary_cells_are_the_smallest_available():
    cells = pl.DataFrame(
        {
            "platform": ["a"] * 4 + ["b"] * 4,
            "week": [1, 2, 3, 4] * 2,
            "workers": [3, 50, 12, 30, 40, 60, 14, 45],
            "pay": [40.0, 900, 200, 600, 800, 1200, 250, 700],
        }
    )
    out = suppress(cells, k=11, dims=("platform", "week"), values=["pay"])
    withheld = out.filter(pl.col("suppressed")).select("platform", "week").rows()
    assert withheld == [("a", 1), ("a", 3), ("b", 1), ("b", 3)]


def test_a_null_label_is_a_label_of_its_own_not_a_total(pool):
    jobs, _ = pool
    jobs = jobs.with_columns(pl.when(pl.col("category") == "errand").then(None).otherwise("category").alias("category"))
    cells = make_cells(jobs)
    out = suppress(cells, k=11, values=VALUES, contributions=jobs)
    assert out.height == cells.height and out["category"].null_count() == cells["category"].null_count() > 0
    totals = released_totals(cells, k=11, values=VALUES, contributions=jobs)
    per_category = totals.filter(pl.col("margin") == "category")
    assert per_category.height == 4 and per_category["category"].null_count() == 1
    unknown = per_category.filter(pl.col("category").is_null())
    assert unknown["n_jobs"][0] == jobs.filter(pl.col("category").is_null()).height
    assert unknown["workers"][0] == jobs.filter(pl.col("category").is_null())["worker_id"].n_unique()
    _hidden, lo, hi = feasible_intervals(cells, out, totals, "earnings")
    assert (hi - lo).min() > 1e-6


def test_suppression_keeps_extra_columns_but_hides_them_in_withheld_cells(pool):
    _, cells = pool
    cells = cells.with_columns(pay_per_hour=pl.col("earnings") / pl.col("hours"))
    out = suppress(cells, values=VALUES)
    assert out.columns == [*cells.columns, "suppressed", "suppression"]
    assert out.filter(pl.col("suppressed"))["pay_per_hour"].is_null().all()
    assert out.filter(~pl.col("suppressed"))["pay_per_hour"].is_not_null().all()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda c: pl.concat([c, c.head(1)]), r"cells, row \d+, column 'platform, category, week': expected one row"),
        (lambda c: c.drop("workers"), r"column 'workers': expected a column for workers"),
        (lambda c: c.with_columns(earnings=-pl.col("earnings")), r"column 'earnings': expected a number >= 0"),
    ],
    ids=["duplicate", "missing", "negative"],
)
def test_bad_cells_are_refused_with_the_culprit_named(pool, change, match):
    with pytest.raises(InputError, match=match):
        suppress(change(pool[1]), values=VALUES)


# --------------------------------------------------------------------------------------------------
# Differential privacy


def many_cells(n_cells: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A few workers in a wide table of cells: the released sums are nearly all zero, the rest known."""
    keys = pl.DataFrame({"platform": ["a"] * n_cells, "category": ["ride"] * n_cells, "week": np.arange(n_cells)})
    jobs = pl.DataFrame(
        {
            "worker_id": ["w1", "w1", "w2"],
            "platform": ["a"] * 3,
            "category": ["ride"] * 3,
            "week": [0, 1, 1],
            "earnings": [30.0, 20.0, 50.0],
            "hours": [2.0, 1.0, 3.0],
        }
    )
    return jobs, keys


@pytest.mark.parametrize("mechanism", ["laplace", "gaussian"])
def test_seeded_noise_has_the_variance_the_mechanism_promises(mechanism):
    jobs, keys = many_cells(2000)
    bounds = {"earnings": 100.0, "hours": 10.0, "n_jobs": 5}
    noise = {v: [] for v in bounds}
    for seed in range(10):
        out = dp_cells(
            jobs,
            epsilon=0.9,
            bounds=bounds,
            keys=keys,
            max_cells_per_worker=4,
            mechanism=mechanism,
            noise="seeded",
            seed=seed,
        )
        exact = {
            "earnings": np.r_[30.0, 70.0, np.zeros(1998)],
            "hours": np.r_[2.0, 4.0, np.zeros(1998)],
            "n_jobs": np.r_[1.0, 2.0, np.zeros(1998)],
        }
        for v in bounds:
            noise[v].append(out.cells[v].to_numpy() - exact[v])
    eps = 0.9 / 3
    for v, b in bounds.items():
        if mechanism == "laplace":
            promised = 2 * (4 * b / eps) ** 2  # L1 sensitivity: 4 cells x bound
            assert out.sensitivity[v] == 4 * b
        else:
            promised = out.noise_sd[v] ** 2
            assert out.sensitivity[v] == pytest.approx(2 * b)  # L2 sensitivity: sqrt(4 cells) x bound
        drawn = np.concatenate(noise[v])
        assert abs(drawn.mean()) < 4 * math.sqrt(promised / drawn.size)
        assert drawn.var() == pytest.approx(promised, rel=0.10)
        assert out.noise_sd[v] ** 2 == pytest.approx(promised, rel=1e-9)


def test_secure_noise_from_opendp_has_the_promised_variance():
    jobs, keys = many_cells(20_000)
    out = dp_cells(jobs, epsilon=0.5, bounds={"earnings": 100.0}, keys=keys, max_cells_per_worker=2)
    assert out.noise == "secure"
    drawn = out.cells["earnings"].to_numpy()[2:]
    assert drawn.var() == pytest.approx(2 * (2 * 100.0 / 0.5) ** 2, rel=0.10)
    again = dp_cells(jobs, epsilon=0.5, bounds={"earnings": 100.0}, keys=keys, max_cells_per_worker=2, seed=1)
    assert not np.allclose(again.cells["earnings"].to_numpy(), out.cells["earnings"].to_numpy())


@pytest.mark.parametrize(("epsilon", "delta"), [(0.3, 1e-6), (1.0, 1e-5), (4.0, 1e-8)])
def test_gaussian_noise_meets_the_exact_privacy_curve(epsilon, delta):
    """Balle & Wang (2018): sigma gives (epsilon, delta)-DP iff
    Phi(D/2s - eps s/D) - e^eps Phi(-D/2s - eps s/D) <= delta."""
    jobs, keys = many_cells(10)
    out = dp_cells(
        jobs,
        epsilon=epsilon,
        delta=delta,
        bounds={"earnings": 100.0},
        keys=keys,
        mechanism="gaussian",
        max_cells_per_worker=9,
        noise="seeded",
        seed=0,
    )
    d, s = 3 * 100.0, out.noise_sd["earnings"]

    def exact_delta(sigma):
        return norm.cdf(d / (2 * sigma) - epsilon * sigma / d) - math.exp(epsilon) * norm.cdf(
            -d / (2 * sigma) - epsilon * sigma / d
        )

    assert exact_delta(s) <= delta
    assert exact_delta(s / 1.25) > delta  # not wastefully loud: 20% less noise would break the promise


def test_one_worker_moves_the_bounded_sums_by_at_most_the_sensitivity():
    jobs = make_jobs(n_workers=120, n_weeks=8, seed=5)
    heavy = jobs.filter(pl.col("worker_id") == jobs["worker_id"].mode()[0])
    assert heavy.select(DIMS).n_unique() > 6  # a worker above the cell cap, with sums above the bound
    bounds = {"earnings": 2.0, "n_jobs": 1}
    keys = jobs.select(DIMS).unique()
    rng = lambda: np.random.default_rng(11)  # noqa: E731
    full, _ = _bounded_sums(
        jobs, bounds=bounds, dims=DIMS, worker_id="worker_id", max_cells_per_worker=6, keys=keys, rng=rng()
    )
    without, _ = _bounded_sums(
        jobs.filter(pl.col("worker_id") != heavy["worker_id"][0]),
        bounds=bounds,
        dims=DIMS,
        worker_id="worker_id",
        max_cells_per_worker=6,
        keys=keys,
        rng=rng(),
    )
    for v, b in bounds.items():
        diff = full[v].to_numpy() - without[v].to_numpy()
        assert np.abs(diff).sum() == pytest.approx(6 * b)  # this worker hits both the cap and the bound
        assert np.sqrt((diff**2).sum()) == pytest.approx(math.sqrt(6) * b)
        assert np.count_nonzero(diff) == 6


def test_ratios_are_formed_from_the_noisy_sums():
    jobs, keys = many_cells(50)
    out = dp_cells(
        jobs,
        epsilon=2.0,
        bounds={"earnings": 100.0, "hours": 10.0},
        keys=keys,
        ratios={"pay_per_hour": ("earnings", "hours")},
        noise="seeded",
        seed=4,
    )
    c = out.cells
    positive = c.filter(pl.col("hours") > 0)
    np.testing.assert_allclose(positive["pay_per_hour"], positive["earnings"] / positive["hours"])
    assert c.filter(pl.col("hours") <= 0)["pay_per_hour"].is_null().all()
    again = dp_cells(
        jobs,
        epsilon=2.0,
        bounds={"earnings": 100.0, "hours": 10.0},
        keys=keys,
        ratios={"pay_per_hour": ("earnings", "hours")},
        noise="seeded",
        seed=4,
    )
    assert again.cells.equals(c)  # same seed, same answer


def test_default_keys_are_every_combination_of_the_labels(pool):
    jobs, _ = pool
    out = dp_cells(jobs, epsilon=1.0, bounds={"earnings": 500.0}, noise="seeded", seed=0)
    assert out.cells.height == 3 * 4 * 10
    assert out.cells.select(DIMS).equals(out.cells.select(DIMS).sort(DIMS))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epsilon": 0.0}, "epsilon must be a finite number > 0"),
        ({"mechanism": "exponential"}, "mechanism must be one of 'laplace', 'gaussian'"),
        ({"bounds": {"tips": 10.0}}, "column 'tips': expected a column for value tips"),
        ({"mechanism": "gaussian", "delta": 0.0}, r"delta must be in \(0, 1\)"),
        ({"ratios": {"r": ("earnings", "hours")}}, r"ratios\['r'\] must be a \(numerator, denominator\) pair"),
    ],
    ids=["epsilon", "mechanism", "column", "delta", "ratio"],
)
def test_bad_dp_parameters_are_refused(kwargs, match):
    jobs, keys = many_cells(5)
    args = {"epsilon": 1.0, "bounds": {"earnings": 10.0}, "keys": keys} | kwargs
    with pytest.raises((GigshiftError, InputError), match=match):
        dp_cells(jobs, **args)


# --------------------------------------------------------------------------------------------------
# Ledger and statement


def test_ledger_records_releases_and_refuses_one_over_budget_writing_nothing(tmp_path):
    ledger = PrivacyLedger.open(tmp_path, budget=1.0)
    assert (ledger.spent, ledger.left) == (0.0, 1.0)
    assert not (tmp_path / LEDGER_FILE).exists()  # opening writes nothing
    ledger.charge(0.3, release="weekly pay by platform, 2025 Q1", at=datetime(2025, 4, 2, tzinfo=UTC))
    ledger.charge(0.5, release="hourly pay by category", delta=1e-7)
    before = (tmp_path / LEDGER_FILE).read_bytes()
    with pytest.raises(GigshiftError, match=r"needs epsilon=0.3, but only 0.2 of the pool's budget of 1 is left"):
        ledger.charge(0.3, release="one too many")
    assert (tmp_path / LEDGER_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    again = PrivacyLedger.open(tmp_path, budget=1.0)
    assert again.spent == pytest.approx(0.8) and again.left == pytest.approx(0.2)
    assert again.releases["release"].to_list() == ["weekly pay by platform, 2025 Q1", "hourly pay by category"]
    assert again.releases["time"][0] == datetime(2025, 4, 2, tzinfo=UTC)
    assert json.loads(before)["releases"][1]["delta"] == 1e-7
    again.charge(0.2, release="exactly the rest")  # spending the budget to the last bit is allowed
    assert again.left == 0.0


def test_ledger_refuses_first_release_over_budget_and_creates_no_file(tmp_path):
    with pytest.raises(GigshiftError, match="nothing was released or recorded"):
        PrivacyLedger.open(tmp_path, budget=0.5).charge(0.6, release="too much")
    assert not (tmp_path / LEDGER_FILE).exists()


def test_ledger_budget_is_fixed_and_a_damaged_file_is_reported(tmp_path):
    PrivacyLedger.open(tmp_path, budget=1.0).charge(0.1, release="first")
    with pytest.raises(GigshiftError, match=r"pool's budget is epsilon=1.*fixed by its first release"):
        PrivacyLedger.open(tmp_path, budget=2.0)
    (tmp_path / LEDGER_FILE).write_text("{not json")
    with pytest.raises(GigshiftError, match="not a readable privacy ledger"):
        PrivacyLedger.open(tmp_path)
    with pytest.raises(GigshiftError, match="does not exist"):
        PrivacyLedger.open(tmp_path / "missing")


def test_concurrent_charges_never_overspend(tmp_path):
    ledger = PrivacyLedger.open(tmp_path, budget=1.0)

    def charge(i: int) -> bool:
        try:
            PrivacyLedger.open(tmp_path, budget=1.0).charge(0.25, release=f"release {i}")
        except GigshiftError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool_:
        done = list(pool_.map(charge, range(12)))
    assert sum(done) == 4 and ledger.spent == pytest.approx(1.0) and ledger.releases.height == 4


def test_privacy_statement_names_k_and_the_budget():
    text = privacy_statement(11, 0.4, 0.6)
    assert "fewer than 11 workers" in text
    assert "epsilon = 0.4 spent" in text and "epsilon = 0.6 is left" in text and "factor of 1.49" in text
    assert "used up" in privacy_statement(5, 1.0, 0.0)
    with pytest.raises(GigshiftError, match="epsilon_left must be a finite number >= 0"):
        privacy_statement(11, 0.1, -1.0)


def test_suppress_with_totals_plans_once_and_agrees_with_each():
    from gigshift.pay._privacy import released_totals, suppress, suppress_with_totals

    rng = np.random.default_rng(3)
    cells = pl.DataFrame(
        {
            "platform": np.repeat(["a", "b", "c"], 8),
            "week": np.tile(np.arange(8), 3),
            "workers": rng.integers(1, 40, 24),
            "pay": rng.uniform(100, 2000, 24),
        }
    )
    dims = ("platform", "week")
    both = suppress_with_totals(cells, k=11, dims=dims, values=["pay"])
    assert both[0].equals(suppress(cells, k=11, dims=dims, values=["pay"]))
    assert both[1].equals(released_totals(cells, k=11, dims=dims, values=["pay"]))
    assert both[0]["suppressed"].any()
