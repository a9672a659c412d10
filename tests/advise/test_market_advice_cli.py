"""``gigshift advise price|peers|niches|report`` on market folders: JSON equal to the API, tables, files
written, and bad folders named with exit code 2."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from gigshift.advise import peers, price
from gigshift.cli import app
from gigshift.market import read_market, synthetic

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["advise", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def market_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("market") / "m"
    synthetic(n_workers=1500, n_tasks=1200, seed=31).write(path, format="csv")
    return path


@pytest.fixture(scope="module")
def market(market_dir):
    return read_market(market_dir)


@pytest.fixture(scope="module")
def busiest(market):
    """The category with the most tasks (enough winning bids for a range)."""
    return market.tasks.group_by("category").len().sort(["len", "category"], descending=[True, False])["category"][0]


# -- price ------------------------------------------------------------------------------------------------------------


def test_price_json_equals_the_api(market_dir, market):
    result = run(
        "price", "--market", str(market_dir), "--category", "web-dev", "--rating", "4.8", "--jobs", "12", "--json"
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    api = price(market, category="web-dev", rating=4.8, jobs=12, seed=0)
    assert body == json.loads(api.to_json())
    assert body["profile"] == {"rating": 4.8, "jobs": 12, "skills": None}


def test_price_table_shows_the_range(market_dir, market, busiest):
    api = price(market, category=busiest, seed=0)
    assert api.is_enough
    result = run("price", "--market", str(market_dir), "--category", busiest)
    assert result.exit_code == 0, result.stderr
    assert f"Rate for {api.category_name}" in result.stdout and "median" in result.stdout
    assert f"${api.median:,.2f}" in result.stdout


def test_price_with_too_little_data_points_elsewhere(market_dir, market):
    counts = (
        market.tasks.join(market.bids.select("task_id").unique(), on="task_id").group_by("category").len().sort("len")
    )
    slug = counts.filter(pl.col("len") < 30)["category"][0]
    result = run("price", "--market", str(market_dir), "--category", slug)
    assert result.exit_code == 0, result.stderr
    assert "too little data" in result.stdout and "try: gigshift advise price" in result.stdout


def test_price_uses_assignments_in_the_folder(tmp_path, market):
    folder = tmp_path / "m"
    market.write(folder, format="parquet")
    tasks = market.tasks.filter(pl.col("category") == "web-dev").head(5)
    bids = market.bids.join(tasks.select("task_id"), on="task_id").unique("task_id", keep="first")
    bids.select("task_id", "worker_id", "price_usd").write_csv(folder / "assignments.csv")
    result = run("price", "--market", str(folder), "--category", "web-dev", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["is_enough"] is False and body["sample"]["n_category"] == bids.height
    assert "assignments" in body["notes"][1]


def test_bad_assignments_in_the_folder_are_named(tmp_path, market):
    folder = tmp_path / "m"
    market.write(folder, format="parquet")
    pl.DataFrame({"task_id": ["t0001", "t9999"], "worker_id": ["w0001", "w0001"]}).write_csv(folder / "assignments.csv")
    result = run("price", "--market", str(folder), "--category", "web-dev")
    assert result.exit_code == 2
    assert "assignments.csv, row 2, column 'task_id'" in result.stderr


def test_price_unknown_category_lists_the_closest(market_dir):
    result = run("price", "--market", str(market_dir), "--category", "web-deve")
    assert result.exit_code == 2
    assert "unknown category 'web-deve'; closest: web-dev" in result.stderr
    assert "Traceback" not in result.stderr


def test_price_rating_out_of_range_is_a_usage_error(market_dir):
    result = run("price", "--market", str(market_dir), "--category", "web-dev", "--rating", "7")
    assert result.exit_code == 2


# -- bad market folders (every command reads them the same way) ----------------------------------------------------


def _broken(tmp_path, market_dir, how: str):
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(market_dir, folder)
    if how == "missing":
        (folder / "tasks.csv").unlink()
    else:
        lines = (folder / "tasks.csv").read_text().splitlines()
        header = lines[0].split(",")
        cells = lines[3].split(",")
        cells[header.index("budget_usd")] = "lots"
        lines[3] = ",".join(cells)
        (folder / "tasks.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize(
    ("how", "message"),
    [("missing", "expected a tasks.parquet or tasks.csv file, got 'missing'"), ("bad-row", "tasks.csv, row 3")],
    ids=["missing-table", "bad-row"],
)
@pytest.mark.parametrize(
    "command",
    [
        ["price", "--category", "web-dev"],
        ["peers", "--out", "OUT/p.csv"],
        ["niches", "--worker", "w0001"],
    ],
    ids=["price", "peers", "niches"],
)
def test_bad_market_folder_is_named(tmp_path, market_dir, how, message, command):
    folder = _broken(tmp_path, market_dir, how)
    args = [a.replace("OUT", str(tmp_path)) for a in command]
    result = run(args[0], "--market", str(folder), *args[1:])
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    if how == "bad-row":
        assert "column 'budget_usd'" in result.stderr and "'lots'" in result.stderr
    assert not (tmp_path / "p.csv").exists()


# -- peers ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_peers_writes_one_row_per_entrant(tmp_path, market_dir, market, suffix):
    out = tmp_path / f"pairs{suffix}"
    result = run("peers", "--market", str(market_dir), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    written = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
    api = peers(market)
    assert written.height == api.matches.height
    assert written["entrant_id"].to_list() == api.matches["entrant_id"].to_list()
    assert written["mentor_id"].to_list() == api.matches["mentor_id"].to_list()
    assert f"{api.pairs.height} of {api.matches.height} entrants matched" in result.stdout.replace("\n", " ")


def test_peers_json_summary(tmp_path, market_dir, market):
    out = tmp_path / "pairs.parquet"
    result = run("peers", "--market", str(market_dir), "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["summary"] == json.loads(peers(market).to_json())["summary"]
    assert body["out"] == str(out)


def test_peers_bad_out_suffix(tmp_path, market_dir):
    result = run("peers", "--market", str(market_dir), "--out", str(tmp_path / "pairs.xlsx"))
    assert result.exit_code == 2
    assert "expected a .csv or .parquet file" in result.stderr


# -- niches -----------------------------------------------------------------------------------------------------------


def test_niches_json_equals_the_api(market_dir, market):
    from gigshift.advise import niches

    result = run("niches", "--market", str(market_dir), "--worker", "w0001", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body == json.loads(niches(market, worker_id="w0001", seed=0).to_json())
    assert body["worker"]["worker_id"] == "w0001"


def test_niches_table_explains_the_top_niches(market_dir, market):
    from gigshift.advise import niches

    api = niches(market, worker_id="w0002", seed=0)
    result = run("niches", "--market", str(market_dir), "--worker", "w0002")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Niches for w0002" in text and "Niches, best first" in text
    assert "Lifted most by" in text
    assert api.niches["label"][0].split(":")[0][:12] in text


def test_niches_unknown_worker_lists_the_closest(market_dir):
    result = run("niches", "--market", str(market_dir), "--worker", "w01")
    assert result.exit_code == 2
    assert "unknown worker 'w01'; closest: w0001" in result.stderr
