"""Platform insights: planted prices and preferences are recovered, counts match the tables, bad input is named."""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError, InputError, NotFoundError
from gigshift.insights import market, read_folder
from gigshift.insights._choice import conditional_logit

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


# -- planted data ----------------------------------------------------------------------------------------------------


def hedonic_market(seed: int, *, weeks: int = 8, per_week: int = 300, mix_shift: bool = True, change: float = 0.0):
    """Tasks whose price depends on hours and skills only, plus ``change`` (log points) from the middle week on.

    With ``mix_shift`` the share of long tasks rises from 20% to 80% over the weeks.
    """
    rng = np.random.default_rng(seed)
    n = weeks * per_week
    week = np.repeat(np.arange(weeks), per_week)
    p_long = 0.2 + 0.6 * week / (weeks - 1) if mix_shift else np.full(n, 0.5)
    long = rng.random(n) < p_long
    hours = np.where(long, rng.lognormal(math.log(10), 0.3, n), rng.lognormal(math.log(2), 0.3, n)).round(2)
    n_skills = rng.integers(1, 4, n)
    log_price = (
        math.log(25) + 0.9 * np.log(hours) + 0.05 * n_skills + change * (week >= weeks // 2) + rng.normal(0, 0.15, n)
    )
    price = np.exp(log_price).round(2)
    posted = [
        START + timedelta(days=7 * int(w), seconds=int(s))
        for w, s in zip(week, rng.integers(0, 6 * 86400, n), strict=True)
    ]
    ids = [f"t{i:05d}" for i in range(n)]
    tasks = pl.DataFrame(
        {
            "task_id": ids,
            "client_id": "c1",
            "category": "translation",
            "required_skills": [[f"skill {j}" for j in range(k)] for k in n_skills],
            "budget_usd": (price * 1.1).round(2),
            "expected_hours": hours,
            "posted_at": posted,
        }
    )
    assignments = pl.DataFrame({"task_id": ids, "worker_id": "w1", "price_usd": price})
    return tasks, assignments


TRUTH = {"rating": 1.0, "price": -0.3, "experience": 0.4}


def planted_log(seed: int, *, n_tasks: int = 4000) -> pl.DataFrame:
    """A decision log whose choices follow a known logit in rating (per star), price (per 10%) and experience."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 9, n_tasks)
    task = np.repeat(np.arange(n_tasks), sizes)
    n = task.size
    rating = rng.uniform(3.5, 5.0, n).round(2)
    jobs = np.floor(rng.lognormal(math.log(6), 1.2, n)).astype(int)
    price = (np.exp(rng.normal(math.log(60), 0.5, n_tasks))[task] * rng.lognormal(0, 0.3, n)).round(2)
    utility = (
        TRUTH["rating"] * rating
        + TRUTH["price"] * np.log(price) / math.log(1.1)
        + TRUTH["experience"] * np.log2(1 + jobs)
        + rng.gumbel(size=n)
    )
    starts = np.flatnonzero(np.r_[True, task[1:] != task[:-1]])
    best = np.maximum.reduceat(utility, starts)[task]
    return pl.DataFrame(
        {
            "task_id": [f"t{t}" for t in task],
            "worker_id": [f"w{i}" for i in range(n)],
            "category": "translation",
            "is_selected": utility == best,
            "price_usd": price,
            "worker_rating": rating,
            "worker_n_jobs_completed": jobs,
        }
    )


# -- price index -----------------------------------------------------------------------------------------------------


def test_index_stays_flat_under_a_pure_mix_shift():
    tasks, assignments = hedonic_market(0)
    result = market(tasks=tasks, assignments=assignments, seed=0)
    prices = result.prices.sort("week")
    assert prices.height == 8 and prices["price_index"].null_count() == 0
    # the raw median more than doubles as long tasks take over ...
    assert prices["raw_index"][-1] > 200
    # ... while the mix-adjusted index stays at 100 within its interval
    assert (prices["price_index"] - 100).abs().max() < 4
    assert (prices["ci_lo"] <= 100).all() and (prices["ci_hi"] >= 100).all()
    hours = result.hedonic.filter(pl.col("characteristic") == "log_hours").row(0, named=True)
    assert abs(hours["coef"] - 0.9) < 3 * hours["se"]


def test_index_recovers_a_planted_price_change():
    tasks, assignments = hedonic_market(1, change=math.log(1.1))
    prices = market(tasks=tasks, assignments=assignments, seed=0).prices.sort("week")
    after = prices.filter(pl.col("week") >= 4)
    before = prices.filter((pl.col("week") >= 1) & (pl.col("week") < 4))
    assert after["price_index"].mean() == pytest.approx(110, abs=2)
    assert before["price_index"].mean() == pytest.approx(100, abs=2)
    covered = ((after["ci_lo"] <= 110) & (after["ci_hi"] >= 110)).sum() + (
        (before["ci_lo"] <= 100) & (before["ci_hi"] >= 100)
    ).sum()
    assert covered >= 6  # of 7 weeks at 95%


def test_thin_cells_get_a_note_not_a_number():
    tasks, assignments = hedonic_market(2, per_week=6, mix_shift=False)
    result = market(tasks=tasks, assignments=assignments, seed=0)
    assert result.prices["price_index"].null_count() == result.prices.height
    assert result.prices["note"].str.contains("too few priced tasks").all()
    assert any("category-weeks have no index value" in n for n in result.notes)
    # a thin week between full ones gets no number; its neighbours do
    tasks, assignments = hedonic_market(3, mix_shift=False)
    week1 = tasks.filter(pl.col("posted_at").is_between(START + timedelta(days=7), START + timedelta(days=14)))
    drop = week1["task_id"].tail(week1.height - 5)
    prices = market(tasks=tasks.filter(~pl.col("task_id").is_in(drop.implode())), assignments=assignments).prices
    row = prices.filter(pl.col("week") == 1).row(0, named=True)
    assert row["n_priced"] == 5 and row["price_index"] is None and row["raw_index"] is None
    assert row["note"] == "5 priced tasks (fewer than 10): no index"
    assert prices.filter(pl.col("week") != 1)["price_index"].null_count() == 0


# -- choice model ----------------------------------------------------------------------------------------------------


def test_preferences_recover_planted_weights():
    result = market(decision_log=planted_log(0), seed=0)
    prefs = {r["attribute"]: r for r in result.preferences.iter_rows(named=True)}
    assert set(prefs) == set(TRUTH)
    for name, truth in TRUTH.items():
        assert prefs[name]["ci_lo"] <= truth <= prefs[name]["ci_hi"], (name, prefs[name])
    assert any("no_rating (no variation within tasks)" in n for n in result.notes)
    assert result.choice["n_tasks"] == 4000 and result.choice["converged"]


def test_preference_intervals_cover_the_truth_about_95_percent():
    covered = {name: 0 for name in TRUTH}
    for seed in range(20):
        prefs = market(decision_log=planted_log(100 + seed, n_tasks=1500), seed=0).preferences
        for r in prefs.iter_rows(named=True):
            covered[r["attribute"]] += r["ci_lo"] <= TRUTH[r["attribute"]] <= r["ci_hi"]
    assert all(c >= 16 for c in covered.values()), covered


def test_conditional_logit_matches_statsmodels():
    from statsmodels.discrete.conditional_models import ConditionalLogit

    log = planted_log(7, n_tasks=300)
    task = log["task_id"].str.slice(1).cast(pl.Int64).to_numpy()
    x = np.column_stack(
        [
            log["worker_rating"].to_numpy(),
            np.log(log["price_usd"].to_numpy()) / math.log(1.1),
            np.log2(1 + log["worker_n_jobs_completed"].to_numpy()),
        ]
    )
    chosen = log["is_selected"].to_numpy()
    ours = conditional_logit(x, chosen, np.flatnonzero(np.r_[True, task[1:] != task[:-1]]))
    ref = ConditionalLogit(chosen.astype(float), x, groups=task).fit(disp=0, method="bfgs", maxiter=500, gtol=1e-10)
    np.testing.assert_allclose(ours.beta, ref.params, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.cov)), ref.bse, rtol=1e-3)


def test_row_order_of_the_log_does_not_matter():
    log = planted_log(5, n_tasks=800)
    log = log.with_columns(week=(pl.col("task_id").str.slice(1).cast(pl.Int64) % 3))
    shuffled = log.sample(fraction=1.0, shuffle=True, seed=1)
    a, b = market(decision_log=log, seed=0), market(decision_log=shuffled, seed=0)
    assert a.activity.equals(b.activity)
    np.testing.assert_allclose(a.preferences["coef"].to_numpy(), b.preferences["coef"].to_numpy(), rtol=1e-9)
    assert a.activity["n_tasks_posted"].to_list() == [267, 267, 266]


def test_task_sample_is_seeded():
    log = planted_log(3, n_tasks=2000)
    a = market(decision_log=log, max_choice_tasks=500, seed=11)
    b = market(decision_log=log, max_choice_tasks=500, seed=11)
    c = market(decision_log=log, max_choice_tasks=500, seed=12)
    assert a.preferences.equals(b.preferences) and not a.preferences.equals(c.preferences)
    assert a.choice["sampled"] and a.choice["n_tasks"] == 500 and a.provenance.seed == 11
    assert any("seeded random sample of 500 of 2,000 tasks" in n for n in a.notes)


def test_too_few_tasks_for_a_choice_model():
    result = market(decision_log=planted_log(0, n_tasks=20), seed=0)
    assert result.preferences.height == 0
    assert any("only 20 tasks" in n and "too few for a choice model" in n for n in result.notes)


# -- folders written by gigshift -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from gigshift.allocate import allocate, default_policy
    from gigshift.market import synthetic
    from gigshift.simulate import run

    root = tmp_path_factory.mktemp("insights")
    m = synthetic(n_workers=600, n_tasks=300, seed=5)
    m.write(root / "market")
    alloc = allocate(m.tasks, m.workers, bids=m.bids, seed=1)
    run_dir = root / "run"
    run_dir.mkdir()
    alloc.assignments.write_parquet(run_dir / "assignments.parquet")
    alloc.decision_log.write_parquet(run_dir / "decision_log.parquet")
    (run_dir / "policy.yaml").write_text(default_policy().to_yaml())
    both = root / "both"
    shutil.copytree(root / "market", both)
    for name in ("assignments.parquet", "decision_log.parquet"):
        shutil.copy(run_dir / name, both / name)
    sim = run("genai-2022", workers=600, weeks=6, seed=1)
    sim_dir = root / "sim"
    sim_dir.mkdir()
    sim.categories.write_parquet(sim_dir / "categories.parquet")
    sim.decision_log.write_parquet(sim_dir / "decision_log.parquet")
    (sim_dir / "scenario.yaml").write_text("name: genai-2022\n")
    return {"root": root, "market": m, "alloc": alloc, "sim": sim}


def _insights(path):
    folder = read_folder(path)
    return folder, market(**folder.tables, kinds=folder.kinds, sources=folder.files, seed=0)


def test_market_folder_counts_match_the_tables(folders):
    folder, result = _insights(folders["root"] / "market")
    assert folder.kinds == ("market",) and set(folder.tables) == {"tasks", "bids"}
    m = folders["market"]
    posted = m.tasks.group_by("category").len().sort("category")
    got = result.activity.group_by("category").agg(pl.col("n_tasks_posted").sum()).sort("category")
    assert got["n_tasks_posted"].to_list() == posted["len"].to_list()
    per_task = (
        m.tasks.select("task_id", "category")
        .join(m.bids.group_by("task_id").len(), on="task_id", how="left")
        .with_columns(pl.col("len").fill_null(0))
    )
    expected = per_task.group_by("category").agg(pl.col("len").mean()).sort("category")
    np.testing.assert_allclose(result.activity.sort("category")["bids_per_task"].to_numpy(), expected["len"].to_numpy())
    assert result.activity["fill_rate"].null_count() == result.activity.height
    assert "no assignments or decision log: fill rate and time to fill are unknown" in result.notes
    assert "no selections known: the price index is of clients' posted budgets" in result.notes


def test_market_with_run_gives_fill_rate_and_time_to_fill(folders):
    folder, result = _insights(folders["root"] / "both")
    assert folder.kinds == ("market", "allocation run")
    m, alloc = folders["market"], folders["alloc"]
    filled = m.tasks.select("task_id", "category", "posted_at").join(
        alloc.assignments.select("task_id", "worker_id"), on="task_id", how="left"
    )
    rate = filled.group_by("category").agg(rate=pl.col("worker_id").is_not_null().mean()).sort("category")
    np.testing.assert_allclose(result.activity.sort("category")["fill_rate"].to_numpy(), rate["rate"].to_numpy())
    waits = (
        filled.join(m.bids, on=["task_id", "worker_id"], how="inner")
        .with_columns(hours=(pl.col("bid_at") - pl.col("posted_at")).dt.total_seconds() / 3600)
        .group_by("category")
        .agg(pl.col("hours").median())
    )
    got = result.activity.join(waits, on="category").sort("category")
    np.testing.assert_allclose(got["median_time_to_fill_hours"].to_numpy(), got["hours"].to_numpy())
    assert result.preferences.height >= 4


def test_run_folder_alone_says_what_is_missing(folders):
    folder, result = _insights(folders["root"] / "run")
    assert folder.kinds == ("allocation run",)
    assert any("treated as one batch (week 0)" in n for n in result.notes)
    assert any("expected hours are not in the decision log" in n for n in result.notes)
    log = folders["alloc"].decision_log
    tasks = log.group_by("task_id").agg(filled=pl.col("is_selected").any(), category=pl.col("category").first())
    assert result.activity["n_tasks_posted"].sum() == tasks.height
    assert result.activity["n_tasks_filled"].sum() == tasks["filled"].sum()
    assert result.activity["median_time_to_fill_hours"].null_count() == result.activity.height


def test_simulation_folder(folders):
    folder, result = _insights(folders["root"] / "sim")
    assert folder.kinds == ("simulation",)
    cats = folders["sim"].categories.with_columns(pl.col("category").cast(pl.String))
    joined = result.activity.join(cats, on=["category", "week"])
    assert joined.height == cats.height
    assert (joined["n_tasks_posted"] == joined["posted"]).all() and (joined["n_tasks_filled"] == joined["filled"]).all()
    assert (joined["week_start"] == joined["date"]).all()
    assert any("time to fill is not recorded by the simulator" in n for n in result.notes)
    # weeks that posted nothing have no bids per task or fill rate: null, never NaN
    floats = [c for c, t in result.activity.schema.items() if t == pl.Float64]
    assert result.activity.select(pl.col(floats).is_nan().sum()).sum_horizontal().item() == 0
    quiet = joined.filter(pl.col("posted") == 0)
    assert quiet.height and quiet["bids_per_task"].null_count() == quiet["fill_rate"].null_count() == quiet.height
    assert result.summary()["bids_per_task"].is_nan().sum() == 0
    body = json.loads(result.to_json())
    assert {"activity", "prices", "preferences", "notes", "provenance"} <= body.keys()


def test_tidy_joins_activity_and_prices():
    tasks, assignments = hedonic_market(0, weeks=3)
    tidy = market(tasks=tasks, assignments=assignments, seed=0).tidy()
    assert tidy.height == 3 and {"n_tasks_posted", "fill_rate", "price_index", "raw_index"} <= set(tidy.columns)
    assert tidy["fill_rate"].to_list() == [1.0, 1.0, 1.0]


# -- bad input -------------------------------------------------------------------------------------------------------


def test_folder_without_any_table(tmp_path):
    (tmp_path / "workers.csv").write_text("worker_id\nw1\n")
    with pytest.raises(GigshiftError, match=r"not a market, allocation-run or simulation folder.*found workers.csv"):
        read_folder(tmp_path)
    with pytest.raises(InputError, match="not a directory"):
        read_folder(tmp_path / "nope")


def test_bad_row_in_a_market_table_is_named(tmp_path, folders):
    target = tmp_path / "m"
    shutil.copytree(folders["root"] / "market", target)
    tasks = pl.read_parquet(target / "tasks.parquet").with_columns(
        budget_usd=pl.when(pl.int_range(pl.len()) == 6).then(-5.0).otherwise(pl.col("budget_usd"))
    )
    (target / "tasks.parquet").unlink()
    tasks.with_columns(
        pl.col("required_skills").list.join(";"), pl.col("posted_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ).write_csv(target / "tasks.csv")
    with pytest.raises(InputError, match=r"tasks.csv, row 7, column 'budget_usd'"):
        read_folder(target)


def test_bad_rows_in_the_decision_log_are_named():
    log = planted_log(0, n_tasks=50).with_columns(
        price_usd=pl.when(pl.int_range(pl.len()) == 2).then(-3.0).otherwise(pl.col("price_usd")),
        worker_rating=pl.when(pl.int_range(pl.len()) == 9).then(7.5).otherwise(pl.col("worker_rating")),
    )
    with pytest.raises(InputError) as info:
        market(decision_log=log, sources={"decision_log": "decision_log.parquet"})
    assert str(info.value) == (
        "decision_log.parquet, row 3, column 'price_usd': expected a finite number > 0, or empty, got '-3.0' (+1 more)"
    )
    assert info.value.failures.select("row", "column").rows() == [(3, "price_usd"), (10, "worker_rating")]
    with pytest.raises(InputError, match=r"column 'is_selected': expected a column for is_selected.*got 'missing'"):
        market(decision_log=log.drop("is_selected"))


def test_text_columns_are_parsed_and_bad_text_named():
    log = planted_log(0, n_tasks=40).with_columns(
        pl.col("is_selected").cast(pl.String), pl.col("price_usd").cast(pl.String)
    )
    assert market(decision_log=log, seed=0).choice["n_tasks"] == 40
    bad = log.with_columns(
        is_selected=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("maybe")).otherwise("is_selected")
    )
    with pytest.raises(
        InputError, match=r"decision_log, row 1, column 'is_selected': expected true or false, got 'maybe'"
    ):
        market(decision_log=bad)


def test_unknown_category_lists_closest():
    with pytest.raises(NotFoundError, match=r"unknown category 'translaton'; closest: translation"):
        market(decision_log=planted_log(0, n_tasks=40), category="translaton")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give at least one of tasks"),
        ({"decision_log": None, "tasks": None, "min_cell_tasks": 0}, "min_cell_tasks must be an integer >= 1"),
        ({"decision_log": "log", "confidence": 2}, "confidence must be a number between 0 and 1"),
        ({"decision_log": "log", "seed": -1}, "seed must be an integer >= 0"),
    ],
    ids=["nothing", "min-cell", "confidence", "seed"],
)
def test_bad_parameters(kwargs, message):
    if kwargs.get("decision_log") == "log":
        kwargs["decision_log"] = planted_log(0, n_tasks=40)
    with pytest.raises(GigshiftError, match=message):
        market(**kwargs)
