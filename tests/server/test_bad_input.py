"""Bad input gets a 4xx with a JSON message naming the field, never a 500, and nothing is half-written."""

from __future__ import annotations

import pytest

TABLES = ("tasks", "workers", "bids", "allocation_runs", "assignments", "worker_group_attributes")


def _counts(api) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t: api.count(t) for t in TABLES}


def _raw(api, who: str, path: str, content: bytes, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
    return api.client.post(path, content=content, headers=api.headers(who, **{"Content-Type": content_type}))


@pytest.mark.parametrize(
    ("who", "path", "content", "status", "field"),
    [
        ("client", "/api/v1/tasks", b'{"budget_usd": 10,', 400, "body"),
        ("client", "/api/v1/tasks", b"[1, 2, 3]", 422, "body"),
        ("client", "/api/v1/tasks", b'{"category": "translation", "budget_usd": "lots"}', 422, "budget_usd"),
        ("client", "/api/v1/tasks", b'{"category": "translation", "budget_usd": -5}', 422, "budget_usd"),
        ("client", "/api/v1/tasks", b'{"category": "translation", "budget_usd": 1e400}', 422, "budget_usd"),
        ("client", "/api/v1/tasks", b'{"category": "translation", "budget_usd": 5, "colour": "red"}', 422, "colour"),
        ("client", "/api/v1/tasks", b'{"category": "translat", "budget_usd": 5}', 422, "category"),
        ("client", "/api/v1/tasks", b'{"budget_usd": 5}', 422, "text"),
        ("client", "/api/v1/tasks", b'{"text": "zzzz qqqq", "budget_usd": 5}', 422, "text"),
        ("client", "/api/v1/tasks", b'{"task_id": "bad id!", "category": "translation", "budget_usd": 5}', 422,
         "task_id"),
        ("client", "/api/v1/tasks", b'{"category": "translation", "budget_usd": 5, "posted_at": "2026-01-01T10:00"}',
         422, "posted_at"),
        ("worker", "/api/v1/workers", b'{"categories": [], "hourly_rate_usd": 10}', 422, "categories"),
        ("worker", "/api/v1/workers", b'{"categories": ["translation"], "hourly_rate_usd": 10, "capacity": 1.5}', 422,
         "capacity"),
        ("worker", "/api/v1/workers",
         b'{"categories": ["translation"], "hourly_rate_usd": 10, "group_attributes": {"religion": "x"},'
         b' "group_attributes_consent": true}', 422, "group_attributes.religion"),
        ("worker", "/api/v1/bids", b'{"task_id": "t001"}', 422, "price_usd"),
        ("auditor", "/api/v1/audits", b'{"groups": ["sex"], "suppress_below": 2}', 422, "suppress_below"),
        ("auditor", "/api/v1/audits", b'{"groups": []}', 422, "groups"),
        ("auditor", "/api/v1/audits", b'{"groups": ["sex"], "run_id": "r-none"}', 404, "run_id"),
        ("client", "/api/v1/tasks", b'{"category": "translation", "budget_usd": 5}', 415, None),
    ],
    ids=[
        "malformed-json", "not-an-object", "wrong-type", "negative", "infinite", "unknown-field", "unknown-category",
        "no-category-or-text", "text-matches-nothing", "bad-id", "naive-time", "no-categories", "fractional-capacity",
        "unknown-group-attribute", "missing-field", "suppression-too-low", "no-groups", "unknown-run", "form-body",
    ],
)  # fmt: skip
def test_bad_bodies_are_refused_naming_the_field(sqlite_api, who, path, content, status, field):
    """On SQLite only: the body is refused before any database work (PostgreSQL runs the 404s below)."""
    api = sqlite_api
    before = _counts(api)
    content_type = "application/x-www-form-urlencoded" if status == 415 else "application/json"
    response = _raw(api, who, path, content, content_type)
    if status == 415:  # FastAPI reads a form-encoded body as no JSON at all
        assert response.status_code == 422
    else:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["field"] == field and body["detail"].startswith(field)
    assert _counts(api) == before


def test_an_oversized_body_is_refused_before_it_is_read(sqlite_api):
    big = b'{"text": "' + b"a" * 1_200_000 + b'", "budget_usd": 5}'
    response = _raw(sqlite_api, "client", "/api/v1/tasks", big)
    assert response.status_code == 413 and response.json()["field"] == "body"
    assert response.headers["content-security-policy"]


def test_an_oversized_body_without_a_length_is_refused_while_streaming(sqlite_api):
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"text": "'
        for _ in range(40):
            yield b"a" * 50_000
        yield b'", "budget_usd": 5}'

    response = sqlite_api.client.post(
        "/api/v1/tasks", content=chunks(), headers=sqlite_api.headers("client", **{"Content-Type": "application/json"})
    )
    assert response.status_code == 413 and response.json()["field"] == "body"


@pytest.mark.parametrize(
    ("who", "path", "field"),
    [
        ("operator", "/api/v1/tasks/t-nothing", "task_id"),
        ("operator", "/api/v1/workers/w-nobody", "worker_id"),
        ("operator", "/api/v1/workers/w-nobody/advice", "worker_id"),
        ("operator", "/api/v1/allocations/r-none", "run_id"),
        ("auditor", "/api/v1/allocations/r-none/assignments", "run_id"),
        ("auditor", "/api/v1/audits/999", "audit_id"),
        ("operator", "/api/v1/explanations?task_id=t-nothing", "task_id"),
    ],
    ids=["task", "worker", "advice", "run", "assignments", "audit", "explanation"],
)
def test_unknown_ids_are_404_naming_the_field(api, who, path, field):
    response = api.get(path, who)
    assert response.status_code == 404 and response.json()["field"] == field, response.text


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=100000", "offset=-1", "status=lost", "limit=abc"],
)
def test_bad_query_parameters(sqlite_api, query):
    response = sqlite_api.get(f"/api/v1/tasks?{query}", "operator")
    assert response.status_code == 422 and response.json()["field"] == query.split("=")[0]


def test_bad_ids_in_paths_and_headers_never_give_a_500(sqlite_api):
    for path in ("/api/v1/audits/not-a-number", "/api/v1/tasks/%00", "/api/v1/workers/" + "w" * 5000):
        response = sqlite_api.get(path, "auditor" if "audits" in path else "operator")
        assert 400 <= response.status_code < 500, (path, response.status_code)
    long_key = {"Idempotency-Key": "k" * 300}
    response = sqlite_api.post("/api/v1/allocations", "operator", json={}, headers=long_key)
    assert response.status_code == 422 and response.json()["field"] == "Idempotency-Key"
    for header in ("Bearer", "Basic abc", "Bearer " + "x" * 10_000):
        assert sqlite_api.client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401
