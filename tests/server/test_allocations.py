"""Allocation runs: idempotent, all or nothing, progress, background jobs, and never a task assigned twice."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gigshift.server import _allocations
from gigshift.server._allocations import execute_run, request_run
from gigshift.server._db import transaction
from gigshift.server._models import AllocationRun
from gigshift.server._roles import Actor
from gigshift.server._schemas import AllocationIn


def _state(api) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with api.app.state.engine.connect() as conn:
        return {
            "open": conn.execute(sa.text("SELECT count(*) FROM tasks WHERE status = 'open'")).scalar_one(),
            "assignments": conn.execute(sa.text("SELECT count(*) FROM assignments")).scalar_one(),
            "decisions": conn.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one(),
            "assigned_without_assignment": conn.execute(
                sa.text(
                    "SELECT count(*) FROM tasks t WHERE t.status = 'assigned' "
                    "AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.task_id)"
                )
            ).scalar_one(),
        }


def test_a_run_assigns_explains_and_reports(api):
    before = _state(api)
    response = api.post("/api/v1/allocations", "operator", json={"seed": 4}, headers={"Idempotency-Key": "batch-1"})
    assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    assert response.json()["status"] == "completed"
    assert response.headers["location"] == f"/api/v1/allocations/{run_id}"
    run = api.get(f"/api/v1/allocations/{run_id}", "operator").json()
    assert run["status"] == "completed" and run["progress"] == 1.0 and run["stage"] == "done"
    assert run["n_tasks"] == before["open"] and 0 < run["n_assigned"] <= run["n_tasks"]
    assert run["summary"]["policy_version"] == run["policy_version"] == "default-2026.1"
    assigned = api.get(f"/api/v1/allocations/{run_id}/assignments", "auditor", params={"limit": 500}).json()["items"]
    assert len(assigned) == run["n_assigned"] == len({a["task_id"] for a in assigned})
    after = _state(api)
    assert after["open"] == before["open"] - run["n_assigned"]
    assert after["assignments"] == before["assignments"] + run["n_assigned"]
    assert after["decisions"] > before["decisions"] and after["assigned_without_assignment"] == 0
    explained = api.get("/api/v1/explanations", "operator", params={"task_id": assigned[0]["task_id"]}).json()
    assert explained["run_id"] == run_id and explained["subject"] == "task"
    assert f"went to worker {assigned[0]['worker_id']}" in explained["summary"]
    assert explained["reason"]


def test_the_same_idempotency_key_returns_the_same_run(api):
    key = {"Idempotency-Key": "nightly-2026-11-28"}
    first = api.post("/api/v1/allocations", "operator", json={"seed": 1}, headers=key)
    state = _state(api)
    again = api.post("/api/v1/allocations", "operator", json={"seed": 1}, headers=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert _state(api) == state  # the replay changed nothing
    other = api.post("/api/v1/allocations", "operator", json={"seed": 2}, headers=key)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    fresh = api.post("/api/v1/allocations", "operator", json={"seed": 1}, headers={"Idempotency-Key": "another"})
    assert fresh.status_code == 201 and fresh.json()["run_id"] != first.json()["run_id"]


def test_a_run_writes_all_its_assignments_or_none(api, monkeypatch):
    before = _state(api)
    original = _allocations._write_log

    def fail_after_assignments(session, run, result):  # type: ignore[no-untyped-def]
        original(session, run, result)  # assignments, decisions, explanations are written by now ...
        raise RuntimeError("disk full")  # ... and then the transaction fails

    monkeypatch.setattr(_allocations, "_write_log", fail_after_assignments)
    response = api.post("/api/v1/allocations", "operator", json={}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 201 and response.json()["status"] == "failed"
    run = api.get(f"/api/v1/allocations/{response.json()['run_id']}", "operator").json()
    assert run["error"] == "internal error: RuntimeError: disk full"
    assert _state(api) == before  # nothing half-written


def test_progress_is_reported_stage_by_stage(api, monkeypatch):
    seen: list[tuple[str, float]] = []
    original = _allocations._progress

    def spying(engine, run_id, attempt):  # type: ignore[no-untyped-def]
        report = original(engine, run_id, attempt)

        def wrapped(stage: str) -> None:
            report(stage)
            with engine.connect() as conn:  # what another request would read now
                row = conn.execute(
                    sa.text("SELECT stage, progress FROM allocation_runs WHERE run_id = :r"), {"r": run_id}
                ).one()
            seen.append((row[0], row[1]))

        return wrapped

    monkeypatch.setattr(_allocations, "_progress", spying)
    assert api.post("/api/v1/allocations", "operator", json={}).json()["status"] == "completed"
    stages = [s for s, _ in seen]
    assert stages == ["load", "validate", "candidates", "solve", "explain", "write"]
    assert [p for _, p in seen] == sorted(p for _, p in seen) and seen[-1][1] < 1


def test_a_large_run_goes_to_the_background(api):
    api.app.state.background_threshold = 0
    response = api.post("/api/v1/allocations", "operator", json={}, headers={"Idempotency-Key": "bg"})
    assert response.status_code == 202 and response.json()["status"] == "queued"
    # TestClient runs background tasks before returning: the job has finished by now
    run = api.get(f"/api/v1/allocations/{response.json()['run_id']}", "operator").json()
    assert run["is_background"] and run["status"] == "completed" and run["n_assigned"] > 0


def _operator(api) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(api.seed.users["operator"], "", "operator", 1, None, None, "all")


def test_a_run_whose_process_died_is_taken_over_by_a_retry(api):
    engine = api.app.state.engine
    wanted = request_run(
        engine, actor=_operator(api), body=AllocationIn(seed=3), idempotency_key="crash", background_threshold=10**9
    )
    with transaction(engine, write=True) as session:  # as if a process claimed it, then died
        run = session.get(AllocationRun, wanted.run_id)
        run.status, run.n_attempts = "running", 1
        run.heartbeat_at = run.created_at
    retry = api.post("/api/v1/allocations", "operator", json={"seed": 3}, headers={"Idempotency-Key": "crash"})
    assert retry.json() == {"run_id": wanted.run_id, "status": "running"}  # its heartbeat is still fresh
    with transaction(engine, write=True) as session:
        run = session.get(AllocationRun, wanted.run_id)
        run.heartbeat_at = run.created_at - timedelta(minutes=5)
    retry = api.post("/api/v1/allocations", "operator", json={"seed": 3}, headers={"Idempotency-Key": "crash"})
    assert retry.json() == {"run_id": wanted.run_id, "status": "completed"}
    with transaction(engine) as session:
        run = session.get(AllocationRun, wanted.run_id)
        assert run.n_attempts == 2 and run.n_assigned > 0


def test_two_concurrent_runs_never_assign_a_task_twice(api, monkeypatch, caplog):
    """Two runs in two threads, each slowed inside its computation so that they overlap for sure."""
    engine = api.app.state.engine
    before = _state(api)
    both_computing = threading.Barrier(2, timeout=30)
    original = _allocations._allocate

    first_tries = set()

    def overlapping(inputs, run, policy, progress):  # type: ignore[no-untyped-def]
        result = original(inputs, run, policy, progress)
        if run.run_id not in first_tries:  # a retry (SQLite, after a conflict) does not wait again
            first_tries.add(run.run_id)
            both_computing.wait()  # neither writes before both have read the open tasks
        return result

    monkeypatch.setattr(_allocations, "_allocate", overlapping)
    caplog.set_level("INFO", logger="gigshift.server")
    runs = [
        request_run(
            engine, actor=_operator(api), body=AllocationIn(seed=i), idempotency_key=f"c{i}", background_threshold=10**9
        )
        for i in range(2)
    ]
    threads = [threading.Thread(target=execute_run, args=(engine, r.run_id)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT run_id, status, n_assigned FROM allocation_runs WHERE run_id IN (:a, :b)"),
            {"a": runs[0].run_id, "b": runs[1].run_id},
        ).all()
        per_task = conn.execute(
            sa.text("SELECT max(n) FROM (SELECT count(*) AS n FROM assignments GROUP BY task_id) x")
        )
        worst = per_task.scalar_one()
    assert {r.status for r in rows} == {"completed"}, rows
    after = _state(api)
    assert worst == 1
    assert after["assignments"] - before["assignments"] == sum(r.n_assigned for r in rows) > 0
    assert after["assigned_without_assignment"] == 0
    assert after["open"] == before["open"] - sum(r.n_assigned for r in rows)
    if api.backend == "postgresql":  # SKIP LOCKED: the runs split the open tasks, one got them all
        assert sorted(r.n_assigned for r in rows)[0] == 0
    else:  # one writer at a time: the second found its tasks taken, rolled back and retried
        assert "tasks taken by another run meanwhile; retrying" in caplog.text


@pytest.mark.parametrize("body", [{"seed": -1}, {"background": "soon"}, {"extra": 1}], ids=["seed", "type", "unknown"])
def test_bad_allocation_requests(sqlite_api, body):
    before = _state(sqlite_api)
    response = sqlite_api.post("/api/v1/allocations", "operator", json=body)
    assert response.status_code == 422 and response.json()["field"] in body
    assert _state(sqlite_api) == before
    assert sqlite_api.get("/api/v1/allocations/nope", "operator").status_code == 404


def test_the_bulk_write_stores_what_the_engine_decided(api, monkeypatch):
    """COPY (PostgreSQL) and executemany (SQLite) bypass SQLAlchemy's types: read back through the models,
    every stored value equals the engine's, null lists and NaN scores included."""
    import polars as pl

    from gigshift.server._models import Assignment, Decision, StoredExplanation, Worker

    results = []
    original = _allocations._allocate

    def keeping(inputs, run, policy, progress):  # type: ignore[no-untyped-def]
        results.append(original(inputs, run, policy, progress))
        return results[-1]

    monkeypatch.setattr(_allocations, "_allocate", keeping)
    response = api.post("/api/v1/allocations", "operator", json={"seed": 9}, headers={"Idempotency-Key": "bulk"})
    assert response.json()["status"] == "completed"
    run_id, (result,) = response.json()["run_id"], results
    engine = api.app.state.engine
    with transaction(engine) as session:
        run = session.get(AllocationRun, run_id)
        stored = session.execute(
            sa.select(*[getattr(Decision, c) for c in _allocations.DECISION_COLUMNS]).where(Decision.run_id == run_id)
        ).all()
        assigned = session.execute(
            sa.select(Assignment.task_id, Assignment.worker_id, Assignment.score, Assignment.created_at).where(
                Assignment.run_id == run_id
            )
        ).all()
        reasons = session.execute(
            sa.select(StoredExplanation.subject, StoredExplanation.subject_id, StoredExplanation.reason).where(
                StoredExplanation.run_id == run_id
            )
        ).all()
        stamps = set(
            session.execute(
                sa.select(Worker.last_assigned_at).where(Worker.worker_id.in_({a.worker_id for a in assigned}))
            ).scalars()
        )
    log = result.decision_log.select(_allocations.DECISION_COLUMNS)
    floats = [c for c, t in log.schema.items() if t == pl.Float64]
    expected = log.with_columns(pl.col(c).fill_nan(None) for c in floats).sort("task_id", "worker_id")
    got = pl.DataFrame(stored, schema=expected.schema, orient="row").sort("task_id", "worker_id")
    assert got.height == expected.height > 0
    assert expected.get_column("missing_skills").list.len().max() > 0  # lists with items, and empty ones
    assert got.equals(expected, null_equal=True)  # exact: floats, booleans, JSON lists, nulls
    assert sorted((a.task_id, a.worker_id, a.score) for a in assigned) == sorted(
        result.assignments.select("task_id", "worker_id", "score").rows()
    )
    assert {a.created_at for a in assigned} == {run.finished_at} == stamps  # aware UTC, as the models read them
    assert run.finished_at.tzinfo is not None
    assert len(reasons) == result.tasks.height + result.workers.height
    assert {(r.subject, r.subject_id) for r in reasons} >= {("task", t) for t in result.tasks.get_column("task_id")}


