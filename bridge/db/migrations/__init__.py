"""Alembic migrations: the only place the bridge's schema is created or changed."""
