"""Storing and reading the service's records: users, workers, tasks, bids and the activity trail.

Every function takes an open session and leaves committing to its caller, so that one request is
one transaction: all of it is written, or none.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from zoneinfo import available_timezones

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigshift._errors import GigshiftError
from gigshift.server._models import (
    ROLES,
    Activity,
    Assignment,
    Bid,
    Client,
    GroupAttribute,
    Organisation,
    Rating,
    Task,
    User,
    Worker,
)
from gigshift.server._security import hash_password

DEFAULT_ORGANISATION = "default"


class ApiError(Exception):
    """A refusal with its HTTP status and the request field at fault (rendered as JSON by the app)."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def not_found(kind: str, key: str, *, field: str) -> ApiError:
    return ApiError(404, f"{field}: no {kind} {key!r}", field=field)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def now() -> datetime:
    return datetime.now(UTC)


def record(
    session: Session,
    *,
    organisation_id: int | None,
    user_id: int | None,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: Mapping[str, object] | None = None,
    at_once: bool = False,
) -> None:
    """Append one line to the activity trail, in the caller's transaction.

    The line waits for the ORM's next flush; with ``at_once`` it is inserted now on the session's connection
    (for requests that write with Core statements and never flush).
    """
    row = {
        "organisation_id": organisation_id,
        "user_id": user_id,
        "at": now(),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "detail": dict(detail) if detail else None,
    }
    if at_once:
        session.connection().execute(_INSERT_ACTIVITY, row)
    else:
        session.add(Activity(**row))


_INSERT_ACTIVITY = sa.insert(Activity)


# ----------------------------------------------------------------------------------------------
# the atlas, cached per process (read-only reference data, not request state)


