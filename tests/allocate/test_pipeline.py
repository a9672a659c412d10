"""The allocation pipeline on synthetic markets: eligibility, scores, log, explanations, fairness, boost."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError, InputError
from gigshift.allocate import (
    COMPONENTS,
    LOG_COLUMNS,
    Policy,
    allocate,
    default_policy,
    explain,
    solve_table,
    transparency_statement,
)
from gigshift.market import synthetic


@pytest.fixture(scope="module")
def market():
    return synthetic(n_workers=3000, n_tasks=400, seed=11, rating_bias={"sex": {"female": -0.3}})


@pytest.fixture(scope="module")
def result(market):
    return allocate(market.tasks, market.workers, seed=5)


def test_assignments_are_feasible_and_eligible(market, result):
    a = result.assignments.join(market.tasks, on="task_id").join(market.workers, on="worker_id", suffix="_w")
    assert result.assignments.get_column("task_id").is_unique().all()
    per_worker = a.group_by("worker_id").agg(n=pl.len(), capacity=pl.col("capacity").first())
    assert (per_worker["n"] <= per_worker["capacity"]).all()
    assert a.select(pl.col("categories").list.contains(pl.col("category"))).to_series().all()
    remote_ok = pl.col("is_remote_w")
    local_ok = pl.col("location_w") == pl.col("location")
    assert a.select(pl.when(pl.col("is_remote")).then(remote_ok).otherwise(local_ok)).to_series().all()
    assert result.summary()["fill_rate"] > 0.8


def test_decision_log_is_complete_and_consistent(market, result):
    log = result.decision_log
    assert log.columns[: len(LOG_COLUMNS)] == list(LOG_COLUMNS)
    assert {"sex", "race_ethnicity", "age_band", "country"} <= set(log.columns)
    assert (log["policy_version"] == default_policy().version).all()
    # selected rows are exactly the assignments
    chosen = log.filter(pl.col("is_selected")).select("task_id", "worker_id", "score", "price_usd").sort("task_id")
    assert chosen.equals(result.assignments)
    counts = log.group_by("task_id").len().sort("task_id")
    assert counts.rows() == result.candidate_counts.filter(pl.col("n_candidates") > 0).sort("task_id").rows()
    # the score is the weighted sum of the logged components plus the boost
    weights = default_policy().normalised_weights
    recomputed = sum(weights[c] * log[c] for c in COMPONENTS) + log["opportunity_boost"]
    np.testing.assert_allclose(log["score"], recomputed, atol=1e-6)
    # ranks are 1..n per task in score order, and at most k candidates per task
    check = log.group_by("task_id").agg(
        ok=(pl.col("rank").sort() == pl.int_range(1, pl.len() + 1)).all(),
        ordered=(pl.col("score").sort_by("rank").diff().drop_nulls() <= 1e-12).all(),
        n=pl.len(),
    )
    assert check["ok"].all() and check["ordered"].all()
    assert check["n"].max() <= default_policy().k
    # components are in [0, 1]
    for c in COMPONENTS:
        assert log[c].min() >= 0 and log[c].max() <= 1, c


def brute_force_candidates(market, policy: Policy) -> pl.DataFrame:
    """Every eligible pair scored in plain Polars, independently of the engine's dense blocks."""
    tasks, workers = market.tasks, market.workers
    at = tasks["posted_at"].max()
    m, mu = policy.rating_prior_strength, policy.rating_prior_mean
    n = pl.when(pl.col("rating").is_null()).then(0).otherwise(pl.col("n_jobs_completed")).cast(pl.Float64)
    w = workers.filter(pl.col("capacity") > 0).with_columns(
        rating_c=((n * pl.col("rating").fill_null(0) + m * mu) / (n + m) - 1) / 4,
        rel=pl.col("reliability").fill_null(policy.reliability_prior),
        exp=(pl.col("n_jobs_completed").cast(pl.Float64).log1p() / np.log1p(policy.experience_reference_jobs)).clip(
            upper_bound=1
        ),
        wait=pl.when(pl.col("last_assigned_at").is_null())
        .then(1.0)
        .otherwise(
            ((at - pl.col("last_assigned_at")).dt.total_seconds() / 3600 / policy.waiting_full_hours).clip(0, 1)
        ),
    )
    pairs = (
        tasks.with_columns(
            hours=pl.col("expected_hours").fill_null(pl.col("expected_hours").median().over("category")).fill_null(1.0)
        )
        .join(w.explode("categories"), left_on="category", right_on="categories", suffix="_w")
        .filter(
            pl.when(pl.col("is_remote"))
            .then(pl.col("is_remote_w"))
            .otherwise(pl.col("location_w") == pl.col("location"))
        )
    )
    wt = policy.normalised_weights
    req = pl.col("required_skills").list.unique()
    pairs = pairs.with_columns(
        skill=pl.when(req.list.len() > 0)
        .then(req.list.set_intersection(pl.col("skills")).list.len() / req.list.len())
        .otherwise(1.0),
        fit=(
            1 - (pl.col("hours") * pl.col("hourly_rate_usd") / pl.col("budget_usd") - 1) / policy.price_tolerance
        ).clip(0, 1),
    ).with_columns(
        score=(
            wt["skill_match"] * pl.col("skill")
            + wt["price_fit"] * pl.col("fit")
            + wt["rating"] * pl.col("rating_c")
            + wt["reliability"] * pl.col("rel")
            + wt["experience"] * pl.col("exp")
            + wt["waiting"] * pl.col("wait")
        ).round(6)
    )
    return pairs.select("task_id", "worker_id", "score")


