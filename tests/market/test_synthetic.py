"""The synthetic market: deterministic, valid, realistic, and with the planted biases exactly where asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy.stats import spearmanr

from gigshift import GigshiftError
from gigshift.market import SCHEMAS, Market, check_references, synthetic, validate
from gigshift.taxonomy import categories, category

N_WORKERS, N_TASKS = 20_000, 4_000


@pytest.fixture(scope="module")
def market() -> Market:
    return synthetic(n_workers=N_WORKERS, n_tasks=N_TASKS, seed=2026)


@pytest.fixture(scope="module")
def biased() -> Market:
    """Same seed as ``market``: only the planted biases differ."""
    return synthetic(
        n_workers=N_WORKERS,
        n_tasks=N_TASKS,
        seed=2026,
        rating_bias={"sex": {"female": -0.25}},
        rate_bias={"race_ethnicity": {"Black or African American": 0.9}},
    )


def _frames(m: Market) -> dict[str, pl.DataFrame]:
    return {kind: getattr(m, kind) for kind in SCHEMAS}


# ---------------------------------------------------------------------------------------------- determinism, size


def test_same_seed_same_market_and_different_seed_different_market():
    a, b, c = (synthetic(n_workers=800, n_tasks=150, seed=s) for s in (5, 5, 6))
    for kind in SCHEMAS:
        assert_frame_equal(getattr(a, kind), getattr(b, kind))
    assert a.provenance == b.provenance and a.provenance.seed == 5
    assert not a.workers.equals(c.workers) and not a.tasks.equals(c.tasks)


def test_workers_do_not_depend_on_the_number_of_tasks():
    a, b = synthetic(n_workers=500, n_tasks=50, seed=1), synthetic(n_workers=500, n_tasks=400, seed=1)
    assert_frame_equal(a.workers, b.workers)
    assert a.tasks.height == 50 and b.tasks.height == 400


def test_fresh_entropy_is_recorded_and_replays():
    first = synthetic(n_workers=300, n_tasks=40)
    assert isinstance(first.provenance.seed, int) and first.provenance.seed > 2**32
    again = synthetic(n_workers=300, n_tasks=40, seed=first.provenance.seed)
    for kind in SCHEMAS:
        assert_frame_equal(getattr(first, kind), getattr(again, kind))


def test_sizes_and_ids(market):
    assert market.counts() == {
        "workers": N_WORKERS,
        "clients": N_TASKS // 5,
        "tasks": N_TASKS,
        "bids": market.bids.height,
    }
    assert market.workers["worker_id"][0] == "w00001" and market.tasks["task_id"][-1] == "t4000"
    assert synthetic(n_workers=10, n_tasks=10, n_clients=3, seed=0).clients["client_id"].to_list() == ["c1", "c2", "c3"]


def test_every_table_is_valid_as_generated(market):
    frames = _frames(market)
    for kind, frame in frames.items():
        assert_frame_equal(validate(frame, kind=kind), frame)
    check_references(**frames)
    assert market.workers.columns[len(SCHEMAS["workers"]) :] == ["sex", "race_ethnicity", "age_band", "country"]


def test_provenance_cites_the_sources_and_parameters(biased):
    prov = biased.provenance
    assert [s.key for s in prov.sources] == ["onet", "bls_oews", "oli"]
    assert prov.extra["rating_bias"] == '{"sex": {"female": -0.25}}'
    assert prov.extra["n_workers"] == str(N_WORKERS)


# ---------------------------------------------------------------------------------------------- realism


def test_ratings_are_skewed_high_and_missing_only_for_new_workers(market):
    w = market.workers
    rated = w.filter(pl.col("n_jobs_completed") > 0)
    assert 4.3 <= rated["rating"].median() <= 4.95
    assert (rated["rating"] >= 4.5).mean() > 0.5
    assert rated["rating"].min() >= 1.0 and rated["rating"].max() <= 5.0
    new = w.filter(pl.col("n_jobs_completed") == 0)
    assert new["rating"].null_count() == new.height == new["reliability"].null_count()
    assert new["last_assigned_at"].null_count() == new.height
    assert rated["rating"].null_count() == 0 and rated["reliability"].null_count() == 0
    assert rated["reliability"].median() > 0.85


def test_experience_is_heavy_tailed(market):
    jobs = market.workers["n_jobs_completed"]
    assert 0.25 < (jobs == 0).mean() < 0.35
    positive = jobs.filter(jobs > 0)
    assert positive.quantile(0.99) / positive.median() > 10
    assert jobs.mean() > 2 * jobs.median()


def test_skills_grow_with_experience_and_stay_in_bounds(market):
    w = market.workers.with_columns(n_skills=pl.col("skills").list.len())
    assert w["n_skills"].min() >= 3 and w["n_skills"].max() <= 12
    assert (w["skills"].list.n_unique() == w["n_skills"]).all()
    rho = spearmanr(w["n_jobs_completed"], w["n_skills"]).statistic
    assert rho > 0.4


def test_categories_one_to_three_distinct_mostly_related(market):
    cats = market.workers["categories"]
    assert cats.list.len().min() == 1 and cats.list.len().max() == 3
    assert (cats.list.n_unique() == cats.list.len()).all()
    classes = dict(zip(categories()["slug"], categories()["class"].cast(pl.String), strict=True))
    multi = [c for c in cats.to_list() if len(c) > 1]
    same_class = np.mean([classes[c[1]] == classes[c[0]] for c in multi])
    assert 0.7 < same_class < 0.9


def test_capacity_is_mostly_one(market):
    shares = market.workers["capacity"].value_counts(normalize=True).sort("capacity")
    assert shares["capacity"].to_list() == [0, 1, 2, 3]
    assert 0.65 < shares.filter(pl.col("capacity") == 1)["proportion"][0] < 0.8


def _bls_weighted_mean(slug: str) -> float:
    occ = category(slug).occupations.drop_nulls("bls_median_hourly_wage_usd")
    return float((occ["weight"] * occ["bls_median_hourly_wage_usd"]).sum() / occ["weight"].sum())


def test_rates_follow_the_bls_wages_of_the_category(market):
    w = market.workers.with_columns(main=pl.col("categories").list.first())
    us_local = w.filter(pl.col("location").is_not_null())  # on-location work: one US metro, BLS level
    by_cat = (
        us_local.group_by("main").agg(rate=pl.col("hourly_rate_usd").median(), n=pl.len()).filter(pl.col("n") >= 30)
    )
    anchors = [_bls_weighted_mean(s) for s in by_cat["main"]]
    assert by_cat.height >= 15
    assert spearmanr(anchors, by_cat["rate"]).statistic > 0.7
    online_india = w.filter(pl.col("location").is_null() & (pl.col("time_zone") == "Asia/Kolkata"))
    by_cat = (
        online_india.group_by("main").agg(rate=pl.col("hourly_rate_usd").median(), n=pl.len()).filter(pl.col("n") >= 30)
    )
    assert spearmanr([_bls_weighted_mean(s) for s in by_cat["main"]], by_cat["rate"]).statistic > 0.6

    def median_rate(frame: pl.DataFrame, slug: str) -> float:
        return frame.filter(pl.col("main") == slug)["hourly_rate_usd"].median()

    us = w.filter(pl.col("time_zone").str.starts_with("America/"))
    assert median_rate(us, "software-dev") > 2.5 * median_rate(us, "house-cleaning")
    assert median_rate(w, "data-analysis") > 1.8 * median_rate(w, "data-entry")
    # online work is priced for a global supply: far below the US wage level
    online = w.filter(pl.col("location").is_null())
    assert online["hourly_rate_usd"].median() < 0.7 * np.median(
        [_bls_weighted_mean(s) for s in online["main"].unique()]
    )


def test_time_zones_match_countries(market):
    w = market.workers
    local = w.filter(pl.col("location").is_not_null())
    assert set(local["time_zone"].unique()) == {"America/New_York"}
    assert set(local["country"].drop_nulls().unique()) == {"United States"}
    pairs = set(
        w.filter(pl.col("location").is_null()).drop_nulls("country").select("country", "time_zone").unique().rows()
    )
    assert ("India", "Asia/Kolkata") in pairs and ("Kenya", "Africa/Nairobi") in pairs
    assert not any(c == "India" and tz != "Asia/Kolkata" for c, tz in pairs)
    assert {tz for c, tz in pairs if c == "United States"} <= {
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
    }


def test_demand_follows_the_online_labour_index_and_on_location_share(market):
    classes = categories().select("slug", pl.col("class").cast(pl.String))
    t = market.tasks.join(classes, left_on="category", right_on="slug")
    assert 0.26 < (~t["is_remote"]).mean() < 0.34
    online = t.filter(pl.col("is_remote"))
    software = (online["class"] == "software-tech").mean()
    assert abs(software - 0.3406) < 0.035
    counts = t["category"].value_counts()["count"]
    assert counts.max() > 4 * counts.median()  # popularity is skewed


def test_tasks_are_well_formed(market):
    t = market.tasks
    local = t.filter(~pl.col("is_remote"))
    assert (
        local["location"].null_count() == 0
        and t.filter(pl.col("is_remote"))["location"].null_count() == t["is_remote"].sum()
    )
    modes = dict(zip(categories()["slug"], categories()["mode"].cast(pl.String), strict=True))
    assert all(modes[c] == "on-location" for c in local["category"].unique())
    start = datetime(2026, 1, 5, tzinfo=UTC)
    assert t["posted_at"].min() >= start and t["posted_at"].max() < start + timedelta(days=7)
    assert set(t["required_skills"].list.len().unique()) == {1, 2, 3}
    assert t["text"][0].startswith(category(t["category"][0]).name)
    clients = t["client_id"].value_counts()["count"]
    assert clients.max() > 5 * clients.median()  # a few clients post much of the work


def test_bids_come_from_eligible_workers(market):
    b = market.bids.join(market.tasks, on="task_id").join(
        market.workers.select("worker_id", "categories", "capacity", pl.col("location").alias("worker_location")),
        on="worker_id",
    )
    assert b.height == market.bids.height
    assert b.select(pl.col("categories").list.contains(pl.col("category")).all()).item()
    local = b.filter(~pl.col("is_remote"))
    assert local.height > 0 and (local["location"] == local["worker_location"]).all()
    assert (b["capacity"] > 0).all()
    assert not market.bids.select("task_id", "worker_id").is_duplicated().any()
    assert (b["bid_at"] >= b["posted_at"]).all()
    assert 6.0 < market.bids.height / N_TASKS <= 8.2


def test_bidders_share_skills_with_the_task(market):
    b = market.bids.join(market.tasks.select("task_id", "required_skills"), on="task_id").join(
        market.workers.select("worker_id", "skills"), on="worker_id"
    )
    overlap = (b["required_skills"].list.set_intersection(b["skills"]).list.len() > 0).mean()
    assert 0.2 < overlap < 0.8


def test_categories_can_be_restricted():
    m = synthetic(n_workers=2000, n_tasks=1000, categories=["web-dev", "plumbing"], seed=3)
    assert set(m.tasks["category"].unique()) == {"web-dev", "plumbing"}
    assert set(m.workers["categories"].explode().unique()) <= {"web-dev", "plumbing"}
    assert 0.25 < (m.tasks["category"] == "plumbing").mean() < 0.35
    assert set(synthetic(n_workers=50, n_tasks=20, categories=["translation"], seed=3).tasks["category"]) == {
        "translation"
    }


# ---------------------------------------------------------------------------------------------- groups and planted bias


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("sex", {"female": 0.45, "male": 0.53, "nonbinary": 0.02}),
        ("age_band", {"18-24": 0.15, "25-34": 0.36, "35-44": 0.25, "45-54": 0.14, "55+": 0.10}),
        ("race_ethnicity", {"White": 0.55, "Hispanic or Latino": 0.17, "Asian": 0.10, "Two or More Races": 0.04}),
    ],
    ids=["sex", "age", "race"],
)
def test_default_group_shares(market, attribute, expected):
    values = market.workers[attribute]
    assert abs(values.null_count() / N_WORKERS - 0.03) < 0.006
    for group, share in expected.items():
        assert abs((values == group).sum() / N_WORKERS - 0.97 * share) < 0.015, group


def test_custom_group_shares_leave_the_rest_undisclosed():
    w = synthetic(n_workers=N_WORKERS, n_tasks=10, group_shares={"sex": {"female": 0.6, "male": 0.3}}, seed=8).workers
    assert abs((w["sex"] == "female").sum() / N_WORKERS - 0.6) < 0.015
    assert abs(w["sex"].null_count() / N_WORKERS - 0.1) < 0.01
    assert set(w["sex"].drop_nulls().unique()) == {"female", "male"}


def test_rating_bias_is_planted_on_the_group_and_nowhere_else(market, biased):
    base, shifted = market.workers, biased.workers
    female = (base["sex"] == "female").fill_null(False) & base["rating"].is_not_null()
    others = ~(base["sex"] == "female").fill_null(False)
    assert_frame_equal(shifted.filter(others).select("rating"), base.filter(others).select("rating"))
    drop = (base["rating"] - shifted["rating"]).filter(female)
    assert drop.max() <= 0.25 + 1e-9 and drop.min() >= 0
    # the full shift, except for ratings the cap of 5 had cut (about one in six: the audit's gap is a bit smaller)
    assert 0.8 < (drop.round(2) == 0.25).mean() < 0.9
    means = shifted.filter(pl.col("rating").is_not_null()).group_by("sex").agg(pl.col("rating").mean())
    gap = dict(means.drop_nulls("sex").rows())
    assert abs((gap["male"] - gap["female"]) - 0.25) < 0.04  # what an audit sees
    unbiased = dict(
        base.filter(pl.col("rating").is_not_null())
        .group_by("sex")
        .agg(pl.col("rating").mean())
        .drop_nulls("sex")
        .rows()
    )
    assert abs(unbiased["male"] - unbiased["female"]) < 0.03


def test_rate_bias_multiplies_the_group_rate(market, biased):
    group = (market.workers["race_ethnicity"] == "Black or African American").fill_null(False)
    base, shifted = market.workers["hourly_rate_usd"], biased.workers["hourly_rate_usd"]
    # both rates are rounded to cents, so they agree to within a cent
    np.testing.assert_allclose(shifted.filter(group), np.maximum(base.filter(group) * 0.9, 1.0), rtol=0, atol=0.01)
    assert (shifted.filter(~group) == base.filter(~group)).all()


# ---------------------------------------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_workers": 0}, r"synthetic: n_workers must be an integer >= 1; got 0"),
        ({"seed": -1}, r"synthetic: seed must be an integer >= 0 or None; got -1"),
        ({"categories": ["web-dev", "webdev"]}, r"synthetic: unknown category 'webdev'; closest: web-dev"),
        (
            {"group_shares": {"religion": {"x": 0.5}}},
            r"group_shares: unknown attribute 'religion'; known: sex, race_ethnicity",
        ),
        ({"group_shares": {"sex": {"female": 0.7, "male": 0.5}}}, r"group_shares\['sex'\] must sum to at most 1"),
        ({"group_shares": {"sex": {"female": -0.1}}}, r"group_shares\['sex'\]\['female'\] must be >= 0.0; got -0.1"),
        ({"group_shares": {"country": {"Atlantis": 0.5}}}, r"unknown country 'Atlantis'; known: India"),
        (
            {"rating_bias": {"sex": {"woman": -0.2}}},
            r"rating_bias: unknown sex group 'woman'; known: female, male, nonbinary",
        ),
        ({"rating_bias": {"height": {"tall": 0.1}}}, r"rating_bias: unknown attribute 'height'"),
        (
            {"rating_bias": {"sex": {"female": float("nan")}}},
            r"rating_bias\['sex'\]\['female'\] must be a finite number",
        ),
        ({"rate_bias": {"sex": {"female": 0}}}, r"rate_bias\['sex'\]\['female'\] must be >= 1e-09; got 0"),
        ({"on_location_share": 1.5}, r"on_location_share must be from 0.0 to 1.0; got 1.5"),
        ({"start": "2026-01-05"}, r"start must be a datetime; got '2026-01-05'"),
    ],
    ids=[
        "n-workers",
        "seed",
        "category",
        "attribute",
        "sum",
        "negative",
        "country",
        "group",
        "bias-attribute",
        "nan-bias",
        "zero-factor",
        "on-location-share",
        "start",
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(GigshiftError, match=message):
        synthetic(n_workers=kwargs.pop("n_workers", 10), n_tasks=5, **kwargs)


def test_a_market_whose_tasks_draw_no_bids():
    """One task and Poisson(0) bids: an empty bid table, not an error (the simulator draws such markets)."""
    from gigshift.market import synthetic

    market = synthetic(n_workers=50, n_tasks=1, bids_per_task=0.0, seed=3)
    assert market.bids.height == 0 and market.tasks.height == 1
