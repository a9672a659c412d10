"""Speed of the simulator (gigshift.simulate), and its core loop against an equivalent Mesa 3.3 model.

Tables printed (Markdown):

1. Full simulator: ``genai-2022`` with the allocation engine every week, at 10k and 100k workers
   x 52 weeks (and 1M with ``--million``): seconds per stage, agent-steps (worker-weeks) per
   second, peak memory. Each size runs in its own process for its peak RSS.
2. Core loop, side by side: each week clients post tasks per category (Poisson), every active
   worker bids on one open task of its category at its reservation wage times a markup and a
   uniform noise in [0.9, 1.1],
   each task goes to its lowest bid, and winners are paid. gigshift's version is the vectorised
   NumPy form the simulator is built from; Mesa's is one ``Worker`` agent per worker
   (``model.agents.shuffle_do("step")``), as Mesa models are written. Both run the same
   parameters; their fill rates and mean pay must agree (they are the same model).

Targets (issue #5, 2 cores): 100k workers x 52 weeks under 60 s; 1M x 52 under 10 minutes and
8 GB; the core loop at least 50x Mesa's agent-steps per second.

Run: ``python benchmarks/simulate.py [--weeks 52] [--million] [--seed 1]`` (Mesa is a benchmark-only
dependency: ``pip install 'mesa>=3.3,<3.4'``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

N_CATEGORIES = 40
TASKS_PER_WORKER = 0.12
MARKUP = 0.15


def full_run(workers: int, weeks: int, seed: int) -> dict[str, object]:
    from gigshift.simulate import run

    start = time.perf_counter()
    result = run("genai-2022", workers=workers, weeks=weeks, seed=seed)
    elapsed = time.perf_counter() - start
    steps = result.panel.height
    return {
        "workers": workers,
        "weeks": weeks,
        "seconds": elapsed,
        **{f"{k}_s": v for k, v in result.timings.items()},
        "agent_steps": steps,
        "steps_per_s": steps / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tasks_filled": result.summary()["tasks_filled"],
    }


# --------------------------------------------------------------------------------------------------
# The core loop, vectorised (gigshift's way)


def core_numpy(workers: int, weeks: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    category = rng.integers(0, N_CATEGORIES, workers)
    ask = (rng.lognormal(np.log(20), 0.4, workers) * (1 + MARKUP)).astype(np.float32)
    earnings = np.zeros(workers)
    expected = TASKS_PER_WORKER * np.bincount(category, minlength=N_CATEGORIES)
    everyone = np.arange(workers)
    posted_total = filled_total = 0
    paid_total = 0.0
    start = time.perf_counter()
    for _ in range(weeks):
        posted = rng.poisson(expected)  # posting
        offsets = np.zeros(N_CATEGORIES + 1, dtype=np.int32)
        np.cumsum(posted, out=offsets[1:])
        open_here = posted[category].astype(np.float32)
        if open_here.all():  # the usual case: every category has open tasks, no gathering needed
            bidders, n_open, cat, base = everyone, open_here, category, ask
        else:
            bidders = np.flatnonzero(open_here > 0)
            n_open, cat, base = open_here[bidders], category[bidders], ask[bidders]
        # bidding: one open task of the worker's category, at the ask times noise
        task = offsets[cat] + (rng.random(bidders.size, dtype=np.float32) * n_open).astype(np.int32)
        price = base * (np.float32(0.9) + np.float32(0.2) * rng.random(bidders.size, dtype=np.float32))
        best = np.full(int(offsets[-1]), np.inf, dtype=np.float32)
        np.minimum.at(best, task, price)  # matching: the lowest bid wins
        won = price == best[task]
        winners, pay = bidders[won], price[won]
        earnings += np.bincount(winners, weights=pay, minlength=workers)  # earnings
        posted_total += int(offsets[-1])
        filled_total += int(won.sum())
        paid_total += float(pay.sum())
    elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "steps_per_s": workers * weeks / elapsed,
        "fill_rate": filled_total / posted_total,
        "mean_pay": paid_total / filled_total,
    }


# --------------------------------------------------------------------------------------------------
# The same loop in Mesa 3.3: one agent per worker


def core_mesa(workers: int, weeks: int, seed: int) -> dict[str, float]:
    import mesa

    class Worker(mesa.Agent):
        def __init__(self, model: mesa.Model, category: int, reservation: float) -> None:
            super().__init__(model)
            self.category = category
            self.reservation = reservation
            self.earnings = 0.0

        def step(self) -> None:  # bidding
            open_tasks = self.model.open_tasks[self.category]
            if open_tasks:
                task = open_tasks[int(self.random.random() * len(open_tasks))]
                price = self.reservation * (1 + MARKUP) * (0.9 + 0.2 * self.random.random())
                best = self.model.best_bid.get(task)
                if best is None or price < best[0]:
                    self.model.best_bid[task] = (price, self)

    class Market(mesa.Model):
        def __init__(self, n: int, seed: int) -> None:
            super().__init__(seed=seed)
            rng = np.random.default_rng(seed)
            categories = rng.integers(0, N_CATEGORIES, n)
            reservations = rng.lognormal(np.log(20), 0.4, n)
            for c, r in zip(categories.tolist(), reservations.tolist(), strict=True):
                Worker(self, c, r)
            self.expected = TASKS_PER_WORKER * np.bincount(categories, minlength=N_CATEGORIES)
            self.np_rng = rng
            self.posted_total = self.filled_total = 0
            self.paid_total = 0.0

        def step(self) -> None:
            posted = self.np_rng.poisson(self.expected)  # posting
            next_id = 0
            self.open_tasks = {}
            for c in range(N_CATEGORIES):
                self.open_tasks[c] = list(range(next_id, next_id + int(posted[c])))
                next_id += int(posted[c])
            self.best_bid = {}
            self.agents.shuffle_do("step")
            for price, worker in self.best_bid.values():  # matching and earnings
                worker.earnings += price
                self.paid_total += price
            self.posted_total += next_id
            self.filled_total += len(self.best_bid)

    model = Market(workers, seed)
    start = time.perf_counter()
    for _ in range(weeks):
        model.step()
    elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "steps_per_s": workers * weeks / elapsed,
        "fill_rate": model.filled_total / model.posted_total,
        "mean_pay": model.paid_total / model.filled_total,
    }


def table(rows: list[dict[str, object]], columns: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(t for _, t, _ in columns) + " |"
    rule = "| " + " | ".join("---:" for _ in columns) + " |"
    body = ["| " + " | ".join(format(r[k], f) if f else str(r[k]) for k, _, f in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--million", action="store_true", help="also run 1M workers (about 10 minutes)")
    parser.add_argument("--full", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--core-only", action="store_true", help="only the core-loop comparison")
    args = parser.parse_args()
    if args.full:
        print(json.dumps(full_run(args.full, args.weeks, args.seed)))
        return

    sizes = [] if args.core_only else [10_000, 100_000, *([1_000_000] if args.million else [])]
    rows = []
    for n in sizes:
        print(f"full simulator, {n:,} workers ...", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, __file__, "--full", str(n), "--weeks", str(args.weeks), "--seed", str(args.seed)],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if rows:
        print(f"\n### Full simulator: genai-2022, allocation engine every week, {args.weeks} weeks\n")
        print(
            table(
                rows,
                [
                    ("workers", "workers", ",d"),
                    ("seconds", "total s", ".1f"),
                    ("setup_s", "setup s", ".1f"),
                    ("allocate_s", "allocate s", ".1f"),
                    ("demand_s", "demand s", ".1f"),
                    ("outcomes_s", "outcomes s", ".1f"),
                    ("tables_s", "tables s", ".1f"),
                    ("steps_per_s", "worker-weeks / s", ",.0f"),
                    ("peak_rss_mb", "peak RSS MB", ",.0f"),
                ],
            )
        )
    core = []
    for n in (10_000, 100_000):
        print(f"core loop, {n:,} workers ...", file=sys.stderr)
        # Five back-to-back pairs: this machine's speed drifts, so each ratio compares runs made
        # under the same conditions, and the median ratio is reported with the best rates.
        pairs = [(core_numpy(n, args.weeks, args.seed), core_mesa(n, args.weeks, args.seed)) for _ in range(5)]
        ours = max((p[0] for p in pairs), key=lambda r: r["steps_per_s"])
        mesa_run = max((p[1] for p in pairs), key=lambda r: r["steps_per_s"])
        ratios = sorted(p[0]["steps_per_s"] / p[1]["steps_per_s"] for p in pairs)
        core.append(
            {
                "workers": n,
                "ours": ours["steps_per_s"],
                "mesa": mesa_run["steps_per_s"],
                "speedup": ratios[2],
                "speedup_range": f"{ratios[0]:.0f}-{ratios[-1]:.0f}",
                "fill_ours": ours["fill_rate"],
                "fill_mesa": mesa_run["fill_rate"],
                "pay_ours": ours["mean_pay"],
                "pay_mesa": mesa_run["mean_pay"],
            }
        )
    print(
        f"\n### Core loop (posting, bidding, matching, earnings), {args.weeks} weeks: agent-steps per second "
        "(best of 5)\n"
    )
    print(
        table(
            core,
            [
                ("workers", "workers", ",d"),
                ("ours", "gigshift (NumPy)", ",.0f"),
                ("mesa", "Mesa 3.3", ",.0f"),
                ("speedup", "speed-up (median of 5 pairs)", ".0f"),
                ("speedup_range", "range", ""),
                ("fill_ours", "fill rate (ours)", ".4f"),
                ("fill_mesa", "fill rate (Mesa)", ".4f"),
                ("pay_ours", "mean pay (ours)", ".2f"),
                ("pay_mesa", "mean pay (Mesa)", ".2f"),
            ],
        )
    )


if __name__ == "__main__":
    main()
