"""Doors are added, edited and removed in the UI as config subentries of type "door".

The flows run through Home Assistant's real subentry flow manager, against entities
from real platforms: template locks, covers and binary sensors, and a local_file
camera. The car's tracker is an entity registry entry whose integration is not
loaded, the case of a car integration that starts after Keyholder.
"""

from __future__ import annotations

from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from homeassistant.components.template import cover as template_cover, lock as template_lock
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import SUBENTRY_TYPE_DOOR
from custom_components.keyholder.core.models import Door, DoorKind
from custom_components.keyholder.doors import (
    CONF_CAMERA,
    CONF_CAMERA_REQUIRED,
    CONF_CAR_TRACKER,
    CONF_CONTACT_SENSOR,
    CONF_KIND,
    CONF_MAX_VISIT,
    CONF_NAME,
    CONF_OPENER,
    CONF_RELOCK_DELAY,
    door_from_subentry,
    entry_doors,
    validate_door,
)

FRONT_LOCK = "lock.front"
GARAGE_COVER = "cover.garage"
FRONT_CONTACT = "binary_sensor.front_contact"
PORCH_CAMERA = "camera.porch"
CAR_TRACKER = "device_tracker.car"

FRONT_DOOR_INPUT: dict[str, Any] = {
    CONF_NAME: "  Front door  ",
    CONF_KIND: "door",
    CONF_OPENER: FRONT_LOCK,
    CONF_CONTACT_SENSOR: FRONT_CONTACT,
    CONF_CAMERA: PORCH_CAMERA,
    CONF_CAMERA_REQUIRED: True,
    CONF_RELOCK_DELAY: 45.0,  # number selectors hand back floats
    CONF_MAX_VISIT: 15.0,
}


@pytest.fixture
async def home_entities(hass: HomeAssistant, tmp_path: Path) -> None:
    """A lock, a garage cover, a contact sensor, a camera and a car's tracker.

    Template locks and covers moved from ``platform: template`` (HA 2025.4) to the
    ``template:`` block (newer releases, which dropped the old form); use whichever
    this Home Assistant has.
    """
    lock = {"name": "Front", "lock": [], "unlock": []}
    cover = {"name": "Garage", "open_cover": [], "close_cover": []}
    template: dict[str, Any] = {
        "binary_sensor": [{"name": "Front contact", "state": "{{ false }}"}]
    }
    legacy: dict[str, Any] = {}
    if hasattr(template_lock, "PLATFORM_SCHEMA"):
        legacy["lock"] = [{"platform": "template", "value_template": "{{ true }}", **lock}]
    else:
        template["lock"] = [{"state": "{{ true }}", **lock}]
    if hasattr(template_cover, "PLATFORM_SCHEMA"):
        garage = {"value_template": "{{ false }}", "open_cover": [], "close_cover": []}
        legacy["cover"] = [{"platform": "template", "covers": {"garage": garage}}]
    else:
        template["cover"] = [{"state": "{{ false }}", **cover}]
    # The template block first: a legacy platform would set up ``template`` without it.
    assert await async_setup_component(hass, "template", {"template": [template]})
    for domain, platforms in legacy.items():
        assert await async_setup_component(hass, domain, {domain: platforms})

    registry = er.async_get(hass)
    if find_spec("turbojpeg") is not None:
        picture = tmp_path / "porch.jpg"
        picture.write_bytes(b"\xff\xd8\xff\xd9")
        camera_entry = MockConfigEntry(
            domain="local_file", options={"name": "Porch", "file_path": str(picture)}
        )
        camera_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(camera_entry.entry_id)
    else:
        # The camera integration needs PyTurboJPEG, which the test environment of the
        # newest Home Assistant lacks; a camera whose integration is not loaded yet.
        registry.async_get_or_create("camera", "local_file", "porch", suggested_object_id="porch")
    registry.async_get_or_create("device_tracker", "car_maker", "vin-1", suggested_object_id="car")
    await hass.async_block_till_done()

    for entity_id in (FRONT_LOCK, GARAGE_COVER, FRONT_CONTACT):
        assert hass.states.get(entity_id) is not None, entity_id
    assert registry.async_get(PORCH_CAMERA) is not None
    assert registry.async_get(CAR_TRACKER) is not None
    assert hass.states.get(CAR_TRACKER) is None


