"""``gigshift pay``: import, revoke, audit, statement and synth through Typer's CliRunner; exit codes and contracts."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from gigshift.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pay"


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def synth_pool(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "pool"
    result = run("pay", "synth", "--workers", "150", "--weeks", "4", "--seed", "5", "--out", path, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["counts"]["workers"] == 150 and body["provenance"]["seed"] == 5
    return path


def test_import_both_example_layouts_then_revoke(tmp_path):
    pool = tmp_path / "pool"
    rides = run("pay", "import", EXAMPLES / "rideco_trips.csv", "--sessions", EXAMPLES / "rideco_online_time.csv",
                "--mapping", "rideco-trips", "--pool", pool, "--consent-id", "form-1", "--json")  # fmt: skip
    assert rides.exit_code == 0, rides.output
    added = json.loads(rides.stdout)
    assert added["contribution_id"] == "form-1" and added["rows_left_out_by_mapping"] == 3
    food = run("pay", "import", EXAMPLES / "dashfood_orders.csv", "--sessions", EXAMPLES / "dashfood_shifts.csv",
               "--mapping", "dashfood-gdpr", "--pool", pool)  # fmt: skip
    assert food.exit_code == 0 and "added" in food.stdout
    worker = pl.read_csv(EXAMPLES / "rideco_trips.csv")["Driver ID"][0]
    revoked = run("pay", "revoke", "--pool", pool, "--worker", worker, "--json")
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["jobs_deleted"] > 0
    again = run("pay", "revoke", "--pool", pool, "--worker", worker)
    assert again.exit_code == 2 and "already revoked" in again.stderr


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda f: f.with_columns(pl.lit("-3").alias("payout_cents")),
            "dashfood_orders.csv, row 1, column 'payout_cents'",
        ),
        (lambda f: f.drop("zone"), "dashfood-gdpr.yaml, column 'jobs.columns.area': expected a column of"),
    ],
    ids=["negative-pay", "mapping-names-a-missing-column"],
)
def test_bad_export_is_refused_with_file_row_and_column(tmp_path, mutate, message):
    orders = mutate(pl.read_csv(EXAMPLES / "dashfood_orders.csv", infer_schema=False))
    path = tmp_path / "dashfood_orders.csv"
    orders.write_csv(path)
    result = run("pay", "import", path, "--mapping", "dashfood-gdpr", "--pool", tmp_path / "pool")
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "pool" / "consent.parquet").exists()  # nothing half-imported


def test_set_aside_imports_the_good_rows_and_warns(tmp_path):
    orders = pl.read_csv(EXAMPLES / "dashfood_orders.csv", infer_schema=False)
    orders = orders.with_columns(
        pl.when(pl.int_range(pl.len()) < 2).then(pl.lit("EUR")).otherwise("currency").alias("currency")
    )
    path = tmp_path / "orders.csv"
    orders.write_csv(path)
    result = run(
        "pay", "import", path, "--mapping", "dashfood-gdpr", "--pool", tmp_path / "pool", "--set-aside", "--json"
    )
    assert result.exit_code == 0 and json.loads(result.stdout)["jobs"] == orders.height - 2
    assert "2 row(s) set aside" in result.stderr


def test_audit_json_contract_and_out_folder(synth_pool, tmp_path):
    out = tmp_path / "release"
    result = run("pay", "audit", synth_pool, "--seed", "1", "--standard", "living_wage=25", "--json", "--out", out)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) >= {"pool", "cells", "changes", "privacy"}
    assert body["pool"]["workers"] == 150 and body["privacy"]["k"] == 11
    assert "living_wage" in body["cells"][0]["below_standard"]
    assert {p.name for p in out.iterdir()} == {"audit.json", "audit.md", "report.html", "cells.csv"}
    assert json.loads((out / "audit.json").read_text()) == body


def test_audit_table_and_epsilon(synth_pool):
    result = run("pay", "audit", synth_pool, "--no-changes", "--bootstrap", "0", "--epsilon", "0.2")
    assert result.exit_code == 0, result.output
    assert "epsilon = 0.2 spent so far" in result.stdout and "rideco" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--standard", "living_wage"), "--standard: expected NAME=VALUE"),
        (("--k", "0"), "k must be an integer >= 1"),
        (("--dims", "platform,city"), "dims must be distinct names"),
        (("--epsilon", "50"), "left of the pool's privacy budget of 1; nothing was released"),
    ],
    ids=["standard", "k", "dims", "over-budget"],
)
def test_audit_bad_flags_exit_2(synth_pool, args, message):
    result = run("pay", "audit", synth_pool, "--no-changes", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_statement_to_file_and_unknown_worker(synth_pool, tmp_path):
    out = tmp_path / "me.html"
    result = run("pay", "statement", synth_pool, "--worker", "w00003", "--out", out)
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    assert "per logged-in hour" in result.stdout
    missing = run("pay", "statement", synth_pool, "--worker", "nobody")
    assert missing.exit_code == 2 and "no records with consent in force" in missing.stderr


def test_audit_of_a_missing_pool_is_a_user_error(tmp_path):
    result = run("pay", "audit", tmp_path / "nowhere")
    assert result.exit_code == 2 and "no pool here" in result.stderr