@pytest.mark.parametrize("raw", ["0", "-3", "soon", "inf"], ids=["zero", "negative", "text", "infinite"])
def test_a_bad_staleness_window_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("GIGSHIFT_STALE_AFTER_S", raw)
    with pytest.raises(_allocations.GigshiftError, match=rf"GIGSHIFT_STALE_AFTER_S: .* got '{raw}'"):
        _allocations.stale_after()


def test_the_staleness_window_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("GIGSHIFT_STALE_AFTER_S", raising=False)
    assert _allocations.stale_after() == timedelta(seconds=30) and _allocations.heartbeat_every() == 5.0
    monkeypatch.setenv("GIGSHIFT_STALE_AFTER_S", "1.5")
    assert _allocations.stale_after() == timedelta(seconds=1.5) and _allocations.heartbeat_every() == 0.25


def test_a_background_run_executes_on_dask_when_configured(sqlite_api, monkeypatch):
    distributed = pytest.importorskip("distributed", reason="Dask background runs need dask[distributed]")
    ran_on: list[str] = []
    original = _allocations._execute_here

    def recording(engine, run_id):  # type: ignore[no-untyped-def]
        try:
            ran_on.append(distributed.get_worker().address)
        except ValueError:  # not on a Dask worker
            ran_on.append("server")
        original(engine, run_id)

    monkeypatch.setattr(_allocations, "_execute_here", recording)
    cluster = distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40
    )
    try:
        monkeypatch.setenv("GIGSHIFT_DASK_SCHEDULER", cluster.scheduler_address)
        sqlite_api.app.state.background_threshold = 0
        response = sqlite_api.post("/api/v1/allocations", "operator", json={}, headers={"Idempotency-Key": "dask"})
        assert response.status_code == 202 and response.json()["status"] == "queued"
        run_id, deadline = response.json()["run_id"], time.monotonic() + 60
        while (run := sqlite_api.get(f"/api/v1/allocations/{run_id}", "operator").json())["status"] != "completed":
            assert run["status"] != "failed" and time.monotonic() < deadline, run
            time.sleep(0.05)
        assert ran_on == [next(iter(cluster.workers.values())).address]
        assert run["is_background"] and run["n_assigned"] > 0 and _state(sqlite_api)["assigned_without_assignment"] == 0
        small = sqlite_api.post("/api/v1/allocations", "operator", json={"background": False})
        assert small.status_code == 201 and small.json()["status"] == "completed"
        assert ran_on[1:] == ["server"]  # a foreground run executes in the request, as before
    finally:
        _allocations.close_dask_clients()
        cluster.close()


