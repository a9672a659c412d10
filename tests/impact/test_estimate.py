"""DiD and event studies on panels with a planted effect, against linearmodels, and bad panels."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError, InputError
from gigshift.impact import attach_exposure, estimate


def planted_panel(seed: int, *, effect: float = -0.3, n: int = 300, periods: int = 16, continuous: bool = False):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(periods), n)
    exposure = rng.uniform(0, 1, n) if continuous else (np.arange(n) < n // 2).astype(float)
    post = t >= periods // 2
    y = rng.normal(0, 1, n)[unit] + 0.05 * t + effect * exposure[unit] * post + rng.normal(0, 0.5, n * periods)
    start = date(2022, 1, 3)
    return pl.DataFrame(
        {
            "worker": [f"w{u}" for u in unit],
            "week": [start + timedelta(weeks=int(i)) for i in t],
            "treated": exposure[unit].astype(int) if not continuous else np.zeros(n * periods, dtype=int),
            "exposure": exposure[unit],
            "earnings": y,
        }
    ), start + timedelta(weeks=periods // 2)


@pytest.mark.parametrize("continuous", [False, True], ids=["group", "exposure"])
def test_planted_effect_is_recovered_and_pre_periods_are_flat(continuous):
    covered, flat = 0, 0
    for seed in range(20):
        panel, event = planted_panel(seed, continuous=continuous)
        kwargs = {"exposure": "exposure"} if continuous else {"treated": "treated"}
        r = estimate(panel, unit="worker", time="week", outcome="earnings", event=event, **kwargs)
        covered += r.did["ci"][0] <= -0.3 <= r.did["ci"][1]
        pre = r.event_study.filter(pl.col("rel_period") < -1)
        flat += bool((pre["ci_lo"] <= 0).all() and (pre["ci_hi"] >= 0).mean() >= 0.8)
        # post minus pre periods (the reference -1 is 0) estimates the effect, free of the reference's noise
        post = r.event_study.filter(pl.col("rel_period") >= 0)["estimate"].mean()
        pre = r.event_study.filter(pl.col("rel_period") < 0)["estimate"].mean()
        assert abs(post - pre - (-0.3)) < 4 * r.did["se"] + 0.02
    assert covered >= 17  # 95% intervals: about 19 of 20
    assert flat >= 15
    assert r.did["n_units"] == 300 and r.did["n_obs"] == 300 * 16


def test_matches_linearmodels():
    from linearmodels.panel import PanelOLS

    panel, event = planted_panel(3)
    r = estimate(panel, unit="worker", time="week", outcome="earnings", treated="treated", event=event)
    pdf = panel.with_columns(dpost=pl.col("treated") * (pl.col("week") >= event).cast(pl.Int64)).to_pandas()
    pdf = pdf.set_index(["worker", "week"])
    fit = PanelOLS(pdf["earnings"], pdf[["dpost"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True
    )
    assert r.did["estimate"] == pytest.approx(float(fit.params["dpost"]), abs=1e-10)
    # the two libraries apply different small-sample corrections to cluster-robust SEs (about 3% here)
    assert r.did["se"] == pytest.approx(float(fit.std_errors["dpost"]), rel=0.05)


def test_log_outcome_and_json():
    panel, event = planted_panel(4)
    panel = panel.with_columns(earnings=(pl.col("earnings") + 10).clip(lower_bound=0))
    r = estimate(
        panel, unit="worker", time="week", outcome="earnings", treated="treated", event=event, log_outcome=True
    )
    body = json.loads(r.to_json())
    assert {"estimate", "se", "ci", "n_obs", "n_units"} <= body["did"].keys()
    assert body["event_study"][0].keys() >= {"rel_period", "estimate", "se", "ci"}
    ref = next(e for e in body["event_study"] if e["rel_period"] == -1)
    assert ref["estimate"] == 0 and ref["se"] is None
    assert -0.06 < body["did"]["estimate"] < -0.0  # about -0.3 / 10 in log points


def test_window_bins_the_ends():
    panel, event = planted_panel(5)
    r = estimate(panel, unit="worker", time="week", outcome="earnings", treated="treated", event=event, window=(-3, 4))
    assert r.event_study["rel_period"].to_list() == [-3, -2, -1, 0, 1, 2, 3, 4]


def test_attach_exposure_from_the_atlas():
    panel = pl.DataFrame({"category": ["translation", "plumbing", "translation"], "y": [1, 2, 3]})
    out = attach_exposure(panel, column="category", lens="human", measure="beta")
    assert out["exposure"][0] == out["exposure"][2] and out["exposure"][0] > out["exposure"][1]
    with pytest.raises(GigshiftError, match="neither a gig category nor an occupation"):
        attach_exposure(pl.DataFrame({"category": ["astrology"]}), column="category")


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        ("duplicate", {}, InputError, r"row 2, column 'worker, week': expected one row per unit and period"),
        (None, {"outcome": "earnigs"}, InputError, r"column 'earnigs'.*closest: 'earnings'"),
        ("single", {}, GigshiftError, "a single period"),
        ("varying", {}, GigshiftError, "changes within unit"),
        ("not-binary", {}, InputError, r"column 'treated': expected 0 or 1"),
        (None, {"event": date(2030, 1, 1)}, GigshiftError, "must fall after the first period"),
        (None, {"exposure": "exposure"}, GigshiftError, "exactly one of treated="),
        ("nan", {}, InputError, r"column 'earnings': expected a finite number"),
    ],
    ids=["duplicate", "missing-column", "single-period", "varying", "not-binary", "event-outside", "both", "nan"],
)
def test_bad_panels(change, kwargs, error, match):
    panel, event = planted_panel(1, n=20, periods=6)
    if change == "duplicate":
        panel = pl.concat([panel.head(1), panel])
    elif change == "single":
        panel = panel.filter(pl.col("week") == panel["week"].min())
    elif change == "varying":
        panel = panel.with_columns(
            treated=pl.when(pl.int_range(pl.len()) == 3).then(1 - pl.col("treated")).otherwise("treated")
        )
    elif change == "not-binary":
        panel = panel.with_columns(treated=pl.col("treated") * 2)
    elif change == "nan":
        panel = panel.with_columns(
            earnings=pl.when(pl.int_range(pl.len()) == 5).then(float("nan")).otherwise("earnings")
        )
    args = {"unit": "worker", "time": "week", "outcome": "earnings", "treated": "treated", "event": event} | kwargs
    with pytest.raises(error, match=match):
        estimate(panel, **args)


def test_cli_estimate(tmp_path):
    from typer.testing import CliRunner

    from gigshift.cli import app

    panel, event = planted_panel(2, n=120, periods=10)
    path = tmp_path / "panel.csv"
    panel.write_csv(path)
    runner = CliRunner()
    args = [
        "estimate",
        str(path),
        "--unit",
        "worker",
        "--time",
        "week",
        "--outcome",
        "earnings",
        "--treated-col",
        "treated",
        "--event",
        event.isoformat(),
    ]
    result = runner.invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["did"]["ci"][0] < -0.3 < body["did"]["ci"][1] or abs(body["did"]["estimate"] + 0.3) < 0.15
    out = tmp_path / "est"
    result = runner.invoke(app, [*args, "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0 and "DiD:" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["estimate.json", "estimate.md", "event_study.parquet"]
    counts = panel.with_columns(earnings=(pl.col("earnings") + 5).clip(lower_bound=0).round(0).cast(pl.Int64))
    counts.write_csv(path)
    result = runner.invoke(app, [*args, "--model", "poisson", "--json"], catch_exceptions=False)
    assert result.exit_code == 0 and "fepois" in json.loads(result.stdout)["provenance"]["method"]
    result = runner.invoke(app, [*args, "--model", "probit"], catch_exceptions=False)
    assert result.exit_code == 2 and "model must be 'ols' or 'poisson'" in result.stderr
    bad = runner.invoke(app, [*args[:-2], "--event", "someday"], catch_exceptions=False)
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_poisson_model_recovers_a_log_ratio_on_counts():
    rng = np.random.default_rng(7)
    n, periods = 200, 12
    unit = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(periods), n)
    treated = (np.arange(n) < n // 2).astype(int)
    rate = np.exp(rng.normal(0.5, 0.5, n))[unit] * np.exp(0.02 * t) * np.where(treated[unit] & (t >= 6), 0.8, 1.0)
    panel = pl.DataFrame({"u": unit, "t": t, "treated": treated[unit], "jobs": rng.poisson(rate)})
    r = estimate(panel, unit="u", time="t", outcome="jobs", treated="treated", event=6, model="poisson")
    assert r.did["ci"][0] <= np.log(0.8) <= r.did["ci"][1]
    with pytest.raises(GigshiftError, match="drop log_outcome"):
        estimate(
            panel, unit="u", time="t", outcome="jobs", treated="treated", event=6, model="poisson", log_outcome=True
        )
