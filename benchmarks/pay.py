"""Speed of the collective pay audit on 10 million jobs, and of importing a 1-million-row CSV export.

Data: ``gigshift.pay.synthetic`` with ``--workers`` workers (default 10,000) and enough weeks for
``--jobs`` jobs (default 10 million) on two platforms, a planted pay-per-km cut and a planted gap,
written as a pool directory (timed as "write pool": checks against the stored pool, Parquet, consent).

Timed (best of ``--repeat`` after a warm-up):

- ``audit``: the whole ``gigshift.pay.audit`` on the pool: reading the jobs and sessions with consent
  in force, the per worker-week sums, cells by platform x category x week with k-anonymous
  suppression (complementary cells included), 200 bootstrap replicates resampling workers, shares
  below five standards, change detection and Oaxaca-Blinder gaps; and its parts;
- ``gigshift pay audit DIR --json`` in a fresh process (imports included);
- ``import``: ``load`` + ``Pool.add`` of a 1-million-row CSV, once in canonical columns and once in
  the ride-hailing trips layout through the shipped ``rideco-trips`` mapping.

Targets (issue #9, 2 cores): a full audit with bootstrap intervals of 10 million jobs from 10,000
workers under 15 s; the import of a 1-million-row CSV under 5 s.

Run: ``python benchmarks/pay.py [--workers N] [--jobs N] [--repeat R] [--seed S] [--workdir DIR]``.

Measured (2026-11-28, 2 cores). First stop: the code of issue #9's report against the compiled permutation
scan (Numba), one-key job ordering, cheaper baseline rounds, converged-EM stop, lz4 pool files, the UTC
time fast path and the week lookup by position (2 cores shared with 4-5 other jobs, load average given).

| what                                             | before                  | after                              |
| ------------------------------------------------ | ----------------------: | ---------------------------------: |
| detect_changes, 10M jobs / 10k workers           | 84-109 s (issue report) | 12.3-16.0 s (load 4.6-5.7)         |
| audit(pool), 10M jobs / 10k workers              | 119-185 s (issue)       | 24.5 s, CPU 36 s (load 7.1 -> 5.2) |
| load + add, 1M-row canonical CSV                 | 3.2 s (load 1.6)        | 3.7-3.8 s (load 4.6-8.4)           |

Second stop (an otherwise idle machine): change detection runs in a thread beside the rest of the audit;
the rate card's rounds, the worker-week sums, the canonical job order and the mixture's EM are compiled
passes; each group is scanned once for its own order and the permutations; suppression is planned once for
cells and totals; the bootstrap multiplies a dense matrix (BLAS); margins' worker counts hash the ids once;
one BLAS thread during the audit; statsmodels imported in the background.

| what                                             | before (first stop) | after            |
| ------------------------------------------------ | ------------------: | ---------------: |
| detect_changes, 10M jobs / 10k workers           | 12.2 s              | 6.3 s            |
| bootstrap intervals, 200 replicates              | 2.6 s               | 1.4 s            |
| audit(pool), 10M jobs / 10k workers              | 23.0 s              | 12.6 s (< 15 s)  |
| gigshift pay audit DIR --json, fresh process     | 24.2 s              | 17.1 s           |
| load + add, 1M-row canonical CSV                 | 3.1 s               | 2.8 s (< 5 s)    |

The fresh process pays for its imports and for the first touch of its working memory (1.8 million page
faults, some 5 s of system CPU), which a warm process has already made; run alone, it took 14.4-17.5 s over
six runs (17.1 s in the benchmark's own run, which follows its other steps). The planted cut is recovered as
-0.150 [-0.151, -0.150] on 2025-03-03 with 0.40 of workers cut.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

GIVEN = datetime(2026, 1, 1, tzinfo=UTC)
CONTROLS = ("platform", "category", "area")


def best_of(fn, repeat: int) -> tuple[float, object]:
    value = fn()  # warm-up: imports, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def once(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def trips_layout(jobs: pl.DataFrame) -> pl.DataFrame:
    """Jobs written the way the rideco-trips mapping reads them (local times, miles, dollar strings)."""
    tz, local = "America/New_York", "%Y-%m-%d %H:%M:%S"
    base = (pl.col("worker_pay") * 0.3).round(2)
    surge = (pl.col("worker_pay") * 0.1).round(2)
    return jobs.select(
        pl.col("worker_id").alias("Driver ID"),
        pl.col("category").replace({"ride": "Ride", "ride-xl": "Ride XL"}).alias("Product"),
        pl.col("area").alias("Zone"),
        pl.col("start").dt.convert_time_zone(tz).dt.strftime(local).alias("Begin Trip Time"),
        pl.col("end").dt.convert_time_zone(tz).dt.strftime(local).alias("Dropoff Time"),
        (pl.col("distance_km") / 1.609344).round(3).alias("Trip Distance (miles)"),
        pl.lit("COMPLETED").alias("Trip Status"),
        pl.format("${}", pl.col("client_price").round(2)).alias("Rider Fare"),
        pl.format("${}", base).alias("Base Fare"),
        pl.format("${}", surge).alias("Surge"),
        pl.format("${}", (pl.col("worker_pay") - base - surge).round(2)).alias("Time and Distance"),
        pl.format("${}", pl.col("tips").fill_null(0)).alias("Tip"),
        pl.col("bonus").cast(pl.String).alias("Quest Bonus"),
        pl.col("currency").alias("Currency Code"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="Where to write pools and CSVs (default: temp).")
    args = parser.parse_args()

    from gigshift.pay import Pool, audit, load, synthetic
    from gigshift.pay._audit import _cell_sums, _fill_area, _gaps
    from gigshift.pay._changes import detect_changes
    from gigshift.pay._metrics import aggregate, intervals, poisson_weights, units, worker_codes
    from gigshift.pay._privacy import suppress

    work = args.workdir or Path(tempfile.mkdtemp(prefix="gigshift-pay-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, float, str]] = []

    # about 24.5 jobs per worker-week at the default habits
    n_weeks = max(1, round(args.jobs / (args.workers * 24.5)))
    t_draw, pool_data = once(
        lambda: synthetic(
            n_workers=args.workers,
            n_weeks=n_weeks,
            changes=[{"platform": "rideco", "date": "2025-03-03", "factor": 0.85, "share": 0.4}],
            group_gaps={"sex": {"female": 0.92}},
            seed=args.seed,
        )
    )
    n_jobs = pool_data.jobs.height
    rows.append(("setup", f"draw a synthetic pool ({n_weeks} weeks)", t_draw, f"{n_jobs:,} jobs"))
    pool_dir = work / "pool"
    if pool_dir.exists():
        import shutil

        shutil.rmtree(pool_dir)
    t_write, _ = once(lambda: pool_data.write(pool_dir, given_at=GIVEN))
    rows.append(("setup", "write pool (checks, Parquet, consent)", t_write, f"{n_jobs / t_write:,.0f} jobs/s"))
    pool = Pool.open(pool_dir)
    config = pool.config

    t_audit, result = best_of(lambda: audit(pool, seed=args.seed), args.repeat)
    rows.append(("audit", "audit(pool): everything, 200 bootstrap replicates", t_audit, "target < 15 s"))

    t_read, jobs = best_of(pool.jobs, args.repeat)
    sessions = pool.sessions()
    rows.append(("  part", "read jobs with consent in force", t_read, f"{jobs.height:,} rows"))
    t_units, table = best_of(lambda: _fill_area(units(jobs, sessions, config)), args.repeat)
    rows.append(("  part", "sums per worker, platform, category, area, week", t_units, f"{table.height:,} rows"))
    keys = ["platform", "category", "week"]
    t_cells, exact = best_of(lambda: _cell_sums(table, keys, config.standards), args.repeat)
    rows.append(("  part", "cell sums and shares below 5 standards", t_cells, f"{exact.height:,} cells"))
    values = [c for c in exact.columns if c not in (*keys, "workers")]
    t_supp, _ = best_of(
        lambda: suppress(exact, k=11, dims=tuple(keys), values=values, contributions=table.select("worker_id", *keys)),
        args.repeat,
    )
    rows.append(("  part", "suppress (k = 11, complementary)", t_supp, ""))
    codes = worker_codes(table)
    t_boot, _ = best_of(
        lambda: intervals(
            table,
            keys,
            aggregate(table, keys),
            worker_codes=codes,
            weights=poisson_weights(codes.height, 200, np.random.default_rng(1)),
            confidence=0.95,
        ),
        args.repeat,
    )
    rows.append(("  part", "bootstrap intervals, 200 replicates", t_boot, f"{codes.height:,} workers"))
    t_changes, (pooled, _) = best_of(lambda: detect_changes(jobs, seed=1), args.repeat)
    rows.append(("  part", "detect_changes", t_changes, f"{pooled.height} change(s)"))
    t_gaps, _ = best_of(
        lambda: _gaps(table, pool.workers(), k=11, controls=CONTROLS, seed=np.random.SeedSequence(1)),
        args.repeat,
    )
    rows.append(("  part", "Oaxaca-Blinder gaps", t_gaps, ""))

    env = {**os.environ, "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "")}
    cmd = [sys.executable, "-m", "gigshift", "pay", "audit", str(pool_dir), "--json", "--seed", "1"]
    t_cli, done = once(lambda: subprocess.run(cmd, capture_output=True, text=True, env=env, check=False))
    rows.append(("cli", "gigshift pay audit DIR --json (fresh process)", t_cli, f"exit {done.returncode}"))

    # import: 1 million rows of CSV, canonical and in an export layout
    sample = pool_data.jobs.head(1_000_000)
    canonical = work / "jobs_1m.csv"
    sample.write_csv(canonical)
    exported = work / "trips_1m.csv"
    trips_layout(sample.filter(pl.col("platform") == "rideco").head(1_000_000)).write_csv(exported)
    n_exported = pl.scan_csv(exported).select(pl.len()).collect().item()

    def import_into(path: Path, mapping: str | None) -> dict:
        target = work / f"import-{path.stem}"
        if target.exists():
            import shutil

            shutil.rmtree(target)
        contribution = load(path, mapping=mapping)
        return Pool.open(target, create=True).add(contribution, given_at=GIVEN)

    t_import, added = best_of(lambda: import_into(canonical, None), args.repeat)
    rows.append(("import", "1M-row CSV, canonical columns (load + add)", t_import, f"{added['jobs']:,} jobs; < 5 s"))
    t_load, _ = best_of(lambda: load(canonical), args.repeat)
    rows.append(("  part", "load (read as text, parse, check)", t_load, ""))
    t_mapped, added = best_of(lambda: import_into(exported, "rideco-trips"), args.repeat)
    rows.append(
        ("import", f"{n_exported:,}-row trips export, rideco-trips mapping", t_mapped, f"{added['jobs']:,} jobs")
    )

    sex = result.gaps.filter(pl.col("attribute") == "sex")
    cut = result.changes.filter(pl.col("platform") == "rideco")
    print(f"\ngigshift pay benchmark: {args.workers:,} workers, {n_jobs:,} jobs, {os.cpu_count()} CPUs, "
          f"best of {args.repeat}\n")  # fmt: skip
    print(f"| {'step':<7} | {'what':<52} | {'seconds':>8} | {'note':<28} |")
    print(f"| {'-' * 7} | {'-' * 52} | {'-' * 8}: | {'-' * 28} |")
    for step, what, seconds, note in rows:
        print(f"| {step:<7} | {what:<52} | {seconds:>8.2f} | {note:<28} |")
    print("\nplanted vs recovered:")
    rates = dict(result.platforms.select("platform", "take_rate").iter_rows())
    print(f"  take rate: rideco 0.25 -> {rates['rideco']:.4f}; dashfood 0.30 -> {rates['dashfood']:.4f}")
    if cut.height:
        r = cut.row(0, named=True)
        ci = f"[{r['ci_lo']:+.3f}, {r['ci_hi']:+.3f}]"
        print(f"  rideco pay_per_km cut -15% for 40% from 2025-03-03 -> {r['change']:+.3f} {ci} on {r['date']}, "
              f"{r['share_of_workers_cut']:.2f} of workers cut")  # fmt: skip
    if sex.height:
        r = sex.row(0, named=True)
        print(f"  gap female vs male, planted {-np.log(0.92):.4f} log points -> unexplained {r['unexplained']:.4f} "
              f"(se {r['unexplained_se']:.4f})")  # fmt: skip


if __name__ == "__main__":
    main()
