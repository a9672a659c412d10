"""``gigshift estimate``: DiD and event study of an outcome around an event, on a panel file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from gigshift.cli._common import emit_json, out, read_any, renamed, user_errors, write_dir_atomic


def estimate_command(
    panel: Path = typer.Argument(..., help="Panel: one row per unit and period (.csv or .parquet)."),
    unit: str = typer.Option(..., "--unit", help="Unit column (worker, occupation, category, ...)."),
    time: str = typer.Option(..., "--time", help="Period column (dates or integers)."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome column (jobs, earnings, postings, ...)."),
    event: str = typer.Option(..., "--event", help="Event date (YYYY-MM-DD) or period number."),
    log: bool = typer.Option(False, "--log", help="Use log(1 + outcome)."),
    model: str = typer.Option("ols", "--model", help="ols, or poisson for counts (effects as log ratios)."),
    treated_col: str | None = typer.Option(None, "--treated-col", help="0/1 treated group, fixed per unit."),
    exposure_col: str | None = typer.Option(None, "--exposure-col", help="Continuous exposure, fixed per unit."),
    as_json: bool = typer.Option(False, "--json", help="Write the estimates as JSON to stdout."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Write estimate.json, estimate.md and event_study.parquet."
    ),
) -> None:
    """Estimate the effect of an event on exposed units: two-way fixed-effects DiD and event study."""
    from gigshift._errors import GigshiftError
    from gigshift.impact import estimate

    with user_errors():
        frame = read_any(panel, name="PANEL")
        if frame.schema.get(time) == pl.String:  # CSV dates arrive as text
            parsed = frame.get_column(time).str.to_date(strict=False)
            if parsed.null_count() > frame.get_column(time).null_count():
                raise GigshiftError(f"{panel.name}: column {time!r} holds text that is not dates YYYY-MM-DD")
            frame = frame.with_columns(parsed.alias(time))
        try:
            result = estimate(
                frame,
                unit=unit,
                time=time,
                outcome=outcome,
                event=event,
                treated=treated_col,
                exposure=exposure_col,
                log_outcome=log,
                model=model,
                source=panel.name,
            )
        except GigshiftError as exc:
            raise renamed(exc, {panel.name: panel.name}) from None
        if out_dir is not None:

            def fill(folder: Path) -> None:
                (folder / "estimate.json").write_text(result.to_json(), encoding="utf-8")
                (folder / "estimate.md").write_text(result.to_markdown(), encoding="utf-8")
                result.event_study.write_parquet(folder / "event_study.parquet")

            write_dir_atomic(out_dir, fill)
    if as_json:
        emit_json(result.to_json())
        return
    d = result.did
    out.print(
        f"DiD: {d['estimate']:+.4f} (se {d['se']:.4f}, 95% CI {d['ci'][0]:+.4f} to {d['ci'][1]:+.4f}); "
        f"{d['n_obs']:,} observations, {d['n_units']:,} units, SE clustered by unit",
        highlight=False,
    )
    view = Table(title="event study (reference: period -1)", title_justify="left")
    for col in ("period", "estimate", "95% CI"):
        view.add_column(col, justify="right")
    for r in result.event_study.iter_rows(named=True):
        ci = "reference" if r["se"] is None else f"{r['ci_lo']:+.4f} to {r['ci_hi']:+.4f}"
        view.add_row(str(r["rel_period"]), f"{r['estimate']:+.4f}" if r["estimate"] is not None else "–", ci)
    out.print(view)
