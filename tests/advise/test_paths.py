"""Career paths: constraints met (or the widening said), exact learning lists, asymmetric preparation cost."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError
from gigshift.advise import SCORE_WEIGHTS, paths, preparation_cost, skill_levers
from gigshift.taxonomy import category, occupations, technology_skills
from gigshift.taxonomy._store import load_table

SCORED = occupations().filter(pl.col("has_exposure_scores"))
SAMPLE = SCORED.sample(n=25, seed=1)["soc_code"].to_list()
ORIGINS = [
    *[(code, "occupation") for code in SAMPLE],
    ("translation", "category"),
    ("food-delivery", "category"),
    ("I write blog posts and marketing copy for small businesses", "text"),
    ("bookkeeping, invoicing and payroll for small businesses", "text"),
]
IDS = [o[0][:24] for o in ORIGINS]


# -- preparation cost -----------------------------------------------------------------------------


def test_preparation_cost_is_asymmetric():
    for d in (1, 2, 3, 4):
        assert preparation_cost(d) > preparation_cost(-d), d
    # the example: up two zones costs more than down two
    assert preparation_cost(2) > 5 * preparation_cost(-2)
    assert preparation_cost(0) == 0.0


def test_preparation_cost_grows_with_distance_and_is_bounded():
    up = [preparation_cost(d) for d in range(0, 5)]
    down = [preparation_cost(-d) for d in range(0, 5)]
    assert up == sorted(up) and down == sorted(down)
    assert max(up) == 1.0 and max(down) < max(up)
    np.testing.assert_allclose(preparation_cost(np.array([-1, 0, 2])), [0.05, 0.0, 0.25 * 2**1.5])


# -- constraints and widening -----------------------------------------------------------------------


def _published(code: str) -> dict[str, float]:
    return SCORED.filter(pl.col("soc_code") == code).row(0, named=True)


@pytest.fixture(scope="module", params=ORIGINS, ids=IDS)
def result(request):
    origin, by = request.param
    return paths(origin, by=by, top=10)


def test_every_path_meets_the_constraints_of_the_last_step(result):
    origin = result.origin
    last = result.search.row(-1, named=True)
    for r in result.paths.iter_rows(named=True):
        truth = _published(r["soc_code"])
        for lens in ("gpt4", "human"):
            assert truth[f"{lens}_beta"] < origin.exposure[lens]["beta"]
            assert truth[f"{lens}_alpha"] <= origin.exposure[lens]["alpha"]
            assert r[f"{lens}_beta"] == truth[f"{lens}_beta"]
        assert r["similarity_rank"] <= last["reach"]
        if origin.wage_usd_hourly is not None:
            ratio = truth["bls_median_hourly_wage_usd"] / origin.wage_usd_hourly
            assert r["wage_ratio"] == pytest.approx(ratio)
            assert ratio >= last["min_wage_ratio"] - 1e-12
        assert r["soc_code"] not in origin.members["soc_code"].to_list()


def test_widened_exactly_when_the_first_step_found_too_few(result):
    search = result.search
    first = search.row(0, named=True)
    assert first["reach"] == 50
    assert result.widened == (search.height > 1)
    # every step before the last found fewer than min(min_paths, top) = 3
    assert (search["n_paths"].head(search.height - 1) < 3).all()
    assert search["n_paths"][-1] == result.n_qualifying
    if result.widened:
        assert "widened" in result.note
        assert json.loads(result.to_json())["widened"] is True
    else:
        assert first["n_paths"] >= 3 or search.height == 1


def test_paths_are_best_first_and_at_most_top(result):
    assert result.paths.height <= 10
    assert result.paths["score"].is_sorted(descending=True)


def test_score_is_the_weighted_sum_of_the_shown_components(result):
    w = SCORE_WEIGHTS
    p = result.paths
    expected = (
        w["similarity"] * p["score_similarity"]
        + w["exposure"] * p["score_exposure"]
        + w["pay"] * p["score_pay"]
        + w["outlook"] * p["score_outlook"]
        - w["preparation"] * p["preparation_cost"]
    )
    np.testing.assert_allclose(p["score"].to_numpy(), expected.to_numpy(), atol=1e-9)
    for column in ("score_similarity", "score_exposure", "score_pay", "score_outlook"):
        assert ((p[column] >= 0) & (p[column] <= 1)).all(), column


def test_job_zone_change_and_its_cost(result):
    for r in result.paths.iter_rows(named=True):
        assert r["job_zone_change"] == _published(r["soc_code"])["job_zone"] - result.origin.job_zone
        assert r["preparation_cost"] == pytest.approx(preparation_cost(r["job_zone_change"]))


def test_each_path_has_a_one_line_reason_naming_every_component(result):
    for r in result.paths.iter_rows(named=True):
        why = r["why"]
        assert "\n" not in why
        assert "similarity" in why and "beta" in why and "job zone" in why
        assert ("pays" in why) == (r["wage_ratio"] is not None)


# -- learning lists -------------------------------------------------------------------------------


def _items(codes: list[str]) -> tuple[set[str], set[str]]:
    tech = set(technology_skills().filter(pl.col("soc_code").is_in(codes))["technology"].to_list())
    dwas = set(load_table("task_activities").filter(pl.col("soc_code").is_in(codes))["dwa_id"].to_list())
    return tech, dwas


def test_learning_lists_are_exact_set_differences(result):
    own_tech, own_dwas = _items(result.origin.members["soc_code"].to_list())
    for code in result.paths["soc_code"].to_list():
        dest_tech, dest_dwas = _items([code])
        learn = result.learn.filter(pl.col("soc_code") == code)
        listed_tech = set(learn.filter(pl.col("kind") == "technology")["item"].to_list())
        listed_dwas = set(learn.filter(pl.col("kind") == "activity")["item"].to_list())
        assert listed_tech == dest_tech - own_tech
        assert listed_dwas == dest_dwas - own_dwas
        assert learn["rank"].to_list() == list(range(1, learn.height + 1))


def test_learning_list_in_json_is_the_head_with_flags(result):
    body = json.loads(result.to_json())
    flags = technology_skills().group_by("technology").agg(pl.col("is_hot").any(), pl.col("is_in_demand").any())
    hot = dict(zip(flags["technology"], flags["is_hot"], strict=True))
    for p in body["paths"]:
        assert len(p["learn"]) <= result.n_learn
        for item in p["learn"]:
            assert set(item) == {"name", "kind", "hot", "in_demand"}
            assert item["kind"] in ("technology", "activity")
            if item["kind"] == "technology":
                assert item["hot"] == hot[item["name"]]
            else:
                assert item["hot"] is None and item["in_demand"] is None


def test_learning_list_orders_technologies_by_importance():
    result = paths("43-9021.00", top=3)
    for code in result.paths["soc_code"].to_list():
        tech = result.learn.filter((pl.col("soc_code") == code) & (pl.col("kind") == "technology"))
        assert tech["importance"].is_sorted(descending=True)
        act = result.learn.filter((pl.col("soc_code") == code) & (pl.col("kind") == "activity"))
        assert act["importance"].is_sorted(descending=True)


# -- skill levers ---------------------------------------------------------------------------------


def test_skill_levers_count_the_paths_they_open():
    code = "43-9021.00"
    full = paths(code, top=10_000)
    levers = skill_levers(code, top=10)
    assert levers.n_paths == full.paths.height == full.n_qualifying
    own_tech, own_dwas = _items([code])
    pool = full.paths["soc_code"].to_list()
    assert levers.levers["n_paths"].is_sorted(descending=True)
    for r in levers.levers.iter_rows(named=True):
        owned = own_tech if r["kind"] == "technology" else own_dwas
        assert r["item"] not in owned
        holders = [c for c in pool if r["item"] in _items([c])[0 if r["kind"] == "technology" else 1]]
        assert r["n_paths"] == len(holders)
        assert r["paths"] == holders[:3]  # best paths first
    # the same levers come with paths(): computed over the same pool
    assert full.skill_levers.equals(levers.levers)


# -- honest empties and pay ------------------------------------------------------------------------


def test_no_less_exposed_occupation_gives_an_honest_empty():
    result = paths("27-2021.00")  # athletes: beta 0 under GPT-4 and human labels
    assert result.paths.height == 0
    assert result.widened
    assert result.search["reach"][-1] == 922
    assert "No occupation in the atlas is less exposed" in result.note
    body = json.loads(result.to_json())
    assert body["paths"] == [] and body["widened"] is True and body["skill_levers"] == []


def test_a_high_pay_floor_is_relaxed_last_and_reported():
    result = paths("35-3031.00", min_wage_ratio=20.0)  # waiters: nothing pays 20 times as much
    floors = result.search["min_wage_ratio"].to_list()
    assert floors[0] == 20.0 and floors[-1] == pytest.approx(20.0 * 2 / 3, abs=1e-4)
    assert result.search["reach"][-2] == result.search["reach"][-1] == 922
    assert "pay >= 1333%" in result.note and result.paths.height == 0


def test_origin_without_a_wage_skips_the_pay_check():
    result = paths("25-1021.00")  # postsecondary teachers: BLS publishes annual pay only
    assert result.origin.wage_usd_hourly is None
    assert "pay was not compared" in result.note
    assert result.search["min_wage_ratio"].is_null().all()


# -- origins ----------------------------------------------------------------------------------------


def test_category_origin_uses_the_atlas_weights():
    result = paths("translation")
    cat = category("translation")
    assert result.origin.members["soc_code"].to_list() == cat.occupations["soc_code"].to_list()
    assert result.origin.exposure["gpt4"]["beta"] == pytest.approx(cat.published_beta["gpt4"])


def test_text_origin_is_the_lookup_mix():
    result = paths("I deliver food and groceries by bike in the city", top=3)
    members = result.origin.members
    assert 1 <= members.height <= 3
    assert members["weight"].sum() == pytest.approx(1.0)
    assert result.origin.kind == "text"


def test_json_contract():
    body = json.loads(paths("27-3091.00", top=3).to_json())
    assert set(body) >= {"origin", "paths", "widened", "skill_levers"}
    assert set(body["origin"]) >= {"soc_code", "title", "gpt4", "human"}
    keys = {"soc_code", "title", "score", "similarity", "gpt4", "human", "wage_ratio", "job_zone_change"}
    keys |= {"outlook", "learn", "why"}
    for p in body["paths"]:
        assert set(p) >= keys
        assert set(p["gpt4"]) == set(p["human"]) == {"alpha", "beta", "gamma"}
        assert isinstance(p["why"], str) and p["why"]
    scores = [p["score"] for p in body["paths"]]
    assert scores == sorted(scores, reverse=True)


def test_outlook_comes_from_bls_projections():
    result = paths("27-3091.00", top=3)
    for r in result.paths.iter_rows(named=True):
        truth = _published(r["soc_code"])
        assert r["employment_change_pct"] == truth["ep_employment_change_2024_34_pct"]
        assert r["openings_thousands_per_year"] == truth["ep_openings_2024_34_annual_thousands"]


def test_markdown_names_the_origin_and_paths():
    result = paths("27-3091.00", top=2)
    text = result.to_markdown()
    assert "Interpreters and Translators" in text
    assert result.paths["title"][0] in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top": 0}, "top must be an integer >= 1"),
        ({"min_wage_ratio": -0.1}, "min_wage_ratio must be a number >= 0"),
        ({"min_wage_ratio": math.nan}, "min_wage_ratio must be a number >= 0"),
        ({"weights": {"similarty": 1.0}}, r"unknown weight\(s\) \['similarty'\]"),
        ({"weights": {"pay": -1}}, "weights must be numbers >= 0"),
        ({"reach": 0}, "reach must be an integer >= 1"),
    ],
    ids=["top", "negative-ratio", "nan-ratio", "weight-name", "weight-value", "reach"],
)
def test_bad_parameters_name_the_parameter(kwargs, message):
    with pytest.raises(GigshiftError, match=message):
        paths("27-3091.00", **kwargs)


def test_baseline_tools_are_listed_last_and_are_never_levers():
    from gigshift.advise._paths import BASELINE_SHARE

    scored = set(SCORED["soc_code"].to_list())
    counts = (
        technology_skills()
        .filter(pl.col("soc_code").is_in(scored))
        .group_by("technology")
        .agg(n=pl.col("soc_code").n_unique())
    )
    baseline = set(counts.filter(pl.col("n") >= BASELINE_SHARE * len(scored))["technology"].to_list())
    assert {"Microsoft Excel", "Microsoft Windows", "Email software"} <= baseline
    result = paths("I write blog posts and marketing copy for small businesses", top=10)
    assert not baseline & set(result.skill_levers["item"].to_list())
    tech = result.learn.filter(pl.col("kind") == "technology")
    for code in tech["soc_code"].unique().to_list():
        mine = tech.filter(pl.col("soc_code") == code)
        flags = [item in baseline for item in mine["item"].to_list()]
        assert flags == sorted(flags), code  # every baseline tool after every other tool
