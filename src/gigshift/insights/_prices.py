"""A mix-adjusted price index per category: a time-dummy hedonic regression on log price.

Within a category, ``log price_i = delta_week(i) + x_i' beta + e_i`` over all weeks at once, where ``x``
holds the task characteristics that are recorded: log expected hours, number of required skills,
on-location, and area (one indicator per area with enough tasks). ``100 exp(delta_t - delta_base)`` is
the price of a task of fixed characteristics in week ``t`` relative to the base week, so a shift in
the mix of tasks (longer ones, more skills, another area) moves the raw median but not the index.

The pooled regression is estimated by the within transformation (demeaning by week, vectorised with
``bincount``), one small least-squares problem per category. Because ``delta_t = mean_t(y) -
mean_t(x)' beta`` and the week means are uncorrelated with the within estimate of ``beta``,
``Var(delta_t - delta_b) = s^2 (1/n_t + 1/n_b) + d' Var(beta) d`` with ``d = mean_t(x) - mean_b(x)``
(homoskedastic OLS). A pooled time-dummy index is transitive: comparing week t with week s gives the
same answer directly or through any other week, so there is no chain drift.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import polars as pl

PRICE_SCHEMA = {
    "category": pl.String,
    "week": pl.Int64,
    "week_start": pl.Date,
    "n_priced": pl.Int64,
    "median_price_usd": pl.Float64,
    "raw_index": pl.Float64,
    "price_index": pl.Float64,
    "ci_lo": pl.Float64,
    "ci_hi": pl.Float64,
    "note": pl.String,
}
HEDONIC_SCHEMA = {
    "category": pl.String,
    "characteristic": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "n_priced": pl.Int64,
    "r2_within": pl.Float64,
}

#: Characteristic columns of the task facts and how each enters the regression.
CHARACTERISTICS = {
    "log_hours": "log expected hours",
    "n_required_skills": "required skills",
    "is_on_location": "on location",
    "area": "area",
}


def _arrays(facts: pl.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray | None, list[str]]:
    """All rows at once: numeric characteristics (nulls -> 0 plus a missing flag) and area codes."""
    cols, names = [], []
    for name in ("log_hours", "n_required_skills", "is_on_location"):
        if name not in facts.columns:
            continue
        values = facts.get_column(name).cast(pl.Float64)
        cols.append(values.fill_null(0.0).to_numpy())
        names.append(name)
        if values.null_count():
            cols.append(values.is_null().to_numpy().astype(float))
            names.append(f"{name}_missing")
    x = np.column_stack(cols) if cols else np.zeros((facts.height, 0))
    if "area" not in facts.columns:
        return x, names, None, []
    area = facts.get_column("area").fill_null("(none)")
    labels = area.unique().sort().to_list()
    codes = area.replace_strict(labels, list(range(len(labels))), return_dtype=pl.Int64).to_numpy()
    return x, names, codes, labels


def _area_dummies(codes: np.ndarray, labels: list[str], min_cell: int) -> tuple[np.ndarray, list[str]]:
    """Indicators of the areas of one category with at least ``min_cell`` tasks, the most common left out."""
    counts = np.bincount(codes, minlength=len(labels))
    order = sorted((i for i in range(len(labels)) if counts[i] >= min_cell), key=lambda i: (-counts[i], labels[i]))
    kept = order[1:]  # the most common area is the reference
    if not kept:
        return np.zeros((codes.size, 0)), []
    return (codes[:, None] == np.asarray(kept)[None, :]).astype(float), [f"area={labels[i]}" for i in kept]


def price_index(facts: pl.DataFrame, *, min_cell_tasks: int, confidence: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hedonic time-dummy index per category and week, and the characteristic coefficients per category.

    ``facts`` has one row per priced task: ``category, week, week_start, price`` and any of the
    characteristic columns (``log_hours``, ``n_required_skills``, ``is_on_location``, ``area``).
    Polars sorts and summarises the cells once; each category is then a slice of NumPy arrays.
    """
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    if facts.height == 0:
        return pl.DataFrame(schema=PRICE_SCHEMA), pl.DataFrame(schema=HEDONIC_SCHEMA)
    facts = facts.sort("category", "week")
    cells = facts.group_by("category", "week", maintain_order=True).agg(
        week_start=pl.col("week_start").first(), n_priced=pl.len(), median_price_usd=pl.col("price").median()
    )
    n_t = cells.get_column("n_priced").to_numpy().astype(np.int64)
    row_cell = np.repeat(np.arange(cells.height), n_t)
    cell_cat = cells.get_column("category").to_list()
    cat_starts = np.flatnonzero(np.r_[True, [a != b for a, b in zip(cell_cat[1:], cell_cat[:-1], strict=True)]])
    cat_ends = np.append(cat_starts[1:], cells.height)
    row_starts = np.concatenate([[0], np.cumsum(n_t)])
    y_all = np.log(facts.get_column("price").to_numpy())
    x_all, x_names, area_codes, area_labels = _arrays(facts)
    median = cells.get_column("median_price_usd").to_numpy()
    out = {name: np.full(cells.height, np.nan) for name in ("raw_index", "price_index", "ci_lo", "ci_hi")}
    notes = np.full(cells.height, None, dtype=object)
    coefs: list[dict[str, object]] = []
    for c0, c1 in zip(cat_starts, cat_ends, strict=True):  # one small least-squares problem per category
        r0, r1 = row_starts[c0], row_starts[c1]
        x, names = x_all[r0:r1], list(x_names)
        if area_codes is not None:
            dummies, dummy_names = _area_dummies(area_codes[r0:r1], area_labels, min_cell_tasks)
            x, names = np.column_stack([x, dummies]), names + dummy_names
        coef_rows = _one_category(
            cell_cat[c0],
            y_all[r0:r1],
            x,
            names,
            row_cell[r0:r1] - c0,
            n_t[c0:c1],
            median[c0:c1],
            min_cell_tasks,
            z,
            {k: v[c0:c1] for k, v in out.items()},
            notes[c0:c1],
        )
        coefs.extend(coef_rows)
    index = (
        cells.with_columns(
            category=pl.col("category").cast(pl.String),
            n_priced=pl.col("n_priced").cast(pl.Int64),
            **{k: pl.Series(v).fill_nan(None) for k, v in out.items()},
            note=pl.Series(notes.tolist(), dtype=pl.String),
        )
        .select(list(PRICE_SCHEMA))
        .cast(PRICE_SCHEMA)
    )
    hedonic = pl.DataFrame(coefs, schema=HEDONIC_SCHEMA) if coefs else pl.DataFrame(schema=HEDONIC_SCHEMA)
    return index.sort("category", "week"), hedonic.sort("category", "characteristic")


