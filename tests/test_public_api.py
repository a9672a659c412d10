"""The public surface changes only on purpose: each package's ``__all__`` is pinned here."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "gigshift": ["GigshiftError", "InputError", "NotFoundError", "__version__"],
    "gigshift.advise": [
        "NICHE_WEIGHTS",
        "PEER_WEIGHTS",
        "SCORE_WEIGHTS",
        "CareerCard",
        "NichesResult",
        "Origin",
        "OriginKind",
        "PathsResult",
        "PeersResult",
        "PriceResult",
        "SimilarResult",
        "SkillLeversResult",
        "TasksResult",
        "career_card",
        "niches",
        "paths",
        "peers",
        "preparation_cost",
        "price",
        "similar",
        "skill_levers",
        "tasks",
    ],
    "gigshift.taxonomy": [
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
    ],
    "gigshift.server": ["ROUTE_ROLES", "add_user", "create_app", "load_demo", "upgrade"],
    "gigshift.report": ["DemoResult", "atlas_html", "run_demo", "write_atlas_report"],
    "gigshift.audit": ["AuditResult", "GapResult", "PayGapResult", "audit", "concentration", "pay_gap", "rating_gap"],
    "gigshift.insights": ["MarketFolder", "MarketInsights", "TrendsResult", "market", "read_folder", "trends"],
    "gigshift.impact": [
        "ImpactResult",
        "attach_exposure",
        "check_panel",
        "compare_with_published",
        "estimate",
        "estimate_staggered",
        "published_estimates",
    ],
    "gigshift.simulate": [
        "SCENARIO_NAMES",
        "Scenario",
        "SimulationResult",
        "load_scenario",
        "run",
        "scenario_from_yaml",
        "sweep",
    ],
    "gigshift.allocate": [
        "COMPONENTS",
        "LOG_COLUMNS",
        "AllocationResult",
        "Explanation",
        "FairnessReport",
        "InfeasibleError",
        "Policy",
        "Solution",
        "allocate",
        "default_policy",
        "explain",
        "solve",
        "solve_table",
        "transparency_statement",
    ],
    "gigshift.market": [
        "GROUP_ATTRIBUTES",
        "SCHEMAS",
        "Market",
        "TableKind",
        "check_references",
        "read",
        "read_market",
        "synthetic",
        "synthetic_tasks",
        "validate",
        "write",
    ],
    "gigshift.pay": [
        "CONSENT_SCHEMA",
        "JOB_COLUMNS",
        "SCHEMAS",
        "SESSION_COLUMNS",
        "Contribution",
        "Expenses",
        "PayAudit",
        "PayConfig",
        "PlantedChange",
        "Pool",
        "PrivacyLedger",
        "Standard",
        "Statement",
        "SyntheticPool",
        "TableKind",
        "audit",
        "detect_changes",
        "dp_cells",
        "load",
        "nyc_config",
        "read_mapping",
        "statement",
        "suppress",
        "synthetic",
        "validate",
    ],
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_all_is_pinned(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(EXPECTED[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_engines_do_not_import_faces():
    import ast
    from pathlib import Path

    root = Path(importlib.import_module("gigshift").__file__).parent
    engines = ("taxonomy", "market", "allocate", "audit", "simulate", "impact", "advise", "insights", "pay")
    for path in [p for engine in engines for p in (root / engine).rglob("*.py")]:
        tree = ast.parse(path.read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        assert not [m for m in imported if m.startswith(("gigshift.cli", "gigshift.report", "gigshift.server"))], path
