"""The BLS openings column the career paths rank on is shipped and matches the raw projections."""

from __future__ import annotations

import csv

import polars as pl
import pytest

from gigshift.taxonomy import occupations


def test_openings_are_shipped_for_most_scored_occupations():
    occ = occupations().filter(pl.col("has_exposure_scores"))
    assert occ["ep_openings_2024_34_annual_thousands"].is_not_null().mean() > 0.9
    assert (occ["ep_openings_2024_34_annual_thousands"].drop_nulls() >= 0).all()


def test_openings_match_the_raw_table(raw_dir):
    with open(raw_dir / "bls-ep" / "employment_projections_2024-34.csv", newline="", encoding="utf-8") as handle:
        raw = {r["2024 National Employment Matrix code"]: r for r in csv.DictReader(handle)}
    dev = occupations().filter(pl.col("soc_code") == "15-1252.00").row(0, named=True)
    expected = float(raw["15-1252"]["Occupational openings, 2024–34 annual average"])
    assert dev["ep_openings_2024_34_annual_thousands"] == pytest.approx(expected)
