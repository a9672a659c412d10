"""Pay-algorithm change detection: planted cuts recovered, no false alarms beyond alpha, trip mix not a cut."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import binom

from gigshift._errors import GigshiftError, InputError
from gigshift.pay._changes import detect_changes

START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
# base fare, per km, per minute, median minutes, km per minute
CARDS = {"rideco": (2.5, 0.7, 0.25, 18.0, 0.5), "dashfood": (2.5, 1.0, 0.20, 24.0, 0.2)}


def make_pool(
    *,
    n_workers: int = 80,
    n_weeks: int = 20,
    jobs_per_week: int = 25,
    platforms: tuple[str, ...] = ("rideco",),
    cut: dict | None = None,
    longer_trips: dict | None = None,
    week_shock: float = 0.03,
    seed: int = 0,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Jobs paid by a rate card, with worker skill, a pricier category, weekly surges and job noise.

    ``cut``: from ``day`` (days after START) the ``metric`` rate of a ``share`` of ``platform``'s
    workers is multiplied by ``factor``. ``longer_trips``: from ``day``, 70% of ``platform``'s
    trips last ``factor`` times longer, at unchanged rates. Returns the jobs and who was cut.
    """
    rng = np.random.default_rng(seed)
    plat = rng.integers(0, len(platforms), n_workers)
    skill = rng.lognormal(0, 0.15, n_workers)
    weekly = rng.poisson(jobs_per_week * rng.uniform(0.5, 1.5, n_workers)[:, None], (n_workers, n_weeks))
    weekly = np.where(rng.random((n_workers, n_weeks)) < 0.85, weekly, 0)  # some weeks off
    w = np.repeat(np.repeat(np.arange(n_workers), n_weeks), weekly.ravel())
    week = np.repeat(np.tile(np.arange(n_weeks), n_workers), weekly.ravel())
    day = week * 7 + rng.integers(0, 7, w.size)
    p = plat[w]
    base, per_km, per_min, minutes_median, km_per_min = (
        np.array([CARDS[platforms[i]][j] for i in p]) for j in range(5)
    )
    xl = rng.random(w.size) < 0.2
    minutes = np.clip(rng.lognormal(np.log(minutes_median), 0.4), 3, 180)
    name = np.array(platforms)[p]
    if longer_trips is not None:
        later = (name == longer_trips["platform"]) & (day >= longer_trips["day"]) & (rng.random(w.size) < 0.7)
        minutes = np.where(later, minutes * longer_trips["factor"], minutes)
    km = minutes * km_per_min * rng.lognormal(0, 0.25, w.size)
    rates = {"pay_per_job": base, "pay_per_km": per_km, "pay_per_minute": per_min}
    is_cut = np.zeros(n_workers, bool)
    if cut is not None:
        is_cut = (rng.random(n_workers) < cut["share"]) & (np.array(platforms)[plat] == cut["platform"])
        hit = is_cut[w] & (day >= cut["day"])
        rates[cut["metric"]] = np.where(hit, rates[cut["metric"]] * cut["factor"], rates[cut["metric"]])
    surge = rng.lognormal(0, week_shock, n_weeks)[week]
    pay = rates["pay_per_job"] + rates["pay_per_km"] * km + rates["pay_per_minute"] * minutes
    pay = pay * np.where(xl, 1.5, 1.0) * skill[w] * surge * rng.lognormal(0, 0.08, w.size)
    offset = (day * 86_400 + rng.integers(6 * 3600, 22 * 3600, w.size)) * 1_000_000
    jobs = pl.DataFrame(
        {
            "worker_id": [f"w{i:03d}" for i in w],
            "platform": name,
            "category": np.where(xl, "ride-xl", "ride"),
            "offset": offset,
            "minutes": minutes,
            "distance_km": np.round(km, 2),
            "worker_pay": np.round(pay, 2),
        }
    )
    jobs = jobs.with_columns(start=pl.lit(START) + pl.duration(microseconds="offset"))
    jobs = jobs.with_columns(end=pl.col("start") + pl.duration(microseconds=(pl.col("minutes") * 6e7).cast(pl.Int64)))
    return jobs.drop("offset", "minutes"), is_cut


CUT_DAY = 7 * 10 + 2  # a Wednesday: 2025-03-19
CUT_DATE = (START + timedelta(days=CUT_DAY)).date()


