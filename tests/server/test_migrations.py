"""The schema comes from the shipped Alembic migrations only, and they match the models on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gigshift._errors import GigshiftError
from gigshift.server import create_app, upgrade
from gigshift.server._db import make_engine, resolve_url
from gigshift.server._migrate import current_revision, head_revision
from gigshift.server._models import Base


def test_upgrade_creates_the_schema_the_models_describe(backend, tmp_path):
    url = backend.empty_url(tmp_path)
    assert upgrade(url) == (None, head_revision())
    assert upgrade(url) == (head_revision(), head_revision())  # idempotent
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert {"users", "workers", "worker_group_attributes", "tasks", "bids", "allocation_runs", "assignments"} <= tables
    assert {"decisions", "explanations", "ratings", "payments", "audit_reports", "activity", "login_attempts"} <= tables


def test_app_refuses_a_database_that_is_not_migrated(backend, tmp_path):
    url = backend.empty_url(tmp_path)
    with pytest.raises(GigshiftError, match=r"is empty, this gigshift needs revision .*gigshift db upgrade"):
        create_app(url, secret_key="k" * 40)
    engine = make_engine(url)
    assert current_revision(engine) is None
    with engine.connect() as conn:  # and it created nothing
        assert sa.inspect(conn).get_table_names() == []
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_task_can_never_be_assigned_twice_by_the_database(api):
    """The UNIQUE constraint on assignments.task_id holds on its own, whatever the application does."""
    seed = api.seed
    with api.app.state.engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        task = conn.execute(sa.text("SELECT task_id FROM assignments LIMIT 1")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO assignments (run_id, task_id, worker_id, score, created_at) "
                "VALUES (:r, :t, :w, 0.5, CURRENT_TIMESTAMP)"
            ),
            {"r": seed.run_id, "t": task, "w": seed.other_worker_id},
        )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x@y/z", "unsupported database 'mysql'"),
        ("sqlite://", "SQLite needs a file"),
        ("sqlite:///:memory:", "SQLite needs a file"),
    ],
    ids=["mysql", "sqlite-no-file", "memory"],
)
def test_bad_database_urls(url, message):
    with pytest.raises(GigshiftError, match=message):
        resolve_url(url)


def test_database_url_forms(monkeypatch, tmp_path):
    monkeypatch.delenv("GIGSHIFT_DATABASE_URL", raising=False)
    assert resolve_url(None) == "sqlite:///gigshift.db"
    monkeypatch.setenv("GIGSHIFT_DATABASE_URL", "postgres://u:p@h/db")
    assert resolve_url(None) == "postgresql+psycopg://u:p@h/db"
    assert resolve_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"


def test_migrations_upgrade_step_by_step_with_data(backend, tmp_path):
    from alembic import command

    from gigshift.server._migrate import _config

    url = backend.empty_url(tmp_path)
    engine = make_engine(url)
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organisations (slug, name, created_at) VALUES ('o', 'o', CURRENT_TIMESTAMP)"))
    assert current_revision(engine) == "0001"
    engine.dispose()
    assert upgrade(url) == ("0001", head_revision())
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT slug FROM organisations")).scalar_one() == "o"
        assert "pay_pool_consents" in sa.inspect(conn).get_table_names()
    engine.dispose()
