"""Every route, every role: allowed or refused exactly as the role table says, and nobody unauthenticated."""

from __future__ import annotations

import json

import pytest

from gigshift.server import ROUTE_ROLES

PUBLIC = {("POST", "/api/v1/auth/token"), ("GET", "/healthz")}
LOGINS = ("worker", "client", "operator", "auditor")


def _routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every operation the app serves, as its OpenAPI description lists them."""
    return {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}


def test_the_role_table_covers_exactly_the_api_routes(sqlite_api):
    routes = _routes(sqlite_api.app)
    assert routes - PUBLIC == set(ROUTE_ROLES)
    assert all(path.startswith("/api/v1/") for _, path in ROUTE_ROLES)
    assert {"worker", "client", "operator", "auditor"} == {r for rule in ROUTE_ROLES.values() for r in rule}


def _request(api, who: str, method: str, path: str, audit_id: int):  # type: ignore[no-untyped-def]
    """A request that succeeds for a role the table allows: ids the role may see, a valid body."""
    seed = api.seed
    own_worker = seed.worker_id
    task = {"worker": seed.open_task_id, "client": seed.client_task_id}.get(who, seed.other_client_task_id)
    url = (
        path.replace("{task_id}", task)
        .replace("{worker_id}", own_worker)
        .replace("{run_id}", seed.run_id)
        .replace("{audit_id}", str(audit_id))
        .replace("{version}", "v-roles")
    )
    params: dict[str, str] = {}
    body: dict | None = None
    if path == "/api/v1/explanations":
        params = {"worker_id": own_worker} if who == "worker" else {"task_id": seed.client_task_id}
    elif path == "/api/v1/tasks":
        body = {"category": "translation", "budget_usd": 80.0, "client_id": seed.client_id}
    elif path == "/api/v1/workers":
        body = {"categories": ["translation"], "hourly_rate_usd": 30.0, "worker_id": own_worker}
        if who == "operator":
            body["worker_id"] = "w-new-by-operator"
    elif path == "/api/v1/bids":
        body = {"task_id": seed.open_task_id, "price_usd": 40.0}
        if who == "operator":
            body["worker_id"] = seed.other_worker_id
    elif path == "/api/v1/tasks/{task_id}/rating":
        body = {"stars": 4, "comment": "Good work"}
    elif path == "/api/v1/policies" and method == "POST":
        body = {"version": "v-roles", "weights": {"waiting": 0.2}}
    elif path == "/api/v1/allocations":
        body = {"seed": 1}
    elif path == "/api/v1/audits":
        body = {"groups": ["sex"], "n_bootstrap": 0}
    if method == "GET":
        return api.get(url, who, params=params)
    if method == "DELETE":
        return api.client.delete(url, headers=api.headers(who), params=params)
    return api.post(url, who, json=body, params=params)


@pytest.mark.parametrize("who", LOGINS)
def test_every_route_with_every_role(api, who):
    audit = api.post("/api/v1/audits", "auditor", json={"groups": ["sex"], "n_bootstrap": 0})
    assert audit.status_code == 201, audit.text
    audit_id = int(audit.headers["location"].rsplit("/", 1)[1])
    checked = 0
    order = {"GET": 0, "POST": 1, "DELETE": 2}  # consent is given before it is revoked
    for (method, path), rule in sorted(ROUTE_ROLES.items(), key=lambda kv: order[kv[0][0]]):
        response = _request(api, who, method, path, audit_id)
        if who in rule:
            assert response.status_code < 300, (who, method, path, response.status_code, response.text)
        else:
            assert response.status_code == 403, (who, method, path, response.status_code, response.text)
            assert response.json()["detail"].startswith(f"role {who!r} may not {method}")
        checked += 1
    assert checked == len(ROUTE_ROLES)


def test_every_route_refuses_an_anonymous_caller(sqlite_api):
    for method, path in ROUTE_ROLES:
        url = path.replace("{task_id}", "t1").replace("{worker_id}", "w1").replace("{run_id}", "r1")
        url = url.replace("{audit_id}", "1").replace("{version}", "v1")
        response = sqlite_api.client.request(method, url, json={} if method == "POST" else None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/workers/{other}", "/api/v1/workers/{other}/advice", "/api/v1/explanations?worker_id={other}"],
    ids=["profile", "advice", "explanations"],
)
def test_a_worker_reads_only_their_own_records(sqlite_api, path):
    response = sqlite_api.get(path.format(other=sqlite_api.seed.other_worker_id), "worker")
    assert response.status_code == 403
    assert response.json() == {"detail": "worker_id: a worker may read only their own records", "field": "worker_id"}


def test_clients_see_only_their_own_tasks(sqlite_api):
    seed = sqlite_api.seed
    assert sqlite_api.get(f"/api/v1/tasks/{seed.other_client_task_id}", "client").status_code == 404
    listed = sqlite_api.get("/api/v1/tasks", "client", params={"limit": 500}).json()["items"]
    assert listed and {t["client_id"] for t in listed} == {seed.client_id}
    other = sqlite_api.get("/api/v1/explanations", "client", params={"task_id": seed.other_client_task_id})
    assert other.status_code == 403 and other.json()["field"] == "task_id"
    posted = sqlite_api.post(
        "/api/v1/tasks", "client", json={"category": "translation", "budget_usd": 10, "client_id": seed.other_client_id}
    )
    assert posted.status_code == 403 and posted.json()["field"] == "client_id"


def test_a_worker_sees_open_tasks_in_their_categories_and_their_own(sqlite_api):
    seed = sqlite_api.seed
    profile = sqlite_api.get(f"/api/v1/workers/{seed.worker_id}", "worker").json()
    listed = sqlite_api.get("/api/v1/tasks", "worker", params={"limit": 500}).json()["items"]
    for task in listed:
        mine = task["assigned_worker_id"] == seed.worker_id
        assert mine or (task["status"] == "open" and task["category"] in profile["categories"])
    assigned_to_others = [t for t in listed if t["status"] == "assigned" and t["assigned_worker_id"] is None]
    assert not assigned_to_others


def test_a_workers_task_pages_are_exactly_the_open_tasks_in_their_categories_and_their_own(api):
    """Page by page, newest first, with and without filters: the same tasks as a plain reading of the rule."""
    import sqlalchemy as sa

    seed = api.seed
    with api.app.state.engine.connect() as conn:
        categories = conn.execute(
            sa.text("SELECT categories FROM workers WHERE worker_id = :w"), {"w": seed.worker_id}
        ).scalar_one()
        categories = json.loads(categories) if isinstance(categories, str) else categories
        rows = conn.execute(
            sa.text(
                "SELECT t.task_id, t.status, t.category, t.posted_at, a.worker_id FROM tasks t "
                "LEFT JOIN assignments a ON a.task_id = t.task_id"
            )
        ).all()
    rows = sorted(rows, key=lambda r: r.task_id)
    rows = sorted(rows, key=lambda r: r.posted_at, reverse=True)  # newest first, ties by task id
    visible = [r for r in rows if (r.status == "open" and r.category in categories) or r.worker_id == seed.worker_id]
    assert any(r.worker_id == seed.worker_id for r in visible) and any(r.status == "open" for r in visible)
    cases = [({}, visible), ({"status": "assigned"}, [r for r in visible if r.status == "assigned"])]
    cases.append(({"category": categories[0]}, [r for r in visible if r.category == categories[0]]))
    for params, expected in cases:
        listed, offset = [], 0
        while True:
            page = api.get("/api/v1/tasks", "worker", params={**params, "limit": 7, "offset": offset}).json()
            listed += page["items"]
            if page["next_offset"] is None:
                break
            offset = page["next_offset"]
        assert [t["task_id"] for t in listed] == [r.task_id for r in expected], params
        mine = {r.task_id for r in expected if r.worker_id == seed.worker_id}
        assert {t["task_id"] for t in listed if t["assigned_worker_id"] == seed.worker_id} == mine
