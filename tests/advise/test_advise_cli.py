"""``gigshift advise``: JSON contracts, table output, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gigshift.advise import paths
from gigshift.cli import app

runner = CliRunner()


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, ["advise", *args], input=stdin, catch_exceptions=False)


def test_paths_json_contract_and_equal_to_the_api():
    result = run("paths", "--occupation", "27-3091", "--top", "4", "--min-wage-ratio", "0.8", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body == json.loads(paths("27-3091.00", top=4, min_wage_ratio=0.8, by="occupation").to_json())
    assert set(body) >= {"origin", "paths", "widened", "skill_levers"}
    assert set(body["origin"]) >= {"soc_code", "title", "gpt4", "human"}
    assert len(body["paths"]) == 4
    path = body["paths"][0]
    assert set(path) >= {
        "soc_code",
        "title",
        "score",
        "similarity",
        "gpt4",
        "human",
        "wage_ratio",
        "job_zone_change",
        "outlook",
        "learn",
        "why",
    }
    assert all(p["wage_ratio"] >= 0.8 for p in body["paths"])
    assert {i["kind"] for p in body["paths"] for i in p["learn"]} <= {"technology", "activity"}


def test_paths_from_text_in_a_table():
    result = run("paths", "--text", "I write blog posts and marketing copy for small businesses", "--top", "3")
    assert result.exit_code == 0, result.stderr
    assert "Career paths" in result.stdout and "learn:" in result.stdout
    assert "From Writers and Authors" in result.stdout


def test_paths_text_from_stdin():
    result = run("paths", "--text", "-", "--json", stdin="I translate contracts from German to English")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["origin"]["kind"] == "text"


def test_paths_honest_empty_in_a_table():
    result = run("paths", "--occupation", "27-2021.00")
    assert result.exit_code == 0
    assert "No occupation in the atlas is less exposed" in " ".join(result.stdout.split())


def test_similar_json_contract():
    result = run("similar", "--category", "translation", "--top", "5", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert len(body["similar"]) == 5
    assert set(body["similar"][0]) >= {"soc_code", "title", "similarity"}
    members = {o["soc_code"] for o in body["origin"]["occupations"]}
    assert not members & {s["soc_code"] for s in body["similar"]}


def test_similar_table():
    result = run("similar", "--occupation", "15-1252.00", "--top", "3")
    assert result.exit_code == 0
    assert "Software Quality Assurance" in result.stdout


def test_tasks_json_and_table():
    body = json.loads(run("tasks", "--occupation", "27-3091.00", "--json").stdout)
    assert [g["label"] for g in body["groups"]] == ["AI can do it", "AI speeds it up", "the human edge"]
    table = run("tasks", "--category", "house-cleaning")
    assert table.exit_code == 0
    flat = " ".join(table.stdout.split())
    assert "the human edge" in flat and "Noy & Zhang 2023" in flat and "Lead your profile with" in flat


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("paths", "--occupation", "99-9999"), "unknown occupation '99-9999'; closest: 49-9099.00"),
        (("paths", "--occupation", "translater"), "27-3091.00 (Interpreters and Translators)"),
        (("paths", "--occupation", "11-9039.00"), "too little data on 11-9039.00"),
        (("similar", "--category", "dog-walkr"), "unknown category 'dog-walkr'; closest:"),
        (("tasks", "--text", ""), "origin must be a non-empty string"),
        (("paths", "--text", "   "), "origin must be a non-empty string"),
        (("similar", "--text", "zzzqx qqqvb"), "shares a word"),
        (("paths",), "give exactly one of --occupation, --category or --text (got none)"),
        (("paths", "--occupation", "27-3091", "--category", "translation"), "(got --occupation, --category)"),
        (("paths", "--occupation", "27-3091", "--top", "0"), "Invalid value for '--top'"),
        (("paths", "--occupation", "27-3091", "--min-wage-ratio", "-1"), "Invalid value for '--min-wage-ratio'"),
    ],
    ids=["code", "typo", "unscored", "slug", "empty", "blank", "gibberish", "no-origin", "two-origins", "top", "ratio"],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and result.stdout == ""
