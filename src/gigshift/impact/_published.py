"""Published estimates of generative AI's effect on online freelancing, and the same estimates on simulated tables.

:func:`published_estimates` lists the figures the calibration of the ``genai-2022`` scenario aims at;
:func:`compare_with_published` estimates each of them on a simulation's tables the way its paper did
(a difference in differences against a comparison group, on the paper's unit and outcome).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import polars as pl

from gigshift._errors import GigshiftError
from gigshift._tables import as_polars, check_option, check_positive_int, require_columns

Lens = Literal["human", "gpt4"]

_HUI = (
    "Hui, X., Reshef, O. & Zhou, L. (2024). The Short-Term Effects of Generative Artificial Intelligence on "
    "Employment: Evidence from an Online Labor Market. Organization Science 35, 1977-1989. "
    "doi:10.1287/orsc.2023.18441"
)
_DEMIRCI = (
    "Demirci, O., Hannane, J. & Zhu, X. (2025). Who Is AI Replacing? The Impact of Generative AI on Online "
    "Freelancing Platforms. Management Science. doi:10.1287/mnsc.2024.05420"
)
_TEUTLOFF = (
    "Teutloff, O., Einsiedler, J., Kässi, O., Braesemann, F., Mishkin, P. & del Rio-Chanona, R. M. (2025). "
    "Winners and losers of generative AI: Early evidence of shifts in freelancer demand. Journal of Economic "
    "Behavior & Organization 235, 106845. doi:10.1016/j.jebo.2024.106845"
)


@dataclass(frozen=True)
class _Figure:
    """One published figure and how to estimate it on simulated tables."""

    study: str
    citation: str
    measure: str
    group: str
    comparison: str
    estimate: float
    range_lo: float | None
    range_hi: float | None
    horizon: str
    note: str
    table: Literal["panel", "categories"]  # simulated table it is estimated on
    outcome: str
    treated: Literal["writing", "automation_prone", "machine_learning"]


_FIGURES = (
    _Figure(
        "Hui, Reshef & Zhou (2024)",
        _HUI,
        "monthly jobs per writing freelancer",
        "freelancers in writing-related occupations",
        "freelancers in less-affected occupations",
        -0.02,
        None,
        None,
        "months after ChatGPT (2022-11-30)",
        "difference in differences on an online labour platform's freelancers",
        "panel",
        "jobs",
        "writing",
    ),
    _Figure(
        "Hui, Reshef & Zhou (2024)",
        _HUI,
        "monthly earnings per writing freelancer",
        "freelancers in writing-related occupations",
        "freelancers in less-affected occupations",
        -0.052,
        None,
        None,
        "months after ChatGPT (2022-11-30)",
        "difference in differences on an online labour platform's freelancers",
        "panel",
        "earnings_usd",
        "writing",
    ),
    _Figure(
        "Demirci, Hannane & Zhu (2025)",
        _DEMIRCI,
        "job posts for automation-prone work",
        "automation-prone jobs (writing and coding)",
        "jobs requiring manual-intensive skills",
        -0.21,
        None,
        None,
        "within eight months of ChatGPT (2022-11-30)",
        "difference in differences on a global freelancing platform's job posts",
        "categories",
        "posted",
        "automation_prone",
    ),
    _Figure(
        "Teutloff et al. (2025)",
        _TEUTLOFF,
        "job posts for substitutable skills",
        "substitutable skill clusters (e.g. writing, translation)",
        "counterfactual trend (unaffected skill clusters)",
        -0.35,
        -0.50,
        -0.20,
        "after ChatGPT (2022-11-30)",
        "published as a fall of 20-50% across substitutable skill clusters; estimate is the range's midpoint",
        "categories",
        "posted",
        "writing",
    ),
    _Figure(
        "Teutloff et al. (2025)",
        _TEUTLOFF,
        "job posts for machine-learning programming",
        "machine-learning programming (a complementary skill cluster)",
        "counterfactual trend (unaffected skill clusters)",
        0.24,
        None,
        None,
        "after ChatGPT (2022-11-30)",
        "a complementary skill cluster whose demand grew",
        "categories",
        "posted",
        "machine_learning",
    ),
)

_PUBLISHED_SCHEMA = {
    "study": pl.String,
    "citation": pl.String,
    "measure": pl.String,
    "group": pl.String,
    "comparison": pl.String,
    "estimate": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "range_lo": pl.Float64,
    "range_hi": pl.Float64,
    "horizon": pl.String,
    "note": pl.String,
}


def published_estimates() -> pl.DataFrame:
    """Published estimates of generative AI's effect on online freelancing: one row per figure.

    Returns
    -------
    polars.DataFrame
        ``study, citation, measure, group, comparison, estimate, ci_lo, ci_hi, range_lo, range_hi,
        horizon, note``. ``estimate`` is a proportional change (-0.02 is a 2% fall). Confidence
        intervals are null: only the point estimates are quoted here. Teutloff et al. report a
        range (a fall of 20-50% across substitutable skill clusters): ``range_lo``/``range_hi``
        hold it and ``estimate`` its midpoint.

    Notes
    -----
    Hui, Reshef & Zhou (2024, Organization Science): freelancers in writing-related occupations
    lost 2% of monthly jobs and 5.2% of monthly earnings after ChatGPT. Demirci, Hannane & Zhu
    (2025, Management Science): job posts for automation-prone work (writing and coding) fell 21%
    relative to manual-intensive work within eight months of ChatGPT. Teutloff et al. (2025,
    JEBO): demand for substitutable skills fell 20-50% and demand for machine-learning programming
    rose 24%.

    Examples
    --------
    >>> published_estimates().select("study", "estimate").row(2)
    ('Demirci, Hannane & Zhu (2025)', -0.21)
    """
    rows = [
        {
            "study": f.study,
            "citation": f.citation,
            "measure": f.measure,
            "group": f.group,
            "comparison": f.comparison,
            "estimate": f.estimate,
            "ci_lo": None,
            "ci_hi": None,
            "range_lo": f.range_lo,
            "range_hi": f.range_hi,
            "horizon": f.horizon,
            "note": f.note,
        }
        for f in _FIGURES
    ]
    return pl.DataFrame(rows, schema=_PUBLISHED_SCHEMA)


def _groups(*, lens: Lens = "human") -> dict[str, list[str]]:
    """Atlas categories behind each group: writing, automation_prone, machine_learning, least_exposed."""
    from gigshift.taxonomy import categories

    online = (
        categories()
        .filter(pl.col("mode").cast(pl.String) == "online")
        .select("slug", cls=pl.col("class").cast(pl.String), e1=pl.col(f"{lens}_share_e1").fill_null(0.0))
        .sort("e1", "slug")
    )
    third = online.height // 3
    return {
        "writing": sorted(online.filter(pl.col("cls") == "writing-translation").get_column("slug").to_list()),
        "automation_prone": sorted(online.tail(third).get_column("slug").to_list()),
        "machine_learning": ["machine-learning"],
        "least_exposed": sorted(online.head(third).get_column("slug").to_list()),
    }


_RESULT_SCHEMA = {
    "study": pl.String,
    "measure": pl.String,
    "published": pl.Float64,
    "published_lo": pl.Float64,
    "published_hi": pl.Float64,
    "simulated": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "published_in_ci": pl.Boolean,
    "simulated_in_range": pl.Boolean,
    "pre_trend_max_abs_t": pl.Float64,
    "horizon_months": pl.Int64,
    "n_units": pl.Int64,
    "n_treated": pl.Int64,
    "method": pl.String,
}


def compare_with_published(
    result_categories: object,
    result_panel: object,
    *,
    event: date | str = "2022-11-30",
    horizon_months: int = 8,
    lens: Lens = "human",
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Each published figure of :func:`published_estimates`, estimated on a simulation's tables as its paper did.

    Parameters
    ----------
    result_categories : DataFrame
        ``SimulationResult.categories``: category, date, posted (and replicate, if several).
    result_panel : DataFrame
        ``SimulationResult.panel``: worker_id, date, category, jobs, earnings_usd (and replicate).
    event : date or str, default="2022-11-30"
        ChatGPT's release; the first month starting on or after it is the first post-event month.
    horizon_months : int, default=8
        Post-event months kept (Demirci, Hannane & Zhu's "within eight months"); later months are
        dropped, the pre-event months all kept.
    lens : {"human", "gpt4"}, default="human"
        Which E1 exposure shares (Eloundou et al. 2024) rank the categories into groups.
    confidence : float, default=0.95

    Returns
    -------
    polars.DataFrame
        One row per published figure: ``study, measure, published, published_lo, published_hi``
        (the published range, where a range was published), ``simulated`` and ``ci_lo, ci_hi``
        (proportional changes, ``exp(b) - 1`` of the Poisson DiD coefficient and its interval),
        ``published_in_ci`` (the published estimate inside the simulated interval),
        ``simulated_in_range`` (the simulated estimate inside the published range; null where the
        paper gave a point), ``pre_trend_max_abs_t`` (largest |t| of the pre-event event-study
        coefficients), ``horizon_months`` (post-event months in the data), ``n_units``,
        ``n_treated`` and ``method``. A figure whose treated or comparison group has no job or
        posting before or after the event (a very small market) gets nulls, and a method that
        says so.

    Notes
    -----
    **Groups** (from the atlas, :func:`gigshift.taxonomy.categories`; see ``_groups``):

    - *writing*: the online categories of the writing-translation class of the Online Labour Index.
      Hui et al.'s writing freelancers are workers whose primary category in the first week of the
      panel is one of them; Teutloff et al.'s substitutable skills (writing, translation) are
      these categories.
    - *automation-prone* (Demirci et al.): the third of online categories with the highest E1
      share (tasks the model can do alone), which holds writing, translation, customer support
      and the most exposed coding and marketing categories.
    - *machine learning* (Teutloff et al.'s ML programming): the ``machine-learning`` category.
    - *comparison*, for every row: the third of online categories with the lowest E1 share, the
      counterpart of "manual-intensive" jobs (Demirci et al.), "unaffected" skill clusters
      (Teutloff et al.) and less-affected occupations (Hui et al.). On-location work is left out:
      every study is of an online platform.

    **Estimation**: weeks are summed into calendar months (each week counts in the month of its
    Monday), as the papers used months; the months from the panel's start to ``horizon_months``
    after the event are kept. Every figure is a fixed-effects Poisson DiD
    (:func:`gigshift.impact.estimate` with ``model="poisson"``, unit and month fixed effects,
    standard errors clustered by unit), whose coefficient is a log ratio: unbiased for
    proportional effects on counts and on earnings with zeros, where OLS on ``log(1 + y)`` is
    biased toward zero at small counts (see ``benchmarks/validate_impact.py``).

    - Hui et al.: the cohort of workers active in the panel's first week, each in every month
      (zero jobs and earnings once a worker has left, as a freelancer who left earns nothing;
      entrants are left out, since their category could respond to the event), grouped by their
      primary category in that week. Their jobs and earnings are summed per start category and
      month: a fixed-effects Poisson DiD on these sums has exactly the coefficient of one on the
      worker x month panel with worker fixed effects (the treatment varies by start category
      only), and clustering by start category counts the demand shocks a category's workers share,
      which clustering by worker would miss (its intervals are too narrow). ``n_units`` counts the
      start categories; ``method`` the workers.
    - Demirci et al., Teutloff et al.: unit = category; outcome = tasks posted (postings).

    **Intervals**: 95% (``confidence``) intervals from standard errors clustered by unit, except
    for the machine-learning figure: with one treated category a clustered standard error rests on
    a single cluster and is far too small, so its interval is a placebo interval (Conley & Taber
    2011): the DiD is re-estimated with each comparison category in turn as the treated one, and
    the quantiles of those null estimates (sampling noise and pre-existing class trends alike) are
    subtracted from the estimate. ``pre_trend_max_abs_t`` is null there.

    **Replicates**: when the tables carry a ``replicate`` column, the replicates are pooled into
    one regression whose units are replicate x worker (or x category). Replicates share the
    scenario's calendar (the Online Labour Index trends, AI capability and adoption curves) and
    have no replicate-wide random shock, so month effects are common to them; pooling gives one
    estimate whose clustered interval counts every replicate's units (a placebo category is
    treated in every replicate at once).

    **Time**: under 1 s for 5,000 workers x 104 weeks (five Poisson DiDs with event studies and
    15 small placebo fits), plus 2-3 s on a process's first call while pyfixest compiles.

    Examples
    --------
    >>> from gigshift.simulate import run
    >>> sim = run("genai-2022", workers=1500, seed=1)  # doctest: +SKIP
    >>> compare_with_published(sim.categories, sim.panel).select("measure", "published", "simulated")  # doctest: +SKIP
    """
    check_option("lens", lens, Lens, caller="compare_with_published")
    horizon_months = check_positive_int("horizon_months", horizon_months, caller="compare_with_published")
    if not 0 < confidence < 1:
        raise GigshiftError(f"compare_with_published: confidence must be between 0 and 1; got {confidence!r}")
    event_day = _event_date(event)
    cats = as_polars(result_categories, name="result_categories")
    panel = as_polars(result_panel, name="result_panel")
    require_columns(cats, {"category": "category", "date": "date", "postings": "posted"}, source="result_categories")
    require_columns(
        panel,
        {"worker": "worker_id", "date": "date", "category": "category", "jobs": "jobs", "earnings": "earnings_usd"},
        source="result_panel",
    )
    groups = _groups(lens=lens)
    first_post = _month_start_on_or_after(event_day)
    last_month = _add_months(first_post, horizon_months - 1)

    cat_panel = _category_months(cats, last_month)
    tables = {"categories": cat_panel, "panel": _cohort_months(panel, last_month, groups)}
    rows = []
    with warnings.catch_warnings():
        # fepois drops units with no job or posting in any month (separation): expected in small markets
        warnings.filterwarnings("ignore", message=".*separation.*")
        for fig in _FIGURES:
            rows.append(_one_figure(fig, tables[fig.table], groups, first_post, confidence))
    return pl.DataFrame(rows, schema=_RESULT_SCHEMA)


