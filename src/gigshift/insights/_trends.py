"""Online labour trends from the Online Labour Index: levels, shares, STL trends, event changes and breaks.

The OLI counts new projects posted on the largest English-language online labour platforms, by
occupation class, as an index (100 = all classes in May 2016). Here each class gets

- its **share** of the whole market (level / total level) and an **STL trend** of its level;
- the **change around named events** (ChatGPT's release, 2022-11-30, by default): the difference of
  mean log level in the ``window`` months after the event month and the ``window`` months before it,
  for the class and for the market, and the class's change **relative to the market** (the same
  difference on its log share), with a Newey-West (HAC) confidence interval;
- **structural breaks** in the trend of its share: piecewise-linear segments of the deseasonalised log
  share, found with ``ruptures`` (optimal segmentation), the number of breaks chosen by the LWZ
  criterion.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError, InputError, NotFoundError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars, check_positive_int, finite, require_columns
from gigshift.insights._common import json_rows, md_table

CHATGPT_RELEASE = dt.date(2022, 11, 30)
DEFAULT_EVENTS: dict[str, dt.date] = {"ChatGPT release": CHATGPT_RELEASE}
TOTAL = "total"
PERIOD = 12  # months in a seasonal cycle
MIN_TREND_MONTHS = 2 * PERIOD  # STL needs two full cycles to tell trend from season

_CALLER = "trends"
_SERIES_SCHEMA = {
    "class": pl.String,
    "name": pl.String,
    "date": pl.Date,
    "level": pl.Float64,
    "share": pl.Float64,
    "trend": pl.Float64,
}
_EVENT_SCHEMA = {
    "class": pl.String,
    "name": pl.String,
    "event": pl.String,
    "date": pl.Date,
    "window_months": pl.Int64,
    "change": pl.Float64,
    "change_ci_lo": pl.Float64,
    "change_ci_hi": pl.Float64,
    "market_change": pl.Float64,
    "relative_change": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "p_value": pl.Float64,
    "note": pl.String,
}
_BREAK_SCHEMA = {
    "class": pl.String,
    "name": pl.String,
    "date": pl.Date,
    "series": pl.String,
    "slope_before_pct_per_year": pl.Float64,
    "slope_after_pct_per_year": pl.Float64,
}


@dataclass(frozen=True)
class TrendsResult:
    """Online labour trends per occupation class.

    Attributes
    ----------
    series : polars.DataFrame
        ``class, name, date, level, share, trend``: one row per class and month. ``share`` is the
        class's level over the market's (``total``, share 1); ``trend`` is the STL trend of the level
        (null with fewer than 24 months).
    events : polars.DataFrame
        One row per class and event: ``change`` (proportional change of the class's geometric-mean
        level, after vs before), ``market_change`` (the same for the whole market),
        ``relative_change`` (of the class's share: ``(1 + change) / (1 + market_change) - 1``) with
        its confidence interval ``ci_lo, ci_hi`` and ``p_value``; ``change_ci_lo/hi`` bound
        ``change``. Null, with a ``note``, where the data around the event are too short.
    breaks : polars.DataFrame
        ``class, name, date, series, slope_before_pct_per_year, slope_after_pct_per_year``: the first
        month of each new trend segment of the class's share (of the level for ``total``), with the
        segment growth rates either side.
    notes : tuple of str
        What could not be computed, and why.
    """

    series: pl.DataFrame
    events: pl.DataFrame
    breaks: pl.DataFrame
    settings: dict[str, object]
    provenance: Provenance
    notes: tuple[str, ...] = field(default_factory=tuple)

    def tidy(self) -> pl.DataFrame:
        return self.series

    def to_dict(self) -> dict[str, object]:
        series = json_rows(self.series)
        events = []
        for row in json_rows(self.events):
            row["ci"] = [row.pop("ci_lo"), row.pop("ci_hi")]
            row["change_ci"] = [row.pop("change_ci_lo"), row.pop("change_ci_hi")]
            events.append(row)
        return {
            "series": series,
            "events": events,
            "breaks": json_rows(self.breaks),
            "settings": self.settings,
            "notes": list(self.notes),
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(finite(self.to_dict()), allow_nan=False, default=str)

    def findings(self) -> list[str]:
        """One plain-language line per class and event, largest relative change first."""
        lines = []
        rows = self.events.filter(pl.col("relative_change").is_not_null()).sort(
            pl.col("relative_change").abs(), descending=True
        )
        for r in rows.iter_rows(named=True):
            lines.append(
                f"{r['name']}: {r['change']:+.1%} around {r['event']} ({r['date']}), "
                f"{r['relative_change']:+.1%} relative to the market "
                f"({self.settings['confidence']:.0%} CI {r['ci_lo']:+.1%} to {r['ci_hi']:+.1%}; "
                f"{r['window_months']} months each side)"
            )
        return lines

    def to_markdown(self) -> str:
        last = self.series.filter(pl.col("date") == pl.col("date").max()).sort("level", descending=True)
        lines = [
            "# Online labour trends (Online Labour Index)",
            "",
            f"- Months: {self.series['date'].min()} to {self.series['date'].max()}",
            f"- Method: {self.provenance.method}",
            "",
            "## Latest month",
            "",
            md_table(last, ["class", "name", "level", "share", "trend"]),
            "",
            "## Change around events",
            "",
        ]
        lines += [f"- {line}" for line in self.findings()] or ["- none computable"]
        lines += [
            "",
            md_table(
                self.events,
                ["class", "event", "date", "change", "market_change", "relative_change", "ci_lo", "ci_hi", "note"],
            ),
            "",
            "## Structural breaks",
            "",
            md_table(self.breaks, list(_BREAK_SCHEMA)) if self.breaks.height else "none detected",
        ]
        if self.notes:
            lines += ["", "## Notes", "", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"


# -- input -----------------------------------------------------------------------------------------------------------


def _check_oli(oli: object) -> pl.DataFrame:
    """``class, name, date, level`` from an OLI-shaped table, every failure named."""
    source = "oli"
    frame = as_polars(oli, name=source)
    require_columns(frame, {"month": "month", "class": "occupation_class", "level": "level"}, source=source)
    name = pl.col("oli_class").cast(pl.String) if "oli_class" in frame.columns else pl.col("occupation_class")
    raw = frame.select(
        cls=pl.col("occupation_class").cast(pl.String),
        name=name.cast(pl.String),
        month=pl.col("month"),
        level=pl.col("level"),
    ).with_row_index("row", offset=1)
    month = raw["month"]
    if month.dtype == pl.String:
        parsed = pl.coalesce(
            pl.col("month").str.to_date("%Y-%m-%d", strict=False),
            pl.col("month").str.to_date("%Y-%m", strict=False),
        )
    elif month.dtype == pl.Datetime or isinstance(month.dtype, pl.Datetime):
        parsed = pl.col("month").dt.date()
    elif month.dtype == pl.Date:
        parsed = pl.col("month")
    else:
        parsed = pl.lit(None, dtype=pl.Date)
    data = raw.with_columns(
        date=parsed.dt.truncate("1mo"), value=pl.col("level").cast(pl.Float64, strict=False)
    ).with_columns(cls=pl.col("cls").str.strip_chars())
    checks = [
        (pl.col("cls").is_null() | (pl.col("cls") == ""), "occupation_class", "a class name", "cls"),
        (pl.col("date").is_null(), "month", "a month such as 2022-11-01", "month"),
        (
            pl.col("value").is_null() | ~pl.col("value").is_finite() | (pl.col("value") <= 0),
            "level",
            "a finite number > 0",
            "level",
        ),
    ]
    failures = [
        data.filter(bad).select(
            "row", column=pl.lit(column), expected=pl.lit(expected), got=pl.col(got).cast(pl.String).fill_null("")
        )
        for bad, column, expected, got in checks
    ]
    dup = data.filter(pl.struct("cls", "date").is_duplicated() & pl.col("date").is_not_null())
    if dup.height:
        failures.append(
            dup.select(
                "row",
                column=pl.lit("month"),
                expected=pl.lit("one row per class and month"),
                got=pl.format("a second {} row for {}", pl.col("date"), pl.col("cls")),
            )
        )
    failed = pl.concat(failures).sort("row")
    if failed.height:
        raise InputError(failed, source=source)
    data = data.select("cls", "name", "date", "value")
    if data.height == 0:
        raise InputError.single(source=source, expected="at least one row", got="an empty table")
    if TOTAL not in data["cls"].to_list():  # the market is the sum of its classes
        total = data.group_by("date").agg(value=pl.col("value").sum(), n=pl.len())
        n_classes = data["cls"].n_unique()
        incomplete = total.filter(pl.col("n") < n_classes)
        if incomplete.height:
            raise GigshiftError(
                f"{_CALLER}: no 'total' rows and not every class has {incomplete['date'].min()}; "
                "give the market total or every class for every month"
            )
        data = pl.concat([data, total.select(cls=pl.lit(TOTAL), name=pl.lit("Total"), date="date", value="value")])
    months = data.filter(pl.col("cls") == TOTAL)["date"].sort()
    expected_months = pl.date_range(months.min(), months.max(), "1mo", eager=True)
    gaps = expected_months.filter(~expected_months.is_in(months.implode()))
    if gaps.len():
        raise InputError.single(
            source=source,
            column="month",
            expected="consecutive months",
            got=f"no total for {gaps[0]} (+{gaps.len() - 1} more)" if gaps.len() > 1 else f"no total for {gaps[0]}",
        )
    ragged = (
        data.group_by("cls").agg(n=pl.len()).filter(pl.col("n") != months.len()).sort("cls").get_column("cls").to_list()
    )
    if ragged:
        raise GigshiftError(
            f"{_CALLER}: class {ragged[0]!r} does not cover every month of the total ({months.min()} to "
            f"{months.max()}); give each class for every month"
        )
    return data.rename({"cls": "class", "value": "level"}).sort("class", "date")


def resolve_classes(names: Sequence[str], table: pl.DataFrame) -> list[str]:
    """Class slugs for names given as slugs or OLI names, any case; unknown -> NotFoundError with suggestions."""
    pairs = table.select("class", "name").unique().sort("class").rows()
    lookup: dict[str, str] = {}
    for slug, name in pairs:
        lookup[slug.lower()] = slug
        lookup[name.lower()] = slug
    lookup.setdefault("market", TOTAL)
    out = []
    for raw in names:
        key = " ".join(str(raw).split()).lower()
        if key in lookup:
            out.append(lookup[key])
            continue
        close = difflib.get_close_matches(key, list(lookup), n=6, cutoff=0.4)
        words = [lookup[k] for k in lookup if key and any(w in k for w in key.replace("-", " ").split() if len(w) > 2)]
        picks = list(dict.fromkeys([lookup[c] for c in close] + words))[:3]
        labels = {slug: name for slug, name in pairs}
        suggestions = [f"{s} ({labels[s]})" for s in picks] or [f"{s} ({n})" for s, n in pairs]
        raise NotFoundError("OLI class", str(raw), suggestions)
    return list(dict.fromkeys(out))


def _event_dates(events: Sequence[dt.date | str] | Mapping[str, dt.date | str] | None) -> list[tuple[str, dt.date]]:
    if events is None:
        return list(DEFAULT_EVENTS.items())
    if isinstance(events, str | dt.date):
        events = [events]
    items = list(events.items()) if isinstance(events, Mapping) else [(None, e) for e in events]
    out = []
    for label, value in items:
        if isinstance(value, dt.datetime):
            day = value.date()
        elif isinstance(value, dt.date):
            day = value
        else:
            try:
                day = dt.date.fromisoformat(str(value).strip())
            except ValueError:
                raise GigshiftError(f"{_CALLER}: event must be a date such as 2022-11-30; got {value!r}") from None
        default_label = next((k for k, v in DEFAULT_EVENTS.items() if v == day), day.isoformat())
        out.append((label or default_label, day))
    if not out:
        raise GigshiftError(f"{_CALLER}: give at least one event date")
    return out


# -- computations ----------------------------------------------------------------------------------------------------


def _stl(log_level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trend and seasonal component of a monthly log series (robust STL, period 12)."""
    from statsmodels.tsa.seasonal import STL

    fit = STL(log_level, period=PERIOD, robust=True).fit()
    return np.asarray(fit.trend), np.asarray(fit.seasonal)


def _newey_west_lags(n: int) -> int:
    # Newey and West (1994) rule of thumb for the Bartlett kernel bandwidth
    return math.floor(4 * (n / 100) ** (2 / 9))


def _mean_shift(y: np.ndarray, post: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """OLS of ``y`` on a constant and ``post`` with Newey-West errors: estimate, ci_lo, ci_hi, p-value."""
    import statsmodels.api as sm

    design = np.column_stack([np.ones_like(y), post])
    lags = _newey_west_lags(y.size)
    fit = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    lo, hi = fit.conf_int(alpha=1 - confidence)[1]
    return float(fit.params[1]), float(lo), float(hi), float(fit.pvalues[1])


def _segments(z: np.ndarray, *, min_size: int, max_breaks: int) -> list[int]:
    """Break indices (first index of each new segment) of a piecewise-linear trend; LWZ picks how many."""
    import ruptures as rpt

    n = z.size
    most = min(max_breaks, n // min_size - 1)
    if most < 1:
        return []
    t = np.arange(n, dtype=float) / PERIOD
    signal = np.column_stack([z, np.ones(n), t])
    algo = rpt.Dynp(model="linear", min_size=min_size, jump=1).fit(signal)
    fits = [[n] if k == 0 else algo.predict(n_bkps=k) for k in range(most + 1)]
    inflation = _persistence(z, signal, fits[1])
    best_crit, best = math.inf, [n]
    for k, ends in enumerate(fits):
        rss = max(float(algo.cost.sum_of_costs(ends)), 1e-300)
        n_params = 3 * k + 2  # intercept and slope per segment, plus each break date
        # Liu, Wu & Zidek (1997) criterion: a heavier penalty than BIC, which over-segments; scaled up for
        # persistent noise, under which a spurious break buys a larger fall in the residual sum of squares
        crit = n * math.log(rss / n) + inflation * 0.299 * n_params * math.log(n) ** 2.1
        if crit < best_crit - 1e-9:
            best_crit, best = crit, ends
    return best[:-1]


def _persistence(z: np.ndarray, signal: np.ndarray, ends: list[int]) -> float:
    """``(1 + rho) / (1 - rho)``, rho the lag-1 autocorrelation of the residuals of the best one-break fit.

    The long-run variance of AR(1) noise is this multiple of its variance, and a spurious break buys
    about that much more fit under persistent noise than under independent noise. The one-break fit
    keeps the strongest break out of rho (which an unbroken line would inflate) without soaking up
    the persistence into many segments (which the most segmented fit would). Clipped to [1, 10].
    Simulated: with AR(1) noise of rho = 0.8 and no break, about one series in twenty shows a break;
    a planted change of slope is found within a month or two.
    """
    resid = np.empty_like(z)
    start = 0
    for end in ends:
        design = signal[start:end, 1:]
        coef, *_ = np.linalg.lstsq(design, z[start:end], rcond=None)
        resid[start:end] = z[start:end] - design @ coef
        start = end
    denom = float(resid @ resid)
    rho = float(resid[1:] @ resid[:-1]) / denom if denom > 0 else 0.0
    rho = min(max(rho, 0.0), 0.818)  # 0.818 -> a factor of 10
    return (1 + rho) / (1 - rho)


def _slope_pct(z: np.ndarray, start: int, stop: int) -> float:
    t = np.arange(start, stop, dtype=float) / PERIOD
    slope = np.polyfit(t, z[start:stop], 1)[0]
    return float(math.expm1(slope) * 100)


def trends(
    oli: object | None = None,
    *,
    classes: Sequence[str] | str | None = None,
    events: Sequence[dt.date | str] | Mapping[str, dt.date | str] | None = None,
    window_months: int = 12,
    min_months: int = 6,
    confidence: float = 0.95,
    max_breaks: int = 5,
    min_segment_months: int = 12,
) -> TrendsResult:
    """Levels, market shares, trends, changes around events and structural breaks per occupation class.

    Parameters
    ----------
    oli : DataFrame, optional
        ``month, occupation_class, level`` (and ``oli_class``, the display name); one row per class and
        month, consecutive months, ``total`` rows for the whole market (else the sum of the classes).
        Default: the shipped Online Labour Index, :func:`gigshift.taxonomy.online_labour_index`.
    classes : str or list of str, optional
        Classes to report, as slugs (``writing-translation``) or OLI names (``Writing and
        translation``), any case. Default: every class and the total. Shares are always of the whole
        market.
    events : list of dates, or {label: date}, optional
        Event dates; default ChatGPT's release, 2022-11-30.
    window_months : int, default=12
        Months compared on each side of the event month (which is left out). Twelve covers a whole
        seasonal cycle on each side, so the season cancels.
    min_months : int, default=6
        Fewest months on each side for an event change; with fewer the change is null, with a note.
    confidence : float, default=0.95
        Level of the confidence intervals.
    max_breaks : int, default=5
        Most structural breaks per class.
    min_segment_months : int, default=12
        Shortest trend segment between breaks.

    Returns
    -------
    TrendsResult

    Raises
    ------
    NotFoundError
        An unknown class name (the message lists the closest).
    InputError
        A bad ``oli`` table (row and column named).
    GigshiftError
        A bad parameter or event date.

    Notes
    -----
    **Change around an event.** Let ``m`` be the month containing the event. With ``w`` = the smaller
    of ``window_months`` and the months available on either side, ``change = exp(mean(log level over
    m+1..m+w) - mean(log level over m-w..m-1)) - 1``. ``relative_change`` is the same on the share
    (level / total), which equals ``(1 + change) / (1 + market_change) - 1``. Its interval comes from
    the OLS regression of monthly log share on an after-event dummy over the ``2w`` months, with
    Newey-West (HAC, Bartlett, ``floor(4 (n/100)^(2/9))`` lags) standard errors and Student-t critical
    values. It describes month-to-month noise around the two means; it is not a causal estimate and
    does not remove a trend that was already under way (see ``breaks``).

    **Trend.** Robust STL (Cleveland et al. 1990; statsmodels) of the log level, period 12 months.

    **Breaks.** On the deseasonalised log share (log share minus its own STL seasonal component; the
    log level for ``total``), ``ruptures.Dynp`` finds the best segmentation into piecewise-linear
    trends (at least ``min_segment_months`` each) for each number of breaks up to ``max_breaks``; the
    number is chosen by the LWZ criterion (Liu, Wu & Zidek 1997; used by Bai & Perron 2003), penalty
    ``0.299 p (log n)^2.1``, multiplied by ``(1 + rho) / (1 - rho)`` for the residual autocorrelation
    ``rho`` of the best one-break fit: monthly shares are persistent, and without this correction
    persistent noise alone yields several "breaks" per series. Breaks are descriptive, not tests.

    The OLI (Kässi & Lehdonvirta 2018; Kässi, Hadley & Lehdonvirta 2019) is CC BY 4.0.

    Examples
    --------
    >>> result = trends(classes="writing-translation")
    >>> row = result.events.row(0, named=True)
    >>> row["class"], row["date"].isoformat(), row["window_months"]
    ('writing-translation', '2022-11-30', 12)
    >>> bool(row["relative_change"] < 0)
    True
    """
    window_months = check_positive_int("window_months", window_months, caller=_CALLER)
    min_months = check_positive_int("min_months", min_months, caller=_CALLER)
    max_breaks = check_positive_int("max_breaks", max_breaks, caller=_CALLER)
    min_segment_months = check_positive_int("min_segment_months", min_segment_months, caller=_CALLER)
    if isinstance(confidence, bool) or not isinstance(confidence, float | int) or not 0 < confidence < 1:
        raise GigshiftError(f"{_CALLER}: confidence must be a number between 0 and 1; got {confidence!r}")
    if min_months > window_months:
        raise GigshiftError(f"{_CALLER}: min_months ({min_months}) must not exceed window_months ({window_months})")
    event_list = _event_dates(events)
    if oli is None:
        from gigshift.taxonomy import online_labour_index

        oli = online_labour_index()
        source_keys = ("oli",)
    else:
        source_keys = ()
    data = _check_oli(oli)
    if classes is not None:
        wanted = resolve_classes([classes] if isinstance(classes, str) else list(classes), data)
    else:
        wanted = sorted(data["class"].unique().to_list(), key=lambda c: (c == TOTAL, c))

    total = data.filter(pl.col("class") == TOTAL).sort("date")
    months = total["date"].to_list()
    n_months = len(months)
    total_level = total["level"].to_numpy()
    data = data.join(total.select("date", total=pl.col("level")), on="date").with_columns(
        share=pl.col("level") / pl.col("total")
    )
    notes: list[str] = []
    has_trend = n_months >= MIN_TREND_MONTHS
    if not has_trend:
        notes.append(
            f"only {n_months} months of data: a trend and structural breaks need at least {MIN_TREND_MONTHS} "
            "(two seasonal cycles), so none is given"
        )
    series_parts, event_rows, break_rows = [], [], []
    for cls in wanted:  # a loop over the handful of classes, each a short monthly series
        rows = data.filter(pl.col("class") == cls).sort("date")
        name = rows["name"][0]
        level = rows["level"].to_numpy()
        share = rows["share"].to_numpy()
        log_level = np.log(level)
        trend = np.full(n_months, np.nan)
        if has_trend:
            trend_log, seasonal = _stl(log_level)
            trend = np.exp(trend_log)
            if cls == TOTAL:
                z = log_level - seasonal
            else:  # the share has its own season (the market's season divides out of it)
                log_share = np.log(share)
                z = log_share - _stl(log_share)[1]
            ends = _segments(z, min_size=min_segment_months, max_breaks=max_breaks)
            bounds = [0, *ends, n_months]
            for i, b in enumerate(ends):
                break_rows.append(
                    {
                        "class": cls,
                        "name": name,
                        "date": months[b],
                        "series": "level" if cls == TOTAL else "share",
                        "slope_before_pct_per_year": _slope_pct(z, bounds[i], b),
                        "slope_after_pct_per_year": _slope_pct(z, b, bounds[i + 2]),
                    }
                )
        series_parts.append(
            pl.DataFrame(
                {
                    "class": cls,
                    "name": name,
                    "date": months,
                    "level": level,
                    "share": share,
                    "trend": pl.Series(trend).fill_nan(None),
                },
                schema=_SERIES_SCHEMA,
            )
        )
        if cls == TOTAL:
            continue  # the market's change is reported as market_change in every class's row
        for label, day in event_list:
            event_rows.append(
                _event_row(
                    cls, name, label, day, months, level, share, total_level, window_months, min_months, confidence
                )
            )
    series = pl.concat(series_parts).sort("class", "date")
    event_table = pl.DataFrame(event_rows, schema=_EVENT_SCHEMA) if event_rows else pl.DataFrame(schema=_EVENT_SCHEMA)
    breaks = pl.DataFrame(break_rows, schema=_BREAK_SCHEMA) if break_rows else pl.DataFrame(schema=_BREAK_SCHEMA)
    settings: dict[str, object] = {
        "classes": wanted,
        "events": {label: day.isoformat() for label, day in event_list},
        "window_months": window_months,
        "min_months": min_months,
        "confidence": confidence,
        "max_breaks": max_breaks,
        "min_segment_months": min_segment_months,
    }
    from gigshift.taxonomy import all_sources

    provenance = Provenance(
        sources=tuple(s for s in all_sources() if s.key in source_keys),
        method=(
            "share = class level / total level; trend: robust STL of log level (period 12); event change: "
            f"difference of mean log level (log share, relative) over {window_months} months after vs before the "
            "event month, Newey-West HAC interval with Student-t critical values; breaks: ruptures Dynp on the "
            "deseasonalised log share, piecewise-linear trends, number of breaks by the LWZ criterion"
        ),
        gigshift_version=gigshift.__version__,
        extra={k: json.dumps(v) for k, v in settings.items()},
    )
    return TrendsResult(
        series=series,
        events=event_table.sort("class", "date"),
        breaks=breaks.sort("class", "date"),
        settings=settings,
        provenance=provenance,
        notes=tuple(notes),
    )


def _event_row(
    cls: str,
    name: str,
    label: str,
    day: dt.date,
    months: list[dt.date],
    level: np.ndarray,
    share: np.ndarray,
    total_level: np.ndarray,
    window_months: int,
    min_months: int,
    confidence: float,
) -> dict[str, object]:
    row: dict[str, object] = {k: None for k in _EVENT_SCHEMA}
    row.update({"class": cls, "name": name, "event": label, "date": day})
    event_month = day.replace(day=1)
    n_pre = sum(m < event_month for m in months)
    n_post = sum(m > event_month for m in months)
    w = min(window_months, n_pre, n_post)
    row["window_months"] = w
    if w < min_months:
        if n_pre == 0 or n_post == 0:
            row["note"] = f"the event falls outside the data ({months[0]} to {months[-1]})"
        else:
            side = "after" if n_post < n_pre else "before"
            row["note"] = f"only {min(n_pre, n_post)} months of data {side} the event; at least {min_months} needed"
        return row
    start = n_pre - w  # months are consecutive, so the event month (if present) sits at index n_pre
    pre = np.arange(start, n_pre)
    after = len(months) - n_post
    post = np.arange(after, after + w)
    sel = np.concatenate([pre, post])
    dummy = np.concatenate([np.zeros(w), np.ones(w)])
    b_level, lo_level, hi_level, _ = _mean_shift(np.log(level[sel]), dummy, confidence)
    b_total = float(np.log(total_level[post]).mean() - np.log(total_level[pre]).mean())
    b_share, lo_share, hi_share, p = _mean_shift(np.log(share[sel]), dummy, confidence)
    row.update(
        {
            "change": math.expm1(b_level),
            "change_ci_lo": math.expm1(lo_level),
            "change_ci_hi": math.expm1(hi_level),
            "market_change": math.expm1(b_total),
            "relative_change": math.expm1(b_share),
            "ci_lo": math.expm1(lo_share),
            "ci_hi": math.expm1(hi_share),
            "p_value": p,
        }
    )
    if w < window_months:
        row["note"] = f"window shortened to {w} months (data end); the seasonal cycle may not cancel"
    return row
