"""Pricing: the range covers held-out winning bids at its nominal rate, planted quantiles are recovered,
too little data gives no number, and bad input is named."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from gigshift import GigshiftError, InputError, NotFoundError
from gigshift.advise import PriceResult, price
from gigshift.advise._marketdata import WINNERS_FROM_REPLAY, winning_bids
from gigshift.advise._price import fit_rate_model, predict_log_rates
from gigshift.market import synthetic

CATEGORIES = ["web-dev", "data-entry", "plumbing"]


@pytest.fixture(scope="module")
def market():
    return synthetic(n_workers=3000, n_tasks=3000, categories=CATEGORIES, seed=11)


@pytest.fixture(scope="module")
def winners(market):
    return winning_bids(market, seed=0)


@pytest.fixture(scope="module")
def split(winners):
    """Winning bids split in half at random by task (seeded): fit on one half, check on the other."""
    table = winners.table
    is_test = np.random.default_rng(5).random(table.height) < 0.5
    return table.filter(pl.Series(~is_test)), table.filter(pl.Series(is_test))


def _profiles(table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return table["rating"].cast(pl.Float64).fill_null(np.nan).to_numpy(), table["n_jobs_completed"].to_numpy()


def test_winners_are_one_per_filled_task_with_the_winning_bid(market, winners):
    table = winners.table
    assert winners.source == WINNERS_FROM_REPLAY
    assert table["task_id"].is_unique().all()
    bids = table.join(market.bids, on=["task_id", "worker_id"], how="inner", suffix="_bid")
    assert bids.height == table.height  # every winner bid on its task
    np.testing.assert_allclose(bids["price_usd"], bids["price_usd_bid"])
    np.testing.assert_allclose(table["hourly_rate_usd"], table["price_usd"] / table["expected_hours"])
    assert table.height > 0.9 * market.tasks.height


@pytest.mark.parametrize("coverage", [0.5, 0.8, 0.9], ids=["50%", "80%", "90%"])
def test_range_covers_held_out_winning_bids_at_its_nominal_rate(split, coverage):
    train, test = split
    inside, n = 0, 0
    for cat in CATEGORIES:
        fit_on, check_on = train.filter(pl.col("category") == cat), test.filter(pl.col("category") == cat)
        model = fit_rate_model(
            *_profiles(fit_on),
            fit_on["hourly_rate_usd"].to_numpy(),
            quantiles=((1 - coverage) / 2, 0.5, (1 + coverage) / 2),
        )
        pred, _ = predict_log_rates(model, *_profiles(check_on))
        y = np.log(check_on["hourly_rate_usd"].to_numpy())
        inside += int(((y >= pred[:, 0]) & (y <= pred[:, 2])).sum())
        n += y.size
    rate = inside / n
    # binomial sampling error of the held-out share, plus 2 points for estimating the quantiles on ~700 bids
    tolerance = 3 * math.sqrt(coverage * (1 - coverage) / n) + 0.02
    assert n > 1000
    assert abs(rate - coverage) < tolerance, (rate, coverage, n)


def test_public_price_matches_the_fit_and_covers_new_workers_held_out(market, split):
    """End to end: the range price() gives a new worker (no rating, no jobs), fitted on the training
    tasks' assignments, holds about 80% of the held-out winning bids of new workers."""
    train, test = split
    assignments = train.select("task_id", "worker_id", "price_usd")
    shares = []
    for cat in CATEGORIES:
        result = price(market, category=cat, assignments=assignments, coverage=0.8)
        assert result.is_enough and result.sample["n_winning_bids"] == train.filter(pl.col("category") == cat).height
        fit_on = train.filter(pl.col("category") == cat)
        model = fit_rate_model(*_profiles(fit_on), fit_on["hourly_rate_usd"].to_numpy(), quantiles=(0.1, 0.5, 0.9))
        pred, _ = predict_log_rates(model, np.array([np.nan]), np.array([0]))
        np.testing.assert_allclose(result.range["rate_usd"].to_numpy(), np.exp(pred[0]), rtol=1e-9)
        new = test.filter((pl.col("category") == cat) & (pl.col("n_jobs_completed") == 0))["hourly_rate_usd"]
        shares.append(((new >= result.low) & (new <= result.high)).to_numpy())
    held_out = np.concatenate(shares)
    assert held_out.size > 150
    assert abs(held_out.mean() - 0.8) < 3 * math.sqrt(0.16 / held_out.size) + 0.03, (held_out.mean(), held_out.size)


