"""Bridge configuration: command-line flags, falling back to environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from bridge.db.engine import DatabaseURLError, parse_url, sqlite_url

ENV_PREFIX = "KEYHOLDER_BRIDGE_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_DATA_DIR = Path("bridge-data")
LOG_FORMATS = ("text", "json")

type LogFormat = Literal["text", "json"]


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """Where the bridge keeps homes, carriers and enrolment codes; every command needs it."""

    url: str
    log_format: LogFormat = "text"

    @classmethod
    def from_sources(
        cls,
        *,
        environ: Mapping[str, str],
        data_dir: str | None = None,
        database_url: str | None = None,
        log_format: str | None = None,
    ) -> DatabaseConfig:
        """An explicit URL wins; otherwise a SQLite file in the data directory."""
        url = database_url or environ.get(f"{ENV_PREFIX}DATABASE_URL")
        if not url:
            directory = data_dir or environ.get(f"{ENV_PREFIX}DATA_DIR") or str(DEFAULT_DATA_DIR)
            url = sqlite_url(Path(directory))
        try:
            parse_url(url)
        except DatabaseURLError as err:
            raise ConfigError(str(err)) from err
        fmt = log_format or environ.get(f"{ENV_PREFIX}LOG_FORMAT") or "text"
        if fmt not in LOG_FORMATS:
            raise ConfigError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
        return cls(url=url, log_format=cast("LogFormat", fmt))


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """Everything the bridge needs to start serving."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database: DatabaseConfig = field(
        default_factory=lambda: DatabaseConfig(url=sqlite_url(DEFAULT_DATA_DIR))
    )

    @classmethod
    def from_sources(
        cls,
        *,
        host: str | None,
        port: int | None,
        environ: Mapping[str, str],
        database: DatabaseConfig | None = None,
    ) -> BridgeConfig:
        """Flags win over ``KEYHOLDER_BRIDGE_*`` environment variables, which win over defaults."""
        resolved_host = host or environ.get(f"{ENV_PREFIX}HOST") or DEFAULT_HOST
        if port is None:
            raw = environ.get(f"{ENV_PREFIX}PORT")
            try:
                port = int(raw) if raw else DEFAULT_PORT
            except ValueError as err:
                raise ConfigError(f"{ENV_PREFIX}PORT must be a whole number, not {raw!r}") from err
        if not 0 <= port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, not {port}")
        if database is None:
            database = DatabaseConfig.from_sources(environ=environ)
        return cls(host=resolved_host, port=port, database=database)
