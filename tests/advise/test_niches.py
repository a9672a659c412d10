"""Niches: the ranking is its components' weighted sum, each component is what it says (checked against
gigshift.insights, the atlas and the winning bids), planted demand growth is found, and bad input is named."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError, NotFoundError
from gigshift.advise import NICHE_WEIGHTS, NichesResult, niches
from gigshift.advise._marketdata import winning_bids
from gigshift.advise._niches import category_facts
from gigshift.insights import market as insights_market
from gigshift.market import Market, synthetic, synthetic_tasks
from gigshift.taxonomy import categories

COMPONENTS = tuple(NICHE_WEIGHTS)


@pytest.fixture(scope="module")
def market():
    return synthetic(n_workers=3000, n_tasks=2500, seed=41)


@pytest.fixture(scope="module")
def worker(market):
    """A worker in a busy category with several skills."""
    busiest = market.tasks.group_by("category").len().sort(["len", "category"], descending=[True, False])["category"]
    rows = market.workers.filter(
        pl.col("categories").list.contains(busiest[0]) & (pl.col("skills").list.len() >= 5)
    ).sort("worker_id")
    return rows.row(0, named=True)


@pytest.fixture(scope="module")
def result(market, worker):
    return niches(market, worker_id=worker["worker_id"], top=50, seed=0)


def test_score_is_the_weighted_sum_of_components_and_ranks_follow_it(result):
    table = result.niches
    assert table.height >= 5
    expected = sum(NICHE_WEIGHTS[k] / sum(NICHE_WEIGHTS.values()) * table[f"score_{k}"] for k in COMPONENTS)
    np.testing.assert_allclose(table["score"].to_numpy(), expected.to_numpy(), atol=1e-12)
    assert table["rank"].to_list() == list(range(1, table.height + 1))
    assert (table["score"].diff().drop_nulls() <= 1e-15).all()
    for k in COMPONENTS:
        assert table[f"score_{k}"].is_between(0, 1).all(), k
    long = result.components()
    summed = long.group_by("rank").agg(pl.col("contribution").sum()).sort("rank")
    np.testing.assert_allclose(summed["contribution"].to_numpy(), table["score"].to_numpy(), atol=1e-12)


def test_a_niche_better_on_every_component_ranks_higher(result):
    values = result.niches.select(*(f"score_{k}" for k in COMPONENTS)).to_numpy()
    n, n_pairs = len(values), 0
    for i in range(n):
        for j in range(n):
            if np.all(values[i] >= values[j]) and np.any(values[i] > values[j]):
                assert i < j, (i, j)
                n_pairs += 1
    assert n_pairs > 0  # the check is not vacuous


def test_why_names_the_figures_and_the_strongest_and_weakest_component(result):
    labels = {"demand": "demand", "competition": "competition", "exposure": "AI exposure", "pay": "pay"}
    w = result.weights
    for r in result.niches.iter_rows(named=True):
        contrib = {k: w[k] * (r[f"score_{k}"] - 0.5) for k in COMPONENTS}
        best = max(contrib, key=lambda k: (contrib[k], k))
        worst = min(contrib, key=lambda k: (contrib[k], k))
        assert f"Lifted most by {labels[best]}, held back most by {labels[worst]}." in r["why"]
        assert f"{r['ai_substitution_share']:.0%} of tasks E1" in r["why"]
        if r["bids_per_task"] is not None:
            assert f"{r['bids_per_task']:.1f} bids" in r["why"]


def test_category_activity_is_gigshift_insights_market(market, result):
    winners = winning_bids(market, seed=0).table.select("task_id", "worker_id", "price_usd")
    summary = insights_market(tasks=market.tasks, bids=market.bids, assignments=winners, seed=0).summary()
    cats = result.niches.filter(pl.col("kind") == "category").join(summary, on="category", suffix="_insights")
    assert cats.height > 0
    np.testing.assert_allclose(cats["bids_per_task"], cats["bids_per_task_insights"], rtol=1e-12)
    assert (cats["n_tasks"] == cats["n_tasks_posted"]).all()


def test_skill_niches_use_the_same_definitions_as_categories(market, result):
    """Recompute one skill niche's activity by hand: tasks needing the skill, their bids, distinct bidders."""
    row = result.niches.filter(pl.col("kind") == "skill").row(0, named=True)
    tasks = market.tasks.filter(
        (pl.col("category") == row["category"]) & pl.col("required_skills").list.contains(row["skill"])
    )
    bids = market.bids.join(tasks.select("task_id"), on="task_id")
    assert row["n_tasks"] == tasks.height
    assert row["bids_per_task"] == pytest.approx(bids.height / tasks.height)
    assert row["workers_per_task"] == pytest.approx(bids["worker_id"].n_unique() / tasks.height)  # one week


