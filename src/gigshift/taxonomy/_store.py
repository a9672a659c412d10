"""Access to the shipped tables (read once per process, never mutated)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

TABLE_NAMES: tuple[str, ...] = (
    "tasks",
    "occupations",
    "skills",
    "technology_skills",
    "alternate_titles",
    "task_activities",
    "oli_levels",
)


def data_dir() -> Path:
    """The folder holding the shipped tables, ``categories.yaml`` and ``manifest.json``."""
    return Path(str(resources.files("gigshift.taxonomy") / "data"))


@cache
def load_table(name: str) -> pl.DataFrame:
    """One shipped table by name (cached; callers must not mutate it, Polars frames are immutable)."""
    if name not in TABLE_NAMES:
        raise KeyError(f"no shipped table {name!r}; known: {', '.join(TABLE_NAMES)}")
    return pl.read_parquet(data_dir() / f"{name}.parquet")


@cache
def manifest() -> dict[str, object]:
    return json.loads((data_dir() / "manifest.json").read_text())
