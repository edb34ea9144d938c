"""Alembic environment: reuse the caller's connection, or open the async engine ourselves.

``bridge.db.migrate.upgrade`` hands in a connection (so it can run inside the server's event
loop); the plain ``alembic`` command line does not, and gets a fresh engine and event loop.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from bridge.db.engine import create_engine
from bridge.db.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (SQL script) migrations are not supported")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url, or use `keyholder-bridge migrate`")
    asyncio.run(_run_with_own_engine(url))


_main()
