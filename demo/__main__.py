"""``python -m demo``: run the demo house until ``quit`` (or check it once with ``--check``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
import signal
import sys

from .console import complain, say
from .home_assistant import SetupError
from .house import OWNER, REPO_ROOT, DemoHouse, DemoSettings, running_house
from .visits import check, interact


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument("--ha-port", type=int, default=8123, help="Home Assistant's port")
    parser.add_argument("--bridge-port", type=int, default=8130, help="the bridge's port")
    parser.add_argument(
        "--state-dir", type=Path, default=REPO_ROOT / ".demo", help="wiped and rebuilt per run"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="set up, try each visit once, stop (no frontend); exit 0 if all went as promised",
    )
    return parser.parse_args()


def _summary(house: DemoHouse) -> str:
    _, username, password = OWNER
    return f"""
Keyholder demo house is running.
  Home Assistant  {house.api.base}   (sign in as {username} / {password})
  The bridge      {house.bridge_url}
  Dog walker's link: {house.link_url}
    (open it in a browser on this machine: the page seals its requests with WebCrypto,
    which needs a secure context, and http://127.0.0.1 is one; another machine would need
    the bridge behind HTTPS)
  Cleaner's PIN on the front door keypad: {house.cleaner_pin}
"""


async def _main(arguments: argparse.Namespace) -> int:
    if (task := asyncio.current_task()) is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    settings = DemoSettings(
        state_dir=arguments.state_dir,
        ha_port=arguments.ha_port,
        bridge_port=arguments.bridge_port,
        frontend=not arguments.check,
    )
    try:
        async with running_house(settings) as house:
            say(_summary(house))
            if arguments.check:
                await check(house)
                say("demo check: passed")
            else:
                await interact(house)
            say("--- stopping")
    except SetupError as err:
        complain(f"demo failed: {err} (logs in {settings.state_dir})")
        return 1
    return 0


def main() -> int:
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        return asyncio.run(_main(_arguments()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
