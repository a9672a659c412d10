"""Closed value sets and which sources feed which shipped table."""

from __future__ import annotations

from typing import Literal

from gigshift._provenance import Source
from gigshift.taxonomy._sources import CROSSWALK, EP, GPTS, MICROSOFT, OEWS, OLI, ONET

EXPOSURE_LABELS: tuple[str, ...] = ("E0", "E1", "E2")
AUTOMATION_LEVELS: tuple[str, ...] = ("T0", "T1", "T2", "T3", "T4")
TASK_TYPES: tuple[str, ...] = ("Core", "Supplemental")
CATEGORY_CLASSES: tuple[str, ...] = (
    "software-tech",
    "creative-multimedia",
    "clerical-data-entry",
    "writing-translation",
    "sales-marketing",
    "professional-services",
    "microwork",
    "on-location",
)

#: An exposure lens: labels given by GPT-4 or by human annotators (Eloundou et al. 2024).
Lens = Literal["gpt4", "human"]
LENSES: tuple[Lens, ...] = ("gpt4", "human")

#: The published occupation scores, as columns of the occupations table.
SCORE_COLUMNS: tuple[str, ...] = tuple(f"{lens}_{m}" for lens in ("gpt4", "human") for m in ("alpha", "beta", "gamma"))
#: Labour-market context joined to each occupation (BLS codes, employment, wages, projections).
CONTEXT_COLUMNS: tuple[str, ...] = (
    "soc2018",
    "nem_code",
    "bls_code",
    "bls_employment",
    "bls_median_hourly_wage_usd",
    "bls_median_annual_wage_usd",
    "ep_employment_2024_thousands",
    "ep_employment_change_2024_34_pct",
    "ep_self_employed_2024_pct",
)

TABLE_SOURCES: dict[str, tuple[Source, ...]] = {
    "tasks": (ONET, GPTS),
    "occupations": (ONET, GPTS, MICROSOFT, OEWS, EP, CROSSWALK),
    "skills": (ONET,),
    "technology_skills": (ONET,),
    "alternate_titles": (ONET,),
    "task_activities": (ONET,),
    "oli_levels": (OLI,),
}

#: Online Labour Index occupation classes (column names of the raw series) -> gig category classes.
OLI_CLASSES: dict[str, str] = {
    "Software development and technology": "software-tech",
    "Creative and multimedia": "creative-multimedia",
    "Clerical and data entry": "clerical-data-entry",
    "Writing and translation": "writing-translation",
    "Sales and marketing support": "sales-marketing",
    "Professional services": "professional-services",
    "Microwork": "microwork",
    "Total": "total",
}
