"""The REST API under ``/api/v1``: routes parse, check scope, call the store or an engine, and render.

Every route but the token route depends on :func:`gigshift.server._roles.authorize`, which applies
the role table; handlers narrow what a caller sees with ``actor.sees_all``.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Annotated

import polars as pl
import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gigshift._errors import GigshiftError
from gigshift.market import GROUP_ATTRIBUTES
from gigshift.server import _allocations, _audits, _pay, _policies, _store
from gigshift.server._models import (
    AllocationRun,
    Assignment,
    AuditReport,
    Decision,
    GroupAttribute,
    Organisation,
    StoredExplanation,
    Task,
    User,
    Worker,
)
from gigshift.server._roles import Actor, Db, authorize
from gigshift.server._schemas import (
    AllocationIn,
    AssignmentOut,
    AssignmentPage,
    AuditIn,
    BidIn,
    BidOut,
    CategorySlug,
    ConsentOut,
    ErrorOut,
    Exposure,
    Me,
    PolicyIn,
    PolicyList,
    PolicyOut,
    RatingIn,
    RatingList,
    RatingOut,
    RunAccepted,
    RunOut,
    TaskIn,
    TaskOut,
    TaskPage,
    Token,
    TransparencyOut,
    WorkerIn,
    WorkerOut,
    WorkerPage,
)
from gigshift.server._security import (
    clear_failures,
    hash_password,
    issue_token,
    login_keys,
    needs_rehash,
    record_failure,
    seconds_locked_out,
    verify_password,
)
from gigshift.server._store import ApiError

_REFUSALS = {
    400: "Malformed request: the body is not JSON",
    401: "No bearer token, or one that is invalid, expired or no longer matches its user",
    403: "The caller's role (or scope) may not do this",
    404: "No such record among those the caller may see",
    409: "Conflicts with what is stored (a duplicate, a task no longer open, ...)",
    413: "Request body too large",
    422: "Invalid input; `field` names the culprit",
    429: "Too many failed logins: wait (Retry-After) before trying again",
}


def _refusals(*codes: int) -> dict[int | str, dict[str, object]]:
    # Declared so that every 4xx the service answers is in the description, in the one JSON error shape
    # (this also replaces FastAPI's default 422 schema, which our error handler does not produce).
    return {code: {"model": ErrorOut, "description": _REFUSALS[code]} for code in codes}


public = APIRouter(prefix="/api/v1", tags=["auth"], responses=_refusals(400, 401, 413, 422, 429))
api = APIRouter(
    prefix="/api/v1", dependencies=[Depends(authorize)], responses=_refusals(400, 401, 403, 404, 409, 413, 422)
)

Caller = Annotated[Actor, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
IdParam = Annotated[str, Query(min_length=1, max_length=64)]


def answer(model: BaseModel, *, status_code: int = 200) -> Response:
    """``model`` as the route's JSON answer, serialised once.

    Returned as a model, it would be validated again against the route's ``response_model`` (by FastAPI,
    on another trip through the worker threads, for a synchronous route); ours are valid as built. The
    route still declares its ``response_model``, which describes the answer in /openapi.json.
    """
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def page(items: list, *, limit: int, offset: int) -> dict[str, object]:
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(items) == limit else None,
    }


# ----------------------------------------------------------------------------------------------
# authentication


@public.post("/auth/token", response_model=Token, summary="Log in: OAuth2 password form -> bearer token")
def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: Db) -> Token:
    email = form.username.strip().lower()
    stamp = datetime.now(UTC)
    keys = login_keys(email, request.client.host if request.client else None)
    wait = seconds_locked_out(session, keys, now=stamp)
    if wait:
        raise ApiError(429, f"too many failed logins; try again in {wait} s", field="username")
    user = session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, form.password)
    if not ok or user is None or not user.is_active:
        record_failure(session, keys, now=stamp)
        _store.record(session, organisation_id=None, user_id=None, action="auth.failure", detail={"email": email})
        session.commit()
        raise ApiError(401, "incorrect email or password", field="username")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(form.password)
    clear_failures(session, email)
    _store.record(session, organisation_id=user.organisation_id, user_id=user.id, action="auth.login")
    session.commit()
    secret = request.app.state.secret_key
    return Token(
        access_token=issue_token(user_id=user.id, role=user.role, token_version=user.token_version, secret_key=secret)
    )


_ORGANISATION_SLUG = sa.select(Organisation.slug).where(Organisation.id == sa.bindparam("id"))


@api.get("/me", response_model=Me)
def me(actor: Caller, session: Db) -> Response:
    slug = session.connection().execute(_ORGANISATION_SLUG, {"id": actor.organisation_id}).scalar_one_or_none()
    return answer(
        Me(
            user_id=actor.user_id,
            email=actor.email,
            role=actor.role,
            organisation=slug or "",
            worker_id=actor.worker_id,
            client_id=actor.client_id,
        )
    )


# ----------------------------------------------------------------------------------------------
# tasks


def task_out(task: Task | sa.Row, assigned: str | None, actor: Actor) -> TaskOut:
    """A task (an entity, or a row of ``_store.TASK_COLUMNS``) as the caller may see it."""
    suggested = (task.lookup or {}).get("suggested_categories", [])
    # A worker learns who got a task only when it is them.
    if actor.role == "worker" and assigned != actor.worker_id:
        assigned = None
    # Built without validation, from columns already of the answer's types (a test holds them to it):
    # validating fifty rows field by field cost more than reading them.
    return TaskOut.model_construct(
        task_id=task.task_id,
        client_id=task.client_id,
        title=task.title,
        text=task.text,
        category=task.category,
        category_source=task.category_source,
        required_skills=task.required_skills,
        budget_usd=task.budget_usd,
        expected_hours=task.expected_hours,
        is_remote=task.is_remote,
        location=task.location,
        posted_at=task.posted_at,
        status=task.status,
        exposure=Exposure.model_construct(
            gpt4_beta=task.exposure_gpt4_beta, human_beta=task.exposure_human_beta, suggested_categories=suggested
        ),
        assigned_worker_id=assigned,
    )


@api.get("/tasks", response_model=TaskPage, summary="Tasks the caller may see")
def list_tasks(
    actor: Caller,
    session: Db,
    status: Annotated[str | None, Query(pattern="^(open|assigned|cancelled)$")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    return answer(visible_tasks(actor, session, status=status, category=category, limit=limit, offset=offset))


def visible_tasks(
    actor: Actor, session: Session, *, status: str | None, category: str | None, limit: int, offset: int
) -> TaskPage:
    """A page of the tasks the caller may see, newest first (the list route's answer; the dashboard's lists)."""
    rows = _store.visible_task_rows(session, actor, status=status, category=category, limit=limit, offset=offset)
    return TaskPage(**page([task_out(row, row.worker_id, actor) for row in rows], limit=limit, offset=offset))


def _links(status: int, description: str, **links: str) -> dict[int | str, dict[str, object]]:
    """OpenAPI links from an answer to the GET routes its ids lead to ({name: path}), for clients and fuzzers."""
    entries = {}
    for name, path in links.items():
        parameter = path.rsplit("{", 1)[1].rstrip("}")
        pointer = ("/api/v1" + path).replace("~", "~0").replace("/", "~1")
        entries[name] = {
            "operationRef": f"#/paths/{pointer}/get",
            "parameters": {parameter: f"$response.body#/{parameter}"},
        }
    return {status: {"description": description, "links": entries}}


@api.post(
    "/tasks",
    status_code=201,
    response_model=TaskOut,
    summary="Post a task (categorised through the atlas)",
    responses=_links(201, "The stored task", GetTask="/tasks/{task_id}"),
)
def post_task(body: TaskIn, actor: Caller, session: Db) -> Response:
    return answer(create_task(body, actor, session), status_code=201)


def create_task(body: TaskIn, actor: Actor, session: Session) -> TaskOut:
    """Store a task posted by the caller and commit it."""
    task = _store.create_task(session, actor=actor, body=body)
    session.commit()
    return task_out(task, None, actor)


@api.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: str, actor: Caller, session: Db) -> Response:
    return answer(visible_task(task_id, actor, session))


def visible_task(task_id: str, actor: Actor, session: Session) -> TaskOut:
    """One task the caller may see; 404 for any other."""
    rows = _store.visible_task_rows(session, actor, task_id=task_id)
    if not rows:
        raise _store.not_found("task", task_id, field="task_id")
    return task_out(rows[0], rows[0].worker_id, actor)


@api.post("/tasks/{task_id}/rating", status_code=201, response_model=RatingOut, summary="Rate the work on my task")
def post_rating(task_id: str, body: RatingIn, actor: Caller, session: Db) -> RatingOut:
    rating = _store.create_rating(session, actor=actor, task_id=task_id, body=body)
    session.commit()
    return RatingOut.model_validate(rating)


# ----------------------------------------------------------------------------------------------
# workers and bids


def worker_out(worker: Worker | sa.Row, *, given: list[str] | None = None) -> WorkerOut:
    """A worker profile (an entity, or a row of ``_store.WORKER_COLUMNS``) as the API shows it; built without
    validation, like :func:`task_out`."""
    return WorkerOut.model_construct(
        worker_id=worker.worker_id,
        display_name=worker.display_name,
        categories=worker.categories or [],
        skills=worker.skills or [],
        hourly_rate_usd=worker.hourly_rate_usd,
        rating=worker.rating,
        n_jobs_completed=worker.n_jobs_completed,
        reliability=worker.reliability,
        capacity=worker.capacity,
        is_remote=worker.is_remote,
        location=worker.location,
        time_zone=worker.time_zone,
        hours_per_week=worker.hours_per_week,
        is_available=worker.is_available,
        last_assigned_at=worker.last_assigned_at,
        group_attributes_given=given,
    )


@api.get("/workers", response_model=WorkerPage, summary="Worker profiles (never their group attributes)")
def list_workers(actor: Caller, session: Db, limit: Limit = 100, offset: Offset = 0) -> Response:
    query = (
        sa.select(*_store.WORKER_COLUMNS)
        .where(Worker.organisation_id == actor.organisation_id)
        .order_by(Worker.worker_id)
        .limit(limit)
        .offset(offset)
    )
    items = [worker_out(w) for w in session.execute(query)]
    return answer(WorkerPage(**page(items, limit=limit, offset=offset)))


@api.post(
    "/workers",
    status_code=201,
    response_model=WorkerOut,
    summary="Create or replace a worker profile",
    responses={
        200: {"model": WorkerOut, "description": "An existing profile, replaced"},
        **_links(201, "A new profile", GetWorker="/workers/{worker_id}"),
    },
)
def post_worker(body: WorkerIn, actor: Caller, session: Db, response: Response) -> WorkerOut:
    worker, created = _store.upsert_worker(session, actor=actor, body=body)
    session.commit()
    response.status_code = 201 if created else 200
    own = actor.role == "worker"
    return worker_out(worker, given=_store.given_attributes(session, worker.worker_id) if own else None)


@api.get("/workers/{worker_id}", response_model=WorkerOut)
def get_worker(worker_id: str, actor: Caller, session: Db) -> WorkerOut:
    worker = _store.worker_in_org(session, actor, worker_id)
    own = actor.role == "worker"
    return worker_out(worker, given=_store.given_attributes(session, worker_id) if own else None)


@api.get("/workers/{worker_id}/advice", summary="Career paths and the AI split of the worker's tasks (gigshift.advise)")
def worker_advice(
    worker_id: str,
    actor: Caller,
    session: Db,
    category: Annotated[CategorySlug | None, Query(description="Default: the worker's first category.")] = None,
    top: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, object]:
    from gigshift.advise import paths, tasks

    worker = _store.worker_in_org(session, actor, worker_id)
    if category is None:
        if not worker.categories:
            raise ApiError(422, "category: the profile lists no category; give one", field="category")
        category = worker.categories[0]
    _store.check_category(category, field="category")
    try:
        routes = paths(category, by="category", top=top)
        split = tasks(category, by="category")
    except GigshiftError as exc:
        raise ApiError(422, f"category: {exc}", field="category") from None
    return {
        "worker_id": worker_id,
        "category": category,
        "paths": json.loads(routes.to_json()),
        "tasks": json.loads(split.to_json()),
    }


@api.get("/workers/{worker_id}/statement", summary="The worker's pay statement beside the pool's (gigshift.pay)")
def worker_statement(
    worker_id: str,
    actor: Caller,
    session: Db,
    k: Annotated[int, Query(ge=5, le=1000, description="Withhold pool figures behind fewer workers.")] = 11,
) -> dict[str, object]:
    _store.check_worker_in_org(session, actor, worker_id)
    return _pay.worker_statement(session, actor=actor, worker_id=worker_id, k=k)


@api.get(
    "/workers/{worker_id}/ratings",
    response_model=RatingList,
    summary="Clients' ratings of the worker's work, newest first",
)
def worker_ratings(worker_id: str, actor: Caller, session: Db, limit: Limit = 100) -> RatingList:
    _store.check_worker_in_org(session, actor, worker_id)
    return RatingList(items=[RatingOut.model_validate(r) for r in _store.ratings_of(session, worker_id, limit=limit)])


def _consent_out(consent) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "worker_id": consent.worker_id,
        "terms": consent.terms,
        "given_at": consent.given_at.isoformat(),
        "revoked_at": None if consent.revoked_at is None else consent.revoked_at.isoformat(),
    }


@api.post(
    "/workers/{worker_id}/pay-pool",
    status_code=201,
    response_model=ConsentOut,
    summary="Pool my paid jobs with other workers' (consent)",
    responses={200: {"model": ConsentOut, "description": "The consent was given already"}},
)
def join_pay_pool(worker_id: str, actor: Caller, session: Db, response: Response) -> dict[str, object]:
    _store.check_worker_in_org(session, actor, worker_id)
    consent, created = _pay.give_consent(session, actor=actor, worker_id=worker_id)
    session.commit()
    response.status_code = 201 if created else 200
    return _consent_out(consent)


@api.delete(
    "/workers/{worker_id}/pay-pool", response_model=ConsentOut, summary="Revoke the consent: my jobs leave the pool"
)
def leave_pay_pool(worker_id: str, actor: Caller, session: Db) -> dict[str, object]:
    _store.check_worker_in_org(session, actor, worker_id)
    consent = _pay.revoke_consent(session, actor=actor, worker_id=worker_id)
    session.commit()
    return _consent_out(consent)


@api.post("/bids", status_code=201, response_model=BidOut, responses=_links(201, "The bid", GetTask="/tasks/{task_id}"))
def post_bid(body: BidIn, actor: Caller, session: Db) -> Response:
    bid = _store.create_bid(session, actor=actor, body=body)
    session.commit()
    out = BidOut(
        bid_id=bid.id,
        task_id=bid.task_id,
        worker_id=bid.worker_id,
        price_usd=bid.price_usd,
        note=bid.note,
        bid_at=bid.bid_at,
    )
    return answer(out, status_code=201)


# ----------------------------------------------------------------------------------------------
# allocations


@api.post(
    "/allocations",
    response_model=RunAccepted,
    status_code=201,
    summary="Allocate the open tasks (idempotent with an Idempotency-Key header)",
    responses={200: {"description": "A replay: the run an earlier request with this key made"}, 202: {}},
)
def post_allocation(
    request: Request,
    actor: Caller,
    background_tasks: BackgroundTasks,
    response: Response,
    body: AllocationIn | None = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)] = None,
) -> RunAccepted:
    engine = request.app.state.engine
    body = body or AllocationIn()
    wanted = _allocations.request_run(
        engine,
        actor=actor,
        body=body,
        idempotency_key=idempotency_key,
        background_threshold=request.app.state.background_threshold,
    )
    status = wanted.status
    if wanted.execute and wanted.background:
        background_tasks.add_task(_allocations.execute_in_background, engine, wanted.run_id)
        status = "queued"
    elif wanted.execute:
        _allocations.execute_run(engine, wanted.run_id)
        with request.app.state.read_sessions() as session:
            status = session.get(AllocationRun, wanted.run_id).status  # type: ignore[union-attr]
    response.status_code = 202 if status in ("queued", "running") else (201 if wanted.created else 200)
    response.headers["Location"] = f"/api/v1/allocations/{wanted.run_id}"
    return RunAccepted(run_id=wanted.run_id, status=status)


@api.get("/allocations/{run_id}", response_model=RunOut)
def get_allocation(run_id: str, actor: Caller, session: Db) -> RunOut:
    run = _allocations.get_run(session, actor, run_id)
    return RunOut(
        run_id=run.run_id,
        status=run.status,
        stage=run.stage,
        progress=run.progress,
        policy_version=run.policy_version,
        is_background=run.is_background,
        n_tasks=run.n_tasks,
        n_assigned=run.n_assigned,
        summary=run.summary,
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


@api.get("/allocations/{run_id}/assignments", response_model=AssignmentPage)
def get_assignments(run_id: str, actor: Caller, session: Db, limit: Limit = 500, offset: Offset = 0) -> Response:
    return answer(run_assignments(run_id, actor, session, limit=limit, offset=offset))


def run_assignments(run_id: str, actor: Actor, session: Session, *, limit: int, offset: int) -> AssignmentPage:
    """A page of a run's assignments, by task id."""
    _allocations.get_run(session, actor, run_id)
    query = (
        sa.select(Assignment.task_id, Assignment.worker_id, Assignment.score, Assignment.price_usd)
        .where(Assignment.run_id == run_id)
        .order_by(Assignment.task_id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        AssignmentOut(task_id=a.task_id, worker_id=a.worker_id, score=a.score, price_usd=a.price_usd)
        for a in session.execute(query)
    ]
    return AssignmentPage(**page(items, limit=limit, offset=offset))


# ----------------------------------------------------------------------------------------------
# allocation policy versions


@api.get("/policies", response_model=PolicyList, summary="Allocation policy versions, newest first")
def list_policies(actor: Caller, session: Db) -> PolicyList:
    items = _policies.list_policies(session, actor.organisation_id)
    return PolicyList(items=[PolicyOut(**p) for p in items])


@api.post("/policies", status_code=201, response_model=PolicyOut, summary="A new policy version from the active one")
def post_policy(body: PolicyIn, actor: Caller, session: Db) -> PolicyOut:
    created = _policies.create_policy(session, actor=actor, body=body)
    session.commit()
    return PolicyOut(**created)


@api.post("/policies/{version}/activate", response_model=PolicyOut, summary="Make a version the active policy")
def activate_policy(version: str, actor: Caller, session: Db) -> PolicyOut:
    activated = _policies.activate_policy(session, actor=actor, version=version)
    session.commit()
    return PolicyOut(**activated)


# ----------------------------------------------------------------------------------------------
# explanations and transparency


def _log_rows(session: Session, asked: str, params: dict[str, str]) -> tuple[sa.Row | None, pl.DataFrame]:
    """The decision rows about ``params`` in the latest completed run that has any, and that run
    (``run_id``, ``policy_version``, ``policy_yaml``). ``asked``: "task", "worker" or "candidacy" (both)."""
    latest, rows_of = _log_statements(asked)
    connection = session.connection()
    run = connection.execute(latest, params).first()
    if run is None:
        return None, pl.DataFrame()
    rows = connection.execute(rows_of, {**params, "run_id": run.run_id}).all()
    # by column: a few times faster than letting Polars read the rows one by one
    values = list(zip(*rows, strict=True)) if rows else [()] * len(_DECISION_SCHEMA)
    frame = pl.DataFrame([pl.Series(n, v, dtype=t) for (n, t), v in zip(_DECISION_SCHEMA.items(), values, strict=True)])
    return run, frame


@functools.cache
def _log_statements(asked: str) -> tuple[sa.Select, sa.Select]:
    # built once per kind of question, with bound parameters: building a select costs more CPU than running it
    where = {
        "task": Decision.task_id == sa.bindparam("task_id"),
        "worker": Decision.worker_id == sa.bindparam("worker_id"),
        "candidacy": (Decision.task_id == sa.bindparam("task_id")) & (Decision.worker_id == sa.bindparam("worker_id")),
    }[asked]
    latest = (
        sa.select(AllocationRun.run_id, AllocationRun.policy_version, AllocationRun.policy_yaml)
        .join(Decision, AllocationRun.run_id == Decision.run_id)
        .where(where, AllocationRun.status == "completed")
        .order_by(AllocationRun.finished_at.desc())
        .limit(1)
    )
    columns = [getattr(Decision, c) for c in _DECISION_SCHEMA]
    return latest, sa.select(*columns).where(where, Decision.run_id == sa.bindparam("run_id"))


_POLARS_TYPES = {str: pl.String, int: pl.Int64, float: pl.Float64, bool: pl.Boolean, list: pl.List(pl.String)}


def _decision_schema() -> dict[str, pl.DataType]:
    out: dict[str, pl.DataType] = {}
    for column in Decision.__table__.columns:
        if column.name in ("id", "run_id"):
            continue
        kind = column.type.python_type if not isinstance(column.type, sa.JSON) else list
        out[column.name] = _POLARS_TYPES[kind]
    return out


_DECISION_SCHEMA = _decision_schema()
_TASK_OWNER = sa.select(Task.organisation_id, Task.client_id).where(Task.task_id == sa.bindparam("task_id"))
_STORED_REASON = sa.select(StoredExplanation.reason).where(
    StoredExplanation.run_id == sa.bindparam("run_id"),
    StoredExplanation.subject == sa.bindparam("subject"),
    StoredExplanation.subject_id == sa.bindparam("subject_id"),
)


@api.get("/explanations", summary="Why a task went where it did, or why a worker did (not) get tasks")
def explanations(
    actor: Caller,
    session: Db,
    task_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    worker_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> JSONResponse:
    # Plain JSON types already: a JSONResponse spares FastAPI's jsonable_encoder walk over every candidate.
    return JSONResponse(explanation(actor, session, task_id=task_id, worker_id=worker_id))


def explanation(actor: Actor, session: Session, *, task_id: str | None, worker_id: str | None) -> dict[str, object]:
    """The latest decision about one task or one worker, explained as the caller may see it."""
    from gigshift.allocate import explain

    if (task_id is None) == (worker_id is None):
        raise ApiError(422, "task_id: give exactly one of task_id or worker_id", field="task_id")
    if actor.role == "client" and worker_id is not None:
        raise ApiError(403, "worker_id: a client may ask about their own tasks only", field="worker_id")
    if task_id is not None:
        task = session.connection().execute(_TASK_OWNER, {"task_id": task_id}).first()
        if task is None or task.organisation_id != actor.organisation_id:
            raise _store.not_found("task", task_id, field="task_id")
        if actor.role == "client" and task.client_id != actor.client_id:
            raise ApiError(403, "task_id: not one of your tasks", field="task_id")
        if actor.role == "worker":  # "why did I (not) get this task": their own candidacy only
            asked, params = "candidacy", {"task_id": task_id, "worker_id": actor.worker_id}
            subject, key = "worker", actor.worker_id
        else:
            asked, params, subject, key = "task", {"task_id": task_id}, "task", task_id
    else:
        _store.check_worker_in_org(session, actor, worker_id)  # type: ignore[arg-type]
        asked, params, subject, key = "worker", {"worker_id": worker_id}, "worker", worker_id
    run, rows = _log_rows(session, asked, params)  # type: ignore[arg-type]
    if run is None:
        field = "task_id" if task_id is not None else "worker_id"
        raise ApiError(404, f"{field}: no allocation decision about {task_id or worker_id!r} yet", field=field)
    policy = _allocations.run_policy(run)
    if subject == "task":
        found = explain(rows, policy, task_id=key)
    else:
        found = explain(rows, policy, worker_id=key, verify=False)
    body = found.to_dict()
    if actor.role == "client":  # the client sees the decision, not other workers' component scores
        body["candidates"] = [c for c in body["candidates"] if c.get("outcome") == "assigned"]
    reason = (
        session.connection()
        .execute(_STORED_REASON, {"run_id": run.run_id, "subject": subject, "subject_id": key})
        .scalar_one_or_none()
    )
    return {"run_id": run.run_id, "policy_version": run.policy_version, **body, "reason": reason}


@api.get(
    "/transparency",
    response_model=TransparencyOut,
    summary="How tasks are allocated: the statement generated from the active policy",
)
def transparency(actor: Caller, session: Db) -> Response:
    return answer(transparency_of(actor, session))


def transparency_of(actor: Actor, session: Session) -> TransparencyOut:
    """The transparency statement of the organisation's active policy."""
    from gigshift.allocate import transparency_statement

    policy = _allocations.active_policy(session, actor.organisation_id)
    given = session.connection().execute(_ATTRIBUTES_GIVEN, {"organisation_id": actor.organisation_id}).one()
    recorded = sorted(name for name, present in zip(GROUP_ATTRIBUTES, given, strict=True) if present)
    statement = transparency_statement(policy, group_columns=recorded)
    return TransparencyOut(policy_version=policy.version, weights=policy.normalised_weights, statement=statement)


# Which of the (few, fixed) attributes any of the organisation's workers gave: one EXISTS each, which stops at
# the first match, where a DISTINCT over all the workers' attributes cost PostgreSQL 2 ms a statement.
_ATTRIBUTES_GIVEN = sa.select(
    *(
        sa.exists()
        .where(
            GroupAttribute.attribute == name,
            GroupAttribute.worker_id == Worker.worker_id,
            Worker.organisation_id == sa.bindparam("organisation_id"),
        )
        .label(name)
        for name in GROUP_ATTRIBUTES
    )
)


# ----------------------------------------------------------------------------------------------
# audits


@api.post(
    "/audits", status_code=201, summary="LL144 bias audit of the decision log (the `gigshift audit --json` shape)"
)
def post_audit(body: AuditIn, actor: Caller, session: Db) -> Response:
    audit_id, text = _audits.run_audit(session, actor=actor, body=body)
    session.commit()
    return Response(
        content=text, status_code=201, media_type="application/json", headers={"Location": f"/api/v1/audits/{audit_id}"}
    )


@api.get("/audits/{audit_id}", summary="A stored audit report")
def get_audit(audit_id: int, actor: Caller, session: Db) -> Response:
    report = session.get(AuditReport, audit_id)
    if report is None or report.organisation_id != actor.organisation_id:
        raise _store.not_found("audit", str(audit_id), field="audit_id")
    return Response(content=report.report_json, media_type="application/json")
