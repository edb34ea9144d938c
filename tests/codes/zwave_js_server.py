"""A Z-Wave JS server on 127.0.0.1 with one keypad lock, simulated like its firmware.

Home Assistant's real zwave_js integration connects to it with the real
zwave-js-server-python client over a real websocket, exactly as it connects to
the Z-Wave JS add-on: the version message, ``initialize``,
``driver.get_log_config``, ``start_listening`` (answered with the controller
and the lock node's state), then commands and events.

The lock's node state comes from a real device dump (the Schlage BE469 from
Home Assistant core's ``tests/components/zwave_js/fixtures/lock_schlage_be469_state.json``,
commit 37ed92ae, rewritten with the same content into ``fixtures/zwave_js/``); its User
Code table is replaced by the simulated firmware's own table, so what Home
Assistant sees at start-up is what the "lock" holds. With
``schedule_entry_lock`` the node also lists the Schedule Entry Lock CC (78);
Z-Wave JS keeps that CC's values internal, so a real dump has no values for it
either, and the slot counts are only known through ``getNumSlots``.

The firmware keeps per user a status (0 available, 1 enabled, 2 disabled), a
code, week-day and year-day schedule entries and whether schedules are enabled.
It answers the User Code CC (``node.set_value`` on ``userCode`` /
``userIdStatus``, ``invoke_cc_api`` ``set`` / ``get`` / ``clear``) and the
Schedule Entry Lock CC (``getNumSlots``, ``set``/``get`` ``WeekDaySchedule`` /
``YearDaySchedule``, ``setEnabled``) the way Z-Wave JS relays a lock's reports:
"value updated" events for the User Code values first, then the command's result.

Fault switches: ``dead`` (commands are recorded, never answered, no events),
``masks_codes`` (reports ``**********`` instead of a code, as the BE469 does),
``supervised`` (False: schedule writes answer without a Supervision result, as
for a lock without Supervision CC, so the client has to read back),
``refuses_schedules`` (schedule writes end in a Supervision FAIL).

``commands`` records every command after start-up, so tests count radio traffic.
"""

from __future__ import annotations

import asyncio
from copy import deepcopy
from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

FIXTURE = Path(__file__).parent / "fixtures" / "zwave_js" / "lock_schlage_be469_state.json"
HOME_ID = 3245146787
NODE_ID = 20
MASK = "**********"
SUPERVISION_SUCCESS = 255
SCHEDULE_ENTRY_LOCK = 78
USER_CODE = 99
# What a client asks for while Home Assistant sets up; answered, but not radio traffic.
_SETUP_COMMANDS = {
    "initialize",
    "driver.get_log_config",
    "start_listening",
    "driver.update_log_config",
    "driver.disable_statistics",
    "driver.enable_statistics",
    "start_listening_logs",
    "stop_listening_logs",
    "controller.get_provisioning_entries",
    "controller.get_provisioning_entry",
    "node.has_device_config_changed",
    "node.get_firmware_update_capabilities_cached",
}


@dataclass
class User:
    """One user (slot) as the lock's firmware keeps it."""

    status: int = 0
    code: str = ""
    schedules_enabled: bool = False
    week_days: dict[int, dict[str, int]] = field(default_factory=dict)
    year_days: dict[int, dict[str, int]] = field(default_factory=dict)


