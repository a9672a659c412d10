"""The career card: self-contained (no external script or link), every section present with the figures of
the engines behind it, honest notes where a section cannot be drawn, and the CLI writing it."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from typer.testing import CliRunner

from gigshift import GigshiftError, NotFoundError
from gigshift.advise import CareerCard, career_card
from gigshift.cli import app
from gigshift.market import synthetic

CATEGORIES = ["translation", "proofreading", "copywriting", "content-writing", "plumbing", "handyman"]


@pytest.fixture(scope="module")
def market():
    return synthetic(n_workers=1500, n_tasks=1500, categories=CATEGORIES, seed=51)


@pytest.fixture(scope="module")
def card(market):
    return career_card("translation", market=market, seed=0)


@pytest.fixture(scope="module")
def html(card):
    return card.to_html()


def _assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "<script src" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"""src\s*=\s*["']https?://""", page)
    assert page.count("<script type='text/javascript'>") == 1  # Plotly, inlined once


def test_card_is_self_contained(html):
    _assert_self_contained(html)


def test_card_has_every_section(card, html):
    for heading in (
        "Exposure and the task split",
        "Career paths, and what to learn for each",
        "Online demand for this kind of work",
        "On this market: niches in and around Translation and localisation",
        "Rate ranges from winning bids",
    ):
        assert heading in html, heading
    for div in ("task-split", "paths", "trend", "price"):
        assert f'id="{div}"' in html, div
    assert "Sources:" in html and "Online Labour Index" in html


def test_card_shows_the_engines_figures(card, html):
    import html as html_lib

    page = html_lib.unescape(html)
    # exposure and the task split
    assert f"<strong>{card.origin.exposure['gpt4']['beta']:.2f}</strong>" in page
    for g in card.tasks.groups.iter_rows(named=True):
        assert f"{g['label']}: {g['share']:.0%} of the work" in page
    # paths with what to learn
    assert card.paths.paths.height > 0
    for r in card.paths.paths.iter_rows(named=True):
        assert r["title"] in page
    first_learn = card.paths.learn.filter(pl.col("rank") == 1)["name"][0].rstrip(".")
    assert first_learn in page
    # the online class's trend
    assert card.online_class == "writing-translation"
    finding = next(line for line in card.trend.findings() if line.startswith("Writing and translation"))
    assert finding in page
    # niches and rate ranges
    assert card.niches is not None and card.niches.niches.height > 0
    assert card.niches.niches["label"][0] in page
    assert len(card.prices) == 2
    for _, result in card.prices:
        assert result.is_enough, result.headline()
        assert f"{result.median:.2f}" in page


def test_card_json(card):
    body = json.loads(card.to_json())
    assert set(body) >= {"origin", "category", "tasks", "paths", "trend", "niches", "prices", "notes", "provenance"}
    assert body["category"] == "translation"
    assert body["trend"]["online_class"] == "writing-translation" and len(body["trend"]["series"]) > 24
    assert [p["label"] for p in body["prices"]] == [label for label, _ in card.prices]
    assert body["prices"][1]["profile"] == {"rating": 4.8, "jobs": 25, "skills": None}
    assert isinstance(card, CareerCard)
    assert card.tidy().filter(pl.col("section") == "price").height == 2


def test_occupation_card_without_a_market(tmp_path):
    card = career_card("27-3091.00")
    assert card.category == "translation" and card.niches is None and card.prices == ()
    assert any("no market given" in n for n in card.notes)
    page = card.to_html()
    _assert_self_contained(page)
    assert "On this market" not in page and 'id="trend"' in page


def test_on_location_work_has_no_online_trend(market):
    card = career_card("I fix leaking pipes and install water heaters", market=market, seed=0)
    assert card.category == "plumbing" and card.online_class is None and card.trend is None
    assert any("Online Labour Index counts online projects only" in n for n in card.notes)
    page = card.to_html()
    _assert_self_contained(page)
    assert 'id="trend"' not in page and "On this market" in page


def test_occupation_outside_every_category_says_so(market):
    from gigshift.advise._model import default_model
    from gigshift.taxonomy._atlas import _definitions

    _, members = _definitions()
    outside = default_model().occupations.join(members.select("soc_code").unique(), on="soc_code", how="anti")
    code = outside.sort("soc_code")["soc_code"][0]
    card = career_card(code, by="occupation", market=market, seed=0)
    assert card.category is None and card.niches is None
    assert any("no gig category holds this work" in n for n in card.notes)


@pytest.mark.parametrize(
    ("origin", "kwargs", "error", "match"),
    [
        ("translaton", {"by": "category"}, NotFoundError, "closest: translation"),
        ("translation", {"market": "not a market"}, GigshiftError, "market must be a gigshift.market.Market"),
    ],
    ids=["unknown-category", "bad-market"],
)
def test_bad_input(origin, kwargs, error, match):
    with pytest.raises(error, match=match):
        career_card(origin, **kwargs)


# -- CLI --------------------------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture(scope="module")
def market_dir(tmp_path_factory, market):
    path = tmp_path_factory.mktemp("market") / "m"
    market.write(path)
    return path


def test_cli_writes_the_card(tmp_path, market_dir, card):
    out = tmp_path / "card"
    result = runner.invoke(
        app, ["advise", "report", "--category", "translation", "--market", str(market_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    page = (out / "index.html").read_text()
    _assert_self_contained(page)
    assert "On this market" in page and "Rate ranges from winning bids" in page
    body = json.loads((out / "card.json").read_text())
    assert body["niches"] == json.loads(card.to_json())["niches"]
    assert "career card for Translation and localisation" in result.stdout


def test_cli_occupation_without_market(tmp_path):
    out = tmp_path / "card"
    result = runner.invoke(app, ["advise", "report", "--occupation", "27-3091", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "no market given" in result.stdout
    assert "Interpreters and Translators" in (out / "index.html").read_text()


def test_cli_needs_exactly_one_origin(tmp_path):
    result = runner.invoke(
        app, ["advise", "report", "--category", "translation", "--occupation", "27-3091", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "give exactly one of --occupation, --category or --text" in result.stderr


def test_cli_bad_market_and_out(tmp_path, market_dir):
    missing = runner.invoke(
        app,
        ["advise", "report", "--category", "translation", "--market", str(tmp_path / "nope"), "--out", str(tmp_path)],
    )
    assert missing.exit_code == 2 and "expected a market directory" in missing.stderr
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    clash = runner.invoke(app, ["advise", "report", "--category", "translation", "--out", str(a_file)])
    assert clash.exit_code == 2 and "exists and is not a directory" in clash.stderr
