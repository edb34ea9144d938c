"""Open the database named by a URL: a SQLite file by default, PostgreSQL for larger bridges."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
SUPPORTED_DRIVERS = (SQLITE_DRIVER, POSTGRES_DRIVER)
DATABASE_FILE = "bridge.sqlite3"


class DatabaseURLError(ValueError):
    """The database URL is malformed or names a driver the bridge does not ship."""


def sqlite_url(data_dir: Path) -> str:
    """The default database: one file in the bridge's data directory."""
    return f"{SQLITE_DRIVER}:///{(data_dir / DATABASE_FILE).resolve()}"


def parse_url(url: str) -> URL:
    """Refuse anything but the two async drivers the bridge depends on."""
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise DatabaseURLError(f"not a database URL: {url!r}") from err
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseURLError(
            f"database URL must start with {' or '.join(d + '://' for d in SUPPORTED_DRIVERS)},"
            f" not {parsed.drivername}://"
        )
    return parsed


def display_url(url: str) -> str:
    """The URL with its password hidden, for logs and error messages."""
    return parse_url(url).render_as_string(hide_password=True)


def create_engine(url: str) -> AsyncEngine:
    """An async engine; for SQLite the data directory is created and foreign keys enforced."""
    parsed = parse_url(url)
    database = parsed.database
    if parsed.drivername == SQLITE_DRIVER and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, pool_pre_ping=parsed.drivername == POSTGRES_DRIVER)
    if parsed.drivername == SQLITE_DRIVER:
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded rows usable after commit (handlers return them as JSON)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    # SQLite ignores FOREIGN KEY clauses unless asked on every connection.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
