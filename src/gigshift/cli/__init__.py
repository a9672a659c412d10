"""The ``gigshift`` command line: one Typer sub-app per engine; commands parse, call and render.

Exit codes: 0 ok, 2 the user's fault (bad flags, unknown code, bad data), 1 a bug (one line, no
traceback, unless ``GIGSHIFT_DEBUG=1``).
"""

from __future__ import annotations

import sys
import warnings

import typer

import gigshift.cli._insights as _insights
import gigshift.cli._pay as _pay
import gigshift.cli._server as _server
from gigshift.cli import _advise, _allocate, _atlas, _audit, _data, _demo, _exposure, _impact, _market, _simulate
from gigshift.cli._common import debug, err

app = typer.Typer(
    name="gigshift",
    help="Measure, simulate and act on the impact of AI on gig work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("demo")(_demo.demo_command)
app.add_typer(_exposure.app, name="exposure")
app.add_typer(_data.app, name="data")
app.add_typer(_advise.app, name="advise")
app.add_typer(_market.app, name="market")
app.add_typer(_insights.app, name="insights")
app.add_typer(_allocate.app, name="allocate")
app.add_typer(_pay.app, name="pay")
app.command("explain")(_allocate.explain_command)
app.command("audit")(_audit.audit_command)
app.command("simulate")(_simulate.simulate_command)
app.command("estimate")(_impact.estimate_command)
app.command("categories")(_atlas.categories_command)
app.command("atlas")(_atlas.atlas_command)
app.command("serve")(_server.serve_command)
app.add_typer(_server.db_app, name="db")
app.add_typer(_server.users_app, name="users")


def _print_version(value: bool) -> None:
    if value:
        import gigshift

        typer.echo(f"gigshift {gigshift.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """Measure, simulate and act on the impact of AI on gig work."""


def _plain_warning(message, category, filename, lineno, line=None) -> str:  # type: ignore[no-untyped-def]
    # users read what to do, not which source line raised it (GIGSHIFT_DEBUG=1 keeps Python's format)
    return f"warning: {message}\n"


def main() -> None:
    """Console entry point: run the app; a bug prints one line and exits 1."""
    if not debug():
        warnings.formatwarning = _plain_warning
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: no traceback for users, but say how to get one
        if debug():
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
            "(set GIGSHIFT_DEBUG=1 for the traceback and please report it)",
            highlight=False,
        )
        sys.exit(1)
