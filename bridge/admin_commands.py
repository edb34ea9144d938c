"""The admin subcommands of ``keyholder-bridge``: enrol, register, list, revoke, migrate.

Input is validated before the database is opened; every refusal is an :class:`AdminError`
with a message an operator can act on, and the exit status says whether anything happened.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
import json
import logging
import sys
from typing import Any

from bridge.db.engine import create_engine, session_factory
from bridge.db.migrate import upgrade
from bridge.db.repository import Registry, RegistryError, check_name, check_public_key
from bridge.db.tables import Carrier, Home
from bridge.keys import encode_public_key

MAX_VALID_HOURS = 24 * 30

type AdminCommand = Callable[[argparse.Namespace, str], Coroutine[Any, Any, int]]


class AdminError(Exception):
    """A refused admin command; ``status`` is the process exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status

    @classmethod
    def from_registry(cls, err: RegistryError) -> AdminError:
        return cls(f"{err} ({err.code})")


def add_admin_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register the admin subcommands next to ``serve``."""
    sub.add_parser("migrate", parents=[common], help="create or upgrade the database schema")
    enrol = sub.add_parser(
        "enrol-code", parents=[common], help="issue a one-time code a home enrols with"
    )
    enrol.add_argument(
        "--valid-hours", type=int, default=24, help="hours until the code expires (default 24)"
    )
    carrier = sub.add_parser("add-carrier", parents=[common], help="register a carrier's key")
    carrier.add_argument("--name", required=True, help="the name homeowners will see")
    carrier.add_argument(
        "--public-key",
        required=True,
        help=(
            "the carrier's Ed25519 public key, base64url; write --public-key=KEY,"
            " since a key may begin with '-'"
        ),
    )
    listing = sub.add_parser("list", parents=[common], help="list homes or carriers")
    listing.add_argument("what", choices=("homes", "carriers"))
    listing.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    revoke = sub.add_parser("revoke", parents=[common], help="revoke a home or carrier at once")
    revoke.add_argument("kind", choices=("home", "carrier"))
    revoke.add_argument("id")


async def _registry_after_migrating(url: str) -> tuple[Registry, Callable[[], Awaitable[None]]]:
    # Admin commands migrate silently; ``migrate`` and ``serve`` keep Alembic's progress lines.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    await upgrade(url)
    engine = create_engine(url)
    return Registry(session_factory(engine)), engine.dispose


async def _migrate(_args: argparse.Namespace, url: str) -> int:
    await upgrade(url)
    print("database schema is up to date", file=sys.stderr)  # noqa: T201
    return 0


async def _enrol_code(args: argparse.Namespace, url: str) -> int:
    hours: int = args.valid_hours
    if not 1 <= hours <= MAX_VALID_HOURS:
        raise AdminError(f"--valid-hours must be between 1 and {MAX_VALID_HOURS}", 2)
    registry, close = await _registry_after_migrating(url)
    try:
        issued = await registry.issue_enrolment_code(ttl=timedelta(hours=hours))
    finally:
        await close()
    print(issued.code)  # noqa: T201
    print(  # noqa: T201
        f"valid until {issued.expires_at:%Y-%m-%d %H:%M}Z, once. It is not stored and"
        " cannot be shown again.",
        file=sys.stderr,
    )
    return 0


async def _add_carrier(args: argparse.Namespace, url: str) -> int:
    try:
        check_name(args.name)
        check_public_key(args.public_key)
    except RegistryError as err:
        raise AdminError(f"{err} ({err.code})", 2) from err
    registry, close = await _registry_after_migrating(url)
    try:
        carrier = await registry.add_carrier(name=args.name, public_key=args.public_key)
    except RegistryError as err:
        raise AdminError.from_registry(err) from err
    finally:
        await close()
    print(carrier.id)  # noqa: T201
    return 0


def _row(item: Home | Carrier) -> dict[str, Any]:
    since = item.enrolled_at if isinstance(item, Home) else item.registered_at
    return {
        "id": item.id,
        "name": item.name,
        "public_key": encode_public_key(item.public_key),
        "since": since.isoformat(),
        "revoked_at": item.revoked_at.isoformat() if item.revoked_at else None,
    }


def _short(when: str | None) -> str:
    return datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%MZ") if when else "-"


async def _list(args: argparse.Namespace, url: str) -> int:
    registry, close = await _registry_after_migrating(url)
    try:
        items: list[Home] | list[Carrier] = (
            await registry.list_homes() if args.what == "homes" else await registry.list_carriers()
        )
    finally:
        await close()
    rows = [_row(item) for item in items]
    if args.json:
        print(json.dumps(rows, indent=2))  # noqa: T201
        return 0
    for row in rows:
        print(  # noqa: T201
            f"{row['id']}\t{row['name']}\t{row['public_key']}\t{_short(row['since'])}"
            f"\t{'revoked ' + _short(row['revoked_at']) if row['revoked_at'] else 'active'}"
        )
    return 0


async def _revoke(args: argparse.Namespace, url: str) -> int:
    registry, close = await _registry_after_migrating(url)
    try:
        await registry.revoke(args.kind, args.id)
    except RegistryError as err:
        raise AdminError.from_registry(err) from err
    finally:
        await close()
    print(f"revoked {args.kind} {args.id}", file=sys.stderr)  # noqa: T201
    return 0


ADMIN_COMMANDS: dict[str, AdminCommand] = {
    "migrate": _migrate,
    "enrol-code": _enrol_code,
    "add-carrier": _add_carrier,
    "list": _list,
    "revoke": _revoke,
}
