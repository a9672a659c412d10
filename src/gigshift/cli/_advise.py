"""``gigshift advise paths|similar|tasks|niches|price|peers|report``: career advice, from the atlas and a market."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gigshift.cli._common import emit_json, err, fmt, out, read_any, renamed, user_errors, write_table_atomic

app = typer.Typer(
    help=(
        "Career advice: less-exposed career paths, similar occupations, working with AI, and on a market "
        "your niches, rate range and peers; all of it on one career card."
    ),
    no_args_is_help=True,
)

_OCCUPATION = typer.Option(None, "--occupation", help="O*NET-SOC code such as 27-3091.00 (or SOC 27-3091).")
_CATEGORY = typer.Option(None, "--category", help="Gig category slug (see `gigshift categories`).")
_TEXT = typer.Option(None, "--text", help="Your work in plain words; '-' reads stdin.")
_JSON = typer.Option(False, "--json", help="Write the result as JSON to stdout.")


def _origin(occupation: str | None, category: str | None, text: str | None) -> tuple[str, str]:
    """The one origin given, and how to read it; exit 2 unless exactly one of the three flags is set."""
    given = [(v, k) for v, k in ((occupation, "occupation"), (category, "category"), (text, "text")) if v is not None]
    if len(given) != 1:
        named = ", ".join(f"--{k}" for _, k in given) or "none"
        err.print(
            f"[bold red]error:[/] give exactly one of --occupation, --category or --text (got {named})",
            highlight=False,
        )
        raise typer.Exit(code=2)
    value, kind = given[0]
    if kind == "text" and value == "-":
        value = sys.stdin.read()
    return value, kind


def _lens_cell(beta: float | None, other: float | None) -> str:
    return f"{fmt(beta)} / {fmt(other)}"


@app.command("paths")
def paths_command(
    occupation: str | None = _OCCUPATION,
    category: str | None = _CATEGORY,
    text: str | None = _TEXT,
    top: int = typer.Option(10, "--top", min=1, max=200, help="How many paths to show."),
    min_wage_ratio: float = typer.Option(
        0.75, "--min-wage-ratio", min=0.0, help="A path must pay at least this share of your BLS median wage."
    ),
    as_json: bool = _JSON,
) -> None:
    """Less-exposed, well-paid occupations close to your work, ranked, with what to learn for each."""
    from gigshift.advise import paths

    origin, kind = _origin(occupation, category, text)
    with user_errors():
        result = paths(origin, by=kind, top=top, min_wage_ratio=min_wage_ratio)  # type: ignore[arg-type]
    if as_json:
        emit_json(result.to_json())
        return
    o = result.origin
    out.print(
        f"[bold]From {escape(o.label)}[/]: beta {o.exposure['gpt4']['beta']:.2f} (GPT-4) / "
        f"{o.exposure['human']['beta']:.2f} (human), "
        + (f"${o.wage_usd_hourly:.2f}/h, " if o.wage_usd_hourly else "")
        + f"job zone {o.job_zone or '–'}"
    )
    out.print(result.note, style="yellow" if result.widened else "dim", highlight=False, markup=False)
    if result.paths.height == 0:
        return
    table = Table(title="Career paths, best first", title_justify="left")
    for col in ("#", "occupation", "score", "similar", "beta GPT-4/human", "pay", "zone", "jobs 24-34"):
        table.add_column(col, justify="left" if col == "occupation" else "right")
    for n, r in enumerate(result.paths.iter_rows(named=True), start=1):
        table.add_row(
            str(n),
            f"{r['title']} ({r['soc_code']})",
            f"{r['score']:.2f}",
            f"{r['similarity']:.2f}",
            _lens_cell(r["gpt4_beta"], r["human_beta"]),
            "–" if r["wage_ratio"] is None else f"{r['wage_ratio']:.2f}x",
            f"{r['job_zone_change']:+d}",
            "–" if r["employment_change_pct"] is None else f"{r['employment_change_pct']:+.1f}%",
        )
    out.print(table)
    learn = result.learn.filter(result.learn["rank"] <= 5)
    for r in result.paths.iter_rows(named=True):  # at most --top paths
        items = learn.filter(learn["soc_code"] == r["soc_code"])
        listed = ", ".join(
            i["name"].rstrip(".") + (" [in demand]" if i["is_in_demand"] else " [hot]" if i["is_hot"] else "")
            for i in items.iter_rows(named=True)
        )
        out.print(f"[bold]{escape(r['title'])}[/]: {escape(r['why'])}", highlight=False)
        if listed:
            out.print(f"  learn: {listed}", style="dim", highlight=False, markup=False)
    if result.skill_levers.height:
        out.print(
            "[bold]Skill levers[/] (each opens the most of these paths): "
            + "; ".join(
                f"{escape(r['name'].rstrip('.'))} ({r['n_paths']})"
                for r in result.skill_levers.head(5).iter_rows(named=True)
            ),
            highlight=False,
        )


@app.command("similar")
def similar_command(
    occupation: str | None = _OCCUPATION,
    category: str | None = _CATEGORY,
    text: str | None = _TEXT,
    top: int = typer.Option(20, "--top", min=1, max=922, help="How many occupations to show."),
    as_json: bool = _JSON,
) -> None:
    """The occupations closest to yours by O*NET tasks, activities, titles, skills and tools."""
    from gigshift.advise import similar

    origin, kind = _origin(occupation, category, text)
    with user_errors():
        result = similar(origin, by=kind, top=top)  # type: ignore[arg-type]
    if as_json:
        emit_json(result.to_json())
        return
    table = Table(title=f"Closest to {escape(result.origin.label)}", title_justify="left")
    for col in ("#", "soc_code", "title", "similarity", "zone"):
        table.add_column(col, justify="left" if col in ("soc_code", "title") else "right")
    for r in result.similar.iter_rows(named=True):
        table.add_row(
            str(r["similarity_rank"]), r["soc_code"], r["title"], f"{r['similarity']:.2f}", str(r["job_zone"])
        )
    out.print(table)


@app.command("tasks")
def tasks_command(
    occupation: str | None = _OCCUPATION,
    category: str | None = _CATEGORY,
    text: str | None = _TEXT,
    n_tasks: int = typer.Option(8, "--tasks", min=0, help="How many tasks to list per group (table output)."),
    as_json: bool = _JSON,
) -> None:
    """Your tasks split into "AI can do it", "AI speeds it up" and "the human edge", with what to do."""
    from gigshift.advise import tasks

    origin, kind = _origin(occupation, category, text)
    with user_errors():
        result = tasks(origin, by=kind)  # type: ignore[arg-type]
    if as_json:
        emit_json(result.to_json())
        return
    out.print(f"[bold]Working with AI as {escape(result.origin.label)}[/]")
    for g in result.groups.iter_rows(named=True):  # three groups
        out.print(f"\n[bold]{g['label']}[/]: {g['share']:.0%} of the work ({g['n_tasks']} tasks)", highlight=False)
        out.print(g["advice"], style="dim", highlight=False, markup=False)
        if g["group"] == "ai_speeds_up":
            for e in result.evidence:
                out.print(f"  · {e['finding']} ({e['source']})", style="dim", highlight=False, markup=False)
        rows = result.tasks.filter(result.tasks["group"] == g["group"]).head(n_tasks)
        for r in rows.iter_rows(named=True):
            out.print(f"  - {r['task']} [{r['gpt4_label']}/{r['human_label']}]", highlight=False, markup=False)
    if result.profile_lead:
        out.print(
            "\n[bold]Lead your profile with:[/] " + " · ".join(escape(t.rstrip(".")) for t in result.profile_lead)
        )


# -- market-based advice ----------------------------------------------------------------------------------------------

_MARKET = typer.Option(..., "--market", help="Market folder: workers, tasks, bids (.parquet or .csv).")


def _read_market(directory: Path):  # type: ignore[no-untyped-def]
    """The market in ``directory`` and its assignments (``assignments.parquet``/``.csv``) when it holds them."""
    from gigshift._errors import GigshiftError
    from gigshift.market import read_market

    market = read_market(directory)
    found = [
        directory / f"assignments.{ext}" for ext in ("parquet", "csv") if (directory / f"assignments.{ext}").is_file()
    ]
    if len(found) > 1:
        raise GigshiftError(f"{directory}: holds both assignments.parquet and assignments.csv; keep one")
    return market, (read_any(found[0], name="assignments") if found else None), (found[0].name if found else None)


@app.command("niches")
def niches_command(
    market_dir: Path = _MARKET,
    worker: str = typer.Option(..., "--worker", help="Your worker id in the market."),
    top: int = typer.Option(10, "--top", min=1, max=100, help="How many niches to show."),
    as_json: bool = _JSON,
) -> None:
    """The niches (categories and skill clusters) you could serve, ranked on demand, competition, AI and pay."""
    from gigshift.advise import niches

    with user_errors():
        market, assignments, name = _read_market(market_dir)
        try:
            result = niches(market, worker_id=worker, top=top, assignments=assignments, seed=0)
        except Exception as exc:
            raise renamed(exc, {"assignments": name or "assignments"}) from None
    if as_json:
        emit_json(result.to_json())
        return
    w = result.worker
    out.print(
        f"[bold]Niches for {escape(str(w['worker_id']))}[/] ({', '.join(w['categories'])}; "
        f"{len(w['skills'])} skills): {result.n_candidates} you could serve, best {result.niches.height} shown",
        highlight=False,
    )
    table = Table(title="Niches, best first", title_justify="left")
    for col in ("#", "niche", "score", "demand", "competition", "AI exposure", "pay", "median rate"):
        table.add_column(col, justify="left" if col == "niche" else "right")
    for r in result.niches.iter_rows(named=True):
        table.add_row(
            str(r["rank"]),
            r["label"] + ("" if r["is_listed"] else " (new to you)"),
            f"{r['score']:.2f}",
            f"{r['score_demand']:.2f}",
            f"{r['score_competition']:.2f}",
            f"{r['score_exposure']:.2f}",
            f"{r['score_pay']:.2f}",
            "–" if r["median_winning_rate_usd"] is None else f"${r['median_winning_rate_usd']:,.2f}/h",
        )
    out.print(table)
    for r in result.niches.head(5).iter_rows(named=True):
        out.print(f"[bold]{escape(r['label'])}[/]: {escape(r['why'])}", highlight=False)
    for note in result.notes:
        out.print(f"· {note}", style="dim", highlight=False, markup=False)


@app.command("price")
def price_command(
    market_dir: Path = _MARKET,
    category: str = typer.Option(..., "--category", help="Gig category slug (see `gigshift categories`)."),
    rating: float | None = typer.Option(None, "--rating", min=1.0, max=5.0, help="Your rating (1-5); none yet: omit."),
    jobs: int = typer.Option(0, "--jobs", min=0, help="Jobs you have completed."),
    as_json: bool = _JSON,
) -> None:
    """A suggested hourly rate range for your profile, from winning bids on similar tasks in a market."""
    from gigshift.advise import price

    with user_errors():
        market, assignments, name = _read_market(market_dir)
        try:
            result = price(market, category=category, rating=rating, jobs=jobs, assignments=assignments, seed=0)
        except Exception as exc:
            raise renamed(exc, {"assignments": name or "assignments"}) from None
    if as_json:
        emit_json(result.to_json())
        return
    out.print(f"[bold]Rate for {escape(result.category_name)}[/] ({result.category})", highlight=False)
    out.print(result.headline(), style=None if result.is_enough else "yellow", highlight=False, markup=False)
    if result.is_enough:
        table = Table(title=f"Hourly rate, {result.confidence:.0%} confidence intervals", title_justify="left")
        for col in ("", "rate", "CI"):
            table.add_column(col, justify="left" if col == "" else "right")
        labels = ("low end", "median", "high end")
        for label, r in zip(labels, result.range.iter_rows(named=True), strict=True):
            table.add_row(
                f"{label} ({r['quantile']:.0%})", f"${r['rate_usd']:,.2f}", f"${r['ci_lo']:,.2f} – ${r['ci_hi']:,.2f}"
            )
        out.print(table)
    elif result.nearest.height:
        first = result.nearest.row(0, named=True)
        out.print(
            f"try: gigshift advise price --market {market_dir} --category {first['slug']}",
            style="dim",
            highlight=False,
            markup=False,
        )
    for note in result.notes[1:]:
        out.print(f"· {note}", style="dim", highlight=False, markup=False)


@app.command("peers")
def peers_command(
    market_dir: Path = _MARKET,
    out_path: Path = typer.Option(..., "--out", help="Where to write the matches (.csv or .parquet)."),
    as_json: bool = typer.Option(False, "--json", help="Write the summary as JSON to stdout."),
) -> None:
    """Match workers entering a category with experienced workers in it, as mentors; write one row per entrant."""
    import json

    import polars as pl

    from gigshift._errors import GigshiftError
    from gigshift.advise import peers

    with user_errors():
        suffix = out_path.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise GigshiftError(
                f"--out {out_path.name}: expected a .csv or .parquet file, got {suffix or 'no suffix'!r}"
            )
        market, _, _ = _read_market(market_dir)
        result = peers(market)
    table = result.tidy()
    if suffix == ".csv":
        table = table.with_columns(pl.col("categories").list.join(";"))
    write_table_atomic(table, out_path)
    if as_json:
        emit_json(json.dumps({"summary": result.summary(), "out": str(out_path), "notes": list(result.notes)}))
        return
    s = result.summary()
    out.print(
        f"[bold]{s['n_matched']}[/] of {s['n_entrants']} entrants matched with {s['n_mentors_used']} of "
        f"{s['n_mentors']} mentors; {s['n_mentors_full']} found every candidate mentor full, "
        f"{s['n_no_candidate']} had no experienced worker in their categories -> {out_path}",
        highlight=False,
    )
    view = Table(title="First matches", title_justify="left")
    for col in ("entrant", "mentor", "category", "score", "why"):
        view.add_column(col, justify="right" if col == "score" else "left")
    for r in result.pairs.head(8).iter_rows(named=True):
        view.add_row(r["entrant_id"], r["mentor_id"], r["category"], f"{r['score']:.3f}", r["why"])
    out.print(view)


@app.command("report")
def report_command(
    occupation: str | None = _OCCUPATION,
    category: str | None = _CATEGORY,
    text: str | None = _TEXT,
    market_dir: Path | None = typer.Option(None, "--market", help="Market folder: adds niches and rate ranges."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for index.html (the career card) and card.json."),
) -> None:
    """Your career card: exposure and task split, paths with what to learn, the online trend, niches and rates."""
    from gigshift._errors import GigshiftError
    from gigshift._html import write_atomic
    from gigshift.advise import career_card

    origin, kind = _origin(occupation, category, text)
    with user_errors():
        if out_dir.exists() and not out_dir.is_dir():
            raise GigshiftError(f"--out {out_dir}: exists and is not a directory")
        market, assignments, name = (None, None, None) if market_dir is None else _read_market(market_dir)
        try:
            card = career_card(origin, by=kind, market=market, assignments=assignments, seed=0)  # type: ignore[arg-type]
        except Exception as exc:
            raise renamed(exc, {"assignments": name or "assignments"}) from None
        page = card.to_html()
        body = card.to_json()
    write_atomic(out_dir / "card.json", body)
    path = write_atomic(out_dir / "index.html", page)
    out.print(f"career card for {escape(card.origin.label)}: {path.resolve()}", highlight=False)
    for note in card.notes:
        out.print(f"· {note}", style="dim", highlight=False, markup=False)
