"""``gigshift estimate``: DiD and event study of an outcome around an event (or staggered events), on a panel file."""

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
    event: str | None = typer.Option(
        None, "--event", help="Event date (YYYY-MM-DD) or period number, the same for every unit."
    ),
    cohort_col: str | None = typer.Option(
        None,
        "--cohort-col",
        help="Staggered events: column with each unit's first treated period (empty if never treated).",
    ),
    estimator: str | None = typer.Option(
        None, "--estimator", help="With --cohort-col: did2s (default, heterogeneity-robust) or twfe (for comparison)."
    ),
    log: bool = typer.Option(False, "--log", help="Use log(1 + outcome)."),
    model: str = typer.Option("ols", "--model", help="ols, or poisson for counts (effects as log ratios)."),
    treated_col: str | None = typer.Option(None, "--treated-col", help="0/1 treated group, fixed per unit."),
    exposure_col: str | None = typer.Option(None, "--exposure-col", help="Continuous exposure, fixed per unit."),
    as_json: bool = typer.Option(False, "--json", help="Write the estimates as JSON to stdout."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Write estimate.json, estimate.md and event_study.parquet."
    ),
) -> None:
    """Estimate the effect of an event on exposed units: DiD and event study.

    With --event, one date for all units (two-way fixed effects); with --cohort-col, staggered
    events, each unit treated from its own period (Gardner's two-stage did2s by default).
    """
    from gigshift._errors import GigshiftError
    from gigshift.impact import estimate, estimate_staggered

    with user_errors():
        if (event is None) == (cohort_col is None):
            raise GigshiftError(
                "give exactly one of --event (one date for all units) or --cohort-col (staggered events)"
            )
        if cohort_col is not None and (treated_col is not None or exposure_col is not None):
            raise GigshiftError("--cohort-col sets who is treated and when; drop --treated-col / --exposure-col")
        if cohort_col is not None and model != "ols":
            raise GigshiftError("--model poisson is not available with --cohort-col (did2s is linear)")
        if estimator is not None and cohort_col is None:
            raise GigshiftError("--estimator applies to staggered events only; give --cohort-col")
        frame = read_any(panel, name="PANEL")
        frame = _parse_dates(frame, time, source=panel.name)
        if cohort_col is not None and frame.schema.get(time) == pl.Date:
            frame = _parse_dates(frame, cohort_col, source=panel.name)
        try:
            if cohort_col is not None:
                result = estimate_staggered(
                    frame,
                    unit=unit,
                    time=time,
                    outcome=outcome,
                    cohort=cohort_col,
                    log_outcome=log,
                    estimator=estimator or "did2s",  # type: ignore[arg-type]
                    source=panel.name,
                )
            else:
                result = estimate(
                    frame,
                    unit=unit,
                    time=time,
                    outcome=outcome,
                    event=event,  # type: ignore[arg-type]
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
    label = "DiD" if cohort_col is None else f"DiD ({estimator or 'did2s'}, staggered)"
    out.print(
        f"{label}: {d['estimate']:+.4f} (se {d['se']:.4f}, 95% CI {d['ci'][0]:+.4f} to {d['ci'][1]:+.4f}); "
        f"{d['n_obs']:,} observations, {d['n_units']:,} units, SE clustered by unit",
        highlight=False,
    )
    title = "event study (reference: period -1)"
    if cohort_col is not None:
        title = f"event study, periods since {cohort_col!r} (reference: -1)"
    view = Table(title=title, title_justify="left")
    for col in ("period", "estimate", "95% CI"):
        view.add_column(col, justify="right")
    for r in result.event_study.iter_rows(named=True):
        ci = "reference" if r["se"] is None else f"{r['ci_lo']:+.4f} to {r['ci_hi']:+.4f}"
        view.add_row(str(r["rel_period"]), f"{r['estimate']:+.4f}" if r["estimate"] is not None else "–", ci)
    out.print(view)


def _parse_dates(frame: pl.DataFrame, column: str, *, source: str) -> pl.DataFrame:
    """CSV dates arrive as text: parse ``column`` as YYYY-MM-DD dates if it is text (empty stays null)."""
    from gigshift._errors import GigshiftError

    if frame.schema.get(column) != pl.String:
        return frame
    parsed = frame.get_column(column).str.to_date(strict=False)
    if parsed.null_count() > frame.get_column(column).null_count():
        raise GigshiftError(f"{source}: column {column!r} holds text that is not dates YYYY-MM-DD")
    return frame.with_columns(parsed.alias(column))
