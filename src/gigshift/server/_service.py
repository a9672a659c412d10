"""The server's operations outside HTTP, each on a database URL: migrate, add a login, load the demo."""

from __future__ import annotations

from gigshift.server import _migrate
from gigshift.server._db import make_engine, transaction
from gigshift.server._demo import Login, fill_demo
from gigshift.server._store import add_user as _add_user


def upgrade(database_url: str | None = None) -> tuple[str | None, str]:
    """Migrate the database to the newest schema; return (revision before, revision after).

    ``database_url`` defaults to ``$GIGSHIFT_DATABASE_URL``, else ``sqlite:///gigshift.db``.
    """
    engine = make_engine(database_url)
    try:
        return _migrate.upgrade(engine)
    finally:
        engine.dispose()


def add_user(
    *, email: str, role: str, password: str, worker_id: str | None = None, database_url: str | None = None
) -> int:
    """Add a login and return its user id. A worker login links to the profile ``worker_id``, which is
    created empty if there is none; the database must be migrated."""
    engine = make_engine(database_url)
    try:
        _migrate.check_current(engine)
        with transaction(engine, write=True) as session:
            user = _add_user(session, email=email, role=role, password=password, worker_id=worker_id)
            return user.id
    finally:
        engine.dispose()


def load_demo(
    database_url: str | None = None, *, n_workers: int = 300, n_tasks: int = 450, seed: int = 2026
) -> list[Login]:
    """Migrate, fill an empty instance with a synthetic market and one allocation run, and (re)set one
    login per role with a fresh password; return the logins."""
    engine = make_engine(database_url)
    try:
        _migrate.upgrade(engine)
        return fill_demo(engine, n_workers=n_workers, n_tasks=n_tasks, seed=seed)
    finally:
        engine.dispose()
