"""The command line: JSON contracts, exit codes, and one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gigshift.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_categories_json():
    result = run("categories", "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert len(body["categories"]) >= 30
    betas = [c["gpt4_beta"] for c in body["categories"]]
    assert betas == sorted(betas, reverse=True)
    assert {"slug", "name", "class", "gpt4_beta", "human_beta", "gpt4_share_e1"} <= body["categories"][0].keys()


def test_categories_table_and_bad_sort():
    assert "translation" in run("categories").stdout
    bad = run("categories", "--sort", "nope")
    assert bad.exit_code == 2 and "unknown column 'nope'" in bad.stderr


@pytest.mark.parametrize("code", ["27-3091.00", "27-3091"])
def test_exposure_occupation_json_contract(code):
    result = run("exposure", "occupation", code, "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["soc_code"] == "27-3091.00" and body["title"] == "Interpreters and Translators"
    for lens in ("gpt4", "human"):
        assert set(body[lens]) == {"alpha", "beta", "gamma"}
    assert {"task_id", "task", "gpt4_label", "human_label"} <= body["tasks"][0].keys()
    assert body["sources"]


def test_exposure_occupation_table():
    result = run("exposure", "occupation", "53-3054")
    assert result.exit_code == 0 and "Taxi Drivers" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("exposure", "occupation", "99-9999"), "unknown occupation '99-9999'"),
        (("exposure", "occupation", "translater"), "27-3091.00 (Interpreters and Translators)"),
        (("exposure", "category", "dog-walker"), "unknown category 'dog-walker'; closest:"),
        (("exposure", "text", ""), "text must be a non-empty string"),
        (("exposure", "text", "   \n "), "text must be a non-empty string"),
        (("exposure", "text", "zzzqx qqqvb"), "shares a word"),
        (("exposure", "text", "writer", "--backend", "bert"), "backend must be one of 'tfidf', 'semantic'"),
    ],
    ids=["code", "typo", "slug", "empty", "blank", "gibberish", "backend"],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_exposure_category_json():
    body = json.loads(run("exposure", "category", "food-delivery", "--json").stdout)
    assert body["slug"] == "food-delivery" and body["mode"] == "on-location"
    assert abs(sum(body["shares"]["gpt4"].values()) - 1) < 1e-9


def test_exposure_text_json_contract():
    text = "Looking for a bilingual freelancer to translate our product manuals from German into English"
    result = run("exposure", "text", text, "--top", "3", "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["query"] == text
    assert set(body["exposure"]) == {"gpt4", "human"} and set(body["exposure"]["gpt4"]) == {"alpha", "beta", "gamma"}
    assert len(body["occupations"]) == 3 and len(body["categories"]) == 3
    assert body["occupations"][0]["soc_code"] == "27-3091.00"
    assert {"soc_code", "title", "score", "gpt4", "human"} <= body["occupations"][0].keys()
    scores = [o["score"] for o in body["occupations"]]
    assert scores == sorted(scores, reverse=True)
    assert {"task_id", "task", "soc_code", "score", "gpt4_label", "human_label"} <= body["tasks"][0].keys()
    assert body["categories"][0]["slug"] == "translation"


def test_exposure_text_reads_stdin():
    result = runner.invoke(app, ["exposure", "text", "-", "--json"], input="dog walking twice a day while I work")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["categories"][0]["slug"] == "pet-care"


def test_data_build_missing_raw_dir(tmp_path):
    result = run("data", "build", "--raw", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "nowhere: expected a directory of raw data" in result.stderr


def test_data_build_check_matches_shipped(raw_dir):
    result = run("data", "build", "--raw", str(raw_dir), "--check")
    assert result.exit_code == 0, result.stderr
    assert "shipped tables match" in result.stdout


def test_data_build_writes_to_out(raw_dir, tmp_path):
    result = run("data", "build", "--raw", str(raw_dir), "--out", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "manifest.json").is_file() and (tmp_path / "tasks.parquet").is_file()


def test_atlas_report_is_self_contained(tmp_path):
    result = run("atlas", "--out", str(tmp_path / "atlas"))
    assert result.exit_code == 0
    html = (tmp_path / "atlas" / "index.html").read_text()
    assert "<script src" not in html and "<link" not in html  # nothing fetched: JS inlined
    assert html.count("Plotly.newPlot") >= 4
    for needle in (
        "Categories ranked by exposure",
        "Do humans and GPT-4 agree",
        "The human edge (E0)",
        "Sources and licences",
        "CC BY 4.0",
        "Eloundou",
    ):
        assert needle in html
    assert json.loads((tmp_path / "atlas" / "categories.json").read_text())["categories"]


def test_atlas_out_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = run("atlas", "--out", str(target))
    assert result.exit_code == 2 and "is not a directory" in result.stderr


def test_bug_prints_one_line_and_exits_1(tmp_path):
    # a corrupt shipped table is a bug (not the user's input): one line, exit 1, no traceback
    code = (
        "import sys, gigshift.taxonomy._store as s\n"
        "s.load_table.cache_clear()\n"
        "s.data_dir = lambda: __import__('pathlib').Path(sys.argv[1])\n"
        "sys.argv = ['gigshift', 'exposure', 'occupation', '27-3091']\n"
        "from gigshift.cli import main\nmain()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "internal error" in proc.stderr and "Traceback" not in proc.stderr


def test_version_and_help():
    assert run("--version").stdout.startswith("gigshift ")
    assert "exposure" in run("--help").stdout


def test_exposure_occupation_with_extra_lenses(raw_dir):
    body = json.loads(run("exposure", "occupation", "27-3091", "--lenses", str(raw_dir), "--json").stdout)
    assert body["extra_lenses"]["frey_osborne_probability"] == 0.38
    assert "Frey" in body["extra_lenses"]["citations"]["frey_osborne_probability"]
    bad = run("exposure", "occupation", "27-3091", "--lenses", "/nonexistent")
    assert bad.exit_code == 2 and "expected an existing file" in bad.stderr
