"""Outcome gaps between groups: ratings adjusted for controls, pay with Oaxaca-Blinder, concentration."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

import gigshift
from gigshift._errors import GigshiftError, InputError
from gigshift._provenance import Provenance
from gigshift._tables import as_polars, require_columns


def _design(frame: pl.DataFrame, controls: Sequence[str], *, source: str) -> tuple[np.ndarray, list[str]]:
    """Numeric controls as they are, text controls as 0/1 dummies (first level dropped)."""
    columns, names = [], []
    for c in controls:
        col = frame.get_column(c)
        if col.dtype.is_numeric() or col.dtype == pl.Boolean:
            columns.append(col.cast(pl.Float64).to_numpy())
            names.append(c)
        else:
            levels = col.cast(pl.String).unique().sort().to_list()
            for level in levels[1:]:
                columns.append((col.cast(pl.String) == level).cast(pl.Float64).to_numpy())
                names.append(f"{c}={level}")
    if not columns:
        return np.empty((frame.height, 0)), names
    return np.column_stack(columns), names


def _complete(outcomes: object, needed: list[str], *, source: str) -> tuple[pl.DataFrame, int]:
    frame = as_polars(outcomes, name=source)
    require_columns(frame, {f"column {c!r}": c for c in needed}, source=source)
    frame = frame.select(needed)
    complete = frame.drop_nulls()
    for c in needed:
        if complete.schema[c].is_float():
            complete = complete.filter(pl.col(c).is_finite())
    return complete, frame.height - complete.height


@dataclass(frozen=True, slots=True)
class GapResult:
    """Outcome gap per group against a reference group, raw and adjusted for controls.

    ``table``: category, n, mean, raw_gap, adjusted_gap, se (heteroskedasticity-robust, HC3),
    ci_lo, ci_hi, p_value; the reference group's row has gaps of 0.
    """

    table: pl.DataFrame
    outcome: str
    group: str
    reference: str
    controls: tuple[str, ...]
    n_dropped: int
    provenance: Provenance

    def tidy(self) -> pl.DataFrame:
        return self.table

    def to_json(self) -> str:
        body = {
            "outcome": self.outcome,
            "group": self.group,
            "reference": self.reference,
            "controls": list(self.controls),
            "n_dropped": self.n_dropped,
            "gaps": self.table.to_dicts(),
            "provenance": self.provenance.to_dict(),
        }
        return json.dumps(body, allow_nan=False)

    def to_markdown(self) -> str:
        lines = [
            f"{self.outcome} by {self.group} (reference {self.reference}; "
            f"controls: {', '.join(self.controls) or 'none'})",
            "",
            "| group | n | mean | raw gap | adjusted gap | 95% CI | p |",
            "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for r in self.table.iter_rows(named=True):
            ci = "" if r["ci_lo"] is None else f"[{r['ci_lo']:.3f}, {r['ci_hi']:.3f}]"
            p = "" if r["p_value"] is None else f"{r['p_value']:.3g}"
            lines.append(
                f"| {r['category']} | {r['n']} | {r['mean']:.3f} | {r['raw_gap']:+.3f} | "
                f"{r['adjusted_gap']:+.3f} | {ci} | {p} |"
            )
        return "\n".join(lines) + "\n"


def rating_gap(
    outcomes: object,
    *,
    group: str,
    outcome: str = "rating",
    controls: Sequence[str] = (),
    reference: str | None = None,
    confidence: float = 0.95,
) -> GapResult:
    """Gap in an outcome (e.g. client ratings) between groups, adjusted for controls by OLS.

    The model is ``outcome ~ 1 + group dummies + controls`` with heteroskedasticity-robust (HC3)
    standard errors; the coefficient of a group's dummy is its gap to the reference group holding
    the controls fixed. Rows with a missing outcome, group or control are left out and counted in
    ``n_dropped``. The reference group defaults to the largest.

    Examples
    --------
    >>> import polars as pl
    >>> d = pl.DataFrame({"sex": ["f", "f", "m", "m", "m"], "rating": [4.2, 4.4, 4.7, 4.9, 4.8]})
    >>> r = rating_gap(d, group="sex")
    >>> r.reference, round(r.table.filter(pl.col("category") == "f").item(0, "adjusted_gap"), 3)
    ('m', -0.5)
    """
    import statsmodels.api as sm

    controls = list(controls)
    frame, dropped = _complete(outcomes, [group, outcome, *controls], source="outcomes")
    if not frame.schema[outcome].is_numeric():
        raise InputError.single(source="outcomes", column=outcome, expected="numbers", got=str(frame.schema[outcome]))
    frame = frame.with_columns(pl.col(group).cast(pl.String))
    sizes = frame.group_by(group).agg(n=pl.len(), mean=pl.col(outcome).cast(pl.Float64).mean()).sort(group)
    if sizes.height < 2:
        raise GigshiftError(f"rating_gap: {group!r} has {sizes.height} group(s) with data; need at least 2")
    if reference is None:
        reference = sizes.sort(["n", group], descending=[True, False]).item(0, group)
    elif reference not in sizes.get_column(group).to_list():
        raise GigshiftError(f"rating_gap: reference {reference!r} is not a group of {group!r}")
    others = [g for g in sizes.get_column(group).to_list() if g != reference]
    dummies = np.column_stack([(frame.get_column(group) == g).cast(pl.Float64).to_numpy() for g in others])
    x_controls, _ = _design(frame, controls, source="outcomes")
    design = np.column_stack([np.ones(frame.height), dummies, x_controls])
    y = frame.get_column(outcome).cast(pl.Float64).to_numpy()
    fit = sm.OLS(y, design).fit(cov_type="HC3")
    ci = fit.conf_int(alpha=1 - confidence)
    ref_mean = sizes.filter(pl.col(group) == reference).item(0, "mean")
    rows = []
    for i, g in enumerate([reference, *others]):
        row = sizes.filter(pl.col(group) == g).row(0, named=True)
        if i == 0:
            rows.append((g, row["n"], row["mean"], 0.0, 0.0, None, None, None, None))
        else:
            rows.append(
                (
                    g,
                    row["n"],
                    row["mean"],
                    row["mean"] - ref_mean,
                    float(fit.params[i]),
                    float(fit.bse[i]),
                    float(ci[i, 0]),
                    float(ci[i, 1]),
                    float(fit.pvalues[i]),
                )
            )
    table = pl.DataFrame(
        rows,
        schema={
            "category": pl.String,
            "n": pl.Int64,
            "mean": pl.Float64,
            "raw_gap": pl.Float64,
            "adjusted_gap": pl.Float64,
            "se": pl.Float64,
            "ci_lo": pl.Float64,
            "ci_hi": pl.Float64,
            "p_value": pl.Float64,
        },
        orient="row",
    )
    provenance = Provenance(
        sources=(),
        method="OLS of the outcome on group dummies and controls, HC3 robust standard errors (statsmodels)",
        gigshift_version=gigshift.__version__,
    )
    return GapResult(table, outcome, group, reference, tuple(controls), dropped, provenance)


@dataclass(frozen=True, slots=True)
class PayGapResult:
    """An Oaxaca-Blinder two-fold decomposition of the gap ``reference - comparison``.

    ``explained``: the part due to different characteristics (the controls); ``unexplained``: the
    part due to different returns to them and the intercept, the usual measure of unequal pay for
    equal work. Standard errors are bootstrap (``n_bootstrap`` replicates, seeded).
    """

    outcome: str
    group: str
    reference: str
    comparison: str
    n_reference: int
    n_comparison: int
    mean_reference: float
    mean_comparison: float
    gap: float
    explained: float
    unexplained: float
    explained_se: float | None
    unexplained_se: float | None
    controls: tuple[str, ...]
    log_outcome: bool
    n_dropped: int
    provenance: Provenance

    def tidy(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "component": ["gap", "explained", "unexplained"],
                "value": [self.gap, self.explained, self.unexplained],
                "se": [None, self.explained_se, self.unexplained_se],
            },
            schema={"component": pl.String, "value": pl.Float64, "se": pl.Float64},
        )

    def to_json(self) -> str:
        body = {k: getattr(self, k) for k in self.__slots__ if k != "provenance"}
        body["controls"] = list(self.controls)
        body["provenance"] = self.provenance.to_dict()
        return json.dumps(body, allow_nan=False)

    def to_markdown(self) -> str:
        unit = "log points" if self.log_outcome else self.outcome
        se = lambda v: "" if v is None else f" (se {v:.3f})"  # noqa: E731
        return (
            f"{self.outcome}: {self.reference} {self.mean_reference:.3f} vs "
            f"{self.comparison} {self.mean_comparison:.3f}; "
            f"gap {self.gap:+.3f} {unit} = explained {self.explained:+.3f}{se(self.explained_se)} + "
            f"unexplained {self.unexplained:+.3f}{se(self.unexplained_se)} "
            f"(controls: {', '.join(self.controls) or 'none'})\n"
        )


def pay_gap(
    outcomes: object,
    *,
    group: str,
    outcome: str = "pay_per_hour",
    controls: Sequence[str] = (),
    reference: str | None = None,
    comparison: str | None = None,
    log_outcome: bool = False,
    n_bootstrap: int = 200,
    seed: int | None = None,
) -> PayGapResult:
    """Raw and adjusted pay gap between two groups, by an Oaxaca-Blinder two-fold decomposition.

    Uses statsmodels' ``OaxacaBlinder`` with pooled coefficients (Neumark 1988): ``gap =
    explained + unexplained``, where ``gap = mean(reference) - mean(comparison)``. With
    ``log_outcome`` the outcome is logged first and the gap is in log points. The reference group
    defaults to the largest, the comparison group to the other one (give it with three or more).
    """
    from statsmodels.stats.oaxaca import OaxacaBlinder

    controls = list(controls)
    if not controls:
        raise GigshiftError("pay_gap: give at least one control (the characteristics that may explain pay)")
    frame, dropped = _complete(outcomes, [group, outcome, *controls], source="outcomes")
    frame = frame.with_columns(pl.col(group).cast(pl.String))
    if log_outcome:
        bad = frame.filter(pl.col(outcome) <= 0)
        if bad.height:
            raise GigshiftError(f"pay_gap: log_outcome needs {outcome!r} > 0; {bad.height} row(s) are <= 0")
    sizes = frame.group_by(group).agg(n=pl.len()).sort(["n", group], descending=[True, False])
    names = sizes.get_column(group).to_list()
    reference = reference or names[0]
    if comparison is None:
        rest = [g for g in names if g != reference]
        if len(rest) != 1:
            raise GigshiftError(f"pay_gap: {group!r} has groups {names}; say which to compare with comparison=")
        comparison = rest[0]
    for g in (reference, comparison):
        if g not in names:
            raise GigshiftError(f"pay_gap: {g!r} is not a group of {group!r} (groups: {', '.join(names)})")
    frame = frame.filter(pl.col(group).is_in([reference, comparison]))
    y = frame.get_column(outcome).cast(pl.Float64).to_numpy()
    if log_outcome:
        y = np.log(y)
    x_controls, _ = _design(frame, controls, source="outcomes")
    is_reference = (frame.get_column(group) == reference).cast(pl.Float64).to_numpy()
    exog = np.column_stack([np.ones(frame.height), x_controls, is_reference])
    model = OaxacaBlinder(
        y, exog, bifurcate=exog.shape[1] - 1, hasconst=True, swap=False, rng=np.random.default_rng(seed)
    )
    if n_bootstrap > 0:
        result = model.two_fold(std=True, two_fold_type="pooled", n=n_bootstrap)
        unexplained, explained, gap = (float(v) for v in result.params)
        unexplained_se, explained_se = float(result.std[0]), float(result.std[1])
    else:
        unexplained, explained, gap = (float(v) for v in model.two_fold(two_fold_type="pooled").params)
        unexplained_se = explained_se = None
    mean_ref, mean_cmp = float(y[is_reference == 1].mean()), float(y[is_reference == 0].mean())
    if np.sign(gap) != np.sign(mean_ref - mean_cmp) and abs(gap) > 1e-12:
        # statsmodels orders the groups by its own rule; report reference - comparison
        gap, explained, unexplained = -gap, -explained, -unexplained
    provenance = Provenance(
        sources=(),
        method="Oaxaca-Blinder two-fold decomposition, pooled coefficients (statsmodels), bootstrap SE",
        gigshift_version=gigshift.__version__,
        seed=seed,
    )
    return PayGapResult(
        outcome=outcome,
        group=group,
        reference=reference,
        comparison=comparison,
        n_reference=int(is_reference.sum()),
        n_comparison=int((1 - is_reference).sum()),
        mean_reference=mean_ref,
        mean_comparison=mean_cmp,
        gap=gap,
        explained=explained,
        unexplained=unexplained,
        explained_se=explained_se,
        unexplained_se=unexplained_se,
        controls=tuple(controls),
        log_outcome=log_outcome,
        n_dropped=dropped,
        provenance=provenance,
    )


def concentration(outcomes: object, *, amount: str, by: str = "worker_id", group: str | None = None) -> pl.DataFrame:
    """How concentrated work or pay is: Gini coefficient and the top 10%'s share, overall and per group.

    ``amount`` is summed per ``by`` (e.g. jobs or pay per worker) first; units with nothing still
    count if they appear with 0. Gini is 0 when everyone has the same and (n - 1) / n when one has all.

    Examples
    --------
    >>> import polars as pl
    >>> concentration(pl.DataFrame({"worker_id": ["a", "b", "c", "d"], "jobs": [1, 1, 1, 1]}), amount="jobs").rows()
    [('all', 4, 4.0, 0.0, 0.25)]
    """
    frame, _ = _complete(outcomes, [by, amount, *([group] if group else [])], source="outcomes")
    keys = [by, *([group] if group else [])]
    per_unit = frame.group_by(keys).agg(pl.col(amount).cast(pl.Float64).sum())
    if group and per_unit.get_column(by).is_duplicated().any():
        raise GigshiftError(f"concentration: a {by!r} appears in more than one {group!r} group")
    parts = [("all", per_unit.get_column(amount).to_numpy())]
    if group:
        for name, sub in sorted(per_unit.group_by(group), key=lambda kv: str(kv[0][0])):
            parts.append((str(name[0]), sub.get_column(amount).to_numpy()))
    rows = []
    for name, values in parts:
        rows.append((name, values.size, float(values.sum()), _gini(values), _top_share(values, 0.10)))
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "n_units": pl.Int64,
            "total": pl.Float64,
            "gini": pl.Float64,
            "top10_share": pl.Float64,
        },
        orient="row",
    )


def _gini(values: np.ndarray) -> float:
    if values.size == 0 or values.sum() <= 0:
        return 0.0
    v = np.sort(values)
    n = v.size
    cum = np.cumsum(v)
    return float((n + 1 - 2 * (cum.sum() / cum[-1])) / n)


def _top_share(values: np.ndarray, top: float) -> float:
    if values.size == 0 or values.sum() <= 0:
        return 0.0
    k = max(1, int(np.ceil(top * values.size)))
    return float(np.sort(values)[::-1][:k].sum() / values.sum())
