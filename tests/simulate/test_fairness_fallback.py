"""A week whose batch cannot meet the fairness constraint is allocated unconstrained and flagged."""

from __future__ import annotations

import polars as pl

from gigshift.simulate import run


def test_infeasible_parity_weeks_fall_back_and_are_flagged():
    # 200 workers post ~24 tasks a week: some weeks' candidate lists make group parity impossible
    result = run("policy-fair-allocation", workers=200, weeks=20, seed=5)
    weeks = result.categories.group_by("week").agg(
        fallback=pl.col("fairness_fallback").all(),
        any_fallback=pl.col("fairness_fallback").any(),
        filled=pl.col("filled").sum(),
    )
    assert weeks.height == 20
    assert (weeks["fallback"] == weeks["any_fallback"]).all()  # a flag for the whole week's batch
    flagged = weeks.filter(pl.col("fallback"))
    assert 0 < flagged.height < 20
    assert (flagged["filled"] > 0).all()  # the fallback batch still allocates work
    # without a fairness policy nothing is ever flagged
    plain = run("genai-2022", workers=200, weeks=6, seed=5)
    assert not plain.categories["fairness_fallback"].any()


def test_tiny_market_with_empty_weeks_runs():
    # 30 workers post under 4 tasks a week: some weeks nobody is paid, and the tables stay float
    result = run("genai-2022", workers=30, weeks=82, seed=2)
    assert result.panel.schema["earnings_usd"] == pl.Float64
    assert result.categories.schema["paid_usd"] == pl.Float64
    assert result.categories.get_column("week").n_unique() == 82
