"""Database plumbing on a real PostgreSQL server: pooled connections that the server dropped are replaced."""

from __future__ import annotations

import time

import psycopg
import pytest
import sqlalchemy as sa

from gigshift.server import _db


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _drop(postgres, pid: int) -> None:  # type: ignore[no-untyped-def]
    """End one server process, as a restart, a fail-over or a proxy's idle timeout would."""
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    time.sleep(0.2)  # the backend exits


def test_a_dropped_connection_is_checked_and_replaced_after_sitting_idle(postgres, monkeypatch):
    monkeypatch.setattr(_db, "PING_AFTER_IDLE_S", 0.1)
    engine = _db.make_engine(postgres.url)
    try:
        pid = _backend_pid(engine)
        _drop(postgres, pid)
        assert _backend_pid(engine) != pid  # checked at checkout, and a fresh connection given
        pid = _backend_pid(_db.read_engine(engine))  # the autocommit read path, on the same pool
        _drop(postgres, pid)
        with _db.read_engine(engine).connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_without_the_idle_check_a_dropped_connection_fails_once(postgres, monkeypatch):
    """The control: a connection used again within the idle threshold is not checked; its use fails, and
    the pool replaces it for the next request."""
    monkeypatch.setattr(_db, "PING_AFTER_IDLE_S", 3600.0)
    engine = _db.make_engine(postgres.url)
    try:
        pid = _backend_pid(engine)
        _drop(postgres, pid)
        with pytest.raises(sa.exc.OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != pid
    finally:
        engine.dispose()


def test_a_filled_demo_has_the_planners_statistics(api):
    """The demo analyses what it loaded: without statistics PostgreSQL's prepared plans are made for tables of
    a few rows (a page of tasks read and sorted all of them)."""
    if api.backend == "postgresql":
        query = "SELECT count(DISTINCT attname) FROM pg_stats WHERE tablename = 'tasks'"
    else:
        query = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'tasks'"
    with api.app.state.engine.connect() as connection:
        assert connection.execute(sa.text(query)).scalar_one() >= 3
