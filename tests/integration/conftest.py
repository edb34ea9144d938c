"""Fixtures for tests that load Keyholder into Home Assistant.

``home`` builds a small real house from core platforms: a template lock on the front
door (state held by an input_boolean, so the test can see it turn), a template
contact sensor, a template garage cover, a template car lock with a real
``device_tracker`` for the car, and a ``local_file`` camera on the porch whose file
the test rewrites to keep the picture live (or leaves alone to freeze it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
import re
import secrets
from typing import Any

from homeassistant.components.template import cover as template_cover, lock as template_lock
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import CONF_HOME_NAME, DOMAIN, SUBENTRY_TYPE_DOOR

from ..bridge.conftest import database_url  # noqa: F401 - a fixture: SQLite and PostgreSQL
from .bridge_fixtures import (  # noqa: F401 - fixtures for bridge tests
    bridge,
    bridge_registry,
    linked_house,
)
from .keypad_homes import door_id_of

FRONT = "Front door"
GARAGE = "Garage"
CAR = "Car"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/keyholder in every test here."""


@pytest.fixture
def config_entry() -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_HOME_NAME: "Home"}, unique_id=DOMAIN
    )


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


def _switched(entity: str, *, on: str, off: str) -> dict[str, Any]:
    return {
        on: {"action": "input_boolean.turn_on", "target": {"entity_id": entity}},
        off: {"action": "input_boolean.turn_off", "target": {"entity_id": entity}},
    }


def _template_lock(name: str, boolean: str) -> dict[str, Any]:
    return {"name": name, **_switched(boolean, on="lock", off="unlock")}


async def _async_setup_templates(hass: HomeAssistant) -> None:
    """Template locks, garage cover and contact sensor, each held by an input_boolean.

    Template locks and covers moved from ``platform: template`` (HA 2025.4) to the
    ``template:`` block (newer releases, which dropped the old form): use whichever
    this Home Assistant has. The ``template:`` block is set up first, since a legacy
    platform would set up ``template`` without it.
    """
    locks = [
        (_template_lock("Front", "input_boolean.front_locked"), "input_boolean.front_locked"),
        (_template_lock("Car", "input_boolean.car_locked"), "input_boolean.car_locked"),
    ]
    garage = {
        "name": "Garage",
        **_switched("input_boolean.garage_closed", on="close_cover", off="open_cover"),
    }
    garage_open = "{{ is_state('input_boolean.garage_closed', 'off') }}"
    block: dict[str, Any] = {
        "binary_sensor": [
            {
                "name": "front_contact",
                "device_class": "door",
                "state": "{{ is_state('input_boolean.front_open', 'on') }}",
            }
        ]
    }
    legacy: dict[str, Any] = {}
    if hasattr(template_lock, "PLATFORM_SCHEMA"):
        legacy["lock"] = [
            {"platform": "template", "value_template": f"{{{{ is_state('{b}', 'on') }}}}", **lock}
            for lock, b in locks
        ]
    else:
        block["lock"] = [{"state": f"{{{{ is_state('{b}', 'on') }}}}", **lock} for lock, b in locks]
    if hasattr(template_cover, "PLATFORM_SCHEMA"):
        legacy_garage = {k: v for k, v in garage.items() if k != "name"}
        legacy["cover"] = [
            {
                "platform": "template",
                "covers": {
                    "garage": {
                        "friendly_name": "Garage",
                        "value_template": garage_open,
                        **legacy_garage,
                    }
                },
            }
        ]
    else:
        block["cover"] = [{"state": garage_open, **garage}]
    assert await async_setup_component(hass, "template", {"template": [block]})
    for domain, platforms in legacy.items():
        assert await async_setup_component(hass, domain, {domain: platforms})


