"""Difference-in-differences and event studies on a panel, with pyfixest; exposure from the atlas.

The panel has one row per unit (a worker, an occupation, a category) and period. Treatment is a
0/1 group or a continuous exposure, fixed per unit; the event is a date. The DiD regresses the
outcome on ``treatment x post`` with unit and period fixed effects; the event study replaces
``post`` with one indicator per period relative to the event (the period before is the
reference, -1). Standard errors are clustered by unit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError, InputError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars, finite, require_columns


@dataclass(frozen=True)
class ImpactResult:
    """A DiD estimate and an event study.

    Attributes
    ----------
    did : dict
        ``estimate, se, ci [lo, hi], n_obs, n_units, p_value``: the average effect after the event
        (per unit of exposure, when treatment is continuous).
    event_study : polars.DataFrame
        ``rel_period, estimate, se, ci_lo, ci_hi``; period -1 is the reference (0 by construction).
    """

    did: dict[str, object]
    event_study: pl.DataFrame
    outcome: str
    log_outcome: bool
    treatment: str
    event: str
    n_periods_pre: int
    n_periods_post: int
    provenance: Provenance

    def tidy(self) -> pl.DataFrame:
        return self.event_study

    def pre_trend_max_abs_t(self) -> float | None:
        """Largest |estimate / se| among the pre-event periods (a quick check of parallel trends)."""
        pre = self.event_study.filter((pl.col("rel_period") < -1) & pl.col("se").is_not_null() & (pl.col("se") > 0))
        if pre.height == 0:
            return None
        return float((pre["estimate"] / pre["se"]).abs().max())

    def to_dict(self) -> dict[str, object]:
        rows = [
            {
                "rel_period": r["rel_period"],
                "estimate": r["estimate"],
                "se": r["se"],
                "ci": [r["ci_lo"], r["ci_hi"]],
            }
            for r in self.event_study.iter_rows(named=True)
        ]
        return {
            "did": self.did,
            "event_study": rows,
            "outcome": self.outcome,
            "log_outcome": self.log_outcome,
            "treatment": self.treatment,
            "event": self.event,
            "pre_trend_max_abs_t": self.pre_trend_max_abs_t(),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(finite(self.to_dict()), allow_nan=False, default=str)

    def to_markdown(self) -> str:
        d = self.did
        unit = " (log points)" if self.log_outcome else ""
        lines = [
            f"DiD effect of {self.treatment} on {self.outcome}{unit} after {self.event}: "
            f"{d['estimate']:+.4f} (se {d['se']:.4f}, 95% CI {d['ci'][0]:+.4f} to {d['ci'][1]:+.4f}; "
            f"{d['n_obs']:,} observations, {d['n_units']:,} units, SE clustered by unit)",
            "",
            "| period relative to event | estimate | se | 95% CI |",
            "| ---: | ---: | ---: | --- |",
        ]
        for r in self.event_study.iter_rows(named=True):
            ci = "reference" if r["se"] is None else f"{r['ci_lo']:+.4f} to {r['ci_hi']:+.4f}"
            se = "" if r["se"] is None else f"{r['se']:.4f}"
            lines.append(f"| {r['rel_period']} | {r['estimate']:+.4f} | {se} | {ci} |")
        return "\n".join(lines) + "\n"


def check_panel(
    panel: object, *, unit: str, time: str, outcome: str, treated: str | None, exposure: str | None, source: str
) -> pl.DataFrame:
    """Validate a panel; return unit, time, y, d (treatment) with clear errors for what is wrong."""
    frame = as_polars(panel, name=source)
    if (treated is None) == (exposure is None):
        raise GigshiftError("estimate: give exactly one of treated= (a 0/1 group) or exposure= (a number per unit)")
    require_columns(
        frame,
        {"unit": unit, "time": time, "outcome": outcome, "treated": treated, "exposure": exposure},
        source=source,
    )
    treatment = treated or exposure
    data = frame.select(
        pl.col(unit).alias("unit"),
        pl.col(time).alias("time"),
        pl.col(outcome).alias("y"),
        pl.col(treatment).alias("d"),
    ).with_row_index("row", offset=1)
    data, failures = _value_failures(
        data,
        labels={"unit": unit, "time": time, "y": outcome, "d": treatment},
        numeric={"y": outcome, "d": treatment},
        source=source,
    )
    if treated is not None:
        bad = data.filter(~pl.col("d").is_in([0.0, 1.0]))
        if bad.height:
            failures.append(
                bad.select("row", column=pl.lit(treated), expected=pl.lit("0 or 1"), got=pl.col("d").cast(pl.String))
            )
    failures.extend(_duplicate_failures(data, unit=unit, time=time))
    _raise_failures(failures, source=source)
    varying = data.group_by("unit").agg(pl.col("d").n_unique()).filter(pl.col("d") > 1)
    if varying.height:
        raise GigshiftError(
            f"{source}: {treatment!r} changes within unit {varying.item(0, 'unit')!r}; treatment and exposure "
            "are fixed per unit (the event date sets when they start to matter)"
        )
    if data.get_column("time").n_unique() < 2:
        raise GigshiftError(f"{source}: the panel has a single period; a difference in differences needs at least two")
    if data.get_column("d").n_unique() < 2:
        raise GigshiftError(f"{source}: every unit has the same {treatment!r}; there is no comparison group")
    return data.drop("row")


def estimate(
    panel: object,
    *,
    unit: str,
    time: str,
    outcome: str,
    event: date | datetime | int | str,
    treated: str | None = None,
    exposure: str | None = None,
    log_outcome: bool = False,
    window: tuple[int, int] | None = None,
    confidence: float = 0.95,
    model: str = "ols",
    source: str = "panel",
) -> ImpactResult:
    """Two-way fixed-effects DiD and event study of ``outcome`` around ``event``.

    Parameters
    ----------
    panel : DataFrame
        One row per unit and period.
    unit, time, outcome : str
        Column names. ``time`` may be dates or integers; periods are its sorted distinct values.
    event : date, datetime, int or str
        When treatment starts to matter: the first period at or after it is period 0.
    treated, exposure : str
        Exactly one: a 0/1 column (treated group) or a numeric column (continuous exposure, e.g. an
        atlas beta, see :func:`attach_exposure`), fixed per unit.
    log_outcome : bool, default=False
        Use ``log(1 + outcome)``: effects read as approximate proportional changes and zeros stay.
    window : (int, int), optional
        Event-study periods shown, e.g. ``(-6, 8)``; periods outside are pooled into the end bins.
    confidence : float, default=0.95
    model : {"ols", "poisson"}, default="ols"
        ``"poisson"`` fits a fixed-effects Poisson regression (pyfixest ``fepois``) for counts such as
        jobs or postings: coefficients are log ratios (exp(b) - 1 is the proportional change) and
        zeros need no ``log(1 + y)``, which biases proportional effects when counts are small.

    Returns
    -------
    ImpactResult

    Notes
    -----
    Estimated with pyfixest's ``feols`` (``y ~ d x post | unit + period``), standard errors
    clustered by unit (CRV1). With one event date for all treated units this TWFE estimator is
    unbiased under parallel trends; staggered events need a heterogeneity-robust estimator, see
    :func:`gigshift.impact.estimate_staggered`.
    """
    import pyfixest as pf

    if model not in ("ols", "poisson"):
        raise GigshiftError(f"estimate: model must be 'ols' or 'poisson'; got {model!r}")
    if model == "poisson" and log_outcome:
        raise GigshiftError("estimate: model='poisson' already estimates proportional effects; drop log_outcome")
    fit = pf.feols if model == "ols" else pf.fepois
    data = check_panel(panel, unit=unit, time=time, outcome=outcome, treated=treated, exposure=exposure, source=source)
    if model == "poisson" and (data.get_column("y") < 0).any():
        raise GigshiftError(f"{source}: model='poisson' needs {outcome!r} >= 0 (counts)")
    if log_outcome:
        data = _log1p_outcome(data, outcome=outcome, source=source)
    periods = data.get_column("time").unique().sort()
    event_value = _event_value(event, periods, source)
    period_index = {v: i for i, v in enumerate(periods.to_list())}
    event_idx = int(np.searchsorted(periods.to_numpy(), np.array(event_value, dtype=periods.to_numpy().dtype)))
    if event_idx == 0 or event_idx >= periods.len():
        raise GigshiftError(
            f"{source}: event {event!r} must fall after the first period and on or before the last "
            f"({periods[0]} to {periods[-1]})"
        )
    data = data.with_columns(
        period=pl.col("time").replace_strict(period_index, return_dtype=pl.Int64),
    ).with_columns(rel=pl.col("period") - event_idx)
    lo, hi = window if window is not None else (-event_idx, periods.len() - 1 - event_idx)
    lo, hi = max(lo, -event_idx), min(hi, periods.len() - 1 - event_idx)
    data = data.with_columns(rel_binned=pl.col("rel").clip(lo, hi), post=(pl.col("rel") >= 0).cast(pl.Float64))
    data = data.with_columns(dpost=pl.col("d") * pl.col("post"))
    names = _rel_names(lo, hi)
    data = data.with_columns(
        *[(pl.col("d") * (pl.col("rel_binned") == r).cast(pl.Float64)).alias(names[r]) for r in names]
    )
    pdf = data.select("unit", "period", "y", "dpost", *names.values()).to_pandas()
    alpha = 1 - confidence
    did_fit = fit("y ~ dpost | unit + period", data=pdf, vcov={"CRV1": "unit"})
    did = _did_summary(did_fit, coef="dpost", alpha=alpha, n_units=data.get_column("unit").n_unique())
    es_fit = fit(f"y ~ {' + '.join(names.values())} | unit + period", data=pdf, vcov={"CRV1": "unit"})
    event_study = _event_study_table(es_fit, names=names, lo=lo, hi=hi, alpha=alpha)
    provenance = Provenance(
        sources=(),
        method=(
            f"TWFE DiD and event study ({'OLS' if model == 'ols' else 'Poisson'}), unit and period fixed effects, "
            f"SE clustered by unit (pyfixest {'feols' if model == 'ols' else 'fepois'}, CRV1)"
        ),
        gigshift_version=gigshift.__version__,
    )
    return ImpactResult(
        did=did,
        event_study=event_study,
        outcome=outcome,
        log_outcome=log_outcome,
        treatment=(treated or exposure),  # type: ignore[arg-type]
        event=str(event_value),
        n_periods_pre=event_idx,
        n_periods_post=periods.len() - event_idx,
        provenance=provenance,
    )


def _value_failures(
    data: pl.DataFrame, *, labels: dict[str, str], numeric: dict[str, str], source: str
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Nulls in the ``labels`` columns, non-numeric ``numeric`` columns (raised at once) and a non-finite ``y``.

    ``data`` has a 1-based ``row`` column; ``labels`` and ``numeric`` map its columns to the user's names.
    Returns ``data`` with the ``numeric`` columns cast to Float64, and the failures found (one table each).
    """
    failures = []
    for col, name in labels.items():
        nulls = data.filter(pl.col(col).is_null())
        if nulls.height:
            failures.append(nulls.select("row", column=pl.lit(name), expected=pl.lit("a value"), got=pl.lit("null")))
    for col, name in numeric.items():
        if not data.schema[col].is_numeric() and data.schema[col] != pl.Boolean:
            raise InputError.single(source=source, column=name, expected="numbers", got=str(data.schema[col]))
    data = data.with_columns(pl.col(col).cast(pl.Float64) for col in numeric)
    bad = data.filter(pl.col("y").is_nan() | pl.col("y").is_infinite())
    if bad.height:
        failures.append(
            bad.select(
                "row", column=pl.lit(labels["y"]), expected=pl.lit("a finite number"), got=pl.col("y").cast(pl.String)
            )
        )
    return data, failures


