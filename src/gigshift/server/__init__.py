"""The gigshift service: a REST API for platforms and co-ops over the engines (a face, like the CLI).

It stores and serves: workers, clients, tasks, bids, allocation runs, the decision log,
explanations, audits and an activity trail, in SQLite (one file, WAL mode) or PostgreSQL, through
SQLAlchemy 2 with Alembic migrations. Everything it computes comes from the engines:
``gigshift.taxonomy`` categorises posted tasks and gives their AI exposure, ``gigshift.allocate``
assigns and explains, ``gigshift.audit`` audits, ``gigshift.advise`` advises.

- :func:`create_app`: the FastAPI application on a migrated database;
- :func:`upgrade`: run the shipped migrations (``gigshift db upgrade``);
- :func:`add_user`: add a login (``gigshift users add``);
- :func:`load_demo`: a synthetic market with one login per role (``gigshift serve --demo``);
- :data:`ROUTE_ROLES`: which role may call which route, with what scope.
"""

from gigshift.server._app import create_app
from gigshift.server._roles import ROUTE_ROLES
from gigshift.server._service import add_user, load_demo, upgrade

__all__ = ["ROUTE_ROLES", "add_user", "create_app", "load_demo", "upgrade"]
