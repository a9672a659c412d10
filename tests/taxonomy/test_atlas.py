"""Occupations and gig categories: lookups by key, aggregation checked by hand, bad definitions."""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict

import polars as pl
import pytest

from gigshift import InputError, NotFoundError
from gigshift.taxonomy import categories, category, normalize_soc_code, occupation, skills, tasks
from gigshift.taxonomy._categories import aggregate_exposure, read_definitions, rollup_skills
from gigshift.taxonomy._schema import CATEGORY_CLASSES
from gigshift.taxonomy._store import data_dir, load_table


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("27-3091", "27-3091.00"),
        ("27-3091.00", "27-3091.00"),
        ("273091", "27-3091.00"),
        (" 15-1252.00 ", "15-1252.00"),
        ("writer", None),
        ("27-309", None),
    ],
)
def test_normalize_soc_code(given, expected):
    assert normalize_soc_code(given) == expected


def test_occupation_has_published_scores_and_labelled_tasks():
    occ = occupation("27-3091")
    assert occ.soc_code == "27-3091.00" and occ.title == "Interpreters and Translators"
    assert (occ.gpt4.alpha, occ.gpt4.beta, occ.gpt4.gamma) == (0.88, 0.88, 0.88)  # as published
    assert (
        occ.tasks.height
        == load_table("tasks")
        .filter((pl.col("soc_code") == "27-3091.00") & (pl.col("onet_status") == "current"))
        .height
    )
    body = json.loads(occ.to_json())
    assert {"soc_code", "title", "gpt4", "human", "tasks", "sources"} <= body.keys()
    assert set(body["gpt4"]) == {"alpha", "beta", "gamma"}
    assert set(body["tasks"][0]) >= {"task_id", "task", "gpt4_label", "human_label"}
    assert {s["licence"] for s in body["sources"]} >= {"CC BY 4.0", "MIT"}
    assert "translation" in occ.categories["slug"].to_list()


def test_occupation_without_labels_has_null_scores():
    unlabelled = load_table("occupations").filter(~pl.col("has_exposure_scores")).row(0, named=True)
    occ = occupation(unlabelled["soc_code"])
    assert occ.gpt4.beta is None and json.loads(occ.to_json())["gpt4"]["beta"] is None


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("27-3090.00", "27-3091.00"),
        ("99-9999", "unknown occupation"),
        ("translater", "Interpreters and Translators"),
        ("", "unknown"),
    ],
)
def test_unknown_occupation_names_closest(code, hint):
    with pytest.raises(NotFoundError, match="unknown occupation") as info:
        occupation(code)
    assert hint in str(info.value)


def test_unknown_category_names_closest():
    with pytest.raises(NotFoundError, match=r"unknown category 'translaton'; closest: translation"):
        category("translaton")


def test_categories_cover_online_classes_and_on_location_work():
    table = categories()
    assert table.height >= 30 and table["slug"].is_unique().all()
    assert set(table["class"].cast(pl.String)) == set(CATEGORY_CLASSES)
    on_location = set(table.filter(pl.col("mode") == "on-location")["slug"])
    assert {
        "food-delivery",
        "ride-hailing",
        "house-cleaning",
        "handyman",
        "moving",
        "elder-care",
        "tutoring",
        "pet-care",
    } <= on_location
    for lens in ("gpt4", "human"):
        total = table[f"{lens}_share_e0"] + table[f"{lens}_share_e1"] + table[f"{lens}_share_e2"]
        assert (total - 1).abs().max() < 1e-12
        assert (
            (table[f"{lens}_alpha"] <= table[f"{lens}_beta"]) & (table[f"{lens}_beta"] <= table[f"{lens}_gamma"])
        ).all()


def test_exposure_ranks_text_work_above_manual_work():
    beta = dict(categories().select("slug", "gpt4_beta").iter_rows())
    for exposed in ("translation", "transcription", "data-entry"):
        for manual in ("house-cleaning", "plumbing", "moving"):
            assert beta[exposed] > beta[manual] + 0.5


