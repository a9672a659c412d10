"""Compiled inner loop of the change scan's permutation test (Numba): one pass per order of the weeks.

The scan's statistic under ``P`` orders of ``T`` weeks for ``W`` workers needs, at every one of
``P x (T - 1)`` dates, each worker's restricted fit from sums over the weeks after the date, then
three sums over workers. In NumPy that is some thirty passes over ``P x T x W`` arrays, far larger
than the caches; here each order's running sums stay in cache and every worker's figures are made
and added up in one go. Orders run in parallel threads, each writing only its own rows, so the
result does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def scan_sums(
    series: np.ndarray,
    total: np.ndarray,
    orders: np.ndarray,
    rss: np.ndarray,
    dof: np.ndarray,
    n_rates: int,
    k: int,
    min_jobs: float,
) -> np.ndarray:  # pragma: no cover - compiled; checked against the NumPy reference in tests/pay/test_changes.py
    """Sums over workers of ``w``, ``w g``, ``w g^2`` and the count of workers, per order, rate and date.

    ``series`` is (weeks, series, workers) from ``_scan_series`` (per rate: ``zz``, ``k`` lifted
    columns, the residual; last the jobs), ``total`` its sum over weeks. Returns (orders, rates,
    weeks - 1, 4).
    """
    n_orders, n_weeks = orders.shape
    m, n_workers = series.shape[1], series.shape[2]
    out = np.zeros((n_orders, n_rates, max(n_weeks - 1, 0), 4))
    for p in prange(n_orders):
        before = np.zeros((m, n_workers))
        for pos in range(n_weeks - 1):
            before += series[orders[p, pos]]
            for r in range(n_rates):
                base = r * (k + 2)
                sw, swg, swg2, count = 0.0, 0.0, 0.0, 0.0
                for w in range(n_workers):  # branch-free, so that the compiler can use vector instructions
                    n_before = before[m - 1, w]
                    n_after = total[m - 1, w] - n_before
                    zz = total[base, w] - before[base, w]
                    zmz = zz
                    for i in range(k):
                        v = total[base + 1 + i, w] - before[base + 1 + i, w]
                        zmz -= v * v
                    zmy = total[base + k + 1, w] - before[base + k + 1, w]
                    gap = rss[w] * zmz - zmy * zmy  # the residual variance's numerator, times zmz
                    ok = (
                        (n_before >= min_jobs)
                        & (n_after >= min_jobs)
                        & (dof[w] > 0.0)
                        & (zmz > 1e-9 * max(zz, 1e-300))
                        & (gap > 0.0)
                        & (gap < np.inf)
                    )
                    f = (dof[w] if ok else 0.0) / (gap if ok else 1.0)
                    fz = f * zmz
                    sw += fz * zmz
                    swg += fz * zmy
                    swg2 += f * zmy * zmy
                    count += 1.0 if ok else 0.0
                out[p, r, pos, 0] = sw
                out[p, r, pos, 1] = swg
                out[p, r, pos, 2] = swg2
                out[p, r, pos, 3] = count
    return out