def test_candidates_are_the_top_k_of_every_eligible_pair(market, result):
    policy = default_policy()
    reference = brute_force_candidates(market, policy)
    kth = (
        reference.sort("score", descending=True)
        .group_by("task_id")
        .agg(kth=pl.col("score").get(policy.k - 1, null_on_oob=True), n=pl.len(), best=pl.col("score").max())
    )
    log = result.decision_log.group_by("task_id").agg(
        n_log=pl.len(), min_log=pl.col("score").min(), best_log=pl.col("score").max()
    )
    both = kth.join(log, on="task_id", how="full", coalesce=True)
    assert both["n_log"].null_count() == both["n"].null_count()  # same tasks have candidates
    both = both.drop_nulls("n")
    assert (both["n_log"] == both["n"].clip(upper_bound=policy.k)).all()
    np.testing.assert_allclose(both["best_log"], both["best"], atol=1e-6)
    full = both.filter(pl.col("n") >= policy.k)
    np.testing.assert_allclose(full["min_log"], full["kth"], atol=1e-6)
    # every logged pair carries the reference score
    joined = result.decision_log.select("task_id", "worker_id", "score").join(
        reference, on=["task_id", "worker_id"], how="left", suffix="_ref"
    )
    assert joined["score_ref"].null_count() == 0
    np.testing.assert_allclose(joined["score"], joined["score_ref"], atol=1e-6)


def test_exact_mode_is_optimal_on_its_candidates(result):
    log = result.decision_log
    edges = log.select("task_id", "worker_id", "score")
    caps = log.group_by("worker_id").agg(capacity=pl.col("worker_capacity").first())
    reference = solve_table(edges, caps, solver="ortools").objective
    assert result.objective == pytest.approx(reference, abs=1e-6)


@pytest.mark.parametrize("mode", ["greedy", "dispatch"])
def test_fast_modes_score_below_exact(market, result, mode):
    fast = allocate(market.tasks, market.workers, default_policy().with_options(mode=mode), seed=5)
    assert result.objective / 2 <= fast.objective <= result.objective + 1e-6
    assert fast.assignments.get_column("task_id").is_unique().all()


def test_winner_beats_every_free_runner_up(result):
    tasks = result.tasks.drop_nulls("worker_id")
    with_runner = tasks.drop_nulls("runner_up_score")
    assert (with_runner["score"] >= with_runner["runner_up_score"] - 1e-9).all()
    assert (with_runner["margin"] >= -1e-9).all()


def test_log_tasks_keeps_a_sample_and_nothing_else_changes(market, result):
    sample = result.assignments.get_column("task_id").head(5).to_list()
    lean = allocate(market.tasks, market.workers, seed=5, log_tasks=sample, explain=False)
    assert lean.assignments.equals(result.assignments)
    assert lean.waiting.equals(result.waiting)
    assert sorted(lean.decision_log.get_column("task_id").unique().to_list()) == sorted(sample)
    full = result.decision_log.filter(pl.col("task_id").is_in(sample))
    assert lean.decision_log.sort("task_id", "rank").equals(full.sort("task_id", "rank"))


def test_same_seed_same_result(market, result):
    again = allocate(market.tasks, market.workers, seed=5)
    assert again.assignments.equals(result.assignments)
    assert again.decision_log.equals(result.decision_log)


