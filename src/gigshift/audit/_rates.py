"""Rates, impact ratios and fairness metrics per group, with bootstrap intervals, from one cell table.

The audit first counts rows once per (attributes, selected, label) cell, a single group-by over
the data; every rate, ratio, fairlearn metric and bootstrap replicate is then computed from that
small table. Resampling rows within a group is the same as drawing the group's cell counts from a
multinomial with the observed cell shares, so a bootstrap replicate costs one multinomial draw per
group, not a pass over the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from gigshift.audit._input import INTERSECTION_SEPARATOR, Prepared


@dataclass(frozen=True, slots=True)
class View:
    """One way of grouping the rows: a single attribute, or the intersection of several."""

    name: str  # "sex" or "sex+race"
    attributes: tuple[str, ...]


def views(attributes: tuple[str, ...], *, intersect: bool) -> list[View]:
    out = [View(a, (a,)) for a in attributes]
    if intersect and len(attributes) > 1:
        out.append(View(INTERSECTION_SEPARATOR.join(attributes), attributes))
    return out


def cell_counts(prepared: Prepared) -> pl.DataFrame:
    """Rows and summed weights per (attributes..., y, label) cell: the only pass over the data."""
    keys = [*prepared.attributes, "y", *(["label"] if prepared.has_label else [])]
    return prepared.frame.group_by(keys).agg(n=pl.len(), w=pl.col("w").sum())


@dataclass(frozen=True, slots=True)
class GroupCells:
    """Per category of a view: the cell counts and mean weights, as arrays (categories x cells)."""

    categories: list[str]
    counts: np.ndarray  # int64 (G, C)
    weights: np.ndarray  # float64 (G, C): summed weights
    selected: np.ndarray  # bool (C,): the cell has y = 1
    positive: np.ndarray | None  # bool (C,): label = 1 (when labels exist)
    n_unknown: int


def group_cells(cells: pl.DataFrame, view: View, *, has_label: bool) -> GroupCells:
    known = pl.all_horizontal(*[pl.col(a).is_not_null() for a in view.attributes])
    n_unknown = int(cells.filter(~known).get_column("n").sum())
    data = cells.filter(known).with_columns(
        category=pl.concat_str([pl.col(a) for a in view.attributes], separator=INTERSECTION_SEPARATOR)
    )
    cell_keys = [(1, 1), (1, 0), (0, 1), (0, 0)] if has_label else [(1, None), (0, None)]
    categories = data.get_column("category").unique().sort().to_list()
    index = {c: i for i, c in enumerate(categories)}
    counts = np.zeros((len(categories), len(cell_keys)), dtype=np.int64)
    weights = np.zeros((len(categories), len(cell_keys)))
    cell_index = {key: j for j, key in enumerate(cell_keys)}
    cols = ["category", "y", *(["label"] if has_label else []), "n", "w"]
    for row in data.select(cols).iter_rows():  # one row per cell: categories x 4 at most
        category, y = row[0], row[1]
        lab = row[2] if has_label else None
        j = cell_index[(int(y), None if lab is None else int(lab))]
        counts[index[category], j] += row[-2]
        weights[index[category], j] += row[-1]
    selected = np.array([k[0] == 1 for k in cell_keys])
    positive = np.array([k[1] == 1 for k in cell_keys]) if has_label else None
    return GroupCells(categories, counts, weights, selected, positive, n_unknown)


def _rates(weights: np.ndarray, selected: np.ndarray, positive: np.ndarray | None) -> dict[str, np.ndarray]:
    """Selection rate, TPR and FPR from summed weights (..., categories, cells); NaN where undefined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        total = weights.sum(axis=-1)
        out = {"selection_rate": weights[..., selected].sum(axis=-1) / total}
        if positive is not None:
            pos, neg = weights[..., positive].sum(axis=-1), weights[..., ~positive].sum(axis=-1)
            out["tpr"] = weights[..., selected & positive].sum(axis=-1) / pos
            out["fpr"] = weights[..., selected & ~positive].sum(axis=-1) / neg
    return out


