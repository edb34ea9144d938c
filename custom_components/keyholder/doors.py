"""Doors as config subentries: what the homeowner enters, and the ``Door`` it becomes.

Each door is one subentry of type ``door`` on the home's entry, so Home Assistant
gives it add / edit / delete in the UI, and deleting it clears the devices and
entities registered under it.
The data holds the door in plain JSON values and ``door_from_subentry`` turns it
into the core's ``Door``. The name is stored twice, as the subentry title (what the
UI lists, and what it can rename in place) and in the data; ``entry_doors`` lets
the title win so a rename is never lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, selector

from .const import SUBENTRY_TYPE_DOOR
from .core.models import MAX_NAME_LENGTH, Door, DoorKind
from .core.names import refused_character
from .validation import vol

CONF_NAME: Final = "name"
CONF_KIND: Final = "kind"
CONF_OPENER: Final = "opener"
CONF_CONTACT_SENSOR: Final = "contact_sensor"
CONF_CAMERA: Final = "camera"
CONF_CAMERA_REQUIRED: Final = "camera_required"
CONF_RELOCK_DELAY: Final = "relock_delay"  # seconds
CONF_MAX_VISIT: Final = "max_visit"  # minutes
CONF_CAR_TRACKER: Final = "car_tracker"
CONF_FIRST_SLOT: Final = "first_keypad_slot"
CONF_LAST_SLOT: Final = "last_keypad_slot"

DEFAULT_RELOCK_DELAY: Final = 30
DEFAULT_MAX_VISIT: Final = 10
RELOCK_DELAY_RANGE: Final = (0, 3600)
MAX_VISIT_RANGE: Final = (1, 240)
# Zigbee Door Lock user ids are 0-based and at most 0xFFFE; locks hold far fewer.
KEYPAD_SLOT_RANGE: Final = (0, 254)

# The entity fields, with the domains each may name.
_ENTITY_DOMAINS: Final[Mapping[str, tuple[str, ...]]] = {
    CONF_OPENER: ("lock", "cover"),
    CONF_CONTACT_SENSOR: ("binary_sensor",),
    CONF_CAMERA: ("camera",),
    CONF_CAR_TRACKER: ("device_tracker",),
}


def door_schema() -> vol.Schema:
    """The one form for adding and editing a door, so the two can never drift apart.

    Optional entities carry no default: a default would come back when the homeowner
    clears the field. The flow fills in current values as suggestions instead.
    """

    def entity(field: str) -> selector.EntitySelector:
        return selector.EntitySelector(
            selector.EntitySelectorConfig(domain=list(_ENTITY_DOMAINS[field]))
        )

    def number(bounds: tuple[int, int], unit: str | None = None) -> selector.NumberSelector:
        config = selector.NumberSelectorConfig(
            min=bounds[0], max=bounds[1], step=1, mode=selector.NumberSelectorMode.BOX
        )
        if unit is not None:
            config["unit_of_measurement"] = unit
        return selector.NumberSelector(config)

    return vol.Schema(
        {
            vol.Required(CONF_NAME): selector.TextSelector(),
            vol.Required(CONF_KIND, default=DoorKind.DOOR.value): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[kind.value for kind in DoorKind],
                    translation_key="door_kind",
                    mode=selector.SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_OPENER): entity(CONF_OPENER),
            vol.Optional(CONF_CONTACT_SENSOR): entity(CONF_CONTACT_SENSOR),
            vol.Optional(CONF_CAMERA): entity(CONF_CAMERA),
            vol.Optional(CONF_CAMERA_REQUIRED, default=False): selector.BooleanSelector(),
            vol.Optional(CONF_RELOCK_DELAY, default=DEFAULT_RELOCK_DELAY): number(
                RELOCK_DELAY_RANGE, UnitOfTime.SECONDS
            ),
            vol.Optional(CONF_MAX_VISIT, default=DEFAULT_MAX_VISIT): number(
                MAX_VISIT_RANGE, UnitOfTime.MINUTES
            ),
            vol.Optional(CONF_CAR_TRACKER): entity(CONF_CAR_TRACKER),
            vol.Optional(CONF_FIRST_SLOT): number(KEYPAD_SLOT_RANGE),
            vol.Optional(CONF_LAST_SLOT): number(KEYPAD_SLOT_RANGE),
        }
    )


def validate_door(
    hass: HomeAssistant, user_input: Mapping[str, Any], taken_names: set[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a submitted door form; return (subentry data, errors keyed by field).

    The form's selectors already check types and ranges; this checks what they
    cannot (the entities exist, the fields fit together, the name is free) and
    repeats the ranges so a door never reaches storage outside them. ``taken_names``
    are the casefolded names of the home's other doors. The data is only meaningful
    when there are no errors.
    """
    data: dict[str, Any] = {
        CONF_NAME: str(user_input.get(CONF_NAME, "")).strip(),
        CONF_KIND: user_input.get(CONF_KIND, DoorKind.DOOR.value),
        CONF_CAMERA_REQUIRED: bool(user_input.get(CONF_CAMERA_REQUIRED, False)),
    }
    errors: dict[str, str] = {}
    if error := _name_error(data[CONF_NAME], taken_names):
        errors[CONF_NAME] = error
    if data[CONF_KIND] not in DoorKind:
        errors[CONF_KIND] = "kind_invalid"

    registry = er.async_get(hass)
    for field, domains in _ENTITY_DOMAINS.items():
        if value := user_input.get(field):
            entity_id = er.async_resolve_entity_id(registry, str(value))
            if entity_id is None or (
                hass.states.get(entity_id) is None and registry.async_get(entity_id) is None
            ):
                errors[field] = f"{field}_not_found"
            elif entity_id.partition(".")[0] not in domains:
                errors[field] = f"{field}_wrong_domain"
            else:
                data[field] = entity_id

    for field, error in _combination_errors(data[CONF_KIND], user_input).items():
        errors.setdefault(field, error)

    for field, (low, high), default in (
        (CONF_RELOCK_DELAY, RELOCK_DELAY_RANGE, DEFAULT_RELOCK_DELAY),
        (CONF_MAX_VISIT, MAX_VISIT_RANGE, DEFAULT_MAX_VISIT),
    ):
        number = _whole_number(user_input.get(field, default))
        if number is None or not low <= number <= high:
            errors[field] = f"{field}_invalid"
        data[field] = number

    slots, slot_errors = _keypad_slots(user_input)
    errors.update(slot_errors)
    if slots is not None:
        data[CONF_FIRST_SLOT], data[CONF_LAST_SLOT] = slots
    return data, errors


