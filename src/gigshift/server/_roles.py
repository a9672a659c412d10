"""Who may call which route: one table, enforced by one dependency that every ``/api/v1`` route goes through.

Each route maps roles to a scope: ``"all"`` (everything of the organisation) or ``"own"`` (only the
caller's records: a worker's own profile, bids and decisions; a client's own tasks). A role missing
from a route's entry is refused with 403; a route missing from the table is refused for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from gigshift.server._models import User
from gigshift.server._security import TokenError, read_token
from gigshift.server._store import ApiError

Role = Literal["worker", "client", "operator", "auditor"]
Scope = Literal["own", "all"]

EVERYONE: dict[Role, Scope] = {"worker": "own", "client": "own", "operator": "all", "auditor": "all"}

ROUTE_ROLES: dict[tuple[str, str], dict[Role, Scope]] = {
    ("GET", "/api/v1/me"): EVERYONE,
    ("GET", "/api/v1/tasks"): EVERYONE,
    ("POST", "/api/v1/tasks"): {"client": "own", "operator": "all"},
    ("GET", "/api/v1/tasks/{task_id}"): EVERYONE,
    ("POST", "/api/v1/tasks/{task_id}/rating"): {"client": "own"},  # the task's client rates its work
    ("GET", "/api/v1/workers"): {"operator": "all", "auditor": "all"},
    ("POST", "/api/v1/workers"): {"worker": "own", "operator": "all"},
    ("GET", "/api/v1/workers/{worker_id}"): {"worker": "own", "operator": "all", "auditor": "all"},
    ("GET", "/api/v1/workers/{worker_id}/advice"): {"worker": "own", "operator": "all"},
    ("GET", "/api/v1/workers/{worker_id}/statement"): {"worker": "own"},  # for the worker's eyes only
    ("POST", "/api/v1/workers/{worker_id}/pay-pool"): {"worker": "own"},  # consent is the worker's alone
    ("DELETE", "/api/v1/workers/{worker_id}/pay-pool"): {"worker": "own"},
    ("GET", "/api/v1/workers/{worker_id}/ratings"): {"worker": "own", "operator": "all", "auditor": "all"},
    ("POST", "/api/v1/bids"): {"worker": "own", "operator": "all"},
    ("GET", "/api/v1/policies"): {"operator": "all", "auditor": "all"},
    ("POST", "/api/v1/policies"): {"operator": "all"},
    ("POST", "/api/v1/policies/{version}/activate"): {"operator": "all"},
    ("POST", "/api/v1/allocations"): {"operator": "all"},
    ("GET", "/api/v1/allocations/{run_id}"): {"operator": "all", "auditor": "all"},
    ("GET", "/api/v1/allocations/{run_id}/assignments"): {"operator": "all", "auditor": "all"},
    ("GET", "/api/v1/explanations"): EVERYONE,
    ("GET", "/api/v1/transparency"): EVERYONE,
    ("POST", "/api/v1/audits"): {"auditor": "all"},
    ("GET", "/api/v1/audits/{audit_id}"): {"auditor": "all"},
}
"""(method, path) -> {role: scope}. Public routes (``/healthz``, ``/openapi.json``, the token route) are not here."""

PAGE_ROLES: dict[tuple[str, str], dict[Role, Scope]] = {
    # the web dashboard (gigshift.server._pages): one home per role; login, logout and /static are public
    ("GET", "/worker"): {"worker": "own"},
    ("GET", "/worker/why"): {"worker": "own"},
    ("GET", "/worker/advice"): {"worker": "own"},
    ("GET", "/worker/statement"): {"worker": "own"},
    ("GET", "/worker/pay-pool"): {"worker": "own"},
    ("POST", "/worker/pay-pool"): {"worker": "own"},
    ("POST", "/worker/pay-pool/revoke"): {"worker": "own"},
    ("POST", "/worker/bids"): {"worker": "own"},
    ("GET", "/client"): {"client": "own"},
    ("POST", "/client/tasks"): {"client": "own"},
    ("GET", "/client/tasks/{task_id}"): {"client": "own"},
    ("POST", "/client/tasks/{task_id}/rating"): {"client": "own"},
    ("GET", "/operator"): {"operator": "all"},
    ("POST", "/operator/allocations"): {"operator": "all"},
    ("GET", "/operator/allocations/{run_id}"): {"operator": "all"},
    ("GET", "/operator/policies"): {"operator": "all"},
    ("GET", "/operator/fairness"): {"operator": "all"},
    ("POST", "/operator/policies"): {"operator": "all"},
    ("POST", "/operator/policies/{version}/activate"): {"operator": "all"},
    ("GET", "/auditor"): {"auditor": "all"},
    ("POST", "/auditor/audits"): {"auditor": "all"},
    ("GET", "/auditor/audits/{audit_id}"): {"auditor": "all"},
    ("GET", "/auditor/audits/{audit_id}/report.json"): {"auditor": "all"},
}
"""The dashboard's rows of the role table; :func:`resolve_actor` looks a route up in both, for API and pages alike."""


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller of one request and the scope the role table gives them on this route."""

    user_id: int
    email: str
    role: Role
    organisation_id: int
    worker_id: str | None
    client_id: str | None
    scope: Scope

    @property
    def sees_all(self) -> bool:
        return self.scope == "all"


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def get_session(request: Request):  # type: ignore[no-untyped-def]
    """One session per request; SQLite takes the write lock at BEGIN for requests that may write.

    Async so that the session closes on the event loop as the handler ends: closed in a worker thread,
    it would hold its connection until a thread is free, and under a burst every connection of the
    pool would wait so (a 500 after the pool's 30 s timeout).
    """
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    factory = request.app.state.write_sessions if write else request.app.state.read_sessions
    with factory() as session:
        try:
            yield session
        finally:
            if session.in_transaction():
                session.rollback()


Db = Annotated[Session, Depends(get_session, scope="function")]
"""The request's session. Closed as the handler returns, before the response is serialised (which waits for a
worker thread): a connection is held only while the handler runs, so a burst of requests cannot empty the pool."""


async def authorize(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Actor:
    """Check the bearer token, then the role table; return the caller with their scope on this route.

    Async, so that it runs on the event loop, its one short read included, rather than on a trip through the
    worker threads of its own before the handler's: that trip cost more CPU than the read (0.35 ms of the
    2.8 ms a ``GET /me`` took). The read blocks the loop no longer than it waits for PostgreSQL; the pool
    has a connection for it whenever the handlers' threads hold theirs (``POOL_SIZE`` > threads).
    """
    if token is None:
        raise _unauthorized("not authenticated: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token")
    return resolve_actor(request, token)


_CALLER = sa.select(
    User.id, User.email, User.role, User.organisation_id, User.worker_id, User.client_id, User.is_active,
    User.token_version,
).where(User.id == sa.bindparam("user_id"))  # fmt: skip


def resolve_actor(request: Request, token: str) -> Actor:
    """The caller of a token (bearer header or page session cookie), checked against the role table."""
    route = request.scope.get("route")
    method = "GET" if request.method == "HEAD" else request.method
    key = (method, getattr(route, "path", ""))
    rule = ROUTE_ROLES.get(key) or PAGE_ROLES.get(key)
    try:
        claims = read_token(token, secret_key=request.app.state.secret_key)
    except TokenError as exc:
        raise _unauthorized(str(exc)) from None
    # A short read on a connection of its own, handed back at once: the handler may wait for a thread after
    # this, and a connection held while waiting would let a burst of requests empty the pool (and on SQLite
    # the handler's transaction, which may hold the write lock, begins only when it runs). Columns through
    # Core: every request makes this check, and an ORM entity costs twice the CPU.
    with request.app.state.read_engine.connect() as connection:
        user = connection.execute(_CALLER, {"user_id": int(claims["sub"])}).one_or_none()
    # A token outlives nothing: a deleted or disabled user, a changed role or a reset password ends it.
    if user is None or not user.is_active or user.role != claims["role"] or user.token_version != claims["ver"]:
        raise _unauthorized("token no longer valid: log in again")
    if rule is None:  # fail closed: a route someone forgot to list is nobody's
        raise HTTPException(status_code=403, detail=f"{method} {request.url.path} is not open to any role")
    scope = rule.get(user.role)  # type: ignore[call-overload]
    if scope is None:
        allowed = ", ".join(rule)
        message = f"role {user.role!r} may not {method} this route (allowed: {allowed})"
        raise HTTPException(status_code=403, detail=message)
    actor = Actor(user.id, user.email, user.role, user.organisation_id, user.worker_id, user.client_id, scope)  # type: ignore[arg-type]
    if scope == "own" and actor.role == "worker":
        for source in (request.path_params, request.query_params):
            asked = source.get("worker_id")
            if asked is not None and asked != actor.worker_id:
                raise ApiError(403, "worker_id: a worker may read only their own records", field="worker_id")
    return actor
