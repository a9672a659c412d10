"""Compiled inner loop of the change scan's permutation test (Numba): one pass per order of the weeks.

The scan's statistic under ``P`` orders of ``T`` weeks for ``W`` workers needs, at every one of
``P x (T - 1)`` dates, each worker's restricted fit from sums over the weeks after the date, then
three sums over workers. In NumPy that is some thirty passes over ``P x T x W`` arrays, far larger
than the caches; here each order's running sums stay in cache and every worker's figures are made
and added up in one go. Orders run in parallel threads, each writing only its own rows, so the
result does not depend on the number of threads.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, prange

#: held around each call: a threading layer without OpenMP or TBB (Numba's workqueue) aborts the process
#: when two Python threads (a server's request handlers) run parallel code at once
LOCK = threading.Lock()


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
    block: int = 256,
) -> np.ndarray:  # pragma: no cover - compiled; checked against the NumPy reference in tests/pay/test_changes.py
    """Sums over workers of ``w``, ``w g``, ``w g^2`` and the count of workers, per order, rate and date.

    ``series`` is (weeks, series, workers) from ``_scan_series`` (per rate: ``zz``, ``k`` lifted
    columns, the residual; last the jobs), ``total`` its sum over weeks. Returns (orders, rates,
    weeks - 1, 4).
    """
    n_orders, n_weeks = orders.shape
    m, n_workers = series.shape[1], series.shape[2]
    out = np.zeros((n_orders, n_rates, max(n_weeks - 1, 0), 4))
    third = 1.0 if k == 3 else 0.0  # k is 2 or 3, written out so that the loop over workers is innermost
    for p in prange(n_orders):
        for lo in range(0, n_workers, block):  # a block of workers at a time: their sums stay in cache
            size = min(block, n_workers - lo)
            before = np.zeros((m, size))
            for pos in range(n_weeks - 1):
                before += series[orders[p, pos], :, lo : lo + size]
                n_b, n_t = before[m - 1], total[m - 1]
                for r in range(n_rates):
                    base = r * (k + 2)
                    # whole rows, indexed alike, so that the loop over workers runs on vector instructions
                    zz_b, zz_t = before[base], total[base]
                    v0_b, v0_t = before[base + 1], total[base + 1]
                    v1_b, v1_t = before[base + 2], total[base + 2]
                    v2_b, v2_t = before[base + 3], total[base + 3]
                    y_b, y_t = before[base + k + 1], total[base + k + 1]
                    sw, swg, swg2, count = 0.0, 0.0, 0.0, 0.0
                    for w in range(size):
                        i = lo + w
                        n_before = n_b[w]
                        n_after = n_t[i] - n_before
                        zz = zz_t[i] - zz_b[w]
                        v0 = v0_t[i] - v0_b[w]
                        v1 = v1_t[i] - v1_b[w]
                        v2 = (v2_t[i] - v2_b[w]) * third  # k = 2: the residual, times 0
                        zmz = zz - v0 * v0 - v1 * v1 - v2 * v2
                        zmy = y_t[i] - y_b[w]
                        gap = rss[i] * zmz - zmy * zmy  # the residual variance's numerator, times zmz
                        ok = (
                            (n_before >= min_jobs)
                            & (n_after >= min_jobs)
                            & (dof[i] > 0.0)
                            & (zmz > 1e-9 * max(zz, 1e-300))
                            & (gap > 0.0)
                            & (gap < np.inf)
                        )
                        # each term under its own condition: the form the compiler turns into vector code
                        sw += (dof[i] / gap * zmz * zmz) if ok else 0.0
                        swg += (dof[i] / gap * zmz * zmy) if ok else 0.0
                        swg2 += (dof[i] / gap * zmy * zmy) if ok else 0.0
                        count += 1.0 if ok else 0.0
                    out[p, r, pos, 0] += sw
                    out[p, r, pos, 1] += swg
                    out[p, r, pos, 2] += swg2
                    out[p, r, pos, 3] += count
    return out