def test_quantile_regression_recovers_planted_quantiles():
    """Log rate = 2.5 + 0.10 (rating - 4.5) + 0.05 log(1 + jobs) + N(0, 0.3): the 10th, 50th and 90th
    percentiles for a profile are known exactly, and the fitted ones must sit within their intervals."""
    rng = np.random.default_rng(3)
    n = 4000
    rating = np.round(rng.uniform(3.5, 5.0, n), 2)
    rating[rng.random(n) < 0.2] = np.nan
    jobs = rng.integers(0, 200, n)
    x_rating = np.where(np.isnan(rating), 0.0, rating - 4.5)
    log_rate = 2.5 + 0.10 * x_rating - 0.2 * np.isnan(rating) + 0.05 * np.log1p(jobs) + rng.normal(0, 0.3, n)
    model = fit_rate_model(rating, jobs, np.exp(log_rate), quantiles=(0.1, 0.5, 0.9))
    pred, se = predict_log_rates(model, np.array([4.8, np.nan]), np.array([40, 0]))
    truth = np.array(
        [
            [2.5 + 0.03 + 0.05 * math.log(41) + 0.3 * z for z in norm.ppf([0.1, 0.5, 0.9])],
            [2.5 - 0.2 + 0.3 * z for z in norm.ppf([0.1, 0.5, 0.9])],
        ]
    )
    assert np.all(np.abs(pred - truth) < 3 * se), (pred, truth, se)
    assert np.all(se < 0.05)
    slope = model.coef[1, model.terms.index("log_jobs")]
    assert abs(slope - 0.05) < 0.015


def test_quantiles_never_cross_and_ci_brackets_the_estimate(market):
    result = price(market, category="web-dev", rating=2.0, jobs=5000, seed=0)  # far outside the data
    rates = result.range["rate_usd"].to_numpy()
    assert np.all(np.diff(rates) >= 0)
    assert np.all(result.range["ci_lo"].to_numpy() <= rates) and np.all(rates <= result.range["ci_hi"].to_numpy())
    assert any("extrapolated" in n for n in result.notes)


def test_rating_and_experience_shift_the_range_as_the_fit_says(market):
    new = price(market, category="web-dev", seed=0)
    seasoned = price(market, category="web-dev", rating=4.9, jobs=60, seed=0)
    coef = seasoned.coefficients.filter(pl.col("quantile") == 0.5)
    terms = dict(zip(coef["term"], coef["coef"], strict=True))
    expected = terms.get("rating", 0) * 0.4 + terms["log_jobs"] * math.log(61) - terms.get("is_unrated", 0)
    assert math.log(seasoned.median / new.median) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_too_little_data_says_so_and_points_to_the_nearest_category_with_enough(market, winners):
    three = winners.table.filter(pl.col("category") == "web-dev").head(3).select("task_id", "worker_id")
    plenty = winners.table.filter(pl.col("category") == "data-entry").select("task_id", "worker_id")
    result = price(market, category="web-dev", rating=4.9, jobs=12, assignments=pl.concat([three, plenty]))
    assert not result.is_enough
    assert result.low is None and result.median is None and result.range.height == 0
    assert result.headline().startswith("too little data: 3 winning bids")
    assert result.nearest["slug"].to_list() == ["data-entry"]
    body = json.loads(result.to_json())
    assert body["range"] is None and body["is_enough"] is False
    assert body["nearest"][0]["n_winning_bids"] == plenty.height
    assert "$" not in result.to_markdown()  # not a single number


