"""Allocation runs: idempotent, all-or-nothing, never assigning a task twice, with progress.

A run reads the open tasks, the available workers and their bids into tables, calls
:func:`gigshift.allocate.allocate`, and writes the assignments, the decision log and the
explanations in one transaction. Three things keep a task from being assigned twice:

1. ``assignments.task_id`` is UNIQUE;
2. the write flips each task from ``open`` to ``assigned`` with ``... AND status = 'open'`` and
   checks that every row changed, else the whole transaction rolls back (and the run retries on
   the tasks still open);
3. on PostgreSQL the run locks the open tasks it reads (``SELECT ... FOR NO KEY UPDATE SKIP LOCKED``) for
   its whole transaction, so concurrent runs partition the open tasks between them (a takeover waits
   for those locks instead: its predecessor may have stalled rather than died). SQLite has one
   writer at a time; there the run computes on a snapshot and takes the write lock only to write.

A run executing sends a heartbeat every few seconds; a run whose heartbeat has stopped (its
process died) is taken over when its request is retried with the same ``Idempotency-Key``. A run
counts as stopped after 30 s without a heartbeat (``$GIGSHIFT_STALE_AFTER_S``, for tests and
benchmarks that kill servers on purpose). Background runs execute on a Dask cluster when
``$GIGSHIFT_DASK_SCHEDULER`` gives a scheduler's address; the worker opens the same database, and
heartbeats and takeover work as they do in a server process.

The write is set-based: the assignments, the decision log and the explanations go in with one
statement per table (``COPY`` on PostgreSQL, one ``executemany`` on SQLite), and the tasks and
workers change with one ``UPDATE ... WHERE ... IN (SELECT ... FROM assignments WHERE run_id = ...)``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gigshift._errors import GigshiftError
from gigshift.server._db import ENV_DATABASE_URL, is_postgres, transaction
from gigshift.server._models import (
    AllocationRun,
    Assignment,
    Bid,
    Decision,
    GroupAttribute,
    PolicyVersion,
    StoredExplanation,
    Task,
    Worker,
)
from gigshift.server._store import ApiError, now, record

log = logging.getLogger("gigshift.server")

HEARTBEAT_EVERY_S = 5.0
STALE_AFTER = timedelta(seconds=30)
ENV_STALE_AFTER = "GIGSHIFT_STALE_AFTER_S"
ENV_DASK_SCHEDULER = "GIGSHIFT_DASK_SCHEDULER"  # address of a Dask scheduler for background runs
MAX_ATTEMPTS = 8  # SQLite: optimistic retries when other runs took some of the same tasks meanwhile
#: How SQLAlchemy stores a DateTime in SQLite (text that sorts as time does); bulk inserts write the same.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%6f"

#: Share of the run done when each engine stage starts (the stages of ``allocate(on_progress=...)``).
STAGE_PROGRESS = {"load": 0.02, "validate": 0.1, "candidates": 0.15, "solve": 0.35, "explain": 0.6, "write": 0.8}

DECISION_COLUMNS = tuple(c.name for c in Decision.__table__.columns if c.name not in ("id", "run_id"))


class _ConflictError(Exception):
    """Another run assigned some of this run's tasks first: roll back and retry on what is still open."""


class _SupersededError(Exception):
    """This execution was taken over after its heartbeat stopped: roll back, the other one finishes the run."""


def stale_after() -> timedelta:
    """How long a run may go without a heartbeat before a retry takes it over (``$GIGSHIFT_STALE_AFTER_S``, or 30 s)."""
    raw = os.environ.get(ENV_STALE_AFTER, "").strip()
    if not raw:
        return STALE_AFTER
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise GigshiftError(f"{ENV_STALE_AFTER}: expected a number of seconds > 0, got {raw!r}")
    return timedelta(seconds=seconds)


def heartbeat_every() -> float:
    """Seconds between heartbeats: several within the staleness window, so a live run never looks dead."""
    return min(HEARTBEAT_EVERY_S, stale_after().total_seconds() / 6)


# ----------------------------------------------------------------------------------------------
# policies


