"""The AI-exposure atlas: O*NET tasks and occupations, gig categories, skills and free-text lookup.

Everything here rests on shipped tables derived from public data (O*NET 29.3, the GPTs-are-GPTs
exposure labels, Microsoft's AI applicability scores, BLS wages and projections); each result
carries its sources. ``build_tables`` re-derives the shipped tables from the raw files.
"""

from gigshift.taxonomy._atlas import (
    Category,
    ExposureScores,
    Occupation,
    all_sources,
    categories,
    category,
    normalize_soc_code,
    occupation,
    occupations,
    online_labour_index,
    skills,
    tasks,
    technology_skills,
)
from gigshift.taxonomy._build import build_tables, write_tables
from gigshift.taxonomy._lenses import extra_lenses
from gigshift.taxonomy._lookup import LookupIndex, LookupResult, lookup
from gigshift.taxonomy._schema import Lens

__all__ = [
    "Category",
    "ExposureScores",
    "Lens",
    "LookupIndex",
    "LookupResult",
    "Occupation",
    "all_sources",
    "build_tables",
    "categories",
    "category",
    "extra_lenses",
    "lookup",
    "normalize_soc_code",
    "occupation",
    "occupations",
    "online_labour_index",
    "skills",
    "tasks",
    "technology_skills",
    "write_tables",
]
