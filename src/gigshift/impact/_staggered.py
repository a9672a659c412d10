"""Staggered events: each unit treated from its own period (its cohort), estimated with pyfixest's did2s.

With staggered adoption (text models first, image models later) and effects that differ by cohort
or grow with time since treatment, the two-way fixed-effects DiD compares later-treated units with
already-treated ones and is biased, possibly in sign. Gardner's two-stage estimator (pyfixest
``did2s``) fits unit and period fixed effects on untreated observations only (never-treated and
not-yet-treated), removes them from every observation, and regresses what is left on treatment:
the average effect on the treated observations, robust to such heterogeneity.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

import gigshift
from gigshift._errors import GigshiftError, InputError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars, check_option, require_columns
from gigshift.impact._estimate import (
    ImpactResult,
    _did_summary,
    _duplicate_failures,
    _event_study_table,
    _log1p_outcome,
    _raise_failures,
    _rel_names,
    _value_failures,
)

Estimator = Literal["did2s", "twfe"]

# pyfixest's did2s variance builds dense rows x (units + periods) matrices, a few copies at a time
_MAX_DID2S_CELLS = 100_000_000


def _check_staggered_panel(
    panel: object, *, unit: str, time: str, outcome: str, cohort: str, source: str
) -> pl.DataFrame:
    """Validate a staggered panel; return unit, time, y and g (the unit's first treated period, null if never)."""
    frame = as_polars(panel, name=source)
    require_columns(frame, {"unit": unit, "time": time, "outcome": outcome, "cohort": cohort}, source=source)
    data = frame.select(
        pl.col(unit).alias("unit"),
        pl.col(time).alias("time"),
        pl.col(outcome).alias("y"),
        pl.col(cohort).alias("g"),
    ).with_row_index("row", offset=1)
    data, failures = _value_failures(
        data, labels={"unit": unit, "time": time, "y": outcome}, numeric={"y": outcome}, source=source
    )
    failures.extend(_duplicate_failures(data, unit=unit, time=time))
    _raise_failures(failures, source=source)
    tdt, gdt = data.schema["time"], data.schema["g"]
    if not (tdt.is_integer() or tdt == pl.Date or isinstance(tdt, pl.Datetime)):
        raise InputError.single(source=source, column=time, expected="dates or integers", got=str(tdt))
    if data.get_column("g").null_count() == data.height:  # no unit ever treated (caught below), any dtype
        data = data.with_columns(pl.col("g").cast(tdt))
    elif tdt.is_integer() and gdt.is_numeric():
        bad = data.filter(pl.col("g").is_not_null() & (pl.col("g") != pl.col("g").round(0)))
        if bad.height:
            raise InputError(
                bad.select(
                    "row",
                    column=pl.lit(cohort),
                    expected=pl.lit(f"a period of {time!r} (an integer) or null"),
                    got=pl.col("g").cast(pl.String),
                ),
                source=source,
            )
        data = data.with_columns(pl.col("g").cast(pl.Int64))
    elif gdt != tdt:
        raise InputError.single(
            source=source,
            column=cohort,
            expected=f"the first treated period, of the same type as {time!r} ({tdt}), or null if never treated",
            got=str(gdt),
        )
    varying = (
        data.group_by("unit")
        .agg(pl.col("g").n_unique().alias("n"), pl.col("g").unique().sort().alias("values"))
        .filter(pl.col("n") > 1)
        .sort("unit")
    )
    if varying.height:
        first = varying.row(0, named=True)
        raise GigshiftError(
            f"{source}: {cohort!r} changes within unit {first['unit']!r} ({', '.join(map(str, first['values']))}); "
            f"it must hold the unit's first treated period on every row, or be null on every row of a never-treated "
            f"unit" + (f" (+{varying.height - 1} more units)" if varying.height > 1 else "")
        )
    if data.get_column("time").n_unique() < 2:
        raise GigshiftError(f"{source}: the panel has a single period; a difference in differences needs at least two")
    return data.drop("row")


def estimate_staggered(
    panel: object,
    *,
    unit: str,
    time: str,
    outcome: str,
    cohort: str,
    log_outcome: bool = False,
    window: tuple[int, int] | None = None,
    confidence: float = 0.95,
    estimator: Estimator = "did2s",
    source: str = "panel",
) -> ImpactResult:
    """Heterogeneity-robust DiD and event study when units are treated at different dates.

    Parameters
    ----------
    panel : DataFrame
        One row per unit and period (Polars, pandas or Arrow).
    unit, time, outcome : str
        Column names. ``time`` holds dates or integers; periods are its sorted distinct values.
    cohort : str
        Column holding each unit's first treated period (same type as ``time``), the same on every
        row of the unit, null for never-treated units. A date between two periods starts at the next
        period; a date after the last period counts as never treated within the panel.
    log_outcome : bool, default=False
        Use ``log(1 + outcome)``.
    window : (int, int), optional
        Event-study periods shown, relative to each unit's cohort, e.g. ``(-6, 8)``; periods outside
        are pooled into the end bins. Needs ``lo <= -1`` and ``hi >= 0``.
    confidence : float, default=0.95
    estimator : {"did2s", "twfe"}, default="did2s"
        ``"did2s"``: Gardner's two-stage estimator (pyfixest ``did2s``), robust to effects that differ
        by cohort or with time since treatment. ``"twfe"``: the plain staggered two-way fixed-effects
        DiD and event study (pyfixest ``feols``), biased under such heterogeneity; kept for comparison.

    Returns
    -------
    ImpactResult
        ``did`` is the average effect over treated unit-periods (each weighted equally);
        ``event_study`` has one row per period relative to the unit's cohort (-1 is the reference).
        ``treatment`` is the cohort column and ``event`` describes the cohorts.

    Notes
    -----
    Comparisons are never-treated units and not-yet-treated periods of later cohorts. Units treated
    from the first period on have no untreated period and are an error; final periods in which every
    unit is treated have no comparison and are dropped (the provenance says how many). Standard
    errors are clustered by unit (did2s: the GMM variance that accounts for the first stage).
    """
    import pyfixest as pf

    check_option("estimator", estimator, Estimator, caller="estimate_staggered")
    if window is not None and not (window[0] <= -1 and window[1] >= 0):
        raise GigshiftError(f"estimate_staggered: window must include periods -1 and 0, e.g. (-6, 8); got {window}")
    data = _check_staggered_panel(panel, unit=unit, time=time, outcome=outcome, cohort=cohort, source=source)
    if log_outcome:
        data = _log1p_outcome(data, outcome=outcome, source=source)

    # periods 0..T-1, and each unit's cohort as the index of its first period at or after the cohort value
    periods = data.get_column("time").unique().sort()
    units = (
        data.group_by("unit")
        .agg(pl.col("g").first())
        .sort("unit")
        .with_columns(unit_id=pl.int_range(pl.len(), dtype=pl.Int64))
    )
    g_idx = periods.search_sorted(units.get_column("g").fill_null(periods[-1]), side="left").cast(pl.Int64)
    units = units.with_columns(
        g_idx=pl.when(pl.col("g").is_not_null() & (g_idx < periods.len())).then(g_idx).otherwise(None)
    )
    always = units.filter(pl.col("g_idx") == 0)
    if always.height:
        raise GigshiftError(
            f"{source}: unit {always.item(0, 'unit')!r} is treated from the first period on ({cohort!r} = "
            f"{always.item(0, 'g')}, first period {periods[0]}); every unit needs an untreated period, so drop "
            f"always-treated units" + (f" (+{always.height - 1} more)" if always.height > 1 else "")
        )
    period_table = pl.DataFrame({"time": periods, "period": pl.int_range(periods.len(), dtype=pl.Int64, eager=True)})
    data = (
        data.join(units.select("unit", "unit_id", "g_idx"), on="unit", how="left")
        .join(period_table, on="time", how="left")
        .with_columns(
            rel=pl.col("period") - pl.col("g_idx"),
            is_treated=pl.col("g_idx").is_not_null() & (pl.col("period") >= pl.col("g_idx")),
        )
    )
    if not data.get_column("is_treated").any():
        raise GigshiftError(
            f"{source}: no unit is treated within the panel ({cohort!r} is null or after the last period, "
            f"{periods[-1]}, for every unit)"
        )
    # periods in which every unit is treated have no comparison: their period effect is not identified
    covered = data.group_by("period").agg((~pl.col("is_treated")).any().alias("has_comparison"))
    dropped = covered.filter(~pl.col("has_comparison")).get_column("period").sort()
    if dropped.len():
        data = data.filter(~pl.col("period").is_in(dropped.implode()))
    if not data.get_column("is_treated").any():
        raise GigshiftError(
            f"{source}: no comparison group: every unit is treated from {periods[int(dropped[0])]} on and none is "
            f"never treated (null {cohort!r}) or treated later; add never-treated or later-treated units"
        )

    treated_rows = data.filter(pl.col("g_idx").is_not_null())
    rel_min, rel_max = int(treated_rows.get_column("rel").min()), int(treated_rows.get_column("rel").max())  # type: ignore[arg-type]
    lo, hi = window if window is not None else (rel_min, rel_max)
    lo, hi = max(lo, rel_min), min(hi, rel_max)
    names = _rel_names(lo, hi)
    data = data.with_columns(
        dpost=pl.col("is_treated").cast(pl.Float64),
        rel_binned=pl.col("rel").clip(lo, hi),
    ).with_columns(
        (pl.col("rel_binned") == r).fill_null(False).cast(pl.Float64).alias(name) for r, name in names.items()
    )
    pdf = data.select(
        pl.col("unit_id").alias("unit"), "period", "y", "is_treated", "dpost", *names.values()
    ).to_pandas()
    alpha = 1 - confidence
    n_units = units.height
    es_formula = " + ".join(names.values())
    if estimator == "did2s":
        cells = pdf.shape[0] * (n_units + periods.len())
        if cells > _MAX_DID2S_CELLS:
            raise GigshiftError(
                f"{source}: {pdf.shape[0]:,} rows x {n_units + periods.len():,} fixed effects is too large for "
                f"did2s's variance (pyfixest builds dense matrices of about {cells * 8 / 1e9:.1f} GB); "
                "aggregate units (e.g. to occupations or categories) or shorten the panel"
            )

        def fit(second_stage: str) -> object:
            return pf.did2s(
                pdf,
                yname="y",
                first_stage="~ 0 | unit + period",
                second_stage=f"~ {second_stage}",
                treatment="is_treated",
                cluster="unit",
            )

        method = (
            "Gardner two-stage DiD and event study (pyfixest did2s): unit and period fixed effects fitted on "
            "untreated observations (never- and not-yet-treated), effects from the residualised outcome; "
            "SE clustered by unit (GMM variance, CRV1)"
        )
    else:

        def fit(second_stage: str) -> object:
            return pf.feols(f"y ~ {second_stage} | unit + period", data=pdf, vcov={"CRV1": "unit"})

        method = (
            "staggered TWFE DiD and event study (pyfixest feols), unit and period fixed effects, SE clustered by "
            "unit (CRV1); biased when effects differ by cohort or with time since treatment, kept for comparison"
        )
    did = _did_summary(fit("dpost"), coef="dpost", alpha=alpha, n_units=n_units)
    event_study = _event_study_table(fit(es_formula), names=names, lo=lo, hi=hi, alpha=alpha)
    if dropped.len():
        method += (
            f"; {dropped.len()} final period(s) from {periods[int(dropped[0])]} dropped: every unit is treated "
            "there, so there is no comparison"
        )
    starts = treated_rows.get_column("g_idx").unique().sort()
    starts = starts.filter(~starts.is_in(dropped.implode()))
    first_start, last_start = periods[int(starts[0])], periods[int(starts[-1])]
    event = (
        f"staggered events (1 cohort, {first_start})"
        if starts.len() == 1
        else f"staggered events ({starts.len()} cohorts, {first_start} to {last_start})"
    )
    return ImpactResult(
        did=did,
        event_study=event_study,
        outcome=outcome,
        log_outcome=log_outcome,
        treatment=cohort,
        event=event,
        n_periods_pre=-rel_min,
        n_periods_post=rel_max + 1,
        provenance=Provenance(sources=(), method=method, gigshift_version=gigshift.__version__),
    )
