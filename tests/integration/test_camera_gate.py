"""Camera-gated opening: a live picture is required, a frozen or missing one refuses.

The porch camera is a real ``local_file`` camera: rewriting its file is a live
sensor producing new frames; leaving it untouched is exactly a frozen picture.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import os
from pathlib import Path
import secrets
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
import pytest

from custom_components.keyholder.const import DOMAIN
from tests.integration.conftest import FRONT, Actions, local

pytestmark = pytest.mark.usefixtures("house")


async def _camera_grant(actions: Actions) -> dict[str, Any]:
    """A carrier grant for the front door that requires the camera; the created grant."""
    created: dict[str, Any] = await actions.call(
        "create_grant",
        {
            "kind": "carrier",
            "carrier": "acme-parcel",
            "name": "Acme Parcel",
            "doors": [FRONT],
            "ends": "2026-12-01 18:00",
            "camera_required": True,
            "announced_only": False,  # the camera decides here, not a delivery
        },
    )
    return created


async def _new_frame(hass: HomeAssistant, camera_file: Path) -> None:
    frame = b"\xff\xd8 porch frame " + secrets.token_bytes(16)
    await hass.async_add_executor_job(camera_file.write_bytes, frame)


async def test_live_camera_lets_a_camera_grant_in(
    hass: HomeAssistant, actions: Actions, camera_file: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = (await _camera_grant(actions))["token"]
    assert (await actions.open(token, FRONT)).allowed
    freezer.tick(timedelta(minutes=5))
    await _new_frame(hass, camera_file)
    assert (await actions.open(token, FRONT)).allowed


async def test_frozen_picture_is_refused_as_stale(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = (await _camera_grant(actions))["token"]
    events: list[str] = []
    hass.bus.async_listen("keyholder_event", callback(lambda e: events.append(e.data["type"])))
    assert (await actions.open(token, FRONT)).allowed
    freezer.tick(timedelta(seconds=31))  # the same frame, longer than the policy allows
    decision = await actions.open(token, FRONT)
    assert decision.reason == "camera_stale"
    refused_at = events.index("refused")
    assert events[refused_at + 1] == "camera_problem"


async def test_missing_picture_is_refused_as_unavailable(
    hass: HomeAssistant, actions: Actions, camera_file: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = (await _camera_grant(actions))["token"]
    await hass.async_add_executor_job(camera_file.unlink)
    assert (await actions.open(token, FRONT)).reason == "camera_unavailable"
    assert hass.states.get("lock.front").state == "locked"


async def test_grant_without_camera_requirement_ignores_the_camera(
    hass: HomeAssistant, actions: Actions, camera_file: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await actions.call(
        "create_grant",
        {"kind": "link", "name": "Guest", "doors": [FRONT], "ends": "2026-12-01 18:00"},
    )
    await hass.async_add_executor_job(camera_file.unlink)
    assert (await actions.open(created["token"], FRONT)).allowed


async def _spin() -> None:
    """Let other tasks run. (``asyncio.sleep`` with a delay never wakes: the test's
    frozen clock also stops the event loop's.)"""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_revoke_waits_for_an_opening_in_flight_so_no_unlock_follows_it(
    hass: HomeAssistant, actions: Actions, camera_file: Path, freezer: FrozenDateTimeFactory
) -> None:
    """A camera that takes its time must not let an opening slip past a revocation.

    The porch camera's file becomes a FIFO: reading it blocks in the operating system
    until the test writes a frame, so the opening is held inside its camera check
    while the homeowner revokes. Every unlock must happen before the revoke returns.
    """
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await _camera_grant(actions)
    await hass.async_add_executor_job(camera_file.unlink)
    await hass.async_add_executor_job(os.mkfifo, camera_file)
    timeline: list[str] = []

    @callback
    def _on_lock(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None and new.state == "unlocked":
            timeline.append("unlocked")

    async_track_state_change_event(hass, "lock.front", _on_lock)

    # Called directly, not through the ``actions`` helpers: those wait for all of Home
    # Assistant's tasks to finish, and these two tasks would then wait for each other.
    async def _revoke() -> None:
        await hass.services.async_call(
            DOMAIN, "revoke_grant", {"grant_id": created["grant_id"]},
            blocking=True, context=actions.context,
        )  # fmt: skip
        timeline.append(f"revoke returned, lock {hass.states.get('lock.front').state}")

    home = actions.home
    opening = hass.async_create_task(
        home.async_open_door(
            token=created["token"],
            door_id=next(iter(home.resolve_doors([FRONT]))),
            nonce="revoke-race-nonce-0001",
            expires_at=local(hass, "2026-12-01 09:01"),
            context=actions.context,
        )
    )
    try:
        await _spin()  # the opening now waits on the camera
        revoking = hass.async_create_task(_revoke())
        await _spin()
        assert not revoking.done(), "the revoke must wait for the opening in flight"
    finally:  # release the camera's reader, whatever happened
        await hass.async_add_executor_job(camera_file.write_bytes, b"\xff\xd8 one live frame")
    decision = await opening
    await revoking
    await hass.async_block_till_done()

    assert decision.allowed  # decided before the revocation, and so honoured
    # The unlock had already happened when the revoke returned, and none came after.
    assert sorted(timeline) == ["revoke returned, lock unlocked", "unlocked"]
    assert (await actions.open(created["token"], FRONT)).reason == "revoked"