def active_policy(session: Session, organisation_id: int, *, version: str | None = None):  # type: ignore[no-untyped-def]
    """The organisation's active policy, else the shipped default; or, given ``version``, that stored version."""
    chosen = PolicyVersion.is_active if version is None else PolicyVersion.version == version
    stored = session.execute(
        sa.select(PolicyVersion.version, PolicyVersion.yaml).where(
            PolicyVersion.organisation_id == organisation_id, chosen
        )
    ).one_or_none()
    if stored is None:
        shipped = _parsed_policy(None, "default.yaml")
        if version is None or version == shipped.version:
            return shipped
        raise ApiError(404, f"policy_version: no policy version {version!r}", field="policy_version")
    return _parsed_policy(stored.yaml, f"policy {stored.version}")


def run_policy(run: AllocationRun | sa.Row):  # type: ignore[no-untyped-def]
    return _parsed_policy(run.policy_yaml, f"policy {run.policy_version}")


@functools.lru_cache(maxsize=128)
def _parsed_policy(text: str | None, source: str):  # type: ignore[no-untyped-def]
    """A policy from its stored YAML (``None``: the shipped default), parsed once per process.

    Parsing YAML costs about a millisecond, and transparency statements and explanations need the policy
    on every request; a stored version's text never changes, and a :class:`Policy` is frozen.
    """
    from gigshift.allocate import Policy, default_policy

    return default_policy() if text is None else Policy.from_yaml(text, source=source)


# ----------------------------------------------------------------------------------------------
# requesting a run


