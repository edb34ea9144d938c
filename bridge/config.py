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
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 32
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
    # Seconds a connection may take to send a request head (``bridge.connections``).
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    # Connections one address may hold open before it proves who it is.
    max_connections_per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS

    @classmethod
    def from_sources(
        cls,
        *,
        host: str | None,
        port: int | None,
        environ: Mapping[str, str],
        database: DatabaseConfig | None = None,
        header_timeout: float | None = None,
        max_connections_per_address: int | None = None,
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
        timeout = _number(environ, "HEADER_TIMEOUT", header_timeout, DEFAULT_HEADER_TIMEOUT)
        if not 0.1 <= timeout <= 300:
            raise ConfigError(f"header timeout must be 0.1 to 300 seconds, not {timeout}")
        cap = _number(
            environ,
            "MAX_CONNECTIONS_PER_ADDRESS",
            max_connections_per_address,
            DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        )
        if cap != int(cap) or not 1 <= cap <= 100_000:
            raise ConfigError(f"connections per address must be 1 to 100000, not {cap}")
        return cls(
            host=resolved_host,
            port=port,
            database=database,
            header_timeout=timeout,
            max_connections_per_address=int(cap),
        )


def _number(environ: Mapping[str, str], name: str, flag: float | None, default: float) -> float:
    """A flag, else the environment variable, else the default; a clear error if malformed."""
    if flag is not None:
        return flag
    raw = environ.get(f"{ENV_PREFIX}{name}")
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as err:
        raise ConfigError(f"{ENV_PREFIX}{name} must be a number, not {raw!r}") from err
