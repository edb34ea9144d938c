"""Where the database is, and how logs look, come from flags first, then the environment."""

from __future__ import annotations

import json
import logging
from pathlib import Path
import re

import pytest

from bridge.config import BridgeConfig, ConfigError, DatabaseConfig
from bridge.logs import JSONLineFormatter


def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    config = DatabaseConfig.from_sources(environ={}, data_dir=str(tmp_path))
    assert config.url == f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
    from_env = DatabaseConfig.from_sources(environ={"KEYHOLDER_BRIDGE_DATA_DIR": str(tmp_path)})
    assert from_env.url == config.url
    assert DatabaseConfig.from_sources(environ={}).url.endswith("/bridge-data/bridge.sqlite3")


def test_database_flag_wins_over_environment_and_data_dir() -> None:
    environ = {"KEYHOLDER_BRIDGE_DATABASE_URL": "postgresql+asyncpg://env@127.0.0.1/env"}
    flag = "postgresql+asyncpg://flag@127.0.0.1/flag"
    assert DatabaseConfig.from_sources(environ=environ, data_dir="x", database_url=flag).url == flag
    assert DatabaseConfig.from_sources(environ=environ, data_dir="x").url.endswith("/env")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"KEYHOLDER_BRIDGE_DATABASE_URL": "postgresql://u@h/db"}, "postgresql+asyncpg://"),
        ({"KEYHOLDER_BRIDGE_DATABASE_URL": "::not a url::"}, "not a database URL"),
        ({"KEYHOLDER_BRIDGE_LOG_FORMAT": "xml"}, "log format must be one of text, json"),
        ({"KEYHOLDER_BRIDGE_HEADER_TIMEOUT": "soon"}, "HEADER_TIMEOUT must be a number"),
        ({"KEYHOLDER_BRIDGE_HEADER_TIMEOUT": "0"}, "header timeout must be 0.1 to 300 seconds"),
        ({"KEYHOLDER_BRIDGE_MAX_CONNECTIONS_PER_ADDRESS": "0"}, "connections per address"),
        ({"KEYHOLDER_BRIDGE_MAX_CONNECTIONS_PER_ADDRESS": "2.5"}, "connections per address"),
    ],
)
def test_bad_settings_are_clear_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        BridgeConfig.from_sources(host=None, port=None, environ=environ)


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "bridge.homes", "levelname": "INFO", "msg": "home %s connected", "args": ("h1",)}
    )
    record.home_id = "h1"
    line = json.loads(JSONLineFormatter().format(record))
    assert line["message"] == "home h1 connected"
    assert line["level"] == "info"
    assert line["home_id"] == "h1"
    assert line["time"].endswith("+00:00")


def test_connection_limits_come_from_flags_then_the_environment() -> None:
    assert BridgeConfig.from_sources(host=None, port=None, environ={}).header_timeout == 10.0
    environ = {
        "KEYHOLDER_BRIDGE_HEADER_TIMEOUT": "2.5",
        "KEYHOLDER_BRIDGE_MAX_CONNECTIONS_PER_ADDRESS": "7",
    }
    from_env = BridgeConfig.from_sources(host=None, port=None, environ=environ)
    assert (from_env.header_timeout, from_env.max_connections_per_address) == (2.5, 7)
    flags = BridgeConfig.from_sources(
        host=None, port=None, environ=environ, header_timeout=1, max_connections_per_address=3
    )
    assert (flags.header_timeout, flags.max_connections_per_address) == (1, 3)
