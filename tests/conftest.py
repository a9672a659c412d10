"""Shared fixtures. Raw-data tests skip without the raw folder, but fail if GIGSHIFT_RAW_DATA is set and missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def _raw_dir() -> Path | None:
    configured = os.environ.get("GIGSHIFT_RAW_DATA")
    if configured:
        return Path(configured)
    default = REPO.parent / "shared" / "data"
    return default if default.is_dir() else None


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The raw public data folder (``shared/data``)."""
    path = _raw_dir()
    if path is None:
        pytest.skip("raw data not found: set GIGSHIFT_RAW_DATA or place shared/data beside the repository")
    if not (path / "PROVENANCE.md").is_file() and not (path / "gpts-are-gpts").is_dir():
        pytest.fail(f"GIGSHIFT_RAW_DATA={path} is set but holds no raw data")
    return path


@pytest.fixture(scope="session")
def postings() -> list[dict]:
    import yaml

    return yaml.safe_load((DATA / "gig_postings.yaml").read_text())["postings"]
