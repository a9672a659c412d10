"""``gigshift audit``: report files, JSON on stdout, clean errors that name the column."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from gigshift.cli import app

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def decisions(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    sex = rng.choice(["Female", "Male"], n)
    race = rng.choice(["Asian", "Black", "White"], n)
    selected = rng.random(n) < np.where(sex == "Female", 0.2, 0.35)
    frame = pl.DataFrame({"sex": sex, "race": race, "selected": selected.astype(int), "score": rng.normal(0, 1, n)})
    path = tmp_path / "decisions.csv"
    frame.write_csv(path)
    return path


def test_audit_writes_report_folder(decisions, tmp_path):
    out = tmp_path / "report"
    result = run(
        "audit",
        decisions,
        "--group",
        "sex",
        "--group",
        "race",
        "--intersect",
        "--selected-col",
        "selected",
        "--exclude-small",
        "--seed",
        1,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["audit.json", "audit.md", "report.html"]
    body = json.loads((out / "audit.json").read_text())
    female = next(g for g in body["groups"] if g["attribute"] == "sex" and g["category"] == "Female")
    assert female["impact_ratio"] < 0.8
    assert any(g["attribute"] == "sex+race" and g["category"] == "Female+Asian" for g in body["groups"])
    assert "sex = Female: impact ratio" in result.stdout


def test_audit_json_to_stdout_with_scores(decisions):
    result = run("audit", decisions, "--group", "race", "--score-col", "score", "--json", "--bootstrap", 50)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["kind"] == "scoring" and body["median_score"] is not None
    assert {"demographic_parity_difference", "demographic_parity_ratio"} <= body["metrics"]["race"].keys()


def test_audit_errors_name_the_column(decisions, tmp_path):
    result = run("audit", decisions, "--group", "gender", "--selected-col", "selected")
    assert result.exit_code == 2 and "column 'gender'" in result.stderr
    result = run("audit", decisions, "--group", "sex", "--selected-col", "score", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "decisions.csv, row 1, column 'score': expected 0 or 1" in result.stderr
    assert not (tmp_path / "x").exists()
    result = run("audit", decisions, "--group", "sex")
    assert result.exit_code == 2 and "exactly one of selected=" in result.stderr
    result = run("audit", decisions, "--group", "sex", "--selected-col", "selected", "--reference", "sex")
    assert result.exit_code == 2 and "expected ATTRIBUTE=CATEGORY" in result.stderr
