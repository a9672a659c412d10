"""Every pay metric against an independent plain-Python computation on a small hand-made log."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from gigshift.pay import Expenses, PayConfig, Standard, audit, validate

# worker, platform, category, area, start, end, km, client price, pay, tips, bonus, fees (UTC; weeks of 3 and 10 March)
JOBS = [
    ("a", "rideco", "ride", "north", "2025-03-03T08:00", "2025-03-03T08:30", 10, 20, 15, 2, None, None),
    ("a", "rideco", "ride", "north", "2025-03-03T09:00", "2025-03-03T10:00", 20, 40, 30, 0, 5, 1),
    ("b", "rideco", "ride", "south", "2025-03-04T10:00", "2025-03-04T10:45", 12, None, 18, 3, None, None),
    ("c", "dashfood", "food", "north", "2025-03-05T12:00", "2025-03-05T12:30", 3, 12, 8, 4, None, None),
    ("c", "dashfood", "food", "north", "2025-03-05T13:00", "2025-03-05T13:20", 2, None, 6, 0, None, 0.5),
    ("d", "dashfood", "grocery", "south", "2025-03-04T18:00", "2025-03-04T18:40", 5, 15, 10, 2, None, None),
    ("a", "rideco", "ride", "north", "2025-03-10T08:00", "2025-03-10T09:00", None, 30, 24, None, None, None),
    ("c", "rideco", "ride", "south", "2025-03-11T09:00", "2025-03-11T09:30", 8, 16, 12, 1, None, None),
]
SESSIONS = [
    ("a", "rideco", "2025-03-03T07:30", "2025-03-03T10:30"),
    ("c", "dashfood", "2025-03-05T11:30", "2025-03-05T14:00"),
    ("a", "rideco", "2025-03-12T08:00", "2025-03-12T10:00"),  # covers no job: logged-in 2 h against 1 h engaged
    ("d", "dashfood", "2025-03-04T17:30", "2025-03-04T19:30"),
    ("d", "dashfood", "2025-03-11T10:00", "2025-03-11T11:00"),  # a week with a session and no job
]
PER_KM = {"food": 0.1}  # the cost table's row for food; everything else 0.5 a km
FIXED = {"food": 4.0}  # and 10 a worker-week
STANDARDS = (
    Standard("minimum_wage", 20.0, "gross", "logged_in", "hand-made"),
    Standard("net_floor", 15.0, "net", "logged_in", "hand-made"),
    Standard("delivery_minimum", 25.0, "before_tips", "engaged", "hand-made"),
)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _monday(moment: datetime) -> date:
    return (moment - timedelta(days=moment.weekday())).date()


@pytest.fixture(scope="module")
def config() -> PayConfig:
    table = pl.DataFrame(
        {"area": [None], "category": ["food"], "platform": [None], "per_km": [0.1], "fixed_per_week": [4.0]},
        schema={"area": pl.String, "category": pl.String, "platform": pl.String, "per_km": pl.Float64,
                "fixed_per_week": pl.Float64},
    )  # fmt: skip
    return PayConfig("USD", "UTC", Expenses(0.5, 10.0, "hand-made", table), STANDARDS)


@pytest.fixture(scope="module")
def tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    cols = ["worker_id", "platform", "category", "area", "start", "end", "distance_km", "client_price", "worker_pay",
            "tips", "bonus", "fees"]  # fmt: skip
    jobs = pl.DataFrame(JOBS, schema=cols, orient="row").with_columns(currency=pl.lit("USD"))
    sessions = pl.DataFrame(SESSIONS, schema=["worker_id", "platform", "start", "end"], orient="row")
    return jobs, sessions


def reference(by: tuple[str, ...]) -> dict[tuple, dict[str, float]]:
    """The documented definitions, in plain Python loops: sums per unit, then ratios of sums per cell."""
    jobs = []
    for w, p, c, a, s, e, km, price, pay, tips, bonus, fees in JOBS:
        start, end = _t(s), _t(e)
        jobs.append(dict(w=w, p=p, c=c, a=a, week=_monday(start), h=(end - start).total_seconds() / 3600, km=km,
                         price=price, pay=pay, tips=tips or 0, bonus=bonus or 0, fees=fees or 0))  # fmt: skip
    week_hours = defaultdict(float)
    for j in jobs:
        week_hours[j["w"], j["week"]] += j["h"]
    for j in jobs:
        fixed = FIXED.get(j["c"], 10.0) * j["h"] / week_hours[j["w"], j["week"]]
        j["expenses"] = PER_KM.get(j["c"], 0.5) * (j["km"] or 0) + fixed
        j["earnings"] = j["pay"] + j["tips"] + j["bonus"]
        j["net"] = j["earnings"] - j["fees"] - j["expenses"]
    session_hours = defaultdict(float)
    for w, p, s, e in SESSIONS:
        session_hours[w, p, _monday(_t(s))] += (_t(e) - _t(s)).total_seconds() / 3600
    engaged = defaultdict(float)
    for j in jobs:
        engaged[j["w"], j["p"], j["week"]] += j["h"]
    for j in jobs:
        key = (j["w"], j["p"], j["week"])
        j["logged"] = max(session_hours.get(key, 0.0), engaged[key]) * j["h"] / engaged[key]
    for (w, p, week), hours in session_hours.items():  # a week of waiting with no job: the worker's main category
        if (w, p, week) not in engaged:
            mine = [j for j in jobs if j["w"] == w and j["p"] == p]
            main = max(mine, key=lambda j: j["h"])
            jobs.append(dict(w=w, p=p, c=main["c"], a=main["a"], week=week, h=0.0, km=None, price=None, pay=0.0,
                             tips=0.0, bonus=0.0, fees=0.0, expenses=0.0, earnings=0.0, net=0.0, logged=hours,
                             idle=True))  # fmt: skip
    cells: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    per_worker: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for j in jobs:
        key = tuple(j[{"platform": "p", "category": "c", "area": "a", "week": "week"}[d]] for d in by)
        cell = cells[key]
        cell["workers"] = cell.get("workers", set()) | {j["w"]}  # type: ignore[operator]
        n = 0 if j.get("idle") else 1
        cell["jobs"] += n
        for name in ("h", "logged", "earnings", "net", "pay", "tips", "fees", "expenses"):
            cell[name] += j[name]
        if j["km"] is not None:
            cell["km"] += j["km"]
            cell["pay_km"] += j["pay"]
        if j["price"] is not None:
            cell["price"] += j["price"]
            cell["pay_priced"] += j["pay"]
        mine = per_worker[(*key, j["w"], j["week"])]
        for name, value in (("gross", j["earnings"]), ("net", j["net"]), ("before_tips", j["pay"] + j["bonus"]),
                            ("engaged", j["h"]), ("logged_in", j["logged"])):  # fmt: skip
            mine[name] += value
    out = {}
    for key, s in cells.items():
        ratio = lambda a, b: a / b if b > 0 else None  # noqa: E731
        m = {
            "workers": len(s["workers"]),
            "hourly_engaged": ratio(s["earnings"], s["h"]),
            "hourly_logged_in": ratio(s["earnings"], s["logged"]),
            "hourly_net": ratio(s["net"], s["logged"]),
            "hourly_net_engaged": ratio(s["net"], s["h"]),
            "utilisation": ratio(s["h"], s["logged"]),
            "pay_per_job": ratio(s["pay"], s["jobs"]),
            "pay_per_km": ratio(s["pay_km"], s["km"]),
            "pay_per_minute": ratio(s["pay"], s["h"] * 60),
            "tips_share": ratio(s["tips"], s["earnings"]),
            "take_rate": None if not s["price"] else 1 - s["pay_priced"] / s["price"],
        }
        weeks = [v for k2, v in per_worker.items() if k2[: len(key)] == key]
        for std in STANDARDS:
            rates = [w[std.pay] / w[std.hours] for w in weeks if w[std.hours] > 0]  # no hours: no rate
            m[f"below_{std.name}"] = sum(r < std.value for r in rates) / len(rates) if rates else None
        out[key] = m
    return out


METRIC_NAMES = ("workers", "hourly_engaged", "hourly_logged_in", "hourly_net", "hourly_net_engaged", "utilisation",
                "pay_per_job", "pay_per_km", "pay_per_minute", "tips_share", "take_rate", "below_minimum_wage",
                "below_net_floor", "below_delivery_minimum")  # fmt: skip


@pytest.mark.parametrize(
    "dims",
    [("platform", "category", "week"), ("platform", "week"), ("platform", "area"), ("category",)],
    ids=["platform-category-week", "platform-week", "platform-area", "category"],
)
def test_every_cell_metric_matches_the_plain_python_reference(tables, config, dims):
    jobs, sessions = tables
    result = audit(jobs, sessions=sessions, config=config, dims=dims, k=1, n_bootstrap=0, detect=False)
    expected = reference(dims)
    got = {tuple(r[d] for d in dims): r for r in result.cells.iter_rows(named=True)}
    assert set(got) == set(expected)
    for key, want in expected.items():
        for name in METRIC_NAMES:
            if want[name] is None:
                assert got[key][name] is None, (key, name)
            else:
                assert got[key][name] == pytest.approx(want[name], rel=1e-12), (key, name)


def test_hand_computed_cell(tables, config):
    """Rides in the week of 3 March, worked out on paper: a (2 jobs, 3 h logged in) and b (1 job, no sessions)."""
    jobs, sessions = tables
    result = audit(jobs, sessions=sessions, config=config, k=1, n_bootstrap=0, detect=False)
    cell = result.cells.filter(pl.col("platform") == "rideco", pl.col("week") == date(2025, 3, 3)).row(0, named=True)
    # earnings 17 + 35 + 21; engaged 0.5 + 1 + 0.75 h; logged in 3 h (a's session) + 0.75 h (b: engaged)
    assert cell["hourly_engaged"] == pytest.approx(73 / 2.25)
    assert cell["hourly_logged_in"] == pytest.approx(73 / 3.75)
    # costs: a 0.5 x 30 km + 10 fixed + 1 fee, b 0.5 x 12 km + 10 fixed
    assert cell["hourly_net"] == pytest.approx((73 - 26 - 16) / 3.75)
    assert cell["take_rate"] == pytest.approx(1 - 45 / 60)  # b's price is unknown
    assert cell["pay_per_km"] == pytest.approx(63 / 42)
    assert cell["below_minimum_wage"] == pytest.approx(1 / 2)  # a: 52 / 3 h < 20; b: 21 / 0.75 h >= 20


def test_platform_summary_and_weekly_series_match_the_reference(tables, config):
    jobs, sessions = tables
    result = audit(jobs, sessions=sessions, config=config, k=1, n_bootstrap=0, detect=False)
    by_platform = reference(("platform",))
    for r in result.platforms.iter_rows(named=True):
        for name in ("hourly_engaged", "hourly_logged_in", "hourly_net", "utilisation", "take_rate", "pay_per_km"):
            assert r[name] == pytest.approx(by_platform[(r["platform"],)][name], rel=1e-12)
    weekly = reference(("platform", "week"))
    for r in result.weekly.iter_rows(named=True):
        assert r["utilisation"] == pytest.approx(weekly[(r["platform"], r["week"])]["utilisation"], rel=1e-12)


@pytest.mark.parametrize("dense_max", [0, 30_000_000], ids=["sparse", "dense"])
def test_intervals_match_a_loop_over_replicates(tables, config, dense_max, monkeypatch):
    """The vectorised bootstrap equals resampling workers one replicate at a time with the same weights."""
    from gigshift.pay import _metrics
    from gigshift.pay._metrics import aggregate, intervals, poisson_weights, units, worker_codes

    monkeypatch.setattr(_metrics, "_DENSE_BOOTSTRAP_MAX", dense_max)  # both products: sparse and dense

    jobs, sessions = validate(tables[0], kind="jobs")[0], validate(tables[1], kind="sessions")[0]
    table = units(jobs, sessions, config)
    cells = aggregate(table, ["platform"])
    codes = worker_codes(table)
    weights = poisson_weights(codes.height, 50, np.random.default_rng(5))
    got = intervals(table, ["platform"], cells, worker_codes=codes, weights=weights, confidence=0.9)
    index = dict(zip(codes["worker_id"], codes["_worker"], strict=True))
    for platform in ("dashfood", "rideco"):
        sub = table.filter(pl.col("platform") == platform)
        reps = []
        for b in range(50):
            w = np.array([weights[index[x], b] for x in sub["worker_id"]])
            earnings, hours = (w * sub["earnings"].to_numpy()).sum(), (w * sub["engaged_hours"].to_numpy()).sum()
            reps.append(earnings / hours if hours > 0 else np.nan)
        reps = np.array(reps)
        row = got.filter(pl.col("platform") == platform).row(0, named=True)
        lo, hi = np.nanquantile(reps, [0.05, 0.95])
        assert row["hourly_engaged_ci_lo"] == pytest.approx(lo) and row["hourly_engaged_ci_hi"] == pytest.approx(hi)


def test_small_cells_are_withheld(tables, config):
    jobs, sessions = tables
    result = audit(jobs, sessions=sessions, config=config, k=2, n_bootstrap=0, detect=False)
    single = result.cells.filter(pl.col("category") == "food")  # only c delivered food
    assert single["suppressed"].all() and single["hourly_engaged"].is_null().all()
    assert result.privacy["cells_withheld"] >= single.height