@cache
def _category_table() -> dict[str, dict[str, object]]:
    from gigshift.taxonomy import categories

    table = categories().select("slug", "name", "mode", "gpt4_beta", "human_beta")
    return {r["slug"]: r for r in table.with_columns(table["mode"].cast(str)).iter_rows(named=True)}


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_category(slug: str, *, field: str) -> dict[str, object]:
    table = _category_table()
    if slug not in table:
        close = difflib.get_close_matches(slug, list(table), n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else "; see `gigshift categories`"
        raise ApiError(422, f"{field}: unknown gig category {slug!r}{hint}", field=field)
    return table[slug]


# ----------------------------------------------------------------------------------------------
# organisations and users


def organisation(session: Session, slug: str = DEFAULT_ORGANISATION) -> Organisation:
    """The organisation with this slug, created on first use."""
    org = session.execute(sa.select(Organisation).where(Organisation.slug == slug)).scalar_one_or_none()
    if org is None:
        org = Organisation(slug=slug, name=slug)
        session.add(org)
        session.flush()
    return org


def add_user(
    session: Session,
    *,
    email: str,
    role: str,
    password: str,
    worker_id: str | None = None,
    client_id: str | None = None,
    organisation_slug: str = DEFAULT_ORGANISATION,
) -> User:
    """Add a login. A worker login is linked to the profile ``worker_id`` (an empty profile is made if none);
    a client login to ``client_id`` (made if none; a fresh id if not given)."""
    email = email.strip().lower()
    if role not in ROLES:
        raise GigshiftError(f"--role: expected one of {', '.join(ROLES)}; got {role!r}")
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise GigshiftError(f"--email: not an email address: {email!r}")
    if worker_id is not None and role != "worker":
        raise GigshiftError("--worker-id: only a worker login links to a worker profile")
    if role == "worker" and not worker_id:
        raise GigshiftError("--worker-id: a worker login needs the id of its worker profile")
    if session.execute(sa.select(User.id).where(User.email == email)).first() is not None:
        raise GigshiftError(f"--email: a user {email!r} exists already")
    org = organisation(session, organisation_slug)
    if worker_id is not None:
        worker = session.get(Worker, worker_id)
        if worker is None:
            session.add(Worker(worker_id=worker_id, organisation_id=org.id, categories=[], skills=[]))
            session.flush()  # the profile before the login that refers to it
        elif worker.organisation_id != org.id:
            raise GigshiftError(f"--worker-id: worker {worker_id!r} belongs to another organisation")
        elif session.execute(sa.select(User.id).where(User.worker_id == worker_id)).first() is not None:
            raise GigshiftError(f"--worker-id: worker {worker_id!r} already has a login")
    if role == "client":
        client_id = client_id or new_id("c")
        if session.get(Client, client_id) is None:
            session.add(Client(client_id=client_id, organisation_id=org.id))
            session.flush()
    user = User(
        organisation_id=org.id,
        email=email,
        password_hash=hash_password(password),
        role=role,
        worker_id=worker_id,
        client_id=client_id if role == "client" else None,
    )
    session.add(user)
    session.flush()
    record(session, organisation_id=org.id, user_id=None, action="user.add", object_type="user", object_id=str(user.id))
    return user


# ----------------------------------------------------------------------------------------------
# tasks


def _exposure_from_text(text: str) -> tuple[dict[str, object], list[dict]]:
    from gigshift.taxonomy._lookup import default_index

    try:  # lookup()'s exposure and categories, without its tables
        found, suggested = default_index().exposure_and_categories(text, top=3)
    except GigshiftError as exc:
        raise ApiError(422, f"text: {exc}", field="text") from None
    return {"gpt4_beta": found["gpt4"]["beta"], "human_beta": found["human"]["beta"]}, suggested


def create_task(session: Session, *, actor, body) -> Task:  # type: ignore[no-untyped-def]
    """Store a posted task: its category given or found from its text through the atlas, with its AI exposure."""
    if body.category is None and not body.text:
        raise ApiError(422, "text: give a category or a text describing the work to categorise", field="text")
    suggested: list[dict] = []
    if body.text:  # before touching the database: the first lookup builds the atlas index
        exposure, suggested = _exposure_from_text(body.text)
    if actor.role == "client":
        if body.client_id not in (None, actor.client_id):
            raise ApiError(403, "client_id: a client posts tasks only for themselves", field="client_id")
        client_id = actor.client_id
        if client_id is None:
            raise ApiError(409, "this client login has no client record; ask an operator", field="client_id")
    else:
        if body.client_id is None:
            raise ApiError(422, "client_id: an operator must say which client posts the task", field="client_id")
        client_id = body.client_id
    organisation = session.connection().execute(_CLIENT_ORGANISATION, {"client_id": client_id}).scalar()
    if organisation != actor.organisation_id:
        raise not_found("client", client_id, field="client_id")
    task_id = body.task_id or new_id("t")
    if body.category is not None:
        info = check_category(body.category, field="category")
        category, source = body.category, "given"
        if not body.text:
            exposure = {"gpt4_beta": info["gpt4_beta"], "human_beta": info["human_beta"]}
    else:
        category, source = suggested[0]["slug"], "lookup"
        info = check_category(category, field="text")
    is_remote = body.is_remote if body.is_remote is not None else info["mode"] == "online"
    if not is_remote and not body.location:
        raise ApiError(422, "location: an on-location task needs its area", field="location")
    posted_at = body.posted_at or now()
    if posted_at.tzinfo is None:
        raise ApiError(422, "posted_at: give a time zone (e.g. 2026-05-01T09:00:00Z)", field="posted_at")
    values = dict(
        task_id=task_id,
        organisation_id=actor.organisation_id,
        client_id=client_id,
        title=body.title,
        text=body.text,
        category=category,
        category_source=source,
        required_skills=list(dict.fromkeys(body.required_skills)),
        budget_usd=body.budget_usd,
        expected_hours=body.expected_hours,
        posted_at=posted_at,
        is_remote=is_remote,
        location=body.location,
        status="open",
        exposure_gpt4_beta=exposure["gpt4_beta"],
        exposure_human_beta=exposure["human_beta"],
        lookup={"suggested_categories": suggested} if suggested else None,
        created_by=actor.user_id,
    )
    # Core inserts, not the ORM's unit of work, which costs a task post more CPU than all the rest of it.
    try:  # the task id's uniqueness is the primary key's to check: no read before, and no race between two posts
        session.connection().execute(_INSERT_TASK, values)
    except sa.exc.IntegrityError:
        session.rollback()
        if session.connection().execute(_TASK_EXISTS, {"task_id": task_id}).first() is not None:
            raise ApiError(409, f"task_id: a task {task_id!r} exists already", field="task_id") from None
        raise
    record(
        session,
        at_once=True,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="task.create",
        object_type="task",
        object_id=task_id,
        detail={"category": category, "category_source": source},
    )
    return Task(**values)  # as stored (not attached to the session)


_INSERT_TASK = sa.insert(Task)


_CLIENT_ORGANISATION = sa.select(Client.organisation_id).where(Client.client_id == sa.bindparam("client_id"))
_TASK_EXISTS = sa.select(Task.task_id).where(Task.task_id == sa.bindparam("task_id"))


#: The columns of a task that ``TaskOut`` shows: the API reads them as plain rows (an ORM entity per task
#: costs several times the CPU of a row, and a page lists up to a few hundred).
TASK_COLUMNS = (
    Task.task_id, Task.client_id, Task.title, Task.text, Task.category, Task.category_source, Task.required_skills,
    Task.budget_usd, Task.expected_hours, Task.is_remote, Task.location, Task.posted_at, Task.status,
    Task.exposure_gpt4_beta, Task.exposure_human_beta, Task.lookup,
)  # fmt: skip


#: The columns of a worker profile that ``WorkerOut`` shows, read as rows for the same reason.
WORKER_COLUMNS = (
    Worker.worker_id, Worker.display_name, Worker.categories, Worker.skills, Worker.hourly_rate_usd, Worker.rating,
    Worker.n_jobs_completed, Worker.reliability, Worker.capacity, Worker.is_remote, Worker.location,
    Worker.time_zone, Worker.hours_per_week, Worker.is_available, Worker.last_assigned_at,
)  # fmt: skip


def visible_task_rows(  # type: ignore[no-untyped-def]
    session: Session,
    actor,
    *,
    task_id: str | None = None,
    status: str | None = None,
    category: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[sa.Row]:
    """The tasks a caller may see, with their assigned worker: all of the organisation's; a client's own;
    a worker's open tasks in their categories and the tasks given to them.

    Rows of :data:`TASK_COLUMNS` and ``worker_id`` (the assigned worker, or None): the one task ``task_id``
    (no row if the caller may not see it), else a page, newest first, optionally of one status or category.
    """
    scope = "all" if actor.sees_all else ("client" if actor.role == "client" else "worker")
    params: dict[str, object] = {"organisation_id": actor.organisation_id}
    if scope == "client":
        params["client_id"] = actor.client_id
    elif scope == "worker":
        categories = session.connection().execute(_WORKER_CATEGORIES, {"worker_id": actor.worker_id}).scalar()
        params.update(worker_id=actor.worker_id, categories=categories or [])
    if task_id is not None:
        statement = _task_statement(scope, one=True, status=False, category=False)
        params["task_id"] = task_id
    else:
        statement = _task_statement(scope, one=False, status=status is not None, category=category is not None)
        params.update(status=status, category=category, limit=limit, offset=offset)
    return list(session.connection().execute(statement, params).all())


_WORKER_CATEGORIES = sa.select(Worker.categories).where(Worker.worker_id == sa.bindparam("worker_id"))


@cache
def _task_statement(scope: str, *, one: bool, status: bool, category: bool) -> sa.Select:
    # Built once per shape, with bound parameters: building a select costs more CPU than running it.
    if scope == "worker" and not one:
        return _worker_task_page(status=status, category=category)
    query = sa.select(*TASK_COLUMNS, Assignment.worker_id).outerjoin(Assignment, Assignment.task_id == Task.task_id)
    query = query.where(Task.organisation_id == sa.bindparam("organisation_id"))
    if scope == "client":
        query = query.where(Task.client_id == sa.bindparam("client_id"))
    elif scope == "worker":
        open_in_mine = (Task.status == "open") & Task.category.in_(sa.bindparam("categories", expanding=True))
        query = query.where(sa.or_(open_in_mine, Assignment.worker_id == sa.bindparam("worker_id")))
    if one:
        return query.where(Task.task_id == sa.bindparam("task_id"))
    if status:
        query = query.where(Task.status == sa.bindparam("status"))
    if category:
        query = query.where(Task.category == sa.bindparam("category"))
    return _paged(query.order_by(Task.posted_at.desc(), Task.task_id))


def _paged(query: sa.Select) -> sa.Select:
    return query.limit(sa.bindparam("limit", type_=sa.Integer)).offset(sa.bindparam("offset", type_=sa.Integer))


def _worker_task_page(*, status: bool, category: bool) -> sa.Select:
    """A page of a worker's tasks: the open ones in their categories, then those given to them that are not.

    Two selects, each through an index (open tasks by category; assignments by worker), instead of one whose
    OR across the join made PostgreSQL read every task of the organisation for every page (4 ms at 3,500
    tasks, and growing with them).
    """
    open_in_mine = (Task.status == "open") & Task.category.in_(sa.bindparam("categories", expanding=True))
    filters = [Task.organisation_id == sa.bindparam("organisation_id")]
    if status:
        filters.append(Task.status == sa.bindparam("status"))
    if category:
        filters.append(Task.category == sa.bindparam("category"))
    columns = (*TASK_COLUMNS, Assignment.worker_id)
    in_mine = (
        sa.select(*columns).outerjoin(Assignment, Assignment.task_id == Task.task_id).where(open_in_mine, *filters)
    )
    given = (
        sa.select(*columns)
        .join(Assignment, Assignment.task_id == Task.task_id)
        .where(Assignment.worker_id == sa.bindparam("worker_id"), sa.not_(open_in_mine), *filters)
    )
    both = sa.union_all(in_mine, given).subquery("visible")
    return _paged(sa.select(*both.c).order_by(both.c.posted_at.desc(), both.c.task_id))


# ----------------------------------------------------------------------------------------------
# workers


def upsert_worker(session: Session, *, actor, body) -> tuple[Worker, bool]:  # type: ignore[no-untyped-def]
    """Create or replace a worker profile; a worker only their own, an operator any of the organisation's."""
    if actor.role == "worker":
        if body.worker_id not in (None, actor.worker_id):
            raise ApiError(403, "worker_id: a worker may edit only their own profile", field="worker_id")
        worker_id = actor.worker_id
        for field in ("rating", "n_jobs_completed", "reliability"):
            if getattr(body, field) is not None:
                raise ApiError(403, f"{field}: set by the platform from completed work, not by the worker", field=field)
    else:
        if body.worker_id is None:
            raise ApiError(422, "worker_id: an operator must give the worker's id", field="worker_id")
        if body.group_attributes:
            raise ApiError(
                403,
                "group_attributes: only the worker can give their group attributes, with their consent",
                field="group_attributes",
            )
        worker_id = body.worker_id
    if body.group_attributes and not body.group_attributes_consent:
        raise ApiError(
            422,
            "group_attributes_consent: must be true to store group attributes (used only for fairness checks "
            "and audits in aggregate)",
            field="group_attributes_consent",
        )
    for i, slug in enumerate(body.categories):
        check_category(slug, field=f"categories[{i}]")
    if body.time_zone is not None and body.time_zone not in _time_zones():
        raise ApiError(422, f"time_zone: unknown IANA time zone {body.time_zone!r}", field="time_zone")
    if not body.is_remote and not body.location:
        raise ApiError(422, "location: a worker who is not remote needs an area", field="location")
    worker = session.get(Worker, worker_id)
    created = worker is None
    if worker is not None and worker.organisation_id != actor.organisation_id:
        raise ApiError(409, f"worker_id: the id {worker_id!r} is taken", field="worker_id")
    if worker is None:
        worker = Worker(worker_id=worker_id, organisation_id=actor.organisation_id)
        session.add(worker)
    values = body.model_dump(exclude={"worker_id", "group_attributes", "group_attributes_consent"})
    values["categories"] = list(dict.fromkeys(values["categories"]))
    values["skills"] = list(dict.fromkeys(values["skills"]))
    for field in ("rating", "n_jobs_completed", "reliability"):
        if values[field] is None:
            values.pop(field)  # kept as it is (the platform's record)
    for key, value in values.items():
        setattr(worker, key, value)
    if worker.n_jobs_completed is None:
        worker.n_jobs_completed = 0
    session.flush()
    if body.group_attributes:
        stamp = now()
        session.execute(
            sa.delete(GroupAttribute).where(
                GroupAttribute.worker_id == worker_id, GroupAttribute.attribute.in_(list(body.group_attributes))
            )
        )
        session.add_all(
            [
                GroupAttribute(
                    worker_id=worker_id,
                    attribute=attribute,
                    value=value,
                    consented_at=stamp,
                    consent_purpose="fairness checks and bias audits, in aggregate only",
                )
                for attribute, value in body.group_attributes.items()
            ]
        )
    record(
        session,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="worker.create" if created else "worker.update",
        object_type="worker",
        object_id=worker_id,
        detail={"group_attributes_given": sorted(body.group_attributes)} if body.group_attributes else None,
    )
    return worker, created


def worker_in_org(session: Session, actor, worker_id: str, *, field: str = "worker_id") -> Worker:  # type: ignore[no-untyped-def]
    worker = session.get(Worker, worker_id)
    if worker is None or worker.organisation_id != actor.organisation_id:
        raise not_found("worker", worker_id, field=field)
    return worker


def check_worker_in_org(session: Session, actor, worker_id: str, *, field: str = "worker_id") -> None:  # type: ignore[no-untyped-def]
    """:func:`worker_in_org` without loading the profile: 404 unless the worker is of the caller's organisation."""
    organisation = session.connection().execute(_WORKER_ORGANISATION, {"worker_id": worker_id}).scalar()
    if organisation is None or organisation != actor.organisation_id:
        raise not_found("worker", worker_id, field=field)


_WORKER_ORGANISATION = sa.select(Worker.organisation_id).where(Worker.worker_id == sa.bindparam("worker_id"))


def given_attributes(session: Session, worker_id: str) -> list[str]:
    query = sa.select(GroupAttribute.attribute).where(GroupAttribute.worker_id == worker_id)
    return sorted(session.execute(query).scalars().all())


# ----------------------------------------------------------------------------------------------
# bids


def create_bid(session: Session, *, actor, body) -> Bid:  # type: ignore[no-untyped-def]
    if actor.role == "worker":
        if body.worker_id not in (None, actor.worker_id):
            raise ApiError(403, "worker_id: a worker bids only for themselves", field="worker_id")
        worker_id = actor.worker_id
    else:
        if body.worker_id is None:
            raise ApiError(422, "worker_id: an operator must say which worker bids", field="worker_id")
        worker_id = body.worker_id
    connection = session.connection()
    worker = connection.execute(_BIDDER, {"worker_id": worker_id}).first()
    if worker is None or worker.organisation_id != actor.organisation_id:
        raise not_found("worker", worker_id, field="worker_id")
    task = connection.execute(_BID_TASK, {"task_id": body.task_id}).first()
    if task is None or task.organisation_id != actor.organisation_id:
        raise not_found("task", body.task_id, field="task_id")
    if task.status != "open":
        raise ApiError(409, f"task_id: task {body.task_id!r} is {task.status}, not open for bids", field="task_id")
    if not worker.categories or worker.hourly_rate_usd is None:
        raise ApiError(
            409, "worker_id: complete the worker profile (categories, rate) before bidding", field="worker_id"
        )
    note = body.note or None  # an empty note is no note
    values = {
        "task_id": body.task_id,
        "worker_id": worker_id,
        "price_usd": body.price_usd,
        "note": note,
        "bid_at": now(),
    }
    try:  # one bid per worker and task is the unique constraint's to keep, also between two requests at once
        bid_id = connection.execute(_INSERT_BID, values).scalar_one()
    except sa.exc.IntegrityError:
        session.rollback()
        duplicate = {"task_id": body.task_id, "worker_id": worker_id}
        if session.connection().execute(_BID_EXISTS, duplicate).first() is None:
            raise
        raise ApiError(
            409, f"task_id: worker {worker_id!r} has bid on task {body.task_id!r} already", field="task_id"
        ) from None
    record(
        session,
        at_once=True,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="bid.create",
        object_type="task",
        object_id=body.task_id,
        detail={"worker_id": worker_id},
    )
    return Bid(id=bid_id, **values)  # as stored (not attached to the session)


_INSERT_BID = sa.insert(Bid).returning(Bid.id)


_BIDDER = sa.select(Worker.organisation_id, Worker.categories, Worker.hourly_rate_usd).where(
    Worker.worker_id == sa.bindparam("worker_id")
)
_BID_TASK = sa.select(Task.organisation_id, Task.status).where(Task.task_id == sa.bindparam("task_id"))
_BID_EXISTS = sa.select(Bid.id).where(
    Bid.task_id == sa.bindparam("task_id"), Bid.worker_id == sa.bindparam("worker_id")
)


# ----------------------------------------------------------------------------------------------
# ratings


def create_rating(session: Session, *, actor, task_id: str, body) -> Rating:  # type: ignore[no-untyped-def]
    """The task's client rates the work of the worker the task was assigned to, once."""
    task = session.get(Task, task_id)
    if task is None or task.organisation_id != actor.organisation_id or task.client_id != actor.client_id:
        raise not_found("task", task_id, field="task_id")  # another client's task is as good as absent
    assigned = session.execute(sa.select(Assignment.worker_id).where(Assignment.task_id == task_id)).scalar()
    if assigned is None:
        raise ApiError(
            409, f"task_id: task {task_id!r} is not assigned to anyone yet; rate it once it is", field="task_id"
        )
    if session.execute(sa.select(Rating.id).where(Rating.task_id == task_id)).first() is not None:
        raise ApiError(409, f"task_id: task {task_id!r} is rated already; a rating is given once", field="task_id")
    rating = Rating(
        task_id=task_id,
        worker_id=assigned,
        client_id=task.client_id,
        stars=body.stars,
        comment=body.comment or None,
        created_at=now(),
    )
    session.add(rating)
    session.flush()
    _fold_rating_into_profile(session, assigned, stars=body.stars)
    record(
        session,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="rating.create",
        object_type="task",
        object_id=task_id,
        detail={"worker_id": assigned, "stars": body.stars},
    )
    return rating


#: Weight of a profile's starting rating (imported from elsewhere, or set by an operator) against clients' ratings
#: here: it counts as this many ratings, so one early rating cannot swing a worker's allocation score.
PROFILE_RATING_WEIGHT = 5


def _fold_rating_into_profile(session: Session, worker_id: str, *, stars: int) -> None:
    """The profile's rating, which allocation scores use, becomes the running mean with the new rating.

    ``rating = (w * start + sum(stars)) / (w + n)`` with ``w = PROFILE_RATING_WEIGHT``, updated in one
    statement (the count includes the rating just inserted), so concurrent ratings of one worker are
    serialised by the row lock on the profile. A profile with no rating yet takes the client's stars, which
    then count as its start.
    """
    count = sa.select(sa.func.count(Rating.id)).where(Rating.worker_id == worker_id).scalar_subquery()
    weight = PROFILE_RATING_WEIGHT
    updated = sa.case(
        (Worker.rating.is_(None), float(stars)),
        else_=Worker.rating + (float(stars) - Worker.rating) / (weight + count),
    )
    session.execute(sa.update(Worker).where(Worker.worker_id == worker_id).values(rating=updated))


def ratings_of(session: Session, worker_id: str, *, limit: int = 100) -> list[Rating]:
    query = sa.select(Rating).where(Rating.worker_id == worker_id).order_by(Rating.created_at.desc(), Rating.id.desc())
    return list(session.execute(query.limit(limit)).scalars())
