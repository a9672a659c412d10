"""Speed of ``gigshift insights market`` on a 10-million-row decision log, and of ``insights trends``.

Data: a synthetic market (``gigshift.market.synthetic``) allocated once with bids (``gigshift.allocate``)
gives a real decision log of about 35,000 candidate rows. It is stacked ``--rows / n`` times,
vectorised: copy ``c`` of ``C`` becomes week ``52 c // C`` (weeks in order, as a log appended batch by batch
is) with its own batch-prefixed task ids, its prices drift (+0.2% a week)
and get ``LogNormal(0, 0.05)`` noise, and ratings move by ``Normal(0, 0.05)`` stars (clipped to 1..5).
The stack is written as an allocation-run folder (``decision_log.parquet`` with a ``week`` column,
plus ``policy.yaml``) in ``--workdir``.

Timed (best of ``--repeat`` after a warm-up): ``read_folder`` (reading the columns used), ``market``
(checks, activity per category and week, the hedonic price index, the conditional logit on a seeded
sample of 200,000 tasks), the two together, and the whole command in a fresh process
(``gigshift insights market DIR --json``, imports included). ``trends`` on the shipped OLI is timed too.

Target (issue #8, 2 cores): ``insights market`` on 10 million rows under 10 s.

Run: ``python benchmarks/insights.py [--rows N] [--repeat R] [--seed S] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl


def base_log(seed: int) -> pl.DataFrame:
    from gigshift.allocate import allocate
    from gigshift.market import synthetic

    market = synthetic(n_workers=20_000, n_tasks=5_000, seed=seed)
    return allocate(market.tasks, market.workers, bids=market.bids, seed=seed).decision_log


def stack(log: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    """``rows`` rows from copies of ``log``, one week per copy (modulo 52), vectorised."""
    rng = np.random.default_rng(seed)
    n = log.height
    copies = -(-rows // n)
    index = np.tile(np.arange(n), copies)[:rows]
    copy = np.repeat(np.arange(copies), n)[:rows]
    week = copy * 52 // copies  # week-major, as a log appended batch by batch is
    big = log.gather(index)
    drift = pl.Series(np.exp(0.002 * week + rng.normal(0, 0.05, rows)))
    shift = pl.Series(rng.normal(0, 0.05, rows))
    return big.with_columns(
        # batch-prefixed ids, in increasing order like the engine's sorted batches: "b0007-t0412"
        task_id=pl.concat_str(pl.lit("b"), pl.Series(copy).cast(pl.String).str.zfill(4), pl.lit("-"), "task_id"),
        week=pl.Series(week, dtype=pl.Int64),
        price_usd=(pl.col("price_usd") * drift).round(2),
        worker_rating=(pl.col("worker_rating") + shift).clip(1, 5).round(2),  # unrated workers stay null
    )


def best_of(fn, repeat: int) -> tuple[float, object]:
    value = fn()  # warm-up: imports, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="Where to write the stacked log (default: temp).")
    args = parser.parse_args()

    from gigshift.insights import market, read_folder, trends

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gigshift-insights-bench-"))
    folder = workdir / f"log-{args.rows}-seed{args.seed}"
    start = time.perf_counter()
    if not (folder / "decision_log.parquet").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        big = stack(base_log(args.seed), args.rows, args.seed)
        big.write_parquet(folder / "decision_log.parquet")
        (folder / "policy.yaml").write_text("# allocation run folder marker for the benchmark\n")
        del big
    build_s = time.perf_counter() - start
    size_mb = (folder / "decision_log.parquet").stat().st_size / 1e6

    read_s, loaded = best_of(lambda: read_folder(folder), args.repeat)
    rows = loaded.tables["decision_log"].height

    def analyse():
        return market(**loaded.tables, kinds=loaded.kinds, sources=loaded.files, seed=args.seed)

    market_s, result = best_of(analyse, args.repeat)

    def both():
        f = read_folder(folder)
        return market(**f.tables, kinds=f.kinds, sources=f.files, seed=args.seed).to_json()

    both_s, _ = best_of(both, args.repeat)
    command = [sys.executable, "-m", "gigshift", "insights", "market", str(folder), "--seed", str(args.seed), "--json"]
    env = {**os.environ, "GIGSHIFT_DEBUG": "1"}

    def cli():
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        return len(done.stdout)

    cli_s, _ = best_of(cli, args.repeat)
    trends_s, _ = best_of(trends, args.repeat)

    c = result.choice
    print(f"decision log: {rows:,} rows, {size_mb:,.0f} MB Parquet, built in {build_s:.1f} s ({folder})")
    print(
        f"activity: {result.activity.height:,} category-weeks; price index: "
        f"{result.prices['price_index'].is_not_null().sum():,} cells with a value; choice model: "
        f"{c['n_tasks']:,} of {c['n_tasks_available']:,} tasks ({c['n_candidates']:,} candidates), "
        f"{c['n_iter']} Newton steps"
    )
    print()
    print(f"| step (best of {args.repeat}, {os.cpu_count()} cores) | seconds |")
    print("| --- | ---: |")
    print(f"| read_folder (columns used) | {read_s:.2f} |")
    print(f"| market() (checks, activity, price index, choice model) | {market_s:.2f} |")
    print(f"| read_folder + market() + to_json() | {both_s:.2f} |")
    print(f"| `gigshift insights market DIR --json`, fresh process | {cli_s:.2f} |")
    print(f"| trends() on the shipped OLI | {trends_s:.2f} |")
    print()
    print(f"target: `insights market` on {rows:,} rows under 10 s -> {'met' if cli_s < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