def _request_hash(body: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RunRequest:
    run_id: str
    status: str
    created: bool
    execute: bool  # this request should (re)start the execution
    background: bool


def request_run(engine: Engine, *, actor, body, idempotency_key: str | None, background_threshold: int) -> RunRequest:  # type: ignore[no-untyped-def]
    """Create the run for this request, or find the one an earlier request with the same key created."""
    key = idempotency_key or uuid.uuid4().hex
    params = body.model_dump()
    digest = _request_hash(params)
    with transaction(engine, write=True) as session:
        existing = _find(session, actor.organisation_id, key)
        if existing is not None:
            return _replay(session, existing, digest)
        policy = active_policy(session, actor.organisation_id, version=getattr(body, "policy_version", None))
        n_open = session.execute(
            sa.select(sa.func.count())
            .select_from(Task)
            .where(Task.organisation_id == actor.organisation_id, Task.status == "open")
        ).scalar_one()
        background = body.background if body.background is not None else n_open > background_threshold
        run = AllocationRun(
            run_id=uuid.uuid4().hex,
            organisation_id=actor.organisation_id,
            idempotency_key=key,
            request_hash=digest,
            policy_version=policy.version,
            policy_yaml=policy.to_yaml(),
            status="queued",
            progress=0.0,
            is_background=background,
            seed=body.seed,
            use_bids=body.use_bids,
            requested_by=actor.user_id,
            created_at=now(),
            n_attempts=0,
        )
        session.add(run)
        try:
            session.flush()
        except sa.exc.IntegrityError:  # the same key, committed by a concurrent request a moment ago
            session.rollback()
            existing = _find(session, actor.organisation_id, key)
            assert existing is not None
            return _replay(session, existing, digest)
        record(
            session,
            organisation_id=actor.organisation_id,
            user_id=actor.user_id,
            action="allocation.request",
            object_type="allocation_run",
            object_id=run.run_id,
            detail={"idempotency_key_given": idempotency_key is not None, "background": background},
        )
    return RunRequest(run.run_id, "queued", created=True, execute=True, background=background)


def _find(session: Session, organisation_id: int, key: str) -> AllocationRun | None:
    return session.execute(
        sa.select(AllocationRun).where(
            AllocationRun.organisation_id == organisation_id, AllocationRun.idempotency_key == key
        )
    ).scalar_one_or_none()


def _replay(session: Session, run: AllocationRun, digest: str) -> RunRequest:
    if run.request_hash != digest:
        raise ApiError(
            422,
            "Idempotency-Key: this key was used for a different request body; use a new key",
            field="Idempotency-Key",
        )
    stale = run.status in ("queued", "running") and (run.heartbeat_at or run.created_at) < now() - stale_after()
    return RunRequest(run.run_id, run.status, created=False, execute=stale, background=run.is_background)


# ----------------------------------------------------------------------------------------------
# executing a run


def execute_run(engine: Engine, run_id: str) -> None:
    """Execute a queued run (or take over a stale one) to completion or failure; never raises.

    A background run goes to the Dask cluster at ``$GIGSHIFT_DASK_SCHEDULER`` when that is set (and runs
    here if the scheduler cannot be reached); every other run executes in this thread.
    """
    address = os.environ.get(ENV_DASK_SCHEDULER, "").strip()
    if address and _is_background(engine, run_id) and _submit_to_dask(address, engine, run_id):
        return
    _execute_here(engine, run_id)


async def execute_in_background(engine: Engine, run_id: str) -> None:
    """:func:`execute_run` as a request's background task, on a thread of its own: a long run must not hold
    one of the few threads that serve requests (``$GIGSHIFT_REQUEST_THREADS``)."""
    import anyio

    await anyio.to_thread.run_sync(execute_run, engine, run_id, limiter=anyio.CapacityLimiter(1))


def _execute_here(engine: Engine, run_id: str) -> None:
    attempt = _claim(engine, run_id)
    if attempt is None:
        return  # running elsewhere, or finished
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(engine, run_id, attempt, stop), daemon=True)
    beat.start()
    try:
        _execute(engine, run_id, attempt)
    except _SupersededError:
        log.warning("allocation run %s: attempt %d was taken over; its work is rolled back", run_id, attempt)
    except GigshiftError as exc:
        _fail(engine, run_id, attempt, str(exc))
    except Exception as exc:  # a bug: the run fails, with a message, and the traceback goes to the log
        log.exception("allocation run %s failed", run_id)
        _fail(engine, run_id, attempt, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        stop.set()
        beat.join()


def _is_background(engine: Engine, run_id: str) -> bool:
    with transaction(engine) as session:
        run = session.get(AllocationRun, run_id)
        return run is not None and run.is_background


_dask_lock = threading.Lock()
_dask_clients: dict[str, Any] = {}  # scheduler address -> distributed.Client, one per server process
_worker_engines: dict[str, Engine] = {}  # database URL -> engine, one per Dask worker process


def _submit_to_dask(address: str, engine: Engine, run_id: str) -> bool:
    """Hand the run to a Dask worker, which opens the same database; False if the scheduler is unreachable."""
    try:
        from distributed import Client, fire_and_forget

        with _dask_lock:
            client = _dask_clients.get(address)
            if client is None:
                client = _dask_clients[address] = Client(address, set_as_default=False, timeout=10)
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database:  # the worker's working folder may differ
            url = url.set(database=str(Path(url.database).expanduser().resolve()))
        # The password stays out of the task, which the scheduler keeps and shows: a worker has its own
        # (see _worker_url).
        without = sa.engine.URL.create(  # URL.set cannot unset a part
            url.drivername, username=url.username, host=url.host, port=url.port, database=url.database, query=url.query
        )
        shipped = without.render_as_string(hide_password=False)
        key = f"gigshift-allocation-{run_id}-{uuid.uuid4().hex[:8]}"  # a retry is a new task, not a cached result
        fire_and_forget(client.submit(_execute_on_worker, shipped, run_id, key=key, pure=False))
    except (ImportError, OSError, TimeoutError):
        log.warning("allocation run %s: Dask scheduler %s unavailable; running here", run_id, address, exc_info=True)
        return False
    log.info("allocation run %s: submitted to the Dask scheduler at %s", run_id, address)
    return True


def _execute_on_worker(url: str, run_id: str) -> None:
    """On a Dask worker: execute the run, with heartbeats and takeover as in a server process."""
    from gigshift.server._db import make_engine

    url = _worker_url(url)
    with _dask_lock:
        engine = _worker_engines.get(url)
        if engine is None:
            engine = _worker_engines[url] = make_engine(url)
    _execute_here(engine, run_id)


def _worker_url(shipped: str) -> str:
    """The database URL a Dask worker connects with: the one shipped without its password, given the password of
    the worker's own ``$GIGSHIFT_DATABASE_URL`` when that names the same database (host, port, database and
    user); else as shipped, and PostgreSQL's client finds the password in ``PGPASSWORD`` or ``~/.pgpass``."""
    url = sa.engine.make_url(shipped)
    own = os.environ.get(ENV_DATABASE_URL, "").strip()
    if not own or url.password is not None:
        return shipped
    try:
        mine = sa.engine.make_url(own)
    except sa.exc.ArgumentError:
        return shipped
    same = (mine.host, mine.port, mine.database, mine.username) == (url.host, url.port, url.database, url.username)
    if not same or mine.password is None:
        return shipped
    return url.set(password=mine.password).render_as_string(hide_password=False)


def close_dask_clients() -> None:
    """Close this process's Dask clients (at shutdown, and between tests)."""
    with _dask_lock:
        clients = list(_dask_clients.values())
        _dask_clients.clear()
    for client in clients:
        client.close()


def _claim(engine: Engine, run_id: str) -> int | None:
    """Mark the run running under a new attempt number; None if another execution holds it."""
    stamp = now()
    with transaction(engine, write=True) as session:
        run = session.get(AllocationRun, run_id)
        if run is None or run.status in ("completed", "failed"):
            return None
        fresh = (run.heartbeat_at or run.created_at) >= stamp - stale_after()
        if run.status == "running" and fresh:
            return None
        attempt = run.n_attempts + 1
        changed = session.execute(
            sa.update(AllocationRun)
            .where(AllocationRun.run_id == run_id, AllocationRun.n_attempts == run.n_attempts)
            .values(status="running", n_attempts=attempt, started_at=stamp, heartbeat_at=stamp, stage="load")
        ).rowcount
    return attempt if changed == 1 else None


def _heartbeat(engine: Engine, run_id: str, attempt: int, stop: threading.Event) -> None:
    every = heartbeat_every()
    while not stop.wait(every):
        try:
            with transaction(engine, write=True) as session:
                session.execute(
                    sa.update(AllocationRun)
                    .where(AllocationRun.run_id == run_id, AllocationRun.n_attempts == attempt)
                    .values(heartbeat_at=now())
                )
        except sa.exc.SQLAlchemyError:  # a missed beat is not fatal; the next one may get through
            log.warning("allocation run %s: heartbeat failed", run_id, exc_info=True)


def _progress(engine: Engine, run_id: str, attempt: int) -> Callable[[str], None]:
    def report(stage: str) -> None:
        with transaction(engine, write=True) as session:
            session.execute(
                sa.update(AllocationRun)
                .where(AllocationRun.run_id == run_id, AllocationRun.n_attempts == attempt)
                .values(stage=stage, progress=STAGE_PROGRESS.get(stage, 0.0), heartbeat_at=now())
            )

    return report


def _fail(engine: Engine, run_id: str, attempt: int, message: str) -> None:
    with transaction(engine, write=True) as session:
        session.execute(
            sa.update(AllocationRun)
            .where(AllocationRun.run_id == run_id, AllocationRun.n_attempts == attempt)
            .values(status="failed", error=message[:4000], finished_at=now(), heartbeat_at=now())
        )


def _execute(engine: Engine, run_id: str, attempt: int) -> None:
    with transaction(engine) as session:
        run = session.get(AllocationRun, run_id)
        assert run is not None
        policy = run_policy(run)
    progress = _progress(engine, run_id, attempt)
    clock = _Clock()
    if is_postgres(engine):
        # One transaction holds row locks on the open tasks it read, from reading to writing.
        with transaction(engine) as session:
            progress("load")
            # A takeover waits for the rows its predecessor may still lock (a process that stalled rather
            # than died): skipping them would complete the run without those tasks. The predecessor, once
            # it finds itself superseded, rolls back and releases them.
            lock = "wait" if attempt > 1 else "skip"
            inputs = clock("load", _load, session, run, policy, lock=lock)
            result = clock("engine", _allocate, inputs, run, policy, progress)
            progress("write")
            clock("write", _write, session, run, attempt, inputs, result)
            clock.start("commit")
        clock.stop()
        clock.report(run_id, attempt, inputs, result)
        return
    for _try in range(MAX_ATTEMPTS):
        progress("load")
        with transaction(engine) as session:  # a consistent snapshot; no lock held while computing
            inputs = clock("load", _load, session, run, policy, lock=None)
        result = clock("engine", _allocate, inputs, run, policy, progress)
        progress("write")
        try:
            clock.start("write")  # includes waiting for SQLite's write lock, which other writers may hold
            with transaction(engine, write=True) as session:
                _write(session, run, attempt, inputs, result)
                clock.start("commit")
            clock.stop()
            clock.report(run_id, attempt, inputs, result)
            return
        except _ConflictError:
            log.info("allocation run %s: tasks taken by another run meanwhile; retrying", run_id)
    raise GigshiftError(f"allocation run {run_id}: other runs kept taking the same tasks; retry later")


class _Clock:
    """Seconds spent per stage of one execution (summed over SQLite's optimistic retries), for the log."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stage: str | None = None
        self._since = 0.0

    def start(self, stage: str) -> None:
        self.stop()
        self._stage, self._since = stage, time.perf_counter()

    def stop(self) -> None:
        if self._stage is not None:
            elapsed = time.perf_counter() - self._since
            self.seconds[self._stage] = self.seconds.get(self._stage, 0.0) + elapsed
            self._stage = None

    def __call__(self, stage: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.start(stage)
        try:
            return fn(*args, **kwargs)
        finally:
            self.stop()

    def report(self, run_id: str, attempt: int, inputs: _Inputs, result) -> None:  # type: ignore[no-untyped-def]
        n_assigned = 0 if result is None else result.assignments.height
        n_decisions = 0 if result is None else result.decision_log.height
        stages = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in self.seconds.items())
        log.info(
            "allocation run %s (attempt %d) completed: %d tasks, %d workers, %d assigned, %d decisions; %s",
            run_id,
            attempt,
            inputs.tasks.height,
            inputs.workers.height,
            n_assigned,
            n_decisions,
            stages,
        )


@dataclass(frozen=True)
class _Inputs:
    tasks: pl.DataFrame
    workers: pl.DataFrame
    bids: pl.DataFrame | None
    waiting: pl.DataFrame
    at: datetime


def _json_list(column: str) -> pl.Expr:
    return pl.col(column).str.json_decode(pl.List(pl.String)).fill_null(pl.lit([], dtype=pl.List(pl.String)))


def frame(session: Session, query: sa.Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of ``query`` as a frame with ``schema`` (its columns in the query's order)."""
    rows = session.execute(query).all()
    return pl.DataFrame(rows, schema=schema, orient="row")


# The market tables' columns (gigshift.market.SCHEMAS, in its order); JSON lists are read as text and
# decoded by Polars in one pass instead of row by row.
_TASK_COLUMNS = (
    Task.task_id,
    Task.client_id,
    Task.category,
    sa.cast(Task.required_skills, sa.Text),
    Task.budget_usd,
    Task.expected_hours,
    Task.posted_at,
    Task.is_remote,
    Task.location,
    Task.text,
)
_WORKER_COLUMNS = (
    Worker.worker_id,
    sa.cast(Worker.categories, sa.Text),
    sa.cast(Worker.skills, sa.Text),
    Worker.hourly_rate_usd,
    Worker.rating,
    Worker.n_jobs_completed,
    Worker.reliability,
    Worker.capacity,
    Worker.is_remote,
    Worker.location,
    Worker.time_zone,
    Worker.last_assigned_at,
)


def market_tasks(session: Session, *where: sa.ColumnElement[bool], lock: Literal["skip", "wait"] | None = None):  # type: ignore[no-untyped-def]
    """Tasks matching ``where`` as a market ``tasks`` table, in task order; ``lock`` takes their row locks."""
    from gigshift.market import SCHEMAS

    query = sa.select(*_TASK_COLUMNS).where(*where).order_by(Task.task_id)
    if lock is not None:  # FOR NO KEY UPDATE: bids and assignments may still reference these rows meanwhile
        query = query.with_for_update(skip_locked=lock == "skip", key_share=True, of=Task)
    schema = {**SCHEMAS["tasks"], "required_skills": pl.String}
    return frame(session, query, schema).with_columns(_json_list("required_skills"))


def market_workers(session: Session, *where: sa.ColumnElement[bool], waiting: bool = False) -> pl.DataFrame:
    """Worker profiles with a rate and categories matching ``where`` as a market ``workers`` table.

    ``waiting`` adds ``n_batches_waiting`` (the allocation's waiting-time input). A login's empty profile
    is no market participant and is left out.
    """
    from gigshift.market import SCHEMAS

    columns = (*_WORKER_COLUMNS, Worker.n_batches_waiting) if waiting else _WORKER_COLUMNS
    schema = {**SCHEMAS["workers"], "categories": pl.String, "skills": pl.String}
    if waiting:
        schema["n_batches_waiting"] = pl.Int64
    query = sa.select(*columns).where(Worker.hourly_rate_usd.is_not(None), *where)
    return (
        frame(session, query, schema)
        .with_columns(_json_list("categories"), _json_list("skills"))
        .filter(pl.col("categories").list.len() > 0)
    )


def market_bids(session: Session, *where: sa.ColumnElement[bool]) -> pl.DataFrame:
    """Bids on tasks matching ``where`` (conditions on :class:`Task`) as a market ``bids`` table."""
    from gigshift.market import SCHEMAS

    query = sa.select(Bid.task_id, Bid.worker_id, Bid.price_usd, Bid.bid_at).join(Task, Task.task_id == Bid.task_id)
    return frame(session, query.where(*where), SCHEMAS["bids"])


def _load(session: Session, run: AllocationRun, policy, *, lock: Literal["skip", "wait"] | None) -> _Inputs:  # type: ignore[no-untyped-def]
    org = run.organisation_id
    tasks = market_tasks(session, Task.organisation_id == org, Task.status == "open", lock=lock)
    workers = market_workers(session, Worker.organisation_id == org, Worker.is_available, waiting=True)
    if policy.fairness_attribute:  # only then does the engine get a protected attribute, and only given ones
        given = frame(
            session,
            sa.select(GroupAttribute.worker_id, GroupAttribute.value).where(
                GroupAttribute.attribute == policy.fairness_attribute
            ),
            {"worker_id": pl.String, policy.fairness_attribute: pl.String},
        )
        workers = workers.join(given, on="worker_id", how="left")
    waiting = workers.select("worker_id", "n_batches_waiting")
    workers = workers.drop("n_batches_waiting")
    bids = (
        market_bids(session, Task.organisation_id == org, Task.status == "open")
        .join(tasks.select("task_id"), on="task_id", how="semi")
        .join(workers.select("worker_id"), on="worker_id", how="semi")
    )
    use_bids = run.use_bids if run.use_bids is not None else bids.height > 0
    # The batch time is when the run was requested, so that a retry after a crash computes what the first
    # attempt would have (waiting hours are counted to it), not something that depends on when it restarted.
    return _Inputs(tasks, workers, bids if use_bids else None, waiting, run.created_at)


def _allocate(inputs: _Inputs, run: AllocationRun, policy, progress: Callable[[str], None]):  # type: ignore[no-untyped-def]
    from gigshift.allocate import allocate

    if inputs.tasks.height == 0 or inputs.workers.height == 0:
        return None
    return allocate(
        inputs.tasks,
        inputs.workers,
        policy,
        bids=inputs.bids,
        waiting=inputs.waiting,
        at=inputs.at,
        seed=run.seed,
        on_progress=progress,
    )


def _db_ready(frame: pl.DataFrame, *, dialect: str) -> pl.DataFrame:
    """The frame in the column types the database stores, as the models' types would write them.

    Timestamps become naive UTC (:class:`UTCDateTime`), as text in SQLAlchemy's SQLite format there;
    lists become JSON text (a null list stays SQL NULL).
    """
    converted = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            naive = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else column
            converted.append(naive.dt.strftime(SQLITE_DATETIME) if dialect == "sqlite" else naive)
        elif isinstance(dtype, pl.List):
            # json_encode works on structs: encode {"v": list} and keep the list's part
            encoded = pl.struct(column.alias("v")).struct.json_encode().str.slice(len('{"v":')).str.strip_suffix("}")
            converted.append(pl.when(column.is_not_null()).then(encoded).alias(name))
    return frame.with_columns(converted) if converted else frame


def _insert_frame(session: Session, table: sa.Table, frame: pl.DataFrame) -> None:
    """Insert every row of ``frame`` into ``table`` in the session's transaction, in one statement.

    On PostgreSQL the rows stream in with ``COPY ... FROM STDIN`` as CSV written by Polars; on SQLite
    they go to one ``executemany`` of plain tuples. Both skip SQLAlchemy's per-row work (the ORM's bulk
    insert splits rows into one statement per pattern of nulls), which took most of a large run's time.
    """
    if frame.height == 0:
        return
    connection = session.connection()
    dialect = connection.dialect.name
    ready = _db_ready(frame, dialect=dialect)
    columns = ", ".join(ready.columns)
    if dialect == "postgresql":
        csv = ready.write_csv(include_header=False, null_value="", quote_style="necessary").encode()
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(csv)
        return
    marks = ", ".join("?" * ready.width)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", ready.rows())


def _is_integrity_error(exc: BaseException) -> bool:
    """A constraint violation, whether SQLAlchemy wrapped it or it came from the driver (COPY)."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.IntegrityError)


def _write(session: Session, run: AllocationRun, attempt: int, inputs: _Inputs, result) -> None:  # type: ignore[no-untyped-def]
    """Write everything the run decided, in the caller's transaction; raise to roll all of it back."""
    stamp = now()
    n_tasks = inputs.tasks.height
    n_assigned = 0 if result is None else result.assignments.height
    if n_assigned:
        rows = result.assignments.select("task_id", "worker_id", "score", "price_usd").with_columns(
            run_id=pl.lit(run.run_id), created_at=pl.lit(stamp)
        )
        try:  # assignments.task_id is UNIQUE: a task another run assigned meanwhile fails the insert
            _insert_frame(session, Assignment.__table__, rows)
        except Exception as exc:
            if _is_integrity_error(exc):
                raise _ConflictError() from None
            raise
        mine = sa.select(Assignment.task_id).where(Assignment.run_id == run.run_id)
        changed = session.execute(
            sa.update(Task)
            .where(Task.task_id.in_(mine), Task.status == "open")
            .values(status="assigned", updated_at=stamp)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != n_assigned:  # some were cancelled or assigned meanwhile
            raise _ConflictError()
        session.execute(
            sa.update(Worker)
            .where(Worker.worker_id.in_(sa.select(Assignment.worker_id).where(Assignment.run_id == run.run_id)))
            .values(last_assigned_at=stamp, updated_at=stamp)
            .execution_options(synchronize_session=False)
        )
    if result is not None:
        _write_log(session, run, result)
    summary = {"n_tasks": n_tasks, "n_workers": inputs.workers.height, "n_assigned": n_assigned}
    if result is not None:
        summary = json.loads(json.dumps(result.summary(), default=str))
    done = session.execute(
        sa.update(AllocationRun)
        .where(AllocationRun.run_id == run.run_id, AllocationRun.n_attempts == attempt)
        .values(
            status="completed",
            stage="done",
            progress=1.0,
            n_tasks=n_tasks,
            n_assigned=n_assigned,
            summary=summary,
            finished_at=stamp,
            heartbeat_at=stamp,
            error=None,
        )
    ).rowcount
    if done != 1:
        raise _SupersededError()
    record(
        session,
        organisation_id=run.organisation_id,
        user_id=run.requested_by,
        action="allocation.complete",
        object_type="allocation_run",
        object_id=run.run_id,
        detail={"n_tasks": n_tasks, "n_assigned": n_assigned},
    )


def _write_log(session: Session, run: AllocationRun, result) -> None:  # type: ignore[no-untyped-def]
    log_frame = result.decision_log
    floats = [c for c in DECISION_COLUMNS if log_frame.schema.get(c) == pl.Float64]
    decisions = log_frame.select(DECISION_COLUMNS).with_columns(
        [pl.col(c).fill_nan(None) for c in floats], run_id=pl.lit(run.run_id)
    )
    _insert_frame(session, Decision.__table__, decisions)
    task_reasons = result.tasks.select(
        subject=pl.lit("task"), subject_id="task_id", reason="reason", counterfactual=pl.lit(None, dtype=pl.String)
    )
    worker_reasons = result.workers.select(
        subject=pl.lit("worker"), subject_id="worker_id", reason="reason", counterfactual="counterfactual"
    )
    reasons = pl.concat([task_reasons, worker_reasons]).with_columns(run_id=pl.lit(run.run_id))
    _insert_frame(session, StoredExplanation.__table__, reasons)
    waiting = result.waiting.join(result.decision_log.select("worker_id").unique(), on="worker_id", how="semi")
    if waiting.height:
        workers = Worker.__table__
        session.connection().execute(  # one executemany of (count, id) pairs
            workers.update()
            .where(workers.c.worker_id == sa.bindparam("b_worker_id"))
            .values(n_batches_waiting=sa.bindparam("b_n"), updated_at=now()),
            waiting.select(b_worker_id="worker_id", b_n="n_batches_waiting").to_dicts(),
        )


# ----------------------------------------------------------------------------------------------
# reading runs


def get_run(session: Session, actor, run_id: str) -> AllocationRun:  # type: ignore[no-untyped-def]
    run = session.get(AllocationRun, run_id)
    if run is None or run.organisation_id != actor.organisation_id:
        raise ApiError(404, f"run_id: no allocation run {run_id!r}", field="run_id")
    return run
