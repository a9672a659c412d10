"""A worker's suggested price range from this platform's own winning bids (``gigshift.advise.price``).

The platform's records become a :class:`gigshift.market.Market` (each table checked by
``gigshift.market.validate``) and its stored assignments are the winners, so the range is what
``gigshift advise price --assignments`` would say on an export of the same data.
"""

from __future__ import annotations

import json

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift.server._models import Assignment, Bid, Client, Task, Worker


def _frame(session: Session, query: sa.Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(session.execute(query).all(), schema=schema, orient="row")


def platform_market(session: Session, *, organisation_id: int):  # type: ignore[no-untyped-def]
    """The organisation's workers with a profile, clients, tasks and bids, as a validated Market."""
    from gigshift.market import Market, validate

    workers = _frame(
        session,
        sa.select(
            Worker.worker_id,
            Worker.categories,
            Worker.skills,
            Worker.hourly_rate_usd,
            Worker.rating,
            Worker.n_jobs_completed,
            Worker.reliability,
            Worker.capacity,
            Worker.is_remote,
            Worker.location,
            Worker.time_zone,
            Worker.last_assigned_at,
        ).where(Worker.organisation_id == organisation_id, Worker.hourly_rate_usd.is_not(None)),
        {
            "worker_id": pl.String,
            "categories": pl.List(pl.String),
            "skills": pl.List(pl.String),
            "hourly_rate_usd": pl.Float64,
            "rating": pl.Float64,
            "n_jobs_completed": pl.Int64,
            "reliability": pl.Float64,
            "capacity": pl.Int64,
            "is_remote": pl.Boolean,
            "location": pl.String,
            "time_zone": pl.String,
            "last_assigned_at": pl.Datetime("us", "UTC"),
        },
    ).filter(pl.col("categories").list.len() > 0)  # a login's empty profile is no market participant
    clients = _frame(
        session,
        sa.select(Client.client_id, Client.country).where(Client.organisation_id == organisation_id),
        {"client_id": pl.String, "country": pl.String},
    )
    tasks = _frame(
        session,
        sa.select(
            Task.task_id,
            Task.client_id,
            Task.category,
            Task.required_skills,
            Task.budget_usd,
            Task.expected_hours,
            Task.posted_at,
            Task.is_remote,
            Task.location,
            Task.text,
        ).where(Task.organisation_id == organisation_id),
        {
            "task_id": pl.String,
            "client_id": pl.String,
            "category": pl.String,
            "required_skills": pl.List(pl.String),
            "budget_usd": pl.Float64,
            "expected_hours": pl.Float64,
            "posted_at": pl.Datetime("us", "UTC"),
            "is_remote": pl.Boolean,
            "location": pl.String,
            "text": pl.String,
        },
    )
    bids = _frame(
        session,
        sa.select(Bid.task_id, Bid.worker_id, Bid.price_usd, Bid.bid_at)
        .join(Task, Task.task_id == Bid.task_id)
        .where(Task.organisation_id == organisation_id),
        {"task_id": pl.String, "worker_id": pl.String, "price_usd": pl.Float64, "bid_at": pl.Datetime("us", "UTC")},
    )
    provenance = Provenance(sources=(), method="the gigshift server's records", gigshift_version=gigshift.__version__)
    return Market(
        workers=validate(workers, kind="workers"),
        clients=validate(clients, kind="clients"),
        tasks=validate(tasks, kind="tasks"),
        bids=validate(bids, kind="bids"),
        provenance=provenance,
    )


def price_range(session: Session, *, organisation_id: int, worker: Worker, category: str) -> dict[str, object]:
    """``gigshift.advise.price`` for this worker's profile in ``category``, winners from the stored assignments."""
    from gigshift.advise import price

    market = platform_market(session, organisation_id=organisation_id)
    assignments = _frame(
        session,
        sa.select(Assignment.task_id, Assignment.worker_id, Assignment.price_usd)
        .join(Task, Task.task_id == Assignment.task_id)
        .where(Task.organisation_id == organisation_id),
        {"task_id": pl.String, "worker_id": pl.String, "price_usd": pl.Float64},
    )
    # Winners whose profile is gone from the market (no rate any more) cannot be priced against it.
    assignments = assignments.join(market.workers.select("worker_id"), on="worker_id", how="semi")
    try:
        result = price(
            market,
            category=category,
            rating=worker.rating,
            jobs=worker.n_jobs_completed or 0,
            skills=list(worker.skills or []) or None,
            assignments=assignments,
        )
    except GigshiftError as exc:
        return {"is_enough": False, "notes": [str(exc)]}
    return json.loads(result.to_json())
