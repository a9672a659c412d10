"""The service's tables (SQLAlchemy 2 declarative models). The Alembic migrations create them; nothing else does.

Ids that users see (workers, clients, tasks, runs) are strings; bookkeeping rows have integer keys.
Protected group attributes live in their own table (:class:`GroupAttribute`), each with the worker's
consent, so that no query for a profile or a decision reads them by accident.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from gigshift.market import GROUP_ATTRIBUTES

ROLES = ("worker", "client", "operator", "auditor")
TASK_STATUSES = ("open", "assigned", "cancelled")
RUN_STATUSES = ("queued", "running", "completed", "failed")
PAYMENT_STATUSES = ("pending", "paid", "failed")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Client(Base):
    __tablename__ = "clients"
    client_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    country: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Worker(Base):
    """A worker profile. A profile without categories or rate (made by ``users add``) is never a candidate."""

    __tablename__ = "workers"
    __table_args__ = (
        sa.CheckConstraint("hourly_rate_usd > 0", name="rate_positive"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        sa.CheckConstraint("reliability BETWEEN 0 AND 1", name="reliability_range"),
        sa.CheckConstraint("capacity >= 0", name="capacity_non_negative"),
        sa.CheckConstraint("n_jobs_completed >= 0", name="jobs_non_negative"),
    )
    worker_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    hourly_rate_usd: Mapped[float | None] = mapped_column(sa.Float)
    rating: Mapped[float | None] = mapped_column(sa.Float)
    n_jobs_completed: Mapped[int] = mapped_column(sa.Integer, default=0)
    reliability: Mapped[float | None] = mapped_column(sa.Float)
    capacity: Mapped[int] = mapped_column(sa.Integer, default=1)
    is_remote: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    location: Mapped[str | None] = mapped_column(sa.String(100))
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    hours_per_week: Mapped[float | None] = mapped_column(sa.Float)
    is_available: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    n_batches_waiting: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GroupAttribute(Base):
    """A protected or reported group attribute a worker chose to give, with the consent recorded."""

    __tablename__ = "worker_group_attributes"
    __table_args__ = (
        sa.UniqueConstraint("worker_id", "attribute", name="uq_worker_group_attributes_worker_attribute"),
        sa.CheckConstraint(_in("attribute", GROUP_ATTRIBUTES), name="known_attribute"),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    worker_id: Mapped[str] = mapped_column(sa.ForeignKey("workers.worker_id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[str] = mapped_column(sa.String(100))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_purpose: Mapped[str] = mapped_column(sa.String(500))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="known_role"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    worker_id: Mapped[str | None] = mapped_column(sa.ForeignKey("workers.worker_id"), unique=True)
    client_id: Mapped[str | None] = mapped_column(sa.ForeignKey("clients.client_id"), unique=True)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    token_version: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PolicyVersion(Base):
    """An allocation policy (YAML) with its version; the active one drives new runs."""

    __tablename__ = "policies"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "version", name="uq_policies_organisation_version"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    version: Mapped[str] = mapped_column(sa.String(100))
    yaml: Mapped[str] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.CheckConstraint("budget_usd > 0", name="budget_positive"),
        sa.CheckConstraint("expected_hours > 0", name="hours_positive"),
        sa.CheckConstraint(_in("status", TASK_STATUSES), name="known_status"),
        sa.Index("ix_tasks_organisation_status", "organisation_id", "status"),
        sa.Index("ix_tasks_organisation_posted", "organisation_id", "posted_at", "task_id"),  # lists, newest first
        sa.Index("ix_tasks_organisation_category_status", "organisation_id", "category", "status"),  # a worker's
        sa.Index("ix_tasks_client_posted", "client_id", "posted_at", "task_id"),  # a client's, newest first
    )
    task_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.client_id"))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    text: Mapped[str | None] = mapped_column(sa.Text)
    category: Mapped[str] = mapped_column(sa.String(64))
    category_source: Mapped[str] = mapped_column(sa.String(16), default="given")
    required_skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    budget_usd: Mapped[float] = mapped_column(sa.Float)
    expected_hours: Mapped[float | None] = mapped_column(sa.Float)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_remote: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    location: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    exposure_gpt4_beta: Mapped[float | None] = mapped_column(sa.Float)
    exposure_human_beta: Mapped[float | None] = mapped_column(sa.Float)
    lookup: Mapped[dict | None] = mapped_column(sa.JSON)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Bid(Base):
    __tablename__ = "bids"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "worker_id", name="uq_bids_task_worker"),
        sa.CheckConstraint("price_usd > 0", name="price_positive"),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.task_id"))
    worker_id: Mapped[str] = mapped_column(sa.ForeignKey("workers.worker_id"), index=True)
    price_usd: Mapped[float] = mapped_column(sa.Float)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    bid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AllocationRun(Base):
    __tablename__ = "allocation_runs"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "idempotency_key", name="uq_allocation_runs_organisation_key"),
        sa.CheckConstraint(_in("status", RUN_STATUSES), name="known_status"),
        sa.CheckConstraint("progress BETWEEN 0 AND 1", name="progress_range"),
    )
    run_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(200))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    policy_version: Mapped[str] = mapped_column(sa.String(100))
    policy_yaml: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    stage: Mapped[str | None] = mapped_column(sa.String(32))
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    is_background: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    seed: Mapped[int | None] = mapped_column(sa.BigInteger)
    use_bids: Mapped[bool | None] = mapped_column(sa.Boolean)
    n_tasks: Mapped[int | None] = mapped_column(sa.Integer)
    n_assigned: Mapped[int | None] = mapped_column(sa.Integer)
    n_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    summary: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Assignment(Base):
    """One task given to one worker. ``task_id`` is UNIQUE: no task is ever assigned twice, whatever runs race."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("allocation_runs.run_id"), index=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.task_id"), unique=True)
    worker_id: Mapped[str] = mapped_column(sa.ForeignKey("workers.worker_id"), index=True)
    score: Mapped[float] = mapped_column(sa.Float)
    price_usd: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


