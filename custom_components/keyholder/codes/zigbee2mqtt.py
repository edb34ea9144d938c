"""Keypad codes on Zigbee2MQTT locks, through Home Assistant's own MQTT connection.

Where the lock lives
--------------------
Zigbee2MQTT's base topic and the device's friendly name are whatever the user
configured, so they are read from the lock entity's MQTT discovery data, never
assumed. Home Assistant keeps that data per discovered entity in
``hass.data[DATA_MQTT].debug_info_entities[entity_id]["discovery_data"]``
(written by ``mqtt.debug_info.add_entity_discovery_data`` when the entity is
created from discovery; the same on 2025.4 and 2026.10). Its
``discovery_payload`` already has abbreviations expanded and ``~`` resolved, so
its ``command_topic`` is literally ``<base>/<friendly name>/set``.

The protocol (zigbee-herdsman-converters ``pincode_lock`` / ``lock_pin_code_response``)
---------------------------------------------------------------------------
- set:   ``<device>/set`` ``{"pin_code": {"user": N, "user_type": "unrestricted",
  "user_enabled": true, "pin_code": "1234"}}``; ``"pin_code": null`` clears.
- read:  ``<device>/get`` ``{"pin_code": {"user": N}}``; the answer is a state
  message on ``<device>`` with ``users: {"N": {"status": ..., "pin_code": ...}}``.
  ``pin_code`` is there only with the device option ``expose_pin``; without it
  the read is masked (``status: enabled`` says only that the slot is occupied).
- keypad: a state message with ``action: "unlock"``, ``action_source_name:
  "keypad"`` and ``action_user: N``.

A write counts as done only when a state message after it shows the slot the
way we wrote it (Zigbee2MQTT reads back after a write; if no answer comes, we
ask with ``/get``). Nothing within the timeout is ``CodeError(TIMEOUT)``.
Known limit: Zigbee2MQTT caches state, so an unrelated report from a lock that
dropped our write could carry an old ``users`` entry; with a masked lock that
cannot be told from a fresh answer.

Home Assistant's mqtt integration logs payloads at debug level (sent and
received, and again when the lock entity renders its template); a log filter
(``_PinRedactor``) blanks ``pin_code`` values in those records, so turning on
MQTT debug logging does not put PINs in the log. With ``expose_pin`` on,
Zigbee2MQTT still puts PINs in the MQTT device's debug info: leave it off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import suppress
import json
import logging
import re
import secrets
from typing import Any, Self

from homeassistant.components import mqtt
from homeassistant.components.mqtt.const import ATTR_DISCOVERY_PAYLOAD
from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .base import (
    MASKED,
    CodeError,
    CodeErrorReason,
    KeypadCallback,
    LockCapabilities,
    RadioTimings,
    ReadBack,
    Unsubscribe,
    check_pin,
    check_slot,
)
from .lock_schedule import LockSchedule

_LOGGER = logging.getLogger(__name__)
# Home Assistant's mqtt loggers that print payloads at debug level: what is sent
# and received (client) and what an MQTT entity's template renders (models).
_MQTT_PAYLOAD_LOGGERS = (
    "homeassistant.components.mqtt.client",
    "homeassistant.components.mqtt.models",
)
_PROBE_BASE = "keyholder/probe"


class _PinRedactor(logging.Filter):
    """Blanks ``"pin_code": "..."`` in MQTT client log records (sent and received)."""

    _PIN = re.compile(r'("pin_code"\s*:\s*)"?\d+"?')

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(arg) for arg in record.args)
        return True

    def _redact(self, arg: object) -> object:
        if isinstance(arg, bytes | bytearray):
            arg = bytes(arg).decode(errors="replace")
        if isinstance(arg, str) and "pin_code" in arg:
            return self._PIN.sub(r'\1"<redacted>"', arg)
        return arg


_REDACTOR = _PinRedactor()


def device_topic(hass: HomeAssistant, entity_id: str) -> str:
    """``<base>/<friendly name>`` of the Zigbee2MQTT device behind a lock entity."""
    entities = hass.data[DATA_MQTT].debug_info_entities if DATA_MQTT in hass.data else {}
    if (info := entities.get(entity_id)) is None:
        raise CodeError(CodeErrorReason.UNAVAILABLE, f"{entity_id} is not an MQTT entity")
    payload: Mapping[str, Any] = info["discovery_data"].get(ATTR_DISCOVERY_PAYLOAD) or {}
    command = payload.get("command_topic")
    if not isinstance(command, str) or not command.endswith("/set"):
        raise CodeError(
            CodeErrorReason.NOT_SUPPORTED, f"{entity_id} was not discovered from Zigbee2MQTT"
        )
    return command.removesuffix("/set")


class Zigbee2MqttLock:
    """One Zigbee2MQTT lock as a ``CodeBackend``; one radio operation at a time."""

    def __init__(
        self,
        hass: HomeAssistant,
        topic: str,
        capabilities: LockCapabilities,
        timings: RadioTimings,
    ) -> None:
        self._hass = hass
        self._topic = topic
        self._capabilities = capabilities
        self._timeout = timings.timeout
        self._read_after_write = timings.read_after_write
        self._radio = asyncio.Lock()
        self._listening = asyncio.Lock()
        self._unsubscribe: Unsubscribe | None = None
        self._answers: dict[int, list[asyncio.Future[Mapping[str, Any]]]] = {}
        self._keypad: list[KeypadCallback] = []
        for name in _MQTT_PAYLOAD_LOGGERS:
            logging.getLogger(name).addFilter(_REDACTOR)  # idempotent

    @classmethod
    def from_entity(
        cls, hass: HomeAssistant, entity_id: str, slots: range, timings: RadioTimings
    ) -> Self:
        """The backend for a discovered lock entity, using the homeowner's ``slots``.

        Zigbee2MQTT hides PINs on read unless ``expose_pin`` is set, so the lock is
        assumed to mask; an exposed PIN is checked all the same.
        """
        capabilities = LockCapabilities(slots, supports_read_back=True, masks_codes_on_read=True)
        return cls(hass, device_topic(hass, entity_id), capabilities, timings)

    def __repr__(self) -> str:
        return f"Zigbee2MqttLock({self._topic!r})"

    async def capabilities(self) -> LockCapabilities:
        return self._capabilities

    async def set_code(self, slot: int, pin: str, schedule: LockSchedule | None = None) -> None:
        check_slot(self._capabilities, slot)
        if schedule is not None:
            raise CodeError(CodeErrorReason.NOT_SUPPORTED, "Zigbee2MQTT has no PIN schedules")
        check_pin(self._capabilities, pin)
        entry = await self._write(
            slot,
            {"user": slot, "user_type": "unrestricted", "user_enabled": True, "pin_code": pin},
        )
        shown = entry.get("pin_code")
        if entry.get("status") != "enabled" or (shown is not None and str(shown) != pin):
            raise CodeError(CodeErrorReason.REJECTED, f"slot {slot} did not take the code")
        _LOGGER.debug("%s: code in slot %s confirmed", self._topic, slot)

    async def clear_code(self, slot: int) -> None:
        check_slot(self._capabilities, slot)
        entry = await self._write(slot, {"user": slot, "pin_code": None})
        if entry.get("status") != "available":
            raise CodeError(CodeErrorReason.REJECTED, f"slot {slot} was not cleared")
        _LOGGER.debug("%s: slot %s confirmed empty", self._topic, slot)

    async def read_code(self, slot: int) -> ReadBack:
        check_slot(self._capabilities, slot)
        async with self._radio:
            entry = await self._ask(slot, write=None)
        if entry.get("status") in (None, "available"):
            return None
        shown = entry.get("pin_code")
        return MASKED if shown is None else str(shown)

    async def set_schedule(self, slot: int, schedule: LockSchedule) -> None:
        raise CodeError(CodeErrorReason.NOT_SUPPORTED, "Zigbee2MQTT has no PIN schedules")

    async def clear_schedule(self, slot: int) -> None:
        raise CodeError(CodeErrorReason.NOT_SUPPORTED, "Zigbee2MQTT has no PIN schedules")

    async def subscribe_keypad(self, callback: KeypadCallback) -> Unsubscribe:
        await self._listen()
        self._keypad.append(callback)

        def unsubscribe() -> None:
            if callback in self._keypad:
                self._keypad.remove(callback)

        return unsubscribe

    async def async_close(self) -> None:
        """Stop listening; pending operations end with ``UNAVAILABLE``."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for waiting in self._answers.values():
            for answer in waiting:
                if not answer.done():
                    answer.set_exception(CodeError(CodeErrorReason.UNAVAILABLE, "closed"))
        self._keypad.clear()

    async def _write(self, slot: int, pin_code: dict[str, Any]) -> Mapping[str, Any]:
        async with self._radio:
            return await self._ask(slot, write=pin_code)

    async def _ask(self, slot: int, *, write: dict[str, Any] | None) -> Mapping[str, Any]:
        """Send a write (then wait for Zigbee2MQTT's own read-back) or a read; the answer.

        The answer is the slot's entry in the first state message after the request.
        """
        await self._listen()
        answer: asyncio.Future[Mapping[str, Any]] = self._hass.loop.create_future()
        self._answers.setdefault(slot, []).append(answer)
        try:
            async with asyncio.timeout(self._timeout):
                if write is not None:
                    await self._publish("set", {"pin_code": write})
                    done, _ = await asyncio.wait([answer], timeout=self._read_after_write)
                    if done:
                        return answer.result()
                await self._publish("get", {"pin_code": {"user": slot}})
                return await answer
        except TimeoutError:
            raise CodeError(CodeErrorReason.TIMEOUT, f"no answer for slot {slot}") from None
        finally:
            self._answers[slot].remove(answer)

    async def _publish(self, suffix: str, payload: dict[str, Any]) -> None:
        try:
            await mqtt.async_publish(self._hass, f"{self._topic}/{suffix}", json.dumps(payload), 1)
        except HomeAssistantError as err:
            raise CodeError(CodeErrorReason.UNAVAILABLE, "MQTT is not connected") from err

    async def _listen(self) -> None:
        """Subscribe to the device's state, and wait until the broker has it.

        Home Assistant batches subscriptions, so a request sent right after
        ``async_subscribe`` could be answered before the broker knows about it.
        A probe topic subscribed afterwards on the same connection echoes back
        only once both subscriptions are in place (a broker handles them in order).
        """
        async with self._listening:
            if self._unsubscribe is not None:
                return
            try:
                unsubscribe = await mqtt.async_subscribe(self._hass, self._topic, self._on_state)
                await self._probe()
            except (HomeAssistantError, TimeoutError) as err:
                raise CodeError(CodeErrorReason.UNAVAILABLE, "MQTT is not connected") from err
            self._unsubscribe = unsubscribe

    async def _probe(self) -> None:
        topic = f"{_PROBE_BASE}/{secrets.token_hex(8)}"
        echoed = asyncio.Event()

        @callback
        def _echo(_msg: mqtt.ReceiveMessage) -> None:  # a callback: mqtt runs others in a thread
            echoed.set()

        unsubscribe = await mqtt.async_subscribe(self._hass, topic, _echo)
        try:
            async with asyncio.timeout(self._timeout):
                while not echoed.is_set():
                    await mqtt.async_publish(self._hass, topic, "", 0)
                    with suppress(TimeoutError):
                        async with asyncio.timeout(0.2):
                            await echoed.wait()
        finally:
            unsubscribe()

    @callback
    def _on_state(self, msg: mqtt.ReceiveMessage) -> None:
        try:
            state = json.loads(msg.payload)
        except ValueError:
            return
        if not isinstance(state, dict):
            return
        users = state.get("users")
        if isinstance(users, dict):
            for slot, waiting in self._answers.items():
                entry = users.get(str(slot))
                if isinstance(entry, dict):
                    for answer in waiting:
                        if not answer.done():
                            answer.set_result(entry)
        user = state.get("action_user")
        if (
            not msg.retain  # an old retained unlock is not a new visit
            and state.get("action") == "unlock"
            and state.get("action_source_name") == "keypad"
            and isinstance(user, int)
            and user in self._capabilities.slots
        ):
            for keypad in list(self._keypad):
                keypad(user)