def _keypad_slots(
    user_input: Mapping[str, Any],
) -> tuple[tuple[int, int] | None, dict[str, str]]:
    """The keypad slot range, both ends or neither; neither leaves the door remote-only."""
    given = {
        field: user_input[field]
        for field in (CONF_FIRST_SLOT, CONF_LAST_SLOT)
        if user_input.get(field) is not None
    }
    if not given:
        return None, {}
    ends: dict[str, int] = {}
    errors: dict[str, str] = {}
    low, high = KEYPAD_SLOT_RANGE
    for field in (CONF_FIRST_SLOT, CONF_LAST_SLOT):
        if field not in given:
            errors[field] = "keypad_slots_incomplete"
        elif (number := _whole_number(given[field])) is None or not low <= number <= high:
            errors[field] = "keypad_slot_invalid"
        else:
            ends[field] = number
    if not errors and ends[CONF_LAST_SLOT] < ends[CONF_FIRST_SLOT]:
        errors[CONF_LAST_SLOT] = "keypad_slots_reversed"
    if errors:
        return None, errors
    return (ends[CONF_FIRST_SLOT], ends[CONF_LAST_SLOT]), {}


def _name_error(name: str, taken_names: set[str]) -> str | None:
    if not name:
        return "name_required"
    if len(name) > MAX_NAME_LENGTH:
        return "name_too_long"
    if refused_character(name) is not None:
        return "name_character"
    if name.casefold() in taken_names:
        return "name_taken"
    return None


def _combination_errors(kind: str, user_input: Mapping[str, Any]) -> dict[str, str]:
    """Rules between fields: what a door needs depends on its kind and its policy."""
    errors: dict[str, str] = {}
    if not user_input.get(CONF_OPENER):
        errors[CONF_OPENER] = "opener_required"
    if kind == DoorKind.CAR and not user_input.get(CONF_CAR_TRACKER):
        errors[CONF_CAR_TRACKER] = "car_tracker_required"
    elif kind != DoorKind.CAR and user_input.get(CONF_CAR_TRACKER):
        errors[CONF_CAR_TRACKER] = "car_tracker_only_for_cars"
    if user_input.get(CONF_CAMERA_REQUIRED) and not user_input.get(CONF_CAMERA):
        errors[CONF_CAMERA_REQUIRED] = "camera_required_without_camera"
    return errors


def _whole_number(value: Any) -> int | None:
    """Number selectors hand back floats (``30.0``); store whole numbers as ``int``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def taken_door_names(entry: ConfigEntry, except_subentry_id: str | None = None) -> set[str]:
    """Casefolded names of the entry's doors, leaving out the one being edited."""
    return {
        subentry.title.casefold()
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_TYPE_DOOR
        and subentry.subentry_id != except_subentry_id
    }


def door_from_subentry(subentry_id: str, data: Mapping[str, Any]) -> Door:
    """The core's ``Door`` for stored subentry data; ``Door.id`` is the subentry id."""
    return Door(
        id=subentry_id,
        name=data[CONF_NAME],
        kind=DoorKind(data[CONF_KIND]),
        opener=data[CONF_OPENER],
        contact_sensor=data.get(CONF_CONTACT_SENSOR),
        camera=data.get(CONF_CAMERA),
        camera_required=bool(data.get(CONF_CAMERA_REQUIRED, False)),
        relock_delay=timedelta(seconds=int(data.get(CONF_RELOCK_DELAY, DEFAULT_RELOCK_DELAY))),
        max_visit=timedelta(minutes=int(data.get(CONF_MAX_VISIT, DEFAULT_MAX_VISIT))),
        car_tracker=data.get(CONF_CAR_TRACKER),
        keypad_slots=(
            range(int(data[CONF_FIRST_SLOT]), int(data[CONF_LAST_SLOT]) + 1)
            if data.get(CONF_FIRST_SLOT) is not None and data.get(CONF_LAST_SLOT) is not None
            else None
        ),
    )


def entry_doors(entry: ConfigEntry) -> dict[str, Door]:
    """All doors of a home by id, named by their subentry titles (a rename wins)."""
    return {
        subentry.subentry_id: door_from_subentry(
            subentry.subentry_id, {**subentry.data, CONF_NAME: subentry.title}
        )
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_TYPE_DOOR
    }
