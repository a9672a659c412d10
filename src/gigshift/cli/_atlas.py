"""``gigshift categories`` and ``gigshift atlas``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from gigshift.cli._common import emit_json, err, out, user_errors


def categories_command(
    as_json: bool = typer.Option(False, "--json", help="Write the categories as JSON to stdout."),
    sort_by: str = typer.Option("gpt4_beta", "--sort", help="Column to sort by, highest first (or 'slug')."),
) -> None:
    """List the gig categories with their AI exposure under the GPT-4 and human lenses."""
    import json

    import polars as pl

    from gigshift._errors import GigshiftError
    from gigshift.taxonomy import categories
    from gigshift.taxonomy._sources import sources_for

    table = categories()
    with user_errors():
        if sort_by not in table.columns:
            numeric = [c for c, t in table.schema.items() if t.is_numeric()]
            raise GigshiftError(f"--sort: unknown column {sort_by!r}; choose slug or one of {', '.join(numeric)}")
    table = table.sort(sort_by, descending=sort_by != "slug")
    if as_json:
        body = {
            "categories": table.with_columns(
                pl.col("class").cast(pl.String), pl.col("mode").cast(pl.String)
            ).to_dicts(),
            "sources": [s.to_dict() for s in sources_for("onet", "gpts_are_gpts")],
        }
        emit_json(json.dumps(body, allow_nan=False, ensure_ascii=False))
        return
    view = Table(
        title=f"{table.height} gig categories by AI exposure (beta; E1 = AI alone, E0 = human edge)",
        title_justify="left",
    )
    for col in ("slug", "name", "class", "GPT-4 β", "human β", "E1", "E2", "E0"):
        numeric = col not in ("slug", "name", "class")
        view.add_column(col, justify="right" if numeric else "left", no_wrap=col != "name")
    for r in table.iter_rows(named=True):
        view.add_row(
            r["slug"],
            r["name"],
            str(r["class"]),
            f"{r['gpt4_beta']:.2f}",
            f"{r['human_beta']:.2f}",
            f"{r['gpt4_share_e1']:.0%}",
            f"{r['gpt4_share_e2']:.0%}",
            f"{r['gpt4_share_e0']:.0%}",
        )
    out.print(view)


def atlas_command(
    out_dir: Path = typer.Option(Path("gigshift-atlas"), "--out", help="Folder to write the report into."),
) -> None:
    """Write the atlas: a self-contained HTML report (works offline, JavaScript inlined)."""
    from gigshift.report import write_atlas_report

    with user_errors(), err.status("building the atlas report"):
        path = write_atlas_report(out_dir)
    out.print(f"atlas report: {path.resolve()}")