def test_exposure_and_pay_components(market, worker, result):
    atlas = categories().select("slug", "gpt4_alpha", "human_alpha")
    joined = result.niches.join(atlas, left_on="category", right_on="slug")
    np.testing.assert_allclose(
        joined["score_exposure"], 1 - (joined["gpt4_alpha"] + joined["human_alpha"]) / 2, atol=1e-12
    )
    won = winning_bids(market, seed=0).table
    for r in result.niches.filter(pl.col("median_winning_rate_usd").is_not_null()).head(5).iter_rows(named=True):
        rates = won.filter(pl.col("category") == r["category"])
        if r["kind"] == "skill":
            rates = rates.filter(pl.col("required_skills").list.contains(r["skill"]))
        assert r["median_winning_rate_usd"] == pytest.approx(rates["hourly_rate_usd"].median())
        ratio = r["median_winning_rate_usd"] / worker["hourly_rate_usd"]
        assert r["score_pay"] == pytest.approx(min(1.0, max(0.0, 0.5 + math.log2(ratio) / 2)))


def test_only_niches_the_worker_could_serve(worker, result):
    from gigshift.advise._marketdata import neighbour_categories

    skills = set(worker["skills"])
    related = {s for c in worker["categories"] for s in neighbour_categories(c).head(8)["slug"].to_list()}
    assert set(result.settings["related_categories"]) == related
    for r in result.niches.iter_rows(named=True):
        assert r["is_listed"] == (r["category"] in worker["categories"])
        assert r["is_listed"] or (r["fit"] >= 0.25 and r["category"] in related)
        if r["kind"] == "skill":
            assert r["skill"] in skills
    assert set(worker["categories"]) & set(result.niches["category"].to_list())