def _one_figure(
    fig: _Figure, data: pl.DataFrame, groups: dict[str, list[str]], first_post: date, confidence: float
) -> dict[str, object]:
    from gigshift.impact._estimate import estimate

    treated, comparison = groups[fig.treated], groups["least_exposed"]
    key = "category"  # posting category, or the start category of a cohort of workers
    source = "result_panel" if fig.table == "panel" else "result_categories"

    def did(frame: pl.DataFrame, treated_slugs: list[str]) -> tuple[float, list[float], object]:
        frame = frame.with_columns(treated=pl.col(key).is_in(treated_slugs).cast(pl.Int64))
        result = estimate(
            frame,
            unit="unit",
            time="month",
            outcome=fig.outcome,
            treated="treated",
            event=first_post,
            model="poisson",
            confidence=confidence,
            source=source,
        )
        return result.did["estimate"], result.did["ci"], result  # type: ignore[return-value]

    data = data.filter(pl.col(key).is_in(treated + comparison))
    _check_span(data, first_post, source)
    row = {
        "study": fig.study,
        "measure": fig.measure,
        "published": fig.estimate,
        "published_lo": fig.range_lo,
        "published_hi": fig.range_hi,
        "horizon_months": data.filter(pl.col("month") >= first_post).get_column("month").n_unique(),
        "n_units": data.get_column("unit").n_unique(),
        "n_treated": data.filter(pl.col(key).is_in(treated)).get_column("unit").n_unique(),
    }
    observed = _observed_before_and_after(data, fig.outcome, first_post)
    if not set(treated) & observed or not set(comparison) & observed:
        # too small a market: a group with no job or posting before or after the event
        return {
            **row,
            "method": f"not estimable: no {fig.outcome} in the treated or comparison group before or "
            "after the event; simulate more workers",
        }
    b, (lo, hi), result = did(data, treated)
    pre_t = result.pre_trend_max_abs_t()  # type: ignore[attr-defined]
    n_rep = data.get_column("replicate").n_unique()
    unit_word = "start-category cohort" if fig.table == "panel" else "category"
    inference = f"SE clustered by {unit_word}"
    if len(treated) == 1:
        # One treated category: a clustered SE rests on one cluster and is far too small. Placebo
        # inference instead (Conley & Taber 2011): each comparison category in turn plays the treated
        # one; the spread of those null estimates, noise and pre-existing trends alike, sets the interval.
        usable = [c for c in comparison if c in observed]
        placebos = _placebo_dids(data.filter(pl.col(key).is_in(comparison)), usable, fig.outcome, first_post)
        alpha = 1 - confidence
        if placebos.size >= _MIN_PLACEBOS:
            lo, hi = b - np.quantile(placebos, 1 - alpha / 2), b - np.quantile(placebos, alpha / 2)
        else:
            lo = hi = float("nan")
        pre_t = None
        inference = f"placebo interval from {placebos.size} comparison categories (one treated category)"
    if fig.table == "panel":
        n_workers = data.group_by("unit").agg(pl.col("n_workers").first()).get_column("n_workers").sum()
        who = (
            f"{n_workers:,} workers active in the first week, {len(treated)} writing vs {len(comparison)} "
            "least-exposed online start categories (their jobs and earnings summed per start category)"
        )
    else:
        who = f"{len(treated)} {fig.treated.replace('_', '-')} vs {len(comparison)} least-exposed online categories"
    simulated = float(np.expm1(b))
    ci_lo, ci_hi = (float(np.expm1(lo)), float(np.expm1(hi))) if np.isfinite(lo) else (None, None)
    in_range = None if fig.range_lo is None or fig.range_hi is None else fig.range_lo <= simulated <= fig.range_hi
    return {
        **row,
        "simulated": simulated,
        "ci_lo": ci_lo,
        "ci_hi": ci_hi,
        "published_in_ci": None if ci_lo is None else ci_lo <= fig.estimate <= ci_hi,  # type: ignore[operator]
        "simulated_in_range": in_range,
        "pre_trend_max_abs_t": pre_t,
        "method": (
            f"Poisson DiD, {unit_word} x month ({fig.outcome}), {who}; {row['horizon_months']} post months; "
            f"{n_rep} replicate(s) pooled; {inference}"
        ),
    }


