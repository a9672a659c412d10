"""``gigshift exposure occupation|category|text``: AI exposure of an occupation, category or text."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from gigshift.cli._common import emit_json, fmt, out, user_errors

app = typer.Typer(help="AI exposure of an O*NET occupation, a gig category, or free text.", no_args_is_help=True)


def _lens_table(title: str, rows: list[tuple[str, dict[str, float | None]]]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("lens", "alpha (E1)", "beta (E1+½E2)", "gamma (E1+E2)"):
        table.add_column(col, justify="right" if col != "lens" else "left")
    for name, s in rows:
        table.add_row(name, fmt(s["alpha"]), fmt(s["beta"]), fmt(s["gamma"]))
    return table


@app.command("occupation")
def occupation_command(
    code: str = typer.Argument(..., help="O*NET-SOC code such as 27-3091.00, or a SOC code such as 27-3091."),
    as_json: bool = typer.Option(False, "--json", help="Write the result as JSON to stdout."),
    n_tasks: int = typer.Option(15, "--tasks", min=0, help="How many tasks to list (table output)."),
    lenses: Path | None = typer.Option(
        None, "--lenses", help="Raw-data folder with the AIOE, Frey-Osborne and SML tables (never shipped)."
    ),
) -> None:
    """Published exposure scores and task labels of one occupation."""
    import json

    from gigshift.taxonomy import extra_lenses, occupation
    from gigshift.taxonomy._lenses import LENS_CITATIONS

    with user_errors():
        occ = occupation(code)
        extra = None
        if lenses is not None:
            extra = extra_lenses(lenses).filter(pl.col("soc_code") == occ.soc_code).drop("soc_code").row(0, named=True)
    if as_json:
        if extra is None:
            emit_json(occ.to_json())
        else:
            body = occ.to_dict()
            body["extra_lenses"] = {**extra, "citations": LENS_CITATIONS}
            emit_json(json.dumps(body, allow_nan=False, ensure_ascii=False))
        return
    out.print(f"[bold]{occ.title}[/] ({occ.soc_code}), job zone {occ.job_zone or '–'}")
    out.print(occ.description, style="dim")
    out.print(
        _lens_table(
            "Exposure (Eloundou et al. 2024, as published)",
            [("GPT-4", occ.gpt4.to_dict()), ("human", occ.human.to_dict())],
        )
    )
    wage = occ.context.get("bls_median_hourly_wage_usd")
    out.print(
        f"Microsoft AI applicability: {fmt(occ.ms_ai_applicability, '.3f')}   "
        f"BLS median wage: {'$' + fmt(wage) + '/h' if wage else '–'}   "
        f"employment change 2024-34: {fmt(occ.context.get('ep_employment_change_2024_34_pct'), '+.1f')}%"
    )
    tasks = Table(title=f"Tasks ({occ.tasks.height})", title_justify="left")
    for col in ("task_id", "task", "GPT-4", "human"):
        tasks.add_column(col)
    for r in occ.tasks.head(n_tasks).iter_rows(named=True):
        tasks.add_row(str(r["task_id"]), r["task"], str(r["gpt4_label"] or "–"), str(r["human_label"] or "–"))
    out.print(tasks)
    if occ.categories.height:
        out.print("Gig categories: " + ", ".join(occ.categories["slug"].to_list()))
    if extra is not None:
        out.print(
            "Other lenses (read from --lenses, not shipped): "
            + " · ".join(f"{k} {fmt(v, '.2f')}" for k, v in extra.items())
        )


@app.command("category")
def category_command(
    slug: str = typer.Argument(..., help="Gig category slug (see `gigshift categories`)."),
    as_json: bool = typer.Option(False, "--json", help="Write the result as JSON to stdout."),
    n_tasks: int = typer.Option(15, "--tasks", min=0, help="How many tasks to list (table output)."),
) -> None:
    """Exposure of a gig category, aggregated from its tasks, with its occupations."""
    from gigshift.taxonomy import category

    with user_errors():
        cat = category(slug)
    if as_json:
        emit_json(cat.to_json())
        return
    kind = cat.mode if cat.category_class == cat.mode else f"{cat.category_class}, {cat.mode}"
    out.print(f"[bold]{cat.name}[/] ({cat.slug}, {kind})")
    out.print(cat.description, style="dim")
    out.print(
        _lens_table(
            "Exposure from the category's tasks", [("GPT-4", cat.gpt4.to_dict()), ("human", cat.human.to_dict())]
        )
    )
    for lens, name in (("gpt4", "GPT-4"), ("human", "human")):
        s = cat.shares[lens]
        out.print(
            f"{name}: AI alone (E1) {s['e1']:.0%} · faster with AI tools (E2) {s['e2']:.0%} · "
            f"human edge (E0) {s['e0']:.0%}"
        )
    occs = Table(title="Occupations", title_justify="left")
    for col in ("soc_code", "title", "weight", "tasks"):
        occs.add_column(col)
    for r in cat.occupations.iter_rows(named=True):
        occs.add_row(r["soc_code"], r["title"], f"{r['weight']:.2f}", str(r["n_tasks"]))
    out.print(occs)
    tasks = Table(title="Tasks", title_justify="left")
    for col in ("task", "GPT-4", "human"):
        tasks.add_column(col)
    for r in cat.tasks.head(n_tasks).iter_rows(named=True):
        tasks.add_row(r["task"], str(r["gpt4_label"]), str(r["human_label"]))
    out.print(tasks)


@app.command("text")
def text_command(
    text: str = typer.Argument(..., help="A job posting or a profile in plain words; '-' reads stdin."),
    top: int = typer.Option(5, "--top", min=1, max=100, help="How many occupations and categories to show."),
    backend: str = typer.Option("tfidf", "--backend", help="tfidf (default) or semantic (needs gigshift[semantic])."),
    as_json: bool = typer.Option(False, "--json", help="Write the result as JSON to stdout."),
) -> None:
    """Match free text to O*NET occupations, tasks and gig categories; show the resulting exposure."""
    from gigshift.taxonomy import lookup

    if text == "-":
        text = sys.stdin.read()
    with user_errors():
        result = lookup(text, top=top, backend=backend)  # type: ignore[arg-type]
    if as_json:
        emit_json(result.to_json())
        return
    out.print(
        _lens_table(
            "Estimated exposure of this work", [("GPT-4", result.exposure["gpt4"]), ("human", result.exposure["human"])]
        )
    )
    occs = Table(title="Best-matching occupations", title_justify="left")
    for col in ("soc_code", "title", "score", "GPT-4 beta", "matched title"):
        occs.add_column(col)
    for r in result.occupations.iter_rows(named=True):
        occs.add_row(r["soc_code"], r["title"], f"{r['score']:.3f}", fmt(r["gpt4_beta"]), r["matched_title"] or "")
    out.print(occs)
    out.print(
        "Gig categories: "
        + ", ".join(f"{r['slug']} ({r['score']:.2f})" for r in result.categories.iter_rows(named=True))
    )
    tasks = Table(title="Tasks that drive the exposure", title_justify="left")
    for col in ("share", "task", "soc_code", "GPT-4", "human"):
        tasks.add_column(col)
    for r in result.tasks.iter_rows(named=True):
        tasks.add_row(f"{r['score']:.1%}", r["task"], r["soc_code"], r["gpt4_label"], r["human_label"])
    out.print(tasks)