@pytest.mark.parametrize("metric", ["pay_per_km", "pay_per_job", "pay_per_minute"])
def test_a_planted_cut_for_some_workers_is_found_dated_and_shared(metric):
    jobs, is_cut = make_pool(cut={"platform": "rideco", "metric": metric, "factor": 0.85, "share": 0.4,
                                  "day": CUT_DAY}, seed=1)  # fmt: skip
    pooled, workers = detect_changes(jobs, seed=0, n_permutations=99)
    assert pooled["metric"].to_list() == [metric]  # the other rates are not blamed
    found = pooled.row(0, named=True)
    assert abs((found["date"] - CUT_DATE).days) <= 7
    assert found["p_value"] <= 0.05 and found["is_change"]
    assert found["share_of_workers_cut"] == pytest.approx(is_cut.mean(), abs=0.05)
    assert found["share_of_workers_raised"] < 0.05
    assert found["change"] == pytest.approx(-0.15, abs=0.03)
    assert found["ci_lo"] < found["change"] < found["ci_hi"]
    assert found["change_all_workers"] == pytest.approx(-0.15 * is_cut.mean(), abs=0.02)
    truth = pl.DataFrame({"worker_id": [f"w{i:03d}" for i in range(is_cut.size)], "truth": is_cut})
    joined = workers.join(truth, on="worker_id")
    assert joined.height == found["n_workers"] >= 70
    assert (joined["is_cut"] == joined["truth"]).mean() >= 0.9
    cut_rows = joined.filter(pl.col("truth"))
    assert cut_rows["change"].median() == pytest.approx(-0.15, abs=0.03)
    assert ((cut_rows["ci_lo"] < -0.15) & (cut_rows["ci_hi"] > -0.15)).mean() >= 0.8


def test_a_cut_for_every_worker_is_found():
    jobs, _ = make_pool(cut={"platform": "rideco", "metric": "pay_per_km", "factor": 0.85, "share": 1.0,
                             "day": CUT_DAY}, seed=2)  # fmt: skip
    pooled, workers = detect_changes(jobs, seed=0, n_permutations=99)
    found = pooled.row(0, named=True)
    assert (found["metric"], pooled.height) == ("pay_per_km", 1)
    assert abs((found["date"] - CUT_DATE).days) <= 14
    assert found["share_of_workers_cut"] > 0.95
    assert found["change"] == pytest.approx(-0.15, abs=0.04)
    assert workers["is_cut"].mean() > 0.95


def test_a_cut_of_every_rate_is_a_cut_of_each():
    jobs, _ = make_pool(seed=3)
    jobs = jobs.with_columns(
        pl.when(pl.col("worker_id").is_in([f"w{i:03d}" for i in range(30)]) & (pl.col("start").dt.date() >= CUT_DATE))
        .then(pl.col("worker_pay") * 0.85)
        .otherwise(pl.col("worker_pay"))
        .alias("worker_pay")
    )
    pooled, _ = detect_changes(jobs, seed=0, n_permutations=99)
    assert sorted(pooled["metric"]) == ["pay_per_job", "pay_per_km", "pay_per_minute"]
    assert pooled["change"].to_numpy() == pytest.approx(np.full(3, -0.15), abs=0.04)
    assert pooled["share_of_workers_cut"].to_numpy() == pytest.approx(np.full(3, 30 / 80), abs=0.05)


def test_pools_without_a_change_raise_false_alarms_at_most_at_alpha():
    n_pools, alpha = 40, 0.05
    flagged = 0
    for seed in range(n_pools):
        jobs, _ = make_pool(n_workers=30, n_weeks=10, jobs_per_week=15, seed=100 + seed)
        pooled, workers = detect_changes(jobs, alpha=alpha, seed=seed, n_permutations=39)
        flagged += pooled.height > 0
        assert workers.height == 0 or pooled.height > 0
    # at most alpha, up to the binomial spread of 40 pools (a rate of 10% fails this 91% of the time)
    assert flagged <= binom.ppf(0.99, n_pools, alpha)


def test_longer_trips_at_the_same_rates_are_not_a_pay_cut():
    jobs, _ = make_pool(longer_trips={"platform": "rideco", "day": CUT_DAY, "factor": 2.0}, seed=4)
    before_after = jobs.group_by(pl.col("start").dt.date() >= CUT_DATE).agg(
        (pl.col("worker_pay").sum() / pl.col("distance_km").sum()).alias("pay_per_km")
    )
    naive = before_after.sort("start")["pay_per_km"].to_numpy()
    assert naive[1] / naive[0] - 1 < -0.05  # pay per km fell, as the base fare spreads over more km
    pooled, _ = detect_changes(jobs, seed=0, n_permutations=99)
    assert pooled.height == 0


