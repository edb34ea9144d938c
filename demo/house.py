"""The demo house: Home Assistant with Keyholder, the bridge, and simulated devices.

Everything is real except the devices, which are simulated at their protocol
boundary: the front door lock is a Zigbee2MQTT lock speaking MQTT through the
Mosquitto broker on 127.0.0.1:1883, the porch camera is a picture file that a
``local_file`` camera reads (rewritten every two seconds, so it is live), and the
door contact and the garage are template entities you switch in the UI. The
bridge is ``keyholder-bridge`` as its own process; the carrier is a key pair of
its own that signs its requests. Keyholder is set up through Home Assistant's
HTTP API with the requests its UI sends: onboarding, the integrations, the doors,
the bridge link, a carrier approval and two grants.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import inspect
import io
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
from typing import Any

import aiohttp
from PIL import Image, ImageDraw

from simulators.carrier import Carrier
from simulators.zigbee2mqtt_lock import BROKER, SimulatedZ2mLock

from .console import say
from .home_assistant import HomeAssistantApi, SetupError

REPO_ROOT = Path(__file__).resolve().parents[1]
OWNER = ("Demo Owner", "demo", "keyholder-demo")  # name, username, password
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
CAMERA_REFRESH = 2.0  # seconds between porch pictures
STARTUP_TIMEOUT = 600  # the first start installs the frontend
FLOWS = "/api/config/config_entries/options/flow"

CONFIGURATION = """\
# The demo house (written by scripts/demo on every start; its state lives in .demo/).
api:
config:
onboarding:
{frontend}
http:
  server_host: 127.0.0.1
  server_port: {port}

logger:
  default: warning
  logs:
    custom_components.keyholder: info

input_boolean:
  front_door_open:
    name: Front door open
    icon: mdi:door-open
  garage_closed:
    name: Garage closed
    initial: true

template:
  - binary_sensor:
      - name: Front door
        unique_id: demo_front_door_contact
        device_class: door
        state: "{{{{ is_state('input_boolean.front_door_open', 'on') }}}}"

cover:
  - platform: template
    covers:
      garage:
        friendly_name: Garage
        device_class: garage
        value_template: "{{{{ is_state('input_boolean.garage_closed', 'off') }}}}"
        open_cover:
          action: input_boolean.turn_off
          target:
            entity_id: input_boolean.garage_closed
        close_cover:
          action: input_boolean.turn_on
          target:
            entity_id: input_boolean.garage_closed
"""

HELP = """\
Type a command and press Enter:
  pin       the cleaner types their PIN on the front door's keypad
  deliver   Parcel & Co announces a delivery and opens the front door through the bridge
  walk      the dog walker opens their link and taps Open (as the page does, through the bridge)
  open      the front door swings open (its contact sensor)
  close     the front door is shut again (Keyholder relocks it 30 s later)
  quit      stop the demo
"""


@dataclass(frozen=True, slots=True)
class DemoSettings:
    state_dir: Path
    ha_port: int
    bridge_port: int
    frontend: bool


@dataclass(slots=True)
class DemoHouse:
    """What the set-up produced, for the commands and the check."""

    api: HomeAssistantApi
    http: aiohttp.ClientSession
    lock: SimulatedZ2mLock
    lock_entity: str
    carrier: Carrier
    bridge_url: str
    home_id: str
    front_door_id: str
    cleaner_pin: str
    cleaner_grant_id: str
    link_url: str


def bin_dir() -> Path:
    """The virtual environment's scripts (hass, keyholder-bridge) next to this Python."""
    return Path(sys.executable).parent


def broker_is_running() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(BROKER, timeout=2):
        return True
    return False