_MIN_PLACEBOS = 5  # fewer comparison categories with postings on both sides give no placebo interval


def _observed_before_and_after(data: pl.DataFrame, outcome: str, first_post: date) -> set[str]:
    """Categories with a positive total ``outcome`` both before and after the event (replicates pooled)."""
    totals = data.group_by("category").agg(
        pre=pl.col(outcome).filter(pl.col("month") < first_post).sum(),
        post=pl.col(outcome).filter(pl.col("month") >= first_post).sum(),
    )
    return set(totals.filter((pl.col("pre") > 0) & (pl.col("post") > 0)).get_column("category").to_list())


def _placebo_dids(frame: pl.DataFrame, slugs: list[str], outcome: str, first_post: date) -> np.ndarray:
    """The Poisson DiD coefficient with each category of ``frame`` in turn as the treated one.

    The specification of :func:`gigshift.impact.estimate`'s DiD (``y ~ d x post | unit + period``,
    pyfixest ``fepois``), fitted directly: only the coefficient is needed, not the event study or
    standard errors, which halves the time of these 15 fits.
    """
    import pyfixest as pf

    pdf = frame.select(
        "unit",
        "category",
        period=pl.col("month").rank("dense"),
        y=pl.col(outcome).cast(pl.Float64),
        post=(pl.col("month") >= first_post).cast(pl.Float64),
    ).to_pandas()
    out = []
    for slug in slugs:
        pdf["dpost"] = (pdf["category"] == slug).astype(float) * pdf["post"]
        try:
            fit = pf.fepois("y ~ dpost | unit + period", data=pdf, vcov="iid")
        except ValueError:  # the placebo's postings separate out (too small a market): no estimate
            continue
        out.append(float(fit.coef()["dpost"]))
    return np.array(out)


