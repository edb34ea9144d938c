"""Bridge configuration: command-line flags, falling back to environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ENV_PREFIX = "KEYHOLDER_BRIDGE_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """Everything the bridge needs to start serving."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def from_sources(
        cls,
        *,
        host: str | None,
        port: int | None,
        environ: Mapping[str, str],
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
        return cls(host=resolved_host, port=port)