async def _start(name: str, log: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    handle = log.open("ab")
    process = await asyncio.create_subprocess_exec(
        str(bin_dir() / name),
        *args,
        stdout=handle,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    handle.close()
    return process


async def _stop(process: Any, seconds: float) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _admin(state_dir: Path, *args: str) -> str:
    """Run a ``keyholder-bridge`` admin command on the demo bridge's database; its output."""
    process = await asyncio.create_subprocess_exec(
        str(bin_dir() / "keyholder-bridge"),
        *args,
        "--data-dir",
        str(state_dir / "bridge"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise SetupError(f"keyholder-bridge {args[0]} failed: {err.decode().strip()}")
    return out.decode().strip()


async def _keep_camera_live(path: Path) -> None:
    """A new porch picture every few seconds: a live camera never repeats its bytes."""
    while True:
        image = Image.new("RGB", (640, 360), (52, 73, 94))
        draw = ImageDraw.Draw(image)
        draw.rectangle((250, 80, 390, 330), outline=(236, 240, 241), width=6)  # the door
        draw.text(
            (20, 20),
            f"Porch camera  {datetime.now(UTC).astimezone():%Y-%m-%d %H:%M:%S}",
            fill="white",
        )
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        temporary = path.with_suffix(".tmp")
        await asyncio.to_thread(temporary.write_bytes, buffer.getvalue())
        await asyncio.to_thread(temporary.replace, path)
        await asyncio.sleep(CAMERA_REFRESH)


async def until(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """Poll ``check`` (plain or async) until it gives something true; that result."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise SetupError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def running_house(settings: DemoSettings) -> AsyncIterator[DemoHouse]:
    """Start everything, set Keyholder up as a user would, and stop it all afterwards."""
    state = settings.state_dir
    shutil.rmtree(state, ignore_errors=True)
    (state / "ha").mkdir(parents=True)
    if not broker_is_running():
        raise SetupError("the demo needs an MQTT broker (Mosquitto) on 127.0.0.1:1883")
    bridge_url = f"http://127.0.0.1:{settings.bridge_port}"
    ha_url = f"http://127.0.0.1:{settings.ha_port}"
    (state / "ha" / "configuration.yaml").write_text(
        CONFIGURATION.format(
            port=settings.ha_port,
            frontend="frontend:\nhistory:\nlogbook:\n" if settings.frontend else "",
        )
    )
    camera_file = state / "porch.jpg"
    lock = SimulatedZ2mLock(name="Front door lock")
    async with contextlib.AsyncExitStack() as stack:
        say(f"--- starting the bridge on {bridge_url}")
        bridge = await _start(
            "keyholder-bridge",
            state / "bridge.log",
            "serve",
            "--data-dir",
            str(state / "bridge"),
            "--port",
            str(settings.bridge_port),
        )
        stack.push_async_callback(_stop, bridge, 15)
        camera = asyncio.create_task(_keep_camera_live(camera_file))
        stack.callback(camera.cancel)
        await asyncio.to_thread(lock.start)
        stack.push_async_callback(asyncio.to_thread, lock.stop)
        say(f"--- starting Home Assistant on {ha_url} (log: {state / 'home-assistant.log'})")
        args = ["--config", str(state / "ha")] + ([] if settings.frontend else ["--skip-pip"])
        hass = await _start(
            "hass", state / "home-assistant.log", *args, env={"PYTHONPATH": str(REPO_ROOT)}
        )
        stack.push_async_callback(_stop, hass, 60)
        http = await stack.enter_async_context(aiohttp.ClientSession())
        api = HomeAssistantApi(http, ha_url)
        await api.wait_until_up(STARTUP_TIMEOUT)
        house = await _set_up(
            api=api,
            http=http,
            state=state,
            lock=lock,
            bridge_url=bridge_url,
            camera_file=camera_file,
        )
        yield house


async def _set_up(
    *,
    api: HomeAssistantApi,
    http: aiohttp.ClientSession,
    state: Path,
    lock: SimulatedZ2mLock,
    bridge_url: str,
    camera_file: Path,
) -> DemoHouse:
    name, username, password = OWNER
    say("--- onboarding: the owner", username)
    await api.onboard(name=name, username=username, password=password)

    say("--- the bridge's operator issues an enrolment code and registers a carrier")
    code = (await _admin(state, "enrol-code")).splitlines()[0]
    carrier = Carrier()
    added = await _admin(
        state, "add-carrier", "--name", "Parcel & Co", f"--public-key={carrier.public_key}"
    )
    carrier.carrier_id = added.splitlines()[0]

    say("--- adding MQTT (for Zigbee2MQTT) and the porch camera")
    await api.add_integration("mqtt", {"broker": BROKER[0], "port": BROKER[1]})
    lock_entity = await until(lambda: _entity_named(api, "lock.", "Front door lock"), "the lock")
    await until(lambda: asyncio.to_thread(camera_file.exists), "the first porch picture")
    await api.add_integration("local_file", {"name": "Porch", "file_path": str(camera_file)})

    say("--- adding Keyholder with two doors")
    entry = await api.add_integration("keyholder", {"home_name": "Demo Home"})
    entry_id = entry["entry_id"]
    await api.add_subentry(
        entry_id,
        "door",
        {
            "name": "Front door",
            "kind": "door",
            "opener": lock_entity,
            "contact_sensor": "binary_sensor.front_door",
            "camera": "camera.porch",
            "relock_delay": 30,
            "max_visit": 10,
            "first_keypad_slot": 1,
            "last_keypad_slot": 5,
        },
    )
    await api.add_subentry(
        entry_id,
        "door",
        {"name": "Garage", "kind": "garage", "opener": "cover.garage", "max_visit": 15},
    )

    say("--- linking the home to the bridge")
    await until(lambda: _is_loaded(api, entry_id), "Keyholder to reload with its doors")
    await api.options(entry_id, {"bridge_url": bridge_url, "enrolment_code": code})
    await until(lambda: _link_is_up(api), "the bridge link", seconds=90)
    (home,) = json.loads(await _admin(state, "list", "homes", "--json"))
    home_id = str(home["id"])

    say("--- approving Parcel & Co for the front door, camera required")
    await until(lambda: _is_loaded(api, entry_id), "Keyholder to reload with its link")
    policy_form = await api.options(
        entry_id,
        {"next_step_id": "carrier"},
        {"carrier_id": carrier.carrier_id, "public_key": carrier.public_key},
    )
    front_door_id = _select_options(policy_form, "doors")["Front door"]
    approved = await api.submit(
        FLOWS,
        policy_form,
        {
            "doors": [front_door_id],
            "days": ALL_DAYS,
            "start": "00:00:00",
            "end": "00:00:00",
            "camera_required": True,
            "max_visit": 5,
        },
    )
    if approved.get("reason") != "carrier_approved":
        raise SetupError(f"the carrier was not approved: {approved}")

    say("--- creating grants: a cleaner's keypad PIN and a dog walker's link")
    now = datetime.now(UTC).astimezone()
    cleaner = await api.call(
        "keyholder",
        "create_grant",
        {
            "kind": "keypad",
            "name": "Cleaner",
            "doors": ["Front door"],
            "starts": (now - timedelta(minutes=5)).isoformat(timespec="minutes"),
            "ends": (now + timedelta(hours=4)).isoformat(timespec="minutes"),
        },
        response=True,
    )
    walker = await api.call(
        "keyholder",
        "create_grant",
        {
            "kind": "link",
            "name": "Dog walker",
            "doors": ["Front door"],
            "ends": (now + timedelta(days=1)).isoformat(timespec="minutes"),
        },
        response=True,
    )
    return DemoHouse(
        api=api,
        http=http,
        lock=lock,
        lock_entity=lock_entity,
        carrier=carrier,
        bridge_url=bridge_url,
        home_id=home_id,
        front_door_id=front_door_id,
        cleaner_pin=cleaner["pin"],
        cleaner_grant_id=cleaner["grant_id"],
        link_url=walker["link_url"],
    )


async def _entity_named(api: HomeAssistantApi, prefix: str, name: str) -> str | None:
    for state in await api.states():
        if (
            state["entity_id"].startswith(prefix)
            and state["attributes"].get("friendly_name") == name
        ):
            return str(state["entity_id"])
    return None


async def _is_loaded(api: HomeAssistantApi, entry_id: str) -> bool:
    return await api.entry_state(entry_id) == "loaded"


async def _link_is_up(api: HomeAssistantApi) -> bool:
    return any(
        state["entity_id"].startswith("binary_sensor.")
        and str(state["attributes"].get("friendly_name", "")).endswith("Bridge link")
        and state["state"] == "on"
        for state in await api.states()
    )


def _select_options(form: dict[str, Any], field: str) -> dict[str, str]:
    """A select field's options in a shown form, label to value."""
    (schema,) = [f for f in form["data_schema"] if f["name"] == field]
    return {o["label"]: o["value"] for o in schema["selector"]["select"]["options"]}
