"""The audit against fairlearn, an independent LL144 computation, planted effects and bad input."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import polars as pl
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from gigshift import GigshiftError, InputError
from gigshift.audit import audit


def random_decisions(seed: int, n: int = 4000, *, with_nulls: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Female", "Male", "Nonbinary"], n, p=[0.45, 0.535, 0.015])
    race = rng.choice(["Asian", "Black", "Hispanic", "White"], n, p=[0.2, 0.25, 0.25, 0.3])
    qualified = rng.random(n) < 0.4
    p = 0.2 + 0.3 * qualified - 0.08 * (sex == "Female") + 0.05 * (race == "White")
    frame = pl.DataFrame(
        {
            "sex": sex,
            "race": race,
            "qualified": qualified.astype(int),
            "selected": (rng.random(n) < p).astype(int),
            "score": np.round(rng.normal(50 + 5 * qualified - 3 * (sex == "Female"), 10), 0),
            "weight": rng.uniform(0.5, 2.0, n),
        }
    )
    if with_nulls:
        frame = frame.with_columns(
            sex=pl.when(pl.int_range(pl.len()) % 37 == 0).then(None).otherwise("sex"),
            race=pl.when(pl.int_range(pl.len()) % 53 == 0).then(None).otherwise("race"),
        )
    return frame


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("attrs", [["sex"], ["race"], ["sex", "race"]], ids=["sex", "race", "sex+race"])
def test_metrics_match_fairlearn(attrs, weighted):
    d = random_decisions(3)
    pdf = d.to_pandas()
    result = audit(
        d,
        ["sex", "race"],
        intersect=True,
        selected="selected",
        label="qualified",
        weight="weight" if weighted else None,
        n_bootstrap=0,
    )
    name = "+".join(attrs)
    sensitive = pdf[attrs] if len(attrs) > 1 else pdf[attrs[0]]
    kwargs = {"sample_weight": pdf["weight"]} if weighted else {}
    y_true, y_pred = pdf["qualified"], pdf["selected"]
    frame = MetricFrame(
        metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=sensitive,
        sample_params={k: {"sample_weight": pdf["weight"]} for k in ("selection_rate", "tpr", "fpr")}
        if weighted
        else None,
    )
    ours = result.by_group.filter(pl.col("attribute") == name).sort("category")
    ref = frame.by_group.reset_index()
    ref["category"] = ref[attrs].astype(str).agg("+".join, axis=1)
    ref = ref.sort_values("category")
    assert ours["category"].to_list() == ref["category"].tolist()
    for metric in ("selection_rate", "tpr", "fpr"):
        np.testing.assert_allclose(ours[metric].to_numpy(), ref[metric].to_numpy(), rtol=0, atol=1e-12)
    m = result.metrics[name]
    checks = {
        "demographic_parity_difference": demographic_parity_difference(
            y_true, y_pred, sensitive_features=sensitive, **kwargs
        ),
        "demographic_parity_ratio": demographic_parity_ratio(y_true, y_pred, sensitive_features=sensitive, **kwargs),
        "demographic_parity_difference_to_overall": demographic_parity_difference(
            y_true, y_pred, sensitive_features=sensitive, method="to_overall", **kwargs
        ),
        "demographic_parity_ratio_to_overall": demographic_parity_ratio(
            y_true, y_pred, sensitive_features=sensitive, method="to_overall", **kwargs
        ),
        "equalized_odds_difference": equalized_odds_difference(y_true, y_pred, sensitive_features=sensitive, **kwargs),
        "equalized_odds_ratio": equalized_odds_ratio(y_true, y_pred, sensitive_features=sensitive, **kwargs),
        "equal_opportunity_difference": equal_opportunity_difference(
            y_true, y_pred, sensitive_features=sensitive, **kwargs
        ),
        "equal_opportunity_ratio": equal_opportunity_ratio(y_true, y_pred, sensitive_features=sensitive, **kwargs),
    }
    for key, expected in checks.items():
        assert m[key] == pytest.approx(expected, abs=1e-12), key


def independent_ll144(d: pd.DataFrame, attrs: list[str], outcome: pd.Series, exclude_small: bool) -> dict:
    """A plain-pandas LL144 table, written separately from the engine."""
    known = d[attrs].notna().all(axis=1)
    rows = d[known]
    category = rows[attrs].astype(str).agg("+".join, axis=1)
    out = {}
    total = len(rows)
    for cat in sorted(category.unique()):
        mask = category == cat
        n = int(mask.sum())
        out[cat] = {"n": n, "rate": float(outcome[known][mask].mean()), "excluded": exclude_small and n / total < 0.02}
    top = max(v["rate"] for v in out.values() if not v["excluded"])
    for v in out.values():
        v["impact_ratio"] = None if v["excluded"] else v["rate"] / top
    return {"rows": out, "unknown": int((~known).sum())}


@pytest.mark.parametrize("exclude_small", [False, True], ids=["all", "exclude-small"])
@pytest.mark.parametrize("mode", ["selected", "score"])
def test_ll144_table_matches_independent_computation(exclude_small, mode):
    d = random_decisions(5, with_nulls=True)
    pdf = d.to_pandas()
    if mode == "selected":
        result = audit(d, ["sex", "race"], intersect=True, selected="selected", exclude_small=exclude_small, seed=0)
        outcome = pdf["selected"].astype(float)
    else:
        result = audit(d, ["sex", "race"], intersect=True, score="score", exclude_small=exclude_small, seed=0)
        outcome = (pdf["score"] > pdf["score"].median()).astype(float)
    for attrs in (["sex"], ["race"], ["sex", "race"]):
        name = "+".join(attrs)
        expected = independent_ll144(pdf, attrs, outcome, exclude_small)
        ours = result.groups.filter(pl.col("attribute") == name)
        assert result.unknown[name] == expected["unknown"]
        assert sorted(ours["category"].to_list()) == sorted(expected["rows"])
        for r in ours.iter_rows(named=True):
            e = expected["rows"][r["category"]]
            assert r["n"] == e["n"] and r["excluded"] == e["excluded"]
            assert r["rate"] == pytest.approx(e["rate"], abs=1e-12)
            if e["impact_ratio"] is None:
                assert r["impact_ratio"] is None
            else:
                assert r["impact_ratio"] == pytest.approx(e["impact_ratio"], abs=1e-12)
    if exclude_small:
        nonbinary = result.groups.filter((pl.col("attribute") == "sex") & (pl.col("category") == "Nonbinary"))
        assert nonbinary.item(0, "excluded") and nonbinary.item(0, "impact_ratio") is None
        assert nonbinary.item(0, "rate") is not None  # still reported with its n and rate


def test_scoring_rate_ties_at_the_median_are_not_above():
    d = pl.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "score": [1, 2, 3, 3, 3, 3, 3, 3, 4, 5]})
    result = audit(d, ["g"], score="score", n_bootstrap=0)
    assert result.median_score == 3.0
    rates = dict(result.groups.select("category", "rate").rows())
    assert rates == {"a": 0.0, "b": 0.4}  # only scores strictly above 3 count
    assert result.groups.filter(pl.col("category") == "a").item(0, "impact_ratio") == 0.0


def test_bootstrap_intervals_cover_the_true_rate():
    """95% intervals from many samples of a known distribution cover the truth about 95% of the time."""
    rng = np.random.default_rng(0)
    truth = {"a": 0.30, "b": 0.18}
    hits = {"a": 0, "b": 0}
    ratio_hits = 0
    n_sims = 300
    for sim in range(n_sims):
        group = np.repeat(["a", "b"], [400, 250])
        selected = rng.random(650) < np.where(group == "a", truth["a"], truth["b"])
        r = audit(pl.DataFrame({"g": group, "s": selected}), ["g"], selected="s", n_bootstrap=400, seed=sim)
        for row in r.groups.iter_rows(named=True):
            hits[row["category"]] += row["ci_lo"] <= truth[row["category"]] <= row["ci_hi"]
        b = r.groups.filter(pl.col("category") == "b").row(0, named=True)
        if b["impact_ratio"] < 1:  # b is the lower group in this sample
            ratio_hits += b["impact_ratio_ci_lo"] <= truth["b"] / truth["a"] <= b["impact_ratio_ci_hi"]
    for g in truth:
        assert 0.91 <= hits[g] / n_sims <= 0.98, (g, hits[g] / n_sims)
    assert ratio_hits / n_sims >= 0.88


def test_same_seed_same_intervals_and_json_schema():
    d = random_decisions(8)
    a = audit(
        d,
        ["sex", "race"],
        intersect=True,
        selected="selected",
        label="qualified",
        seed=4,
        audit_date=date(2026, 11, 28),
    )
    b = audit(
        d,
        ["sex", "race"],
        intersect=True,
        selected="selected",
        label="qualified",
        seed=4,
        audit_date=date(2026, 11, 28),
    )
    assert a.to_json() == b.to_json()
    body = json.loads(a.to_json())
    first = body["groups"][0]
    assert {"attribute", "category", "n", "rate", "impact_ratio", "excluded", "ci"} <= first.keys()
    assert len(first["ci"]) == 2
    assert any(g["attribute"] == "sex+race" and g["category"] == "Female+Asian" for g in body["groups"])
    assert set(body["unknown"]) == {"sex", "race", "sex+race"}
    assert {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
    } <= body["metrics"]["race"].keys()
    assert body["audit_date"] == "2026-11-28"


def test_small_groups_are_flagged_and_wide():
    d = random_decisions(2, n=2000)
    r = audit(d, ["sex"], selected="selected", min_n=150, seed=1)
    nb = r.groups.filter(pl.col("category") == "Nonbinary").row(0, named=True)
    assert nb["small"] and nb["n"] < 150
    assert nb["ci_hi"] - nb["ci_lo"] > 0.1
    assert any("fewer than 150 people" in f for f in r.findings())


def test_person_level_counts_people():
    d = pl.DataFrame(
        {
            "worker_id": ["a", "a", "b", "c", "c", "c"],
            "sex": ["F", "F", "M", "F", "F", "F"],
            "is_selected": [0, 1, 0, 0, 0, 0],
        }
    )
    r = audit(d, ["sex"], selected="is_selected", person="worker_id", n_bootstrap=0)
    assert dict(r.groups.select("category", "n").rows()) == {"F": 2, "M": 1}
    assert dict(r.groups.select("category", "rate").rows()) == {"F": 0.5, "M": 0.0}
    bad = d.with_columns(sex=pl.Series(["F", "M", "M", "F", "F", "F"]))
    with pytest.raises(GigshiftError, match="'sex' differs between rows of the same person"):
        audit(bad, ["sex"], selected="is_selected", person="worker_id")


def test_exposure_in_rankings():
    # two lists; group b always ranked below a
    d = pl.DataFrame(
        {
            "list": [1, 1, 1, 1, 2, 2],
            "rank": [1, 2, 3, 4, 1, 2],
            "g": ["a", "a", "b", "b", "a", "b"],
            "sel": [1, 0, 0, 0, 1, 0],
        }
    )
    r = audit(d, ["g"], selected="sel", rank="rank", n_bootstrap=0)
    e = {row["category"]: row for row in r.exposure.iter_rows(named=True)}
    exp = 1 / np.log2(1 + np.array([1, 2, 3, 4, 1, 2]))
    assert e["a"]["mean_exposure"] == pytest.approx(exp[[0, 1, 4]].mean())
    assert e["b"]["exposure_share"] == pytest.approx(exp[[2, 3, 5]].sum() / exp.sum())
    assert e["a"]["exposure_ratio"] == 1.0 and e["b"]["exposure_ratio"] < 0.8


def test_disparities_against_reference():
    d = random_decisions(9)
    r = audit(d, ["sex"], selected="selected", label="qualified", reference={"sex": "Male"}, n_bootstrap=0)
    rows = r.disparities.filter(pl.col("metric") == "selection_rate")
    male = r.by_group.filter(pl.col("category") == "Male").item(0, "selection_rate")
    female_row = rows.filter(pl.col("category") == "Female").row(0, named=True)
    assert female_row["disparity"] == pytest.approx(female_row["value"] / male)
    assert female_row["is_fair"] == (0.8 <= female_row["disparity"] <= 1.25)
    assert rows.filter(pl.col("category") == "Male").item(0, "disparity") == 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"groups": ["sexx"], "selected": "selected"}, InputError, r"column 'sexx'.*closest: 'sex'"),
        ({"groups": ["sex"], "selected": "selcted"}, InputError, r"column 'selcted'.*closest: 'selected'"),
        ({"groups": ["sex"], "selected": "score"}, InputError, r"row 1, column 'score': expected 0 or 1"),
        ({"groups": ["sex"], "label": "qualified"}, GigshiftError, "exactly one of selected= .* or score="),
        ({"groups": ["sex"], "selected": "selected", "score": "score"}, GigshiftError, "exactly one of"),
        ({"groups": [], "selected": "selected"}, GigshiftError, "at least one group attribute"),
        ({"groups": ["sex"], "selected": "selected", "label": "all_one"}, GigshiftError, "holds only 1"),
        ({"groups": ["empty"], "selected": "selected"}, GigshiftError, "'empty' has no rows with a value"),
        ({"groups": ["sex"], "selected": "selected", "reference": {"sex": "Martian"}}, GigshiftError, "'Martian'"),
        ({"groups": ["sex"], "score": "bad_score"}, InputError, r"row 2, column 'bad_score': expected a finite score"),
    ],
    ids=[
        "group-typo",
        "selected-typo",
        "not-binary",
        "labels-without-selections",
        "both",
        "no-groups",
        "one-class-label",
        "empty-group",
        "bad-reference",
        "nan-score",
    ],
)
def test_bad_input(kwargs, error, match):
    d = random_decisions(1, n=50).with_columns(
        all_one=pl.lit(1),
        empty=pl.lit(None, dtype=pl.String),
        bad_score=pl.Series([1.0, float("nan")] + [2.0] * 48),
    )
    with pytest.raises(error, match=match):
        audit(d, **kwargs)


def test_report_renders_offline(tmp_path):
    r = audit(
        random_decisions(4),
        ["sex", "race"],
        intersect=True,
        selected="selected",
        label="qualified",
        seed=1,
        exclude_small=True,
        description="synthetic test data",
    )
    path = tmp_path / "audit.html"
    html = r.to_html(path)
    assert path.read_text() == html
    assert "<script type='text/javascript'>" in html and "<script src" not in html  # Plotly inlined, no CDN
    assert "Impact ratios" in html and "synthetic test data" in html and "Female+Asian" in html
    md = r.to_markdown()
    assert "| sex | Female |" in md and "## Findings" in md