def _duplicate_failures(data: pl.DataFrame, *, unit: str, time: str) -> list[pl.DataFrame]:
    """Rows repeating an earlier (unit, time) pair, as a failure table (or none)."""
    dup = data.filter(~pl.struct("unit", "time").is_first_distinct())
    if not dup.height:
        return []
    return [
        dup.select(
            "row",
            column=pl.lit(f"{unit}, {time}"),
            expected=pl.lit("one row per unit and period"),
            got=pl.format("repeats ({}, {})", pl.col("unit").cast(pl.String), pl.col("time").cast(pl.String)),
        )
    ]


def _raise_failures(failures: list[pl.DataFrame], *, source: str) -> None:
    """Raise one InputError holding every failure, sorted by row, if there are any."""
    if failures:
        raise InputError(
            pl.concat([f.with_columns(pl.col("got").cast(pl.String)) for f in failures]).sort("row"), source=source
        )


def _log1p_outcome(data: pl.DataFrame, *, outcome: str, source: str) -> pl.DataFrame:
    if (data.get_column("y") < 0).any():
        raise GigshiftError(f"{source}: log_outcome needs {outcome!r} >= 0 (log(1 + y) is used)")
    return data.with_columns(pl.col("y").log1p())


def _rel_names(lo: int, hi: int) -> dict[int, str]:
    """Regressor names of the event-study periods ``lo..hi`` except the reference, -1."""
    return {r: (f"rel_m{-r}" if r < 0 else f"rel_p{r}") for r in range(lo, hi + 1) if r != -1}


