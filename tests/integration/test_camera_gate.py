"""Camera-gated opening: a live picture is required, a frozen or missing one refuses.

The porch camera is a real ``local_file`` camera: rewriting its file is a live
sensor producing new frames; leaving it untouched is exactly a frozen picture.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import secrets

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, callback
import pytest

from tests.integration.conftest import FRONT, Actions, local

pytestmark = pytest.mark.usefixtures("house")


async def _camera_grant(actions: Actions) -> str:
    created = await actions.call(
        "create_grant",
        {
            "kind": "carrier",
            "carrier": "acme-parcel",
            "name": "Acme Parcel",
            "doors": [FRONT],
            "ends": "2026-12-01 18:00",
            "camera_required": True,
        },
    )
    return str(created["token"])


async def _new_frame(hass: HomeAssistant, camera_file: Path) -> None:
    frame = b"\xff\xd8 porch frame " + secrets.token_bytes(16)
    await hass.async_add_executor_job(camera_file.write_bytes, frame)


async def test_live_camera_lets_a_camera_grant_in(
    hass: HomeAssistant, actions: Actions, camera_file: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _camera_grant(actions)
    assert (await actions.open(token, FRONT)).allowed
    freezer.tick(timedelta(minutes=5))
    await _new_frame(hass, camera_file)
    assert (await actions.open(token, FRONT)).allowed


async def test_frozen_picture_is_refused_as_stale(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _camera_grant(actions)
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
    token = await _camera_grant(actions)
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
