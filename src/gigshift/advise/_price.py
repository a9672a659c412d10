"""Pricing: a suggested hourly rate range for a worker profile, from winning bids on similar tasks.

Method
------
The sample is the category's winning bids (see :mod:`gigshift.advise._marketdata` for how winners are
found), each as an hourly rate: price over the task's expected hours. With ``skills``, the tasks that
need at least one of them are used when there are enough of them; otherwise the whole category.

Linear quantile regression (Koenker & Bassett 1978; ``statsmodels`` ``QuantReg``) of the log hourly
rate on the winner's profile:

``log rate = b0 + b1 (rating - 4.5) + b2 is_unrated + b3 log(1 + jobs completed)``

is fitted at the range's lower and upper quantiles (``(1 - coverage) / 2`` and ``(1 + coverage) / 2``)
and at the median, and read off at the worker's profile. An unrated worker has ``rating - 4.5 = 0``
and ``is_unrated = 1``. A term with no variation in the sample is left out (and said). Quantile
predictions are sorted when they cross (rearrangement, Chernozhukov, Fernández-Val & Galichon 2010).

Uncertainty: each predicted log quantile has the standard error ``sqrt(x' V x)`` from the regression's
sandwich covariance (Hall-Sheather bandwidth, Epanechnikov kernel), giving a confidence interval for
each end of the range and the median.

Too little data: with fewer than ``min_winning_bids`` winning bids in the category there is no range;
the result says so and lists the nearest categories (by the advice model's occupation similarity,
same mode first) that have enough.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift.advise._market_results import PriceResult
from gigshift.advise._marketdata import check_market, neighbour_categories, winning_bids

_CALLER = "price"
#: Rating the regression is centred on (the allocation engine's prior mean for new workers).
RATING_CENTRE = 4.5
#: Fewest winning bids for a range.
MIN_WINNING_BIDS = 30
_TERMS = ("intercept", "rating", "is_unrated", "log_jobs")


@dataclass(frozen=True, slots=True)
class RateModel:
    """Quantile regressions of the log hourly rate: one coefficient vector and covariance per quantile."""

    quantiles: tuple[float, ...]
    terms: tuple[str, ...]  # the design's columns actually used
    coef: np.ndarray  # (n_quantiles, n_terms)
    cov: np.ndarray  # (n_quantiles, n_terms, n_terms)
    n: int
    ranges: dict[str, tuple[float, float]]  # observed min and max of rating and log_jobs (rated winners for rating)


def design(rating: np.ndarray, jobs: np.ndarray) -> np.ndarray:
    """The full design (intercept, rating - 4.5, is_unrated, log1p(jobs)); ``rating`` NaN = unrated."""
    unrated = np.isnan(rating)
    return np.column_stack(
        [
            np.ones(rating.size),
            np.where(unrated, 0.0, rating - RATING_CENTRE),
            unrated.astype(np.float64),
            np.log1p(jobs.astype(np.float64)),
        ]
    )


def _usable_terms(x: np.ndarray) -> list[int]:
    """Columns kept: the intercept, then each column that varies and adds rank."""
    keep = [0]
    for j in range(1, x.shape[1]):
        if np.ptp(x[:, j]) == 0:
            continue
        if np.linalg.matrix_rank(x[:, [*keep, j]]) == len(keep) + 1:
            keep.append(j)
    return keep


def fit_rate_model(rating: np.ndarray, jobs: np.ndarray, rate: np.ndarray, *, quantiles: Sequence[float]) -> RateModel:
    """Fit the log-rate quantile regressions (see the module docstring) on winning bids' profiles and rates."""
    from statsmodels.regression.quantile_regression import QuantReg
    from statsmodels.tools.sm_exceptions import IterationLimitWarning

    x_full = design(rating, jobs)
    keep = _usable_terms(x_full)
    x, y = x_full[:, keep], np.log(rate)
    coefs, covs = [], []
    for q in quantiles:  # three fits
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IterationLimitWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = QuantReg(y, x).fit(q=q, max_iter=5000)
        coefs.append(np.asarray(fit.params))
        covs.append(np.asarray(fit.cov_params()))
    rated = ~np.isnan(rating)
    ranges = {
        "log_jobs": (float(x_full[:, 3].min()), float(x_full[:, 3].max())),
        "rating": (float(np.nanmin(rating)), float(np.nanmax(rating))) if rated.any() else (math.nan, math.nan),
    }
    return RateModel(
        quantiles=tuple(float(q) for q in quantiles),
        terms=tuple(_TERMS[j] for j in keep),
        coef=np.array(coefs),
        cov=np.array(covs),
        n=int(y.size),
        ranges=ranges,
    )


