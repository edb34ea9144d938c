"""``keyholder-bridge``: run the bridge."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import logging
import os
import signal
import sys

from aiohttp import web

from bridge.app import create_app
from bridge.config import BridgeConfig, ConfigError

LOGGER = logging.getLogger("bridge")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keyholder-bridge",
        description="Relay carriers and guests to Keyholder homes.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve HTTP and the home websocket")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on; 0 picks a free one")
    return parser


async def serve(config: BridgeConfig) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        for host, port, *_ in runner.addresses:
            # One parseable line so supervisors and tests learn the real port (``--port 0``).
            print(f"keyholder-bridge listening on http://{host}:{port}", flush=True)  # noqa: T201
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        LOGGER.info("shutting down")
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = BridgeConfig.from_sources(host=args.host, port=args.port, environ=os.environ)
    except ConfigError as err:
        print(f"keyholder-bridge: {err}", file=sys.stderr)  # noqa: T201
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0