def test_only_the_platform_that_cut_is_flagged():
    jobs, _ = make_pool(platforms=("rideco", "dashfood"), n_workers=120,
                             cut={"platform": "dashfood", "metric": "pay_per_km", "factor": 0.8, "share": 0.5,
                                  "day": CUT_DAY}, seed=5)  # fmt: skip
    pooled, workers = detect_changes(jobs, seed=0, n_permutations=99, keep_all=True)
    changed = pooled.filter("is_change")
    assert changed.select("platform", "metric").rows() == [("dashfood", "pay_per_km")]
    assert set(workers["platform"]) == {"dashfood"}
    assert pooled.filter(pl.col("platform") == "rideco")["p_value"].min() > 0.05
    assert changed["change"][0] == pytest.approx(-0.2, abs=0.04)


def test_same_seed_same_answer_and_sorted_output():
    jobs, _ = make_pool(cut={"platform": "rideco", "metric": "pay_per_km", "factor": 0.85, "share": 0.4,
                             "day": CUT_DAY}, seed=6)  # fmt: skip
    first = detect_changes(jobs, seed=3, n_permutations=49)
    again = detect_changes(jobs.sample(fraction=1.0, shuffle=True, seed=1), seed=3, n_permutations=49)
    assert first[0].equals(again[0]) and first[1].equals(again[1])
    assert first[1]["worker_id"].is_sorted()


def test_a_platform_without_distances_is_tested_per_job_and_minute_only():
    jobs, _ = make_pool(n_workers=40, n_weeks=10, seed=7)
    jobs = jobs.with_columns(pl.lit(None, pl.Float64).alias("distance_km"))
    pooled, _ = detect_changes(jobs, seed=0, n_permutations=19, keep_all=True)
    assert set(pooled["metric"]) <= {"pay_per_job", "pay_per_minute"} and pooled.height >= 1
    assert pooled.schema["date"] == pl.Date and pooled.schema["platform"] == pl.String


def test_too_few_workers_test_nothing():
    jobs, _ = make_pool(n_workers=8, n_weeks=10, seed=8)
    pooled, workers = detect_changes(jobs, seed=0, n_permutations=19, keep_all=True)
    assert pooled.height == 0 and workers.height == 0
    assert pooled.columns[:3] == ["platform", "metric", "date"]
    assert workers.columns[:3] == ["worker_id", "platform", "metric"]
    unpaid = make_pool(n_workers=20, n_weeks=4, seed=8)[0].with_columns(worker_pay=pl.lit(0.0))
    pooled, workers = detect_changes(unpaid, seed=0, n_permutations=9, keep_all=True)  # no job counts: no weeks
    assert pooled.height == 0 and workers.height == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"metrics": ["pay_per_hour"]}, GigshiftError, "metrics must be a non-empty list of 'pay_per_job'"),
        ({"alpha": 1.5}, GigshiftError, r"alpha must be in \(0, 1\)"),
        ({"by": ["city"]}, InputError, "column 'city': expected a column for group city"),
        ({"n_permutations": 0}, GigshiftError, "n_permutations must be an integer >= 1"),
    ],
    ids=["metric", "alpha", "group", "permutations"],
)
def test_bad_parameters_are_refused(kwargs, error, match):
    jobs, _ = make_pool(n_workers=5, n_weeks=3, seed=9)
    with pytest.raises(error, match=match):
        detect_changes(jobs, **kwargs)


def test_missing_pay_column_is_named():
    jobs, _ = make_pool(n_workers=5, n_weeks=3, seed=9)
    with pytest.raises(InputError, match="column 'worker_pay'"):
        detect_changes(jobs.drop("worker_pay"))


def test_dates_are_mondays():
    jobs, _ = make_pool(cut={"platform": "rideco", "metric": "pay_per_minute", "factor": 0.8, "share": 0.5,
                             "day": CUT_DAY}, seed=10)  # fmt: skip
    pooled, workers = detect_changes(jobs, seed=0, n_permutations=49)
    assert all(d.weekday() == 0 for d in pooled["date"]) and all(d.weekday() == 0 for d in workers["worker_date"])
    assert isinstance(pooled["date"][0], date)


