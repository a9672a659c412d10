"""kill -9 a real server process in the middle of an allocation run, restart it, retry with the same key.

The server is uvicorn in a subprocess. So that the kill lands at a known point, the first server's run
stops there (while computing, or after writing every row of the run but before the commit) and says
so in a marker file; the test then sends SIGKILL. A new app on the same database (in the test
process, which starts quicker than a second process) takes the dead run over when the request is
retried with the same ``Idempotency-Key``. ``benchmarks/crash.py`` does it all with ``gigshift serve``
processes on 10,000 tasks, killing whenever its polling finds the run in a given stage.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

SECRET = "crash-test-secret-" + "x" * 40
KEY = "crash-test"
BODY = {"seed": 5, "background": True}

#: The first server's run stops at one of these points and waits to be killed.
SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import uvicorn

    from gigshift.server import _allocations, create_app

    url, port, stop_at, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])

    def stopping(name):
        original = getattr(_allocations, name)

        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            marker.write_text(name)  # the test kills this process once it sees the marker
            time.sleep(600)
            return result

        setattr(_allocations, name, wrapper)

    if stop_at != "never":
        stopping(stop_at)
    uvicorn.run(create_app(url), host="127.0.0.1", port=port, log_level="warning")
    """
)
STOP_AT = {"computing": "_allocate", "written-uncommitted": "_write_log"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, folder: Path, stop_at: str) -> None:
        self.port, self.marker = _free_port(), folder / f"marker-{stop_at}"
        script = folder / "serve.py"
        script.write_text(SERVER)
        env = {**os.environ, "GIGSHIFT_SECRET_KEY": SECRET}
        self.log = (folder / f"server-{stop_at}.log").open("wb")
        args = [sys.executable, str(script), url, str(self.port), stop_at, str(self.marker)]
        self.process = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.close()
                pytest.skip(f"the server subprocess could not start: {Path(self.log.name).read_text()[-500:]}")
            try:
                if _http("GET", f"{self.base}/healthz").status_code == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.skip("the server subprocess did not answer /healthz within 60 s")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _http(method: str, url: str, **kw):  # type: ignore[no-untyped-def]
    import httpx

    try:
        return httpx.request(method, url, timeout=30, **kw)
    except httpx.TransportError as exc:
        raise OSError(str(exc)) from exc


_TEMPLATES: dict[str, str] = {}  # backend -> a seeded database to copy: a file (SQLite) or a database name (PG)