def test_counterfactuals_flip_the_decision_when_applied(market, result):
    """Apply each verified counterfactual to the worker's own data and re-run the whole allocation."""
    policy = default_policy().with_options(k=10_000)  # every eligible worker is a candidate
    base = allocate(market.tasks, market.workers, policy, seed=5)
    losers = base.workers.filter((pl.col("n_assigned") == 0) & pl.col("counterfactual").is_not_null())
    checked = 0
    for row in losers.head(12).iter_rows(named=True):
        explanation = base.explain(worker_id=row["worker_id"])
        if not explanation.counterfactual_verified:
            continue
        changed = _apply_to_workers(market, base, row["worker_id"], explanation)
        rerun = allocate(market.tasks, changed, policy, seed=5)
        task = base.workers.filter(pl.col("worker_id") == row["worker_id"]).item(0, "closest_lost_task_id")
        got = rerun.assignments.filter(pl.col("task_id") == task).item(0, "worker_id")
        assert got == row["worker_id"], explanation.to_text()
        checked += 1
    assert checked >= 5


def _apply_to_workers(market, result, worker_id, explanation):
    """Turn the explanation's counterfactual into a change of the worker's row."""
    text = explanation.counterfactual
    workers = market.workers
    mine = pl.col("worker_id") == worker_id
    if m := re.search(r"rating of ([\d.]+)", text):
        return workers.with_columns(rating=pl.when(mine).then(float(m.group(1))).otherwise(pl.col("rating")))
    if m := re.search(r"hourly rate of \$([\d,.]+)", text):
        value = float(m.group(1).replace(",", ""))
        return workers.with_columns(hourly_rate_usd=pl.when(mine).then(value).otherwise(pl.col("hourly_rate_usd")))
    if m := re.search(r"completion rate of ([\d.]+)%", text):
        value = float(m.group(1)) / 100
        return workers.with_columns(reliability=pl.when(mine).then(value).otherwise(pl.col("reliability")))
    m = re.search(r"required skills \((.*)\)", text)
    skills = m.group(1).split(", ")
    return workers.with_columns(
        skills=pl.when(mine).then(pl.col("skills").list.concat(pl.lit(skills))).otherwise(pl.col("skills"))
    )


def test_explanations_read_well(result):
    loser = result.workers.filter(pl.col("n_assigned") == 0).row(0, named=True)
    text = result.explain(worker_id=loser["worker_id"]).to_text()
    assert f"Worker {loser['worker_id']}" in text and "Closest: task" in text and "Biggest gap" in text
    winner = result.assignments.row(0, named=True)
    text = result.explain(task_id=winner["task_id"]).to_text()
    assert f"went to worker {winner['worker_id']}" in text and "Score = skill_match" in text
    with pytest.raises(GigshiftError, match="unknown task 'nope'"):
        result.explain(task_id="nope")
    with pytest.raises(GigshiftError, match="exactly one"):
        explain(result.decision_log, result.policy)


def test_group_parity_in_the_pipeline(market):
    biased = default_policy().with_options(
        weights={**default_policy().weights, "rating": 0.6}, fairness_attribute="sex", min_impact_ratio=0.9
    )
    fair = allocate(market.tasks, market.workers, biased, seed=5)
    report = fair.fairness
    assert report is not None and report.achieved_impact_ratio >= 0.9 - 1e-12
    # recount from the decision log, as an auditor would
    log = fair.decision_log.filter(pl.col("sex").is_not_null())
    rates = (
        log.group_by("sex")
        .agg(
            candidates=pl.col("worker_id").n_unique(),
            selected=pl.col("worker_id").filter(pl.col("is_selected")).n_unique(),
        )
        .with_columns(rate=pl.col("selected") / pl.col("candidates"))
    )
    # groups under 2% of the candidates are reported but not constrained (policy min_group_share)
    large = rates.filter(pl.col("candidates") / pl.col("candidates").sum() >= 0.02)
    assert large.height == 2 and rates.height == 3
    assert large["rate"].min() >= 0.9 * large["rate"].max() - 1e-12
    flags = dict(report.by_group.select("group", "is_constrained").rows())
    assert flags == {"female": True, "male": True, "nonbinary": False}
    assert fair.summary()["price_of_fairness_pct"] >= 0
    assert "Equal opportunity by `sex`" in fair.transparency()