async def async_setup_house(hass: HomeAssistant, camera_file: Path) -> None:
    """Real entities from core platforms for the doors to use."""
    await hass.config.async_update(time_zone="Europe/Berlin")
    assert await async_setup_component(
        hass,
        "input_boolean",
        {
            "input_boolean": {
                "front_locked": {"initial": True},
                "front_open": {"initial": False},
                "garage_closed": {"initial": True},
                "car_locked": {"initial": True},
            }
        },
    )
    await _async_setup_templates(hass)
    assert await async_setup_component(hass, "device_tracker", {})
    await hass.async_block_till_done()  # the legacy tracker registers `see` in the background
    await hass.services.async_call(
        "device_tracker", "see", {"dev_id": "car", "location_name": "home"}, blocking=True
    )
    frame = b"\xff\xd8 porch frame " + secrets.token_bytes(16)
    await hass.async_add_executor_job(camera_file.write_bytes, frame)
    camera_entry = MockConfigEntry(
        domain="local_file", options={"name": "Porch", "file_path": str(camera_file)}
    )
    camera_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(camera_entry.entry_id)
    await hass.async_block_till_done()


def door_subentry(name: str, **data: Any) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "name": name,
            "kind": "door",
            "camera_required": False,
            "relock_delay": 30,
            "max_visit": 10,
            **data,
        },
        subentry_type=SUBENTRY_TYPE_DOOR,
        title=name,
        unique_id=None,
    )


@pytest.fixture
def camera_file(tmp_path: Path) -> Path:
    return tmp_path / "porch.jpg"


@pytest.fixture
def house_entry() -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_HOME_NAME: "Home"},
        unique_id=DOMAIN,
        subentries_data=[
            door_subentry(
                FRONT,
                opener="lock.front",
                contact_sensor="binary_sensor.front_contact",
                camera="camera.porch",
            ),
            door_subentry(GARAGE, kind="garage", opener="cover.garage"),
            door_subentry(CAR, kind="car", opener="lock.car", car_tracker="device_tracker.car"),
        ],
    )


@pytest.fixture
async def house(
    hass: HomeAssistant, house_entry: MockConfigEntry, camera_file: Path
) -> MockConfigEntry:
    """Keyholder loaded with three doors: front (lock, contact, camera), garage, car."""
    await async_setup_house(hass, camera_file)
    house_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(house_entry.entry_id)
    await hass.async_block_till_done()
    return house_entry


@dataclass
class Actions:
    """Calls Keyholder's actions as an admin user would."""

    hass: HomeAssistant
    context: Any

    async def call(self, name: str, data: Mapping[str, Any], *, response: bool = True) -> Any:
        result: ServiceResponse = await self.hass.services.async_call(
            DOMAIN,
            name,
            dict(data),
            blocking=True,
            return_response=response,
            context=self.context,
        )
        await self.hass.async_block_till_done()
        return result

    @property
    def home(self) -> Any:
        (entry,) = self.hass.config_entries.async_loaded_entries(DOMAIN)
        return entry.runtime_data.home

    def door_id(self, name: str) -> str:
        return door_id_of(self.home, name)

    async def grant_carrier_now(
        self,
        carrier_id: str,
        *,
        name: str,
        ends_in: timedelta = timedelta(hours=1),
        announced_only: bool = True,
    ) -> Any:
        """A carrier grant for the front door from an hour ago until ``ends_in`` from now.

        ``announced_only`` (the default of a carrier grant) lets it open only for an
        accepted delivery; off, the carrier may open whenever the grant does.
        """
        now = dt_util.now()
        return await self.call(
            "create_grant",
            {
                "kind": "carrier",
                "name": name,
                "doors": [FRONT],
                "carrier": carrier_id,
                "starts": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
                "ends": (now + ends_in).strftime("%Y-%m-%d %H:%M"),
                "announced_only": announced_only,
            },
        )

    async def grant_link(
        self,
        name: str,
        starts: timedelta = timedelta(hours=-1),
        ends: timedelta = timedelta(hours=1),
    ) -> Any:
        """A link grant for the front door, from ``starts`` to ``ends`` relative to now."""
        now = dt_util.now()
        return await self.call(
            "create_grant",
            {
                "kind": "link",
                "name": name,
                "doors": [FRONT],
                "starts": (now + starts).strftime("%Y-%m-%d %H:%M"),
                "ends": (now + ends).strftime("%Y-%m-%d %H:%M"),
            },
        )

    async def open(
        self,
        token: str,
        door: str,
        *,
        nonce: str | None = None,
        expires_in: timedelta = timedelta(seconds=60),
    ) -> Any:
        """A signed request as the bridge link hands it to the home: token, nonce, expiry."""
        home = self.home
        door_id = next((d.id for d in home.doors.values() if d.name == door), door)
        decision = await home.async_open_door(
            token=token,
            door_id=door_id,
            nonce=nonce or secrets.token_urlsafe(24),
            expires_at=dt_util.utcnow() + expires_in,
            context=self.context,
        )
        await self.hass.async_block_till_done()
        return decision


