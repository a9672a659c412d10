"""One contract over every advise result: frozen, tidy table, strict JSON, Markdown and HTML renderings."""

from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest

from gigshift.advise import paths, similar, skill_levers, tasks

RESULTS = {
    "paths": lambda: paths("27-3091.00", top=3),
    "paths-empty": lambda: paths("27-2021.00"),
    "similar": lambda: similar("translation", top=5),
    "skill_levers": lambda: skill_levers("43-9021.00", top=5),
    "tasks": lambda: tasks("I fix leaking pipes and install water heaters"),
}


@pytest.mark.parametrize("make", list(RESULTS.values()), ids=list(RESULTS))
def test_result_contract(make):
    result = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.provenance = None
    assert isinstance(result.tidy(), pl.DataFrame)
    body = json.loads(result.to_json())  # allow_nan=False inside: NaN would have raised
    assert set(body["origin"]) >= {"kind", "soc_code", "title", "gpt4", "human", "occupations"}
    assert body["provenance"]["sources"] and body["provenance"]["method"]
    assert result.origin.label in result.to_markdown()
    html = result.to_html()
    assert html.count("<table>") == html.count("</table>") and "<script" not in html
