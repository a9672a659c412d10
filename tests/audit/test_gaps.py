"""Outcome gaps: Oaxaca-Blinder on a known answer, rating gaps against planted effects, concentration."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError, InputError
from gigshift.allocate import allocate, default_policy
from gigshift.audit import audit, concentration, pay_gap, rating_gap
from gigshift.market import synthetic


def test_oaxaca_blinder_known_answer():
    """Same returns in both groups, different characteristics, a fixed penalty: the split is exact."""
    rng = np.random.default_rng(0)
    n = 2000
    female = rng.random(n) < 0.45
    hours = np.where(female, rng.normal(20, 4, n), rng.normal(26, 4, n))
    pay = 8 + 0.5 * hours - 1.5 * female  # no noise: the decomposition has one right answer
    d = pl.DataFrame({"sex": np.where(female, "F", "M"), "pay": pay, "hours": hours})
    r = pay_gap(d, group="sex", outcome="pay", controls=["hours"], reference="M", n_bootstrap=50, seed=1)
    expected_explained = 0.5 * (hours[~female].mean() - hours[female].mean())
    assert r.gap == pytest.approx(pay[~female].mean() - pay[female].mean(), abs=1e-9)
    assert r.explained == pytest.approx(expected_explained, abs=1e-9)
    assert r.unexplained == pytest.approx(1.5, abs=1e-9)
    assert r.gap == pytest.approx(r.explained + r.unexplained, abs=1e-9)
    # the sign follows reference - comparison whichever way round the groups are given
    flipped = pay_gap(d, group="sex", outcome="pay", controls=["hours"], reference="F", n_bootstrap=0)
    assert flipped.gap == pytest.approx(-r.gap) and flipped.unexplained == pytest.approx(-1.5, abs=1e-9)
    body = json.loads(r.to_json())
    assert body["reference"] == "M" and body["explained_se"] >= 0
    assert "unexplained +1.500" in r.to_markdown()


def test_rating_gap_recovers_a_planted_effect_net_of_controls():
    rng = np.random.default_rng(1)
    n = 6000
    female = rng.random(n) < 0.5
    jobs = rng.poisson(np.where(female, 10, 30))  # women have fewer jobs, and jobs raise ratings
    rating = 4.0 + 0.02 * jobs - 0.2 * female + rng.normal(0, 0.3, n) * (1 + female)  # heteroskedastic
    d = pl.DataFrame({"sex": np.where(female, "female", "male"), "rating": rating, "jobs": jobs})
    r = rating_gap(d, group="sex", outcome="rating", controls=["jobs"])
    row = r.table.filter(pl.col("category") == "female").row(0, named=True)
    assert r.reference == "male" or r.reference == "female"
    gap = row["adjusted_gap"] if r.reference == "male" else -row["adjusted_gap"]
    assert gap == pytest.approx(-0.2, abs=0.03)
    assert abs(row["raw_gap"]) > 0.5  # the raw gap mixes in the jobs difference
    assert row["ci_lo"] < row["adjusted_gap"] < row["ci_hi"]
    # independent check: coefficients by least squares, HC3 standard errors by hand
    x = np.column_stack([np.ones(n), (d["sex"] != r.reference).cast(float).to_numpy(), jobs])
    beta, *_ = np.linalg.lstsq(x, rating, rcond=None)
    resid = rating - x @ beta
    xtx_inv = np.linalg.inv(x.T @ x)
    leverage = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    meat = (x * (resid**2 / (1 - leverage) ** 2)[:, None]).T @ x
    se = np.sqrt(np.diag(xtx_inv @ meat @ xtx_inv))
    assert row["adjusted_gap"] == pytest.approx(beta[1], abs=1e-10)
    assert row["se"] == pytest.approx(se[1], rel=1e-8)


def test_rating_gap_bad_input():
    d = pl.DataFrame({"sex": ["f", "m"], "rating": [4.0, 5.0]})
    with pytest.raises(InputError, match=r"column 'ratng'.*closest: 'rating'"):
        rating_gap(d, group="sex", outcome="ratng")
    with pytest.raises(GigshiftError, match="need at least 2"):
        rating_gap(d.head(1), group="sex")
    with pytest.raises(GigshiftError, match="reference 'x' is not a group"):
        rating_gap(d, group="sex", reference="x")


def test_concentration_known_values():
    d = pl.DataFrame({"worker_id": list("abcdefghij"), "jobs": [0, 0, 0, 0, 0, 0, 0, 0, 0, 10], "sex": ["f", "m"] * 5})
    out = concentration(d, amount="jobs", group="sex")
    everyone = out.filter(pl.col("group") == "all").row(0, named=True)
    assert everyone["gini"] == pytest.approx(0.9)  # one of ten has everything: (n - 1) / n
    assert everyone["top10_share"] == 1.0
    equal = concentration(pl.DataFrame({"worker_id": ["a", "b"], "jobs": [3, 3]}), amount="jobs")
    assert equal.item(0, "gini") == 0.0 and equal.item(0, "top10_share") == 0.5


def test_audit_finds_the_bias_planted_in_a_synthetic_market():
    """End to end: clients rate women lower; a rating-heavy policy then selects fewer women; the audit sees both."""
    market = synthetic(n_workers=4000, n_tasks=800, seed=3, rating_bias={"sex": {"female": -0.5}})
    policy = default_policy().with_options(weights={**default_policy().weights, "rating": 0.8})
    result = allocate(market.tasks, market.workers, policy, seed=1)
    report = audit(result.decision_log, ["sex"], selected="is_selected", person="worker_id", seed=2, exclude_small=True)
    rows = {r["category"]: r for r in report.groups.iter_rows(named=True)}
    assert rows["female"]["impact_ratio"] < 0.8
    assert rows["female"]["impact_ratio_ci_hi"] < 0.9
    assert rows["male"]["impact_ratio"] > 0.9
    assert any(f.startswith("sex = female: impact ratio") for f in report.findings())
    # the rating gap itself, net of experience
    rated = market.workers.filter(pl.col("rating").is_not_null())
    gap = rating_gap(rated, group="sex", outcome="rating", controls=["n_jobs_completed"], reference="male")
    female = gap.table.filter(pl.col("category") == "female").row(0, named=True)
    assert female["ci_hi"] < 0 and female["adjusted_gap"] == pytest.approx(-0.5, abs=0.12)
    # and a fair policy removes the selection gap the audit found
    fair = allocate(market.tasks, market.workers, policy.with_options(fairness_attribute="sex"), seed=1)
    again = audit(fair.decision_log, ["sex"], selected="is_selected", person="worker_id", seed=2, exclude_small=True)
    assert again.groups.filter(pl.col("category") == "female").item(0, "impact_ratio") >= 0.8 - 1e-9
