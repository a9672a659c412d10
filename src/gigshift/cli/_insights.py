"""``gigshift insights trends`` and ``gigshift insights market``: online labour trends and platform insights."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from gigshift.cli._common import emit_json, err, fmt, out, renamed, user_errors, write_dir_atomic

app = typer.Typer(
    help="Market insights: online labour trends (OLI) and a platform's activity, prices and client preferences.",
    no_args_is_help=True,
    add_completion=False,
)

MARKET_FILES = ("insights.json", "insights.md", "activity.csv", "prices.csv", "hedonic.csv", "preferences.csv")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1%}"


@app.command("trends")
def trends_command(
    cls: str | None = typer.Option(None, "--class", help="One occupation class (slug or OLI name); default all."),
    event: list[str] = typer.Option(
        [], "--event", help="Event date YYYY-MM-DD (repeatable); default ChatGPT's release, 2022-11-30."
    ),
    window: int = typer.Option(12, "--window", help="Months compared on each side of the event month."),
    as_json: bool = typer.Option(False, "--json", help="Write series, events and breaks as JSON to stdout."),
) -> None:
    """Online labour trends by occupation class: share, trend, change around events, structural breaks."""
    from gigshift.insights import trends

    with user_errors():
        result = trends(classes=cls, events=event or None, window_months=window)
    if as_json:
        emit_json(result.to_json())
        return
    last = result.series.filter(result.series["date"] == result.series["date"].max())
    view = Table(
        title=f"Online Labour Index: change around events, {window} months each side (CC BY 4.0)",
        title_justify="left",
    )
    for col in ("class", "event", "change", "market", "relative to market", "95% CI", f"share {last['date'][0]}"):
        view.add_column(col, justify="left" if col in ("class", "event") else "right")
    shares = dict(zip(last["class"].to_list(), last["share"].to_list(), strict=True))
    for r in result.events.iter_rows(named=True):
        ci = "–" if r["ci_lo"] is None else f"{r['ci_lo']:+.1%} to {r['ci_hi']:+.1%}"
        view.add_row(
            r["class"],
            f"{r['event']} ({r['date']})",
            _pct(r["change"]),
            _pct(r["market_change"]),
            _pct(r["relative_change"]),
            ci if r["note"] is None or r["ci_lo"] is not None else r["note"],
            fmt(shares.get(r["class"]), ".1%"),
        )
    out.print(view)
    if result.breaks.height:
        out.print("structural breaks in the trend (share of the market; level for the total):")
        for r in result.breaks.iter_rows(named=True):
            out.print(
                f"- {r['class']}: {r['date']:%Y-%m}, growth {r['slope_before_pct_per_year']:+.1f}%/yr -> "
                f"{r['slope_after_pct_per_year']:+.1f}%/yr",
                highlight=False,
            )
    else:
        out.print("no structural break detected")
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)


@app.command("market")
def market_command(
    directory: Path = typer.Argument(
        ..., help="A market folder (gigshift market synth), allocation run (allocate run) or simulation (simulate)."
    ),
    category: str | None = typer.Option(None, "--category", help="Only this category slug."),
    min_cell_tasks: int = typer.Option(10, "--min-cell-tasks", help="Fewest priced tasks for a price-index value."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the task sample for the choice model."),
    as_json: bool = typer.Option(False, "--json", help="Write the insights as JSON to stdout."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write insights.json, insights.md and CSV tables here."),
) -> None:
    """Activity per category and week, a mix-adjusted price index, and what clients reward."""
    from gigshift._errors import GigshiftError
    from gigshift.insights import market, read_folder

    with user_errors():
        with err.status(f"reading {directory}"):
            folder = read_folder(directory)
        with err.status(f"analysing {folder.describe()}"):
            try:
                result = market(
                    **folder.tables,
                    category=category,
                    min_cell_tasks=min_cell_tasks,
                    seed=seed,
                    kinds=folder.kinds,
                    sources=folder.files,
                )
            except GigshiftError as exc:
                raise renamed(exc, folder.files) from None
        if out_dir is not None:

            def fill(target: Path) -> None:
                (target / "insights.json").write_text(result.to_json(), encoding="utf-8")
                (target / "insights.md").write_text(result.to_markdown(), encoding="utf-8")
                result.activity.write_csv(target / "activity.csv")
                result.prices.write_csv(target / "prices.csv")
                result.hedonic.write_csv(target / "hedonic.csv")
                result.preferences.write_csv(target / "preferences.csv")

            write_dir_atomic(out_dir, fill)
    if as_json:
        emit_json(result.to_json())
        return
    out.print(folder.describe(), highlight=False)
    summary = result.summary()
    view = Table(title="by category (price index: last week with enough tasks, base week = 100)", title_justify="left")
    columns = ("category", "weeks", "tasks", "fill rate", "bids/task", "price index", "95% CI", "raw median index")
    widest = max((len(c) for c in summary["category"].to_list()), default=8)
    for col in columns:
        if col == "category":
            view.add_column(col, no_wrap=True, min_width=widest)
        else:
            view.add_column(col, justify="right")
    for r in summary.iter_rows(named=True):
        ci = "–" if r["ci_lo"] is None else f"{r['ci_lo']:.1f}–{r['ci_hi']:.1f}"
        view.add_row(
            r["category"],
            str(r["n_weeks"]),
            f"{r['n_tasks_posted']:,}",
            fmt(r["fill_rate"], ".1%"),
            fmt(r["bids_per_task"], ".1f"),
            fmt(r["price_index"], ".1f"),
            ci,
            fmt(r["raw_index"], ".1f"),
        )
    out.print(view)
    if result.preferences.height:
        prefs = Table(
            title=f"what clients reward: conditional logit on {result.choice['n_tasks']:,} tasks "
            f"({result.choice['n_candidates']:,} candidates)",
            title_justify="left",
        )
        for col in ("attribute", "unit", "odds ratio", "95% CI", "p"):
            prefs.add_column(col, justify="left" if col in ("attribute", "unit") else "right")
        for r in result.preferences.iter_rows(named=True):
            prefs.add_row(
                r["attribute"],
                r["unit"],
                fmt(r["odds_ratio"], ".3f"),
                f"{fmt(r['odds_ratio_ci_lo'], '.3f')}–{fmt(r['odds_ratio_ci_hi'], '.3f')}",
                fmt(r["p_value"], ".3g"),
            )
        out.print(prefs)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)
    if out_dir is not None:
        out.print(f"wrote {out_dir}/ ({', '.join(MARKET_FILES)})")