def test_the_compiled_scan_matches_the_reference_at_every_order():
    from gigshift.pay._changes import _METRICS, _panel, _parts, _prepare, _scan

    jobs, _ = make_pool(cut={"platform": "rideco", "metric": "pay_per_km", "factor": 0.85, "share": 0.4,
                             "day": CUT_DAY}, seed=11)  # fmt: skip
    groups, weeks = _prepare(jobs, by=["platform"])
    panel = _panel(*groups[0], n_weeks=weeks.size, metrics=_METRICS, min_jobs=20)
    rng = np.random.default_rng(0)
    orders = np.array([np.arange(weeks.size), *(rng.permutation(weeks.size) for _ in range(4))])
    stats = _scan(panel, orders, min_workers=11, min_jobs=20)
    for i, order in enumerate(orders):  # the reference: each worker's restricted fit and Q, one order at a time
        for j, c in enumerate(panel.component):
            part = _parts(panel, c, order, min_jobs=20)
            expected = np.where(part.n_valid >= 11, part.q_norm + part.z**2, -np.inf)
            np.testing.assert_allclose(stats[i, j], expected, rtol=1e-9, atol=1e-9)
    assert np.isfinite(stats).any() and stats[0].max() > stats[1:].max()  # the planted cut beats every shuffle


def test_the_interval_refits_who_was_cut_on_each_resample():
    from gigshift.pay._changes import _mixture, _refit_mixture

    rng = np.random.default_rng(0)
    n = 500
    s = rng.uniform(0.02, 0.05, n)
    u = np.where(rng.random(n) < 0.4, -0.06, 0.0) + rng.normal(0, s)  # cut and unchanged overlap: noisy workers
    weight, mu, resp, kappa = _mixture(u, s, common_sd=0.005)
    same = _refit_mixture(u, s, np.arange(n)[None, :], weight=weight, mu=mu, kappa=kappa, common_sd=0.005)
    np.testing.assert_allclose(same[0], resp, atol=1e-9)  # the whole sample: the fit it started from
    picks = rng.integers(0, n, (4, n))
    refit = _refit_mixture(u, s, picks, weight=weight, mu=mu, kappa=kappa, common_sd=0.005)
    for i, rows in enumerate(picks):  # each resample: as a fit of its own (same parts), not the held weights
        own_weight, _, own_resp, _ = _mixture(u[rows], s[rows], common_sd=0.005, sides=(1,))
        np.testing.assert_allclose(refit[i].mean(axis=0), own_weight, atol=0.01)
        assert np.abs(refit[i] - own_resp).max() < 0.03
    assert np.ptp(refit.mean(axis=1)[:, 1]) > 0.02  # the share cut varies between resamples


@pytest.mark.parametrize("k", [2, 3])
def test_the_compiled_job_passes_match_numpy(k):
    from gigshift.pay._kernels import card_log_ratio, card_normal_equations, cell_moments

    rng = np.random.default_rng(k)
    n, n_cells = 20_000, 300
    x = np.column_stack([np.ones(n), *rng.lognormal(0, 0.5, (k - 1, n))])
    rates, pay = rng.uniform(0.2, 2.0, k), rng.lognormal(1, 0.3, n)
    cell = np.sort(rng.integers(0, n_cells, n))
    scale = rng.uniform(0.5, 2.0, n_cells)
    card = np.maximum(x @ rates, 1e-12)
    expected = np.bincount(cell, weights=np.log(pay) - np.log(card), minlength=n_cells)
    np.testing.assert_allclose(card_log_ratio(x, rates, np.log(pay), cell, n_cells), expected, rtol=1e-10, atol=1e-9)
    xx, xy = card_normal_equations(x, rates, pay, scale, cell)
    sw = 1.0 / card
    np.testing.assert_allclose(xx, (x * sw[:, None]).T @ (x * sw[:, None]), rtol=1e-10)
    np.testing.assert_allclose(xy, (x * sw[:, None]).T @ (pay * sw / scale[cell]), rtol=1e-10)
    w = rng.uniform(0.5, 1.5, n)
    xx, xy, yy, count = cell_moments(x, pay, w, cell, n_cells)
    for c in (0, 7, n_cells - 1):  # a cell's sums, one at a time
        rows = cell == c
        np.testing.assert_allclose(xx[c], (x[rows] * w[rows, None]).T @ x[rows], rtol=1e-10)
        np.testing.assert_allclose(xy[c], (x[rows] * w[rows, None]).T @ pay[rows], rtol=1e-10)
        np.testing.assert_allclose(yy[c], (w[rows] * pay[rows] ** 2).sum(), rtol=1e-10)
        assert count[c] == rows.sum()


