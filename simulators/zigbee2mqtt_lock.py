"""A Zigbee2MQTT lock, simulated as its own MQTT client on the real broker.

It behaves like Zigbee2MQTT in front of a Door Lock: it announces the lock with
Home Assistant discovery, keeps a PIN table like the firmware, answers
``pin_code`` writes (reading back after a write, as Zigbee2MQTT does) and reads
with a state message carrying the cached ``users`` map, hides PINs unless
``expose_pin``, locks and unlocks on command, and can be unlocked at its keypad:
``type_pin`` with a PIN in its table, or ``emit_keypad_unlock`` for a slot. Each
instance uses its own base topic, so runs in parallel or one after another never
see each other's retained messages; ``stop`` clears the retained discovery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
import secrets
import threading
import time
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

BROKER = ("127.0.0.1", 1883)
DISCOVERY_PREFIX = "homeassistant"


class SimulatedZ2mLock:
    """One lock; ``commands`` records every request it got, ``pins`` its table."""

    def __init__(self, *, name: str = "Front door lock", expose_pin: bool = False) -> None:
        self.base = f"z2m-test-{secrets.token_hex(4)}"
        self.name = name
        self.expose_pin = expose_pin
        self.answering = True
        self.state = "LOCK"
        self.pins: dict[int, str] = {}
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self._users: dict[str, dict[str, Any]] = {}  # Zigbee2MQTT's state cache
        self._client = Client(CallbackAPIVersion.VERSION2, client_id=self.base)
        self._subscribed = threading.Event()
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_args: self._subscribed.set()

    @property
    def device_topic(self) -> str:
        return f"{self.base}/{self.name}"

    @property
    def unique_id(self) -> str:
        return f"0x00124b00{self.base}_lock"

    @property
    def discovery_topic(self) -> str:
        return f"{DISCOVERY_PREFIX}/lock/{self.base}/lock/config"

    def start(self) -> None:
        """Connect, listen for commands, announce the lock (blocking: run in an executor)."""
        self._client.connect(*BROKER)
        self._client.loop_start()
        self._client.subscribe([(f"{self.device_topic}/set", 1), (f"{self.device_topic}/get", 1)])
        if not self._subscribed.wait(5):
            raise TimeoutError("the broker did not acknowledge the subscription")
        self._publish(self.discovery_topic, self._discovery(), retain=True)

    def stop(self) -> None:
        self._client.publish(self.discovery_topic, b"", qos=1, retain=True).wait_for_publish(5)
        self._client.disconnect()
        self._client.loop_stop()

    def type_pin(self, pin: str) -> int | None:
        """Someone types a PIN: the lock opens if its table holds it; the slot, or None."""
        slot = next((slot for slot, held in self.pins.items() if held == pin), None)
        if slot is not None:
            self.emit_keypad_unlock(slot)
        return slot

    def emit_keypad_unlock(self, slot: int) -> None:
        self.state = "UNLOCK"
        self._publish_state(
            wait=True,
            action="unlock",
            action_user=slot,
            action_source=0,
            action_source_name="keypad",
        )

    def _discovery(self) -> dict[str, Any]:
        return {
            "name": None,
            "unique_id": self.unique_id,
            "command_topic": f"{self.device_topic}/set",
            "state_topic": self.device_topic,
            "value_template": "{{ value_json.state }}",
            "payload_lock": "LOCK",
            "payload_unlock": "UNLOCK",
            "state_locked": "LOCK",
            "state_unlocked": "UNLOCK",
            "device": {"identifiers": [f"zigbee2mqtt_{self.base}"], "name": self.name},
            "origin": {"name": "Zigbee2MQTT", "sw": "2.6.0"},
        }

    def _on_message(self, _client: Client, _userdata: object, msg: MQTTMessage) -> None:
        try:
            request = json.loads(msg.payload)
        except ValueError:  # Zigbee2MQTT reads a plain payload as the new state ("LOCK")
            request = {"state": msg.payload.decode()}
        self.commands.append((msg.topic.rsplit("/", 1)[1], request))
        if not self.answering:
            return
        if request.get("state") in ("LOCK", "UNLOCK") and msg.topic.endswith("/set"):
            self.state = request["state"]
            self._publish_state()
        if "pin_code" not in request:
            return
        user = int(request["pin_code"]["user"])
        if msg.topic.endswith("/set"):
            pin = request["pin_code"].get("pin_code")
            if pin is None:
                self.pins.pop(user, None)
            else:
                self.pins[user] = str(pin)
        entry: dict[str, Any] = {"status": "enabled" if user in self.pins else "available"}
        if self.expose_pin and user in self.pins:
            entry["pin_code"] = self.pins[user]
        self._users[str(user)] = entry
        self._publish_state()

    def _publish_state(self, *, wait: bool = False, **extra: Any) -> None:
        state = {"state": self.state, "users": self._users, **extra}
        self._publish(self.device_topic, state, wait=wait)

    def _publish(
        self, topic: str, payload: dict[str, Any], *, retain: bool = False, wait: bool = True
    ) -> None:
        """Publish; ``wait`` for the broker's ack, except on paho's own thread (it would stall)."""
        sent = self._client.publish(topic, json.dumps(payload), qos=1, retain=retain)
        if wait:
            sent.wait_for_publish(5)


async def until(check: Callable[[], object], what: str, *, seconds: float = 10) -> None:
    """Wait, in real time, for something the broker delivers: MQTT round trips take real time."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