_MINI_TASKS = pl.DataFrame(
    {
        "task_id": [1, 2, 3, 4, 5],
        "soc_code": ["A", "A", "A", "B", "B"],
        "gpt4_label": ["E1", "E2", "E0", "E1", "E1"],
        "human_label": ["E0", "E2", "E0", "E2", "E1"],
        "gpt4_automation": ["T4", "T2", "T0", "T3", "T1"],
    }
).with_columns(
    pl.col("gpt4_label", "human_label").cast(pl.Enum(["E0", "E1", "E2"])),
    pl.col("gpt4_automation").cast(pl.Enum(["T0", "T1", "T2", "T3", "T4"])),
)
_MINI_OCC = pl.DataFrame({"soc_code": ["A", "B"], "gpt4_beta": [0.4, 0.9], "human_beta": [0.2, 0.6]})


def test_aggregation_by_hand_on_a_mini_category():
    # occupation A (weight 0.75): tasks 1 (E1), 2 (E2), 3 (E0) -> each 0.25; B (0.25): tasks 4, 5 (E1) -> 0.125 each
    members = pl.DataFrame(
        {
            "slug": ["x"] * 5,
            "soc_code": ["A", "A", "A", "B", "B"],
            "occupation_weight": [0.75, 0.75, 0.75, 0.25, 0.25],
            "task_id": [1, 2, 3, 4, 5],
        }
    )
    row = aggregate_exposure(members, _MINI_TASKS, _MINI_OCC).row(0, named=True)
    assert row["gpt4_share_e1"] == pytest.approx(0.25 + 0.25)
    assert row["gpt4_share_e2"] == pytest.approx(0.25)
    assert row["gpt4_share_e0"] == pytest.approx(0.25)
    assert row["gpt4_beta"] == pytest.approx(0.5 + 0.125)
    assert row["gpt4_gamma"] == pytest.approx(0.75)
    # human: A -> E0, E2, E0 ; B -> E2, E1
    assert row["human_alpha"] == pytest.approx(0.125)
    assert row["human_beta"] == pytest.approx(0.125 + 0.5 * (0.25 + 0.125))
    assert row["gpt4_automation_mean"] == pytest.approx(0.25 * (1 + 0.5 + 0) + 0.125 * (0.75 + 0.25))
    assert row["published_gpt4_beta"] == pytest.approx(0.75 * 0.4 + 0.25 * 0.9)
    assert (row["n_tasks"], row["n_occupations"]) == (5, 2)


@pytest.mark.parametrize("slug", ["translation", "food-delivery", "graphic-design", "bookkeeping"])
def test_real_category_matches_a_plain_python_recomputation(slug):
    import yaml

    doc = yaml.safe_load((data_dir() / "categories.yaml").read_text())
    entry = next(c for c in doc["categories"] if c["slug"] == slug)
    labels = {r["task_id"]: r for r in tasks().iter_rows(named=True)}
    share: dict[str, float] = defaultdict(float)
    for occ in entry["occupations"]:
        ids = (
            occ["tasks"]
            if occ["tasks"] != "all"
            else [
                t
                for t, r in labels.items()
                if r["soc_code"] == occ["soc_code"] and r["is_labelled"] and r["onet_status"] == "current"
            ]
        )
        for task_id in ids:
            share[labels[task_id]["gpt4_label"]] += occ["weight"] / len(ids)
    cat = category(slug)
    assert cat.shares["gpt4"]["e1"] == pytest.approx(share["E1"], abs=1e-12)
    assert cat.gpt4.beta == pytest.approx(share["E1"] + 0.5 * share["E2"], abs=1e-12)
    assert cat.tasks["task_weight"].sum() == pytest.approx(1.0)


def test_skill_rollup_is_the_weighted_mean():
    members = pl.DataFrame(
        {
            "slug": ["x", "x"],
            "soc_code": ["15-1251.00", "27-3091.00"],
            "occupation_weight": [0.25, 0.75],
            "task_id": [0, 0],
        }
    )
    rolled = rollup_skills(members, skills()).filter(pl.col("skill") == "Programming").row(0, named=True)
    s = skills().filter(pl.col("skill") == "Programming")
    dev = s.filter(pl.col("soc_code") == "15-1251.00")["importance"][0]
    tr = s.filter(pl.col("soc_code") == "27-3091.00")["importance"][0]
    assert rolled["importance"] == pytest.approx(0.25 * dev + 0.75 * tr)