def _did_summary(fit: object, *, coef: str, alpha: float, n_units: int) -> dict[str, object]:
    """The ``did`` dict of an ImpactResult from a fitted pyfixest model and its coefficient."""
    tidy = fit.tidy(alpha=alpha).loc[coef]  # type: ignore[attr-defined]
    return {
        "estimate": float(tidy["Estimate"]),
        "se": float(tidy["Std. Error"]),
        "ci": [float(tidy.iloc[4]), float(tidy.iloc[5])],
        "p_value": float(tidy["Pr(>|t|)"]),
        "n_obs": int(fit._N),  # type: ignore[attr-defined]
        "n_units": int(n_units),
    }


_EVENT_STUDY_SCHEMA = {
    "rel_period": pl.Int64,
    "estimate": pl.Float64,
    "se": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
}


def _event_study_table(fit: object, *, names: dict[int, str], lo: int, hi: int, alpha: float) -> pl.DataFrame:
    """``rel_period, estimate, se, ci_lo, ci_hi`` for periods ``lo..hi``; -1 is the reference (0, no se)."""
    tidy = fit.tidy(alpha=alpha)  # type: ignore[attr-defined]
    rows = []
    for r in range(lo, hi + 1):  # one row per event-study period, not per observation
        if r == -1:
            rows.append((r, 0.0, None, None, None))
            continue
        name = names[r]
        if name not in tidy.index:  # collinear, dropped by the estimator
            rows.append((r, None, None, None, None))
            continue
        row = tidy.loc[name]
        rows.append((r, float(row["Estimate"]), float(row["Std. Error"]), float(row.iloc[4]), float(row.iloc[5])))
    return pl.DataFrame(rows, schema=_EVENT_STUDY_SCHEMA, orient="row")


