"""Speed of the bias audit (gigshift.audit) against fairlearn's MetricFrame on the same data and metrics.

Data: ``--rows`` decisions (default 10 million) with two group attributes (sex: 3 categories, race:
7), a 0/1 label and a 0/1 decision with a planted gap. gigshift computes the LL144 table, fairlearn
metrics and 200 bootstrap replicates for sex, race and sex+race in one call; fairlearn computes the
same point estimates (selection rate, TPR, FPR per group) with one MetricFrame per view, without
intervals. The point estimates are compared (they must be identical to 1e-12).

Target (issue #4, 2 cores): under 10 s for 10M rows with 200 replicates, and at least 20x faster
than fairlearn.

Run: ``python benchmarks/audit.py [--rows N] [--bootstrap B] [--repeat R] [--seed S]``. At 10M rows
fairlearn alone takes about 8 minutes here; ``--rows 1000000`` gives the comparison in under a minute.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl


def make_data(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["Female", "Male", "Nonbinary"]), n, p=[0.46, 0.52, 0.02])
    race = rng.choice(
        np.array(["Asian", "Black", "Hispanic", "White", "Two or more", "Native American", "Pacific Islander"]),
        n,
        p=[0.15, 0.2, 0.2, 0.35, 0.05, 0.03, 0.02],
    )
    qualified = rng.random(n) < 0.4
    p = 0.2 + 0.3 * qualified - 0.06 * (sex == "Female")
    return pl.DataFrame(
        {
            "sex": sex,
            "race": race,
            "qualified": qualified.astype(np.int8),
            "selected": (rng.random(n) < p).astype(np.int8),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    from gigshift.audit import audit

    start = time.perf_counter()
    data = make_data(args.rows, args.seed)
    make_s = time.perf_counter() - start

    def ours():  # type: ignore[no-untyped-def]
        return audit(
            data,
            ["sex", "race"],
            intersect=True,
            selected="selected",
            label="qualified",
            n_bootstrap=args.bootstrap,
            seed=args.seed,
        )

    ours()  # warm-up
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = ours()
        times.append(time.perf_counter() - start)
    ours_s = min(times)

    pdf = data.to_pandas()
    metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate}
    start = time.perf_counter()
    frames = {
        name: MetricFrame(
            metrics=metrics, y_true=pdf["qualified"], y_pred=pdf["selected"], sensitive_features=pdf[cols]
        )
        for name, cols in (("sex", ["sex"]), ("race", ["race"]), ("sex+race", ["sex", "race"]))
    }
    fairlearn_s = time.perf_counter() - start

    worst = 0.0
    for name, frame in frames.items():
        ref = frame.by_group.reset_index()
        cols = name.split("+")
        ref["category"] = ref[cols].astype(str).agg("+".join, axis=1)
        ref = ref.sort_values("category")
        mine = result.by_group.filter(pl.col("attribute") == name).sort("category")
        assert mine["category"].to_list() == ref["category"].tolist()
        for metric in metrics:
            worst = max(worst, float(np.max(np.abs(mine[metric].to_numpy() - ref[metric].to_numpy()))))

    no_boot_start = time.perf_counter()
    audit(data, ["sex", "race"], intersect=True, selected="selected", label="qualified", n_bootstrap=0)
    no_boot_s = time.perf_counter() - no_boot_start

    print(f"\n### Audit of {args.rows:,} decisions: sex (3), race (7) and sex+race (21), 2 cores\n")
    print("| run | seconds |")
    print("| --- | ---: |")
    print(f"| gigshift audit, {args.bootstrap} bootstrap replicates (best of {args.repeat}) | {ours_s:.2f} |")
    print(f"| gigshift audit, point estimates only | {no_boot_s:.2f} |")
    print(f"| fairlearn MetricFrame x 3 (selection rate, TPR, FPR; no intervals) | {fairlearn_s:.2f} |")
    print(f"| speed-up (fairlearn / gigshift with bootstrap) | {fairlearn_s / ours_s:.1f}x |")
    print(f"\nlargest difference from fairlearn over every group and metric: {worst:.1e}")
    print(f"(making the data: {make_s:.1f} s, not timed above)")


if __name__ == "__main__":
    main()
