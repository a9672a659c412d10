"""``gigshift demo``: simulate, estimate, audit and tell three workers' stories in one HTML report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from gigshift.cli._common import emit_json, err, out, user_errors

_STAGES = {
    "simulate": "simulating baseline, genai-2022, policy-fair-allocation and its no-policy twin",
    "estimate": "estimating the AI effect by exposure",
    "audit": "auditing the allocation with and without the fair policy",
    "report": "writing the report",
}


def demo_command(
    out_dir: Path = typer.Option(Path("gigshift-demo"), "--out", help="Folder for index.html."),
    workers: int = typer.Option(3000, "--workers", help="Workers in the simulated market at the start."),
    replicates: int = typer.Option(3, "--replicates", help="Independent runs per scenario (replicate bands)."),
    weeks: int | None = typer.Option(None, "--weeks", help="Weeks to simulate (default 104: 2022-2023; at least 60)."),
    seed: int = typer.Option(2022, "--seed", help="Root seed of every random draw."),
    as_json: bool = typer.Option(False, "--json", help="Write the headline figures as JSON to stdout."),
) -> None:
    """The whole story on embedded defaults: simulate AI's arrival, measure it, audit fairness, one report."""
    import json

    from gigshift.report import run_demo

    with (
        user_errors(),
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar,
    ):
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = run_demo(out_dir, workers=workers, replicates=replicates, weeks=weeks, seed=seed, on_progress=progress)
    if as_json:
        body = {"report": str(result.path), "figures": result.figures, "timings_s": result.timings}
        emit_json(json.dumps(body, default=str))
        return
    f = result.figures
    out.print(
        f"AI effect: each +0.1 of exposure beta -> {f['did_per_tenth_beta']:+.1%} posted tasks per month after "
        f"ChatGPT; fairness: lowest impact ratio {f['min_impact_ratio_unconstrained']:.2f} -> "
        f"{f['min_impact_ratio_fair']:.2f} with the four-fifths policy, price {f['price_of_fairness']:.2f}%",
        highlight=False,
    )
    total = sum(result.timings.values())
    out.print(f"wrote {result.path} in {total:.0f} s; open it in a browser (it works offline)")
