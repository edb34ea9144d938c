"""What happens at the demo house's door: typed PINs, deliveries, a guest link, the door swinging.

Each is done the way the real thing would do it: the PIN is typed on the simulated
lock, which opens only if its own table holds it; the carrier signs its requests
with its own key and sends them to the bridge, which relays them to the home; the
dog walker's phone does what the link's page does (``simulators.guest.Guest``): it
asks the home for a challenge through the bridge and seals each request to the
home's key, with the link's secret from the URL fragment, which the bridge never sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import secrets
import sys
from typing import Any

from simulators.guest import Guest, GuestRefusedError

from .console import say
from .home_assistant import SetupError
from .house import HELP, DemoHouse, until


async def type_cleaners_pin(house: DemoHouse) -> str:
    slot = await asyncio.to_thread(house.lock.type_pin, house.cleaner_pin)
    if slot is None:
        return "the lock does not know the cleaner's PIN (yet): it stays locked"
    return f"the lock knows the PIN (slot {slot}) and opens; Keyholder counts the cleaner's visit"


async def deliver(house: DemoHouse) -> str:
    """Announce a delivery, then open the front door for it, both signed by the carrier."""
    now = datetime.now(UTC)
    announce = f"/api/v1/carrier/homes/{house.home_id}/deliveries"
    status, delivery = await _signed_post(
        house,
        announce,
        {
            "reference": f"PC-{secrets.token_hex(3).upper()}",
            "window_start": now.isoformat(),
            "window_end": (now + timedelta(hours=1)).isoformat(),
        },
    )
    if status != 201 or delivery.get("status") != "accepted":
        return f"the delivery was not accepted: {status} {delivery}"
    door = f"/api/v1/carrier/homes/{house.home_id}/doors/{house.front_door_id}/open"
    status, answer = await _signed_post(house, door, {"delivery_id": delivery["id"]})
    if status == 200:
        return f"delivery {delivery['reference']}: the front door opens for Parcel & Co"
    return f"delivery {delivery['reference']}: refused ({answer.get('error', {}).get('code')})"


async def _signed_post(
    house: DemoHouse, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    raw, headers = house.carrier.sign(path, body)
    async with house.http.post(house.bridge_url + path, data=raw, headers=headers) as resp:
        answer: dict[str, Any] = await resp.json()
        return resp.status, answer


async def dog_walker_opens(house: DemoHouse) -> str:
    """The dog walker opens their link and taps Open on the front door; ``SetupError`` if not."""
    guest = Guest(house.http, house.link_url)
    try:
        link = await guest.describe()
        door = next((d for d in link["doors"] if d["name"] == "Front door"), None)
        if door is None:
            raise SetupError(f"the dog walker's link does not offer the front door: {link}")
        answer = await guest.open(door["id"])
    except GuestRefusedError as err:
        raise SetupError(f"the dog walker's link was refused ({err.code})") from err
    if not answer["allowed"]:
        raise SetupError(f"the home refused the dog walker ({answer['reason']})")
    return (
        f"the dog walker's link shows {link['guest']} the front door "
        f"({'; '.join(link['window'])}); Open: the front door opens"
    )


async def walk_the_dog(house: DemoHouse) -> str:
    try:
        return await dog_walker_opens(house)
    except SetupError as err:
        return str(err)


async def swing_front_door(house: DemoHouse, *, open_: bool) -> str:
    service = "turn_on" if open_ else "turn_off"
    await house.api.call("input_boolean", service, {"entity_id": "input_boolean.front_door_open"})
    return "the front door is open" if open_ else "the front door is shut"


async def open_front_door(house: DemoHouse) -> str:
    return await swing_front_door(house, open_=True)


async def close_front_door(house: DemoHouse) -> str:
    return await swing_front_door(house, open_=False)


COMMANDS: dict[str, Callable[[DemoHouse], Awaitable[str]]] = {
    "pin": type_cleaners_pin,
    "deliver": deliver,
    "walk": walk_the_dog,
    "open": open_front_door,
    "close": close_front_door,
}


async def interact(house: DemoHouse) -> None:
    """Read commands until ``quit`` (or the end of input: then run until interrupted)."""
    say(HELP)
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:  # no terminal: keep the house running until Ctrl-C or SIGTERM
            await asyncio.Event().wait()
        command = line.strip().lower()
        if command in ("quit", "exit", "q"):
            return
        if command in COMMANDS:
            say(await COMMANDS[command](house))
        elif command:
            say(HELP)


async def check(house: DemoHouse) -> None:
    """The demo's own end-to-end check: each thing the summary promises, done once."""
    await until(lambda: house.cleaner_pin in house.lock.pins.values(), "the PIN on the lock")
    say("check: the cleaner's PIN is on the lock")
    say("check:", await type_cleaners_pin(house))
    await until(lambda: _cleaner_used(house), "the cleaner's use to be counted")
    await house.api.call("lock", "lock", {"entity_id": house.lock_entity})
    await until(lambda: house.lock.state == "LOCK", "the lock to lock again")
    say("check:", await deliver(house))
    await until(lambda: house.lock.state == "UNLOCK", "the front door to unlock for the carrier")
    await house.api.call("lock", "lock", {"entity_id": house.lock_entity})
    await until(lambda: house.lock.state == "LOCK", "the lock to lock again")
    say("check:", await dog_walker_opens(house))
    await until(lambda: house.lock.state == "UNLOCK", "the front door to unlock for the dog walker")


async def _cleaner_used(house: DemoHouse) -> bool:
    listed = await house.api.call("keyholder", "list_grants", {}, response=True)
    return any(g["grant_id"] == house.cleaner_grant_id and g["uses"] == 1 for g in listed["grants"])
