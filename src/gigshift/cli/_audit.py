"""``gigshift audit``: a bias audit of a decision table (CSV or Parquet), as JSON, Markdown and HTML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from gigshift.cli._common import emit_json, out, read_any, renamed, user_errors, write_dir_atomic


def _references(values: list[str]) -> dict[str, str]:
    from gigshift._errors import GigshiftError

    refs = {}
    for value in values:
        attribute, sep, category = value.partition("=")
        if not sep or not attribute or not category:
            raise GigshiftError(f"--reference: expected ATTRIBUTE=CATEGORY (e.g. sex=Male), got {value!r}")
        refs[attribute] = category
    return refs


def audit_command(
    file: Path = typer.Argument(..., help="Decisions: one row per candidate and decision (.csv or .parquet)."),
    group: list[str] = typer.Option(..., "--group", help="A group attribute column; repeat for several."),
    intersect: bool = typer.Option(False, "--intersect", help="Also audit the intersection of the attributes."),
    selected_col: str | None = typer.Option(None, "--selected-col", help="0/1 decision column (selection rate)."),
    score_col: str | None = typer.Option(None, "--score-col", help="Score column (scoring rate: above the median)."),
    label_col: str | None = typer.Option(None, "--label-col", help="0/1 ground truth, e.g. qualified."),
    weight_col: str | None = typer.Option(None, "--weight-col", help="Row weights."),
    person_col: str | None = typer.Option(None, "--person-col", help="Count people: selected if any row is."),
    rank_col: str | None = typer.Option(None, "--rank-col", help="Rank in candidate lists: adds exposure."),
    exclude_small: bool = typer.Option(
        False, "--exclude-small", help="Set aside categories under 2%% of the data from impact ratios (LL144)."
    ),
    reference: list[str] = typer.Option([], "--reference", help="Reference category, ATTRIBUTE=CATEGORY."),
    min_n: int = typer.Option(30, "--min-n", help="Flag categories with fewer people as small."),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap replicates for intervals (0: none)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for the bootstrap."),
    description: str = typer.Option("", "--description", help="What the data is, for the report."),
    as_json: bool = typer.Option(False, "--json", help="Write the audit as JSON to stdout."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write audit.json, audit.md and report.html here."),
) -> None:
    """Audit decisions for unequal treatment of groups (LL144 impact ratios, fairness metrics, intervals)."""
    from gigshift._errors import GigshiftError
    from gigshift.audit import audit

    with user_errors():
        decisions = read_any(file, name="FILE")
        try:
            result = audit(
                decisions,
                group,
                intersect=intersect,
                selected=selected_col,
                score=score_col,
                label=label_col,
                weight=weight_col,
                person=person_col,
                rank=rank_col,
                exclude_small=exclude_small,
                min_n=min_n,
                reference=_references(reference),
                n_bootstrap=bootstrap,
                seed=seed,
                audit_date=date.today(),
                source=file.name,
                description=description,
            )
        except GigshiftError as exc:
            raise renamed(exc, {file.name: file.name}) from None
        if out_dir is not None:

            def fill(folder: Path) -> None:
                (folder / "audit.json").write_text(result.to_json(), encoding="utf-8")
                (folder / "audit.md").write_text(result.to_markdown(), encoding="utf-8")
                (folder / "report.html").write_text(result.to_html(), encoding="utf-8")

            write_dir_atomic(out_dir, fill)
    if as_json:
        emit_json(result.to_json())
        return
    rate = "selection rate" if result.kind == "selection" else "scoring rate"
    unit = "people" if person_col else "rows"
    view = Table(title=f"{file.name}: {result.n_rows:,} {unit}, {rate} and impact ratio", title_justify="left")
    for col in ("attribute", "category", "n", rate, "95% CI", "impact ratio", "note"):
        view.add_column(col, justify="left" if col in ("attribute", "category", "note") else "right")
    for r in result.groups.iter_rows(named=True):
        note = "excluded (<2%)" if r["excluded"] else ("small n" if r["small"] else "")
        ratio = "–" if r["impact_ratio"] is None else f"{r['impact_ratio']:.3f}"
        ci = "–" if r["ci_lo"] is None else f"{r['ci_lo']:.3f}–{r['ci_hi']:.3f}"
        view.add_row(r["attribute"], r["category"], f"{r['n']:,}", f"{r['rate']:.3f}", ci, ratio, note)
    out.print(view)
    for finding in result.findings():
        out.print(f"- {finding}", highlight=False, soft_wrap=True)
    if out_dir is not None:
        out.print(f"wrote {out_dir}/ (audit.json, audit.md, report.html)")
