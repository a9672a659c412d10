"""Occupation similarity: its construction, its ranking, and its check against O*NET Related Occupations."""

from __future__ import annotations

import inspect

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError, NotFoundError
from gigshift.advise import _model as model_mod
from gigshift.advise import similar
from gigshift.advise._model import blend, default_model, standardise_rows


@pytest.fixture(scope="module")
def model():
    return default_model()


def test_standardise_rows_ignores_the_diagonal():
    rng = np.random.default_rng(0)
    m = rng.random((6, 6))
    z = standardise_rows(m)
    off = ~np.eye(6, dtype=bool)
    np.testing.assert_allclose(z[off].reshape(6, 5).mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(z[off].reshape(6, 5).std(axis=1), 1, atol=1e-12)
    assert (np.diag(z) == 0).all()


def test_matrix_covers_the_923_scored_occupations(model):
    assert model.similarity.shape == (923, 923)
    assert model.occupations.height == 923
    assert model.occupations["has_exposure_scores"].all()
    assert np.isfinite(model.similarity).all()


def test_related_occupations_are_not_an_input():
    # the expert list is the independent check (benchmarks/advise.py), so the model never reads it
    assert "related_occupations" not in inspect.getsource(model_mod)


def test_similar_is_closest_first_and_leaves_the_origin_out():
    result = similar("15-1252.00", top=20)
    table = result.similar
    assert table.height == 20
    assert "15-1252.00" not in table["soc_code"].to_list()
    assert table["score"].is_sorted(descending=True)
    assert table["similarity_rank"].to_list() == list(range(1, 21))
    assert table["similarity"][0] == pytest.approx(1.0)
    assert (table["similarity"] >= 0).all() and (table["similarity"] <= 1).all()
    # software developers sit next to QA testers, programmers and systems analysts
    assert {"15-1253.00", "15-1251.00", "15-1211.00"} <= set(table["soc_code"].head(10))


def test_similar_from_a_category_leaves_its_occupations_out():
    result = similar("translation", top=10)
    assert result.origin.kind == "category"
    assert not set(result.origin.members["soc_code"]) & set(result.similar["soc_code"])


def test_similar_json_contract():
    import json

    body = json.loads(similar("27-3091", top=5).to_json())
    assert set(body["origin"]) >= {"soc_code", "title", "gpt4", "human"}
    assert body["origin"]["soc_code"] == "27-3091.00"
    assert set(body["origin"]["gpt4"]) == {"alpha", "beta", "gamma"}
    assert len(body["similar"]) == 5
    assert set(body["similar"][0]) >= {"soc_code", "title", "similarity"}
    sims = [s["similarity"] for s in body["similar"]]
    assert sims == sorted(sims, reverse=True)


def test_second_order_and_weights_change_the_blend(model):
    occ = model.occupations.select("soc_code", "title", "description")
    tiny = occ.head(40)
    from gigshift.taxonomy._store import load_table

    tables = {n: load_table(n) for n in ("tasks", "alternate_titles", "task_activities", "technology_skills", "skills")}
    views = model_mod.build_views(tiny, tables)
    base = blend(views)
    assert base.shape == (40, 40)
    assert not np.allclose(base, blend(views, second_order=0.0))
    assert not np.allclose(base, blend(views, weights={"tasks": 1.0}))
    with pytest.raises(ValueError, match="sum to a positive number"):
        blend(views, weights={"tasks": 0.0})


@pytest.mark.parametrize(
    ("origin", "by", "error", "message"),
    [
        ("99-9999", "occupation", NotFoundError, r"unknown occupation '99-9999'; closest: 49-9099\.00"),
        ("11-9039.00", "occupation", GigshiftError, r"too little data on 11-9039\.00"),
        ("dog-walkr", "category", NotFoundError, r"unknown category 'dog-walkr'; closest:"),
        ("   ", "auto", GigshiftError, "origin must be a non-empty string"),
        ("zzzqx qqqvb", "text", GigshiftError, "shares a word"),
        ("27-3091", "job", GigshiftError, "by must be one of 'auto', 'occupation', 'category', 'text'"),
    ],
    ids=["unknown-code", "unscored-code", "unknown-slug", "blank", "gibberish", "bad-by"],
)
def test_bad_origins_name_the_problem(origin, by, error, message):
    with pytest.raises(error, match=message):
        similar(origin, by=by)


def test_top_must_be_positive():
    with pytest.raises(GigshiftError, match="top must be an integer >= 1"):
        similar("27-3091", top=0)


def _recall_at_20(raw_dir, codes: list[str], similarity: np.ndarray) -> float:
    rel = pl.read_csv(raw_dir / "onet-29.3" / "related_occupations.txt.gz", separator="\t", infer_schema_length=0)
    index = {c: i for i, c in enumerate(codes)}
    truth = np.zeros_like(similarity, dtype=bool)
    truth[
        [index[c] for c in rel["O*NET-SOC Code"].to_list()],
        [index[c] for c in rel["Related O*NET-SOC Code"].to_list()],
    ] = True
    s = similarity.astype(np.float64, copy=True)
    np.fill_diagonal(s, -np.inf)
    top = np.argsort(-s, axis=1, kind="stable")[:, :20]
    return float((np.take_along_axis(truth, top, axis=1).sum(1) / truth.sum(1)).mean())


def test_recall_against_onet_related_occupations(raw_dir, model):
    # the independent check: the 20 expert-reviewed related occupations of each of the 923
    recall = _recall_at_20(raw_dir, model.soc_codes, model.similarity)
    assert recall >= 0.60