def test_category_json_and_markdown():
    cat = category("house-cleaning")
    body = json.loads(cat.to_json())
    assert body["slug"] == "house-cleaning" and body["mode"] == "on-location"
    assert set(body["shares"]["gpt4"]) == {"e0", "e1", "e2"}
    assert "| GPT-4 |" in cat.to_markdown()
    assert cat.technology.height > 0 and cat.skills.height > 0


def _definitions_file(tmp_path, body: str):
    path = tmp_path / "categories.yaml"
    path.write_text(textwrap.dedent(body))
    return path


_GOOD = """
categories:
  - slug: translation
    name: Translation
    class: writing-translation
    mode: online
    occupations:
      - soc_code: "27-3091.00"
        weight: {weight}
        tasks: {tasks}
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            _GOOD.format(weight=0.5, tasks="all"),
            r"categories\[0\] \(translation\)\.occupations': expected weights summing to 1",
        ),
        (
            _GOOD.format(weight=1.0, tasks="[1]"),
            r"occupations\[0\]\.tasks': expected labelled task ids of 27-3091.00, got '1'",
        ),
        (_GOOD.format(weight="heavy", tasks="all"), r"occupations\[0\]\.weight': expected a number in \(0, 1\]"),
        (
            _GOOD.replace("27-3091.00", "99-9999.00").format(weight=1, tasks="all"),
            r"soc_code': expected an O\*NET-SOC code",
        ),
        (_GOOD.replace("writing-translation", "writing").format(weight=1, tasks="all"), r"\.class': expected one of"),
        (
            _GOOD.format(weight=1, tasks="all") + _GOOD.split("categories:")[1].format(weight=1, tasks="all"),
            r"categories\[1\]\.slug': expected a slug used once",
        ),
        ("categories: [", r"expected valid YAML"),
        ("other: 1", r"expected a non-empty list under the key 'categories'"),
    ],
    ids=["weights", "task", "weight-type", "soc", "class", "duplicate", "yaml", "shape"],
)
def test_bad_category_definitions_name_the_key(tmp_path, body, message):
    path = _definitions_file(tmp_path, body)
    with pytest.raises(InputError, match=message):
        read_definitions(path, tasks=tasks(), occupations=load_table("occupations"))


def test_good_category_definition_reads(tmp_path):
    path = _definitions_file(tmp_path, _GOOD.format(weight=1, tasks="all"))
    cats, members = read_definitions(path, tasks=tasks(), occupations=load_table("occupations"))
    assert cats["slug"].to_list() == ["translation"]
    assert members.height == occupation("27-3091").tasks["gpt4_label"].is_not_null().sum()


def test_extra_lenses_from_the_raw_folder(raw_dir):
    from gigshift.taxonomy import extra_lenses

    lenses = extra_lenses(raw_dir)
    assert lenses.height == load_table("occupations").height
    translators = lenses.filter(pl.col("soc_code") == "27-3091.00").row(0, named=True)
    assert translators["frey_osborne_probability"] == pytest.approx(0.38)
    assert translators["lm_aioe"] > 1  # standardised: translation is highly exposed to language models
    # split codes are not guessed: Taxi Drivers (53-3041 in SOC 2010) became two SOC 2018 codes
    assert lenses.filter(pl.col("soc_code") == "53-3054.00")["aioe"].is_null().all()
    assert lenses["aioe"].is_not_null().mean() > 0.7


def test_extra_lenses_missing_file_is_named(tmp_path):
    from gigshift.taxonomy import extra_lenses

    with pytest.raises(InputError, match=r"aioe_soc_2010_to_2018\.json: expected an existing file"):
        extra_lenses(tmp_path)


def test_online_labour_index_classes_add_up_to_the_total():
    import polars as pl

    from gigshift.taxonomy import online_labour_index

    oli = online_labour_index()
    assert oli["month"].min().isoformat() == "2016-05-01" and oli["month"].max().isoformat() == "2024-08-01"
    wide = oli.pivot(on="occupation_class", index="month", values="level")
    classes = [c for c in wide.columns if c not in ("month", "total")]
    assert len(classes) == 7
    gap = (wide.select(pl.sum_horizontal(classes)) - wide.select("total")).to_series().abs().max()
    assert gap < 1e-6
    first = wide.row(0, named=True)
    assert abs(first["total"] - 100) < 1e-6  # 100 = May 2016
