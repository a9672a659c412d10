"""``gigshift data build``: re-derive the shipped tables from the raw public data."""

from __future__ import annotations

from pathlib import Path

import typer

from gigshift.cli._common import err, out, user_errors

app = typer.Typer(help="Derive and check the compact tables gigshift ships.", no_args_is_help=True)


@app.command("build")
def build_command(
    raw: Path = typer.Option(..., "--raw", help="Folder with the raw public data (laid out as shared/data)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Where to write the tables (default: the package's data)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the shipped tables differ."),
) -> None:
    """Derive tasks, occupations, skills, titles and activities tables from the raw files."""
    from gigshift.taxonomy import build_tables, write_tables
    from gigshift.taxonomy._build import compare_with_shipped
    from gigshift.taxonomy._store import data_dir

    with user_errors():
        with err.status("reading and checking raw files"):
            tables = build_tables(raw)
        if check:
            differences = compare_with_shipped(tables)
            if differences:
                for line in differences:
                    err.print(f"[red]differs:[/] {line}", highlight=False)
                raise typer.Exit(code=1)
            out.print("shipped tables match the raw data")
            return
        target = write_tables(tables, out_dir or data_dir())
    for name, frame in sorted(tables.items()):
        out.print(f"{name:>18}: {frame.height:>6} rows")
    out.print(f"wrote {target}")
