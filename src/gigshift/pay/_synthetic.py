"""A synthetic pool: platforms, workers, weeks of sessions and jobs, with planted take rates, pay changes and gaps.

Vectorised over worker-days, sessions and jobs (loops run over platforms and planted effects only);
one ``SeedSequence`` feeds independent streams for workers, days, jobs and money, so the same seed
gives identical tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import check_positive_int
from gigshift.pay._config import COST_TABLE_SCHEMA, Expenses, PayConfig, Standard
from gigshift.pay._schema import SCHEMAS, UTC_DATETIME

_CALLER = "synthetic"
AREAS = ("north", "south", "east", "west", "central")


@dataclass(frozen=True, slots=True)
class _Platform:
    """Pay formula and habits of one synthetic platform (money in USD)."""

    categories: tuple[str, ...]
    base: float  # per job
    per_km: float
    per_minute: float
    minutes: float  # median job duration
    km_per_minute: float
    take_rate: float
    price_known: float  # share of jobs whose client price the export shows
    tip_chance: float
    tip_share: float  # mean tip as a share of pay
    fee: float  # per-job fee charged to the worker, on 10% of jobs
    wait_minutes: float  # mean wait between jobs


CATALOGUE: dict[str, _Platform] = {
    "rideco": _Platform(("ride", "ride-xl"), 2.5, 0.7, 0.25, 18.0, 0.5, 0.25, 1.0, 0.2, 0.15, 0.0, 14.0),
    "dashfood": _Platform(("food", "grocery"), 2.5, 1.0, 0.20, 24.0, 0.2, 0.30, 0.6, 0.7, 0.30, 0.5, 16.0),
    "courierx": _Platform(("parcel",), 3.0, 0.6, 0.20, 30.0, 0.35, 0.20, 0.0, 0.05, 0.10, 0.3, 12.0),
}


@dataclass(frozen=True, slots=True)
class PlantedChange:
    """From ``date``, a ``share`` of ``platform``'s workers get one pay component multiplied by ``factor``.

    ``metric``: ``"pay_per_km"`` (the per-km rate), ``"pay_per_minute"`` or ``"pay_per_job"`` (the base fare).
    """

    platform: str
    date: date
    factor: float
    share: float = 1.0
    metric: str = "pay_per_km"


def nyc_config() -> PayConfig:
    """Standards and costs for a New York City pool (values as published; check them before relying on them)."""
    standards = (
        Standard(
            "minimum_wage",
            16.50,
            "gross",
            "logged_in",
            "New York State minimum wage for New York City from 2025-01-01 (NY Labor Law section 652)",
            "the local minimum wage, before costs, per logged-in hour",
        ),
        Standard(
            "minimum_wage_net",
            16.50,
            "net",
            "logged_in",
            "New York State minimum wage for New York City from 2025-01-01 (NY Labor Law section 652)",
            "the local minimum wage, after costs, per logged-in hour",
        ),
        Standard(
            "delivery_minimum",
            21.44,
            "before_tips",
            "logged_in",
            "NYC DCWP minimum pay rate for app-based restaurant delivery workers, before tips, from 2025-04-01",
            "the city's delivery minimum pay, before tips, per logged-in hour",
        ),
        Standard(
            "fairwork_1_1",
            16.50,
            "net",
            "logged_in",
            "Fairwork principle 1 (Fair Pay), threshold 1.1, with the New York City minimum wage",
            "Fairwork Fair Pay 1.1: at least the local minimum wage after costs",
        ),
        Standard(
            "fairwork_1_2",
            25.65,
            "net",
            "logged_in",
            "Fairwork principle 1 (Fair Pay), threshold 1.2, with the MIT Living Wage Calculator for New York "
            "County, 1 adult and no children (check the current value at livingwage.mit.edu)",
            "Fairwork Fair Pay 1.2: at least a local living wage after costs",
        ),
    )
    table = pl.DataFrame(
        [
            {"category": "food", "per_km": 0.05, "fixed_per_week": 15.0},
            {"category": "grocery", "per_km": 0.05, "fixed_per_week": 15.0},
        ],
        schema=COST_TABLE_SCHEMA,
    )
    expenses = Expenses(
        per_km=0.435,
        fixed_per_week=30.0,
        source=(
            "per km: IRS standard mileage rate for 2025, 70 cents a mile (Notice 2025-5); fixed: phone and "
            "insurance, an illustrative 30 a week; e-bike delivery: illustrative 0.05 a km and 15 a week"
        ),
        table=table,
    )
    return PayConfig(
        currency="USD", time_zone="America/New_York", expenses=expenses, standards=standards, privacy_budget=1.0
    )


@dataclass(frozen=True, slots=True)
class SyntheticPool:
    """Synthetic records with their planted truth; ``write`` makes a pool directory of them."""

    jobs: pl.DataFrame
    sessions: pl.DataFrame
    workers: pl.DataFrame
    config: PayConfig
    planted: dict[str, Any] = field(default_factory=dict)
    provenance: Provenance | None = None

    def counts(self) -> dict[str, int]:
        return {"workers": self.workers.height, "jobs": self.jobs.height, "sessions": self.sessions.height}

    def to_json(self) -> str:
        body = {
            "counts": self.counts(),
            "planted": self.planted,
            "provenance": None if self.provenance is None else self.provenance.to_dict(),
        }
        return json.dumps(body, allow_nan=False, default=str)

    def write(self, directory: str | Path, *, given_at: datetime | None = None) -> dict[str, Any]:
        """Write a pool directory (created): config, one synthetic contribution with consent for every worker."""
        from gigshift.pay._load import SET_ASIDE_SCHEMA, Contribution
        from gigshift.pay._pool import Pool

        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise GigshiftError(f"synthetic pool: {str(directory)!r} exists and is not empty; choose a new folder")
        pool = Pool.open(directory, create=True, config=self.config)
        contribution = Contribution(
            jobs=self.jobs,
            sessions=self.sessions,
            workers=self.workers,
            set_aside=pl.DataFrame(schema=SET_ASIDE_SCHEMA),
            n_left_out=0,
            sources=("synthetic",),
            mapping=None,
            time_zone=self.config.time_zone,
        )
        moment = given_at or datetime.combine(self.jobs.get_column("end").max().date(), datetime.min.time(), UTC)  # type: ignore[union-attr]
        return pool.add(
            contribution,
            given_at=moment,
            terms="synthetic data generated by gigshift.pay.synthetic (no real worker)",
            consent_id="synthetic",
        )


def _changes(changes: Sequence[PlantedChange | Mapping[str, Any]]) -> list[PlantedChange]:
    out = []
    for c in changes:
        if isinstance(c, Mapping):
            c = dict(c)
            if isinstance(c.get("date"), str):
                c["date"] = date.fromisoformat(c["date"])
            c = PlantedChange(**c)
        if c.metric not in ("pay_per_km", "pay_per_minute", "pay_per_job"):
            raise GigshiftError(f"{_CALLER}: a change's metric must be pay_per_km, pay_per_minute or pay_per_job")
        if not (0 < c.share <= 1) or not (c.factor > 0):
            raise GigshiftError(f"{_CALLER}: a change needs 0 < share <= 1 and factor > 0; got {c}")
        out.append(c)
    return out


def synthetic(
    *,
    n_workers: int = 500,
    n_weeks: int = 12,
    platforms: Sequence[str] = ("rideco", "dashfood"),
    start: date = date(2025, 1, 6),
    take_rates: Mapping[str, float] | None = None,
    changes: Sequence[PlantedChange | Mapping[str, Any]] = (),
    group_gaps: Mapping[str, Mapping[str, float]] | None = None,
    days_per_week: float = 4.0,
    multi_app_share: float = 0.2,
    seed: int | None = None,
) -> SyntheticPool:
    """Draw a synthetic pool of gig workers' jobs and logged-in sessions.

    Parameters
    ----------
    n_workers, n_weeks : int
        Workers, and weeks from ``start`` (a Monday; local New York times).
    platforms : sequence of str
        From ``CATALOGUE``: ``"rideco"`` (rides, prices always known), ``"dashfood"`` (food and
        grocery delivery by e-bike, 60% of prices known, frequent tips), ``"courierx"`` (parcels,
        prices unknown).
    take_rates : dict, optional
        Planted take rate per platform (default the catalogue's): each job's client price is
        ``worker_pay / (1 - t)`` times a uniform draw in [0.95, 1.05] (at least the pay).
    changes : sequence of PlantedChange or dict
        Pay-algorithm changes on a date for a share of a platform's workers.
    group_gaps : dict, optional
        ``{"sex": {"female": 0.9}}``: everything a group earns per job (pay, tips, bonus) is
        multiplied by the factor. Workers have ``sex`` (female 35%, more often on delivery) and
        ``age_band``.
    days_per_week : float, default=4.0
        Mean working days per worker and week (each worker has their own rate).
    multi_app_share : float, default=0.2
        Share of workers on two platforms (a day's session is on one of them).
    seed : int, optional
        The same seed gives identical tables.

    Returns
    -------
    SyntheticPool
        Jobs, sessions and workers in canonical columns, the New York City config (:func:`nyc_config`)
        and ``planted``, the truth to recover.
    """
    n_workers = check_positive_int("n_workers", n_workers, caller=_CALLER)
    n_weeks = check_positive_int("n_weeks", n_weeks, caller=_CALLER)
    platforms = list(platforms)
    unknown = [p for p in platforms if p not in CATALOGUE]
    if not platforms or unknown:
        raise GigshiftError(f"{_CALLER}: platforms must come from {', '.join(CATALOGUE)}; got {unknown or 'none'}")
    if start.weekday() != 0:
        raise GigshiftError(f"{_CALLER}: start must be a Monday; got {start.isoformat()} ({start:%A})")
    takes = {p: CATALOGUE[p].take_rate for p in platforms}
    for p, t in (take_rates or {}).items():
        if p not in takes or not 0 <= t < 0.9:
            raise GigshiftError(f"{_CALLER}: take_rates needs a platform of this pool and 0 <= t < 0.9; got {p}={t}")
        takes[p] = float(t)
    planted_changes = _changes(changes)
    for c in planted_changes:
        if c.platform not in platforms:
            raise GigshiftError(f"{_CALLER}: a change names platform {c.platform!r}, not one of {platforms}")
    gaps = {attr: dict(groups) for attr, groups in (group_gaps or {}).items()}
    for attr in gaps:
        if attr != "sex":
            raise GigshiftError(f"{_CALLER}: group_gaps can plant gaps by 'sex' only; got {attr!r}")

    root = np.random.SeedSequence(seed)
    rng_w, rng_d, rng_j, rng_m = (np.random.default_rng(s) for s in root.spawn(4))
    n_days = 7 * n_weeks
    n_plat = len(platforms)

    # workers ---------------------------------------------------------------------------------------------
    female = rng_w.random(n_workers) < 0.35
    delivery = np.array([CATALOGUE[p].categories[0] in ("food", "grocery", "parcel") for p in platforms])
    plat_weights = np.ones(n_plat)
    home = np.empty(n_workers, dtype=np.int64)
    for is_f in (False, True):  # women more often on delivery platforms (an explained part of gaps)
        w = plat_weights * np.where(delivery, 2.0 if is_f else 1.0, 1.0)
        idx = np.flatnonzero(female == is_f)
        home[idx] = rng_w.choice(n_plat, size=idx.size, p=w / w.sum())
    second = (home + 1 + rng_w.integers(0, max(n_plat - 1, 1), n_workers)) % n_plat
    multi = (rng_w.random(n_workers) < multi_app_share) & (n_plat > 1)
    day_rate = np.clip(rng_w.gamma(6.0, days_per_week / 6.0, n_workers), 0.5, 6.5) / 7.0
    skill = np.exp(rng_w.normal(0, 0.08, n_workers))
    main_cat = rng_w.random(n_workers) < 0.8  # share of jobs in the platform's first category
    area = rng_w.integers(0, len(AREAS), n_workers)
    age_band = rng_w.choice(
        np.array(["18-24", "25-34", "35-44", "45-54", "55+"]), n_workers, p=[0.15, 0.35, 0.25, 0.15, 0.1]
    )
    group_factor = np.ones(n_workers)
    for label, factor in gaps.get("sex", {}).items():
        if label not in ("female", "male") or not factor > 0:
            raise GigshiftError(f"{_CALLER}: group_gaps['sex'] takes female or male with a factor > 0; got {label}")
        group_factor[female if label == "female" else ~female] = float(factor)
    worker_ids = np.array([f"w{i:05d}" for i in range(1, n_workers + 1)])

    # sessions: one per active worker-day ------------------------------------------------------------------
    active = rng_d.random((n_workers, n_days)) < day_rate[:, None]
    s_worker, s_day = np.nonzero(active)
    n_sessions = s_worker.size
    if n_sessions == 0:
        raise GigshiftError(f"{_CALLER}: no worker worked; raise n_workers, n_weeks or days_per_week")
    on_second = multi[s_worker] & (rng_d.random(n_sessions) < 0.4)
    s_plat = np.where(on_second, second[s_worker], home[s_worker])
    s_start_min = rng_d.integers(6 * 60, 16 * 60, n_sessions).astype(np.float64)  # local minutes after midnight
    s_length = np.clip(rng_d.lognormal(np.log(4.5 * 60), 0.35, n_sessions), 60.0, 9 * 60.0)

    # jobs, in sequence within each session ---------------------------------------------------------------
    minutes = np.array([CATALOGUE[p].minutes for p in platforms])
    waits = np.array([CATALOGUE[p].wait_minutes for p in platforms])
    cycle = minutes[s_plat] + waits[s_plat]
    n_jobs = np.maximum(1, rng_j.poisson(s_length / cycle))
    j_session = np.repeat(np.arange(n_sessions), n_jobs)
    n = j_session.size
    j_plat = s_plat[j_session]
    wait = rng_j.exponential(waits[j_plat])
    dur = np.clip(rng_j.lognormal(np.log(minutes[j_plat]), 0.4), 3.0, 180.0)
    step = wait + dur
    ends = np.cumsum(step)
    first = np.cumsum(n_jobs) - n_jobs
    offset = np.repeat(ends[first] - step[first], n_jobs)  # cumulative time before each session's first job
    j_end_min = s_start_min[j_session] + (ends - offset)
    # jobs end within the planned session (its first job always counts), so a day never runs into the next
    keep = ((j_end_min - s_start_min[j_session]) <= s_length[j_session]) | (np.arange(n) == first[j_session])
    j_session, j_plat, dur, j_end_min = j_session[keep], j_plat[keep], dur[keep], j_end_min[keep]
    n = j_session.size
    j_start_min = j_end_min - dur
    last_end = np.zeros(n_sessions)
    np.maximum.at(last_end, j_session, j_end_min)
    s_end_min = np.maximum(s_start_min + s_length, last_end + rng_j.exponential(waits[s_plat]))
    j_worker = s_worker[j_session]
    j_day = s_day[j_session]

    cats = [CATALOGUE[p].categories for p in platforms]
    pick_main = np.where(main_cat[j_worker], rng_j.random(n) < 0.9, rng_j.random(n) < 0.3)
    cat_names = np.array([c for cs in cats for c in cs])
    cat_first = np.cumsum([0] + [len(c) for c in cats])[:-1]
    n_cat = np.array([len(c) for c in cats])
    other = np.minimum(1, n_cat[j_plat] - 1)
    j_cat = cat_first[j_plat] + np.where(pick_main, 0, other)
    j_area = np.where(rng_j.random(n) < 0.85, area[j_worker], rng_j.integers(0, len(AREAS), n))
    kmpm = np.array([CATALOGUE[p].km_per_minute for p in platforms])
    distance = np.round(dur * kmpm[j_plat] * np.exp(rng_j.normal(0, 0.25, n)), 2)

    # money ------------------------------------------------------------------------------------------------
    base = np.array([CATALOGUE[p].base for p in platforms])[j_plat]
    per_km = np.array([CATALOGUE[p].per_km for p in platforms])[j_plat]
    per_min = np.array([CATALOGUE[p].per_minute for p in platforms])[j_plat]
    job_date = np.array(start, dtype="datetime64[D]") + j_day
    planted_rows = []
    for c in planted_changes:
        p = platforms.index(c.platform)
        cut_workers = rng_m.random(n_workers) < c.share
        hit = (j_plat == p) & cut_workers[j_worker] & (job_date >= np.datetime64(c.date))
        target = {"pay_per_km": per_km, "pay_per_minute": per_min, "pay_per_job": base}[c.metric]
        target[hit] *= c.factor
        on_platform = np.unique(j_worker[j_plat == p])
        planted_rows.append(
            {**asdict(c), "date": c.date.isoformat(), "workers_cut": int(cut_workers[on_platform].sum()),
             "workers_on_platform": int(on_platform.size)}
        )  # fmt: skip
    surge = np.exp(rng_m.normal(0, 0.08, n))
    raw_pay = (base + per_km * distance + per_min * dur) * surge * skill[j_worker]
    factor = group_factor[j_worker]
    worker_pay = np.round(raw_pay * factor, 2)
    tip_chance = np.array([CATALOGUE[p].tip_chance for p in platforms])[j_plat]
    tip_share = np.array([CATALOGUE[p].tip_share for p in platforms])[j_plat]
    tipped = rng_m.random(n) < tip_chance
    tips = np.where(tipped, np.round(raw_pay * factor * rng_m.exponential(tip_share / tip_chance, n), 2), 0.0)
    bonus = np.where(rng_m.random(n) < 0.04, np.round(rng_m.uniform(2.0, 6.0, n) * factor, 2), np.nan)
    fee_amount = np.array([CATALOGUE[p].fee for p in platforms])[j_plat]
    fees = np.where((fee_amount > 0) & (rng_m.random(n) < 0.1), fee_amount, np.nan)
    # a job's price varies +-5% around pay / (1 - t), so the ratio of sums 1 - pay / price is t
    markup = 1.0 / (1.0 - np.array([takes[p] for p in platforms])[j_plat]) * rng_m.uniform(0.95, 1.05, n)
    price_known = rng_m.random(n) < np.array([CATALOGUE[p].price_known for p in platforms])[j_plat]
    client_price = np.where(price_known, np.round(worker_pay * markup, 2), np.nan)
    client_price = np.where(price_known, np.maximum(client_price, worker_pay), np.nan)

    # tables -----------------------------------------------------------------------------------------------
    tz = "America/New_York"
    day0 = datetime.combine(start, datetime.min.time())

    def local(day: np.ndarray, minute: np.ndarray) -> pl.Series:
        micros = (day.astype(np.int64) * 86_400 + minute * 60.0) * 1e6
        naive = pl.Series(np.round(micros).astype(np.int64)).cast(pl.Datetime("us")) + (day0 - datetime(1970, 1, 1))
        return naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")

    plat_names = np.array(platforms)
    jobs = pl.DataFrame(
        {
            "worker_id": worker_ids[j_worker],
            "platform": plat_names[j_plat],
            "category": cat_names[j_cat],
            "area": np.array(AREAS)[j_area],
            "start": local(j_day, j_start_min),
            "end": local(j_day, j_end_min),
            "distance_km": distance,
            "client_price": client_price,
            "worker_pay": worker_pay,
            "tips": tips,
            "bonus": bonus,
            "fees": fees,
            "currency": np.full(n, "USD"),
        },
        nan_to_null=True,
    ).cast(SCHEMAS["jobs"])  # type: ignore[arg-type]
    jobs = jobs.sort("worker_id", "start")
    sessions = pl.DataFrame(
        {
            "worker_id": worker_ids[s_worker],
            "platform": plat_names[s_plat],
            "start": local(s_day, s_start_min),
            "end": local(s_day, s_end_min),
        }
    ).cast({"start": UTC_DATETIME, "end": UTC_DATETIME})
    sessions = sessions.sort("worker_id", "start")
    workers = pl.DataFrame(
        {"worker_id": worker_ids, "sex": np.where(female, "female", "male"), "age_band": age_band}
    ).filter(pl.col("worker_id").is_in(jobs.get_column("worker_id").unique().implode()))
    planted = {
        "take_rates": takes,
        "changes": planted_rows,
        "group_gaps": gaps,
        "start": start.isoformat(),
        "end": (start + timedelta(days=n_days - 1)).isoformat(),
    }
    provenance = Provenance(
        sources=(),
        method=(
            "synthetic pool: Poisson working days per worker, lognormal sessions and job durations, sequential "
            "jobs with exponential waits, pay = (base + per-km x km + per-minute x minutes) x surge x skill"
        ),
        gigshift_version=gigshift.__version__,
        seed=root.entropy if isinstance(root.entropy, int) else None,  # type: ignore[arg-type]
        extra={"n_workers": str(n_workers), "n_weeks": str(n_weeks), "platforms": ",".join(platforms)},
    )
    return SyntheticPool(jobs, sessions, workers, nyc_config(), planted, provenance)
