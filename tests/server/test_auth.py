"""Logins, tokens and headers: Argon2 hashes, signed tokens that end when the user changes, shared login limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import sqlalchemy as sa

from gigshift._errors import GigshiftError
from gigshift.server import create_app
from gigshift.server._app import CONTENT_SECURITY_POLICY
from gigshift.server._security import LOGIN_MAX_FAILURES, TokenError, issue_token, read_token

from .conftest import PASSWORD, SECRET


def _login(client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": email, "password": password})


def test_login_returns_a_bearer_token_that_works(sqlite_api):
    response = _login(sqlite_api.client, "Operator@demo.gigshift.invalid ", PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type"} and body["token_type"] == "bearer"
    me = sqlite_api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["role"] == "operator"
    with sqlite_api.app.state.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM users WHERE role = 'operator'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("email", "password"),
    [("operator@demo.gigshift.invalid", "wrong password!"), ("nobody@example.org", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_a_failed_login_says_nothing_about_which_part_was_wrong(sqlite_api, email, password):
    response = _login(sqlite_api.client, email, password)
    assert response.status_code == 401
    assert response.json() == {"detail": "incorrect email or password", "field": "username"}


def test_login_failures_are_limited_across_processes(sqlite_api):
    """Two app instances on one database (as two server processes) share the count of failures."""
    from fastapi.testclient import TestClient

    other = create_app(sqlite_api.url, secret_key=SECRET)
    clients = [sqlite_api.client, TestClient(other)]
    email = "auditor@demo.gigshift.invalid"
    for i in range(LOGIN_MAX_FAILURES):
        assert _login(clients[i % 2], email, f"wrong-{i}-password").status_code == 401
    locked = _login(clients[1], email, PASSWORD)  # even the right password waits now
    assert locked.status_code == 429 and locked.headers["retry-after"]
    assert "too many failed logins" in locked.json()["detail"]
    assert _login(clients[0], "worker@demo.gigshift.invalid", PASSWORD).status_code == 200  # others are not locked
    other.state.engine.dispose()


def _with(api, token: str):  # type: ignore[no-untyped-def]
    return api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_forged_expired_and_malformed_tokens_are_refused(sqlite_api):
    uid = sqlite_api.seed.users["operator"]
    forged = issue_token(user_id=uid, role="operator", token_version=0, secret_key="another-secret-" + "y" * 40)
    past = datetime.now(UTC) - timedelta(days=2)
    expired = issue_token(user_id=uid, role="operator", token_version=0, secret_key=SECRET, now=past)
    unsigned = jwt.encode({"sub": str(uid), "role": "operator", "ver": 0, "iss": "gigshift"}, None, algorithm="none")
    for token, message in [
        (forged, "invalid token"),
        (expired, "token expired: log in again"),
        (unsigned, "invalid token"),
        ("not.a.token", "invalid token"),
    ]:
        response = _with(sqlite_api, token)
        assert response.status_code == 401 and response.json()["detail"] == message


def test_a_remembered_token_still_expires_and_a_tampered_one_is_refused():
    """The signature check is remembered per token; the expiry is not, and a changed byte is a new token."""
    issued = datetime.now(UTC)
    token = issue_token(user_id=7, role="worker", token_version=2, secret_key=SECRET, now=issued)
    claims = read_token(token, secret_key=SECRET)
    assert (claims["sub"], claims["role"], claims["ver"]) == ("7", "worker", 2)
    claims["role"] = "operator"  # a caller's copy: changing it changes nothing remembered
    assert read_token(token, secret_key=SECRET)["role"] == "worker"
    expiry = claims["exp"]
    assert read_token(token, secret_key=SECRET, now=expiry - 1)["sub"] == "7"
    with pytest.raises(TokenError, match="token expired"):
        read_token(token, secret_key=SECRET, now=expiry)
    with pytest.raises(TokenError, match="invalid token"):
        read_token(token, secret_key="another-secret-" + "y" * 40)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(TokenError, match="invalid token"):
        read_token(f"{header}.{payload}.{flipped}", secret_key=SECRET)


def test_a_token_ends_when_its_user_changes(sqlite_api):
    token = sqlite_api.tokens["client"]
    uid = sqlite_api.seed.users["client"]
    assert _with(sqlite_api, token).status_code == 200
    escalated = issue_token(user_id=uid, role="operator", token_version=0, secret_key=SECRET)
    assert _with(sqlite_api, escalated).status_code == 401  # a role the user does not have
    with sqlite_api.app.state.engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET token_version = token_version + 1 WHERE id = :id"), {"id": uid})
    assert _with(sqlite_api, token).json()["detail"] == "token no longer valid: log in again"


def test_security_headers_on_every_response(sqlite_api):
    for response in (
        sqlite_api.client.get("/healthz"),
        sqlite_api.get("/api/v1/me", "worker"),
        sqlite_api.client.get("/api/v1/me"),  # 401
        sqlite_api.client.get("/nowhere"),  # 404
    ):
        csp = response.headers["content-security-policy"]
        assert csp == CONTENT_SECURITY_POLICY
        assert "http" not in csp and "*" not in csp and "'unsafe-inline'" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_openapi_is_served_and_no_page_loads_a_cdn(sqlite_api):
    spec = sqlite_api.client.get("/openapi.json")
    assert spec.status_code == 200 and "/api/v1/allocations" in spec.json()["paths"]
    assert sqlite_api.client.get("/docs").status_code == 404
    assert sqlite_api.client.get("/healthz").json()["status"] == "ok"


def test_a_secret_key_is_required_outside_development(sqlite_backend, tmp_path, monkeypatch):
    monkeypatch.delenv("GIGSHIFT_SECRET_KEY", raising=False)
    url = sqlite_backend.fresh_url(tmp_path)
    with pytest.raises(GigshiftError, match="set GIGSHIFT_SECRET_KEY"):
        create_app(url)
    with pytest.raises(GigshiftError, match="at least 32 characters"):
        create_app(url, secret_key="short")
    with pytest.warns(UserWarning, match="generated a development key"):
        first = create_app(url, dev=True)
    second = create_app(url, dev=True)  # kept in the database: the same for every process and restart
    assert first.state.secret_key == second.state.secret_key and len(first.state.secret_key) >= 32
    for app in (first, second):
        app.state.engine.dispose()
