"""``gigshift pay``: import platform exports into a pool with consent, revoke, audit, statements, synthetic pools."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

import typer

from gigshift.cli._common import emit_json, err, out, user_errors, write_dir_atomic

app = typer.Typer(
    help="Collective pay audit: pool workers' platform records with consent; pay, costs and standards, protected.",
    no_args_is_help=True,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _standards(values: list[str]) -> dict[str, float]:
    """``minimum_wage=16.5`` -> ``{"minimum_wage": 16.5}``; a bad value is the user's fault."""
    from gigshift._errors import GigshiftError

    parsed: dict[str, float] = {}
    for text in values:
        name, eq, number = text.partition("=")
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not eq or not name.strip() or not math.isfinite(value):
            raise GigshiftError(f"--standard: expected NAME=VALUE such as minimum_wage=16.50; got {text!r}")
        parsed[name.strip()] = value
    return parsed


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="A platform export of jobs (.csv or .parquet)."),
    pool_dir: Path = typer.Option(..., "--pool", help="The pool directory (created on the first import)."),
    sessions: Path | None = typer.Option(None, "--sessions", help="Logged-in sessions (.csv or .parquet)."),
    workers: Path | None = typer.Option(None, "--workers", help="Workers' group attributes they chose to share."),
    mapping: str | None = typer.Option(
        None, "--mapping", help="A YAML column mapping, or a shipped one by name (see `gigshift pay mappings`)."
    ),
    consent_id: str | None = typer.Option(None, "--consent-id", help="The consent record's id (default: made up)."),
    terms: str | None = typer.Option(None, "--terms", help="What the workers agreed to (default: the pool terms)."),
    time_zone: str | None = typer.Option(None, "--time-zone", help="Zone of times without an offset."),
    set_aside: bool = typer.Option(
        False, "--set-aside", help="Leave bad rows out (listed and counted) instead of refusing the file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Write what was added as JSON to stdout."),
) -> None:
    """Import a platform export into a pool, with a consent record for every worker in it."""
    import json

    from gigshift.pay import Pool, load
    from gigshift.pay._pool import DEFAULT_TERMS

    with user_errors():
        with err.status(f"reading {file.name}"):
            contribution = load(
                file,
                sessions=sessions,
                workers=workers,
                mapping=mapping,
                on_bad="set_aside" if set_aside else "error",
                time_zone=time_zone,
            )
        pool = Pool.open(pool_dir, create=True)
        with err.status(f"adding to {pool_dir}"):
            added = pool.add(
                contribution,
                given_at=_now(),
                terms=terms or DEFAULT_TERMS,
                consent_id=consent_id,
                on_bad="set_aside" if set_aside else "error",
            )
    for r in contribution.set_aside.head(5).iter_rows(named=True):
        err.print(
            f"[yellow]set aside:[/] {r['file']}, row {r['row']}, column {r['column']!r}: expected {r['expected']}, "
            f"got {r['got']!r}",
            highlight=False,
            soft_wrap=True,
        )
    if added["rows_set_aside"]:
        err.print(f"[yellow]warning:[/] {added['rows_set_aside']} row(s) set aside", highlight=False)
    if as_json:
        emit_json(json.dumps(added))
        return
    out.print(
        f"added {added['jobs']:,} jobs and {added['sessions']:,} sessions of {added['workers']} worker(s) to "
        f"{pool_dir} as {added['contribution_id']} ({added['rows_left_out_by_mapping']} row(s) left out by the "
        f"mapping, {added['rows_set_aside']} set aside)",
        highlight=False,
        soft_wrap=True,
    )