def predict_log_rates(model: RateModel, rating: np.ndarray, jobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted log rate quantiles (profiles x quantiles, sorted so they never cross) and their standard errors."""
    keep = [_TERMS.index(t) for t in model.terms]
    x = design(rating, jobs)[:, keep]
    pred = x @ model.coef.T
    se = np.sqrt(np.maximum(np.einsum("pi,qij,pj->pq", x, model.cov, x), 0.0))
    order = np.argsort(pred, axis=1, kind="stable")
    return np.take_along_axis(pred, order, axis=1), np.take_along_axis(se, order, axis=1)


def _check_profile(rating: object, jobs: object, skills: object) -> tuple[float | None, int, list[str] | None]:
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int | float) or not 1 <= float(rating) <= 5
    ):
        raise GigshiftError(
            f"{_CALLER}: rating must be a number from 1 to 5, or None for no rating yet; got {rating!r}"
        )
    if isinstance(jobs, bool) or not isinstance(jobs, int | np.integer) or jobs < 0:
        raise GigshiftError(f"{_CALLER}: jobs must be a whole number >= 0 (jobs completed); got {jobs!r}")
    if skills is not None:
        if isinstance(skills, str) or not isinstance(skills, Sequence) or not all(isinstance(s, str) for s in skills):
            raise GigshiftError(f"{_CALLER}: skills must be a list of skill names; got {skills!r}")
        skills = [s.strip() for s in skills if s.strip()] or None
    return (None if rating is None else float(rating)), int(jobs), skills  # type: ignore[return-value]


def _check_number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
        raise GigshiftError(
            f"{_CALLER}: {name} must be a number between {low:g} and {high:g} (exclusive); got {value!r}"
        )
    return float(value)


def _check_category(category: object) -> tuple[str, str]:
    from gigshift.taxonomy import category as lookup_category

    if not isinstance(category, str) or not category.strip():
        raise GigshiftError(
            f"{_CALLER}: category must be a gig category slug (see `gigshift categories`); got {category!r}"
        )
    cat = lookup_category(category.strip().lower())  # NotFoundError lists the closest slugs
    return cat.slug, cat.name


def _fmt_rate(value: float) -> str:
    return f"${value:,.2f}/h"


def price(
    market: object,
    *,
    category: str,
    rating: float | None = None,
    jobs: int = 0,
    skills: Sequence[str] | None = None,
    assignments: object | None = None,
    coverage: float = 0.8,
    confidence: float = 0.95,
    min_winning_bids: int = MIN_WINNING_BIDS,
    seed: int | None = None,
) -> PriceResult:
    """A suggested hourly rate range for a worker profile, from winning bids on similar tasks.

    Parameters
    ----------
    market : gigshift.market.Market
        The market (``read_market(DIR)`` or ``synthetic(...)``).
    category : str
        Gig category slug.
    rating : float, optional
        The worker's client rating (1-5); None for a worker without one yet.
    jobs : int, default=0
        Jobs completed.
    skills : list of str, optional
        The worker's skills: when given, the tasks needing at least one of them are used when there are
        at least ``min_winning_bids`` of them, else the whole category (said in ``notes``).
    assignments : DataFrame, optional
        ``task_id, worker_id`` (and optionally ``price_usd``) of filled tasks, as ``gigshift allocate run``
        writes them. Default: the allocation engine picks the winners among the bids (see Notes).
    coverage : float, default=0.8
        Nominal share of winning bids for this profile inside the range (0.8: from the 10th to the
        90th percentile).
    confidence : float, default=0.95
        Level of the confidence intervals around each end of the range and the median.
    min_winning_bids : int, default=30
        Fewest winning bids for a range; with fewer there is none (at least 10).
    seed : int, optional
        Seeds the allocation engine's tie lottery when it picks the winners (unused with ``assignments``).

    Returns
    -------
    PriceResult

    Raises
    ------
    NotFoundError
        An unknown category (the closest slugs are listed).
    InputError
        Bad assignments (row and column named).
    GigshiftError
        A bad parameter, or a market object that is not a :class:`gigshift.market.Market`.

    Notes
    -----
    See the module docstring for the regression. The market's tables record bids, not winners: without
    ``assignments`` the winners are those the allocation engine (default policy) picks among the bids,
    one batch per ISO week of posting.

    Examples
    --------
    >>> from gigshift.market import synthetic
    >>> m = synthetic(n_workers=600, n_tasks=600, categories=["data-entry"], seed=1)
    >>> r = price(m, category="data-entry", rating=4.8, jobs=10, seed=0)
    >>> r.is_enough, r.low < r.median < r.high
    (True, True)
    >>> price(m, category="data-entry", min_winning_bids=10_000, seed=0).headline()[:15]
    'too little data'
    """
    market = check_market(market, caller=_CALLER)
    slug, name = _check_category(category)
    rating, jobs, skills = _check_profile(rating, jobs, skills)
    coverage = _check_number("coverage", coverage, 0.0, 1.0)
    confidence = _check_number("confidence", confidence, 0.0, 1.0)
    if isinstance(min_winning_bids, bool) or not isinstance(min_winning_bids, int) or min_winning_bids < 10:
        raise GigshiftError(f"{_CALLER}: min_winning_bids must be an integer >= 10; got {min_winning_bids!r}")
    winners = winning_bids(market, assignments=assignments, seed=seed)
    return price_from_winners(
        winners.table,
        category=slug,
        category_name=name,
        rating=rating,
        jobs=jobs,
        skills=skills,
        coverage=coverage,
        confidence=confidence,
        min_winning_bids=min_winning_bids,
        winners_source=winners.source,
        n_without_hours=winners.n_without_hours,
        seed=seed,
    )


def price_from_winners(
    table: pl.DataFrame,
    *,
    category: str,
    category_name: str,
    rating: float | None,
    jobs: int,
    skills: list[str] | None,
    coverage: float,
    confidence: float,
    min_winning_bids: int,
    winners_source: str,
    n_without_hours: int,
    seed: int | None,
) -> PriceResult:
    """``price`` on an already-built winning-bid table (see ``winning_bids``); shared with the career card."""
    from scipy.stats import norm

    notes: list[str] = [winners_source]
    in_category = table.filter(pl.col("category") == category)
    counts = table.group_by("category").agg(n_winning_bids=pl.len().cast(pl.Int64))
    n_category = in_category.height
    sample, basis, n_skill = in_category, "category", None
    if skills:
        matching = in_category.filter(
            pl.col("required_skills").list.set_intersection(pl.lit(pl.Series([skills]))).list.len() > 0
        )
        n_skill = matching.height
        if n_skill >= min_winning_bids:
            sample, basis = matching, "skills"
            notes.append(f"{n_skill} of {n_category} winning bids in {category} are on tasks needing your skills")
        elif n_category:
            notes.append(
                f"only {n_skill} winning bids in {category} are on tasks needing your skills (a range needs "
                f"{min_winning_bids}): the whole category is used"
            )
    if n_without_hours:
        notes.append(f"{n_without_hours} winning bids on tasks without expected hours are left out (no hourly rate)")
    lo_q, hi_q = (1 - coverage) / 2, (1 + coverage) / 2
    quantiles = (lo_q, 0.5, hi_q)
    enough = counts.filter(pl.col("n_winning_bids") >= min_winning_bids)
    nearest = (
        neighbour_categories(category)
        .join(enough, left_on="slug", right_on="category", how="inner")
        .head(3)
        .select("slug", "name", "mode", "similarity", "n_winning_bids")
    )
    rates = sample["hourly_rate_usd"].to_numpy()
    observed = {
        "n_winning_bids": sample.height,
        "n_category": n_category,
        "n_skill_match": n_skill,
        "basis": basis,
        "observed_median_usd": float(np.median(rates)) if rates.size else None,
    }
    profile = {"rating": rating, "jobs": jobs, "skills": skills}
    provenance = Provenance(
        sources=(),
        method=(
            "hourly rate (price / expected hours) of winning bids; linear quantile regression (statsmodels QuantReg) "
            f"of log rate on rating - {RATING_CENTRE}, is_unrated and log(1 + jobs) at quantiles "
            f"{lo_q:.3g}, 0.5, {hi_q:.3g}; sandwich standard errors"
        ),
        gigshift_version=gigshift.__version__,
        seed=seed,
        extra={"winners": winners_source},
    )
    common = {
        "category": category,
        "category_name": category_name,
        "profile": profile,
        "coverage": coverage,
        "confidence": confidence,
        "sample": observed,
        "nearest": nearest,
        "provenance": provenance,
    }
    if sample.height < min_winning_bids:
        where = (
            "; nearest categories with enough: "
            + ", ".join(f"{r['slug']} ({r['n_winning_bids']} winning bids)" for r in nearest.iter_rows(named=True))
            if nearest.height
            else "; no category of this market has enough"
        )
        notes.insert(
            0,
            f"too little data: {sample.height} winning bids with an hourly rate in {category} on this market, and a "
            f"range needs at least {min_winning_bids}, so there is no suggested rate{where}",
        )
        return PriceResult(
            **common,
            is_enough=False,
            range=pl.DataFrame(schema=_RANGE_SCHEMA),
            coefficients=pl.DataFrame(schema=_COEF_SCHEMA),
            notes=tuple(notes),
        )

    win_rating = sample["rating"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    win_jobs = sample["n_jobs_completed"].to_numpy()
    model = fit_rate_model(win_rating, win_jobs, rates, quantiles=quantiles)
    r = np.array([np.nan if rating is None else rating])
    pred, se = predict_log_rates(model, r, np.array([jobs]))
    z = float(norm.ppf(0.5 + confidence / 2))
    range_table = pl.DataFrame(
        {
            "quantile": list(quantiles),
            "rate_usd": np.exp(pred[0]),
            "ci_lo": np.exp(pred[0] - z * se[0]),
            "ci_hi": np.exp(pred[0] + z * se[0]),
            "se_log": se[0],
        },
        schema=_RANGE_SCHEMA,
    )
    # the median for this profile against the median for the sample's own mix of winners
    typical, _ = predict_log_rates(model, win_rating, win_jobs)
    adjustment = float(np.exp(pred[0, 1] - np.median(typical[:, 1])) - 1)
    coef_rows = []
    for qi, q in enumerate(quantiles):
        ses = np.sqrt(np.maximum(np.diag(model.cov[qi]), 0.0))
        for ti, term in enumerate(model.terms):
            c, s = float(model.coef[qi, ti]), float(ses[ti])
            coef_rows.append({"quantile": q, "term": term, "coef": c, "se": s, "ci_lo": c - z * s, "ci_hi": c + z * s})
    dropped = [t for t in _TERMS[1:] if t not in model.terms]
    if dropped:
        notes.append(f"no variation in {', '.join(dropped)} among these winning bids: the range cannot adjust for it")
    lo_r, hi_r = model.ranges["rating"]
    if rating is not None and not math.isnan(lo_r) and not lo_r <= rating <= hi_r:
        notes.append(
            f"your rating {rating:g} is outside the winners' ({lo_r:g} to {hi_r:g}): the range is extrapolated"
        )
    if rating is None and "is_unrated" not in model.terms and not np.isnan(win_rating).any():
        notes.append("no winning bid here came from an unrated worker: the range is for rated workers")
    lo_j, hi_j = model.ranges["log_jobs"]
    if not lo_j - 1e-12 <= math.log1p(jobs) <= hi_j + 1e-12:
        notes.append(
            f"{jobs} jobs completed is outside the winners' ({round(math.expm1(lo_j))} to {round(math.expm1(hi_j))}): "
            "the range is extrapolated"
        )
    notes.insert(
        0,
        f"{coverage:.0%} of winning bids by workers like you fall in {_fmt_rate(range_table['rate_usd'][0])} to "
        f"{_fmt_rate(range_table['rate_usd'][2])}, median {_fmt_rate(range_table['rate_usd'][1])} "
        f"({adjustment:+.0%} against the typical winner here); from {sample.height} winning bids",
    )
    return PriceResult(
        **common,
        is_enough=True,
        range=range_table,
        coefficients=pl.DataFrame(coef_rows, schema=_COEF_SCHEMA),
        adjustment=adjustment,
        notes=tuple(notes),
    )


_RANGE_SCHEMA = {
    "quantile": pl.Float64,
    "rate_usd": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "se_log": pl.Float64,
}
_COEF_SCHEMA = {
    "quantile": pl.Float64,
    "term": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
}