def test_planted_demand_growth_is_found(market):
    """A second week in which one category triples and another shrinks: its weekly growth is exact."""
    counts = market.tasks.group_by("category").len()
    up, down = counts.sort(["len", "category"], descending=[True, False])["category"][:2].to_list()
    n_up, n_down = (counts.filter(pl.col("category") == c)["len"][0] for c in (up, down))
    week2 = synthetic_tasks(
        {up: 3 * n_up, down: n_down // 3},
        start=datetime(2026, 1, 12, tzinfo=UTC),
        n_clients=market.clients.height,
        id_prefix="u",
        seed=2,
    )
    grown = Market(
        workers=market.workers,
        clients=market.clients,
        tasks=pl.concat([market.tasks.filter(pl.col("category").is_in([up, down])), week2]),
        bids=market.bids,
        provenance=market.provenance,
    )
    result = niches(grown, categories=[up, down], skills=[], top=50, seed=0)
    cats = {r["category"]: r for r in result.niches.filter(pl.col("kind") == "category").iter_rows(named=True)}
    assert cats[up]["market_growth_pct"] == pytest.approx(100 * ((1 + 3 * n_up) / (1 + n_up) - 1))
    assert cats[down]["market_growth_pct"] == pytest.approx(100 * ((1 + n_down // 3) / (1 + n_down) - 1))
    assert "/week here" in cats[up]["why"]
    assert result.settings["n_weeks"] == 2


def test_profile_without_a_worker(market):
    result = niches(market, categories=["web-dev"], skills=["JavaScript", "Python"], hourly_rate_usd=20.0, seed=0)
    assert result.worker["worker_id"] is None and result.worker["categories"] == ["web-dev"]
    assert isinstance(result, NichesResult) and result.niches.height > 0
    assert "web-dev" in result.niches["category"].to_list()


def test_market_without_bids_says_competition_is_unknown(market):
    bare = Market(
        workers=market.workers,
        clients=market.clients,
        tasks=market.tasks,
        bids=market.bids.clear(),
        provenance=market.provenance,
    )
    result = niches(bare, categories=["web-dev"], skills=[], seed=0)
    assert (result.niches["score_competition"] == 0.5).all() and (result.niches["score_pay"] == 0.5).all()
    assert any("no bids" in n for n in result.notes)
    assert "competition unknown (no bids)" in result.niches["why"][0]


def test_thin_categories_are_named(market):
    counts = market.tasks.group_by("category").len().sort("len")
    thin = counts.filter(pl.col("len") < 10)["category"][0]
    result = niches(market, categories=[thin], skills=[], seed=0)
    assert any("too few tasks" in n and thin in n for n in result.notes)


def test_json_contract(result):
    body = json.loads(result.to_json())
    assert set(body) >= {"worker", "niches", "n_candidates", "weights", "notes", "provenance"}
    first = body["niches"][0]
    assert set(first) >= {"rank", "niche_id", "kind", "label", "score", "components", "metrics", "why"}
    assert set(first["components"]) == set(COMPONENTS)
    assert body["n_candidates"] >= len(body["niches"])
    assert "<table>" in result.to_html() and "| # | niche |" in result.to_markdown()


def test_category_facts_cover_the_atlas():
    facts = category_facts()
    assert facts.height == categories().height
    online = facts.filter(pl.col("mode") == "online")
    assert online["oli_trend_pct"].null_count() == 0
    assert (
        facts.filter(pl.col("mode") == "on-location")["oli_trend_pct"].null_count()
        == facts.filter(pl.col("mode") == "on-location").height
    )


def test_weights_change_the_ranking_as_asked(market, worker):
    only_exposure = niches(
        market, worker_id=worker["worker_id"], top=50, weights={"demand": 0, "competition": 0, "pay": 0}
    )
    np.testing.assert_allclose(only_exposure.niches["score"], only_exposure.niches["score_exposure"])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"worker_id": "w07"}, NotFoundError, "unknown worker 'w07'; closest: w0007"),
        ({"worker_id": "w0001", "skills": ["Python"]}, GigshiftError, "not both"),
        ({}, GigshiftError, "give a worker_id, or a profile"),
        ({"categories": ["web-deve"]}, NotFoundError, "closest: web-dev"),
        ({"categories": "web-dev"}, GigshiftError, "categories must be a list"),
        ({"worker_id": "w0001", "min_fit": 2}, GigshiftError, "min_fit must be a number from 0 to 1"),
        ({"worker_id": "w0001", "weights": {"growth": 1}}, GigshiftError, "unknown weight"),
        ({"worker_id": "w0001", "top": 0}, GigshiftError, "top must be an integer >= 1"),
        ({"worker_id": "w0001", "n_related": -1}, GigshiftError, "n_related must be an integer >= 0"),
    ],
    ids=[
        "unknown-worker",
        "both",
        "neither",
        "unknown-category",
        "categories-string",
        "min-fit",
        "weights",
        "top",
        "n-related",
    ],
)
def test_bad_input_is_named(market, kwargs, error, match):
    with pytest.raises(error, match=match):
        niches(market, **kwargs)


def test_fit_weights_each_skill_by_how_specific_it_is(market, worker, result):
    """Recompute a category niche's fit by hand: idf-weighted share of each task's skills the worker has."""
    row = result.niches.filter(pl.col("kind") == "category").row(0, named=True)
    tasks = market.tasks.select("task_id", "category", "required_skills")
    n_categories = tasks["category"].n_unique()
    df: dict[str, set[str]] = {}
    for category, skills in tasks.select("category", "required_skills").iter_rows():
        for s in skills:
            df.setdefault(s, set()).add(category)
    idf = {s: math.log((1 + n_categories) / (1 + len(c))) for s, c in df.items()}
    have = set(worker["skills"])
    shares = []
    for skills in tasks.filter(pl.col("category") == row["category"])["required_skills"].to_list():
        skills = set(skills)
        total = sum(idf[s] for s in skills)
        if not skills:
            shares.append(1.0)
        elif total > 0:
            shares.append(sum(idf[s] for s in skills & have) / total)
        else:
            shares.append(len(skills & have) / len(skills))
    assert row["fit"] == pytest.approx(float(np.mean(shares)), abs=1e-12)
    # a skill every category asks for adds nothing
    assert min(idf.values()) >= 0
