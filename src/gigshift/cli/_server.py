"""``gigshift serve``, ``gigshift db upgrade`` and ``gigshift users add``: run and administer the service."""

from __future__ import annotations

import sys

import typer

from gigshift.cli._common import err, out, user_errors

DB_HELP = "Database: sqlite:///FILE or postgresql://USER@HOST/DB (default $GIGSHIFT_DATABASE_URL, else gigshift.db)."

db_app = typer.Typer(help="The service's database: migrations.", no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Logins of the service.", no_args_is_help=True, add_completion=False)


def _shown(url: str | None) -> str:
    """The URL with any password hidden."""
    import sqlalchemy as sa

    from gigshift.server._db import resolve_url

    return sa.engine.make_url(resolve_url(url)).render_as_string(hide_password=True)


def _dask_address(raw: str) -> str:
    """A scheduler address as Dask writes them (``tcp://HOST:PORT``, ``tls://``, ``inproc://``, ``ucx://``)."""
    from gigshift._errors import GigshiftError

    address = raw.strip()
    scheme, sep, rest = address.rpartition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    has_port = bool(host and colon and port.isdigit())
    if scheme not in ("tcp", "tls", "inproc", "ucx") or (scheme != "inproc" and not has_port):
        raise GigshiftError(f"--dask: expected a scheduler address like tcp://HOST:8786, got {raw!r}")
    return address if sep else f"tcp://{address}"


def serve_command(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (behind a reverse proxy: 127.0.0.1)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    demo: bool = typer.Option(
        False, "--demo", help="Load a synthetic market with one login per role and print the logins (development)."
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Server processes; the app keeps no state, so they share the database."
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=1,
        max=1000,
        help="Threads per process for the handlers (default $GIGSHIFT_REQUEST_THREADS, else 4).",
    ),
    access_log: bool = typer.Option(
        True,
        "--access-log/--no-access-log",
        help="A line per request on standard output (off: leave it to the reverse proxy, which logs them anyway).",
    ),
    dask: str | None = typer.Option(
        None,
        "--dask",
        help="Address of a Dask scheduler (tcp://HOST:PORT) for background allocation runs "
        "(default $GIGSHIFT_DASK_SCHEDULER; unset: runs execute in the server).",
    ),
) -> None:
    """Serve the REST API (/api/v1, described by /openapi.json) on a migrated database."""
    import os
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from gigshift.server import create_app, load_demo
    from gigshift.server._allocations import ENV_DASK_SCHEDULER
    from gigshift.server._app import ENV_REQUEST_THREADS

    with user_errors():
        if threads is not None:  # read by every process's app as it starts
            os.environ[ENV_REQUEST_THREADS] = str(threads)
        if dask is not None:
            # the server reads the address from the environment at each run, in every worker process
            os.environ[ENV_DASK_SCHEDULER] = _dask_address(dask)
        shown = _shown(db)
        if demo:
            err.print(f"loading the demo market into {shown} ...", highlight=False)
            logins = load_demo(db)
            out.print("[bold]demo logins[/] (POST /api/v1/auth/token with username and password):", highlight=False)
            for login in logins:
                extra = f" (worker {login.worker_id})" if login.worker_id else ""
                extra += f" (client {login.client_id})" if login.client_id else ""
                line = f"  {login.role:<9} {login.email}  password: {login.password}{extra}"
                out.print(line, highlight=False, soft_wrap=True)
        app = create_app(db, dev=demo)
    err.print(f"gigshift serving {shown} on http://{host}:{port} (API under /api/v1)", highlight=False, soft_wrap=True)
    options = {
        "host": host,
        "port": port,
        "log_level": "info",
        "log_config": _log_config(),
        "access_log": access_log,
        "proxy_headers": True,
        "server_header": False,
    }
    if workers == 1:
        uvicorn.run(app, **options)
        return
    from gigshift.server._db import ENV_DATABASE_URL, resolve_url
    from gigshift.server._security import ENV_SECRET_KEY

    # Each process builds its app from the environment: the same database, and the signing key checked (or,
    # with --demo, generated) above, so that a token from one process is good in all.
    os.environ[ENV_DATABASE_URL] = resolve_url(db)
    os.environ[ENV_SECRET_KEY] = app.state.secret_key
    app.state.engine.dispose()
    config = uvicorn.Config("gigshift.server._app:from_environment", factory=True, workers=workers, **options)
    listener = config.bind_socket()
    # uvicorn binds without naming TCP, so the workers' event loops leave Nagle's algorithm on for the
    # connections they accept, and an answer sent in two writes waits 40 ms for a delayed ACK. Accepted
    # connections inherit the option from the listening socket.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[listener]).run()


def _log_config() -> dict:
    """uvicorn's logging, with gigshift's own messages (allocation runs and their timings, errors) beside its."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["gigshift"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@db_app.command("upgrade")
def db_upgrade_command(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Create or migrate the database schema to this version of gigshift."""
    from gigshift.server import upgrade

    with user_errors():
        shown = _shown(db)
        before, after = upgrade(db)
    if before == after:
        out.print(f"{shown}: already at revision {after}", highlight=False)
    else:
        out.print(f"{shown}: {'empty' if before is None else before} -> revision {after}", highlight=False)


@users_app.command("add")
def users_add_command(
    email: str = typer.Option(..., "--email", help="The login's email address."),
    role: str = typer.Option(..., "--role", help="worker | client | operator | auditor."),
    worker_id: str | None = typer.Option(
        None, "--worker-id", help="For a worker: the worker profile to link (created empty if there is none)."
    ),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Add a login; the password comes on standard input, never as an argument."""
    from gigshift._errors import GigshiftError
    from gigshift.server import add_user

    with user_errors():
        if not password_stdin:
            raise GigshiftError("give the password on standard input with --password-stdin (never as an argument)")
        password = sys.stdin.readline().rstrip("\r\n")
        user_id = add_user(email=email, role=role, password=password, worker_id=worker_id, database_url=db)
    linked = f", linked to worker {worker_id}" if worker_id else ""
    out.print(f"added user {user_id}: {email.strip().lower()} ({role}{linked})", highlight=False)
