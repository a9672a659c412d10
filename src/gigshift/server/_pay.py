"""Pay statements (``gigshift.pay.statement``) from the platform's paid jobs, and the pay pool's consent.

A worker's statement puts their own paid jobs beside the pool's figures; the pool is the paid jobs
of the workers whose consent to pool is in force, and the engine withholds any pool figure that
fewer than ``k`` workers stand behind. Revoking takes a worker's records out of everyone else's
figures from the next statement on.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gigshift._errors import GigshiftError
from gigshift.server._models import Organisation, Payment, PayPoolConsent, Task, Worker
from gigshift.server._store import ApiError, now, record

POOL_TERMS = "my paid jobs on this platform may be pooled with other workers' for pay statements and pay audits"
JOB_SCHEMA = {
    "worker_id": pl.String,
    "category": pl.String,
    "area": pl.String,
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "worker_pay": pl.Float64,
}


def consent_in_force(session: Session, worker_id: str) -> PayPoolConsent | None:
    return session.execute(
        sa.select(PayPoolConsent).where(PayPoolConsent.worker_id == worker_id, PayPoolConsent.revoked_at.is_(None))
    ).scalar_one_or_none()


def give_consent(session: Session, *, actor, worker_id: str) -> tuple[PayPoolConsent, bool]:  # type: ignore[no-untyped-def]
    existing = consent_in_force(session, worker_id)
    if existing is not None:
        return existing, False
    consent = PayPoolConsent(worker_id=worker_id, terms=POOL_TERMS, given_at=now())
    session.add(consent)
    session.flush()
    record(
        session,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="pay_pool.consent",
        object_type="worker",
        object_id=worker_id,
    )
    return consent, True


def revoke_consent(session: Session, *, actor, worker_id: str) -> PayPoolConsent:  # type: ignore[no-untyped-def]
    consent = consent_in_force(session, worker_id)
    if consent is None:
        raise ApiError(404, "worker_id: no consent to the pay pool in force to revoke", field="worker_id")
    consent.revoked_at = now()
    record(
        session,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action="pay_pool.revoke",
        object_type="worker",
        object_id=worker_id,
    )
    return consent


def jobs_table(session: Session, *, organisation_id: int, worker_id: str) -> pl.DataFrame:
    """Paid jobs of this worker and of the workers pooling theirs, in ``gigshift.pay``'s jobs schema."""
    pooled = sa.select(PayPoolConsent.worker_id).where(PayPoolConsent.revoked_at.is_(None))
    query = (
        sa.select(
            Payment.worker_id,
            Task.category,
            Task.location,
            Payment.work_started_at,
            Payment.work_ended_at,
            Payment.amount_usd,
        )
        .join(Task, Task.task_id == Payment.task_id)
        .join(Worker, Worker.worker_id == Payment.worker_id)
        .where(
            Worker.organisation_id == organisation_id,
            Payment.status == "paid",
            Payment.work_started_at.is_not(None),
            Payment.work_ended_at > Payment.work_started_at,
            sa.or_(Payment.worker_id == worker_id, Payment.worker_id.in_(pooled)),
        )
    )
    rows = session.execute(query).all()
    return pl.DataFrame(rows, schema=JOB_SCHEMA, orient="row")


def worker_statement(session: Session, *, actor, worker_id: str, k: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from gigshift.pay import statement

    org = session.get(Organisation, actor.organisation_id)
    jobs = jobs_table(session, organisation_id=actor.organisation_id, worker_id=worker_id)
    if jobs.filter(pl.col("worker_id") == worker_id).height == 0:
        raise ApiError(404, f"worker_id: no paid work recorded for {worker_id!r} yet", field="worker_id")
    jobs = jobs.with_columns(platform=pl.lit(org.slug if org else "platform"), currency=pl.lit("USD"))
    try:
        result = statement(jobs, worker_id=worker_id, k=k, detect=False)
    except GigshiftError as exc:
        raise ApiError(422, f"worker_id: {exc}", field="worker_id") from None
    consent = consent_in_force(session, worker_id)
    n_pooled = jobs.get_column("worker_id").n_unique() - (0 if consent else 1)
    return {
        **result.to_dict(),
        "sentences": result.sentences(),
        "in_pool": consent is not None,
        "n_workers_pooled": n_pooled,
    }
