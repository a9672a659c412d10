"""``gigshift market``: synth writes a valid market directory, check validates one, bad input exits 2."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from gigshift.cli import app
from gigshift.market import read_market

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_synth_then_check(tmp_path):
    target = tmp_path / "market"
    result = run("market", "synth", "--workers", "400", "--tasks", "80", "--seed", "3", "--out", str(target))
    assert result.exit_code == 0, result.stderr
    assert "wrote 400 workers, 16 clients, 80 tasks and" in result.stdout and "seed 3" in result.stdout
    assert sorted(p.name for p in target.iterdir()) == [
        "bids.parquet",
        "clients.parquet",
        "market.json",
        "tasks.parquet",
        "workers.parquet",
    ]
    check = run("market", "check", str(target))
    assert check.exit_code == 0
    assert "workers:       400 rows" in check.stdout and "valid market" in check.stdout


def test_synth_json_csv_with_planted_bias(tmp_path):
    target = tmp_path / "m"
    result = run(
        "market",
        "synth",
        "--workers",
        "300",
        "--tasks",
        "50",
        "--seed",
        "9",
        "--format",
        "csv",
        "--categories",
        "web-dev,plumbing",
        "--rating-bias",
        "sex=female:-0.25",
        "--rating-bias",
        "age_band=55+:-0.1",
        "--rate-bias",
        "sex=female:0.9",
        "--json",
        "--out",
        str(target),
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["counts"]["workers"] == 300 and body["counts"]["tasks"] == 50
    assert body["provenance"]["seed"] == 9
    assert json.loads(body["provenance"]["extra"]["rating_bias"]) == {
        "age_band": {"55+": -0.1},
        "sex": {"female": -0.25},
    }
    market = read_market(target)
    assert set(market.tasks["category"].unique()) <= {"web-dev", "plumbing"}
    assert (target / "workers.csv").is_file()
    assert json.loads(run("market", "check", str(target), "--json").stdout)["counts"] == body["counts"]


def test_check_reports_a_bad_cell(tmp_path):
    target = tmp_path / "m"
    assert (
        run(
            "market",
            "synth",
            "--workers",
            "50",
            "--tasks",
            "10",
            "--seed",
            "1",
            "--format",
            "csv",
            "--out",
            str(target),
        ).exit_code
        == 0
    )
    tasks = pl.read_csv(target / "tasks.csv", infer_schema=False).with_columns(
        budget_usd=pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("lots")).otherwise(pl.col("budget_usd"))
    )
    tasks.write_csv(target / "tasks.csv")
    result = run("market", "check", str(target))
    assert result.exit_code == 2
    assert "tasks.csv, row 4, column 'budget_usd': expected a finite number > 0, got 'lots'" in " ".join(
        result.stderr.split()
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--workers", "0"), "synthetic: n_workers must be an integer >= 1; got 0"),
        (("--format", "xlsx"), "market synth: --format must be one of 'parquet', 'csv'; got 'xlsx'"),
        (("--rating-bias", "sex:female"), "--rating-bias: expected ATTRIBUTE=GROUP:STARS such as sex=female:-0.25"),
        (("--rate-bias", "sex=female:fast"), "--rate-bias: expected ATTRIBUTE=GROUP:FACTOR such as sex=female:0.9"),
        (("--rating-bias", "sex=alien:-1"), "rating_bias: unknown sex group 'alien'"),
        (("--categories", "web-dev,plumbr"), "unknown category 'plumbr'; closest: plumbing"),
        (("--workers", "many"), "Invalid value for '--workers'"),
    ],
    ids=["workers", "format", "bias-shape", "bias-number", "bias-group", "category", "not-a-number"],
)
def test_bad_flags_exit_2_with_one_line(tmp_path, args, message):
    result = run("market", "synth", "--tasks", "5", "--out", str(tmp_path / "m"), *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "m").exists()


def test_check_a_missing_directory_exits_2(tmp_path):
    result = run("market", "check", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "expected a market directory, got 'not a directory'" in " ".join(result.stderr.split())