def test_a_dask_task_carries_no_database_password(monkeypatch):
    """The run goes to the scheduler without the password (the scheduler keeps tasks and shows them); the
    worker takes it from its own GIGSHIFT_DATABASE_URL for the same database, and from nowhere else."""
    distributed = pytest.importorskip("distributed", reason="Dask background runs need dask[distributed]")
    submitted: list[tuple] = []

    class Client:
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            pass

        def submit(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
            submitted.append(args)

        def close(self) -> None:
            pass

    monkeypatch.setattr(distributed, "Client", Client)
    monkeypatch.setattr(distributed, "fire_and_forget", lambda future: None)
    engine = sa.create_engine("postgresql+psycopg://gig:s3cret@db.internal:5433/gigshift")
    try:
        assert _allocations._submit_to_dask("tcp://scheduler:8786", engine, "run-1")
    finally:
        _allocations.close_dask_clients()
        engine.dispose()
    ((shipped, run_id),) = submitted
    assert run_id == "run-1" and "s3cret" not in shipped and sa.engine.make_url(shipped).password is None
    monkeypatch.setenv("GIGSHIFT_DATABASE_URL", "postgresql+psycopg://gig:s3cret@db.internal:5433/gigshift")
    assert sa.engine.make_url(_allocations._worker_url(shipped)).password == "s3cret"
    for other in ("postgresql://gig:x@elsewhere:5433/gigshift", "postgresql://root:x@db.internal:5433/gigshift", ""):
        monkeypatch.setenv("GIGSHIFT_DATABASE_URL", other)
        assert _allocations._worker_url(shipped) == shipped


def test_a_takeover_waits_for_a_stalled_predecessor_rather_than_skip_its_tasks(api):
    """PostgreSQL: a process that stalled (not died) still locks the open tasks; the takeover must not run
    without them (SKIP LOCKED would complete the run on nothing), but wait until the stalled one lets go."""
    if api.backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; on SQLite a run holds no lock while it computes")
    engine = api.app.state.engine
    n_open = _state(api)["open"]
    wanted = request_run(
        engine, actor=_operator(api), body=AllocationIn(seed=3), idempotency_key="stalled", background_threshold=10**9
    )
    with transaction(engine, write=True) as session:  # attempt 1 claimed it, then stopped beating
        run = session.get(AllocationRun, wanted.run_id)
        run.status, run.n_attempts = "running", 1
        run.heartbeat_at = run.created_at - timedelta(minutes=5)
    stalled = engine.connect()
    stalled.begin()
    locked = stalled.execute(sa.text("SELECT task_id FROM tasks WHERE status = 'open' FOR NO KEY UPDATE")).all()
    assert len(locked) == n_open > 0
    takeover = threading.Thread(target=execute_run, args=(engine, wanted.run_id))
    takeover.start()
    try:
        deadline = time.monotonic() + 30
        with engine.connect() as conn:  # the takeover is waiting for the stalled attempt's row locks
            while not conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            ).scalar_one():
                assert takeover.is_alive() and time.monotonic() < deadline, "the takeover did not wait"
                time.sleep(0.05)
    finally:
        stalled.rollback()  # the stalled attempt finds itself superseded and rolls back
        stalled.close()
        takeover.join(timeout=60)
    with transaction(engine) as session:
        run = session.get(AllocationRun, wanted.run_id)
        assert (run.status, run.n_attempts, run.n_tasks) == ("completed", 2, n_open)
        assert run.n_assigned > 0
    assert _state(api)["open"] == n_open - run.n_assigned