class SimulatedZwaveJsServer:
    """One Z-Wave JS server with one lock node (node 20)."""

    def __init__(
        self,
        *,
        schedule_entry_lock: bool = True,
        week_day_slots: int = 3,
        year_day_slots: int = 1,
        masks_codes: bool = False,
        supervised: bool = True,
    ) -> None:
        self.schedule_entry_lock = schedule_entry_lock
        self.week_day_slots = week_day_slots
        self.year_day_slots = year_day_slots
        self.masks_codes = masks_codes
        self.supervised = supervised
        self.dead = False
        self.refuses_schedules = False
        self.commands: list[dict[str, Any]] = []
        self.setup_commands: list[str] = []
        self._dump: dict[str, Any] = json.loads(FIXTURE.read_text())
        slots = sorted(
            v["propertyKey"]
            for v in self._dump["values"]
            if v["commandClass"] == USER_CODE and v["property"] == "userCode"
        )
        # The dump's occupied slots (1-3) hold codes we never see: give them some.
        self.users: dict[int, User] = {
            slot: User(status=1, code=f"90{slot:02d}17") if slot <= 3 else User() for slot in slots
        }
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- what tests look at -------------------------------------------------

    def code_in(self, slot: int) -> str | None:
        """The code a user can type at ``slot`` (enabled), None otherwise."""
        user = self.users[slot]
        return user.code if user.status == 1 else None

    def radio_commands(self) -> list[dict[str, Any]]:
        """The commands that would go on the air (User Code and Schedule Entry Lock)."""
        return [c for c in self.commands if c["command"] not in _SETUP_COMMANDS]

    # ---- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._websocket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"ws://{host}:{port}"

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def disconnect_clients(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    # ---- things the lock does by itself -----------------------------------------

    async def keypad_unlock(self, slot: int) -> None:
        """A guest typed the code of ``slot``: Access Control (6) Keypad unlock (6)."""
        await self._event(
            {
                "source": "node",
                "event": "notification",
                "nodeId": NODE_ID,
                "endpointIndex": 0,
                "ccId": 113,
                "args": {
                    "type": 6,
                    "label": "Access Control",
                    "event": 6,
                    "eventLabel": "Keypad unlock operation",
                    "parameters": {"userId": slot},
                },
            }
        )

    # ---- the protocol -----------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "version",
                "driverVersion": "15.0.0",
                "serverVersion": "3.0.0",
                "homeId": HOME_ID,
                "minSchemaVersion": 0,
                "maxSchemaVersion": 50,
            }
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                await self._handle(ws, json.loads(msg.data))
        finally:
            self._sockets.remove(ws)
        return ws

    async def _handle(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        command = message["command"]
        if command in _SETUP_COMMANDS:
            self.setup_commands.append(command)
            await ws.send_json(self._result(message, self._setup_result(command)))
            return
        self.commands.append(message)
        if self.dead:
            return
        try:
            result = await self._radio(message)
        except _ZwaveError as err:
            await ws.send_json(
                {
                    "type": "result",
                    "messageId": message["messageId"],
                    "success": False,
                    "errorCode": "zwave_error",
                    "zwaveErrorCode": err.code,
                    "zwaveErrorMessage": err.message,
                }
            )
            return
        await ws.send_json(self._result(message, result))

    @staticmethod
    def _result(message: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "result",
            "messageId": message["messageId"],
            "success": True,
            "result": result,
        }

    def _setup_result(self, command: str) -> dict[str, Any]:
        if command == "driver.get_log_config":
            return {
                "config": {
                    "enabled": True,
                    "level": "info",
                    "logToFile": False,
                    "filename": "",
                    "forceConsole": False,
                }
            }
        if command == "start_listening":
            return {"state": self._state()}
        if command == "controller.get_provisioning_entries":
            return {"entries": []}
        if command == "node.has_device_config_changed":
            return {"changed": False}
        return {}

    def _state(self) -> dict[str, Any]:
        node = deepcopy(self._dump)
        node["isControllerNode"] = False  # newer servers send it; the 2021 dump predates it
        if self.schedule_entry_lock:
            node["endpoints"][0]["commandClasses"].append(
                {
                    "id": SCHEDULE_ENTRY_LOCK,
                    "name": "Schedule Entry Lock",
                    "version": 3,
                    "isSecure": True,
                }
            )
        for value in node["values"]:
            if value["commandClass"] == USER_CODE:
                user = self.users[value["propertyKey"]]
                if value["property"] == "userIdStatus":
                    value["value"] = user.status
                else:
                    value["value"] = self._shown(user)
        return {
            "driver": {"logConfig": {"enabled": True, "level": "info"}, "statisticsEnabled": False},
            "controller": {
                "libraryVersion": "Z-Wave 7.21",
                "type": 1,
                "homeId": HOME_ID,
                "ownNodeId": 1,
                "isSecondary": False,
                "isUsingHomeIdFromOtherNetwork": False,
                "isSISPresent": True,
                "wasRealPrimary": True,
                "isSUC": True,
                "nodeType": 0,
                "manufacturerId": 134,
                "productType": 257,
                "productId": 90,
                "supportedFunctionTypes": [],
                "sucNodeId": 1,
                "supportsTimers": False,
                "isRebuildingRoutes": False,
                "inclusionState": 0,
                "status": 0,
                "rfRegion": 1,
                "statistics": {
                    "messagesTX": 0,
                    "messagesRX": 0,
                    "messagesDroppedRX": 0,
                    "NAK": 0,
                    "CAN": 0,
                    "timeoutACK": 0,
                    "timeoutResponse": 0,
                    "timeoutCallback": 0,
                    "messagesDroppedTX": 0,
                },
            },
            "nodes": [node],
        }

    def _shown(self, user: User) -> str:
        if user.status == 0:
            return ""
        return MASK if self.masks_codes else user.code

    # ---- the lock's command classes ---------------------------------------------

    async def _radio(self, message: dict[str, Any]) -> dict[str, Any]:
        command = message["command"]
        if message.get("nodeId") != NODE_ID:
            raise _ZwaveError(209, "node not found")
        if command == "node.set_value":
            value_id, new = message["valueId"], message["value"]
            if value_id["commandClass"] != USER_CODE:
                return {"result": {"status": 4, "message": "not simulated"}}
            slot = int(value_id["propertyKey"])
            user = self.users[slot]
            if value_id["property"] == "userCode":
                # Z-Wave JS keeps a disabled user disabled, otherwise enables it.
                await self._set_user(slot, 2 if user.status == 2 else 1, str(new))
            elif int(new) == 0:
                await self._set_user(slot, 0, "")
            else:
                if not user.code:
                    return {"result": {"status": 5, "message": "no code to enable"}}
                await self._set_user(slot, int(new), user.code)
            return {"result": {"status": SUPERVISION_SUCCESS}}
        if command == "endpoint.invoke_cc_api":
            return {
                "response": await self._invoke(
                    message["commandClass"], message["methodName"], message["args"]
                )
            }
        raise _ZwaveError(100, f"{command} is not simulated")

    async def _invoke(self, cc: int, method: str, args: list[Any]) -> Any:
        if cc == USER_CODE:
            if method == "set":
                slot, status, code = args
                await self._set_user(int(slot), int(status), str(code))
                return {"status": SUPERVISION_SUCCESS}
            if method == "clear":
                await self._set_user(int(args[0]), 0, "")
                return {"status": SUPERVISION_SUCCESS}
            if method == "get":
                slot = int(args[0])
                await self._report_user(slot)
                user = self.users[slot]
                return {"userIdStatus": user.status, "userCode": self._shown(user)}
        if cc == SCHEDULE_ENTRY_LOCK and self.schedule_entry_lock:
            return self._schedule(method, args)
        raise _ZwaveError(5, f"CC {cc} method {method} not supported")

    def _schedule(self, method: str, args: list[Any]) -> Any:
        done = {"status": SUPERVISION_SUCCESS} if self.supervised else None
        if method == "getNumSlots":
            return {
                "numWeekDaySlots": self.week_day_slots,
                "numYearDaySlots": self.year_day_slots,
                "numDailyRepeatingSlots": 0,
            }
        if method == "setEnabled":
            enabled, user_id = args[0], args[1] if len(args) > 1 else None
            for slot, user in self.users.items():
                if user_id is None or slot == user_id:
                    user.schedules_enabled = bool(enabled)
            return done
        kinds = {
            "WeekDaySchedule": ("week_days", self.week_day_slots),
            "YearDaySchedule": ("year_days", self.year_day_slots),
        }
        verb, kind = method[:3], method[3:]
        if verb not in ("set", "get") or kind not in kinds:
            raise _ZwaveError(5, f"{method} is not simulated")
        attribute, count = kinds[kind]
        slot_id = args[0]
        user = self.users[int(slot_id["userId"])]
        entries: dict[int, dict[str, int]] = getattr(user, attribute)
        if not 1 <= slot_id["slotId"] <= count:
            raise _ZwaveError(
                6, "The schedule slot # must be between 1 and the number of supported slots"
            )
        if verb == "get":
            return entries.get(slot_id["slotId"])
        if self.refuses_schedules:
            return {"status": 2}  # Supervision: FAIL
        if len(args) > 1 and args[1] is not None:
            entries[slot_id["slotId"]] = dict(args[1])
            user.schedules_enabled = True  # Z-Wave JS: setting a schedule enables scheduling
        else:
            entries.pop(slot_id["slotId"], None)
        return done

    async def _set_user(self, slot: int, status: int, code: str) -> None:
        self.users[slot] = User(
            status=status,
            code=code if status else "",
            schedules_enabled=self.users[slot].schedules_enabled,
            week_days=self.users[slot].week_days,
            year_days=self.users[slot].year_days,
        )
        await self._report_user(slot)

    async def _report_user(self, slot: int) -> None:
        """The lock's User Code Report, as Z-Wave JS relays it: two value updates."""
        user = self.users[slot]
        for prop, value in (("userIdStatus", user.status), ("userCode", self._shown(user))):
            await self._event(
                {
                    "source": "node",
                    "event": "value updated",
                    "nodeId": NODE_ID,
                    "args": {
                        "commandClassName": "User Code",
                        "commandClass": USER_CODE,
                        "endpoint": 0,
                        "property": prop,
                        "propertyKey": slot,
                        "newValue": value,
                        "propertyName": prop,
                        "propertyKeyName": str(slot),
                    },
                }
            )

    async def _event(self, event: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            await ws.send_json({"type": "event", "event": event})


class _ZwaveError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def wait_for(check: Any, what: str, *, seconds: float = 10) -> None:
    """Poll ``check`` until it is true, in real time (the websocket takes real time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