def _one_category(
    category: str,
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    code: np.ndarray,
    n_t: np.ndarray,
    median: np.ndarray,
    min_cell: int,
    z: float,
    out: dict[str, np.ndarray],
    notes: np.ndarray,
) -> list[dict[str, object]]:
    """Fill ``out`` and ``notes`` (views on this category's cells) and return the coefficient rows."""
    n, k = x.shape
    n_weeks = n_t.size
    counts = n_t.astype(float)
    ybar = np.bincount(code, weights=y, minlength=n_weeks) / counts
    xbar = (
        np.column_stack([np.bincount(code, weights=x[:, j], minlength=n_weeks) / counts for j in range(k)])
        if k
        else (np.zeros((n_weeks, 0)))
    )
    y_w = y - ybar[code]
    x_w = x - xbar[code] if k else x
    # characteristics that never vary within a week cannot be told apart from the week effect
    keep = [j for j in range(k) if np.sum(x_w[:, j] ** 2) > 1e-10 * max(1.0, np.sum(x[:, j] ** 2))]
    x_w, xbar, names = x_w[:, keep], xbar[:, keep], [names[j] for j in keep]
    k = len(keep)
    df = n - n_weeks - k
    thin = n_t < min_cell
    for i in np.flatnonzero(thin):
        notes[i] = f"{int(n_t[i])} priced tasks (fewer than {min_cell}): no index"
    ok = np.flatnonzero(~thin)
    if ok.size == 0 or df < max(min_cell, 2 * k + 2):
        reason = (
            f"too few priced tasks for an index ({n} in {n_weeks} weeks; at least {min_cell} in a week needed)"
            if ok.size == 0
            else f"too few priced tasks to separate price from {k} characteristics ({n} tasks in {n_weeks} weeks)"
        )
        notes[:] = reason
        return []
    if k:
        xtx = x_w.T @ x_w
        beta, *_ = np.linalg.lstsq(x_w, y_w, rcond=None)
        resid = y_w - x_w @ beta
    else:
        xtx, beta, resid = np.zeros((0, 0)), np.zeros(0), y_w
    s2 = float(resid @ resid) / df
    v_beta = s2 * np.linalg.pinv(xtx) if k else np.zeros((0, 0))
    delta = ybar - xbar @ beta
    base = ok[0]
    d = xbar - xbar[base]
    var = s2 * (1.0 / counts + 1.0 / counts[base]) + np.einsum("ti,ij,tj->t", d, v_beta, d)
    var[base] = 0.0
    diff = delta - delta[base]
    se = np.sqrt(np.maximum(var, 0.0))
    good = ~thin
    out["price_index"][good] = 100 * np.exp(diff[good])
    out["ci_lo"][good] = 100 * np.exp(diff[good] - z * se[good])
    out["ci_hi"][good] = 100 * np.exp(diff[good] + z * se[good])
    out["raw_index"][good] = 100 * median[good] / median[base]
    total = float(y_w @ y_w)
    r2 = 1 - float(resid @ resid) / total if total > 0 else math.nan
    return [
        {
            "category": category,
            "characteristic": name,
            "coef": float(beta[j]),
            "se": float(math.sqrt(max(v_beta[j, j], 0.0))),
            "n_priced": n,
            "r2_within": r2 if math.isfinite(r2) else None,
        }
        for j, name in enumerate(names)
    ]
