"""Alembic migrations of the gigshift server database (run by ``gigshift db upgrade``)."""
