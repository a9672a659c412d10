"""``gigshift demo`` end to end at reduced size: the report is complete, self-contained and honest.

One reduced run (400 workers, 2 replicates, 64 weeks) is shared by the tests of this module; the
default run (3,000 workers, 3 replicates, 104 weeks) is what ``make demo`` does.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from typer.testing import CliRunner

from gigshift.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "report"
    result = runner.invoke(
        app,
        ["demo", "--out", str(out), "--workers", "400", "--replicates", "2", "--weeks", "64", "--seed", "5", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return out, json.loads(result.stdout)


def test_demo_writes_a_self_contained_report(demo):
    out, body = demo
    html = (out / "index.html").read_text(encoding="utf-8")
    assert body["report"] == str(out / "index.html")
    # offline: Plotly inlined, nothing fetched
    assert "<script src" not in html and "<link" not in html and "<iframe" not in html
    assert html.count("Plotly.newPlot") >= 7  # atlas, market, event study, published, three stories
    for anchor in ("findings", "atlas", "market", "impact", "fairness", "stories", "method"):
        assert f"id='{anchor}'" in html
    for needle in (
        "Ana, a translator",
        "Sam, a web developer",
        "Kofi, a courier",
        "Hui, Reshef",  # the published estimates sit beside the simulated ones
        "Price of fairness",
        "baseline (no AI): placebo",
        "policy-fair-allocation",
        "no-fair-policy",  # the fair policy's counterfactual
    ):
        assert needle in html, needle
    assert not re.search(r">\s*(nan|NaN|None)\s*<", html)  # no missing numbers printed as text


def test_demo_figures_are_computed_and_plausible(demo):
    _, body = demo
    f = body["figures"]
    for key in ("did_estimate", "placebo_estimate", "price_of_fairness", "exposed_posted_change"):
        assert isinstance(f[key], float) and math.isfinite(f[key]), key
    # AI cuts demand where exposure is high: the DiD slope on beta is negative
    assert f["did_estimate"] < 0
    # the fair policy lifts the lowest impact ratio to the four-fifths line (up to rounding of groups)
    assert f["min_impact_ratio_fair"] >= 0.78
    assert f["min_impact_ratio_fair"] >= f["min_impact_ratio_unconstrained"] - 1e-9
    assert set(f["simulated_female_impact_ratio"]) == {"plain", "fair"}
    assert 0 <= f["price_of_fairness"] < 10
    assert set(f["stories"]) == {"translation", "web-dev", "parcel-courier"}
    assert f["n_published"] >= 4
    assert set(body["timings_s"]) == {"simulate", "estimate", "audit", "report"}


def test_demo_is_deterministic_in_its_figures(demo, tmp_path):
    _, body = demo
    again = runner.invoke(
        app,
        [
            "demo",
            "--out",
            str(tmp_path / "r"),
            "--workers",
            "400",
            "--replicates",
            "2",
            "--weeks",
            "64",
            "--seed",
            "5",
            "--json",
        ],
        catch_exceptions=False,
    )
    assert again.exit_code == 0
    # the same seed gives the same report; regressions agree to rounding (BLAS summation order)
    assert _rounded(json.loads(again.stdout)["figures"]) == _rounded(body["figures"])


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.8g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weeks", "20"], "at least 60"),
        (["--workers", "0"], "workers"),
        (["--replicates", "-1"], "replicates"),
    ],
)
def test_demo_bad_options_exit_2_without_traceback(tmp_path, args, message):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "r"), *args])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_demo_out_must_be_a_folder(tmp_path):
    target = tmp_path / "file.html"
    target.write_text("keep me")
    result = runner.invoke(app, ["demo", "--out", str(target), "--workers", "300"])
    assert result.exit_code == 2 and "not a directory" in result.stderr
    assert target.read_text() == "keep me"
