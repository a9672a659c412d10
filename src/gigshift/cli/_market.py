"""``gigshift market synth`` and ``gigshift market check``: write a synthetic market, check a market directory."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from gigshift.cli._common import emit_json, err, out, user_errors

app = typer.Typer(help="Market tables: synthetic markets and checks of market directories.", no_args_is_help=True)


def _parse_bias(flag: str, values: list[str], *, factor: bool) -> dict[str, dict[str, float]]:
    """``sex=female:-0.25`` -> ``{"sex": {"female": -0.25}}``; a bad value is the user's fault."""
    from gigshift._errors import GigshiftError

    out_: dict[str, dict[str, float]] = {}
    for text in values:
        attr, eq, rest = text.partition("=")
        group, colon, number = rest.rpartition(":")
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not (eq and colon and attr.strip() and group.strip()) or not math.isfinite(value):
            example = "sex=female:0.9" if factor else "sex=female:-0.25"
            raise GigshiftError(
                f"{flag}: expected ATTRIBUTE=GROUP:{'FACTOR' if factor else 'STARS'} such as {example}; got {text!r}"
            )
        out_.setdefault(attr.strip(), {})[group.strip()] = value
    return out_


@app.command("synth")
def synth_command(
    out_dir: Path = typer.Option(..., "--out", help="Market directory to write (created or replaced)."),
    n_workers: int = typer.Option(1000, "--workers", help="Number of workers."),
    n_tasks: int = typer.Option(200, "--tasks", help="Number of tasks."),
    n_clients: int | None = typer.Option(None, "--clients", help="Number of clients (default: tasks / 5)."),
    categories: str | None = typer.Option(None, "--categories", help="Comma-separated category slugs to keep."),
    rating_bias: list[str] = typer.Option(
        [], "--rating-bias", help="Planted rating shift in stars, e.g. sex=female:-0.25 (repeatable)."
    ),
    rate_bias: list[str] = typer.Option(
        [], "--rate-bias", help="Planted hourly-rate factor, e.g. sex=female:0.9 (repeatable)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: fresh entropy, recorded)."),
    fmt: str = typer.Option("parquet", "--format", help="Table format: parquet or csv."),
    as_json: bool = typer.Option(False, "--json", help="Write counts and provenance as JSON to stdout."),
) -> None:
    """Draw a synthetic market on the atlas categories and write it to a directory."""
    from gigshift._tables import check_option
    from gigshift.market import synthetic
    from gigshift.market._market import MarketFormat

    with user_errors():
        check_option("--format", fmt, MarketFormat, caller="market synth")
        slugs = [s.strip() for s in categories.split(",") if s.strip()] if categories is not None else None
        with err.status("drawing the market"):
            market = synthetic(
                n_workers=n_workers,
                n_tasks=n_tasks,
                n_clients=n_clients,
                categories=slugs,
                rating_bias=_parse_bias("--rating-bias", rating_bias, factor=False) or None,
                rate_bias=_parse_bias("--rate-bias", rate_bias, factor=True) or None,
                seed=seed,
            )
        with err.status(f"writing {out_dir}"):
            market.write(out_dir, format=fmt)  # type: ignore[arg-type]
    if as_json:
        emit_json(market.to_json())
        return
    c = market.counts()
    out.print(
        f"wrote {c['workers']:,} workers, {c['clients']:,} clients, {c['tasks']:,} tasks and {c['bids']:,} bids "
        f"to {out_dir} ({fmt}; seed {market.provenance.seed})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("check")
def check_command(
    directory: Path = typer.Argument(..., help="Market directory (workers, tasks; optional clients, bids)."),
    as_json: bool = typer.Option(False, "--json", help="Write row counts as JSON to stdout."),
) -> None:
    """Validate every table of a market directory and the ids that link them."""
    import json

    from gigshift.market import read_market

    with user_errors(), err.status(f"checking {directory}"):
        market = read_market(directory)
    counts = market.counts()
    if as_json:
        emit_json(json.dumps({"directory": str(directory), "counts": counts}))
        return
    for kind, n in counts.items():
        out.print(f"{kind:>8}: {n:>9,} rows", highlight=False)
    out.print(f"{directory}: valid market", highlight=False)