def _event_date(event: object) -> date:
    if isinstance(event, date):
        return event
    if isinstance(event, str):
        try:
            return date.fromisoformat(event)
        except ValueError:
            pass
    raise GigshiftError(f"compare_with_published: event must be a date YYYY-MM-DD; got {event!r}")


def _month_start_on_or_after(day: date) -> date:
    return day if day.day == 1 else _add_months(day.replace(day=1), 1)


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _with_replicate(frame: pl.DataFrame) -> pl.DataFrame:
    if "replicate" in frame.columns:
        return frame.with_columns(pl.col("replicate").cast(pl.Int64))
    return frame.with_columns(replicate=pl.lit(0, dtype=pl.Int64))


def _month(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    dtype = frame.schema["date"]
    if dtype != pl.Date and not isinstance(dtype, pl.Datetime):
        raise GigshiftError(f"{source}: column 'date' must hold dates, got {dtype}")
    return frame.with_columns(month=pl.col("date").dt.truncate("1mo").cast(pl.Date))


def _category_months(cats: pl.DataFrame, last_month: date) -> pl.DataFrame:
    """Postings per replicate x category x month."""
    frame = _month(_with_replicate(cats), "result_categories")
    return (
        frame.filter(pl.col("month") <= last_month)
        .group_by("replicate", category=pl.col("category").cast(pl.String), month="month")
        .agg(pl.col("posted").sum())
        .with_columns(unit=pl.format("{}:{}", "replicate", "category"))
        .sort("replicate", "category", "month")
    )


def _cohort_months(panel: pl.DataFrame, last_month: date, groups: dict[str, list[str]]) -> pl.DataFrame:
    """Jobs and earnings of the start cohort summed per replicate x start category x month.

    A fixed-effects Poisson DiD on these sums gives the same coefficient as one on the worker x
    month panel with worker fixed effects (the treatment varies by start category only), and
    clustering by start category lets the common demand shocks of a category's workers count.
    """
    return (
        _worker_months(panel, last_month, groups)
        .group_by("replicate", category="group", month="month")
        .agg(pl.col("jobs", "earnings_usd").sum(), n_workers=pl.len())
        .with_columns(unit=pl.format("{}:{}", "replicate", "category"))
        .sort("replicate", "category", "month")
    )


def _worker_months(panel: pl.DataFrame, last_month: date, groups: dict[str, list[str]]) -> pl.DataFrame:
    """Jobs and earnings per worker x month for the start cohort, zeros once a worker has left."""
    frame = _month(_with_replicate(panel), "result_panel").filter(pl.col("month") <= last_month)
    frame = frame.with_columns(worker=pl.col("worker_id").cast(pl.String))
    first = frame.group_by("replicate").agg(start=pl.col("date").min())
    cohort = (
        frame.join(first, on="replicate")
        .filter(pl.col("date") == pl.col("start"))
        .select("replicate", "worker", group=pl.col("category").cast(pl.String))
        .filter(pl.col("group").is_in(groups["writing"] + groups["least_exposed"]))
        .unique(["replicate", "worker"], keep="first")
    )
    months = frame.select(pl.col("month").unique())
    totals = frame.group_by("replicate", "worker", "month").agg(pl.col("jobs", "earnings_usd").sum())
    return (
        cohort.join(months, how="cross")
        .join(totals, on=["replicate", "worker", "month"], how="left")
        .with_columns(
            pl.col("jobs").fill_null(0).cast(pl.Float64),
            pl.col("earnings_usd").fill_null(0.0).cast(pl.Float64),
            unit=pl.format("{}:{}", "replicate", "worker"),
        )
        .sort("replicate", "worker", "month")
    )


def _check_span(data: pl.DataFrame, first_post: date, source: str) -> None:
    months = data.get_column("month")
    if data.height == 0 or months.min() >= first_post or months.max() < first_post:  # type: ignore[operator]
        span = "no rows" if data.height == 0 else f"{months.min()} to {months.max()}"
        raise GigshiftError(
            f"{source}: the tables must cover months before and after the event (first post-event month "
            f"{first_post}); they cover {span}"
        )
