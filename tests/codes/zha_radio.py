"""A Zigbee network without a radio: a zigpy controller whose air is this module.

``SimulatedZigbeeNetwork`` stands where the Zigbee stick would be. Home
Assistant's real ZHA integration sets up over it: ``patch_radio()`` makes the
radio library's ``ControllerApplication.new`` (bellows, the "ezsp" radio type
the ZHA config entry names) return a ``SimulatedRadio``, a zigpy controller
whose radio methods do nothing and whose ``send_packet`` hands each outgoing
frame to the device it is addressed to. Everything above ``send_packet`` —
zigpy's ZCL encoding, request/response matching and timeouts, ZHA's devices,
entities and ``zha_event`` — is the real code.

``DoorLockFirmware`` is the lock on the other end: it decodes ZCL frames with
zigpy's own deserialization, keeps a user table (status, type, code) and
week-day / year-day schedule tables the way Door Lock firmware does, answers
with encoded ZCL response frames, and can report a keypad unlock. Its state
outlives the zigpy objects, so a lock survives Home Assistant restarting.

Fault switches: ``dead`` (receives, never answers) and ``masks_codes``
(``get_pin_code`` answers an empty code for occupied users, as many locks do).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
import time
from typing import Any
from unittest.mock import patch

import bellows.zigbee.application
import zigpy.application
import zigpy.config
import zigpy.device
import zigpy.endpoint
import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.closures import DoorLock
from zigpy.zcl.clusters.general import Basic
import zigpy.zdo.types as zdo_t

COORDINATOR_IEEE = "00:15:8d:00:02:32:4f:32"
HA_PROFILE = 0x0104
DOOR_LOCK_DEVICE_TYPE = 0x000A
# A battery end device, like real keypad locks (the descriptor HA's own ZHA tests use).
END_DEVICE_DESCRIPTOR = b"\x02@\x807\x10\x7fd\x00\x00*d\x00\x00"
ZCL_EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001 - ZCL LocalTime is the lock's wall clock

WRITES = frozenset(
    {
        "set_pin_code",
        "clear_pin_code",
        "clear_all_pin_codes",
        "set_user_status",
        "set_user_type",
        "set_week_day_schedule",
        "clear_week_day_schedule",
        "set_year_day_schedule",
        "clear_year_day_schedule",
    }
)


@dataclass
class User:
    status: int = DoorLock.UserStatus.Available
    type: int = DoorLock.UserType.Unrestricted
    code: str = ""


@dataclass(frozen=True)
class WeekDay:
    days_mask: int
    start: int  # minutes after midnight
    end: int


@dataclass
class DoorLockFirmware:
    """One Door Lock: its tables, what it received, and its fault switches."""

    ieee: str = "00:0d:6f:00:0a:90:69:e7"
    nwk: int = 0xB79C
    manufacturer: str = "Keyholder Test"
    model: str = "Simulated keypad lock"
    pin_users: int = 20
    min_pin_len: int = 4
    max_pin_len: int = 8
    week_day_schedules: int = 2
    year_day_schedules: int = 1
    dead: bool = False
    masks_codes: bool = False
    # What the device shows ZHA; another device type (a plug) is a device without a lock.
    device_type: int = DOOR_LOCK_DEVICE_TYPE
    in_clusters: tuple[int, ...] = (Basic.cluster_id, DoorLock.cluster_id)
    users: dict[int, User] = field(default_factory=dict)
    week_days: dict[tuple[int, int], WeekDay] = field(default_factory=dict)
    year_days: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    commands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    attribute_reads: list[list[int]] = field(default_factory=list)
    _tsn: int = 0

    # --- what a test looks at ----------------------------------------------------

    @property
    def pins(self) -> dict[int, str]:
        """The codes of users that exist (enabled or not), by user id."""
        return {
            user_id: user.code
            for user_id, user in self.users.items()
            if user.status != DoorLock.UserStatus.Available
        }

    @property
    def writes(self) -> list[str]:
        return [name for name, _ in self.commands if name in WRITES]

    def schedules_of(self, user_id: int) -> dict[str, dict[int, Any]]:
        return {
            "week_day": {sid: e for (uid, sid), e in self.week_days.items() if uid == user_id},
            "year_day": {sid: e for (uid, sid), e in self.year_days.items() if uid == user_id},
        }

    def would_open(self, pin: str, at: datetime) -> bool:
        """Whether typing ``pin`` at local wall-clock time ``at`` unlocks, as firmware decides."""
        for user_id, user in self.users.items():
            if user.status != DoorLock.UserStatus.Enabled or user.code != pin:
                continue
            if user.type in (DoorLock.UserType.Unrestricted, DoorLock.UserType.Master_User):
                return True
            if user.type == DoorLock.UserType.Week_Day_Schedule_User:
                day_bit = 1 << ((at.weekday() + 1) % 7)  # Sunday is bit 0
                minute = at.hour * 60 + at.minute
                return any(
                    entry.days_mask & day_bit and entry.start <= minute < entry.end
                    for (uid, _), entry in self.week_days.items()
                    if uid == user_id
                )
            if user.type == DoorLock.UserType.Year_Day_Schedule_User:
                now = int((at - ZCL_EPOCH).total_seconds())
                return any(
                    start <= now < end
                    for (uid, _), (start, end) in self.year_days.items()
                    if uid == user_id
                )
            return False  # non-access users
        return False

    # --- the firmware ------------------------------------------------------------

    def receive(self, data: bytes) -> bytes | None:
        """One ZCL frame to the Door Lock endpoint; the answer frame, if any."""
        hdr, payload = foundation.ZCLHeader.deserialize(data)
        if hdr.direction != foundation.Direction.Client_to_Server:
            return None
        if hdr.frame_control.is_general:
            return self._general(hdr, payload)
        command = DoorLock.server_commands[hdr.command_id]
        args, _ = command.schema.deserialize(payload)
        self.commands.append((command.name, args.as_dict()))
        if self.dead:
            return None
        response = getattr(self, f"_{command.name}")(args)
        response_def = DoorLock.client_commands[hdr.command_id]
        return self._frame(
            foundation.ZCLHeader.cluster(
                hdr.tsn, response_def.id, direction=foundation.Direction.Server_to_Client
            ),
            response_def.schema(**response),
        )

    def keypad_unlock_frame(self, user_id: int) -> bytes:
        """An ``operation_event_notification``: the keypad unlocked for ``user_id``."""
        command = DoorLock.client_commands[0x20]
        user = self.users.get(user_id, User())
        return self._frame(
            foundation.ZCLHeader.cluster(
                self._next_tsn(), command.id, direction=foundation.Direction.Server_to_Client
            ),
            command.schema(
                operation_event_source=DoorLock.OperationEventSource.Keypad,
                operation_event_code=DoorLock.OperationEvent.Unlock,
                user_id=user_id,
                pin=user.code,  # some locks do send the code typed: it must not reach a log
                local_time=0,
            ),
        )

    def _next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) % 256
        return self._tsn

    @staticmethod
    def _frame(hdr: foundation.ZCLHeader, body: Any) -> bytes:
        return bytes(hdr.serialize() + body.serialize())

    def _general(self, hdr: foundation.ZCLHeader, payload: bytes) -> bytes | None:
        if hdr.command_id != foundation.GeneralCommand.Read_Attributes:
            return None  # a default response or a report configuration: nothing to say
        request, _ = foundation.GENERAL_COMMANDS[hdr.command_id].schema.deserialize(payload)
        self.attribute_reads.append(list(request.attribute_ids))
        if self.dead:
            return None
        values = {
            DoorLock.AttributeDefs.lock_state.id: DoorLock.LockState.Locked,
            DoorLock.AttributeDefs.num_of_pin_users_supported.id: self.pin_users,
            DoorLock.AttributeDefs.min_pin_len.id: self.min_pin_len,
            DoorLock.AttributeDefs.max_pin_len.id: self.max_pin_len,
            DoorLock.AttributeDefs.num_of_week_day_schedules_supported_per_user.id: (
                self.week_day_schedules
            ),
            DoorLock.AttributeDefs.num_of_year_day_schedules_supported_per_user.id: (
                self.year_day_schedules
            ),
        }
        records = []
        for attrid in request.attribute_ids:
            if attrid not in values:
                records.append(
                    foundation.ReadAttributeRecord(
                        attrid=attrid, status=foundation.Status.UNSUPPORTED_ATTRIBUTE
                    )
                )
                continue
            definition = DoorLock.attributes[attrid]
            records.append(
                foundation.ReadAttributeRecord(
                    attrid=attrid,
                    status=foundation.Status.SUCCESS,
                    value=foundation.TypeValue(
                        type=definition.zcl_type, value=definition.type(values[attrid])
                    ),
                )
            )
        rsp = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes_rsp]
        return self._frame(
            foundation.ZCLHeader.general(
                hdr.tsn, rsp.id, direction=foundation.Direction.Server_to_Client
            ),
            rsp.schema(status_records=records),
        )

    def _valid_user(self, user_id: int) -> bool:
        return 0 <= user_id < self.pin_users

    def _status(self, ok: bool) -> dict[str, Any]:
        return {"status": foundation.Status.SUCCESS if ok else foundation.Status.FAILURE}

    def _set_pin_code(self, args: Any) -> dict[str, Any]:
        code = str(args.pin_code)
        if not self._valid_user(args.user_id) or not (
            self.min_pin_len <= len(code) <= self.max_pin_len and code.isdigit()
        ):
            return self._status(False)
        if any(u.code == code for uid, u in self.users.items() if uid != args.user_id and u.status):
            return {"status": 3}  # ZCL: duplicate code
        self.users[args.user_id] = User(int(args.user_status), int(args.user_type), code)
        return self._status(True)

    def _get_pin_code(self, args: Any) -> dict[str, Any]:
        user = self.users.get(args.user_id, User())
        occupied = user.status != DoorLock.UserStatus.Available
        return {
            "user_id": args.user_id,
            "user_status": user.status,
            "user_type": user.type if occupied else DoorLock.UserType.Not_Supported,
            "code": "" if self.masks_codes or not occupied else user.code,
        }

    def _clear_pin_code(self, args: Any) -> dict[str, Any]:
        if not self._valid_user(args.user_id):
            return self._status(False)
        self.users.pop(args.user_id, None)  # schedules stay, as on many locks
        return self._status(True)

    def _set_user_type(self, args: Any) -> dict[str, Any]:
        user = self.users.get(args.user_id)
        if user is None or user.status == DoorLock.UserStatus.Available:
            return self._status(False)
        user.type = int(args.user_type)
        return self._status(True)

    def _set_user_status(self, args: Any) -> dict[str, Any]:
        user = self.users.get(args.user_id)
        if user is None:
            return self._status(False)
        user.status = int(args.user_status)
        return self._status(True)

    def _set_week_day_schedule(self, args: Any) -> dict[str, Any]:
        start = args.start_hour * 60 + args.start_minute
        end = args.end_hour * 60 + args.end_minute
        ok = (
            self._valid_user(args.user_id)
            and args.schedule_id < self.week_day_schedules
            and 0 <= start < end < 24 * 60
            and 0 < int(args.days_mask) < 0x80
        )
        if ok:
            self.week_days[args.user_id, args.schedule_id] = WeekDay(
                int(args.days_mask), start, end
            )
        return self._status(ok)

    def _clear_week_day_schedule(self, args: Any) -> dict[str, Any]:
        ok = self._valid_user(args.user_id) and args.schedule_id < self.week_day_schedules
        if ok:
            self.week_days.pop((args.user_id, args.schedule_id), None)
        return self._status(ok)

    def _set_year_day_schedule(self, args: Any) -> dict[str, Any]:
        start, end = int(args.local_start_time), int(args.local_end_time)
        ok = (
            self._valid_user(args.user_id)
            and args.schedule_id < self.year_day_schedules
            and start < end
        )
        if ok:
            self.year_days[args.user_id, args.schedule_id] = (start, end)
        return self._status(ok)

    def _clear_year_day_schedule(self, args: Any) -> dict[str, Any]:
        ok = self._valid_user(args.user_id) and args.schedule_id < self.year_day_schedules
        if ok:
            self.year_days.pop((args.user_id, args.schedule_id), None)
        return self._status(ok)


class SimulatedRadio(zigpy.application.ControllerApplication):  # type: ignore[misc]
    """A zigpy controller whose radio is ``network``: no serial port, no stick."""

    network: SimulatedZigbeeNetwork  # set on the subclass ``patch_radio`` makes

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def add_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        pass

    async def force_remove(self, dev: zigpy.device.Device) -> None:
        pass

    async def permit_ncp(self, time_s: int = 60) -> None:
        pass

    async def permit_with_link_key(
        self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60
    ) -> None:
        pass

    async def reset_network_info(self) -> None:
        pass

    async def write_network_info(self, *, network_info: Any, node_info: Any) -> None:
        pass

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        """The stick's stored network: fixed, so every start finds the same one."""
        ieee = t.EUI64.convert(COORDINATOR_IEEE)
        self.state.node_info.nwk = 0x0000
        self.state.node_info.ieee = ieee
        self.state.node_info.logical_type = zdo_t.LogicalType.Coordinator
        self.state.node_info.manufacturer = "Keyholder Test"
        self.state.node_info.model = "Simulated radio"
        self.state.network_info.pan_id = 0x1234
        self.state.network_info.extended_pan_id = ieee
        self.state.network_info.channel = 15
        self.state.network_info.network_key.key = t.KeyData(range(16))

    async def start_network(self) -> None:
        """The coordinator and the network's devices, as a real stick's database knows them."""
        coordinator = self.add_device(t.EUI64.convert(COORDINATOR_IEEE), 0x0000)
        coordinator.node_desc = zdo_t.NodeDescriptor(logical_type=zdo_t.LogicalType.Coordinator)
        coordinator.manufacturer = "Keyholder Test"
        coordinator.model = "Simulated radio"
        endpoint = coordinator.add_endpoint(1)
        endpoint.profile_id = HA_PROFILE
        endpoint.add_input_cluster(Basic.cluster_id)
        for lock in self.network.locks:
            self._join(lock)

    def _join(self, lock: DoorLockFirmware) -> None:
        device = self.add_device(t.EUI64.convert(lock.ieee), lock.nwk)
        device.node_desc, _ = zdo_t.NodeDescriptor.deserialize(END_DEVICE_DESCRIPTOR)
        device.manufacturer = lock.manufacturer
        device.model = lock.model
        endpoint = device.add_endpoint(1)
        endpoint.status = zigpy.endpoint.Status.ZDO_INIT
        endpoint.profile_id = HA_PROFILE
        endpoint.device_type = lock.device_type
        for cluster_id in lock.in_clusters:
            endpoint.add_input_cluster(cluster_id)
        device.status = zigpy.device.Status.ENDPOINTS_INIT
        device.last_seen = time.time()

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        """The radio boundary: every frame zigpy sends ends here."""
        self.network.transmit(self, packet)


