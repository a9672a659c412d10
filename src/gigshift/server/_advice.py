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
from gigshift.server._allocations import frame, market_bids, market_tasks, market_workers
from gigshift.server._models import Assignment, Client, Task, Worker


def platform_market(session: Session, *, organisation_id: int):  # type: ignore[no-untyped-def]
    """The organisation's workers with a profile, clients, tasks and bids, as a validated Market."""
    from gigshift.market import Market, validate

    clients = frame(
        session,
        sa.select(Client.client_id, Client.country).where(Client.organisation_id == organisation_id),
        {"client_id": pl.String, "country": pl.String},
    )
    provenance = Provenance(sources=(), method="the gigshift server's records", gigshift_version=gigshift.__version__)
    return Market(
        workers=validate(market_workers(session, Worker.organisation_id == organisation_id), kind="workers"),
        clients=validate(clients, kind="clients"),
        tasks=validate(market_tasks(session, Task.organisation_id == organisation_id), kind="tasks"),
        bids=validate(market_bids(session, Task.organisation_id == organisation_id), kind="bids"),
        provenance=provenance,
    )


def price_range(session: Session, *, organisation_id: int, worker: Worker, category: str) -> dict[str, object]:
    """``gigshift.advise.price`` for this worker's profile in ``category``, winners from the stored assignments."""
    from gigshift.advise import price

    market = platform_market(session, organisation_id=organisation_id)
    assignments = frame(
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
