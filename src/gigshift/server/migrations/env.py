"""Alembic environment: migrate the connection ``gigshift db upgrade`` passes in (or the configured URL)."""

from __future__ import annotations

from alembic import context

from gigshift.server._db import make_engine
from gigshift.server._models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover - `alembic upgrade --sql` is not offered
    raise SystemExit("gigshift migrations run online only: use `gigshift db upgrade`")
run_migrations_online()
