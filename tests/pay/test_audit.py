"""The pay audit on synthetic pools: planted take rates, gaps and changes recovered; revocation; privacy; contract."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import polars as pl
import pytest

from gigshift import GigshiftError
from gigshift.pay import Pool, audit, statement, synthetic


@pytest.fixture(scope="module")
def planted():
    return synthetic(
        n_workers=600,
        n_weeks=12,
        platforms=("rideco", "dashfood", "courierx"),
        take_rates={"rideco": 0.22, "dashfood": 0.33},
        changes=[{"platform": "rideco", "date": "2025-02-17", "factor": 0.8, "share": 0.5}],
        group_gaps={"sex": {"female": 0.9}},
        seed=7,
    )


@pytest.fixture(scope="module")
def result(planted):
    return audit(planted.jobs, sessions=planted.sessions, workers=planted.workers, config=planted.config, seed=1)


def test_planted_take_rates_are_recovered(result):
    rates = dict(result.platforms.select("platform", "take_rate").iter_rows())
    assert rates["rideco"] == pytest.approx(0.22, abs=0.005)
    assert rates["dashfood"] == pytest.approx(0.33, abs=0.005)
    assert rates["courierx"] is None  # its exports show no client price
    row = result.platforms.filter(pl.col("platform") == "dashfood").row(0, named=True)
    assert row["take_rate_ci_lo"] <= row["take_rate"] <= row["take_rate_ci_hi"] < row["take_rate_ci_lo"] + 0.01


def test_planted_group_gap_is_recovered(result):
    sex = result.gaps.filter(pl.col("attribute") == "sex").row(0, named=True)
    assert (sex["reference"], sex["comparison"]) == ("male", "female")
    # women earn 0.9 of what men earn for the same job: -log(0.9) = 0.105 log points, none of it explained
    assert sex["unexplained"] == pytest.approx(-math.log(0.9), abs=0.03)
    assert sex["gap"] > sex["unexplained"]  # women also work more on the lower-paid delivery apps
    age = result.gaps.filter(pl.col("attribute") == "age_band").row(0, named=True)
    assert abs(age["unexplained"]) < 0.03  # no gap planted by age


def test_planted_pay_change_is_detected(result, planted):
    change = result.changes.filter(pl.col("platform") == "rideco", pl.col("metric") == "pay_per_km")
    assert change.height == 1
    row = change.row(0, named=True)
    assert row["date"] == date(2025, 2, 17)
    assert row["change"] == pytest.approx(-0.2, abs=0.05)
    truth = planted.planted["changes"][0]
    assert row["share_of_workers_cut"] == pytest.approx(truth["workers_cut"] / truth["workers_on_platform"], abs=0.15)
    assert result.changes.filter(pl.col("platform") != "rideco").height == 0


def test_json_contract(result):
    body = json.loads(result.to_json(), parse_constant=lambda c: pytest.fail(f"non-finite {c} in JSON"))
    assert set(body["pool"]) >= {"workers", "jobs", "platforms", "period"}
    assert body["pool"]["platforms"] == ["courierx", "dashfood", "rideco"]
    assert body["pool"]["period"] == ["2025-01-06", "2025-03-30"]
    cell = body["cells"][0]
    assert set(cell) >= {"platform", "category", "week", "workers", "hourly_engaged", "hourly_logged_in",
                         "hourly_net", "utilisation", "take_rate", "below_standard", "suppressed"}  # fmt: skip
    assert set(cell["below_standard"]) == {"minimum_wage", "minimum_wage_net", "delivery_minimum", "fairwork_1_1",
                                           "fairwork_1_2"}  # fmt: skip
    change = body["changes"][0]
    assert set(change) == {"platform", "metric", "date", "change", "ci", "share_of_workers_cut"}
    assert set(body["privacy"]) >= {"k", "epsilon_spent", "epsilon_left"}
    assert body["privacy"]["epsilon_spent"] == 0 and body["privacy"]["epsilon_left"] == 1.0


def test_same_seed_same_audit(planted):
    args = {"sessions": planted.sessions, "workers": planted.workers, "config": planted.config, "detect": False}
    small = planted.jobs.filter(pl.col("worker_id") < "w00200")
    first, second = (json.loads(audit(small, seed=3, **args).to_json()) for _ in range(2))
    # parallel sums may differ in the last bits from run to run; every figure agrees far beyond what is shown
    assert _flat(first).keys() == _flat(second).keys()
    for key, value in _flat(first).items():
        other = _flat(second)[key]
        assert other == (pytest.approx(value, rel=1e-9, abs=1e-12) if isinstance(value, float) else value), key


def _flat(body: object, prefix: str = "") -> dict[str, object]:
    if isinstance(body, dict):
        return {k: v for key, item in body.items() for k, v in _flat(item, f"{prefix}.{key}").items()}
    if isinstance(body, list):
        return {k: v for i, item in enumerate(body) for k, v in _flat(item, f"{prefix}[{i}]").items()}
    return {prefix: body}


def test_html_report_is_self_contained(result):
    html = result.to_html()
    assert "Plotly.newPlot" in html and "<script src" not in html  # plotly.js inlined, nothing fetched
    for heading in ("Hourly pay", "Utilisation", "Take rate over time", "Detected pay changes", "Standards met",
                    "Privacy"):  # fmt: skip
        assert heading in html
    assert "No figure describes fewer than 11 workers" in html


@pytest.fixture
def pool(tmp_path):
    pool = synthetic(n_workers=120, n_weeks=4, seed=2)
    pool.write(tmp_path / "pool", given_at=datetime(2025, 3, 1, tzinfo=UTC))
    return Pool.open(tmp_path / "pool")


def test_revoked_worker_is_absent_from_later_releases(pool):
    before = audit(pool, detect=False, n_bootstrap=0)
    gone = "w00007"
    n_gone = pool.jobs().filter(pl.col("worker_id") == gone).height
    assert n_gone > 0
    pool.revoke(gone, at=datetime(2025, 3, 2, tzinfo=UTC))
    after = audit(pool, detect=False, n_bootstrap=0)
    assert after.pool["workers"] == before.pool["workers"] - 1
    assert after.pool["jobs"] == before.pool["jobs"] - n_gone
    total = lambda r: r.platforms["n_jobs"].sum()  # noqa: E731
    assert total(after) == total(before) - n_gone
    with pytest.raises(GigshiftError, match="no records with consent in force"):
        statement(pool, worker_id=gone, detect=False)


def test_differential_privacy_spends_the_budget_and_refuses_overspending(pool):
    ledger_file = pool.path / "privacy_ledger.json"
    noisy = audit(pool, detect=False, epsilon=0.6, seed=1)
    assert noisy.privacy["epsilon"] == 0.6 and noisy.privacy["epsilon_spent"] == pytest.approx(0.6)
    assert noisy.privacy["epsilon_left"] == pytest.approx(0.4)
    assert noisy.cells["hourly_engaged_ci_lo"].is_null().all()  # bootstrap intervals are not private
    assert noisy.cells["workers"].is_null().all()
    written = ledger_file.read_text()
    with pytest.raises(GigshiftError, match=r"more than the 0\.4 left of the pool's privacy budget"):
        audit(pool, detect=False, epsilon=0.5, seed=1)
    assert ledger_file.read_text() == written  # nothing charged, nothing released
    plain = audit(pool, detect=False, n_bootstrap=0)
    assert plain.privacy["epsilon_spent"] == pytest.approx(0.6) and plain.privacy["epsilon"] is None
    assert "epsilon = 0.6 spent so far" in plain.privacy["statement"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dims": ("platform", "city")}, "dims must be distinct names from platform, category, area, week"),
        ({"k": 0}, "k must be an integer >= 1"),
        ({"epsilon": -1.0}, "epsilon must be a number > 0"),
        ({"n_bootstrap": -5}, "n_bootstrap must be an integer >= 0"),
    ],
    ids=["dims", "k", "epsilon", "bootstrap"],
)
def test_bad_parameters_are_named(planted, kwargs, message):
    with pytest.raises(GigshiftError, match=message):
        audit(planted.jobs.head(100), detect=False, **kwargs)


def test_epsilon_needs_a_ledger(planted):
    with pytest.raises(GigshiftError, match="epsilon needs a privacy ledger"):
        audit(planted.jobs.head(100), detect=False, epsilon=0.1)


def test_a_small_cell_after_released_ones_is_withheld_with_its_complements(planted):
    """Three workers drive in a week nobody else works: that cell, and enough others, are withheld."""
    jobs = planted.jobs.filter(pl.col("worker_id") < "w00300")
    late = (
        jobs.filter(pl.col("platform") == "rideco")
        .group_by("worker_id", maintain_order=True)
        .first()
        .head(3)
        .with_columns(pl.col("start") + pl.duration(weeks=20), pl.col("end") + pl.duration(weeks=20))
    )
    result = audit(pl.concat([jobs, late]), config=planted.config, n_bootstrap=0, detect=False)
    late_week = late.get_column("start").dt.truncate("1w").dt.date().unique()  # weeks start on Monday
    assert late_week.len() == 1
    small = result.cells.filter(pl.col("week") == late_week[0])
    assert small.height >= 1 and small["suppressed"].all() and small["hourly_engaged"].is_null().all()
    assert not result.cells["suppressed"][0]  # the first cell is released
    assert result.privacy["cells_withheld"] > result.privacy["cells_withheld_primary"] >= 1
