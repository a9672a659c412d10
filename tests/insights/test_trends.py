"""OLI trends: the change around ChatGPT against an independent computation on the raw CSV, breaks, bad input."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats

from gigshift import GigshiftError, InputError, NotFoundError
from gigshift.insights import trends


@pytest.fixture(scope="module")
def oli_result():
    return trends()


@pytest.fixture(scope="module")
def raw_oli(raw_dir):
    import pandas as pd

    path = raw_dir / "oli" / "oli_levels_monthly.csv"
    if not path.is_file():
        pytest.skip(f"raw OLI file absent: {path}")
    return pd.read_csv(path, parse_dates=["date"]).set_index("date").sort_index()


def test_change_around_chatgpt_matches_raw_csv(oli_result, raw_oli):
    # Independent computation: pandas on the raw monthly CSV, 12 months each side of November 2022.
    before = raw_oli.loc["2021-11-01":"2022-10-01"]
    after = raw_oli.loc["2022-12-01":"2023-11-01"]
    assert len(before) == len(after) == 12
    shares_before = before.div(before["Total"], axis=0)
    shares_after = after.div(after["Total"], axis=0)
    events = oli_result.events
    assert events.height == 7
    for row in events.iter_rows(named=True):
        name = row["name"]
        change = math.exp(np.log(after[name]).mean() - np.log(before[name]).mean()) - 1
        relative = math.exp(np.log(shares_after[name]).mean() - np.log(shares_before[name]).mean()) - 1
        market = math.exp(np.log(after["Total"]).mean() - np.log(before["Total"]).mean()) - 1
        assert row["window_months"] == 12 and row["date"] == date(2022, 11, 30)
        assert row["change"] == pytest.approx(change, abs=1e-9), name
        assert row["relative_change"] == pytest.approx(relative, abs=1e-9), name
        assert row["market_change"] == pytest.approx(market, abs=1e-9), name
        assert row["relative_change"] == pytest.approx((1 + row["change"]) / (1 + row["market_change"]) - 1, abs=1e-9)
        assert row["ci_lo"] < row["relative_change"] < row["ci_hi"]


def test_interval_matches_hand_computed_newey_west(oli_result, raw_oli):
    # Newey-West by hand (Bartlett weights, small-sample n/(n-k) correction), Student t with n-2 df.
    name = "Writing and translation"
    share = raw_oli[name] / raw_oli["Total"]
    y = np.log(np.r_[share.loc["2021-11-01":"2022-10-01"].to_numpy(), share.loc["2022-12-01":"2023-11-01"].to_numpy()])
    x = np.column_stack([np.ones(24), np.r_[np.zeros(12), np.ones(12)]])
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    u = (y - x @ beta)[:, None] * x
    lags = math.floor(4 * (24 / 100) ** (2 / 9))
    meat = u.T @ u
    for lag in range(1, lags + 1):
        gamma = u[lag:].T @ u[:-lag]
        meat += (1 - lag / (lags + 1)) * (gamma + gamma.T)
    bread = np.linalg.inv(x.T @ x)
    se = math.sqrt((bread @ meat @ bread)[1, 1] * 24 / 22)
    t = stats.t.ppf(0.975, 22)
    row = oli_result.events.filter(pl.col("name") == name).row(0, named=True)
    assert row["ci_lo"] == pytest.approx(math.expm1(beta[1] - t * se), abs=1e-9)
    assert row["ci_hi"] == pytest.approx(math.expm1(beta[1] + t * se), abs=1e-9)


def test_series_shares_and_trend(oli_result):
    s = oli_result.series
    assert set(s["class"].unique()) == {
        "clerical-data-entry",
        "creative-multimedia",
        "microwork",
        "professional-services",
        "sales-marketing",
        "software-tech",
        "total",
        "writing-translation",
    }
    by_month = s.filter(pl.col("class") != "total").group_by("date").agg(pl.col("share").sum())
    np.testing.assert_allclose(by_month["share"].to_numpy(), 1.0, atol=1e-9)
    assert s.filter(pl.col("class") == "total")["share"].to_list() == [1.0] * 100
    assert s["trend"].null_count() == 0
    for cls in ("writing-translation", "total"):
        one = s.filter(pl.col("class") == cls)
        level, trend = np.log(one["level"].to_numpy()), np.log(one["trend"].to_numpy())
        assert np.median(np.abs(trend - level)) < 0.08  # it follows the level ...
        assert np.sum(np.diff(trend, 2) ** 2) < 0.05 * np.sum(np.diff(level, 2) ** 2)  # ... smoothly


def test_json_contract(oli_result):
    body = json.loads(oli_result.to_json())
    assert {"series", "events", "breaks"} <= body.keys()
    assert {"class", "date", "level", "share"} <= body["series"][0].keys()
    event = body["events"][0]
    assert {"class", "date", "change", "relative_change", "ci"} <= event.keys() and len(event["ci"]) == 2
    assert {"class", "date"} <= body["breaks"][0].keys()
    assert body["events"][0]["date"] == "2022-11-30"


@pytest.mark.parametrize(
    "name",
    ["writing-translation", "Writing and translation", "  WRITING and Translation "],
    ids=["slug", "name", "case"],
)
def test_class_by_slug_or_name(name):
    result = trends(classes=name)
    assert result.series["class"].unique().to_list() == ["writing-translation"]
    assert result.events["class"].to_list() == ["writing-translation"]


@pytest.mark.parametrize(
    ("name", "closest"),
    [("writting", "writing-translation"), ("software", "software-tech"), ("data entry", "clerical-data-entry")],
    ids=["typo", "word", "words"],
)
def test_unknown_class_lists_closest(name, closest):
    with pytest.raises(NotFoundError, match=f"unknown OLI class '{name}'; closest: .*{closest}"):
        trends(classes=name)


def test_event_too_close_to_the_end_gives_no_number():
    result = trends(classes="microwork", events=["2024-06-15"])
    row = result.events.row(0, named=True)
    assert row["change"] is None and row["relative_change"] is None and row["ci_lo"] is None
    assert "only 2 months of data after the event; at least 6 needed" in row["note"]
    outside = trends(classes="microwork", events={"moon landing": "1969-07-20"}).events.row(0, named=True)
    assert outside["change"] is None and "outside the data" in outside["note"] and outside["event"] == "moon landing"


def test_shortened_window_is_flagged():
    row = trends(classes="microwork", events=["2023-12-10"]).events.row(0, named=True)
    assert row["window_months"] == 8 and row["change"] is not None and "window shortened to 8" in row["note"]


def _synthetic_oli(months: int, *, seed: int, break_at: int | None = None) -> pl.DataFrame:
    """Two classes with seasonality and noise; class 'a' changes its growth rate at ``break_at``."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    season = 0.08 * np.sin(2 * np.pi * t / 12)
    slope_a = np.where(t < (break_at or months), 0.01, -0.03)
    log_a = np.log(20) + np.cumsum(slope_a) + season + rng.normal(0, 0.02, months)
    log_b = np.log(50) + 0.002 * t + season + rng.normal(0, 0.02, months)
    dates = pl.date_range(date(2016, 1, 1), date(2040, 1, 1), "1mo", eager=True).head(months)
    return pl.DataFrame(
        {
            "month": pl.concat([dates, dates]),
            "occupation_class": ["a"] * months + ["b"] * months,
            "level": np.r_[np.exp(log_a), np.exp(log_b)],
        }
    )


