"""Peers: mentor capacities respected, the matching optimal (SciPy and a MILP as oracles), fairness applied,
explanations consistent with the edges, and bad input named."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import coo_matrix

from gigshift import GigshiftError, InputError, NotFoundError
from gigshift.advise import PEER_WEIGHTS, PeersResult, peers
from gigshift.market import synthetic


@pytest.fixture(scope="module")
def market():
    return synthetic(n_workers=2500, n_tasks=1500, seed=21)


@pytest.fixture(scope="module")
def result(market):
    return peers(market)


@pytest.fixture(scope="module")
def small():
    return synthetic(n_workers=260, n_tasks=150, categories=["web-dev", "data-entry", "graphic-design"], seed=8)


def _optimum_by_assignment(edges: pl.DataFrame, capacity: dict[str, int]) -> float:
    """Max total score with SciPy's Hungarian solver: each mentor as `capacity` slots, plus one 'no mentor'
    column per entrant worth 0, so leaving an entrant unmatched is allowed."""
    entrants = sorted(edges["entrant_id"].unique())
    slots = [(m, s) for m in sorted(capacity) for s in range(capacity[m])]
    score = np.full((len(entrants), len(slots) + len(entrants)), -1e6)
    score[:, len(slots) :] = -1e6
    score[np.arange(len(entrants)), len(slots) + np.arange(len(entrants))] = 0.0
    row = {e: i for i, e in enumerate(entrants)}
    for e, m, s in edges.select("entrant_id", "mentor_id", "score").iter_rows():
        for j, (mentor, _) in enumerate(slots):
            if mentor == m:
                score[row[e], j] = max(s, 0.0)
    r, c = linear_sum_assignment(score, maximize=True)
    return float(score[r, c].sum())


def _optimum_by_milp(edges: pl.DataFrame, capacity: dict[str, int]) -> float:
    """The same optimum as a 0/1 integer programme (HiGHS): one mentor per entrant, capacity per mentor."""
    e_code = {e: i for i, e in enumerate(sorted(edges["entrant_id"].unique()))}
    m_code = {m: i for i, m in enumerate(sorted(capacity))}
    e = np.array([e_code[x] for x in edges["entrant_id"]])
    m = np.array([m_code[x] for x in edges["mentor_id"]])
    n = edges.height
    a_e = coo_matrix((np.ones(n), (e, np.arange(n))), shape=(len(e_code), n))
    a_m = coo_matrix((np.ones(n), (m, np.arange(n))), shape=(len(m_code), n))
    caps = np.array([capacity[x] for x in sorted(capacity)], dtype=float)
    res = milp(
        -edges["score"].to_numpy(),
        constraints=[LinearConstraint(a_e, 0, 1), LinearConstraint(a_m, 0, caps)],
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
    )
    assert res.success
    return float(-res.fun)


def test_every_mentor_within_capacity(result):
    used = result.pairs.group_by("mentor_id").len()
    joined = used.join(result.mentors.select("mentor_id", "capacity", "n_mentees"), on="mentor_id")
    assert joined.height == used.height
    assert (joined["len"] <= joined["capacity"]).all()
    assert (joined["len"] == joined["n_mentees"]).all()
    assert result.pairs["entrant_id"].is_unique().all()
    assert result.pairs.height > 300


def test_capacity_table_is_respected_and_zero_means_no_mentees(market, result):
    mentors = result.mentors["mentor_id"].sort()
    caps = pl.DataFrame({"worker_id": mentors, "capacity": np.arange(mentors.len()) % 3})  # 0, 1, 2, 0, ...
    fitted = peers(market, mentor_capacity=caps)
    load = fitted.pairs.group_by("mentor_id").len().join(caps, left_on="mentor_id", right_on="worker_id")
    assert (load["len"] <= load["capacity"]).all()
    assert load.filter(pl.col("capacity") == 0).height == 0
    assert fitted.pairs.height < result.pairs.height  # a third of the mentors is gone, a third halved


@pytest.mark.parametrize("capacity", [1, 2, 3], ids=["cap1", "cap2", "cap3"])
def test_matching_is_optimal_against_scipy_and_a_milp(small, capacity):
    result = peers(small, mentor_capacity=capacity, min_mentor_jobs=10, min_mentor_rating=4.0, k=50)
    edges = result.edges
    assert edges.height > 50 and result.pairs.height > 5
    caps = {m: capacity for m in edges["mentor_id"].unique()}
    hungarian, integer = _optimum_by_assignment(edges, caps), _optimum_by_milp(edges, caps)
    assert result.objective == pytest.approx(hungarian, abs=1e-6)
    assert result.objective == pytest.approx(integer, abs=1e-6)
    assert result.pairs["score"].sum() == pytest.approx(result.objective, abs=1e-9)


def test_fairness_for_entrants_meets_the_impact_ratio(market, result):
    fair = peers(market, fairness_attribute="sex", min_impact_ratio=0.95)
    rates = fair.fairness.filter(pl.col("is_constrained"))
    assert rates["impact_ratio"].min() >= 0.95 - 1e-9
    # the rates are the entrants' match rates
    matched = fair.pairs.join(market.workers.select("worker_id", "sex"), left_on="entrant_id", right_on="worker_id")
    for group, n_selected in zip(rates["group"], rates["n_selected"], strict=True):
        assert matched.filter(pl.col("sex") == group).height == n_selected
    assert fair.objective <= result.objective + 1e-9
    assert fair.price_of_fairness_pct == pytest.approx(100 * (1 - fair.objective / result.objective), abs=1e-6)


def test_fairness_for_mentors_counts_mentors(market):
    fair = peers(market, fairness_attribute="sex", fair_to="mentors")
    assert fair.fairness["n_candidates"].sum() <= fair.mentors.height
    assert fair.settings["fair_to"] == "mentors"


def test_explanations_agree_with_the_edges(result):
    edges = result.edges.with_columns(rank=pl.int_range(1, pl.len() + 1).over("entrant_id"))
    matched = result.pairs.join(edges, on=["entrant_id", "mentor_id"], suffix="_edge")
    assert matched.height == result.pairs.height
    assert (matched["rank"] == matched["rank_edge"]).all()
    np.testing.assert_allclose(matched["score"], matched["score_edge"])
    # components add up to the score with the default weights
    recomputed = sum(PEER_WEIGHTS[k] / sum(PEER_WEIGHTS.values()) * matched[k] for k in PEER_WEIGHTS)
    np.testing.assert_allclose(recomputed.to_numpy(), matched["score"].to_numpy(), atol=1e-12)
    # the margin is over the best candidate not chosen
    with_runner = matched.filter(pl.col("runner_up_mentor_id").is_not_null())
    runner = with_runner.join(
        edges.select("entrant_id", runner_up_mentor_id="mentor_id", runner_score="score"),
        on=["entrant_id", "runner_up_mentor_id"],
    )
    np.testing.assert_allclose(runner["margin"], runner["score"] - runner["runner_score"], atol=1e-12)
    # an entrant left without a mentor had every candidate mentor at capacity
    full = result.matches.filter(pl.col("outcome") == "mentors_full").select("entrant_id")
    their = full.join(result.edges, on="entrant_id").join(result.mentors, on="mentor_id")
    assert (their["n_mentees"] >= their["capacity"]).all()
    assert result.matches.filter(pl.col("outcome") == "no_candidate")["n_candidates"].max() == 0


def test_pairs_share_a_category_and_area_on_location(market, result):
    from gigshift.taxonomy import categories

    modes = dict(categories().select("slug", pl.col("mode").cast(pl.String)).iter_rows())
    cats = market.workers.select("worker_id", "location", "n_jobs_completed", "rating", worker_categories="categories")
    pairs = (
        result.pairs.select("entrant_id", "mentor_id", "category")
        .join(cats, left_on="entrant_id", right_on="worker_id")
        .join(cats, left_on="mentor_id", right_on="worker_id", suffix="_mentor")
    )
    for r in pairs.iter_rows(named=True):  # a few hundred pairs
        assert r["category"] in r["worker_categories"]
        assert r["category"] in r["worker_categories_mentor"]
        if modes[r["category"]] == "on-location":
            assert r["location"] == r["location_mentor"]
    assert (pairs["n_jobs_completed"] <= 2).all() and (pairs["n_jobs_completed_mentor"] >= 20).all()
    assert (pairs["rating_mentor"] >= 4.5).all()


def test_skill_complement_is_the_demand_weighted_share_of_the_gap(market, result):
    """Recompute one pair's complement by hand from the category's tasks."""
    r = result.pairs.sort("entrant_id").row(0, named=True)
    tasks = market.tasks.filter(pl.col("category") == r["category"])
    demand = tasks.explode("required_skills").group_by("required_skills").len()
    weight = {s: n / tasks.height for s, n in demand.iter_rows()}
    skills = dict(market.workers.select("worker_id", "skills").iter_rows())
    have, mentor = set(skills[r["entrant_id"]]), set(skills[r["mentor_id"]])
    gap = sum(w for s, w in weight.items() if s not in have)
    taught = sum(w for s, w in weight.items() if s not in have and s in mentor)
    assert r["skill_complement"] == pytest.approx(taught / gap if gap else 0.0, abs=1e-12)
    assert r["n_skills_taught"] == len(mentor - have)


def test_time_zone_component(market, result):
    from zoneinfo import ZoneInfo

    at = market.tasks["posted_at"].max()
    zones = dict(market.workers.select("worker_id", "time_zone").iter_rows())
    for r in result.pairs.head(40).iter_rows(named=True):
        a, b = zones[r["entrant_id"]], zones[r["mentor_id"]]
        off = [at.astimezone(ZoneInfo(z)).utcoffset().total_seconds() / 3600 for z in (a, b)]
        gap = abs(off[0] - off[1])
        gap = min(gap, 24 - gap)
        assert r["time_gap_hours"] == pytest.approx(gap)
        assert r["time_zone"] == pytest.approx(1 - gap / 12)


def test_one_category_only(market):
    only = peers(market, category="web-dev")
    assert set(only.pairs["category"].to_list()) == {"web-dev"}
    assert all("web-dev" in c for c in only.matches["categories"].to_list())


def test_result_renders(result):
    assert isinstance(result, PeersResult)
    body = json.loads(result.to_json())
    assert body["summary"]["n_matched"] == result.pairs.height
    assert body["summary"]["n_entrants"] == result.matches.height
    assert math.isclose(body["summary"]["objective"], result.objective)
    assert "<table>" in result.to_html() and "| entrant |" in result.to_markdown()


def test_deterministic(market, result):
    assert peers(market).matches.equals(result.matches)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"category": "web-deve"}, NotFoundError, "closest: web-dev"),
        ({"fairness_attribute": "gender"}, InputError, "workers, column 'gender'.*closest"),
        ({"min_mentor_jobs": 2, "max_entrant_jobs": 2}, GigshiftError, "min_mentor_jobs \\(2\\) must exceed"),
        ({"mentor_capacity": 0}, GigshiftError, "mentor_capacity must be an integer >= 1"),
        ({"mentor_capacity": 1.5}, GigshiftError, "mentor_capacity must be an integer >= 1 or a table"),
        ({"weights": {"skills": 1.0}}, GigshiftError, "unknown weight"),
        ({"fair_to": "clients"}, GigshiftError, "fair_to must be one of"),
        ({"min_mentor_rating": 7}, GigshiftError, "min_mentor_rating must be a number from 1 to 5"),
    ],
    ids=["category", "fairness-column", "thresholds", "capacity-0", "capacity-float", "weights", "fair-to", "rating"],
)
def test_bad_parameters_are_named(small, kwargs, error, match):
    with pytest.raises(error, match=match):
        peers(small, **kwargs)


def test_bad_capacity_table_names_row_and_column(small):
    caps = pl.DataFrame({"worker_id": ["w001", "w002"], "capacity": ["2", "many"]})
    with pytest.raises(InputError, match=r"mentor_capacity, row 2, column 'capacity'.*got 'many'"):
        peers(small, mentor_capacity=caps)
