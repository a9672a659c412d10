"""The API's behaviour: tasks through the atlas, profiles with consent, bids, explanations, transparency, audits."""

from __future__ import annotations

import json
import sys

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gigshift.cli import app as cli
from gigshift.server._store import PROFILE_RATING_WEIGHT


def test_a_posted_task_is_categorised_through_the_atlas(api):
    text = "Translate our website and product manuals from English to Spanish"
    response = api.post("/api/v1/tasks", "client", json={"text": text, "budget_usd": 250, "expected_hours": 8})
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["category"] == "translation" and task["category_source"] == "lookup"
    assert task["client_id"] == api.seed.client_id and task["status"] == "open" and task["is_remote"] is True
    assert 0 < task["exposure"]["gpt4_beta"] <= 1 and 0 < task["exposure"]["human_beta"] <= 1
    assert task["exposure"]["suggested_categories"][0]["slug"] == "translation"
    assert api.get(f"/api/v1/tasks/{task['task_id']}", "client").json() == task
    trail = _activity(api, "task.create")
    assert trail[-1] == (api.seed.users["client"], task["task_id"])


def test_rows_built_without_validation_hold_the_answers_types(api):
    """Task and worker answers are built with ``model_construct`` from stored rows and entities: each must pass
    the schema in strict mode (a Decimal for a float or a naive time would not) and serialise without warnings."""
    import warnings

    from gigshift.server._api import task_out, worker_out
    from gigshift.server._models import Task, Worker
    from gigshift.server._roles import Actor
    from gigshift.server._schemas import TaskOut, WorkerOut
    from gigshift.server._store import WORKER_COLUMNS, visible_task_rows

    text = {"text": "Translate a product manual from German into English", "budget_usd": 120, "expected_hours": 3}
    assert api.post("/api/v1/tasks", "client", json=text).status_code == 201
    operator = Actor(api.seed.users["operator"], "op@example.org", "operator", 1, None, None, "all")
    with api.app.state.write_sessions() as session:
        rows = visible_task_rows(session, operator, status=None, category=None, limit=500, offset=0)
        entity = session.get(Task, rows[0].task_id)
        built = [task_out(row, row.worker_id, operator) for row in rows] + [task_out(entity, None, operator)]
        workers = [worker_out(row) for row in session.execute(sa.select(*WORKER_COLUMNS))]
        workers.append(worker_out(session.get(Worker, api.seed.worker_id), given=["age_band"]))
    assert len(built) > 50 and len(workers) > 50
    assert any(t.assigned_worker_id for t in built) and any(t.exposure.suggested_categories for t in built)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic warns when a value does not fit its field as it serialises
        for model, items in ((TaskOut, built), (WorkerOut, workers)):
            for item in items:
                assert model.model_validate(item.model_dump(), strict=True) == item
                assert model.model_validate_json(item.model_dump_json()) == item


