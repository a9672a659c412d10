"""``gigshift allocate`` and ``gigshift explain``: files written, readable output, clean errors."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from gigshift.cli import app
from gigshift.market import synthetic

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def market_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("market")
    synthetic(n_workers=600, n_tasks=120, seed=2, rating_bias={"sex": {"female": -0.3}}).write(folder)
    return folder


@pytest.fixture(scope="module")
def run_dir(market_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "batch-1"
    result = run(
        "allocate",
        "run",
        "--tasks",
        market_dir / "tasks.parquet",
        "--workers",
        market_dir / "workers.parquet",
        "--seed",
        1,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "assigned" in result.stdout and "fill rate" in result.stdout
    return out


def test_run_writes_every_file(run_dir):
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == sorted(
        [
            "assignments.parquet",
            "decision_log.parquet",
            "task_explanations.parquet",
            "worker_explanations.parquet",
            "waiting.parquet",
            "policy.yaml",
            "transparency.md",
            "summary.json",
        ]
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["summary"]["n_tasks"] == 120
    assert pl.read_parquet(run_dir / "assignments.parquet").height == summary["summary"]["n_assigned"]
    assert "Main parameters and their relative importance" in (run_dir / "transparency.md").read_text()


def test_explain_worker_and_task(run_dir):
    workers = pl.read_parquet(run_dir / "worker_explanations.parquet")
    loser = workers.filter(pl.col("n_assigned") == 0).item(0, "worker_id")
    result = run("explain", run_dir, "--worker", loser)
    assert result.exit_code == 0, result.output
    assert f"Worker {loser} was a candidate" in result.stdout and "candidate edges" in result.stdout
    task = pl.read_parquet(run_dir / "assignments.parquet").item(0, "task_id")
    result = run("explain", run_dir, "--task", task, "--json")
    body = json.loads(result.stdout)
    assert body["subject"] == "task" and body["candidates"][0]["task_id"] == task


def test_explain_errors(run_dir, tmp_path):
    result = run("explain", run_dir, "--worker", "nobody")
    assert result.exit_code == 2 and "unknown worker" in result.stderr
    result = run("explain", run_dir)
    assert result.exit_code == 2 and "exactly one of --worker ID or --task ID" in result.stderr
    result = run("explain", tmp_path, "--task", "t1")
    assert result.exit_code == 2 and "not an allocation folder" in result.stderr


def test_run_with_fair_policy_and_bad_policy(market_dir, tmp_path):
    policy = tmp_path / "fair.yaml"
    policy.write_text("version: fair-1\nweights: {rating: 0.6}\nfairness: {attribute: sex, min_impact_ratio: 0.9}\n")
    out = tmp_path / "fair"
    result = run(
        "allocate",
        "run",
        "--tasks",
        market_dir / "tasks.parquet",
        "--workers",
        market_dir / "workers.parquet",
        "--policy",
        policy,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "price of fairness" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("weights: {charisma: 1}\n")
    result = run(
        "allocate",
        "run",
        "--tasks",
        market_dir / "tasks.parquet",
        "--workers",
        market_dir / "workers.parquet",
        "--policy",
        bad,
        "--out",
        tmp_path / "never",
    )
    assert result.exit_code == 2 and "bad.yaml: unknown weight 'weights.charisma'" in result.stderr
    assert not (tmp_path / "never").exists()


def test_run_bad_tasks_file_names_file_row_and_column(market_dir, tmp_path):
    tasks = pl.read_parquet(market_dir / "tasks.parquet").with_columns(
        budget_usd=pl.when(pl.int_range(pl.len()) == 4).then(-5.0).otherwise("budget_usd")
    )
    bad = tmp_path / "tasks.csv"
    tasks.with_columns(pl.col("required_skills").list.join(";")).write_csv(bad)
    out = tmp_path / "out"
    result = run("allocate", "run", "--tasks", bad, "--workers", market_dir / "workers.parquet", "--out", out)
    assert result.exit_code == 2
    assert "tasks.csv, row 5, column 'budget_usd'" in result.stderr
    assert not out.exists()


def test_solve_command_with_groups(tmp_path):
    edges = pl.DataFrame(
        {
            "task_id": ["t1", "t1", "t2", "t2", "t3"],
            "worker_id": ["a1", "b1", "a2", "b1", "a1"],
            "score": [0.9, 0.5, 0.8, 0.6, 0.7],
        }
    )
    groups = pl.DataFrame({"worker_id": ["a1", "a2", "b1"], "group": ["a", "a", "b"]})
    edges.write_parquet(tmp_path / "edges.parquet")
    groups.write_csv(tmp_path / "groups.csv")
    out = tmp_path / "assignments.parquet"
    result = run(
        "allocate",
        "solve",
        "--edges",
        tmp_path / "edges.parquet",
        "--groups",
        tmp_path / "groups.csv",
        "--min-impact-ratio",
        "0.8",
        "--out",
        out,
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["achieved_impact_ratio"] >= 0.8 and body["price_of_fairness_pct"] >= 0
    chosen = pl.read_parquet(out)
    assert "b1" in chosen["worker_id"].to_list()


def test_solve_command_bad_edges(tmp_path):
    pl.DataFrame({"task_id": ["t1", "t2"], "worker_id": ["w1", "w2"], "score": [0.3, float("nan")]}).write_parquet(
        tmp_path / "e.parquet"
    )
    out = tmp_path / "a.parquet"
    result = run("allocate", "solve", "--edges", tmp_path / "e.parquet", "--out", out)
    assert result.exit_code == 2 and "e.parquet, row 2, column 'score': expected a finite number" in result.stderr
    assert not out.exists()
    result = run("allocate", "solve", "--edges", tmp_path / "missing.parquet", "--out", out)
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_policy_statement():
    result = run("allocate", "policy")
    assert result.exit_code == 0 and "| skill_match |" in result.stdout