def test_too_little_data_everywhere_says_no_category_has_enough(market, winners):
    few = winners.table.group_by("category").head(5).select("task_id", "worker_id")
    result = price(market, category="plumbing", assignments=few)
    assert not result.is_enough and result.nearest.height == 0
    assert "no category of this market has enough" in result.headline()


def test_skills_narrow_the_sample_when_enough_tasks_need_them(market, winners):
    web = winners.table.filter(pl.col("category") == "web-dev")
    top_skill = web.explode("required_skills")["required_skills"].mode().sort()[0]
    result = price(market, category="web-dev", skills=[top_skill], seed=0)
    n_match = web.filter(pl.col("required_skills").list.contains(top_skill)).height
    if n_match >= 30:
        assert result.sample["basis"] == "skills" and result.sample["n_winning_bids"] == n_match
    rare = price(market, category="web-dev", skills=["Underwater basket weaving"], seed=0)
    assert rare.sample["basis"] == "category" and rare.sample["n_skill_match"] == 0
    assert any("whole category is used" in n for n in rare.notes)


def test_result_json_is_finite_and_complete(market):
    result = price(market, category="plumbing", rating=4.7, jobs=8, seed=0)
    assert isinstance(result, PriceResult) and result.tidy().height == 3
    body = json.loads(result.to_json())
    assert set(body) >= {"category", "profile", "is_enough", "range", "quantiles", "sample", "nearest", "notes"}
    assert body["range"]["coverage"] == 0.8
    assert body["range"]["low_usd_hourly"] < body["range"]["median_usd_hourly"] < body["range"]["high_usd_hourly"]
    assert body["provenance"]["method"].startswith("hourly rate")
    assert "<table>" in result.to_html()


def test_same_seed_same_range(market):
    a = price(market, category="plumbing", seed=3)
    b = price(market, category="plumbing", seed=3)
    assert a.range.equals(b.range)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"category": "plumbng"}, NotFoundError, "unknown category 'plumbng'; closest: plumbing"),
        ({"category": "plumbing", "rating": 6}, GigshiftError, "rating must be a number from 1 to 5"),
        ({"category": "plumbing", "jobs": -1}, GigshiftError, "jobs must be a whole number >= 0"),
        ({"category": "plumbing", "coverage": 1.2}, GigshiftError, "coverage must be a number between 0 and 1"),
        ({"category": "plumbing", "min_winning_bids": 3}, GigshiftError, "min_winning_bids must be an integer >= 10"),
        ({"category": "plumbing", "skills": "Python"}, GigshiftError, "skills must be a list"),
    ],
    ids=["unknown-category", "rating", "jobs", "coverage", "min-bids", "skills-string"],
)
def test_bad_parameters_are_named(market, kwargs, error, match):
    with pytest.raises(error, match=match):
        price(market, **kwargs)


def test_not_a_market_is_named():
    with pytest.raises(GigshiftError, match=r"market must be a gigshift\.market\.Market"):
        price(pl.DataFrame({"a": [1]}), category="plumbing")


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (
            {"task_id": ["t0001", "nope"], "worker_id": ["w0001", "w0001"]},
            "row 2, column 'task_id': expected a task_id",
        ),
        ({"task_id": ["t0001"], "worker_id": ["w9999"]}, "row 1, column 'worker_id': expected a worker_id listed"),
        (
            {"task_id": ["t0001", "t0002"], "worker_id": ["w0001", "w0002"], "price_usd": ["12", "abc"]},
            "row 2, column 'price_usd': expected a finite number > 0, or empty, got 'abc'",
        ),
        ({"task_id": ["t0001", "t0001"], "worker_id": ["w0001", "w0002"]}, "expected each task assigned once"),
        ({"task": ["t0001"], "worker_id": ["w0001"]}, "column 'task_id': expected a column"),
    ],
    ids=["unknown-task", "unknown-worker", "bad-price", "duplicate-task", "missing-column"],
)
def test_bad_assignments_name_row_and_column(market, rows, match):
    with pytest.raises(InputError, match=match):
        price(market, category="plumbing", assignments=pl.DataFrame(rows))
