"""Staggered DiD (pyfixest did2s) on a planted panel where TWFE is biased; a two-stage oracle; bad panels; CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError, InputError
from gigshift.impact import estimate_staggered

START = date(2022, 1, 3)


def staggered_panel(
    seed: int, *, n: int = 300, periods: int = 30, cohorts: tuple[int, ...] = (7, 17), slopes=(0.10, 0.04), never=True
):
    """Weekly panel; units split evenly over ``cohorts`` (period indices) and, if ``never``, a never-treated group.

    The effect at ``e`` periods since treatment is ``slope * (e + 1)``, with a steeper slope for the
    early cohort: effects grow with time and differ by cohort, the case where TWFE uses already-treated
    units as controls and is biased. Returns the panel and the true ATT (mean effect over treated rows).
    """
    rng = np.random.default_rng(seed)
    groups = len(cohorts) + int(never)
    unit = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(periods), n)
    group = np.arange(n) * groups // n  # equal groups; the last is never treated if ``never``
    g = np.array([*cohorts, -1])[group][unit]
    slope = np.array([*slopes, 0.0])[group][unit]
    treated = (g >= 0) & (t >= g)
    tau = np.where(treated, slope * (t - g + 1), 0.0)
    y = rng.normal(0, 1, n)[unit] + 0.3 * np.sin(t) + 0.02 * t + tau + rng.normal(0, 0.5, n * periods)
    week = pl.Series([START + timedelta(weeks=int(i)) for i in range(periods)])
    frame = pl.DataFrame(
        {
            "worker": [f"w{u:03d}" for u in range(n)],
            "cohort": [week[int(c)] if c >= 0 else None for c in g[::periods]],
        }
    )
    panel = pl.DataFrame({"worker": frame["worker"].gather(unit), "week": week.gather(t), "earnings": y})
    panel = panel.join(frame, on="worker", how="left", maintain_order="left")
    rel = pl.DataFrame({"rel": (t - g)[treated], "tau": tau[treated]}).group_by("rel").agg(pl.col("tau").mean())
    return panel, float(tau[treated].mean()), dict(rel.iter_rows())


def test_did2s_recovers_the_planted_att_where_twfe_is_biased():
    panel, att, by_rel = staggered_panel(0)
    kwargs = {"unit": "worker", "time": "week", "outcome": "earnings", "cohort": "cohort"}
    robust, twfe = estimate_staggered(panel, **kwargs), estimate_staggered(panel, **kwargs, estimator="twfe")
    d = robust.did
    assert d["ci"][0] <= att <= d["ci"][1]
    assert abs(d["estimate"] - att) < 0.08
    # TWFE compares the late cohort with the already-treated early one: about 0.34 against a true 0.87
    assert abs(twfe.did["estimate"] - att) > 0.4
    assert abs(twfe.did["estimate"] - att) > 5 * abs(d["estimate"] - att)
    assert d["n_obs"] == 300 * 30 and d["n_units"] == 300 and twfe.did["n_obs"] == 300 * 30
    es = robust.event_study
    assert es["rel_period"].to_list() == list(range(-17, 23))
    assert es.filter(pl.col("rel_period") == -1).row(0) == (-1, 0.0, None, None, None)
    pre = es.filter(pl.col("rel_period") < -1)
    assert pre["estimate"].abs().max() < 0.12
    assert ((pre["ci_lo"] <= 0) & (pre["ci_hi"] >= 0)).mean() >= 0.85
    assert robust.pre_trend_max_abs_t() < 3.5
    # the dynamic effects, period by period, against the planted mean effect at each period since treatment
    post = es.filter(pl.col("rel_period").is_between(0, 12))
    truth = np.array([by_rel[r] for r in post["rel_period"]])
    assert (np.abs(post["estimate"].to_numpy() - truth) < 4 * post["se"].to_numpy()).all()
    assert robust.treatment == "cohort" and robust.event == "staggered events (2 cohorts, 2022-02-21 to 2022-05-02)"
    assert robust.n_periods_pre == 17 and robust.n_periods_post == 23
    assert "did2s" in robust.provenance.method and "feols" in twfe.provenance.method


def test_did2s_matches_the_two_stage_estimator_by_hand():
    panel, _, _ = staggered_panel(3, n=90, periods=12, cohorts=(4, 8))
    r = estimate_staggered(panel, unit="worker", time="week", outcome="earnings", cohort="cohort")
    # Gardner (2022): unit and period effects from untreated rows only, then the mean residual of treated rows
    unit = panel["worker"].rank("dense").cast(pl.Int64).to_numpy() - 1
    t = panel["week"].rank("dense").cast(pl.Int64).to_numpy() - 1
    g = panel["cohort"].rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
    cohort_idx = np.where(g > 0, np.where(g == 1, 4, 8), 10**6)
    treated = t >= cohort_idx
    x = np.hstack([np.eye(90)[unit], np.eye(12)[t][:, 1:]])
    y = panel["earnings"].to_numpy()
    coef, *_ = np.linalg.lstsq(x[~treated], y[~treated], rcond=None)
    assert r.did["estimate"] == pytest.approx(float((y - x @ coef)[treated].mean()), abs=1e-9)


def test_twfe_matches_linearmodels():
    from linearmodels.panel import PanelOLS

    panel, _, _ = staggered_panel(4, n=90, periods=12, cohorts=(4, 8))
    r = estimate_staggered(
        panel, unit="worker", time="week", outcome="earnings", cohort="cohort", estimator="twfe", window=(-3, 3)
    )
    pdf = panel.with_columns(dpost=(pl.col("week") >= pl.col("cohort")).fill_null(False).cast(pl.Int64)).to_pandas()
    fit = PanelOLS.from_formula("earnings ~ dpost + EntityEffects + TimeEffects", pdf.set_index(["worker", "week"]))
    assert r.did["estimate"] == pytest.approx(float(fit.fit().params["dpost"]), abs=1e-10)
    assert r.event_study["rel_period"].to_list() == [-3, -2, -1, 0, 1, 2, 3]


def test_without_never_treated_units_the_not_yet_treated_are_the_comparison():
    panel, _, _ = staggered_panel(5, n=120, periods=16, cohorts=(5, 10), never=False)
    r = estimate_staggered(panel, unit="worker", time="week", outcome="earnings", cohort="cohort")
    # weeks 10..15 have every unit treated: no comparison, dropped; the late cohort compares with nothing after
    assert r.did["n_obs"] == 120 * 10 and r.event == "staggered events (1 cohort, 2022-02-07)"
    assert "6 final period(s) from 2022-03-14 dropped" in r.provenance.method
    # the early cohort's effects while the late one is untreated: 0.1 * (e + 1) for e = 0..4
    assert r.did["ci"][0] <= 0.3 <= r.did["ci"][1]


def test_integer_periods_and_pandas_with_nan_for_never_treated():
    rng = np.random.default_rng(6)
    n, periods = 60, 10
    unit = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(2015, 2015 + periods), n)
    g = np.select([np.arange(n) < 20, np.arange(n) < 40], [2018.0, 2021.0], np.nan)[unit]
    y = rng.normal(0, 1, n)[unit] + 0.5 * (t >= g) + rng.normal(0, 0.1, n * periods)
    pdf = pl.DataFrame({"u": unit, "year": t, "y": y}).to_pandas().assign(first_year=g)
    r = estimate_staggered(pdf, unit="u", time="year", outcome="y", cohort="first_year")
    assert r.did["estimate"] == pytest.approx(0.5, abs=0.05) and r.event == "staggered events (2 cohorts, 2018 to 2021)"


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        ("varying", {}, GigshiftError, r"'cohort' changes within unit 'w003' \(2022-01-24, 2022-02-07\)"),
        ("one-cohort", {}, GigshiftError, "no comparison group: every unit is treated from 2022-01-24 on"),
        ("never", {}, GigshiftError, "no unit is treated within the panel"),
        ("always", {}, GigshiftError, "unit 'w000' is treated from the first period on"),
        (None, {"cohort": "cohrt"}, InputError, r"column 'cohrt': expected a column for cohort \(closest: 'cohort'\)"),
        ("duplicate", {}, InputError, r"row 2, column 'worker, week': expected one row per unit and period"),
        ("text", {}, InputError, r"column 'cohort': expected the first treated period, of the same type as 'week'"),
        (None, {"estimator": "cs"}, GigshiftError, "estimator must be one of 'did2s', 'twfe'; got 'cs'"),
        (None, {"window": (0, 3)}, GigshiftError, "window must include periods -1 and 0"),
        ("null-outcome", {}, InputError, r"row 8, column 'earnings': expected a value, got 'null'"),
    ],
    ids=["varying", "no-comparison", "never", "always", "missing", "dup", "text", "estimator", "window", "null"],
)
def test_bad_panels(change, kwargs, error, match):
    panel, _, _ = staggered_panel(1, n=20, periods=8, cohorts=(3, 5))
    if change == "varying":
        panel = panel.with_columns(
            cohort=pl.when(pl.int_range(pl.len()) == 25).then(pl.lit(START + timedelta(weeks=5))).otherwise("cohort")
        )
    elif change == "one-cohort":
        panel = panel.with_columns(cohort=pl.lit(START + timedelta(weeks=3)))
    elif change == "never":
        panel = panel.with_columns(cohort=pl.lit(None, dtype=pl.Date))
    elif change == "always":
        panel = panel.with_columns(cohort=pl.when(pl.col("worker") == "w000").then(START).otherwise("cohort"))
    elif change == "duplicate":
        panel = pl.concat([panel.head(1), panel])
    elif change == "text":
        panel = panel.with_columns(pl.col("cohort").cast(pl.String))
    elif change == "null-outcome":
        panel = panel.with_columns(earnings=pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise("earnings"))
    args = {"unit": "worker", "time": "week", "outcome": "earnings", "cohort": "cohort"} | kwargs
    with pytest.raises(error, match=match):
        estimate_staggered(panel, **args)


def test_cli_cohort_col(tmp_path):
    from typer.testing import CliRunner

    from gigshift.cli import app

    panel, att, _ = staggered_panel(2, n=120, periods=16, cohorts=(4, 9))
    path = tmp_path / "panel.csv"
    panel.write_csv(path)  # dates as text, never-treated as empty cells
    runner = CliRunner()
    args = ["estimate", str(path), "--unit", "worker", "--time", "week", "--outcome", "earnings"]
    result = runner.invoke(app, [*args, "--cohort-col", "cohort", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    direct = estimate_staggered(panel, unit="worker", time="week", outcome="earnings", cohort="cohort")
    assert body["did"]["estimate"] == pytest.approx(direct.did["estimate"], rel=1e-9)
    assert body["did"]["n_units"] == 120 and len(body["event_study"]) == direct.event_study.height
    assert body["treatment"] == "cohort" and "did2s" in body["provenance"]["method"]
    twfe = runner.invoke(app, [*args, "--cohort-col", "cohort", "--estimator", "twfe"], catch_exceptions=False)
    assert twfe.exit_code == 0 and "DiD (twfe, staggered):" in twfe.stdout
    twfe_estimate = float(twfe.stdout.split("staggered):")[1].split()[0])
    assert abs(twfe_estimate - att) > abs(body["did"]["estimate"] - att) + 0.2
    both = runner.invoke(app, [*args, "--cohort-col", "cohort", "--event", "2022-02-07"], catch_exceptions=False)
    assert both.exit_code == 2 and "give exactly one of --event" in both.stderr and "Traceback" not in both.output
    neither = runner.invoke(app, args, catch_exceptions=False)
    assert neither.exit_code == 2 and "give exactly one of --event" in neither.stderr
    stray = runner.invoke(app, [*args, "--event", "2022-02-07", "--estimator", "twfe"], catch_exceptions=False)
    assert stray.exit_code == 2 and "--estimator applies to staggered events only" in stray.stderr
    missing = runner.invoke(app, [*args, "--cohort-col", "first_week"], catch_exceptions=False)
    assert missing.exit_code == 2 and "panel.csv, column 'first_week'" in missing.stderr
