"""Server fixtures: a throwaway PostgreSQL cluster, seeded template databases, and an API client per test.

The PostgreSQL cluster is started from the installed server binaries (``initdb``, ``pg_ctl``) in a
temporary folder, once per session. Without them the PostgreSQL tests skip, saying why; with
``GIGSHIFT_REQUIRE_POSTGRES=1`` (as in ``.ci/run``) they fail instead.

Each backend gets one template database, migrated and seeded once per session with a small
synthetic market, one allocation run and a login per role; each test gets a fresh copy (a file
copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

SECRET = "test-secret-key-" + "x" * 40
PASSWORD = "correct horse battery staple"
REQUIRE_POSTGRES = os.environ.get("GIGSHIFT_REQUIRE_POSTGRES", "") not in ("", "0")


# ----------------------------------------------------------------------------------------------
# a throwaway PostgreSQL cluster


def _pg_bindir() -> Path | None:
    configured = os.environ.get("GIGSHIFT_PG_BINDIR")
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").is_file() else None


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE_POSTGRES:
        pytest.fail(f"GIGSHIFT_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason} (install postgresql, or set GIGSHIFT_PG_BINDIR)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresCluster:
    url: str  # to the maintenance database "postgres"
    start_seconds: float
    port: int

    def database_url(self, name: str) -> str:
        return f"postgresql://gigshift@127.0.0.1:{self.port}/{name}"


_STARTED: list[float] = []


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _STARTED:
        terminalreporter.write_line(f"gigshift server tests: PostgreSQL cluster started in {_STARTED[0]:.2f} s")


@contextmanager
def throwaway_cluster(unavailable: Callable[[str], NoReturn], *, settings: str = "") -> Iterator[PostgresCluster]:
    """A PostgreSQL server on loopback, from the installed binaries, removed on exit; ``unavailable(reason)``
    is called (and must raise) when it cannot start. ``settings`` (``-c name=value ...``) override the
    test defaults. The benchmarks use it too (``benchmarks/_postgres.py``)."""
    bindir = _pg_bindir()
    if bindir is None:
        unavailable("no PostgreSQL server binaries (initdb, pg_ctl) were found")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("the psycopg driver is not installed")
    clock = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="gigshift-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as an unprivileged user
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None:
            unavailable("running as root and no unprivileged user (postgres, nobody) to run the server")
        os.chown(base, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        if shutil.which("runuser") is None:
            unavailable("running as root without runuser to start the server as another user")
        prefix = ["runuser", "-u", user, "--"]
    data, port = base / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = (base / "log").read_text() if (base / "log").is_file() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}\n{log}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "gigshift", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        options += f" -c full_page_writes=off -c max_connections=100 {settings}"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "-t", "60", "start")
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        unavailable(f"the throwaway cluster did not start: {exc}")
    try:
        yield PostgresCluster(f"postgresql://gigshift@127.0.0.1:{port}/postgres", time.perf_counter() - clock, port)
    finally:
        stop = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """A PostgreSQL server on loopback for this test session, from the installed binaries."""
    with throwaway_cluster(_unavailable) as cluster:
        _STARTED.append(cluster.start_seconds)
        yield cluster


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# ----------------------------------------------------------------------------------------------
# seeded template databases


@dataclass
class Seed:
    """What the template holds: ids and logins to test against."""

    users: dict[str, int] = field(default_factory=dict)  # name -> user id
    roles: dict[str, str] = field(default_factory=dict)  # name -> role
    worker_id: str = ""
    other_worker_id: str = ""
    client_id: str = ""
    other_client_id: str = ""
    client_task_id: str = ""
    other_client_task_id: str = ""
    open_task_id: str = ""
    run_id: str = ""


def _seed(url: str) -> Seed:
    from argon2 import PasswordHasher

    from gigshift.server import _security as security
    from gigshift.server._db import make_engine
    from gigshift.server._migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    with pytest.MonkeyPatch.context() as patch:  # a cheap Argon2 for seeding; logins verify with the stored cost
        patch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        return _fill(engine, url)


def _fill(engine, url: str) -> Seed:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from gigshift.server._db import transaction
    from gigshift.server._demo import fill_demo
    from gigshift.server._models import AllocationRun, Decision, Payment, Task, User, Worker
    from gigshift.server._security import hash_password
    from gigshift.server._store import add_user

    logins = fill_demo(engine, n_workers=80, n_tasks=90, seed=11)
    seed = Seed()
    with transaction(engine, write=True) as session:
        for login in logins:  # known passwords for the login tests
            user = session.execute(sa.select(User).where(User.email == login.email)).scalar_one()
            user.password_hash = hash_password(PASSWORD)
            seed.users[login.role], seed.roles[login.role] = user.id, login.role
        seed.worker_id = next(x.worker_id for x in logins if x.role == "worker")  # type: ignore[assignment]
        seed.client_id = next(x.client_id for x in logins if x.role == "client")  # type: ignore[assignment]
        seed.other_worker_id = session.execute(  # got work and was paid, like the worker login
            sa.select(sa.func.max(Payment.worker_id)).where(Payment.worker_id != seed.worker_id)
        ).scalar_one()
        seed.other_client_id = session.execute(
            sa.select(sa.func.min(Task.client_id)).where(Task.client_id != seed.client_id)
        ).scalar_one()
        seed.client_task_id = session.execute(
            sa.select(sa.func.min(Decision.task_id))
            .join(Task, Task.task_id == Decision.task_id)
            .where(Task.client_id == seed.client_id)
        ).scalar_one()
        seed.other_client_task_id = session.execute(
            sa.select(sa.func.min(Task.task_id)).where(Task.client_id == seed.other_client_id)
        ).scalar_one()
        worker = session.get(Worker, seed.worker_id)
        seed.open_task_id = "t-open-for-worker"  # an open task in the worker's first category, by another client
        session.add(
            Task(
                task_id=seed.open_task_id,
                organisation_id=worker.organisation_id,
                client_id=seed.other_client_id,
                category=worker.categories[0],
                required_skills=worker.skills[:2],
                budget_usd=200.0,
                expected_hours=4.0,
                is_remote=True,
                status="open",
            )
        )
        seed.run_id = session.execute(sa.select(AllocationRun.run_id)).scalar_one()
        for name, role, worker_id in (("worker2", "worker", seed.other_worker_id), ("client2", "client", None)):
            user = add_user(
                session,
                email=f"{name}@example.org",
                role=role,
                password=PASSWORD,
                worker_id=worker_id,
                client_id=seed.other_client_id if role == "client" else None,
            )
            seed.users[name], seed.roles[name] = user.id, role
    engine.dispose()
    return seed


@dataclass
class Backend:
    name: str
    template: str  # sqlite: a file path; postgresql: a database name
    seed: Seed
    cluster: PostgresCluster | None = None

    def fresh_url(self, tmp_path: Path) -> str:
        if self.cluster is None:
            target = tmp_path / "gigshift.db"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.cluster.url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.cluster.database_url(name)

    def empty_url(self, tmp_path: Path) -> str:
        if self.cluster is None:
            return f"sqlite:///{tmp_path / 'empty.db'}"
        import psycopg

        name = f"e_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.cluster.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.cluster.database_url(name)


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory) -> Backend:  # type: ignore[no-untyped-def]
    import sqlite3

    path = tmp_path_factory.mktemp("template") / "template.db"
    seed = _seed(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, so a plain copy has everything
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return Backend("sqlite", str(path), seed)


@pytest.fixture(scope="session")
def postgresql_backend(postgres) -> Backend:  # type: ignore[no-untyped-def]
    import psycopg

    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "template_seeded"')
    seed = _seed(postgres.database_url("template_seeded"))
    return Backend("postgresql", "template_seeded", seed, postgres)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> Backend:  # type: ignore[no-untyped-def]
    return request.getfixturevalue(f"{request.param}_backend")


# ----------------------------------------------------------------------------------------------
# the API


class Api:
    """A TestClient on a fresh copy of the seeded database, with a bearer token per seeded login."""

    def __init__(self, url: str, seed: Seed, backend: str) -> None:
        from fastapi.testclient import TestClient

        from gigshift.server import create_app
        from gigshift.server._security import issue_token

        self.url, self.seed, self.backend = url, seed, backend
        self.app = create_app(url, secret_key=SECRET)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.tokens = {
            name: issue_token(user_id=uid, role=seed.roles[name], token_version=0, secret_key=SECRET)
            for name, uid in seed.users.items()
        }

    def headers(self, who: str | None, **extra: str) -> dict[str, str]:
        return {**({"Authorization": f"Bearer {self.tokens[who]}"} if who else {}), **extra}

    def get(self, path: str, who: str | None = None, **kw):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers=self.headers(who, **kw.pop("headers", {})), **kw)

    def post(self, path: str, who: str | None = None, **kw):  # type: ignore[no-untyped-def]
        return self.client.post(path, headers=self.headers(who, **kw.pop("headers", {})), **kw)

    def count(self, table: str) -> int:
        import sqlalchemy as sa

        with self.app.state.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()

    def close(self) -> None:
        self.client.close()
        self.app.state.engine.dispose()


@pytest.fixture
def api(backend, tmp_path):  # type: ignore[no-untyped-def]
    client = Api(backend.fresh_url(tmp_path), backend.seed, backend.name)
    yield client
    client.close()


@pytest.fixture
def sqlite_api(sqlite_backend, tmp_path):  # type: ignore[no-untyped-def]
    client = Api(sqlite_backend.fresh_url(tmp_path), sqlite_backend.seed, "sqlite")
    yield client
    client.close()
