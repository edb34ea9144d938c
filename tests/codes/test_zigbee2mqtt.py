"""The Zigbee2MQTT backend against the real broker and Home Assistant's real mqtt.

Mosquitto on 127.0.0.1:1883 carries everything: Home Assistant's mqtt integration
on one side, a simulated Zigbee2MQTT lock (``simulators.zigbee2mqtt_lock``) as a separate client on
the other. Nothing about MQTT is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging

from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.codes.base import (
    MASKED,
    CodeError,
    CodeErrorReason,
    RadioTimings,
    SlotState,
)
from custom_components.keyholder.codes.slots import SlotCode
from custom_components.keyholder.codes.zigbee2mqtt import Zigbee2MqttLock, device_topic
from simulators.zigbee2mqtt_lock import SimulatedZ2mLock, until

from .sync_runs import sync_until_done

SLOTS = range(10, 15)
PIN = "482913"
KEY = b"k" * 32


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None
) -> AsyncIterator[MockConfigEntry]:
    """Home Assistant's mqtt integration, connected to the real broker.

    ``mock_hass_config`` only stands in for configuration.yaml, which mqtt reads.
    """
    entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": 1883})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await until(lambda: hass.data[DATA_MQTT].client.connected, "the broker connection")
    yield entry
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
async def lock_device(hass: HomeAssistant) -> AsyncIterator[SimulatedZ2mLock]:
    device = SimulatedZ2mLock()
    await hass.async_add_executor_job(device.start)
    yield device
    await hass.async_add_executor_job(device.stop)


@pytest.fixture
async def lock_entity(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, lock_device: SimulatedZ2mLock
) -> str:
    """The lock entity Home Assistant created from the simulated lock's discovery."""
    registry = er.async_get(hass)
    await until(
        lambda: registry.async_get_entity_id("lock", "mqtt", lock_device.unique_id),
        "the discovered lock entity",
    )
    entity_id = registry.async_get_entity_id("lock", "mqtt", lock_device.unique_id)
    assert entity_id is not None
    return entity_id


@pytest.fixture
async def backend(hass: HomeAssistant, lock_entity: str) -> AsyncIterator[Zigbee2MqttLock]:
    backend = Zigbee2MqttLock.from_entity(
        hass, lock_entity, SLOTS, RadioTimings(timeout=1.0, read_after_write=0.3)
    )
    yield backend
    await backend.async_close()


async def test_the_device_topic_comes_from_discovery(hass, lock_entity, lock_device):
    assert device_topic(hass, lock_entity) == lock_device.device_topic


async def test_an_entity_that_is_not_mqtt_has_no_topic(hass, mqtt_entry):
    with pytest.raises(CodeError) as caught:
        device_topic(hass, "lock.front")
    assert caught.value.reason is CodeErrorReason.UNAVAILABLE


async def test_set_read_back_and_clear(hass, backend, lock_device, caplog):
    caplog.set_level(logging.DEBUG)
    await backend.set_code(12, PIN)
    assert lock_device.pins == {12: PIN}
    assert await backend.read_code(12) is MASKED  # Zigbee2MQTT hides PINs by default
    await backend.clear_code(12)
    assert lock_device.pins == {}
    assert await backend.read_code(12) is None
    assert PIN not in caplog.text
    assert "<redacted>" in caplog.text  # Home Assistant's own mqtt debug log, blanked


async def test_an_exposed_pin_reads_back_as_itself(hass, backend, lock_device, caplog):
    caplog.set_level(logging.DEBUG)
    lock_device.expose_pin = True
    await backend.set_code(10, PIN)
    assert await backend.read_code(10) == PIN
    assert PIN not in caplog.text


async def test_a_keypad_unlock_reports_its_slot(hass, backend, lock_device):
    seen: list[int] = []
    unsubscribe = await backend.subscribe_keypad(seen.append)
    await hass.async_add_executor_job(lock_device.emit_keypad_unlock, 13)
    await hass.async_add_executor_job(lock_device.emit_keypad_unlock, 2)  # not ours
    await until(lambda: seen, "the keypad event")
    await asyncio.sleep(0.2)
    assert seen == [13]
    unsubscribe()
    await hass.async_add_executor_job(lock_device.emit_keypad_unlock, 13)
    await asyncio.sleep(0.2)
    assert seen == [13]


