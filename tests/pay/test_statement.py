"""A worker's statement: their own numbers (as an audit of their jobs alone), beside the pool's protected ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from gigshift.pay import Pool, audit, statement, synthetic


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    path = tmp_path_factory.mktemp("pool") / "pool"
    synthetic(n_workers=150, n_weeks=4, seed=11).write(path, given_at=datetime(2025, 2, 3, tzinfo=UTC))
    return Pool.open(path)


def test_own_numbers_equal_an_audit_of_the_workers_jobs_alone(pool):
    worker = "w00004"
    s = statement(pool, worker_id=worker, detect=False)
    jobs = pool.jobs().filter(pl.col("worker_id") == worker).drop("contribution_id")
    sessions = pool.sessions().filter(pl.col("worker_id") == worker).drop("contribution_id")
    alone = audit(jobs, sessions=sessions, config=pool.config, dims=("platform", "week"), k=1, n_bootstrap=0,
                  detect=False)  # fmt: skip
    for mine, ref in zip(s.weeks.iter_rows(named=True), alone.cells.iter_rows(named=True), strict=True):
        assert (mine["platform"], mine["week"]) == (ref["platform"], ref["week"])
        for name in ("hourly_engaged", "hourly_logged_in", "hourly_net", "utilisation", "take_rate"):
            assert mine[name] == pytest.approx(ref[name], rel=1e-9, nan_ok=True) or mine[name] is ref[name] is None
        assert mine["below_minimum_wage"] == (ref["below_minimum_wage"] == 1.0)


def test_pool_numbers_are_the_protected_audit_cells(pool):
    s = statement(pool, worker_id="w00004", detect=False)
    cells = audit(pool, dims=("platform", "week"), n_bootstrap=0, detect=False).cells
    got = s.weeks.select("platform", "week", "pool_hourly_logged_in").join(cells, on=["platform", "week"])
    assert got["pool_hourly_logged_in"].to_list() == pytest.approx(got["hourly_logged_in"].to_list())
    hidden = statement(pool, worker_id="w00004", k=10_000, detect=False)
    assert hidden.weeks["pool_hourly_logged_in"].is_null().all()  # fewer than k workers: withheld
    assert hidden.weeks["hourly_logged_in"].is_not_null().all()  # the worker's own numbers are always theirs


def test_renderings(pool, tmp_path):
    s = statement(pool, worker_id="w00004", detect=False)
    body = json.loads(s.to_json())
    assert body["worker_id"] == "w00004" and body["consent"][0]["contribution_id"] == "synthetic"
    assert "Pay statement for w00004" in s.to_markdown()
    html = s.to_html(tmp_path / "s.html")
    assert (tmp_path / "s.html").read_text() == html and "Your consent" in html
