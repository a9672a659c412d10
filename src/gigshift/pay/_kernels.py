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


# The rate card's rounds (``gigshift.pay._changes._baseline``) and the panel's worker-week sums pass over
# every job a few times; in NumPy each pass makes several job-sized temporaries. These make one serial
# pass each, adding up in the jobs' (canonical) order, so that figures do not depend on threads. ``x``
# has 2 or 3 columns; with 2 the third term is 0 (:func:`_terms`), so that one loop serves both and its
# sums stay in registers.


@njit(cache=True, nogil=True, inline="always")
def _terms(x: np.ndarray, i: int) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Row ``i`` of ``x`` as three terms (with two columns, the third is 0)."""
    k = x.shape[1]
    return x[i, 0], x[i, 1], x[i, k - 1] * (1.0 if k == 3 else 0.0)


@njit(cache=True, nogil=True, inline="always")
def _symmetric(
    s00: float, s01: float, s02: float, s11: float, s12: float, s22: float, k: int
) -> np.ndarray:  # pragma: no cover - compiled
    """The k x k symmetric matrix of these sums."""
    return np.array([[s00, s01, s02], [s01, s11, s12], [s02, s12, s22]])[:k, :k]


@njit(cache=True, nogil=True, fastmath={"contract", "nsz", "arcp"})
def card_log_ratio(
    x: np.ndarray, rates: np.ndarray, log_pay: np.ndarray, cell: np.ndarray, n_cells: int
) -> np.ndarray:  # pragma: no cover - compiled; checked against NumPy in tests/pay/test_changes.py
    """Per cell, the sum of ``log(pay) - log(card)`` over its jobs, ``card = max(x @ rates, 1e-12)``."""
    out = np.zeros(n_cells)
    r0, r1, r2 = _terms(rates.reshape(1, -1), 0)
    for i in range(x.shape[0]):
        x0, x1, x2 = _terms(x, i)
        out[cell[i]] += log_pay[i] - np.log(max(x0 * r0 + x1 * r1 + x2 * r2, 1e-12))
    return out


@njit(cache=True, nogil=True, fastmath={"contract", "nsz", "arcp"})
def card_normal_equations(
    x: np.ndarray, rates: np.ndarray, pay: np.ndarray, scale: np.ndarray, cell: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; checked against NumPy in tests/pay/test_changes.py
    """``x' W x`` and ``x' W y`` of the card's refit: weights ``1 / card^2``, ``y = pay / scale[cell]``."""
    k = x.shape[1]
    r0, r1, r2 = _terms(rates.reshape(1, -1), 0)
    s00 = s01 = s02 = s11 = s12 = s22 = b0 = b1 = b2 = 0.0
    for i in range(x.shape[0]):
        x0, x1, x2 = _terms(x, i)
        card = max(x0 * r0 + x1 * r1 + x2 * r2, 1e-12)
        w = 1.0 / (card * card)
        wy = w * pay[i] / scale[cell[i]]
        s00 += w * x0 * x0
        s01 += w * x0 * x1
        s02 += w * x0 * x2
        s11 += w * x1 * x1
        s12 += w * x1 * x2
        s22 += w * x2 * x2
        b0 += wy * x0
        b1 += wy * x1
        b2 += wy * x2
    return _symmetric(s00, s01, s02, s11, s12, s22, k).copy(), np.array([b0, b1, b2])[:k].copy()