class SimulatedZigbeeNetwork:
    """The air between the coordinator and the locks; ``frames`` is everything sent."""

    def __init__(self, *locks: DoorLockFirmware) -> None:
        self.locks = list(locks)
        self.frames: list[t.ZigbeePacket] = []
        self.apps: list[SimulatedRadio] = []

    @property
    def app(self) -> SimulatedRadio:
        """The controller ZHA runs on now (the last one started)."""
        return self.apps[-1]

    @contextmanager
    def patch_radio(self) -> Iterator[None]:
        """Make the ezsp radio library start this network instead of opening a serial port."""
        network = self
        radio = type("Radio", (SimulatedRadio,), {"network": network})

        async def new(config: dict[str, Any], *args: Any, **kwargs: Any) -> SimulatedRadio:
            config = {
                **config,
                zigpy.config.CONF_DATABASE: None,  # the network below is the database
                zigpy.config.CONF_NWK_BACKUP_ENABLED: False,
                zigpy.config.CONF_TOPO_SCAN_ENABLED: False,
                zigpy.config.CONF_STARTUP_ENERGY_SCAN: False,
                zigpy.config.CONF_OTA: {zigpy.config.CONF_OTA_ENABLED: False},
            }
            app: SimulatedRadio = await radio.new(config, *args, **kwargs)
            network.apps.append(app)
            return app

        with patch.object(bellows.zigbee.application.ControllerApplication, "new", new):
            yield

    def transmit(self, app: SimulatedRadio, packet: t.ZigbeePacket) -> None:
        self.frames.append(packet)
        lock = self._addressed(packet)
        if lock is None or packet.dst_ep == 0 or packet.cluster_id != DoorLock.cluster_id:
            return  # broadcasts, ZDO, Basic: nobody answers, as a sleeping lock would not
        answer = lock.receive(packet.data.serialize())
        if answer is not None:
            asyncio.get_running_loop().call_soon(
                app.packet_received, self._packet(lock, answer, dst_ep=packet.src_ep)
            )

    def keypad_unlock(self, lock: DoorLockFirmware, user_id: int) -> None:
        """The lock reports that its keypad unlocked the door for ``user_id``."""
        self.app.packet_received(self._packet(lock, lock.keypad_unlock_frame(user_id), dst_ep=1))

    def _addressed(self, packet: t.ZigbeePacket) -> DoorLockFirmware | None:
        if packet.dst is None:
            return None
        for lock in self.locks:
            if packet.dst.addr_mode == t.AddrMode.NWK and packet.dst.address == lock.nwk:
                return lock
            if packet.dst.addr_mode == t.AddrMode.IEEE and str(packet.dst.address) == lock.ieee:
                return lock
        return None

    @staticmethod
    def _packet(lock: DoorLockFirmware, data: bytes, *, dst_ep: int) -> t.ZigbeePacket:
        return t.ZigbeePacket(
            src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=lock.nwk),
            src_ep=1,
            dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=0x0000),
            dst_ep=dst_ep,
            tsn=data[1],
            profile_id=HA_PROFILE,
            cluster_id=DoorLock.cluster_id,
            data=t.SerializableBytes(data),
            lqi=255,
            rssi=-40,
        )