async def _add_door(hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_DOOR), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


async def _edit_door(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str, user_input: dict[str, Any]
) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_DOOR),
        context={"source": "reconfigure", "subentry_id": subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


def _only_door(entry: MockConfigEntry) -> ConfigSubentry:
    (subentry,) = entry.subentries.values()
    return subentry


def _suggested(result: Any) -> dict[str, Any]:
    """The values a form shows pre-filled."""
    return {
        str(marker): (marker.description or {}).get("suggested_value")
        for marker in result["data_schema"].schema
    }


@pytest.mark.usefixtures("home_entities")
async def test_added_door_becomes_a_door(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Front door"
    subentry = _only_door(loaded_entry)
    assert subentry.subentry_type == SUBENTRY_TYPE_DOOR
    assert subentry.title == "Front door"
    assert door_from_subentry(subentry.subentry_id, subentry.data) == Door(
        id=subentry.subentry_id,
        name="Front door",
        kind=DoorKind.DOOR,
        opener=FRONT_LOCK,
        contact_sensor=FRONT_CONTACT,
        camera=PORCH_CAMERA,
        camera_required=True,
        relock_delay=timedelta(seconds=45),
        max_visit=timedelta(minutes=15),
    )
    assert subentry.data[CONF_RELOCK_DELAY] == 45
    assert isinstance(subentry.data[CONF_RELOCK_DELAY], int)
    assert entry_doors(loaded_entry) == {
        subentry.subentry_id: door_from_subentry(subentry.subentry_id, subentry.data)
    }


@pytest.mark.usefixtures("home_entities")
async def test_a_garage_with_only_an_opener_gets_the_defaults(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await _add_door(
        hass, loaded_entry, {CONF_NAME: "Garage", CONF_KIND: "garage", CONF_OPENER: GARAGE_COVER}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    subentry = _only_door(loaded_entry)
    assert door_from_subentry(subentry.subentry_id, subentry.data) == Door(
        id=subentry.subentry_id, name="Garage", kind=DoorKind.GARAGE, opener=GARAGE_COVER
    )


@pytest.mark.usefixtures("home_entities")
async def test_a_car_door_takes_a_tracker_whose_integration_is_not_loaded(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await _add_door(
        hass,
        loaded_entry,
        {
            CONF_NAME: "Car",
            CONF_KIND: "car",
            CONF_OPENER: FRONT_LOCK,
            CONF_CAR_TRACKER: CAR_TRACKER,
        },
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    door = door_from_subentry(_only_door(loaded_entry).subentry_id, _only_door(loaded_entry).data)
    assert door.kind is DoorKind.CAR
    assert door.car_tracker == CAR_TRACKER


@pytest.mark.usefixtures("home_entities")
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_NAME: "   "}, {CONF_NAME: "name_required"}),
        ({CONF_NAME: "x" * 65}, {CONF_NAME: "name_too_long"}),
        ({CONF_NAME: "Front\u202erood"}, {CONF_NAME: "name_character"}),  # reads "Frontdoor"
        ({CONF_NAME: "Front\x00door"}, {CONF_NAME: "name_character"}),
        ({CONF_NAME: "Front\ndoor"}, {CONF_NAME: "name_character"}),
        ({CONF_OPENER: "lock.back"}, {CONF_OPENER: "opener_not_found"}),
        (
            {CONF_CONTACT_SENSOR: "binary_sensor.back"},
            {CONF_CONTACT_SENSOR: "contact_sensor_not_found"},
        ),
        ({CONF_CAMERA: "camera.back"}, {CONF_CAMERA: "camera_not_found"}),
        ({CONF_KIND: "car"}, {CONF_CAR_TRACKER: "car_tracker_required"}),
        (
            {CONF_KIND: "car", CONF_CAR_TRACKER: "device_tracker.van"},
            {CONF_CAR_TRACKER: "car_tracker_not_found"},
        ),
        ({CONF_CAR_TRACKER: CAR_TRACKER}, {CONF_CAR_TRACKER: "car_tracker_only_for_cars"}),
        (
            {CONF_CAMERA: None, CONF_CAMERA_REQUIRED: True},
            {CONF_CAMERA_REQUIRED: "camera_required_without_camera"},
        ),
        ({CONF_RELOCK_DELAY: 12.5}, {CONF_RELOCK_DELAY: "relock_delay_invalid"}),
        ({CONF_MAX_VISIT: 2.5}, {CONF_MAX_VISIT: "max_visit_invalid"}),
        (
            {CONF_NAME: "", CONF_OPENER: "lock.back", CONF_CAMERA: None},
            {
                CONF_NAME: "name_required",
                CONF_OPENER: "opener_not_found",
                CONF_CAMERA_REQUIRED: "camera_required_without_camera",
            },
        ),
    ],
)
async def test_invalid_door_is_refused_per_field_and_nothing_is_added(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    user_input = {k: v for k, v in (FRONT_DOOR_INPUT | changes).items() if v is not None}

    result = await _add_door(hass, loaded_entry, user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert loaded_entry.subentries == {}
    # The refused form comes back filled in with what was typed.
    assert _suggested(result)[CONF_OPENER] == user_input[CONF_OPENER]


@pytest.mark.usefixtures("home_entities")
async def test_a_second_door_with_the_same_name_is_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    before = dict(loaded_entry.subentries)

    result = await _add_door(
        hass, loaded_entry, {CONF_NAME: "FRONT DOOR", CONF_OPENER: GARAGE_COVER}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_taken"}
    assert loaded_entry.subentries == before


@pytest.mark.usefixtures("home_entities")
async def test_an_opener_given_by_registry_id_must_still_be_a_lock_or_cover(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    # The entity selector passes registry ids through unchecked; the door must not.
    registry = er.async_get(hass)
    contact_id = registry.async_get_or_create("binary_sensor", "zha", "contact-1").id
    lock_id = registry.async_get_or_create("lock", "zha", "lock-1", suggested_object_id="back").id

    result = await _add_door(hass, loaded_entry, {CONF_NAME: "Back", CONF_OPENER: contact_id})
    assert result["errors"] == {CONF_OPENER: "opener_wrong_domain"}
    assert loaded_entry.subentries == {}

    result = await _add_door(hass, loaded_entry, {CONF_NAME: "Back", CONF_OPENER: lock_id})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _only_door(loaded_entry).data[CONF_OPENER] == "lock.back"


@pytest.mark.usefixtures("home_entities")
@pytest.mark.parametrize(
    "changes",
    [
        {CONF_OPENER: FRONT_CONTACT},  # not a lock or a cover
        {CONF_CAMERA: FRONT_LOCK},
        {CONF_KIND: "boat"},
        {CONF_RELOCK_DELAY: 3601},
        {CONF_RELOCK_DELAY: -1},
        {CONF_MAX_VISIT: 0},
        {CONF_MAX_VISIT: 241},
        {CONF_OPENER: None},
    ],
)
async def test_values_the_form_itself_forbids_are_refused_and_nothing_is_added(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, changes: dict[str, Any]
) -> None:
    user_input = {k: v for k, v in (FRONT_DOOR_INPUT | changes).items() if v is not None}

    with pytest.raises(InvalidData):
        await _add_door(hass, loaded_entry, user_input)

    assert loaded_entry.subentries == {}


@pytest.mark.usefixtures("home_entities")
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_RELOCK_DELAY: 3601}, {CONF_RELOCK_DELAY: "relock_delay_invalid"}),
        ({CONF_MAX_VISIT: 0}, {CONF_MAX_VISIT: "max_visit_invalid"}),
        ({CONF_MAX_VISIT: "10"}, {CONF_MAX_VISIT: "max_visit_invalid"}),
        ({CONF_KIND: "boat"}, {CONF_KIND: "kind_invalid"}),
        ({CONF_OPENER: None}, {CONF_OPENER: "opener_required"}),
        ({CONF_CAMERA: FRONT_LOCK}, {CONF_CAMERA: "camera_wrong_domain"}),
    ],
)
async def test_validation_does_not_rely_on_the_form(
    hass: HomeAssistant, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    user_input = {k: v for k, v in (FRONT_DOOR_INPUT | changes).items() if v is not None}

    _, found = validate_door(hass, user_input, set())

    assert found == errors


@pytest.mark.usefixtures("home_entities")
async def test_editing_a_door_changes_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    subentry_id = _only_door(loaded_entry).subentry_id

    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, SUBENTRY_TYPE_DOOR),
        context={"source": "reconfigure", "subentry_id": subentry_id},
    )
    shown = _suggested(result)
    assert shown[CONF_NAME] == "Front door"
    assert shown[CONF_OPENER] == FRONT_LOCK
    assert shown[CONF_CAMERA] == PORCH_CAMERA
    assert shown[CONF_RELOCK_DELAY] == 45

    # Clearing the camera (an omitted key) must remove it, not keep the old one.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Garage",
            CONF_KIND: "garage",
            CONF_OPENER: GARAGE_COVER,
            CONF_CONTACT_SENSOR: FRONT_CONTACT,
            CONF_RELOCK_DELAY: 0,
            CONF_MAX_VISIT: 240,
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = _only_door(loaded_entry)
    assert subentry.subentry_id == subentry_id
    assert subentry.title == "Garage"
    assert door_from_subentry(subentry_id, subentry.data) == Door(
        id=subentry_id,
        name="Garage",
        kind=DoorKind.GARAGE,
        opener=GARAGE_COVER,
        contact_sensor=FRONT_CONTACT,
        relock_delay=timedelta(0),
        max_visit=timedelta(minutes=240),
    )


@pytest.mark.usefixtures("home_entities")
async def test_a_door_keeps_its_own_name_when_edited(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    subentry_id = _only_door(loaded_entry).subentry_id

    result = await _edit_door(
        hass, loaded_entry, subentry_id, FRONT_DOOR_INPUT | {CONF_NAME: "FRONT DOOR"}
    )

    assert result["reason"] == "reconfigure_successful"
    assert _only_door(loaded_entry).title == "FRONT DOOR"


@pytest.mark.usefixtures("home_entities")
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_NAME: "garage"}, {CONF_NAME: "name_taken"}),
        ({CONF_OPENER: "lock.back"}, {CONF_OPENER: "opener_not_found"}),
        ({CONF_KIND: "car"}, {CONF_CAR_TRACKER: "car_tracker_required"}),
    ],
)
async def test_an_invalid_edit_changes_nothing(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    await _add_door(hass, loaded_entry, {CONF_NAME: "Garage", CONF_OPENER: GARAGE_COVER})
    await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    front = next(s for s in loaded_entry.subentries.values() if s.title == "Front door")
    before = dict(loaded_entry.subentries)

    result = await _edit_door(hass, loaded_entry, front.subentry_id, FRONT_DOOR_INPUT | changes)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert loaded_entry.subentries == before


@pytest.mark.usefixtures("home_entities")
async def test_removing_a_door_removes_only_that_door(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await _add_door(hass, loaded_entry, {CONF_NAME: "Garage", CONF_OPENER: GARAGE_COVER})
    await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    doors = {s.title: s.subentry_id for s in loaded_entry.subentries.values()}

    assert hass.config_entries.async_remove_subentry(loaded_entry, doors["Front door"])
    await hass.async_block_till_done()

    assert list(entry_doors(loaded_entry)) == [doors["Garage"]]
    # The name is free again.
    result = await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("home_entities")
async def test_a_door_renamed_in_place_goes_by_its_new_name(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await _add_door(hass, loaded_entry, FRONT_DOOR_INPUT)
    subentry = _only_door(loaded_entry)

    # What the UI's rename does: the title changes, the data does not.
    hass.config_entries.async_update_subentry(loaded_entry, subentry, title="Main entrance")

    assert entry_doors(loaded_entry)[subentry.subentry_id].name == "Main entrance"
    result = await _add_door(
        hass, loaded_entry, {CONF_NAME: "main ENTRANCE", CONF_OPENER: GARAGE_COVER}
    )
    assert result["errors"] == {CONF_NAME: "name_taken"}