@pytest.fixture
async def actions(hass: HomeAssistant, hass_admin_user: Any) -> Actions:
    from homeassistant.core import Context  # noqa: PLC0415

    return Actions(hass, Context(user_id=hass_admin_user.id))


def local(hass: HomeAssistant, text: str) -> datetime:
    """A wall-clock time in the home's zone, e.g. ``local(hass, "2026-12-01 09:30")``."""
    parsed = dt_util.parse_datetime(text)
    assert parsed is not None
    return parsed.replace(tzinfo=dt_util.get_time_zone(hass.config.time_zone))


async def settle(hass: HomeAssistant) -> None:
    """Let chained state dispatches finish.

    Home Assistant hands state changes to trackers with ``loop.call_soon``; a template
    sensor that follows an input_boolean, followed by Keyholder's tracker, is two such
    hops, which one ``async_block_till_done`` does not always flush.
    """
    for _ in range(3):
        await hass.async_block_till_done()


async def set_switch(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    """Flip an input_boolean that backs a test entity, and let the change land."""
    await hass.services.async_call(
        "input_boolean", "turn_on" if on else "turn_off", {"entity_id": entity_id}, blocking=True
    )
    await settle(hass)


async def advance(hass: HomeAssistant, freezer: Any, delta: timedelta) -> None:
    """Move the clock and run whatever timers fall due."""
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_fire_time_changed,
    )

    freezer.tick(delta)
    async_fire_time_changed(hass)
    await settle(hass)


def leaks(secret: str, text: str) -> bool:
    """Whether ``secret`` appears in ``text``.

    A PIN is a short run of digits: it counts only standing alone, so that a random
    six-digit PIN is not "found" inside some longer number (an id, a timestamp). A
    leaked PIN would stand alone: in quotes, after a colon, in a sentence.
    """
    if secret.isdigit():
        return re.search(rf"(?<!\d){secret}(?!\d)", text) is not None
    return secret in text


@pytest.fixture
def fast_keypad_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keypad-code timings in fractions of a second, for tests against simulated locks.

    Simulated locks answer over real MQTT and websockets, so these tests run in real
    time; the module settings are shortened rather than the clock moved.
    """
    from custom_components.keyholder import keypad  # noqa: PLC0415
    from custom_components.keyholder.codes.base import RadioTimings  # noqa: PLC0415
    from custom_components.keyholder.codes.sync import RetryPolicy  # noqa: PLC0415

    monkeypatch.setattr(keypad, "RADIO_TIMINGS", RadioTimings(timeout=1.0, read_after_write=0.3))
    monkeypatch.setattr(
        keypad,
        "RETRY_POLICY",
        RetryPolicy(
            first_delay=timedelta(seconds=0.3),
            ceiling=timedelta(seconds=0.6),
            max_attempts=3,
            max_ops_per_run=3,
            run_spacing=timedelta(seconds=0.2),
        ),
    )
