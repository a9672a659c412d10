"""The simulator: determinism, serial = Dask, conservation, anchored demand, AI effects, policies, bad scenarios."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from gigshift import GigshiftError
from gigshift.audit import audit
from gigshift.simulate import SCENARIO_NAMES, load_scenario, run, scenario_from_yaml
from gigshift.taxonomy import categories, online_labour_index


@pytest.fixture(scope="module")
def small():
    return run("genai-2022", workers=800, weeks=10, seed=5)


def test_same_seed_same_outputs(small):
    again = run("genai-2022", workers=800, weeks=10, seed=5)
    assert again.panel.equals(small.panel)
    assert again.categories.equals(small.categories)
    assert again.decision_log.equals(small.decision_log)
    other = run("genai-2022", workers=800, weeks=10, seed=6)
    assert not other.panel.equals(small.panel)


def test_serial_equals_dask():
    serial = run("genai-2022", workers=400, weeks=4, seed=3, replicates=2)
    parallel = run("genai-2022", workers=400, weeks=4, seed=3, replicates=2, cluster="local")
    assert parallel.panel.sort("replicate", "week", "worker_id").equals(
        serial.panel.sort("replicate", "week", "worker_id")
    )
    assert parallel.categories.equals(serial.categories)
    # replicate 1 of two equals child 1 however it ran; replicates differ from each other
    r0 = serial.panel.filter(pl.col("replicate") == 0).drop("replicate")
    r1 = serial.panel.filter(pl.col("replicate") == 1).drop("replicate")
    assert not r0.equals(r1)


def test_conservation(small):
    scenario = load_scenario("genai-2022").with_values({"allocation.log_sample": 1.0})
    result = run(scenario, workers=600, weeks=6, seed=2)
    cats, panel, log = result.categories, result.panel, result.decision_log
    # every filled task has exactly one worker, and the log agrees with the aggregates
    selected = log.filter(pl.col("is_selected"))
    assert selected.get_column("task_id").is_unique().all()
    per_week = selected.group_by("week").len().sort("week")
    filled = cats.group_by("week").agg(pl.col("filled").sum()).sort("week")
    assert per_week.get_column("len").to_list() == filled.get_column("filled").to_list()
    assert panel.get_column("assigned").sum() == cats.get_column("filled").sum()
    # earnings are the pay of the completed tasks (plus top-ups, none here)
    assert panel.get_column("earnings_usd").sum() == pytest.approx(cats.get_column("paid_usd").sum(), rel=1e-9)
    assert panel.get_column("topup_usd").sum() == 0
    assert (panel.get_column("jobs") <= panel.get_column("assigned")).all()
    # posted = demand - substituted, filled <= posted
    assert (cats["posted"] == cats["demand"] - cats["substituted"]).all()
    assert (cats["filled"] <= cats["posted"]).all()
    # a worker never takes more tasks in a week than their capacity
    assert panel.get_column("assigned").max() <= 3


def test_without_ai_demand_follows_the_online_labour_index():
    """Weekly demand per class is Poisson around the OLI path (2020-21: the pandemic swings)."""
    scenario = load_scenario("baseline").with_values({"demand.noise": 0.0, "start": "2020-01-06"})
    result = run(scenario, workers=8000, weeks=60, seed=1)
    assert result.categories.get_column("substituted").sum() == 0
    classes = categories().select("slug", pl.col("class").cast(pl.String).alias("cls"))
    by_class = (
        result.categories.with_columns(pl.col("category").cast(pl.String))
        .join(classes, left_on="category", right_on="slug")
        .group_by("cls", "week", "date")
        .agg(pl.col("demand").sum())
        .sort("cls", "week")
    )
    oli = online_labour_index()
    flat_rejected = 0
    for cls in ("software-tech", "creative-multimedia", "writing-translation", "clerical-data-entry"):
        sim = by_class.filter(pl.col("cls") == cls)
        series = oli.filter(pl.col("occupation_class") == cls).sort("month")
        month_days = np.array([(m - date(1970, 1, 1)).days for m in series["month"].to_list()], float)
        week_days = np.array([(d - date(1970, 1, 1)).days for d in sim["date"].to_list()], float)
        path = np.interp(week_days, month_days, series["level"].to_numpy())
        observed = sim["demand"].to_numpy()

        def fits(shape: np.ndarray, observed: np.ndarray = observed) -> bool:
            expected = shape / shape.sum() * observed.sum()
            z = (observed - expected) / np.sqrt(expected)
            return abs(z.mean()) < 0.3 and z.std() < 1.4  # Poisson around the right path: sd about 1

        assert fits(path), cls
        flat_rejected += not fits(np.ones_like(path))
    assert flat_rejected >= 2  # the test can tell the OLI path from a flat one


def test_genai_substitutes_exposed_online_work_not_local_trades():
    scenario = load_scenario("genai-2022").with_values({"start": "2023-09-04"})
    result = run(scenario, workers=6000, weeks=16, seed=4)
    table = categories().select("slug", "mode", "human_share_e1").with_columns(pl.col("mode").cast(pl.String))
    shares = (
        result.categories.with_columns(pl.col("category").cast(pl.String))
        .group_by("category")
        .agg(pl.col("demand").sum(), pl.col("substituted").sum())
        .join(table, left_on="category", right_on="slug")
        .with_columns(share=pl.col("substituted") / pl.col("demand"))
    )
    exposed = shares.filter((pl.col("mode") == "online") & (pl.col("human_share_e1") >= 0.5))
    local = shares.filter((pl.col("mode") == "on-location") & (pl.col("human_share_e1") < 0.05))
    exposed_share = exposed["substituted"].sum() / exposed["demand"].sum()
    assert exposed_share > 0.05
    assert local["substituted"].sum() == 0
    # and the same market without AI posts more of the exposed work
    base = run(load_scenario("baseline").with_values({"start": "2023-09-04"}), workers=6000, weeks=16, seed=4)
    posted = lambda r: (  # noqa: E731
        r.categories.filter(pl.col("category").cast(pl.String).is_in(exposed["category"].implode()))["posted"].sum()
    )
    assert posted(result) < posted(base)


def test_pay_floor_raises_the_lowest_earnings():
    plain = run(load_scenario("genai-2022"), workers=1500, weeks=12, seed=9)
    floor = run(load_scenario("policy-pay-floor"), workers=1500, weeks=12, seed=9)

    def hourly(result):  # type: ignore[no-untyped-def]
        worked = result.panel.filter(pl.col("hours") > 0)
        return (worked["earnings_usd"] / worked["hours"]).to_numpy()

    assert hourly(floor).min() >= 12.0 - 1e-9
    assert np.quantile(hourly(floor), 0.05) > np.quantile(hourly(plain), 0.05)
    assert floor.panel["topup_usd"].sum() > 0


def test_fair_allocation_scenario_meets_the_four_fifths_rule_every_week():
    scenario = load_scenario("policy-fair-allocation").with_values(
        {"allocation.log_sample": 1.0, "allocation.rating_weight": 1.0}
    )
    fair = run(scenario, workers=1500, weeks=4, seed=3)
    unfair = run(scenario.with_values({"policies.fair_allocation.attribute": None}), workers=1500, weeks=4, seed=3)

    def female_ratios(result):  # type: ignore[no-untyped-def]
        ratios = []
        for week in range(4):
            log = result.decision_log.filter(pl.col("week") == week)
            report = audit(log, ["sex"], selected="is_selected", person="worker_id", exclude_small=True, n_bootstrap=0)
            ratios.append(report.groups.filter(pl.col("category") == "female").item(0, "impact_ratio"))
        return np.array(ratios)

    fair_ratios, unfair_ratios = female_ratios(fair), female_ratios(unfair)
    assert (fair_ratios >= 0.8 - 1e-9).all(), fair_ratios
    assert unfair_ratios.mean() < fair_ratios.mean()
    assert unfair_ratios.min() < 0.8  # the planted rating bias shows without the rule


def test_shipped_scenarios_load():
    for name in SCENARIO_NAMES:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario_from_yaml(scenario.to_yaml()).to_dict() == scenario.to_dict()
    assert load_scenario("baseline").get("ai.enabled") is False
    assert load_scenario("policy-pay-floor").get("policies.pay_floor_usd_per_hour") == 12.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name: x\nmarket:\n  taks_per_worker_week: 0.1\n", r"line 3: unknown key 'market.taks_per_worker_week'"),
        ("market:\n  tasks_per_worker_week: -1\n", r"line 2: 'market.tasks_per_worker_week' must be a number in"),
        ("ai:\n  client_adoption: {max: 1.5}\n", r"line 2: 'ai.client_adoption.max' must be a number in \[0, 1\]"),
        ("weeks: ten\n", r"line 1: 'weeks' must be an integer"),
        ("start: 2022-13-01\n", r"line 1: 'start' has a value YAML cannot read: month must be in 1..12"),
        ("start: next monday\n", r"line 1: 'start' must be a date YYYY-MM-DD"),
        ("extends: nowhere\n", "not a shipped scenario"),
        ("ai:\n  new_demand: {categories: [quantum-computing]}\n", "names unknown category 'quantum-computing'"),
        ("ai:\n  kinds: {microwork: telepathy}\n", "'ai.kinds.microwork' is 'telepathy'"),
        ("- just\n- a list\n", "a scenario is a mapping"),
        ("weeks: 3\nweeks: 4\n", "given twice"),
    ],
    ids=[
        "unknown-key",
        "negative-demand",
        "adoption-above-1",
        "wrong-type",
        "bad-date",
        "not-a-date",
        "bad-extends",
        "unknown-category",
        "unknown-kind",
        "not-a-mapping",
        "duplicate-key",
    ],
)
def test_bad_scenarios_name_the_key_and_line(text, match):
    with pytest.raises(GigshiftError, match=match):
        scenario_from_yaml(text, source="my.yaml")


def test_bad_run_arguments():
    with pytest.raises(GigshiftError, match="workers must be an integer >= 1"):
        run("baseline", workers=0, weeks=1)
    with pytest.raises(GigshiftError, match="not a shipped scenario"):
        run("no-such-scenario", workers=10, weeks=1)


def test_sweep_grid_points_are_reproducible_alone():
    import numpy as np

    from gigshift.simulate import sweep
    from gigshift.simulate._model import simulate_one

    base = load_scenario("genai-2022").with_values({"start": "2023-09-04"})
    result = sweep(base, {"ai.substitution": [0.0, 0.6]}, workers=500, weeks=4, seed=11, replicates=2)
    by_variant = (
        result.categories.group_by("variant", "ai.substitution").agg(pl.col("substituted").sum()).sort("variant")
    )
    assert by_variant["ai.substitution"].to_list() == ["0.0", "0.6"]
    assert by_variant["substituted"][0] == 0 and by_variant["substituted"][1] > 0
    # grid point 1, replicate 1 on its own: child 1 of the root, then its child 1
    child = np.random.SeedSequence(11).spawn(2)[1].spawn(2)[1]
    alone = simulate_one(base.with_values({"ai.substitution": 0.6}), workers=500, weeks=4, seed=child)
    point = result.categories.filter((pl.col("variant") == 1) & (pl.col("replicate") == 1))
    assert point.drop("variant", "replicate", "ai.substitution").equals(alone.categories)


def test_planted_demand_shock_applies_from_its_date():
    scenario = load_scenario("baseline").with_values(
        {
            "demand.noise": 0.0,
            "demand.shock.categories": ["translation"],
            "demand.shock.start": "2022-03-07",
            "demand.shock.factor": 0.25,
        }
    )
    result = run(scenario, workers=20_000, weeks=20, seed=2)
    series = result.categories.filter(pl.col("category") == "translation")
    before = series.filter(pl.col("date") < date(2022, 3, 7))["demand"].mean()
    after = series.filter(pl.col("date") >= date(2022, 3, 7))["demand"].mean()
    assert 0.15 < after / before < 0.4