@njit(cache=True, nogil=True, fastmath={"contract", "nsz", "arcp"})
def cell_moments(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, cell: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled; checked in tests
    """Per cell: ``sum w x x'`` (cells, k, k), ``sum w x y`` (cells, k), ``sum w y^2`` and the count of jobs.

    The jobs come in runs of one cell (sorted by worker and week): a run's sums are kept in registers
    and written when it ends.
    """
    k = x.shape[1]
    xx, xy = np.zeros((n_cells, k, k)), np.zeros((n_cells, k))
    yy, n = np.zeros(n_cells), np.zeros(n_cells)
    size = x.shape[0]
    start = 0
    while start < size:
        c = cell[start]
        end = start
        s00 = s01 = s02 = s11 = s12 = s22 = b0 = b1 = b2 = q = 0.0
        while end < size and cell[end] == c:
            x0, x1, x2 = _terms(x, end)
            wi, yi = w[end], y[end]
            s00 += wi * x0 * x0
            s01 += wi * x0 * x1
            s02 += wi * x0 * x2
            s11 += wi * x1 * x1
            s12 += wi * x1 * x2
            s22 += wi * x2 * x2
            b0 += wi * x0 * yi
            b1 += wi * x1 * yi
            b2 += wi * x2 * yi
            q += wi * yi * yi
            end += 1
        xx[c] += _symmetric(s00, s01, s02, s11, s12, s22, k)
        xy[c] += np.array([b0, b1, b2])[:k]
        yy[c] += q
        n[c] += end - start
        start = end
    return xx, xy, yy, n


_MINUS_ONE_BITS = np.float64(-1.0).view(np.uint64)


@njit(cache=True, nogil=True)
def order_by_cell_and_hash(
    cell: np.ndarray, minutes: np.ndarray, km: np.ndarray, pay: np.ndarray, category: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; checked against NumPy in tests/pay/test_changes.py
    """The jobs' order by cell, then by a 64-bit hash of their values (minutes, km with -1 for none, pay,
    category): a counting sort by cell, then an insertion sort of each cell's jobs (a worker-week's few
    dozen) by hash. Also returns the positions ``p`` in that order where jobs ``p`` and ``p + 1`` share
    cell and hash (for the caller to tell apart by their values)."""
    minutes_bits, km_bits, pay_bits = minutes.view(np.uint64), km.view(np.uint64), pay.view(np.uint64)
    hashes = np.empty(cell.size, dtype=np.uint64)
    for i in range(cell.size):  # splitmix-style mixing of the values' bits
        h = minutes_bits[i] * np.uint64(0x9E3779B97F4A7C15)
        more = km_bits[i] if km[i] == km[i] else _MINUS_ONE_BITS
        for value in (more, pay_bits[i], np.uint64(category[i])):
            h = (h ^ (h >> np.uint64(31)) ^ value) * np.uint64(0xBF58476D1CE4E5B9)
        hashes[i] = h ^ (h >> np.uint64(29))
    size = cell.size
    start = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(size):
        start[cell[i] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(size, dtype=np.int64)
    sorted_hashes = np.empty(size, dtype=hashes.dtype)  # beside the order: each cell's sort reads memory in a row
    for i in range(size):
        at = fill[cell[i]]
        order[at] = i
        sorted_hashes[at] = hashes[i]
        fill[cell[i]] += 1
    ties = np.empty(max(size - 1, 0), dtype=np.int64)
    n_ties = 0
    for c in range(n_cells):
        lo, hi = start[c], start[c + 1]
        for j in range(lo + 1, hi):
            item, key = order[j], sorted_hashes[j]
            m = j - 1
            while m >= lo and sorted_hashes[m] > key:
                order[m + 1], sorted_hashes[m + 1] = order[m], sorted_hashes[m]
                m -= 1
            order[m + 1], sorted_hashes[m + 1] = item, key
        for j in range(lo, hi - 1):
            if sorted_hashes[j] == sorted_hashes[j + 1]:
                ties[n_ties] = j
                n_ties += 1
    return order, ties[:n_ties].copy()


@njit(cache=True, nogil=True)
def mixture_em(
    u: np.ndarray,
    s: np.ndarray,
    on: np.ndarray,
    mu_start: np.ndarray,
    median_s: float,
    common_sd: float,
    iterations: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:  # pragma: no cover - compiled; checked in tests
    """The EM steps of ``gigshift.pay._changes._fit_mixture``: weights, means, responsibilities (workers x 3),
    ``kappa`` and the log likelihood, for the parts ``on`` from means ``mu_start``. One pass over the
    workers per step, where NumPy made some twenty (workers x 3) arrays."""
    n = u.size
    var = s * s
    inv_var = 1.0 / var
    log_var = np.log(2.0 * np.pi * var)
    n_on = 0.0
    for j in range(3):
        n_on += 1.0 if on[j] else 0.0
    weight = np.zeros(3)
    for j in range(3):
        weight[j] = 1.0 / n_on if on[j] else 0.0
    mu = mu_start.copy()
    kappa, loglik = 1.0, -np.inf
    resp = np.zeros((n, 3))
    log_w = np.empty(3)
    for _ in range(iterations):
        for j in range(3):
            log_w[j] = np.log(weight[j]) if weight[j] > 0.0 else -np.inf
        log_kappa = np.log(kappa)
        loglik = 0.0
        count, prec, first = np.zeros(3), np.zeros(3), np.zeros(3)
        for i in range(n):
            top = -np.inf
            lp = np.empty(3)
            for j in range(3):
                d = u[i] - mu[j]
                lp[j] = log_w[j] - 0.5 * (log_kappa + log_var[i] + d * d * inv_var[i] / kappa)
                top = max(top, lp[j])
            total = 0.0
            for j in range(3):
                lp[j] = np.exp(lp[j] - top)
                total += lp[j]
            loglik += top + np.log(total)
            for j in range(3):
                r = lp[j] / total
                resp[i, j] = r
                count[j] += r
                prec[j] += r * inv_var[i]
                first[j] += r * inv_var[i] * u[i]
        before_w, before_mu, before_kappa = weight.copy(), mu.copy(), kappa
        for j in range(3):
            weight[j] = count[j] / n
        means = first / prec
        if weight[0] >= 0.05 and np.isfinite(means[0]):  # a normal prior N(0, common_sd^2) holds it near 0
            data = prec[0] / kappa
            mu[0] = min(max(means[0] * data / (data + common_sd**-2), -3.0 * common_sd), 3.0 * common_sd)
        floor = median_s * np.sqrt(kappa)
        if np.isfinite(means[1]):
            mu[1] = min(means[1], mu[0] - floor)
        if np.isfinite(means[2]):
            mu[2] = max(means[2], mu[0] + floor)
        spread = 0.0
        for i in range(n):
            for j in range(3):
                d = u[i] - mu[j]
                spread += resp[i, j] * d * d * inv_var[i]
        kappa = min(max(spread / n, 1.0), 16.0)
        moved = abs(kappa - before_kappa)
        for j in range(3):
            moved = max(moved, abs(weight[j] - before_w[j]), abs(mu[j] - before_mu[j]))
        if moved < 1e-13:  # converged to rounding: further steps change nothing that is reported
            break
    return weight, mu, resp, kappa, loglik