def _months_from(d: date, origin: date) -> int:
    return (d.year - origin.year) * 12 + d.month - origin.month


@pytest.mark.parametrize("seed", [0, 4, 7])
def test_planted_break_is_found(seed):
    result = trends(_synthetic_oli(96, seed=seed, break_at=60), events=["2019-06-15"])
    breaks_a = result.breaks.filter(pl.col("class") == "a")
    found = breaks_a["date"].to_list()
    nearest = min(found, key=lambda d: abs(_months_from(d, date(2021, 1, 1))))  # planted: month 60 = 2021-01
    assert abs(_months_from(nearest, date(2021, 1, 1))) <= 2, found
    row = breaks_a.filter(pl.col("date") == nearest).row(0, named=True)
    assert row["slope_before_pct_per_year"] > 0 > row["slope_after_pct_per_year"]
    # the market total is computed from the classes when no 'total' rows are given
    assert result.series.filter(pl.col("class") == "total").height == 96


def _steady_oli(months: int, *, seed: int, rho: float) -> pl.DataFrame:
    """Four classes growing alike (flat shares) with seasonality and AR(1) noise: no break anywhere."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    dates = pl.date_range(date(2016, 1, 1), date(2040, 1, 1), "1mo", eager=True).head(months)
    parts = []
    for c in range(4):
        eps = rng.normal(0, 0.03, months)
        noise = np.zeros(months)
        for i in range(months):  # an AR(1) recursion over 100 months of test data
            noise[i] = (rho * noise[i - 1] if i else 0.0) + eps[i]
        log_level = np.log(10 * (c + 1)) + 0.005 * t + 0.08 * np.sin(2 * np.pi * (t + c) / 12) + noise
        parts.append(pl.DataFrame({"month": dates, "occupation_class": f"c{c}", "level": np.exp(log_level)}))
    return pl.concat(parts)


@pytest.mark.parametrize("rho", [0.0, 0.5], ids=["independent", "persistent"])
def test_no_break_in_steady_shares(rho):
    result = trends(_steady_oli(100, seed=0, rho=rho), events=["2019-06-15"])
    assert result.breaks.height == 0, result.breaks


def test_too_short_for_a_trend_says_so():
    result = trends(_synthetic_oli(18, seed=1), events=["2017-04-10"])
    assert result.series["trend"].null_count() == result.series.height
    assert result.breaks.height == 0
    assert any("only 18 months of data: a trend and structural breaks need at least 24" in n for n in result.notes)
    row = result.events.filter(pl.col("class") == "a").row(0, named=True)
    assert row["change"] is None and "only 2 months of data after the event" in row["note"]


def test_bad_oli_rows_are_named():
    table = _synthetic_oli(30, seed=2).with_columns(
        level=pl.when(pl.int_range(pl.len()) == 4).then(-1.0).otherwise(pl.col("level"))
    )
    with pytest.raises(InputError, match=r"oli, row 5, column 'level': expected a finite number > 0, got '-1.0'"):
        trends(table)
    gap = _synthetic_oli(30, seed=2).filter(pl.col("month") != date(2017, 3, 1))
    with pytest.raises(InputError, match="consecutive months"):
        trends(gap)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"events": ["30/11/2022"]}, "event must be a date such as 2022-11-30"),
        ({"window_months": 0}, "window_months must be an integer >= 1"),
        ({"confidence": 1.5}, "confidence must be a number between 0 and 1"),
        ({"min_months": 13}, "min_months"),
    ],
    ids=["date", "window", "confidence", "min-months"],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(GigshiftError, match=message):
        trends(**kwargs)