def _activity(api, action: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    with api.app.state.engine.connect() as conn:
        query = sa.text("SELECT user_id, object_id FROM activity WHERE action = :a ORDER BY id")
        return [tuple(r) for r in conn.execute(query, {"a": action})]


def test_a_given_category_keeps_its_exposure_and_on_location_work_needs_an_area(api):
    body = {"category": "house-cleaning", "budget_usd": 90, "task_id": "clean-1"}
    refused = api.post("/api/v1/tasks", "client", json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "location"
    posted = api.post("/api/v1/tasks", "client", json={**body, "location": "area-03"})
    assert posted.status_code == 201
    assert posted.json()["category_source"] == "given" and posted.json()["is_remote"] is False
    again = api.post("/api/v1/tasks", "client", json={**body, "location": "area-03", "budget_usd": 120})
    assert again.status_code == 409 and again.json()["field"] == "task_id"
    # the refused post wrote nothing: not over the first task, not in the activity trail
    assert api.get("/api/v1/tasks/clean-1", "client").json()["budget_usd"] == 90
    assert [object_id for _, object_id in _activity(api, "task.create")].count("clean-1") == 1


def test_a_worker_profile_with_group_attributes_needs_consent(sqlite_api):
    seed = sqlite_api.seed
    profile = {"categories": ["translation"], "skills": ["Spanish", "Spanish"], "hourly_rate_usd": 28.5}
    with_attrs = {**profile, "group_attributes": {"sex": "female"}}
    refused = sqlite_api.post("/api/v1/workers", "worker", json=with_attrs)
    assert refused.status_code == 422 and refused.json()["field"] == "group_attributes_consent"
    saved = sqlite_api.post("/api/v1/workers", "worker", json={**with_attrs, "group_attributes_consent": True})
    assert saved.status_code == 200, saved.text  # the worker's existing profile, replaced
    body = saved.json()
    assert body["worker_id"] == seed.worker_id and body["skills"] == ["Spanish"]
    assert "sex" in body["group_attributes_given"] and "female" not in json.dumps(body)
    assert sqlite_api.get(f"/api/v1/workers/{seed.worker_id}", "operator").json()["group_attributes_given"] is None
    listed = sqlite_api.get("/api/v1/workers", "auditor", params={"limit": 500}).text
    assert 'group_attributes_given":null' in listed.replace(" ", "") and "female" not in listed
    with sqlite_api.app.state.engine.connect() as conn:
        consent = conn.execute(
            sa.text(
                "SELECT value, consented_at FROM worker_group_attributes WHERE worker_id = :w AND attribute = 'sex'"
            ),
            {"w": seed.worker_id},
        ).one()
    assert consent[0] == "female" and consent[1] is not None


@pytest.mark.parametrize(
    ("who", "extra", "status", "field"),
    [
        ("worker", {"rating": 5.0}, 403, "rating"),
        ("worker", {"worker_id": "someone-else"}, 403, "worker_id"),
        ("operator", {"worker_id": "w-x", "group_attributes": {"sex": "male"}, "group_attributes_consent": True}, 403,
         "group_attributes"),
        ("operator", {}, 422, "worker_id"),
        ("worker", {"categories": ["dog-walker"]}, 422, "categories[0]"),
        ("worker", {"time_zone": "Mars/Olympus"}, 422, "time_zone"),
    ],
    ids=["own-rating", "other-profile", "operator-group-attributes", "operator-no-id", "category", "time-zone"],
)  # fmt: skip
def test_worker_profile_refusals(sqlite_api, who, extra, status, field):
    body = {"categories": ["translation"], "hourly_rate_usd": 30, **extra}
    response = sqlite_api.post("/api/v1/workers", who, json=body)
    assert response.status_code == status and response.json()["field"] == field, response.text


def test_bids(api):
    seed = api.seed
    first = api.post("/api/v1/bids", "worker", json={"task_id": seed.open_task_id, "price_usd": 55})
    assert first.status_code == 201 and first.json()["worker_id"] == seed.worker_id
    n_bids, n_trail = api.count("bids"), len(_activity(api, "bid.create"))
    again = api.post("/api/v1/bids", "worker", json={"task_id": seed.open_task_id, "price_usd": 50})
    assert again.status_code == 409 and again.json()["field"] == "task_id" and "has bid" in again.json()["detail"]
    assert (api.count("bids"), len(_activity(api, "bid.create"))) == (n_bids, n_trail)  # the refusal wrote nothing
    taken = api.post("/api/v1/bids", "worker", json={"task_id": seed.client_task_id, "price_usd": 50})
    assert taken.status_code == 409 and "not open for bids" in taken.json()["detail"]
    missing = api.post("/api/v1/bids", "worker", json={"task_id": "t-none", "price_usd": 50})
    assert missing.status_code == 404 and missing.json() == {"detail": "task_id: no task 't-none'", "field": "task_id"}
    for_other = api.post(
        "/api/v1/bids", "worker", json={"task_id": seed.open_task_id, "price_usd": 9, "worker_id": "x"}
    )
    assert for_other.status_code == 403


def test_explanations_for_each_role(api):
    seed = api.seed
    mine = api.get("/api/v1/explanations", "worker", params={"worker_id": seed.worker_id})
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["subject"] == "worker" and body["subject_id"] == seed.worker_id and body["run_id"] == seed.run_id
    assert body["summary"].startswith(f"Worker {seed.worker_id} ")
    assert {c["worker_id"] for c in body["candidates"]} == {seed.worker_id}
    task = api.get("/api/v1/explanations", "operator", params={"task_id": seed.client_task_id}).json()
    assert task["subject"] == "task" and task["summary"].startswith(f"Task {seed.client_task_id} ")
    client = api.get("/api/v1/explanations", "client", params={"task_id": seed.client_task_id}).json()
    assert client["summary"] == task["summary"]
    assert {c["outcome"] for c in client["candidates"]} <= {"assigned"} and len(client["candidates"]) <= 1
    neither = api.get("/api/v1/explanations", "operator")
    assert neither.status_code == 422 and neither.json()["field"] == "task_id"
    unknown = api.get("/api/v1/explanations", "operator", params={"worker_id": "w-nobody"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "worker_id"


def test_transparency_statement_from_the_active_policy(sqlite_api):
    body = sqlite_api.get("/api/v1/transparency", "worker").json()
    assert body["policy_version"] == "default-2026.1"
    assert body["statement"].startswith("# How tasks are allocated (policy default-2026.1)")
    assert abs(sum(body["weights"].values()) - 1) < 1e-9


def test_transparency_names_the_attributes_workers_gave(api):
    """Against a DISTINCT over the stored attributes: the statement is generated for exactly those."""
    from gigshift.allocate import default_policy, transparency_statement

    with api.app.state.engine.connect() as conn:
        given = conn.execute(sa.text("SELECT DISTINCT attribute FROM worker_group_attributes")).scalars().all()
    assert given  # the seeded market has some
    body = api.get("/api/v1/transparency", "client").json()
    assert body["statement"] == transparency_statement(default_policy(), group_columns=sorted(given))


def test_worker_advice_comes_from_gigshift_advise(sqlite_api):
    seed = sqlite_api.seed
    body = sqlite_api.get(f"/api/v1/workers/{seed.worker_id}/advice", "worker", params={"top": 3}).json()
    assert body["worker_id"] == seed.worker_id and body["paths"]["origin"]["key"] == body["category"]
    assert len(body["paths"]["paths"]) <= 3
    assert {g["group"] for g in body["tasks"]["groups"]} == {"ai_can_do", "ai_speeds_up", "human_edge"}
    bad = sqlite_api.get(f"/api/v1/workers/{seed.worker_id}/advice", "worker", params={"category": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "category"


def test_an_audit_has_the_cli_shape_and_suppresses_small_groups(api, tmp_path):
    response = api.post(
        "/api/v1/audits",
        "auditor",
        json={"groups": ["sex", "age_band"], "intersect": True, "n_bootstrap": 20, "seed": 3, "suppress_below": 6},
    )
    assert response.status_code == 201, response.text
    report = response.json()
    # the same keys as `gigshift audit --json` on a decision table
    from gigshift.server._audits import decision_table
    from gigshift.server._schemas import AuditIn

    with api.app.state.read_sessions() as session:
        table = decision_table(session, organisation_id=1, body=AuditIn(groups=["sex"], suppress_below=5))
    path = tmp_path / "decisions.parquet"
    table.write_parquet(path)
    cli_run = CliRunner().invoke(cli, ["audit", str(path), "--group", "sex", "--selected-col", "is_selected", "--json"])
    assert cli_run.exit_code == 0, cli_run.stderr
    assert set(report) == set(json.loads(cli_run.stdout))
    attributes = {g["attribute"] for g in report["groups"]}
    assert attributes == {"sex", "age_band", "sex+age_band"}
    # every category shown holds at least `suppress_below` workers; the rest count as not disclosed
    assert all(g["n"] >= 6 for g in report["groups"])
    assert report["unknown"]["sex+age_band"] > report["unknown"]["sex"]
    stored = api.get(response.headers["location"], "auditor")
    assert stored.status_code == 200 and stored.json() == report
    assert api.get(response.headers["location"], "operator").status_code == 403


def test_an_attribute_with_only_small_groups_is_left_out_and_said_so(sqlite_api):
    body = {"groups": ["sex", "age_band"], "intersect": True, "n_bootstrap": 0, "suppress_below": 12}
    report = sqlite_api.post("/api/v1/audits", "auditor", json=body).json()
    assert "sex+age_band" not in {g["attribute"] for g in report["groups"]}
    assert "Left out: sex+age_band (every group under 12 workers)." in report["description"]
    nothing = sqlite_api.post("/api/v1/audits", "auditor", json={**body, "suppress_below": 100_000})
    assert nothing.status_code == 422 and "without identifying people" in nothing.json()["detail"]


def test_suppression_counts_workers_not_rows():
    import polars as pl

    from gigshift.server._audits import _suppress

    frame = pl.DataFrame({"worker_id": ["a", "a", "a", "b", "c", "c"], "sex": ["x", "x", "x", "y", "y", "y"]})
    kept = _suppress(frame, "sex", k=2)
    assert kept["sex"].to_list() == [None, None, None, "y", "y", "y"]


def test_a_pay_statement_beside_the_pool_and_consent_that_can_be_revoked(api):
    seed = api.seed
    path = f"/api/v1/workers/{seed.worker_id}/statement"
    statement = api.get(path, "worker")
    assert statement.status_code == 200, statement.text
    body = statement.json()
    assert body["worker_id"] == seed.worker_id and body["currency"] == "USD" and body["k"] == 11
    own = body["platforms"][0]
    assert own["n_jobs"] >= 1 and own["hourly_engaged"] > 0
    assert own["pool_workers"] is None or own["pool_workers"] >= 11
    assert body["sentences"][0].startswith("On default you earned")
    other = seed.other_worker_id  # worker2, also paid: gives consent, then revokes it
    joined = api.post(f"/api/v1/workers/{other}/pay-pool", "worker2")
    assert joined.status_code in (200, 201) and joined.json()["revoked_at"] is None
    again = api.post(f"/api/v1/workers/{other}/pay-pool", "worker2")
    assert again.status_code == 200 and again.json()["given_at"] == joined.json()["given_at"]
    pooled = api.get(path, "worker").json()["n_workers_pooled"]
    left = api.client.delete(f"/api/v1/workers/{other}/pay-pool", headers=api.headers("worker2"))
    assert left.status_code == 200 and left.json()["revoked_at"] is not None
    assert api.client.delete(f"/api/v1/workers/{other}/pay-pool", headers=api.headers("worker2")).status_code == 404
    assert api.get(path, "worker").json()["n_workers_pooled"] == pooled - 1  # out of everyone else's figures
    mine = api.get(f"/api/v1/workers/{other}/statement", "worker2").json()  # but still their own statement
    assert mine["in_pool"] is False and mine["platforms"][0]["n_jobs"] >= 1
    assert api.get(path, "operator").status_code == 403  # for the worker's eyes only
    assert api.post(f"/api/v1/workers/{seed.worker_id}/pay-pool", "worker2").status_code == 403


def test_a_bid_carries_the_workers_note(sqlite_api):
    body = {"task_id": sqlite_api.seed.open_task_id, "price_usd": 60, "note": "  Free from Monday  "}
    response = sqlite_api.post("/api/v1/bids", "worker", json=body)
    assert response.status_code == 201 and response.json()["note"] == "Free from Monday"
    too_long = sqlite_api.post("/api/v1/bids", "worker2", json={**body, "note": "x" * 501})
    assert too_long.status_code == 422 and too_long.json()["field"] == "note"


def test_the_tasks_client_rates_the_assigned_work_once(api):
    seed = api.seed
    url = f"/api/v1/tasks/{seed.client_task_id}/rating"
    for body, field in (({"stars": 0}, "stars"), ({"stars": 6}, "stars"), ({"stars": 3, "extra": 1}, "extra")):
        refused = api.post(url, "client", json=body)
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text
    other = api.post(f"/api/v1/tasks/{seed.other_client_task_id}/rating", "client", json={"stars": 2})
    assert other.status_code == 404 and other.json()["field"] == "task_id"
    posted = api.post(f"/api/v1/tasks/{seed.open_task_id}/rating", "client2", json={"stars": 2})
    assert posted.status_code == 409 and "not assigned" in posted.json()["detail"]
    assert api.count("ratings") == 0
    assigned = api.get(f"/api/v1/tasks/{seed.client_task_id}", "client").json()["assigned_worker_id"]
    start = api.get(f"/api/v1/workers/{assigned}", "operator").json()["rating"]
    assert start is not None and start < 5
    rated = api.post(url, "client", json={"stars": 5, "comment": "Excellent"})
    assert rated.status_code == 201, rated.text
    body = rated.json()
    assert (body["task_id"], body["client_id"], body["stars"], body["comment"]) == (
        seed.client_task_id,
        seed.client_id,
        5,
        "Excellent",
    )
    assigned = api.get(f"/api/v1/tasks/{seed.client_task_id}", "client").json()["assigned_worker_id"]
    assert body["worker_id"] == assigned
    # the profile's rating, which allocation scores use, moves towards the stars with the start weighing 5
    after = api.get(f"/api/v1/workers/{assigned}", "operator").json()["rating"]
    assert after == pytest.approx(start + (5 - start) / (PROFILE_RATING_WEIGHT + 1))
    again = api.post(url, "client", json={"stars": 1})
    assert again.status_code == 409 and "rated already" in again.json()["detail"] and api.count("ratings") == 1
    listed = api.get(f"/api/v1/workers/{assigned}/ratings", "auditor").json()["items"]
    assert [(r["task_id"], r["stars"]) for r in listed] == [(seed.client_task_id, 5)]
    assert _activity(api, "rating.create") == [(seed.users["client"], seed.client_task_id)]


def test_policy_versions_are_checked_by_the_engine_and_activated_one_at_a_time(api):
    listed = api.get("/api/v1/policies", "operator").json()["items"]
    assert [(p["version"], p["is_active"]) for p in listed] == [("default-2026.1", True)]
    refusals = [
        ({"version": "v2", "weights": {"charm": 1}}, "weights.charm"),
        ({"version": "v2", "weights": {"rating": -1}}, "weights.rating"),
        ({"version": "v2", "weights": {k: 0 for k in listed[0]["weights"]}}, "weights"),
        ({"version": "v2", "fairness": {"attribute": "sex"}, "mode": "dispatch"}, "fairness.attribute"),
        ({"version": "v2", "fairness": {"min_group_share": 2}}, "fairness.min_group_share"),
        ({"version": "v 2"}, "version"),
    ]
    for body, field in refusals:
        response = api.post("/api/v1/policies", "operator", json=body)
        assert response.status_code == 422 and response.json()["field"] == field, (body, response.text)
    assert api.count("policies") == 0
    body = {"version": "v2", "weights": {"waiting": 0.5}, "fairness": {"attribute": "sex", "min_impact_ratio": 0.9}}
    created = api.post("/api/v1/policies", "operator", json=body)
    assert created.status_code == 201, created.text
    got = created.json()
    assert got["weights"]["waiting"] == 0.5 and got["weights"]["skill_match"] == listed[0]["weights"]["skill_match"]
    assert (got["fairness_attribute"], got["min_impact_ratio"], got["is_active"]) == ("sex", 0.9, False)
    assert api.post("/api/v1/policies", "operator", json=body).status_code == 409
    # a later version starts from the active policy, and fairness: {attribute: null} turns parity off
    assert api.post("/api/v1/policies/v2/activate", "operator").json()["is_active"] is True
    assert api.get("/api/v1/transparency", "worker").json()["policy_version"] == "v2"
    v3 = api.post("/api/v1/policies", "operator", json={"version": "v3", "fairness": {"attribute": None}}).json()
    assert (v3["fairness_attribute"], v3["min_impact_ratio"], v3["weights"]["waiting"]) == (None, 0.9, 0.5)
    missing = api.post("/api/v1/policies/v9/activate", "operator")
    assert missing.status_code == 404 and missing.json()["field"] == "version"
    states = {p["version"]: p["is_active"] for p in api.get("/api/v1/policies", "operator").json()["items"]}
    assert states == {"v3": False, "v2": True, "default-2026.1": False}
    run = api.post("/api/v1/allocations", "operator", json={"seed": 2, "policy_version": "v3"})
    assert run.status_code in (201, 202), run.text
    assert api.get(f"/api/v1/allocations/{run.json()['run_id']}", "operator").json()["policy_version"] == "v3"
    assert _activity(api, "policy.activate") == [(api.seed.users["operator"], "v2")]


def test_reads_run_without_a_transaction_on_postgresql_and_writes_in_one(api):
    """A request that only reads runs each statement on its own on PostgreSQL (no BEGIN and ROLLBACK round
    trips); work that writes keeps its transaction, on both databases."""
    import sqlalchemy as sa

    state = api.app.state
    with state.read_sessions() as session:
        session.execute(sa.text("SELECT 1"))
        if api.backend == "postgresql":
            driver = session.connection().connection.driver_connection
            assert driver.autocommit and driver.info.transaction_status.name == "IDLE"
    with state.write_sessions() as session:
        session.execute(sa.text("SELECT 1"))
        assert session.connection().in_transaction()
        if api.backend == "postgresql":
            assert session.connection().connection.driver_connection.info.transaction_status.name == "INTRANS"
    assert api.get("/api/v1/me", "operator").status_code == 200


def test_a_burst_of_requests_holds_no_more_connections_than_threads(api):
    """Requests waiting for a handler thread hold no connection, so a burst cannot empty the pool."""
    import anyio
    import httpx

    engine = api.app.state.engine
    held = {"now": 0, "most": 0}

    @sa.event.listens_for(engine, "checkout")
    def _out(*_args) -> None:  # type: ignore[no-untyped-def]
        held["now"] += 1
        held["most"] = max(held["most"], held["now"])

    @sa.event.listens_for(engine, "checkin")
    def _in(*_args) -> None:  # type: ignore[no-untyped-def]
        held["now"] -= 1

    threads = 2
    paths = ["/api/v1/me", "/api/v1/tasks?limit=20", f"/api/v1/explanations?worker_id={api.seed.worker_id}"]

    async def burst() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = []

            async def one(i: int) -> None:
                responses.append((await client.get(paths[i % 3], headers=api.headers("operator"))).status_code)

            async with anyio.create_task_group() as group:
                for i in range(60):
                    group.start_soon(one, i)
            return responses

    statuses = anyio.run(burst)
    assert statuses.count(200) == 60
    assert held["most"] <= threads + 1, held  # a thread's connection, and one being handed back


@pytest.mark.parametrize("threads", ["4", "64"])
def test_the_pool_has_a_connection_for_the_caller_check_while_every_thread_holds_one(
    sqlite_backend, tmp_path, monkeypatch, threads
):
    """The caller check runs on the event loop, which is also where the handlers' sessions close: with every
    pooled connection held by a handler thread, it would wait for one only it can hand back."""
    from gigshift.server import create_app
    from gigshift.server._db import POOL_OVERFLOW

    from .conftest import SECRET

    monkeypatch.setenv("GIGSHIFT_REQUEST_THREADS", threads)
    app = create_app(sqlite_backend.fresh_url(tmp_path), secret_key=SECRET)
    try:
        assert app.state.engine.pool.size() >= int(threads) + 10
        assert app.state.engine.pool._max_overflow == POOL_OVERFLOW
    finally:
        app.state.engine.dispose()


def test_start_up_loads_the_engines_then_freezes_what_they_loaded(sqlite_backend, tmp_path):
    """The warm-up thread loads the atlas and the allocation engine, then sets the long-lived objects aside
    from the garbage collector (a full collection over them stalled every request of the process)."""
    import gc
    import time

    from fastapi.testclient import TestClient

    from gigshift.server import create_app

    from .conftest import SECRET

    gc.unfreeze()
    app = create_app(sqlite_backend.fresh_url(tmp_path), secret_key=SECRET)
    with TestClient(app):  # runs the lifespan, which starts the warm-up
        deadline = time.monotonic() + 120
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    app.state.engine.dispose()
    assert frozen > 50_000
    assert "gigshift.allocate" in sys.modules