def test_opportunity_boost_prevents_starvation():
    """One task a batch, two eligible workers, one always better: the boost lets the other win in turn."""
    start = datetime(2026, 3, 2, tzinfo=UTC)
    workers = pl.DataFrame(
        {
            "worker_id": ["strong", "weak"],
            "categories": [["translation"], ["translation"]],
            "hourly_rate_usd": [20.0, 20.0],
            "rating": [4.9, 4.4],
            "n_jobs_completed": [200, 200],
            "reliability": [0.99, 0.95],
        }
    )

    def task(i: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "task_id": [f"t{i}"],
                "client_id": ["c1"],
                "category": ["translation"],
                "budget_usd": [100.0],
                "expected_hours": [4.0],
                "posted_at": [start + timedelta(days=i)],
                "is_remote": [True],
            }
        )

    def run(policy: Policy) -> list[str]:
        waiting, winners = None, []
        for i in range(8):
            r = allocate(task(i), workers, policy, waiting=waiting, seed=0)
            winners.append(r.assignments.item(0, "worker_id"))
            waiting = r.waiting
        return winners

    without = run(default_policy().with_options(boost_per_batch=0.0))
    assert set(without) == {"strong"}
    winners = run(default_policy().with_options(boost_per_batch=0.02, max_boost=0.2))
    assert "weak" in winners
    # the boost is bounded: the weak worker does not win every batch after it
    assert winners.count("strong") >= 4


def test_bids_restrict_candidates_and_set_the_price(market):
    bids = market.bids
    r = allocate(market.tasks, market.workers, bids=bids, seed=1)
    pairs = r.decision_log.select("task_id", "worker_id", "price_usd").join(
        bids, on=["task_id", "worker_id"], how="left", suffix="_bid"
    )
    assert pairs["price_usd_bid"].null_count() == 0
    np.testing.assert_allclose(pairs["price_usd"], pairs["price_usd_bid"])
    assert r.decision_log["is_bid"].all()


def test_bad_input_names_the_culprit(market):
    tasks = market.tasks.with_columns(
        category=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("web-devv")).otherwise("category")
    )
    with pytest.raises(InputError, match=r"tasks, row 3, column 'category'"):
        allocate(tasks, market.workers)
    bids = pl.DataFrame({"task_id": [market.tasks.item(0, "task_id")], "worker_id": ["ghost"], "price_usd": [10.0]})
    with pytest.raises(InputError, match="ghost"):
        allocate(market.tasks, market.workers, bids=bids)
    with pytest.raises(InputError, match=r"workers, column 'religion'"):
        allocate(market.tasks, market.workers, default_policy().with_options(fairness_attribute="religion"))
    with pytest.raises(InputError, match=r"waiting, row 1, column 'n_batches_waiting'"):
        allocate(market.tasks, market.workers, waiting=pl.DataFrame({"worker_id": ["w1"], "n_batches_waiting": [-2]}))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("weights: {skill_match: -1}", r"'weights.skill_match' must be a number >= 0"),
        ("weights: {charisma: 1}", r"unknown weight 'weights.charisma'"),
        ("candidates: {k: 0}", r"'candidates.k' must be an integer >= 1"),
        ("solver: {mode: quantum}", r"'solver.mode' must be one of exact, greedy, dispatch"),
        ("fairness: {attribute: sex}\nsolver: {mode: greedy}", r"needs 'solver.mode: exact'"),
        ("colour: red", r"unknown key 'colour'"),
        ("weights: [1, 2]", r"'weights' must map component names"),
        ("fairness: {min_impact_ratio: 1.2}", r"'fairness.min_impact_ratio' must be a number in \[1e-09, 1\]"),
        (
            "weights: {skill_match: 0, price_fit: 0, rating: 0, reliability: 0, experience: 0, waiting: 0}",
            "at least one weight",
        ),
        ("[unclosed", "not valid YAML"),
    ],
    ids=[
        "negative-weight",
        "unknown-weight",
        "k",
        "mode",
        "fair-greedy",
        "unknown-key",
        "weights-list",
        "ratio",
        "all-zero",
        "yaml",
    ],
)
def test_bad_policy_names_the_key(text, match):
    with pytest.raises(GigshiftError, match=match):
        Policy.from_yaml(text, source="my-policy.yaml")


def test_policy_round_trips_and_statement_lists_weights():
    policy = default_policy()
    assert Policy.from_yaml(policy.to_yaml()) == policy
    statement = transparency_statement(policy)
    assert "| skill_match |" in statement and "35%" in statement
    shares = [int(x) for x in re.findall(r"\| (\d+)% \|", statement)]
    assert sum(shares) == 100


def test_result_contract(market):
    policy = default_policy().with_options(fairness_attribute="sex")
    result = allocate(market.tasks, market.workers, policy, seed=2)
    assert isinstance(result.tidy(), pl.DataFrame)
    body = json.loads(result.to_json())  # allow_nan=False: a NaN would have raised
    assert body["summary"]["n_assigned"] == result.assignments.height
    assert body["fairness"] and body["provenance"]["method"].startswith("gigshift.allocate")
    assert body["provenance"]["seed"] == 2
    assert "Selection rates by group" in result.to_markdown()
    with pytest.raises(AttributeError):  # frozen: results are values
        result.objective = 0.0  # type: ignore[misc]