def test_the_canonical_order_sorts_by_cell_and_does_not_depend_on_the_input_order():
    from gigshift.pay._changes import _canonical_order

    rng = np.random.default_rng(5)
    n = 30_000
    group, worker, week = rng.integers(0, 2, n), rng.integers(0, 50, n), rng.integers(0, 12, n)
    category = rng.integers(0, 3, n)
    minutes, pay = rng.choice([10.0, 20.0, 30.0], n), rng.choice([5.0, 7.5], n)  # many exact repeats
    km = np.where(rng.random(n) < 0.2, np.nan, rng.choice([1.0, 2.0], n))
    columns = (group, worker, week, category, minutes, km, pay)
    for n_weeks in (12, 10**6):  # cells counted; far more cells than jobs (sorted by the values instead)
        order = _canonical_order(*columns, n_weeks=n_weeks)
        cell = (group * 50 + worker) * n_weeks + week
        assert np.all(np.diff(cell[order]) >= 0) and np.array_equal(np.sort(order), np.arange(n))
        shuffle = rng.permutation(n)
        again = _canonical_order(*(c[shuffle] for c in columns), n_weeks=n_weeks)
        for values in columns:  # the same values in the same places, whatever order they came in
            np.testing.assert_array_equal(values[order], values[shuffle][again])


def _numpy_em(u, s, on, mu, median_s, common_sd, iterations):
    """The reference for the compiled EM: the steps over all workers at once, in NumPy."""
    var = s**2
    inv_var, log_var = 1.0 / var, np.log(2 * np.pi * var)
    weight = np.where(on, 1.0 / on.sum(), 0.0)
    mu, kappa, loglik = mu.copy(), 1.0, -np.inf
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(iterations):
            log_p = np.log(weight) - 0.5 * (
                np.log(kappa) + log_var[:, None] + (u[:, None] - mu) ** 2 * inv_var[:, None] / kappa
            )
            top = log_p.max(axis=1, keepdims=True)
            resp = np.exp(log_p - top)
            total = resp.sum(axis=1, keepdims=True)
            loglik = float((top[:, 0] + np.log(total[:, 0])).sum())
            resp /= total
            before = (weight, mu.copy(), kappa)
            weight = resp.mean(axis=0)
            prec = resp * inv_var[:, None]
            means = (prec * u[:, None]).sum(axis=0) / prec.sum(axis=0)
            if weight[0] >= 0.05 and np.isfinite(means[0]):
                data = float(prec[:, 0].sum()) / kappa
                mu[0] = float(np.clip(means[0] * data / (data + common_sd**-2), -3 * common_sd, 3 * common_sd))
            floor = median_s * np.sqrt(kappa)
            mu[1] = min(means[1], mu[0] - floor) if np.isfinite(means[1]) else mu[1]
            mu[2] = max(means[2], mu[0] + floor) if np.isfinite(means[2]) else mu[2]
            kappa = float(np.clip((resp * (u[:, None] - mu) ** 2 * inv_var[:, None]).sum() / u.size, 1.0, 16.0))
            moved = max(np.abs(weight - before[0]).max(), np.abs(mu - before[1]).max(), abs(kappa - before[2]))
            if moved < 1e-13:
                break
    return weight, mu, resp, kappa, loglik


@pytest.mark.parametrize("active", [(0, 1), (0, 2), (0, 1, 2)])
def test_the_compiled_mixture_em_matches_numpy(active):
    from gigshift.pay._kernels import mixture_em

    rng = np.random.default_rng(len(active))
    n = 2_000
    s = rng.uniform(0.02, 0.05, n)
    u = np.where(rng.random(n) < 0.3, -0.08, np.where(rng.random(n) < 0.1, 0.06, 0.0)) + rng.normal(0, s * 1.3)
    on = np.isin(np.arange(3), active)
    median_s = float(np.median(s))
    mu = np.array([0.0, min(np.quantile(u, 0.1), -2 * median_s), max(np.quantile(u, 0.9), 2 * median_s)])
    for iterations in (1, 7, 300):  # one step, a few, and to convergence
        got = mixture_em(u, s, on, mu, median_s, 0.01, iterations)
        expected = _numpy_em(u, s, on, mu, median_s, 0.01, iterations)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_groups_are_keyed_and_sorted_by_every_by_column_nulls_last():
    from gigshift.pay._changes import _prepare

    jobs, _ = make_pool(platforms=("rideco", "dashfood"), n_workers=40, n_weeks=6, seed=2)
    jobs = jobs.with_columns(
        area=pl.when(pl.int_range(pl.len()) % 5 == 0).then(None).otherwise(pl.lit("north")),
        zone=(pl.int_range(pl.len()) % 3).cast(pl.Int32),
    )
    groups, _ = _prepare(jobs, by=["platform", "area", "zone"])
    keys = [key for key, _ in groups]
    by = ["platform", "area", "zone"]
    expected = jobs.select(by).unique().sort(by, nulls_last=True).rows(named=True)
    assert keys == expected
    sizes = {tuple(k.values()): rows.pay.size for k, rows in groups}
    counted = jobs.group_by("platform", "area", "zone").len().rows()
    assert sizes == {(p, a, z): n for p, a, z, n in counted}
