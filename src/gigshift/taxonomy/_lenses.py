"""Extra exposure lenses read at run time from a user-given raw-data folder, never shipped.

The AIOE (Felten, Raj & Seamans 2021, with its language-modelling and image-generation variants),
Frey & Osborne (2017) computerisation probabilities and Brynjolfsson, Mitchell & Rock (2018)
suitability for machine learning have no clear licence for redistribution, so gigshift only reads
them from a folder the user supplies (laid out as ``shared/data``).

Joins: AIOE and Frey-Osborne use SOC 2010 six-digit codes; they are mapped to SOC 2018 through the
one-to-one links of ``crosswalks/aioe_soc_2010_to_2018.json`` and attached to every O*NET-SOC
occupation whose first seven characters match. Codes split or merged between the vintages (Taxi
Drivers, Software Developers, ...) are left out rather than guessed. BMR's ``occ_code`` is an
O*NET-SOC 2010 code: exact matches first, then the same six-digit mapping.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from gigshift._errors import InputError
from gigshift.taxonomy._build import parse_column, read_raw_file
from gigshift.taxonomy._store import load_table

LENS_FILES = {
    "aioe": "aioe-felten-raj-seamans/aioe_occupation_soc2010.csv",
    "frey_osborne": "frey-osborne/frey_osborne_2017_probabilities.csv",
    "bmr_sml": "bmr-2018-sml/SML_score.csv",
    "crosswalk": "crosswalks/aioe_soc_2010_to_2018.json",
}

LENS_CITATIONS = {
    "aioe": "Felten, Raj & Seamans (2021), Strategic Management Journal 42(12); LM/IG AIOE: Felten, Raj & "
    "Seamans (2023), arXiv:2303.01157",
    "frey_osborne_probability": "Frey & Osborne (2017), Technological Forecasting and Social Change 114, 254-280",
    "bmr_msml": "Brynjolfsson, Mitchell & Rock (2018), AEA Papers and Proceedings 108, 43-47",
}


def _read(raw_dir: Path, key: str, columns: list[str], numeric: list[str]) -> pl.DataFrame:
    raw = read_raw_file(raw_dir / LENS_FILES[key], columns)
    return raw.frame.with_columns(parse_column(raw, c, pl.Float64, "a number", nullable=True) for c in numeric)


def extra_lenses(raw_dir: str | os.PathLike[str]) -> pl.DataFrame:
    """Other published exposure measures per O*NET-SOC occupation, read from ``raw_dir``.

    Returns
    -------
    polars.DataFrame
        ``soc_code``, ``aioe``, ``lm_aioe``, ``ig_aioe`` (standardised, mean 0 sd 1),
        ``frey_osborne_probability`` (0-1) and ``bmr_msml`` (mean task suitability for machine
        learning, 1-5); null where a code does not map one to one.

    Raises
    ------
    InputError
        A file is missing or malformed; the message names it.
    """
    raw_dir = Path(raw_dir)
    crosswalk_path = raw_dir / LENS_FILES["crosswalk"]
    try:
        one_to_one = json.loads(crosswalk_path.read_text())["one_to_one"]
    except FileNotFoundError:
        raise InputError.single(source=str(crosswalk_path), expected="an existing file", got="missing") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError.single(
            source=str(crosswalk_path), expected="JSON with a 'one_to_one' mapping", got=type(exc).__name__
        ) from None
    cw = pl.DataFrame({"soc2010": list(one_to_one), "soc2018": list(one_to_one.values())})

    aioe = _read(raw_dir, "aioe", ["soc2010", "aioe", "lm_aioe", "ig_aioe"], ["aioe", "lm_aioe", "ig_aioe"])
    fo = _read(raw_dir, "frey_osborne", ["SOC code", "Probability"], ["Probability"])
    sml = _read(raw_dir, "bmr_sml", ["occ_code", "mSML"], ["mSML"])

    occ = load_table("occupations").select("soc_code", soc2018=pl.col("soc_code").str.slice(0, 7))
    by_2018 = (
        cw.join(aioe.select("soc2010", "aioe", "lm_aioe", "ig_aioe"), on="soc2010", how="left")
        .join(
            fo.select(soc2010=pl.col("SOC code").str.strip_chars(), frey_osborne_probability="Probability").unique(
                "soc2010"
            ),
            on="soc2010",
            how="left",
        )
        .drop("soc2010")
        .unique("soc2018", keep="first")
    )
    sml = sml.select(soc_code=pl.col("occ_code").str.strip_chars(), bmr_msml="mSML").unique("soc_code")
    sml_6 = (
        sml.with_columns(soc2010=pl.col("soc_code").str.slice(0, 7))
        .group_by("soc2010")
        .agg(bmr_msml_6=pl.col("bmr_msml").mean())
        .join(cw, on="soc2010")
        .drop("soc2010")
        .unique("soc2018", keep="first")
    )
    return (
        occ.join(by_2018, on="soc2018", how="left")
        .join(sml, on="soc_code", how="left")
        .join(sml_6, on="soc2018", how="left")
        .with_columns(bmr_msml=pl.coalesce("bmr_msml", "bmr_msml_6"))
        .select("soc_code", "aioe", "lm_aioe", "ig_aioe", "frey_osborne_probability", "bmr_msml")
        .sort("soc_code")
    )
