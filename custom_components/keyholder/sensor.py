"""The home's sensors: how many grants are live, and the last visit.

"Keypad codes" (one per door with keypad codes) says whether the lock holds what
it should: in sync, syncing, or failed (then a repair explains); its attributes
give each slot's state, never a PIN or a digest.

"Active grants" changes without any action when a grant runs out, so the sensor
arms a timer for the next expiry instead of polling. "Last visit" is restored
after a restart (the home keeps only the current run's visits in memory); its
attributes name the door and the grant, never a PIN or token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.util import dt as dt_util

from .core.status import is_live
from .data import KeyholderConfigEntry
from .entity import KeyholderDoorEntity, KeyholderEntity, async_add_door_entities
from .home import Home
from .keypad import CodesStatus

PARALLEL_UPDATES = 0  # read-only: the state is pushed by the home

ATTR_DOOR = "door"
ATTR_GRANT = "grant"
ATTR_OUTCOME = "outcome"


@dataclass(frozen=True, kw_only=True)
class KeyholderSensorEntityDescription(SensorEntityDescription):
    """A home sensor: its value and attributes, read from the home at a moment."""

    value_fn: Callable[[Home, datetime], int | datetime | None]
    attributes_fn: Callable[[Home], dict[str, str | None] | None] = lambda _home: None


def _last_visit_attributes(home: Home) -> dict[str, str | None] | None:
    if (visit := home.last_visit) is None:
        return None
    door = home.doors.get(visit.door_id)
    return {
        ATTR_DOOR: door.name if door else None,
        ATTR_GRANT: visit.grant_name,
        ATTR_OUTCOME: visit.outcome.value if visit.outcome else None,
    }


ACTIVE_GRANTS = KeyholderSensorEntityDescription(
    key="active_grants",
    translation_key="active_grants",
    state_class=SensorStateClass.MEASUREMENT,
    value_fn=lambda home, now: len(home.live_grants(now)),
)
LAST_VISIT = KeyholderSensorEntityDescription(
    key="last_visit",
    translation_key="last_visit",
    device_class=SensorDeviceClass.TIMESTAMP,
    value_fn=lambda home, _now: home.last_visit.started_at if home.last_visit else None,
    attributes_fn=_last_visit_attributes,
)


KEYPAD_CODES = SensorEntityDescription(
    key="keypad_codes",
    translation_key="keypad_codes",
    device_class=SensorDeviceClass.ENUM,
    options=[status.value for status in CodesStatus],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    home = entry.runtime_data.home
    async_add_entities([ActiveGrantsSensor(home, ACTIVE_GRANTS), LastVisitSensor(home, LAST_VISIT)])
    async_add_door_entities(
        hass,
        entry,
        async_add_entities,
        KeypadCodesSensor,
        KEYPAD_CODES,
        only=lambda door: door.keypad_slots is not None,
    )


class KeypadCodesSensor(KeyholderDoorEntity, SensorEntity):
    """Whether a door's lock holds the codes it should; each slot's state as attributes."""

    @property
    def native_value(self) -> str:
        codes = self.home.keypad_codes(self.door.id)
        return codes.status.value if codes is not None else CodesStatus.SYNCING.value

    @property
    def extra_state_attributes(self) -> dict[str, str] | None:
        codes = self.home.keypad_codes(self.door.id)
        if codes is None or codes.states is None:
            return None
        return {f"slot_{slot}": state.value for slot, state in sorted(codes.states.items())}


class KeyholderSensor(KeyholderEntity, SensorEntity):
    """A home sensor described by a ``KeyholderSensorEntityDescription``."""

    entity_description: KeyholderSensorEntityDescription

    @property
    def native_value(self) -> int | datetime | None:
        return self.entity_description.value_fn(self.home, dt_util.utcnow())

    @property
    def extra_state_attributes(self) -> dict[str, str | None] | None:
        return self.entity_description.attributes_fn(self.home)


class ActiveGrantsSensor(KeyholderSensor):
    """Counts live grants, and wakes up when the next one expires."""

    _expiry_timer: CALLBACK_TYPE | None = None

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self._schedule_next_expiry()

    async def async_will_remove_from_hass(self) -> None:
        self._cancel_timer()
        await super().async_will_remove_from_hass()

    @callback
    def _handle_home_update(self) -> None:
        self._schedule_next_expiry()
        super()._handle_home_update()

    @callback
    def _on_expiry(self, _now: datetime) -> None:
        self._expiry_timer = None
        self._schedule_next_expiry()
        self.async_write_ha_state()

    def _schedule_next_expiry(self) -> None:
        """Wake up when the next live grant ends, so the count drops without polling."""
        self._cancel_timer()
        now = dt_util.utcnow()
        ends = [
            until
            for grant in self.home.grants.values()
            if is_live(grant, now) and (until := grant.schedule.valid_until) is not None
        ]
        if ends:
            self._expiry_timer = async_track_point_in_utc_time(
                self.hass, self._on_expiry, min(ends)
            )

    def _cancel_timer(self) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer()
            self._expiry_timer = None


class LastVisitSensor(KeyholderSensor, RestoreEntity):
    """When the last visit started; what is restored stands until the next visit."""

    _restored_value: datetime | None = None
    _restored_attributes: dict[str, str | None] | None = None

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if self.home.last_visit is not None:
            return
        if (last_state := await self.async_get_last_state()) is None:
            return
        if (value := dt_util.parse_datetime(last_state.state)) is not None:
            self._restored_value = value
            self._restored_attributes = {
                key: last_state.attributes.get(key) for key in (ATTR_DOOR, ATTR_GRANT, ATTR_OUTCOME)
            }

    @property
    def native_value(self) -> int | datetime | None:
        if self.home.last_visit is None:
            return self._restored_value
        return super().native_value

    @property
    def extra_state_attributes(self) -> dict[str, str | None] | None:
        if self.home.last_visit is None:
            return self._restored_attributes
        return super().extra_state_attributes
