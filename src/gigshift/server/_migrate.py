"""Run the shipped Alembic migrations, and check that a database is at the latest revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from gigshift._errors import GigshiftError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of gigshift."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate the database to the newest revision in one transaction; return (before, after)."""
    before = current_revision(engine)
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, head_revision()


def check_current(engine: Engine) -> None:
    """Raise a GigshiftError unless the database is at the newest revision (the app never creates tables)."""
    current, head = current_revision(engine), head_revision()
    url = engine.url.render_as_string(hide_password=True)
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise GigshiftError(
            f"database {url!r} is {state}, this gigshift needs revision {head}: run `gigshift db upgrade --db URL`"
        )