DECISION_FLOATS = (
    "score",
    "skill_match",
    "price_fit",
    "rating",
    "reliability",
    "experience",
    "waiting",
    "opportunity_boost",
    "winner_score",
    "margin",
    "price_usd",
    "budget_usd",
    "expected_hours",
    "worker_rating",
    "worker_reliability",
    "worker_hourly_rate_usd",
    "winner_skill_match",
    "winner_price_fit",
    "winner_rating",
    "winner_reliability",
    "winner_experience",
    "winner_waiting",
)


class Decision(Base):
    """One decision-log row: a candidate edge of a run with its components, outcome and margin.

    The worker's group attributes, which the engine's log carries when it had them, are not stored
    here: audits join them from :class:`GroupAttribute` for auditors only.
    """

    __tablename__ = "decisions"
    __table_args__ = (
        sa.Index("ix_decisions_task_run", "task_id", "run_id"),
        sa.Index("ix_decisions_worker_run", "worker_id", "run_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("allocation_runs.run_id"), index=True)
    policy_version: Mapped[str] = mapped_column(sa.String(100))
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.task_id"))
    worker_id: Mapped[str] = mapped_column(sa.ForeignKey("workers.worker_id"))
    category: Mapped[str] = mapped_column(sa.String(64))
    rank: Mapped[int] = mapped_column(sa.Integer)
    is_selected: Mapped[bool] = mapped_column(sa.Boolean)
    outcome: Mapped[str] = mapped_column(sa.String(32))
    winner_worker_id: Mapped[str | None] = mapped_column(sa.String(64))
    is_bid: Mapped[bool] = mapped_column(sa.Boolean)
    n_required_skills: Mapped[int] = mapped_column(sa.Integer)
    missing_skills: Mapped[list[str] | None] = mapped_column(sa.JSON)
    worker_n_jobs_completed: Mapped[int] = mapped_column(sa.Integer)
    worker_capacity: Mapped[int] = mapped_column(sa.Integer)
    score: Mapped[float] = mapped_column(sa.Float)
    skill_match: Mapped[float] = mapped_column(sa.Float)
    price_fit: Mapped[float] = mapped_column(sa.Float)
    rating: Mapped[float] = mapped_column(sa.Float)
    reliability: Mapped[float] = mapped_column(sa.Float)
    experience: Mapped[float] = mapped_column(sa.Float)
    waiting: Mapped[float] = mapped_column(sa.Float)
    opportunity_boost: Mapped[float] = mapped_column(sa.Float)
    winner_score: Mapped[float | None] = mapped_column(sa.Float)
    margin: Mapped[float | None] = mapped_column(sa.Float)
    price_usd: Mapped[float | None] = mapped_column(sa.Float)
    budget_usd: Mapped[float | None] = mapped_column(sa.Float)
    expected_hours: Mapped[float | None] = mapped_column(sa.Float)
    worker_rating: Mapped[float | None] = mapped_column(sa.Float)
    worker_reliability: Mapped[float | None] = mapped_column(sa.Float)
    worker_hourly_rate_usd: Mapped[float | None] = mapped_column(sa.Float)
    winner_skill_match: Mapped[float | None] = mapped_column(sa.Float)
    winner_price_fit: Mapped[float | None] = mapped_column(sa.Float)
    winner_rating: Mapped[float | None] = mapped_column(sa.Float)
    winner_reliability: Mapped[float | None] = mapped_column(sa.Float)
    winner_experience: Mapped[float | None] = mapped_column(sa.Float)
    winner_waiting: Mapped[float | None] = mapped_column(sa.Float)


class StoredExplanation(Base):
    """The engine's one-line reason for each task and each candidate worker of a run."""

    __tablename__ = "explanations"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "subject", "subject_id", name="uq_explanations_run_subject"),
        sa.CheckConstraint("subject IN ('task', 'worker')", name="known_subject"),
        sa.Index("ix_explanations_subject", "subject", "subject_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("allocation_runs.run_id"))
    subject: Mapped[str] = mapped_column(sa.String(8))
    subject_id: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    counterfactual: Mapped[str | None] = mapped_column(sa.Text)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (sa.CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.task_id"), unique=True)
    worker_id: Mapped[str] = mapped_column(sa.ForeignKey("workers.worker_id"), index=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("clients.client_id"))
    stars: Mapped[int] = mapped_column(sa.Integer)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint("amount_usd >= 0", name="amount_non_negative"),
        sa.CheckConstraint(_in("status", PAYMENT_STATUSES), name="known_status"),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.task_id"), index=True)
    worker_id: Mapped[str] = mapped_column(sa.ForeignKey("workers.worker_id"), index=True)
    amount_usd: Mapped[float] = mapped_column(sa.Float)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    work_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    work_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PayPoolConsent(Base):
    """A worker's consent to pool their pay records with others' (for everyone's statements and pay audits).

    Revoking sets ``revoked_at``; from then on their records no longer enter anyone else's figures.
    """

    __tablename__ = "pay_pool_consents"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    worker_id: Mapped[str] = mapped_column(sa.ForeignKey("workers.worker_id", ondelete="CASCADE"), index=True)
    terms: Mapped[str] = mapped_column(sa.String(500))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditReport(Base):
    __tablename__ = "audit_reports"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    params: Mapped[dict] = mapped_column(sa.JSON)
    report_json: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Activity(Base):
    """The activity trail: who did what, when."""

    __tablename__ = "activity"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict | None] = mapped_column(sa.JSON)


class LoginAttempt(Base):
    """Failed logins, kept in the database so that every server process sees the same count."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(400))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Setting(Base):
    """Instance settings, such as a development secret key generated for ``--demo``."""

    __tablename__ = "instance_settings"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