def _between(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fairlearn's between_groups difference (max - min) and ratio (min / max), over the last axis."""
    with np.errstate(invalid="ignore", divide="ignore"):
        high, low = np.nanmax(values, axis=-1), np.nanmin(values, axis=-1)
        return high - low, np.where(high > 0, low / high, np.nan)


def _to_overall(values: np.ndarray, overall: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fairlearn's to_overall difference (largest |group - overall|) and ratio (smallest of both ways)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = overall[..., None]
        diff = np.nanmax(np.abs(values - overall), axis=-1)
        ratio = np.nanmin(np.minimum(values / overall, overall / values), axis=-1)
    return diff, ratio


def fairness_metrics(weights: np.ndarray, selected: np.ndarray, positive: np.ndarray | None) -> dict[str, np.ndarray]:
    """fairlearn's group metrics from summed cell weights (..., categories, cells)."""
    rates = _rates(weights, selected, positive)
    overall = _rates(weights.sum(axis=-2), selected, positive)
    out: dict[str, np.ndarray] = {}
    dp_diff, dp_ratio = _between(rates["selection_rate"])
    out["demographic_parity_difference"], out["demographic_parity_ratio"] = dp_diff, dp_ratio
    to_diff, to_ratio = _to_overall(rates["selection_rate"], overall["selection_rate"])
    out["demographic_parity_difference_to_overall"], out["demographic_parity_ratio_to_overall"] = to_diff, to_ratio
    out["overall_selection_rate"] = overall["selection_rate"]
    if positive is not None:
        tpr_diff, tpr_ratio = _between(rates["tpr"])
        fpr_diff, fpr_ratio = _between(rates["fpr"])
        out["equalized_odds_difference"] = np.fmax(tpr_diff, fpr_diff)
        out["equalized_odds_ratio"] = np.fmin(tpr_ratio, fpr_ratio)
        out["equal_opportunity_difference"], out["equal_opportunity_ratio"] = tpr_diff, tpr_ratio
        out["overall_tpr"], out["overall_fpr"] = overall["tpr"], overall["fpr"]
    return out


@dataclass(frozen=True, slots=True)
class ViewResult:
    """Everything computed for one view."""

    ll144: pl.DataFrame
    by_group: pl.DataFrame
    metrics: dict[str, float | None]
    metric_ci: dict[str, list[float | None]]
    n_unknown: int


def analyse_view(
    cells: GroupCells,
    view: View,
    *,
    exclude_small: bool,
    small_share: float,
    min_n: int,
    n_bootstrap: int,
    confidence: float,
    rng: np.random.Generator,
) -> ViewResult:
    """LL144 table, fairlearn metrics and bootstrap intervals for one view."""
    n = cells.counts.sum(axis=1)
    n_selected = cells.counts[:, cells.selected].sum(axis=1)
    rates = _rates(cells.weights, cells.selected, cells.positive)
    rate = rates["selection_rate"]
    share = n / max(int(n.sum()), 1)
    excluded = exclude_small & (share < small_share)
    eligible = ~excluded & (n > 0)
    top = np.nanmax(np.where(eligible, rate, np.nan)) if eligible.any() else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        impact = np.where(eligible & (top > 0), rate / top, np.nan)
    metrics = fairness_metrics(cells.weights, cells.selected, cells.positive)

    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    rate_ci = np.full((len(n), 2), np.nan)
    impact_ci = np.full((len(n), 2), np.nan)
    metric_ci: dict[str, list[float | None]] = {}
    if n_bootstrap > 0 and len(n):
        replicate_weights = _bootstrap(cells, n_bootstrap, rng)  # (B, G, C)
        rep_rates = _rates(replicate_weights, cells.selected, cells.positive)["selection_rate"]  # (B, G)
        rate_ci = _quantiles(rep_rates, lo_q, hi_q)
        with np.errstate(invalid="ignore", divide="ignore"):
            rep_top = np.nanmax(np.where(eligible, rep_rates, np.nan), axis=1, keepdims=True)
            rep_impact = np.where(eligible & (rep_top > 0), rep_rates / rep_top, np.nan)
        impact_ci = _quantiles(rep_impact, lo_q, hi_q)
        rep_metrics = fairness_metrics(replicate_weights, cells.selected, cells.positive)
        for name, values in rep_metrics.items():
            if name.startswith("overall"):
                continue
            finite = values[np.isfinite(values)]
            metric_ci[name] = (
                [_clean(np.quantile(finite, lo_q)), _clean(np.quantile(finite, hi_q))] if finite.size else [None, None]
            )
    ll144 = pl.DataFrame(
        {
            "attribute": [view.name] * len(n),
            "category": cells.categories,
            "n": n.astype(np.int64),
            "n_selected": n_selected.astype(np.int64),
            "share": share,
            "rate": rate,
            "impact_ratio": impact,
            "excluded": excluded.astype(bool),
            "small": n < min_n,
            "ci_lo": rate_ci[:, 0],
            "ci_hi": rate_ci[:, 1],
            "impact_ratio_ci_lo": impact_ci[:, 0],
            "impact_ratio_ci_hi": impact_ci[:, 1],
        },
        schema_overrides={"excluded": pl.Boolean, "small": pl.Boolean},
    ).fill_nan(None)
    by_group = pl.DataFrame(
        {"attribute": [view.name] * len(n), "category": cells.categories, "n": n.astype(np.int64)}
        | {k: v for k, v in rates.items()}
    ).fill_nan(None)
    return ViewResult(
        ll144=ll144,
        by_group=by_group,
        metrics={k: _clean(float(v)) for k, v in metrics.items()},
        metric_ci=metric_ci,
        n_unknown=cells.n_unknown,
    )


def _bootstrap(cells: GroupCells, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Summed cell weights of each replicate: rows resampled within each group (multinomial counts)."""
    n_groups, n_cells = cells.counts.shape
    out = np.zeros((n_bootstrap, n_groups, n_cells))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_weight = np.where(cells.counts > 0, cells.weights / np.maximum(cells.counts, 1), 0.0)
    for g in range(n_groups):  # one multinomial draw per group: groups are few, rows are many
        total = int(cells.counts[g].sum())
        if total == 0:
            continue
        draws = rng.multinomial(total, cells.counts[g] / total, size=n_bootstrap)
        out[:, g, :] = draws * mean_weight[g]
    return out


def _quantiles(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    out = np.full((values.shape[1], 2), np.nan)
    for g in range(values.shape[1]):
        finite = values[:, g][np.isfinite(values[:, g])]
        if finite.size:
            out[g] = np.quantile(finite, [lo, hi])
    return out


def _clean(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
