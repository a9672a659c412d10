"""A demo instance: a synthetic market (``gigshift.market.synthetic``), one allocation run and one login per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gigshift.server._db import transaction
from gigshift.server._models import (
    Assignment,
    Bid,
    Client,
    Decision,
    GroupAttribute,
    Payment,
    PayPoolConsent,
    Task,
    User,
    Worker,
)
from gigshift.server._pay import POOL_TERMS
from gigshift.server._store import add_user, now, organisation, record

DEMO_DOMAIN = "demo.gigshift.invalid"
DEMO_CONSENT = "synthetic demo data (gigshift.market.synthetic), for fairness checks and audits in aggregate"


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str
    role: str
    worker_id: str | None = None
    client_id: str | None = None


def _rows(frame: pl.DataFrame) -> list[dict]:
    return frame.to_dicts()


def fill_demo(engine: Engine, *, n_workers: int = 300, n_tasks: int = 450, seed: int = 2026) -> list[Login]:
    """Fill an empty organisation with a synthetic market, allocate its earlier two thirds, and (re)set the
    four demo logins with fresh passwords. An instance that has the market already keeps it."""
    from gigshift.market import GROUP_ATTRIBUTES, synthetic
    from gigshift.taxonomy import categories

    with transaction(engine, write=True) as session:
        org = organisation(session)
        has_market = session.execute(sa.select(Worker.worker_id).where(Worker.organisation_id == org.id)).first()
        org_id = org.id
    if has_market is None:
        market = synthetic(n_workers=n_workers, n_tasks=n_tasks, seed=seed)
        exposure = categories().select(
            category="slug", exposure_gpt4_beta="gpt4_beta", exposure_human_beta="human_beta"
        )
        tasks = (
            market.tasks.join(exposure, on="category", how="left")
            .with_columns(
                organisation_id=pl.lit(org_id),
                status=pl.lit("open"),
                category_source=pl.lit("given"),
                title=pl.col("text").str.slice(0, 80),
            )
            .sort("posted_at")
        )
        history = tasks.head(tasks.height * 2 // 3)
        fresh = tasks.tail(tasks.height - history.height)
        with transaction(engine, write=True) as session:
            session.execute(sa.insert(Client), _rows(market.clients.with_columns(organisation_id=pl.lit(org_id))))
            worker_cols = [c for c in market.workers.columns if c not in GROUP_ATTRIBUTES]
            workers = market.workers.select(worker_cols).with_columns(
                organisation_id=pl.lit(org_id), is_available=pl.lit(True), n_batches_waiting=pl.lit(0)
            )
            session.execute(sa.insert(Worker), _rows(workers))
            given = (
                market.workers.unpivot(
                    index="worker_id",
                    on=[c for c in GROUP_ATTRIBUTES if c in market.workers.columns],
                    variable_name="attribute",
                )
                .drop_nulls("value")
                .with_columns(consented_at=pl.lit(now()), consent_purpose=pl.lit(DEMO_CONSENT))
            )
            session.execute(sa.insert(GroupAttribute), _rows(given))
            _insert_tasks(session, history, market.bids)
        _allocate_history(engine, org_id)
        with transaction(engine, write=True) as session:
            _pay_history(session, history)
            _insert_tasks(session, fresh, market.bids)
            record(session, organisation_id=org_id, user_id=None, action="demo.load", detail={"seed": seed})
        _analyze(engine)
    return _logins(engine, org_id)


def _analyze(engine: Engine) -> None:
    """Gather the planner's statistics on the tables just filled.

    Autovacuum would, but only a minute or so later. Until then PostgreSQL plans every statement for tables
    of a few rows: its prepared plan for a page of tasks sorted all of them (3,200 buffers read instead of
    400) and a worker's page took 6 ms instead of 0.2 ms (``benchmarks/load.py``, ``auto_explain``).
    """
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _insert_tasks(session, tasks: pl.DataFrame, bids: pl.DataFrame) -> None:  # type: ignore[no-untyped-def]
    columns = [c.name for c in Task.__table__.columns if c.name in tasks.columns]
    session.execute(sa.insert(Task), _rows(tasks.select(columns)))
    mine = bids.join(tasks.select("task_id"), on="task_id", how="semi")
    if mine.height:
        session.execute(sa.insert(Bid), _rows(mine.select("task_id", "worker_id", "price_usd", "bid_at")))


def _pay_history(session, history: pl.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """The history's assigned tasks were done and paid: each worker's back to back (an hour apart) from half a
    day after their first task was posted, each for its expected hours.

    Four workers in five pool their pay records (every fifth worker id, by its digits, does not).
    """
    rows = session.execute(sa.select(Assignment.task_id, Assignment.worker_id, Assignment.price_usd)).all()
    done = pl.DataFrame(rows, schema=["task_id", "worker_id", "amount_usd"], orient="row")
    hours = pl.duration(microseconds=(pl.col("expected_hours").fill_null(2.0) * 3_600_000_000).cast(pl.Int64))
    gap = pl.duration(hours=1)
    jobs = (
        done.join(history.select("task_id", "posted_at", "expected_hours"), on="task_id")
        .sort("worker_id", "posted_at", "task_id")
        .with_columns(length=hours)
    )
    before = (pl.col("length") + gap).cum_sum().over("worker_id") - (pl.col("length") + gap)
    start = pl.col("posted_at").min().over("worker_id") + pl.duration(hours=12) + before
    payments = jobs.select(
        "task_id",
        "worker_id",
        "amount_usd",
        status=pl.lit("paid"),
        work_started_at=start,
        work_ended_at=start + pl.col("length"),
        paid_at=start + pl.col("length") + pl.duration(days=1),
    )
    if payments.height:
        session.execute(sa.insert(Payment), _rows(payments))
    pooled = (
        payments.select("worker_id")
        .unique()
        .filter(pl.col("worker_id").str.extract(r"(\d+)$").cast(pl.Int64, strict=False).fill_null(0) % 5 != 0)
        .with_columns(terms=pl.lit(POOL_TERMS), given_at=pl.lit(now()))
    )
    if pooled.height:
        session.execute(sa.insert(PayPoolConsent), _rows(pooled))


def _allocate_history(engine: Engine, org_id: int) -> None:
    from gigshift.server._allocations import execute_run, request_run
    from gigshift.server._roles import Actor
    from gigshift.server._schemas import AllocationIn

    system = Actor(
        user_id=None,  # type: ignore[arg-type]
        email="",
        role="operator",
        organisation_id=org_id,
        worker_id=None,
        client_id=None,
        scope="all",
    )
    wanted = request_run(
        engine, actor=system, body=AllocationIn(seed=1), idempotency_key="demo-history", background_threshold=10**9
    )
    execute_run(engine, wanted.run_id)


def _logins(engine: Engine, org_id: int) -> list[Login]:
    from gigshift.server._security import hash_password

    logins = []
    with transaction(engine, write=True) as session:
        # the demo worker got work in the demo's allocation run: explanations, and a pay statement
        assigned = session.execute(
            sa.select(sa.func.min(Assignment.worker_id))
            .join(Worker, Worker.worker_id == Assignment.worker_id)
            .where(Worker.organisation_id == org_id)
        ).scalar_one_or_none()
        client = session.execute(
            sa.select(Task.client_id)
            .where(Task.organisation_id == org_id, Task.task_id.in_(sa.select(Decision.task_id)))
            .order_by(Task.task_id)
            .limit(1)
        ).scalar_one_or_none()
        for role in ("worker", "client", "operator", "auditor"):
            email = f"{role}@{DEMO_DOMAIN}"
            password = secrets.token_urlsafe(12)
            user = session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
            if user is None:
                user = add_user(
                    session,
                    email=email,
                    role=role,
                    password=password,
                    worker_id=assigned if role == "worker" else None,
                    client_id=client if role == "client" else None,
                )
            else:  # a restarted demo: fresh passwords, and earlier tokens end
                user.password_hash = hash_password(password)
                user.token_version += 1
            logins.append(Login(email, password, role, user.worker_id, user.client_id))
    return logins
