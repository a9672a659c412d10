"""Crash safety of allocation runs: kill -9 the server in the middle of a 10,000-task run, restart, retry.

For each ``--kill-at`` stage, on a fresh copy of one seeded database (10,000 open tasks, 2,500 workers
with their bids, from ``gigshift.market.synthetic``):

1. start ``gigshift serve`` (a real uvicorn process) on a free port;
2. ``POST /api/v1/allocations`` with an ``Idempotency-Key`` (a background run);
3. poll ``GET /api/v1/allocations/{run_id}`` until the run is in that stage (``load``, ``solve`` or
   ``write``), wait ``--kill-delay`` seconds more, and send SIGKILL to the server;
4. restart the server and retry the POST with the same key until the dead run's heartbeat is stale
   and the retry takes it over (``GIGSHIFT_STALE_AFTER_S`` shortens the window to ``--stale-after``);
5. wait until the run is done, stop the server and check the database:

   - exactly one run for the key, completed, on its second (or later) attempt;
   - no task assigned twice (assignments: rows = distinct tasks);
   - the run's assignments are exactly its decision-log rows whose outcome is ``assigned``;
   - task statuses agree with the assignments, and the open tasks left are those not assigned;
   - only one attempt's rows: one decision per (task, worker), one ``allocation.complete`` entry;
   - every foreign key resolves (checked table by table with anti-joins, on both backends);
   - the database's own check: SQLite ``PRAGMA integrity_check`` and ``foreign_key_check``;
     PostgreSQL ``amcheck`` (``verify_heapam`` on every table, ``bt_index_check`` with
     ``heapallindexed`` on every index);
   - the assignments equal those of an uninterrupted run on another copy, same seed, same batch time.

The uninterrupted run is executed in this process, timed by stage (load, engine, write); with
``--baseline REV`` the allocation module of git revision REV runs on a third copy for comparison.

Run: ``python benchmarks/crash.py [--db sqlite|postgresql] [--kill-at load,solve,write] [--tasks 10000]
[--workers 2500] [--seed 1] [--no-bids] [--baseline REV]``. PostgreSQL starts a throwaway cluster from the
installed server binaries, as the tests do (``tests/server/conftest.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SECRET = "crash-benchmark-" + "k" * 40
STAGES = {"load": ("load",), "solve": ("solve",), "write": ("write",)}  # --kill-at -> run stages to kill in
KEY = "crash-benchmark-run"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------------------
# databases: a seeded template and fresh copies of it


def seed_market(url: str, *, n_tasks: int, n_workers: int, seed: int) -> dict[str, object]:
    """Migrate an empty database and fill it with open tasks, available workers, bids and an operator."""
    from gigshift.market import GROUP_ATTRIBUTES, synthetic
    from gigshift.server._db import make_engine, transaction
    from gigshift.server._migrate import upgrade
    from gigshift.server._models import Bid, Client, GroupAttribute, Task, Worker
    from gigshift.server._store import add_user, now, organisation

    engine = make_engine(url)
    upgrade(engine)
    market = synthetic(n_workers=n_workers, n_tasks=n_tasks, seed=seed)
    with transaction(engine, write=True) as session:
        org = organisation(session).id
        insert = session.connection().execute  # Core executemany: no ORM objects, defaults still applied
        insert(Client.__table__.insert(), market.clients.with_columns(organisation_id=pl.lit(org)).to_dicts())
        workers = market.workers.select([c for c in market.workers.columns if c not in GROUP_ATTRIBUTES])
        rows = workers.with_columns(organisation_id=pl.lit(org), is_available=pl.lit(True), n_batches_waiting=0)
        insert(Worker.__table__.insert(), rows.to_dicts())
        given = market.workers.unpivot(
            index="worker_id",
            on=[c for c in GROUP_ATTRIBUTES if c in market.workers.columns],
            variable_name="attribute",
        ).drop_nulls("value")
        given = given.with_columns(consented_at=pl.lit(now()), consent_purpose=pl.lit("crash benchmark"))
        insert(GroupAttribute.__table__.insert(), given.to_dicts())
        tasks = market.tasks.with_columns(organisation_id=pl.lit(org), status=pl.lit("open"))
        insert(Task.__table__.insert(), tasks.to_dicts())
        insert(Bid.__table__.insert(), market.bids.select("task_id", "worker_id", "price_usd", "bid_at").to_dicts())
        user = add_user(session, email="operator@crash.invalid", role="operator", password=secrets.token_urlsafe(16))
        user_id = user.id
    engine.dispose()
    return {"organisation_id": org, "operator_id": user_id, "n_bids": market.bids.height}


class Databases:
    """One seeded template and fresh copies of it: file copies on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PG."""

    def __init__(self, backend: str, folder: Path, cluster: object | None) -> None:
        self.backend, self.folder, self.cluster = backend, folder, cluster
        self.template = "crash_template" if cluster else str(folder / "template.db")

    def template_url(self) -> str:
        if self.cluster is None:
            return f"sqlite:///{self.template}"
        self._admin(f'CREATE DATABASE "{self.template}"')
        return self.cluster.database_url(self.template)  # type: ignore[attr-defined]

    def seal_template(self) -> None:
        if self.cluster is None:  # fold the WAL into the file, so that a plain copy has everything
            with contextlib.closing(sqlite3.connect(self.template)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")

    def fresh(self, name: str) -> str:
        if self.cluster is None:
            target = self.folder / f"{name}.db"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.cluster.database_url(name)  # type: ignore[attr-defined]

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.cluster.url, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute(sql)


def postgres_cluster():  # type: ignore[no-untyped-def]
    """The throwaway cluster of the server tests, outside pytest."""
    from _postgres import throwaway_postgres

    return throwaway_postgres()


# ----------------------------------------------------------------------------------------------
# the server, as a process


class Server:
    """``gigshift serve`` in a subprocess, its output in a log file."""

    def __init__(self, url: str, log_path: Path, *, stale_after_s: float) -> None:
        self.url, self.log_path, self.port = url, log_path, free_port()
        self.env = {
            **os.environ,
            "GIGSHIFT_SECRET_KEY": SECRET,
            "GIGSHIFT_STALE_AFTER_S": str(stale_after_s),
            "PYTHONUNBUFFERED": "1",
        }
        exe = Path(sys.executable).with_name("gigshift")
        self.command = [str(exe)] if exe.is_file() else [sys.executable, "-m", "gigshift"]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0) -> float:
        """Start and wait until /healthz answers; return the seconds that took."""
        import httpx

        clock = time.perf_counter()
        log = self.log_path.open("ab")
        args = [*self.command, "serve", "--db", self.url, "--port", str(self.port)]
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        while time.perf_counter() - clock < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.perf_counter() - clock
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)  # no shutdown, no rollback, no atexit: as in a power cut
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


# ----------------------------------------------------------------------------------------------
# one crash scenario


@dataclass
class Outcome:
    kill_at: str
    run_id: str = ""
    stage_at_kill: str = ""
    run_age_at_kill_s: float = float("nan")
    status_at_kill: str = ""
    rows_at_kill: int = -1  # the run's assignments committed when it died (all-or-nothing: 0)
    restart_s: float = float("nan")
    n_refused: int = 0  # retries answered "running" while the dead run's heartbeat was still fresh
    takeover_after_kill_s: float = float("nan")
    recovery_s: float = float("nan")  # retry accepted -> run completed
    n_attempts: int = 0
    n_assigned: int = 0
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)


def crash_scenario(
    url: str, *, kill_at: str, token: str, body: dict, stale_after_s: float, kill_delay_s: float, folder: Path
) -> Outcome:
    import httpx

    outcome = Outcome(kill_at)
    server = Server(url, folder / f"server-{kill_at}.log", stale_after_s=stale_after_s)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": KEY}
    server.start()
    try:
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as http:
            posted = time.perf_counter()
            first = http.post("/api/v1/allocations", json=body)
            if first.status_code != 202:
                raise RuntimeError(f"POST /api/v1/allocations: {first.status_code} {first.text}")
            outcome.run_id = run_id = first.json()["run_id"]
            while True:  # poll as fast as the server answers; the stages last about a second
                run = http.get(f"/api/v1/allocations/{run_id}").json()
                if run["status"] in ("completed", "failed") or run["stage"] in STAGES[kill_at]:
                    break
                time.sleep(0.005)
            outcome.stage_at_kill = run["stage"] or run["status"]
            time.sleep(kill_delay_s)
        server.kill()
        killed = time.perf_counter()
        outcome.run_age_at_kill_s = killed - posted
        with connect(url) as conn:
            outcome.status_at_kill = conn.execute(
                sa.text("SELECT status || '/' || coalesce(stage, '') FROM allocation_runs WHERE run_id = :r"),
                {"r": run_id},
            ).scalar_one()
            outcome.rows_at_kill = conn.execute(
                sa.text("SELECT count(*) FROM assignments WHERE run_id = :r"), {"r": run_id}
            ).scalar_one()
        outcome.restart_s = server.start()
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as http:
            while True:  # the same request again, until the dead run's heartbeat is stale and it is taken over
                retry = http.post("/api/v1/allocations", json=body)
                if retry.status_code not in (200, 202) or retry.json()["run_id"] != run_id:
                    raise RuntimeError(f"retry: {retry.status_code} {retry.text}")
                if retry.json()["status"] != "running":
                    break
                outcome.n_refused += 1
                time.sleep(0.25)
            accepted = time.perf_counter()
            outcome.takeover_after_kill_s = accepted - killed
            while (run := http.get(f"/api/v1/allocations/{run_id}").json())["status"] not in ("completed", "failed"):
                time.sleep(0.05)
            outcome.recovery_s = time.perf_counter() - accepted
            if run["status"] != "completed":
                raise RuntimeError(f"the retried run failed: {run['error']}")
    finally:
        server.stop()
    return outcome


@contextlib.contextmanager
def connect(url: str) -> Iterator[sa.Connection]:
    from gigshift.server._db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------------------
# checks


def check(conn: sa.Connection, *, run_id: str, n_open_before: int, reference: set | None) -> dict:
    """Each check: (passed, what was found)."""
    from gigshift.server._models import Base

    def one(sql: str, **params: object) -> object:
        return conn.execute(sa.text(sql), params).scalar_one()

    results: dict[str, tuple[bool, str]] = {}
    runs = conn.execute(
        sa.text("SELECT run_id, status, n_attempts, n_assigned FROM allocation_runs WHERE idempotency_key = :k"),
        {"k": KEY},
    ).all()
    ok = len(runs) == 1 and runs[0].status == "completed" and runs[0].n_attempts >= 2
    results["one completed run for the key"] = (ok, f"{[(r.status, r.n_attempts) for r in runs]}")
    n_assigned = runs[0].n_assigned if runs else -1
    n_rows, n_tasks = conn.execute(sa.text("SELECT count(*), count(DISTINCT task_id) FROM assignments")).one()
    results["no task assigned twice"] = (n_rows == n_tasks, f"{n_rows} rows, {n_tasks} tasks")
    assigned = set(
        conn.execute(sa.text("SELECT task_id, worker_id, score FROM assignments WHERE run_id = :r"), {"r": run_id})
    )
    logged = set(
        conn.execute(
            sa.text("SELECT task_id, worker_id, score FROM decisions WHERE run_id = :r AND outcome = 'assigned'"),
            {"r": run_id},
        )
    )
    ok = assigned == logged and len(assigned) == n_assigned > 0
    results["assignments = decisions 'assigned'"] = (ok, f"{len(assigned)} vs {len(logged)}, run says {n_assigned}")
    unmatched = one(
        "SELECT count(*) FROM tasks t WHERE (t.status = 'assigned') "
        "<> EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.task_id)"
    )
    n_open = one("SELECT count(*) FROM tasks WHERE status = 'open'")
    ok = unmatched == 0 and n_open == n_open_before - n_assigned
    results["task statuses = assignments"] = (ok, f"{unmatched} mismatched, {n_open} open of {n_open_before}")
    n_decisions, n_pairs = conn.execute(
        sa.text("SELECT count(*), count(DISTINCT task_id || '/' || worker_id) FROM decisions WHERE run_id = :r"),
        {"r": run_id},
    ).one()
    n_done = one("SELECT count(*) FROM activity WHERE action = 'allocation.complete' AND object_id = :r", r=run_id)
    ok = n_decisions == n_pairs > 0 and n_done == 1
    results["one attempt's rows only"] = (ok, f"{n_decisions} decisions, {n_pairs} pairs, {n_done} completions")
    orphans = {}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            (child,), (parent,) = fk.column_keys, [e.column for e in fk.elements]
            sql = (
                f"SELECT count(*) FROM {table.name} c WHERE c.{child} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {parent.table.name} p WHERE p.{parent.name} = c.{child})"
            )
            if n := one(sql):
                orphans[f"{table.name}.{child}"] = n
    n_fks = sum(len(t.foreign_key_constraints) for t in Base.metadata.sorted_tables)
    results["foreign keys resolve"] = (not orphans, f"{n_fks} keys, orphans: {orphans or 'none'}")
    results["database integrity check"] = integrity(conn)
    if reference is not None:
        same = assigned == reference
        results["same as uninterrupted run"] = (same, f"{len(assigned ^ reference)} differ of {len(reference)}")
    return results


def integrity(conn: sa.Connection) -> tuple[bool, str]:
    if conn.dialect.name == "sqlite":
        verdict = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        return verdict == ["ok"] and not broken, f"integrity_check {verdict[:3]}, foreign_key_check {len(broken)} rows"
    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
    heap = conn.exec_driver_sql(
        "SELECT c.relname, v.msg FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "verify_heapam(c.oid) v WHERE n.nspname = 'public' AND c.relkind = 'r'"
    ).all()
    indexes = conn.exec_driver_sql(
        "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam "
        "WHERE n.nspname = 'public' AND a.amname = 'btree'"
    ).all()
    for oid, _name in indexes:  # raises on a corrupt index, or one missing a heap tuple
        conn.exec_driver_sql(f"SELECT bt_index_check({oid}, true)")
    conn.commit()
    return not heap, f"amcheck: {len(heap)} heap problems, {len(indexes)} b-tree indexes verified"


# ----------------------------------------------------------------------------------------------
# uninterrupted runs, in this process, timed by stage


def allocation_module(revision: str | None) -> types.ModuleType:
    """``gigshift.server._allocations``, or its source at a git revision (for a before/after comparison)."""
    from gigshift.server import _allocations

    if revision is None:
        return _allocations
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:src/gigshift/server/_allocations.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"_allocations_{revision}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:_allocations.py", "exec"), module.__dict__)
    return module


def uninterrupted(url: str, *, module: types.ModuleType, organisation_id: int, body: dict, created_at) -> dict:  # type: ignore[no-untyped-def]
    """Execute the run in this process and time load, engine and write (write includes the commit)."""
    from gigshift.server._db import make_engine
    from gigshift.server._models import AllocationRun
    from gigshift.server._roles import Actor
    from gigshift.server._schemas import AllocationIn

    engine = make_engine(url)
    seconds: dict[str, float] = {"load": 0.0, "engine": 0.0, "write": 0.0}
    originals = {name: getattr(module, name) for name in ("_load", "_allocate", "_write")}

    def timed(stage: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[stage] += time.perf_counter() - start

        return wrapper

    actor = Actor(None, "", "operator", organisation_id, None, None, "all")  # type: ignore[arg-type]
    wanted = module.request_run(
        engine, actor=actor, body=AllocationIn(**body), idempotency_key=KEY, background_threshold=10**9
    )
    if created_at is not None:  # the crashed run's batch time, so that both compute the same batch
        with engine.begin() as conn:
            conn.execute(
                sa.update(AllocationRun).where(AllocationRun.run_id == wanted.run_id).values(created_at=created_at)
            )
    for stage, name in (("load", "_load"), ("engine", "_allocate"), ("write", "_write")):
        setattr(module, name, timed(stage, originals[name]))
    try:
        start = time.perf_counter()
        module.execute_run(engine, wanted.run_id)
        total = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)
    with engine.connect() as conn:
        status, n_assigned = conn.execute(
            sa.text("SELECT status, n_assigned FROM allocation_runs WHERE run_id = :r"), {"r": wanted.run_id}
        ).one()
        n_decisions = conn.execute(
            sa.text("SELECT count(*) FROM decisions WHERE run_id = :r"), {"r": wanted.run_id}
        ).scalar_one()
        assigned = set(
            conn.execute(
                sa.text("SELECT task_id, worker_id, score FROM assignments WHERE run_id = :r"), {"r": wanted.run_id}
            )
        )
    engine.dispose()
    if status != "completed":
        raise RuntimeError(f"the uninterrupted run ended {status}")
    return {**seconds, "total": total, "n_assigned": n_assigned, "n_decisions": n_decisions, "assigned": assigned}


# ----------------------------------------------------------------------------------------------


def markdown(frame: pl.DataFrame) -> str:
    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.rows()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--kill-at", default="load,solve,write", help="comma-separated: load, solve, write")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2_500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stale-after", type=float, default=4.0, help="GIGSHIFT_STALE_AFTER_S for the servers")
    parser.add_argument("--kill-delay", type=float, default=0.05, help="seconds into the stage before SIGKILL")
    parser.add_argument("--baseline", default=None, help="git revision whose allocation module to time as well")
    parser.add_argument(
        "--no-bids", action="store_true", help="every matching worker is a candidate, not only bidders (more edges)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (databases, server logs)")
    args = parser.parse_args()
    kill_at = [s.strip() for s in args.kill_at.split(",") if s.strip()]
    if unknown := sorted(set(kill_at) - set(STAGES)):
        parser.error(f"--kill-at: unknown stage(s) {unknown}; use {', '.join(STAGES)}")
    from gigshift.server._models import AllocationRun
    from gigshift.server._security import issue_token

    folder = Path(tempfile.mkdtemp(prefix="gigshift-crash-"))
    load_before = load_average()
    body = {"seed": args.seed, "background": True, **({"use_bids": False} if args.no_bids else {})}
    with contextlib.ExitStack() as stack:
        if not args.keep:  # also when a scenario fails: each copy of the database is tens of MB
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
        cluster = stack.enter_context(postgres_cluster()) if args.db == "postgresql" else None
        dbs = Databases(args.db, folder, cluster)
        start = time.perf_counter()
        seeded = seed_market(dbs.template_url(), n_tasks=args.tasks, n_workers=args.workers, seed=args.seed)
        dbs.seal_template()
        seed_s = time.perf_counter() - start
        token = issue_token(user_id=seeded["operator_id"], role="operator", token_version=0, secret_key=SECRET)
        print(
            f"seeded {args.tasks} tasks, {args.workers} workers, {seeded['n_bids']} bids in {seed_s:.1f} s "
            f"({args.db}); load average {load_before}",
            file=sys.stderr,
        )
        org = seeded["organisation_id"]
        timings = []  # uninterrupted runs first: a broken baseline shows before the long part
        for name, revision in [("this version", None), *([(args.baseline, args.baseline)] if args.baseline else [])]:
            url = dbs.fresh(f"timed_{uuid.uuid4().hex[:6]}")
            module = allocation_module(revision)
            timings.append((name, uninterrupted(url, module=module, organisation_id=org, body=body, created_at=None)))
            print(f"uninterrupted run ({name}): {timings[-1][1]['total']:.2f} s", file=sys.stderr)
        outcomes = []
        for stage in kill_at:
            url = dbs.fresh(f"crash_{stage}_{uuid.uuid4().hex[:6]}")
            outcome = crash_scenario(
                url,
                kill_at=stage,
                token=token,
                body=body,
                stale_after_s=args.stale_after,
                kill_delay_s=args.kill_delay,
                folder=folder,
            )
            with connect(url) as conn:
                created_at = conn.execute(
                    sa.select(AllocationRun.created_at).where(AllocationRun.run_id == outcome.run_id)
                ).scalar_one()
            reference = uninterrupted(
                dbs.fresh(f"ref_{stage}_{uuid.uuid4().hex[:6]}"),
                module=allocation_module(None),
                organisation_id=seeded["organisation_id"],
                body=body,
                created_at=created_at,
            )
            with connect(url) as conn:
                mid_run = outcome.status_at_kill.startswith("running/") and outcome.rows_at_kill == 0
                outcome.checks = {
                    "killed mid-run, nothing committed": (
                        mid_run,
                        f"{outcome.status_at_kill}, {outcome.rows_at_kill} rows",
                    ),
                    **check(conn, run_id=outcome.run_id, n_open_before=args.tasks, reference=reference["assigned"]),
                }
                outcome.n_attempts, outcome.n_assigned = conn.execute(
                    sa.text("SELECT n_attempts, n_assigned FROM allocation_runs WHERE run_id = :r"),
                    {"r": outcome.run_id},
                ).one()
            outcomes.append((outcome, reference))
            print(f"kill at {stage}: done; load average {load_average()}", file=sys.stderr)
        load_after = load_average()
    print(f"## Crash safety of a {args.tasks:,}-task allocation run ({args.db})\n")
    print(
        f"{args.tasks:,} open tasks, {args.workers:,} workers, {seeded['n_bids']:,} bids "
        f"({'not used: every matching worker is a candidate' if args.no_bids else 'bidders are the candidates'}), "
        f"seed {args.seed}; "
        f"GIGSHIFT_STALE_AFTER_S={args.stale_after:g}; load average {load_before} before, {load_after} after.\n"
    )
    rows = [
        {
            "allocation module": name,
            "load_s": t["load"],
            "engine_s": t["engine"],
            "write_s": t["write"],
            "total_s": t["total"],
            "n_assigned": t["n_assigned"],
            "n_decisions": t["n_decisions"],
        }
        for name, t in timings
    ]
    print("Uninterrupted run, in process (write includes the commit):\n")
    print(markdown(pl.DataFrame(rows)) + "\n")
    rows = [
        {
            "kill at": o.kill_at,
            "stage seen": o.stage_at_kill,
            "run age at kill s": o.run_age_at_kill_s,
            "status at kill": o.status_at_kill,
            "rows committed at kill": o.rows_at_kill,
            "restart s": o.restart_s,
            "retries refused": o.n_refused,
            "takeover after kill s": o.takeover_after_kill_s,
            "retry to completed s": o.recovery_s,
            "attempts": o.n_attempts,
            "assigned": o.n_assigned,
        }
        for o, _ in outcomes
    ]
    if not outcomes:
        return
    print("Kill -9, restart, retry with the same Idempotency-Key:\n")
    print(markdown(pl.DataFrame(rows)) + "\n")
    names = list(outcomes[0][0].checks) if outcomes else []
    rows = [
        {
            "check": name,
            **{o.kill_at: ("ok" if o.checks[name][0] else "FAIL") + f" ({o.checks[name][1]})" for o, _ in outcomes},
        }
        for name in names
    ]
    print("Checks after recovery:\n")
    print(markdown(pl.DataFrame(rows)))
    failed = [(o.kill_at, n) for o, _ in outcomes for n, (passed, _) in o.checks.items() if not passed]
    if failed:
        print(f"\nFAILED: {failed}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