def _fresh_market(backend, tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    """A fresh copy of a demo market (200 open tasks, 150 workers, a history), seeded once per session."""
    import sqlite3

    from argon2 import PasswordHasher

    from gigshift.server import _security
    from gigshift.server._db import make_engine
    from gigshift.server._demo import fill_demo
    from gigshift.server._migrate import upgrade

    if backend.name not in _TEMPLATES:
        url = backend.empty_url(tmp_path_factory.mktemp("crash-template"))
        engine = make_engine(url)
        upgrade(engine)
        with pytest.MonkeyPatch.context() as patch:  # cheap password hashes for logins nobody uses
            patch.setattr(_security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
            fill_demo(engine, n_workers=150, n_tasks=600, seed=3)
        engine.dispose()
        _TEMPLATES[backend.name] = url.rsplit("/", 1)[1] if backend.cluster else url.removeprefix("sqlite:///")
        if backend.cluster is None:  # fold the WAL into the file, so that a plain copy has everything
            with sqlite3.connect(_TEMPLATES[backend.name]) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    template = _TEMPLATES[backend.name]
    if backend.cluster is None:
        target = tmp_path_factory.mktemp("crash") / "gigshift.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    import psycopg

    name = f"c_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(backend.cluster.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return backend.cluster.database_url(name)


@pytest.fixture
def market(backend, tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh demo market, an engine on it and an operator's headers; a run is stale after 1 s without a beat."""
    from gigshift.server._db import make_engine, transaction
    from gigshift.server._models import User
    from gigshift.server._security import issue_token

    monkeypatch.setenv("GIGSHIFT_STALE_AFTER_S", "1")
    url = _fresh_market(backend, tmp_path_factory)
    engine = make_engine(url)
    with transaction(engine) as session:
        user = session.execute(sa.select(User).where(User.role == "operator")).scalar_one()
        token = issue_token(user_id=user.id, role="operator", token_version=user.token_version, secret_key=SECRET)
    yield url, engine, {"Authorization": f"Bearer {token}", "Idempotency-Key": KEY}
    engine.dispose()


def _counts(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    queries = {
        "open": "SELECT count(*) FROM tasks WHERE status = 'open'",
        "assignments": "SELECT count(*) FROM assignments",
        "assigned_tasks": "SELECT count(DISTINCT task_id) FROM assignments",
        "decisions": "SELECT count(*) FROM decisions",
        "explanations": "SELECT count(*) FROM explanations",
        "status_mismatch": "SELECT count(*) FROM tasks t WHERE (t.status = 'assigned') "
        "<> EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.task_id)",
    }
    with engine.connect() as conn:
        return {name: conn.execute(sa.text(sql)).scalar_one() for name, sql in queries.items()}


def _orphans(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows whose foreign key points nowhere, for every foreign key of the schema."""
    from gigshift.server._models import Base

    found = {}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            (child,), parent = fk.column_keys, fk.elements[0].column
            n = conn.execute(
                sa.text(
                    f"SELECT count(*) FROM {table.name} c WHERE c.{child} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {parent.table.name} p WHERE p.{parent.name} = c.{child})"
                )
            ).scalar_one()
            if n:
                found[f"{table.name}.{child}"] = n
    return found


@pytest.mark.parametrize("stop_at", list(STOP_AT), ids=list(STOP_AT))
def test_a_run_killed_mid_way_completes_exactly_once_on_retry(market, tmp_path, stop_at):
    """kill -9 while the run computes, or after it wrote every row but before the commit; retry the request."""
    url, engine, headers = market
    before = _counts(engine)
    first = Server(url, tmp_path, STOP_AT[stop_at])
    try:
        posted = _http("POST", f"{first.base}/api/v1/allocations", json=BODY, headers=headers)
        assert posted.status_code == 202, posted.text
        run_id = posted.json()["run_id"]
        deadline = time.monotonic() + 60
        while not first.marker.exists():
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.02)
        first.kill()
    finally:
        first.stop()
    assert _counts(engine) == before  # the dead run left nothing behind
    with engine.connect() as conn:
        status, attempts = conn.execute(
            sa.text("SELECT status, n_attempts FROM allocation_runs WHERE run_id = :r"), {"r": run_id}
        ).one()
    assert (status, attempts) == ("running", 1)

    from fastapi.testclient import TestClient

    from gigshift.server import create_app

    app = create_app(url, secret_key=SECRET)  # the restarted server (in this process: quicker to start)
    try:
        with TestClient(app) as second:
            deadline = time.monotonic() + 60
            while True:  # "running" until the dead run's heartbeat is older than GIGSHIFT_STALE_AFTER_S
                retry = second.post("/api/v1/allocations", json=BODY, headers=headers)
                assert retry.status_code in (200, 202) and retry.json()["run_id"] == run_id, retry.text
                if retry.json()["status"] != "running":
                    break
                assert time.monotonic() < deadline, "the dead run was never taken over"
                time.sleep(0.2)
            run = second.get(f"/api/v1/allocations/{run_id}", headers=headers).json()  # the retry ran it
    finally:
        app.state.engine.dispose()
    assert run["status"] == "completed" and run["n_assigned"] > 0, run

    after = _counts(engine)
    with engine.connect() as conn:
        runs = conn.execute(
            sa.text("SELECT run_id, status, n_attempts FROM allocation_runs WHERE idempotency_key = :k"), {"k": KEY}
        ).all()
        assigned = set(
            conn.execute(sa.text("SELECT task_id, worker_id FROM assignments WHERE run_id = :r"), {"r": run_id})
        )
        logged = set(
            conn.execute(
                sa.text("SELECT task_id, worker_id FROM decisions WHERE run_id = :r AND outcome = 'assigned'"),
                {"r": run_id},
            )
        )
        completions = conn.execute(
            sa.text("SELECT count(*) FROM activity WHERE action = 'allocation.complete' AND object_id = :r"),
            {"r": run_id},
        ).scalar_one()
        n_pairs = conn.execute(
            sa.text("SELECT count(DISTINCT task_id || '/' || worker_id) FROM decisions WHERE run_id = :r"),
            {"r": run_id},
        ).scalar_one()
        orphans = _orphans(conn)
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert [(r.run_id, r.status, r.n_attempts) for r in runs] == [(run_id, "completed", 2)]  # exactly once
    assert len(assigned) == run["n_assigned"] and assigned == logged
    assert after["assignments"] == after["assigned_tasks"] == before["assignments"] + run["n_assigned"]
    assert after["open"] == before["open"] - run["n_assigned"] and after["status_mismatch"] == 0
    assert after["decisions"] - before["decisions"] == n_pairs > 0  # one attempt's decision log, not two
    assert completions == 1 and orphans == {}