def _event_value(event: object, periods: pl.Series, source: str) -> object:
    dtype = periods.dtype
    if dtype == pl.Date:
        if isinstance(event, datetime):
            return event.date()
        if isinstance(event, date):
            return event
        if isinstance(event, str):
            try:
                return date.fromisoformat(event)
            except ValueError:
                raise GigshiftError(f"{source}: event {event!r} is not a date YYYY-MM-DD") from None
    elif dtype.is_integer():
        try:
            return int(event)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise GigshiftError(f"{source}: the time column holds integers; event must be one, got {event!r}") from None
    elif isinstance(dtype, pl.Datetime):
        if isinstance(event, str):
            event = datetime.fromisoformat(event)
        return event
    raise GigshiftError(f"{source}: the time column must hold dates or integers, got {dtype}")


def attach_exposure(
    panel: object, *, column: str, lens: str = "human", measure: str = "beta", name: str = "exposure"
) -> pl.DataFrame:
    """Add the atlas's AI exposure of each row's gig category or O*NET-SOC occupation.

    ``column`` holds category slugs (e.g. ``translation``) or O*NET-SOC codes (``27-3091.00``);
    ``measure`` is ``alpha``, ``beta`` or ``gamma`` and ``lens`` ``gpt4`` or ``human`` (Eloundou et
    al. 2024). Unknown codes are an error naming them.
    """
    from gigshift.taxonomy import categories, occupations

    frame = as_polars(panel, name="panel")
    require_columns(frame, {"exposure key": column}, source="panel")
    if lens not in ("gpt4", "human") or measure not in ("alpha", "beta", "gamma"):
        raise GigshiftError("attach_exposure: lens must be gpt4 or human, measure alpha, beta or gamma")
    col = f"{lens}_{measure}"
    cats = categories().select(key=pl.col("slug"), value=pl.col(col))
    occs = occupations().select(key=pl.col("soc_code"), value=pl.col(col))
    table = pl.concat([cats, occs])
    keys = frame.get_column(column).cast(pl.String)
    joined = pl.DataFrame({"key": keys}).join(table, on="key", how="left", maintain_order="left")
    missing = joined.filter(pl.col("value").is_null() & pl.col("key").is_not_null()).get_column("key").unique()
    if missing.len():
        raise GigshiftError(
            f"attach_exposure: {missing.len()} value(s) of {column!r} are neither a gig category nor an occupation "
            f"with published exposure, e.g. {missing.sort().head(3).to_list()}"
        )
    return frame.with_columns(joined.get_column("value").alias(name))
