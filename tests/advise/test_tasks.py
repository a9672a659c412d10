"""Working with AI: the split of a worker's tasks, its weights, and the evidence it cites."""

from __future__ import annotations

import json

import polars as pl
import pytest

from gigshift.advise import tasks
from gigshift.taxonomy import category
from gigshift.taxonomy import tasks as task_table

EXPECTED_GROUP = {
    ("E1", "E1"): "ai_can_do",
    ("E1", "E2"): "ai_can_do",
    ("E2", "E1"): "ai_can_do",
    ("E2", "E2"): "ai_speeds_up",
    ("E1", "E0"): "ai_speeds_up",
    ("E0", "E1"): "ai_speeds_up",
    ("E2", "E0"): "human_edge",
    ("E0", "E2"): "human_edge",
    ("E0", "E0"): "human_edge",
}


@pytest.mark.parametrize(
    ("origin", "by"),
    [
        ("27-3091.00", "occupation"),
        ("43-9021", "occupation"),
        ("house-cleaning", "category"),
        ("I fix leaking pipes and install water heaters", "text"),
    ],
    ids=["translators", "data-entry", "category", "text"],
)
def test_each_task_is_in_the_group_its_two_labels_give(origin, by):
    result = tasks(origin, by=by)
    t = result.tasks
    assert t.height > 0
    for r in t.iter_rows(named=True):
        assert r["group"] == EXPECTED_GROUP[(r["gpt4_label"], r["human_label"])]
    assert t["weight"].sum() == pytest.approx(1.0)
    shares = dict(zip(result.groups["group"], result.groups["share"], strict=True))
    assert sum(shares.values()) == pytest.approx(1.0)
    for group, share in shares.items():
        assert share == pytest.approx(t.filter(pl.col("group") == group)["weight"].sum())


def test_occupation_tasks_are_its_labelled_tasks_equally_weighted():
    result = tasks("27-3091.00")
    own = task_table().filter(
        (pl.col("soc_code") == "27-3091.00") & pl.col("is_labelled") & (pl.col("onet_status") == "current")
    )
    assert sorted(result.tasks["task_id"].to_list()) == sorted(own["task_id"].to_list())
    assert result.tasks["weight"].n_unique() == 1


def test_category_tasks_keep_the_atlas_weights():
    result = tasks("food-delivery")
    cat = category("food-delivery")
    merged = result.tasks.join(cat.tasks.select("task_id", "task_weight"), on="task_id")
    assert merged.height == cat.tasks.height
    assert merged["weight"].to_list() == pytest.approx(merged["task_weight"].to_list())


def test_translation_is_mostly_something_ai_can_do_and_cleaning_is_not():
    translators = dict(zip(*tasks("27-3091.00").groups.select("group", "share").to_dict().values(), strict=True))
    cleaners = dict(zip(*tasks("house-cleaning").groups.select("group", "share").to_dict().values(), strict=True))
    assert translators["ai_can_do"] > 0.5
    assert cleaners["human_edge"] > 0.5


def test_json_has_three_groups_with_advice_and_the_evidence():
    body = json.loads(tasks("27-3091.00").to_json())
    assert [g["group"] for g in body["groups"]] == ["ai_can_do", "ai_speeds_up", "human_edge"]
    assert [g["label"] for g in body["groups"]] == ["AI can do it", "AI speeds it up", "the human edge"]
    speeds = body["groups"][1]
    cited = " ".join(e["citation"] for e in speeds["evidence"])
    assert "Science 381" in cited and "NBER Working Paper 31161" in cited and "24-013" in cited
    found = " ".join(e["finding"] for e in speeds["evidence"])
    assert "40%" in found and "14%" in found and "34%" in found and "25.1% faster" in found
    assert all(g["advice"] for g in body["groups"])
    assert "re-price" in body["groups"][0]["advice"] and "profile" in body["groups"][2]["advice"]
    assert set(body["origin"]) >= {"soc_code", "title", "gpt4", "human"}


def test_profile_lead_is_the_heaviest_human_edge_work():
    result = tasks("house-cleaning")
    edge = result.tasks.filter(pl.col("group") == "human_edge").sort("weight", descending=True)
    assert result.profile_lead[0] == edge["task"][0]
    assert len(result.profile_lead) <= 3
