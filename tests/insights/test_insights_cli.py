"""``gigshift insights trends | market``: JSON contracts, files written, exit 2 with one line on bad input."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from gigshift.cli import app

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output and result.stdout == ""


def test_trends_json_contract():
    result = run("insights", "trends", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body["series"][0]) >= {"class", "date", "level", "share"}
    assert set(body["events"][0]) >= {"class", "date", "change", "relative_change", "ci"}
    assert set(body["breaks"][0]) >= {"class", "date"}
    writing = next(e for e in body["events"] if e["class"] == "writing-translation")
    assert writing["date"] == "2022-11-30" and writing["ci"][0] < writing["relative_change"] < writing["ci"][1] < 0


def test_trends_one_class_and_event():
    result = run("insights", "trends", "--class", "Microwork", "--event", "2020-03-15", "--json")
    body = json.loads(result.stdout)
    assert {s["class"] for s in body["series"]} == {"microwork"}
    assert [(e["class"], e["date"]) for e in body["events"]] == [("microwork", "2020-03-15")]


def test_trends_table():
    result = run("insights", "trends", "--class", "writing-translation")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "ChatGPT" in text and "relative" in text and "writing-translation: 2023-01" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--class", "writting"),
            "unknown OLI class 'writting'; closest: writing-translation (Writing and translation)",
        ),
        (("--event", "last tuesday"), "event must be a date such as 2022-11-30; got 'last tuesday'"),
        (("--window", "0"), "window_months must be an integer >= 1"),
    ],
    ids=["class", "event", "window"],
)
def test_trends_bad_input(args, message):
    one_line_error(run("insights", "trends", *args), message)


@pytest.fixture(scope="module")
def market_dir(tmp_path_factory):
    from gigshift.allocate import allocate
    from gigshift.market import synthetic

    root = tmp_path_factory.mktemp("cli")
    m = synthetic(n_workers=400, n_tasks=200, seed=2)
    m.write(root / "market")
    alloc = allocate(m.tasks, m.workers, bids=m.bids, seed=1)
    alloc.decision_log.write_parquet(root / "market" / "decision_log.parquet")
    alloc.assignments.write_parquet(root / "market" / "assignments.parquet")
    return root / "market"


def test_market_json_and_out(market_dir, tmp_path):
    out = tmp_path / "insights"
    result = run("insights", "market", market_dir, "--seed", "3", "--json", "--out", out)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["kinds"] == ["market", "allocation run"]
    assert {"activity", "prices", "preferences", "notes"} <= body.keys()
    assert {"category", "week", "n_tasks_posted", "fill_rate", "bids_per_task", "n_active_workers"} <= set(
        body["activity"][0]
    )
    assert body["provenance"]["seed"] == 3
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["insights.json", "insights.md", "activity.csv", "prices.csv", "hedonic.csv", "preferences.csv"]
    )
    assert json.loads((out / "insights.json").read_text()) == body
    assert pl.read_csv(out / "activity.csv")["n_tasks_posted"].sum() == 200


def test_market_table_and_category(market_dir):
    tasks = pl.read_parquet(market_dir / "tasks.parquet")
    top = tasks.group_by("category").len().sort("len", "category", descending=[True, False])["category"][0]
    whole = " ".join(run("insights", "market", market_dir).stdout.split())
    assert "market + allocation run" in whole and "what clients reward" in whole and top in whole
    result = run("insights", "market", market_dir, "--category", top)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert top in text and "too few for a choice model" in text and "what clients reward" not in text
    absent = sorted({"translation", "plumbing", "tax-prep", "voice-over"} - set(tasks["category"]))[0]
    one_line_error(run("insights", "market", market_dir, "--category", absent), f"no rows for category '{absent}'")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty", "not a market, allocation-run or simulation folder"),
        ("bad_row", "decision_log.parquet, row 2, column 'price_usd': expected a finite number > 0, or empty"),
        ("no_column", "decision_log.parquet, column 'is_selected': expected a column for is_selected, got 'missing'"),
        ("category", "unknown category 'translaton'; closest: translation"),
    ],
)
def test_market_bad_input(market_dir, tmp_path, case, message):
    import shutil

    target = tmp_path / "m"
    args: tuple[str, ...] = ()
    if case == "empty":
        target.mkdir()
        (target / "notes.txt").write_text("hello")
    else:
        shutil.copytree(market_dir, target)
        log = pl.read_parquet(target / "decision_log.parquet")
        if case == "bad_row":
            log = log.with_columns(price_usd=pl.when(pl.int_range(pl.len()) == 1).then(0.0).otherwise("price_usd"))
        elif case == "no_column":
            log = log.drop("is_selected")
        else:
            args = ("--category", "translaton")
        log.write_parquet(target / "decision_log.parquet")
    one_line_error(run("insights", "market", target, *args), message)
