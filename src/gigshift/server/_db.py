"""Database plumbing: URL resolution, engines (SQLite in WAL mode with foreign keys, or PostgreSQL), sessions.

SQLite transactions are begun explicitly: ``BEGIN`` for reads and ``BEGIN IMMEDIATE`` for requests
that write, so two writers queue on the database lock (``busy_timeout``) instead of failing when a
read transaction cannot be upgraded. PostgreSQL runs at READ COMMITTED with row locks where needed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gigshift._errors import GigshiftError

DEFAULT_DATABASE_URL = "sqlite:///gigshift.db"
ENV_DATABASE_URL = "GIGSHIFT_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Connections per process, at least: more than the threads that serve requests, so that a burst queues for
#: the database and not for a connection (which times out with a 500 after 30 s), and so that the caller check,
#: which runs on the event loop, never waits for one (see :func:`make_engine`'s ``pool_size``).
POOL_SIZE, POOL_OVERFLOW = 20, 30


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url``, else ``$GIGSHIFT_DATABASE_URL``, else ``sqlite:///gigshift.db``.

    ``postgresql://`` and ``postgres://`` mean the psycopg 3 driver; a bare file path means SQLite.
    """
    raw = (url or os.environ.get(ENV_DATABASE_URL) or DEFAULT_DATABASE_URL).strip()
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).expanduser()}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            raw = "postgresql+psycopg://" + raw[len(prefix) :]
    try:
        parsed = sa.engine.make_url(raw)
    except sa.exc.ArgumentError as exc:
        raise GigshiftError(f"--db: not a database URL: {raw!r} ({exc})") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise GigshiftError(
            f"--db: unsupported database {parsed.get_backend_name()!r}; use sqlite:///FILE or postgresql://..."
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise GigshiftError("--db: SQLite needs a file (sqlite:///path/to/gigshift.db); an in-memory database is lost")
    return raw


def make_engine(url: str | None = None, *, pool_size: int = POOL_SIZE) -> Engine:
    """An engine for the resolved URL; SQLite gets WAL mode, foreign keys and a busy timeout on every connection.

    ``pool_size`` connections are kept open, and up to ``POOL_OVERFLOW`` more are opened under a burst.

    JSON columns are read with orjson: a page of tasks or workers holds a few hundred small JSON values, and
    the standard library's Python layers around its parser cost more than the parsing.
    """
    resolved = resolve_url(url)
    parsed = sa.engine.make_url(resolved)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            resolved,
            json_deserializer=orjson.loads,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_pre_ping=False,
            pool_size=pool_size,
            max_overflow=POOL_OVERFLOW,
        )
        _sqlite_events(engine)
        return engine
    try:
        engine = sa.create_engine(
            resolved, json_deserializer=orjson.loads, pool_size=pool_size, max_overflow=POOL_OVERFLOW
        )
    except ModuleNotFoundError as exc:  # the psycopg driver is an extra
        raise GigshiftError(f"PostgreSQL needs its driver: pip install 'gigshift[postgres]' ({exc})") from None
    _ping_when_idle(engine)
    return engine


#: A pooled connection idle for longer than this is checked with a round trip before it is handed out.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a connection that sat in the pool for a while before using it (a restarted or failed-over
    server, a proxy that dropped it), and replace it if it is gone.

    SQLAlchemy's ``pool_pre_ping`` checks at every checkout: a round trip that cost a tenth of the CPU of
    a small request (benchmarks/load.py). A connection in use within the last second needs no check: a
    server that went away since makes that one request fail, and SQLAlchemy then replaces every
    connection of the pool that is older than the failure.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)  # what pool_pre_ping runs
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and checks out (or opens) another.
            raise sa.exc.DisconnectionError(f"pooled connection gone: {exc}") from exc


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # We emit BEGIN ourselves (see _on_begin): the driver's implicit transactions are off.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = "IMMEDIATE" if connection.get_execution_options().get("gigshift_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; with ``write`` a SQLite transaction takes the write lock at BEGIN."""
    bind = engine.execution_options(gigshift_write=True) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read (GET handlers, the caller's login check).

    On PostgreSQL each statement runs on its own (autocommit): at READ COMMITTED every statement sees
    the data committed before it began either way, and a request saves the round trips of ``BEGIN``
    and ``ROLLBACK``. Not for work that writes or locks rows: that needs :func:`transaction`.
    """
    return sessionmaker(bind=read_engine(engine), expire_on_commit=False, autoflush=False)


def read_engine(engine: Engine) -> Engine:
    """``engine`` for statements that only read (see :func:`read_session_factory`)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT") if is_postgres(engine) else engine


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (nothing written) if it raises."""
    with session_factory(engine, write=write)() as session, session.begin():
        yield session