async def test_slots_outside_the_range_are_never_touched(hass, backend, lock_device):
    for operation in (
        backend.set_code(9, PIN),
        backend.clear_code(15),
        backend.read_code(0),
    ):
        with pytest.raises(CodeError) as caught:
            await operation
        assert caught.value.reason is CodeErrorReason.OUT_OF_RANGE
    await asyncio.sleep(0.2)
    assert lock_device.commands == []


async def test_a_silent_device_times_out_and_is_never_reported_set(
    hass, backend, lock_device, caplog
):
    caplog.set_level(logging.DEBUG)
    lock_device.answering = False
    with pytest.raises(CodeError) as caught:
        await backend.set_code(11, PIN)
    assert caught.value.reason is CodeErrorReason.TIMEOUT
    assert caught.value.retryable
    assert [topic for topic, _ in lock_device.commands] == ["set", "get"]
    assert PIN not in caplog.text
    assert PIN not in str(caught.value)


async def test_a_pin_the_lock_cannot_hold_is_refused_before_the_radio(hass, backend, lock_device):
    with pytest.raises(CodeError) as caught:
        await backend.set_code(10, "12")
    assert caught.value.reason is CodeErrorReason.REJECTED
    await asyncio.sleep(0.2)
    assert lock_device.commands == []


async def test_schedules_are_not_supported(hass, backend):
    with pytest.raises(CodeError) as caught:
        await backend.clear_schedule(10)
    assert caught.value.reason is CodeErrorReason.NOT_SUPPORTED


async def _sync(backend, desired_pins, records, *, runs=10):
    """Sync PINs without schedules, as a Zigbee2MQTT lock keeps them."""
    desired = {slot: SlotCode(pin) for slot, pin in desired_pins.items()}
    return await sync_until_done(backend, SLOTS, desired, records, key=KEY, runs=runs)


async def test_sync_puts_the_code_on_and_a_restart_sends_nothing(hass, lock_entity, lock_device):
    first = Zigbee2MqttLock.from_entity(
        hass, lock_entity, SLOTS, RadioTimings(timeout=1.0, read_after_write=0.3)
    )
    records = await _sync(first, {12: PIN}, {})
    await first.async_close()
    assert lock_device.pins == {12: PIN}
    assert records[12].state is SlotState.SET  # masked read-back accepted, once
    writes = [topic for topic, _ in lock_device.commands if topic == "set"]
    assert len(writes) == len(SLOTS)  # each slot of the range written or cleared once

    # Home Assistant restarts: the persisted records say everything is in place.
    sent = len(lock_device.commands)
    again = Zigbee2MqttLock.from_entity(
        hass, lock_entity, SLOTS, RadioTimings(timeout=1.0, read_after_write=0.3)
    )
    assert await _sync(again, {12: PIN}, dict(records)) == records
    await again.async_close()
    assert len(lock_device.commands) == sent


async def test_a_dead_lock_does_not_hold_up_another(hass, mqtt_entry, lock_entity, lock_device):
    dead = SimulatedZ2mLock(name="Back door lock")
    await hass.async_add_executor_job(dead.start)
    try:
        registry = er.async_get(hass)
        await until(
            lambda: registry.async_get_entity_id("lock", "mqtt", dead.unique_id), "the second lock"
        )
        dead.answering = False
        dead_entity = registry.async_get_entity_id("lock", "mqtt", dead.unique_id)
        assert dead_entity is not None
        alive = Zigbee2MqttLock.from_entity(
            hass, lock_entity, SLOTS, RadioTimings(timeout=1.0, read_after_write=0.3)
        )
        silent = Zigbee2MqttLock.from_entity(
            hass, dead_entity, SLOTS, RadioTimings(timeout=0.5, read_after_write=0.1)
        )
        good, bad = await asyncio.gather(
            _sync(alive, {12: PIN}, {}), _sync(silent, {12: PIN}, {}, runs=1)
        )
        await alive.async_close()
        await silent.async_close()
    finally:
        await hass.async_add_executor_job(dead.stop)
    assert lock_device.pins == {12: PIN}
    assert good[12].state is SlotState.SET
    assert {record.state for record in bad.values()} == {SlotState.CLEARING}
    assert all(record.retry_at is not None for record in bad.values())
    assert dead.pins == {}
