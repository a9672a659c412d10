"""``gigshift simulate``: run a scenario and write the panel, aggregates, sampled decision log, scenario."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gigshift.cli._common import emit_json, err, out, user_errors, write_dir_atomic

SIM_FILES = ("panel.parquet", "categories.parquet", "decision_log.parquet", "scenario.yaml", "summary.json")


def simulate_command(
    scenario: str = typer.Option(..., "--scenario", help="A shipped scenario name or a scenario YAML file."),
    workers: int = typer.Option(10_000, "--workers", help="Active workers at the start."),
    weeks: int | None = typer.Option(None, "--weeks", help="Weeks to simulate (default: the scenario's)."),
    seed: int | None = typer.Option(None, "--seed", help="Root seed; replicate i uses child seed i."),
    replicates: int = typer.Option(1, "--replicates", help="Independent runs, stacked with a replicate column."),
    cluster: str | None = typer.Option(None, "--cluster", help="'local' (Dask LocalCluster) or a scheduler address."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the Parquet tables and the resolved scenario."),
    as_json: bool = typer.Option(False, "--json", help="Write the run summary as JSON to stdout."),
) -> None:
    """Simulate a gig marketplace week by week under a scenario of AI adoption and policy."""
    from gigshift.simulate import load_scenario, run

    with user_errors():
        resolved = load_scenario(scenario)
        with Progress(
            TextColumn(f"[bold]{resolved.name}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("weeks" if cluster is None else "replicates"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("simulate", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run(
                resolved,
                workers=workers,
                weeks=weeks,
                seed=seed,
                replicates=replicates,
                cluster=cluster,
                on_progress=progress,
            )

        def fill(folder: Path) -> None:
            result.panel.write_parquet(folder / "panel.parquet")
            result.categories.write_parquet(folder / "categories.parquet")
            result.decision_log.write_parquet(folder / "decision_log.parquet")
            (folder / "scenario.yaml").write_text(resolved.to_yaml(), encoding="utf-8")
            body = {
                "summary": result.summary(),
                "replicates": replicates,
                "seed": seed,
                "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
                "provenance": result.provenance.to_dict(),
            }
            (folder / "summary.json").write_text(json.dumps(body, default=str), encoding="utf-8")

        write_dir_atomic(out_dir, fill)
    summary = result.summary()
    if as_json:
        emit_json(json.dumps({"summary": summary, "out": str(out_dir)}, default=str))
        return
    out.print(
        f"{summary['scenario']}: {summary['n_workers']:,} workers x {summary['weeks']} weeks"
        + (f" x {replicates} replicates" if replicates > 1 else "")
        + f"; tasks posted {summary['tasks_posted']:,}, done by AI instead {summary['tasks_substituted']:,}, "
        f"filled {summary['tasks_filled']:,}; active workers {summary['active_first_week']:,} -> "
        f"{summary['active_last_week']:,}"
    )
    out.print(f"wrote {out_dir}/ ({', '.join(SIM_FILES)})")
