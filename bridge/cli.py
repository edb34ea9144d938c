"""``keyholder-bridge``: serve the bridge, and administer it from the same command.

Admin commands talk to the database directly (no HTTP admin API is needed to bootstrap a
bridge). They check their input before touching the database, so a typo changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import logging
import os
import signal
import sys

from sqlalchemy.exc import SQLAlchemyError

from bridge.admin_commands import ADMIN_COMMANDS, AdminError, add_admin_parsers
from bridge.config import LOG_FORMATS, BridgeConfig, ConfigError, DatabaseConfig
from bridge.db.engine import display_url
from bridge.logs import configure_logging

LOGGER = logging.getLogger("bridge")


def _database_flags() -> argparse.ArgumentParser:
    """Flags every subcommand shares, so admin commands reach the database ``serve`` uses."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("storage and logging")
    group.add_argument(
        "--data-dir",
        help="directory for the default SQLite database (env KEYHOLDER_BRIDGE_DATA_DIR,"
        " default ./bridge-data)",
    )
    group.add_argument(
        "--database-url",
        help="sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
        " (env KEYHOLDER_BRIDGE_DATABASE_URL); overrides --data-dir",
    )
    group.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text for people, json for log collectors (env KEYHOLDER_BRIDGE_LOG_FORMAT)",
    )
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keyholder-bridge",
        description="Relay carriers and guests to Keyholder homes.",
    )
    common = _database_flags()
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", parents=[common], help="serve HTTP and the home websocket")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on; 0 picks a free one")
    serve.add_argument(
        "--header-timeout",
        type=float,
        help="seconds a connection may take to send its request head"
        " (env KEYHOLDER_BRIDGE_HEADER_TIMEOUT, default 10)",
    )
    serve.add_argument(
        "--max-connections-per-address",
        type=int,
        help="open connections one address may hold before signing in; behind a reverse"
        " proxy every client shares its address, so raise it there and let the proxy limit"
        " (env KEYHOLDER_BRIDGE_MAX_CONNECTIONS_PER_ADDRESS, default 32)",
    )
    add_admin_parsers(sub, common)
    return parser


async def serve(config: BridgeConfig) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    # Imported here so the admin commands start without loading the web stack.
    from aiohttp import web  # noqa: PLC0415

    from bridge.app import create_app  # noqa: PLC0415
    from bridge.connections import ConnectionGuard  # noqa: PLC0415

    # aiohttp closes a kept-alive connection that idles (or sends half a request) this long;
    # the guard does the same for a connection's first request, which aiohttp would wait for
    # forever, and caps how many connections one address holds open.
    runner = web.AppRunner(
        create_app(config), access_log=None, keepalive_timeout=config.header_timeout
    )
    await runner.setup()
    guard = ConnectionGuard(
        header_timeout=config.header_timeout, max_per_address=config.max_connections_per_address
    )
    if runner.server is None:  # pragma: no cover - setup() always makes one
        raise RuntimeError("the web runner has no server after setup")
    loop = asyncio.get_running_loop()
    try:
        # A site of our own instead of ``web.TCPSite``: the guard wraps each connection.
        server = await loop.create_server(
            guard.protocol_factory(runner.server), config.host, config.port
        )
        for sock in server.sockets:
            host, port, *_ = sock.getsockname()
            # One parseable line so supervisors and tests learn the real port (``--port 0``).
            print(f"keyholder-bridge listening on http://{host}:{port}", flush=True)  # noqa: T201
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        LOGGER.info("shutting down")
        server.close()  # no new connections; those open are closed by the runner
    finally:
        await runner.cleanup()


def _fail(message: str, status: int) -> int:
    print(f"keyholder-bridge: {message}", file=sys.stderr)  # noqa: T201
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        database = DatabaseConfig.from_sources(
            environ=os.environ,
            data_dir=args.data_dir,
            database_url=args.database_url,
            log_format=args.log_format,
        )
        configure_logging(database.log_format)
        if args.command == "serve":
            config = BridgeConfig.from_sources(
                host=args.host,
                port=args.port,
                environ=os.environ,
                database=database,
                header_timeout=args.header_timeout,
                max_connections_per_address=args.max_connections_per_address,
            )
    except ConfigError as err:
        return _fail(str(err), 2)
    if args.command == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config))
        return 0
    try:
        return asyncio.run(ADMIN_COMMANDS[args.command](args, database.url))
    except AdminError as err:
        return _fail(str(err), err.status)
    except (SQLAlchemyError, OSError) as err:
        return _fail(f"cannot use the database {display_url(database.url)}: {err}", 1)
