"""One contract over every result type: tidy table, JSON without NaN, provenance and sources, Markdown."""

from __future__ import annotations

import json

import polars as pl
import pytest

from gigshift.taxonomy import category, lookup, occupation

RESULTS = {
    "occupation": lambda: occupation("43-9021"),
    "occupation-all-other": lambda: occupation("11-9199.00"),  # no tasks, no scores: nulls, not NaN
    "category": lambda: category("data-entry"),
    "lookup": lambda: lookup("Type 500 scanned receipts into a Google Sheet", top=4),
}


@pytest.mark.parametrize("make", RESULTS.values(), ids=RESULTS.keys())
def test_result_contract(make):
    result = make()
    assert isinstance(result.tidy(), pl.DataFrame)
    text = result.to_json()
    body = json.loads(text)  # allow_nan=False in to_json: NaN would have raised
    assert "NaN" not in text
    assert body["sources"] and all({"name", "version", "licence", "citation"} <= s.keys() for s in body["sources"])
    assert body["provenance"]["gigshift_version"] and body["provenance"]["method"]
    assert result.to_markdown().strip()
    with pytest.raises(AttributeError):  # frozen: results are values
        result.provenance = None  # type: ignore[misc]