@app.command("revoke")
def revoke_command(
    pool_dir: Path = typer.Option(..., "--pool", help="The pool directory."),
    worker: str = typer.Option(..., "--worker", help="The worker whose consent is withdrawn."),
    as_json: bool = typer.Option(False, "--json", help="Write what was revoked as JSON to stdout."),
) -> None:
    """Withdraw a worker's consent: their records are deleted and leave every later release."""
    import json

    from gigshift.pay import Pool

    with user_errors():
        done = Pool.open(pool_dir).revoke(worker, at=_now())
    if as_json:
        emit_json(json.dumps(done))
        return
    out.print(
        f"revoked {done['contributions']} contribution(s) of {worker}: {done['jobs_deleted']:,} jobs and "
        f"{done['sessions_deleted']:,} sessions deleted from {pool_dir}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("audit")
def audit_command(
    pool_dir: Path = typer.Argument(..., help="The pool directory."),
    standard: list[str] = typer.Option(
        [], "--standard", help="A pay standard's hourly value, NAME=VALUE (repeatable), e.g. minimum_wage=16.50."
    ),
    k: int = typer.Option(11, "--k", help="No released figure rests on fewer workers than this."),
    epsilon: float | None = typer.Option(
        None, "--epsilon", help="Also add differential-privacy noise, spending this much of the pool's budget."
    ),
    dims: str = typer.Option("platform,category,week", "--dims", help="The cells: platform, category, area, week."),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Replicates resampling workers for intervals (0: none)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for the bootstrap and the change detection."),
    no_changes: bool = typer.Option(False, "--no-changes", help="Skip the detection of pay-algorithm changes."),
    as_json: bool = typer.Option(False, "--json", help="Write the audit as JSON to stdout."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Write audit.json, audit.md, report.html and cells.csv here."
    ),
) -> None:
    """Audit a pool: hourly pay, costs, utilisation, take rates, standards, changes and gaps, protected."""
    from gigshift.pay import Pool, audit

    with user_errors():
        pool = Pool.open(pool_dir)
        with err.status(f"auditing {pool_dir}"):
            result = audit(
                pool,
                standards=_standards(standard),
                dims=tuple(d.strip() for d in dims.split(",") if d.strip()),  # type: ignore[arg-type]
                k=k,
                epsilon=epsilon,
                n_bootstrap=bootstrap,
                detect=not no_changes,
                at=_now(),
                seed=seed,
            )
        if out_dir is not None:

            def fill(folder: Path) -> None:
                umask = os.umask(0)
                os.umask(umask)
                folder.chmod(0o777 & ~umask)  # a release is meant to be shared (the staging folder is private)
                (folder / "audit.json").write_text(result.to_json(), encoding="utf-8")
                (folder / "audit.md").write_text(result.to_markdown(), encoding="utf-8")
                (folder / "report.html").write_text(result.to_html(), encoding="utf-8")
                result.cells.write_csv(folder / "cells.csv")

            with err.status(f"writing {out_dir}"):
                write_dir_atomic(out_dir, fill)
    if as_json:
        emit_json(result.to_json())
        return
    from rich.table import Table

    cur = result.pool.get("currency") or ""
    p = result.pool
    view = Table(
        title=f"{p['workers']:,} workers, {p['jobs']:,} jobs, {p['period'][0]} to {p['period'][1]} ({cur})",
        title_justify="left",
    )
    for col in ("platform", "workers", "per engaged h", "per logged-in h", "net per logged-in h", "utilisation",
                "take rate"):  # fmt: skip
        view.add_column(col, justify="left" if col == "platform" else "right")

    def num(v: float | None, spec: str = ".2f") -> str:
        return "–" if v is None else format(v, spec)

    for r in result.platforms.iter_rows(named=True):
        view.add_row(
            r["platform"], num(r["workers"], ","), num(r["hourly_engaged"]), num(r["hourly_logged_in"]),
            num(r["hourly_net"]), num(r["utilisation"], ".1%"), num(r["take_rate"], ".1%"),
        )  # fmt: skip
    out.print(view)
    for finding in result.findings():
        out.print(f"- {finding}", highlight=False, soft_wrap=True)
    out.print(result.privacy["statement"], highlight=False, soft_wrap=True)
    if out_dir is not None:
        out.print(f"wrote {out_dir}/ (audit.json, audit.md, report.html, cells.csv)")


@app.command("statement")
def statement_command(
    pool_dir: Path = typer.Argument(..., help="The pool directory."),
    worker: str = typer.Option(..., "--worker", help="Whose statement."),
    k: int = typer.Option(11, "--k", help="Pool figures beside the worker's rest on at least this many workers."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for the change detection."),
    out_file: Path | None = typer.Option(None, "--out", help="Write the statement here (.html, .md or .json)."),
    as_json: bool = typer.Option(False, "--json", help="Write the statement as JSON to stdout."),
) -> None:
    """One worker's private statement: their own numbers beside the pool's protected ones."""
    from gigshift._errors import GigshiftError
    from gigshift._html import write_atomic
    from gigshift.pay import Pool, statement

    with user_errors():
        if out_file is not None and out_file.suffix.lower() not in (".html", ".md", ".json"):
            raise GigshiftError(f"--out: expected a .html, .md or .json file, got {out_file.name!r}")
        pool = Pool.open(pool_dir)
        with err.status(f"computing {worker}'s statement"):
            result = statement(pool, worker_id=worker, k=k, seed=seed)
        if out_file is not None:
            suffix = out_file.suffix.lower()
            text = {".html": result.to_html, ".md": result.to_markdown, ".json": result.to_json}[suffix]()
            write_atomic(out_file, text)
    if as_json:
        emit_json(result.to_json())
        return
    for line in result.sentences():
        out.print(f"- {line}", highlight=False, soft_wrap=True)
    if out_file is not None:
        out.print(f"wrote {out_file}")


def _changes(values: list[str]) -> list[dict[str, object]]:
    from gigshift._errors import GigshiftError

    parsed = []
    for text in values:
        parts = text.split(":")
        try:
            if len(parts) not in (4, 5):
                raise ValueError
            entry: dict[str, object] = {
                "platform": parts[0],
                "date": datetime.strptime(parts[1], "%Y-%m-%d").date(),
                "factor": float(parts[2]),
                "share": float(parts[3]),
            }
            if len(parts) == 5:
                entry["metric"] = parts[4]
        except ValueError:
            example = "rideco:2025-03-03:0.8:0.5"
            raise GigshiftError(
                f"--change: expected PLATFORM:DATE:FACTOR:SHARE[:METRIC] such as {example}; got {text!r}"
            ) from None
        parsed.append(entry)
    return parsed


def _pairs(flag: str, values: list[str], example: str) -> dict[str, float]:
    from gigshift._errors import GigshiftError

    parsed = {}
    for text in values:
        key, eq, number = text.partition("=")
        try:
            parsed[key.strip()] = float(number)
        except ValueError:
            eq = ""
        if not eq or not key.strip():
            raise GigshiftError(f"{flag}: expected NAME=NUMBER such as {example}; got {text!r}")
    return parsed


@app.command("synth")
def synth_command(
    n_workers: int = typer.Option(500, "--workers", help="Number of workers."),
    n_weeks: int = typer.Option(12, "--weeks", help="Number of weeks (from Monday 6 January 2025)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: fresh entropy, recorded)."),
    out_dir: Path = typer.Option(..., "--out", help="The pool directory to create (must be new or empty)."),
    platforms: str = typer.Option(
        "rideco,dashfood", "--platforms", help="Comma-separated: rideco, dashfood, courierx."
    ),
    take_rate: list[str] = typer.Option([], "--take-rate", help="Planted take rate, PLATFORM=RATE (repeatable)."),
    change: list[str] = typer.Option(
        [], "--change", help="Planted pay change, PLATFORM:DATE:FACTOR:SHARE[:METRIC] (repeatable)."
    ),
    gap: list[str] = typer.Option([], "--gap", help="Planted pay factor by sex, e.g. female=0.9 (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Write counts, the planted truth and provenance as JSON."),
) -> None:
    """Draw a synthetic pool (New York City standards and costs) and write it as a pool directory."""
    from gigshift.pay import synthetic

    with user_errors():
        with err.status("drawing the pool"):
            pool = synthetic(
                n_workers=n_workers,
                n_weeks=n_weeks,
                platforms=tuple(p.strip() for p in platforms.split(",") if p.strip()),
                take_rates=_pairs("--take-rate", take_rate, "rideco=0.25") or None,
                changes=_changes(change),  # type: ignore[arg-type]
                group_gaps={"sex": _pairs("--gap", gap, "female=0.9")} if gap else None,
                seed=seed,
            )
        with err.status(f"writing {out_dir}"):
            pool.write(out_dir)
    if as_json:
        emit_json(pool.to_json())
        return
    c = pool.counts()
    out.print(
        f"wrote {c['workers']:,} workers, {c['jobs']:,} jobs and {c['sessions']:,} sessions to {out_dir} "
        f"(seed {pool.provenance.seed if pool.provenance else None})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("mappings")
def mappings_command() -> None:
    """List the column mappings shipped with gigshift (use them with --mapping NAME)."""
    from gigshift.pay import read_mapping
    from gigshift.pay._mapping import shipped_mappings

    for name in shipped_mappings():
        out.print(f"{name}: {read_mapping(name).description}", highlight=False)
