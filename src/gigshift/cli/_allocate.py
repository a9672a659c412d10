"""``gigshift allocate solve | run | policy`` and ``gigshift explain``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from gigshift.cli._common import (
    emit_json,
    err,
    out,
    read_any,
    renamed,
    user_errors,
    write_dir_atomic,
    write_table_atomic,
)

app = typer.Typer(
    help="Allocate tasks to workers: optimal, fair and explained.", no_args_is_help=True, add_completion=False
)

RUN_FILES = (
    "assignments.parquet",
    "decision_log.parquet",
    "task_explanations.parquet",
    "worker_explanations.parquet",
    "waiting.parquet",
    "policy.yaml",
    "transparency.md",
    "summary.json",
)


def load_policy(path: Path | None):  # type: ignore[no-untyped-def]
    from gigshift._errors import GigshiftError
    from gigshift.allocate import Policy, default_policy

    if path is None:
        return default_policy()
    if not path.is_file():
        raise GigshiftError(f"--policy: no such file {str(path)!r}")
    return Policy.from_yaml(path.read_text(encoding="utf-8"), source=path.name)


@app.command("solve")
def solve_command(
    edges: Path = typer.Option(..., "--edges", help="Candidate edges: task_id, worker_id, score (.parquet or .csv)."),
    out_path: Path = typer.Option(..., "--out", help="Where to write the assignments (.parquet or .csv)."),
    capacities: Path | None = typer.Option(None, "--capacities", help="worker_id, capacity (default 1 each)."),
    groups: Path | None = typer.Option(None, "--groups", help="worker_id, group: enforce group parity."),
    min_impact_ratio: float | None = typer.Option(
        None, "--min-impact-ratio", help="With --groups: each group's selection rate >= r x the highest (default 0.8)."
    ),
    mode: str = typer.Option("exact", "--mode", help="exact | greedy | dispatch."),
    solver: str = typer.Option("auto", "--solver", help="Exact solver: auto (OR-Tools) | ortools | scipy."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for tie-breaking in greedy and dispatch modes."),
    as_json: bool = typer.Option(False, "--json", help="Write the summary as JSON to stdout."),
) -> None:
    """Solve the assignment on an edge table: maximise total score within capacities."""
    from gigshift._errors import GigshiftError
    from gigshift.allocate import solve_table

    with user_errors():
        edge_table = read_any(edges, name="--edges")
        cap_table = None if capacities is None else read_any(capacities, name="--capacities")
        group_table = None if groups is None else read_any(groups, name="--groups")
        if group_table is not None and min_impact_ratio is None:
            min_impact_ratio = 0.8
        if group_table is None and min_impact_ratio is not None:
            raise GigshiftError("--min-impact-ratio needs --groups")
        names = {
            "edges": edges.name,
            "capacities": str(capacities and capacities.name),
            "groups": str(groups and groups.name),
        }
        try:
            result = solve_table(
                edge_table,
                cap_table,
                mode=mode,  # type: ignore[arg-type]
                groups=group_table,
                min_impact_ratio=min_impact_ratio,
                solver=solver,  # type: ignore[arg-type]
                seed=seed,
            )
        except GigshiftError as exc:
            raise renamed(exc, names) from None
        write_table_atomic(result.assignments, out_path)
    summary: dict[str, object] = {
        "n_edges": edge_table.height,
        "n_assigned": result.assignments.height,
        "objective": round(result.objective, 6),
        "mode": result.mode,
        "out": str(out_path),
    }
    if result.fairness is not None:
        summary["min_impact_ratio"] = result.fairness.min_impact_ratio
        summary["achieved_impact_ratio"] = result.fairness.achieved_impact_ratio
        summary["price_of_fairness_pct"] = round(result.fairness.price_of_fairness, 4)
        summary["unconstrained_objective"] = round(result.fairness.unconstrained_objective, 6)
        summary["by_group"] = result.fairness.by_group.to_dicts()
    if as_json:
        emit_json(json.dumps(summary, allow_nan=False))
        return
    out.print(
        f"assigned {result.assignments.height} of {result.assignments.height and edge_table['task_id'].n_unique()} "
        f"tasks, total score {result.objective:.4f} ({result.mode}) -> {out_path}"
    )
    if result.fairness is not None:
        _print_fairness(result.fairness)


def _print_fairness(report) -> None:  # type: ignore[no-untyped-def]
    view = Table(title="selection rate by group (workers chosen / candidate workers)", title_justify="left")
    for col in ("group", "candidates", "selected", "rate", "impact ratio", "before: rate", "before: ratio"):
        view.add_column(col, justify="left" if col == "group" else "right")
    for r in report.by_group.iter_rows(named=True):
        view.add_row(
            str(r["group"]),
            str(r["n_candidates"]),
            str(r["n_selected"]),
            f"{r['selection_rate']:.3f}",
            f"{r['impact_ratio']:.3f}" if r["impact_ratio"] is not None else "–",
            f"{r['unconstrained_selection_rate']:.3f}",
            f"{r['unconstrained_impact_ratio']:.3f}" if r["unconstrained_impact_ratio"] is not None else "–",
        )
    out.print(view)
    out.print(
        f"price of fairness: {report.price_of_fairness:.3f}% of the unconstrained total score "
        f"({report.n_subproblems} exact subproblems)"
    )


@app.command("run")
def run_command(
    tasks: Path = typer.Option(..., "--tasks", help="Tasks table (.parquet or .csv, gigshift.market schema)."),
    workers: Path = typer.Option(..., "--workers", help="Workers table (.parquet or .csv)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for assignments, decision log and explanations."),
    policy_path: Path | None = typer.Option(None, "--policy", help="Policy YAML (default: the shipped policy)."),
    bids: Path | None = typer.Option(None, "--bids", help="Bids table: only bidders are candidates."),
    waiting: Path | None = typer.Option(None, "--waiting", help="waiting.parquet from the previous batch."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for the tie-breaking lottery."),
    as_json: bool = typer.Option(False, "--json", help="Write the result summary as JSON to stdout."),
) -> None:
    """Run one allocation batch and write assignments, the decision log and explanations."""
    from gigshift._errors import GigshiftError
    from gigshift.allocate import allocate
    from gigshift.market import read

    with user_errors():
        policy = load_policy(policy_path)
        task_table = read(tasks, kind="tasks")
        worker_table = read(workers, kind="workers")
        bid_table = None if bids is None else read(bids, kind="bids")
        waiting_table = None if waiting is None else read_any(waiting, name="--waiting")
        names = {
            "tasks": tasks.name,
            "workers": workers.name,
            "bids": str(bids and bids.name),
            "waiting": str(waiting and waiting.name),
        }
        with err.status("allocating") as status:
            try:
                result = allocate(
                    task_table,
                    worker_table,
                    policy,
                    bids=bid_table,
                    waiting=waiting_table,
                    seed=seed,
                    on_progress=lambda stage: status.update(f"allocating: {stage}"),
                )
            except GigshiftError as exc:
                raise renamed(exc, names) from None

        def fill(folder: Path) -> None:
            result.assignments.write_parquet(folder / "assignments.parquet")
            result.decision_log.write_parquet(folder / "decision_log.parquet")
            result.tasks.write_parquet(folder / "task_explanations.parquet")
            result.workers.write_parquet(folder / "worker_explanations.parquet")
            result.waiting.write_parquet(folder / "waiting.parquet")
            (folder / "policy.yaml").write_text(policy.to_yaml(), encoding="utf-8")
            (folder / "transparency.md").write_text(result.transparency(), encoding="utf-8")
            (folder / "summary.json").write_text(result.to_json(), encoding="utf-8")

        write_dir_atomic(out_dir, fill)
    if as_json:
        emit_json(result.to_json())
        return
    s = result.summary()
    out.print(
        f"assigned {s['n_assigned']} of {s['n_tasks']} tasks to {s['n_workers_assigned']} workers "
        f"(fill rate {s['fill_rate']:.1%}, mean score {s['mean_score'] or 0:.3f}, policy {s['policy_version']}, "
        f"{s['mode']}) in {sum(result.timings.values()):.2f} s"
    )
    if result.fairness is not None:
        _print_fairness(result.fairness)
    out.print(f"wrote {out_dir}/ ({', '.join(RUN_FILES)})")


@app.command("policy")
def policy_command(
    policy_path: Path | None = typer.Option(None, "--policy", help="Policy YAML (default: the shipped policy)."),
    as_yaml: bool = typer.Option(False, "--yaml", help="Print the policy itself instead of the statement."),
) -> None:
    """Print the transparency statement workers are given for a policy (EU Platform Work Directive, Art. 9)."""
    from gigshift.allocate import transparency_statement

    with user_errors():
        policy = load_policy(policy_path)
    typer.echo(policy.to_yaml() if as_yaml else transparency_statement(policy))


def explain_command(
    run_dir: Path = typer.Argument(..., help="A folder written by `gigshift allocate run`."),
    worker: str | None = typer.Option(None, "--worker", help="Explain the decisions about this worker."),
    task: str | None = typer.Option(None, "--task", help="Explain who got this task and why."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Re-run the allocation to check counterfactuals."),
    as_json: bool = typer.Option(False, "--json", help="Write the explanation as JSON to stdout."),
) -> None:
    """Explain an allocation decision: score components, rank, runner-up, margin and what would change it."""
    import polars as pl

    from gigshift._errors import GigshiftError
    from gigshift.allocate import Policy, explain

    with user_errors():
        if (worker is None) == (task is None):
            raise GigshiftError("give exactly one of --worker ID or --task ID")
        log_path, policy_file = run_dir / "decision_log.parquet", run_dir / "policy.yaml"
        if not log_path.is_file() or not policy_file.is_file():
            raise GigshiftError(f"{run_dir}: not an allocation folder (needs decision_log.parquet and policy.yaml)")
        policy = Policy.from_yaml(policy_file.read_text(encoding="utf-8"), source=str(policy_file))
        log = pl.read_parquet(log_path)
        explanation = explain(log, policy, worker_id=worker, task_id=task, verify=verify)
    if as_json:
        emit_json(json.dumps(explanation.to_dict(), allow_nan=False, default=str))
        return
    out.print(explanation.to_text(), highlight=False, soft_wrap=True)
    view = Table(title="candidate edges", title_justify="left")
    columns = ["task_id", "worker_id", "rank", "score", "skill_match", "price_fit", "rating", "outcome", "margin"]
    for col in columns:
        view.add_column(col, justify="right" if col not in ("task_id", "worker_id", "outcome") else "left")
    for r in explanation.table.head(10).iter_rows(named=True):
        view.add_row(*[f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in columns])
    out.print(view)
