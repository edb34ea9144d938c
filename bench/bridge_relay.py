"""Measure the bridge's relay latency and its memory per idle home connection.

What it runs is the real bridge: ``keyholder-bridge serve`` (the installed console
script) as a separate process on loopback, on a SQLite file of its own. In this
process, on one event loop, N simulated homes connect to ``/api/v1/homes/link`` over
real websockets, each answering the challenge with its own Ed25519 key
(``bridge.protocol.challenge_bytes``), and each then answers the two guest requests at
once: ``guest.challenge`` with a fresh challenge, and ``guest.request`` with one fixed
sealed answer, if the request carries a challenge this home issued and has not seen
back yet (``400 bad_challenge`` otherwise). The simulated homes do no cryptography:
this measures the bridge's relay, not the home's ECDH.

Homes are enrolled before the bridge starts, straight into its database, in one
transaction: a ``homes`` row with the home's real public key and the spent
``enrolment_codes`` row (``sha256`` of a fresh code) that ``Registry.enrol_home``
would leave behind. The Registry API itself (``issue_enrolment_code`` then
``enrol_home``, a transaction each) costs about 14 ms a home on the 2-CPU machine,
over two minutes for 10,000 homes, which would measure SQLite commits rather than
the relay. Migrations run first (``bridge.db.migrate.upgrade``), as the server runs them.

Figures, for each number of homes (a fresh bridge and database each time):
- time to connect all homes: from the first websocket opened to the last ``welcome``
  (100 handshakes in flight), until the bridge's ``/metrics`` counts every home connected;
- memory per idle home: the bridge process's RSS (``VmRSS`` in ``/proc/<pid>/status``)
  with every home connected and idle for a few seconds, minus its RSS with none
  connected (measured after a warm-up in which one home connects, answers a few
  requests and leaves, so the database pool, the websocket code and the first requests
  are not charged to the homes), divided by N. Kernel socket buffers are not in RSS;
- relay latency: M guest exchanges with homes picked at random, from a separate HTTP
  client session with C exchanges in flight (keep-alive connections). An exchange is
  what the guest page's script does for each thing it asks the home (show the link,
  open a door): ``POST /g/<home_id>/challenge``, then ``POST /g/<home_id>/request``
  with a sealed body (``{challenge, public_key, iv, ciphertext}``: the home's challenge,
  a P-256 public key, a fresh IV and a ciphertext the size of a sealed describe
  request). So an exchange is two relay round trips: guest HTTP -> bridge (looks the
  home up in its database; for the sealed request, reads the body as strict JSON) ->
  the home's websocket -> the home's answer -> the guest. Each call is timed from
  sending it to having read the whole answer, and each exchange from the first send to
  the last answer. Every answer is checked to be the home's (a challenge, then exactly
  the home's sealed answer). With C in flight the bridge is kept busy, so that latency
  is mostly queueing (about C divided by the exchanges per second); a first, shorter
  batch with one exchange in flight gives the round trips themselves. The bridge's CPU
  time per exchange (``/proc/<pid>/stat``) is printed too, to tell the bridge's own
  cost from the simulated homes'. The page itself (``GET /g/<home_id>`` and its script
  and style sheet) is static, the same for every link, and involves no home: it is not
  measured here.

The bridge's guest limiter counts only failures (an unknown home, a body that is not a
sealed request, a request the home refuses); these exchanges fail none, so it never
refuses: every answer must be 200, and the bridge's own request counters (by route
pattern) must agree with the number of exchanges on both routes.

The bench process (N client websockets, the guest client) and the bridge share the
machine's CPUs, so on a small machine the latency includes the simulated homes' and the
guest client's work and the figures are an upper bound for a bridge with the CPUs to itself.

The open-file limit (``RLIMIT_NOFILE``) is raised to the hard limit in this process
before the bridge starts, which inherits it (its limit is read back from
``/proc/<pid>/limits``); a number of homes that does not fit stops the bench with a
clear message. Linux only (``/proc``).

Run: ``.venv/ha-2025.4/bin/python bench/bridge_relay.py [--homes N ...] [--exchanges M]
[--concurrency C] [--serial-exchanges S]`` (default: 1,000 then 10,000 homes, 2,000
exchanges with 20 in flight after 200 one at a time).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import hashlib
import json
import math
import os
from pathlib import Path
import platform
import random
import re
import resource
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import time
from typing import Any, Final

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import insert

from bridge.db.engine import create_engine, session_factory
from bridge.db.migrate import upgrade
from bridge.db.tables import EnrolmentCode, Home
from bridge.protocol import (
    MAX_FRAME_BYTES,
    NONCE_BYTES,
    b64url,
    challenge_bytes,
    decode,
    encode,
    from_b64url,
)

DEFAULT_HOMES = (1000, 10_000)
CONNECTS_IN_FLIGHT = 100
CHECKOUT = str(Path(__file__).resolve().parents[1])
# Open files besides the homes' sockets: guest connections, the database, pipes, modules.
SPARE_FILES = 200
LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")
CHALLENGE_BYTES: Final = 40  # what a home mints (core.guest_session)
CHALLENGE_LIFETIME: Final = 120
# Sizes of the real thing, so the bridge reads and relays as many bytes as it would:
# a describe request (grant id, link secret, op) and a describe answer, each sealed
# (AES-GCM adds a 16-byte tag). Nobody here decrypts, so the bytes themselves are random.
SEALED_REQUEST_BYTES: Final = (
    len(json.dumps({"grant": "0" * 32, "secret": "s" * 43, "op": "describe"}).encode()) + 16
)
DESCRIBE_ANSWER: Final[dict[str, Any]] = {
    "home": "Bench",
    "guest": "Guest",
    "doors": [{"id": "d", "name": "Front"}],
    "window": ["always"],
    "status": "active",
}
SEALED_ANSWER: Final = {
    "iv": b64url(secrets.token_bytes(12)),
    "ciphertext": b64url(secrets.token_bytes(len(json.dumps(DESCRIBE_ANSWER).encode()) + 16)),
}
# A page's public key (an uncompressed P-256 point, as WebCrypto exports it), made once.
PAGE_PUBLIC_KEY: Final = b64url(
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
)
# The bridge's /metrics counts requests by route pattern; these are the guest exchange's.
CHALLENGE_ROUTE: Final = "/g/{home_id}/challenge"
REQUEST_ROUTE: Final = "/g/{home_id}/request"
GUEST_CALLS: Final = {"guest.challenge": CHALLENGE_ROUTE, "guest.request": REQUEST_ROUTE}


class BenchError(Exception):
    """The bench cannot run or its figures would be wrong; the message says why."""


@dataclass(frozen=True, slots=True)
class HomeKey:
    """An enrolled home: its id and the private key it proves itself with."""

    home_id: str
    key: Ed25519PrivateKey


@dataclass
class GuestRound:
    """A batch of guest exchanges: the latencies, the statuses, how many got the home's answers."""

    exchanges: int
    concurrency: int
    exchange_ms: list[float] = field(default_factory=list)  # challenge and sealed request
    challenge_ms: list[float] = field(default_factory=list)
    request_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)  # of every call, both routes
    answered: int = 0  # exchanges whose two answers were 200 and the home's
    seconds: float = 0.0
    bridge_cpu_seconds: float = 0.0  # user + system time of the bridge process meanwhile

    @staticmethod
    def percentile(latencies: Sequence[float], fraction: float) -> float:
        """Nearest-rank percentile of ``latencies``, in ms."""
        ordered = sorted(latencies)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]

    def exchange(self, fraction: float) -> float:
        return self.percentile(self.exchange_ms, fraction)

    @property
    def per_second(self) -> float:
        return self.exchanges / self.seconds

    @property
    def bridge_cpu_ms_per_exchange(self) -> float:
        return self.bridge_cpu_seconds * 1000 / self.exchanges


@dataclass
class RunResult:
    """The figures of one run: N homes on a fresh bridge."""

    homes: int
    relay: GuestRound  # the measured latency, ``concurrency`` in flight
    serial: GuestRound  # one in flight: the round trips without queueing
    enrol_seconds: float = 0.0
    connect_seconds: float = 0.0
    connected: int = 0  # as the bridge's /metrics reports it
    rss_cold_kib: int = 0
    rss_base_kib: int = 0
    rss_connected_kib: int = 0
    # What the simulated homes answered, and what the bridge counted answered 200,
    # by guest request kind / route (warm-up excluded).
    answered_by_homes: Counter[str] = field(default_factory=Counter)
    relayed_per_metrics: Counter[str] = field(default_factory=Counter)
    bench_nofile: int = 0
    bridge_nofile: int = 0
    bridge_exit: int | None = None

    @property
    def kib_per_home(self) -> float:
        return (self.rss_connected_kib - self.rss_base_kib) / self.homes


# --- Limits and /proc ----------------------------------------------------------------------


def raise_open_file_limit(homes: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit; the limit now in force."""
    needed = homes + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < needed:
        raise BenchError(
            f"{homes} homes need about {needed} open files in each process, but the hard "
            f"limit is {hard} (raise it, e.g. `ulimit -Hn {needed}` as root, or use fewer homes)"
        )
    low, high = local_port_range()
    if high - low + 1 < needed:
        raise BenchError(
            f"{homes} loopback connections need {needed} local ports, but "
            f"net.ipv4.ip_local_port_range is {low}-{high}"
        )
    return soft


def local_port_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def open_file_limit_of(pid: int) -> int:
    """The soft open-file limit of a process, from ``/proc/<pid>/limits``."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft = line.split()[3]
            return sys.maxsize if soft == "unlimited" else int(soft)
    raise BenchError(f"no open-file limit for process {pid}")


# --- The bridge process --------------------------------------------------------------------


class BridgeServer:
    """``keyholder-bridge serve`` on loopback, as operators run it (see tests/bridge/process.py)."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.url = ""
        self.output: deque[str] = deque(maxlen=20)  # its last lines, for error messages
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BenchError("the bridge is not running")
        return self._process.pid

    async def start(self) -> str:
        script = shutil.which("keyholder-bridge", path=Path(sys.executable).parent)
        if script is None:
            raise BenchError("the keyholder-bridge console script is not installed next to Python")
        # The child inherits this process's (raised) open-file limit.
        process = await asyncio.create_subprocess_exec(
            script, "serve", "--host", "127.0.0.1", "--port", "0",
            "--database-url", self.database_url,
            # Every simulated home and guest comes from 127.0.0.1: lift the per-address cap.
            "--max-connections-per-address", "100000",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.workdir,
            # This checkout's bridge first, ahead of wherever the script was installed from.
            env={**os.environ, "PYTHONPATH": CHECKOUT},
        )  # fmt: skip
        self._process = process
        if process.stdout is None:  # pragma: no cover - stdout is a pipe
            raise BenchError("no pipe to read the bridge's output from")
        match = None
        async with asyncio.timeout(30):
            while match is None:
                line = await process.stdout.readline()
                if not line:
                    raise BenchError(f"the bridge exited before listening: {self.tail()}")
                self.output.append(line.decode(errors="replace").rstrip())
                match = LISTENING.search(line)
        self.url = match.group(1).decode()
        self._drain = asyncio.get_running_loop().create_task(self._read_output(process.stdout))
        return self.url

    async def _read_output(self, stream: asyncio.StreamReader) -> None:
        """Keep reading, so a chatty bridge (a log line per home) never blocks on a full pipe."""
        while line := await stream.readline():
            self.output.append(line.decode(errors="replace").rstrip())

    def tail(self) -> str:
        return " | ".join(self.output)

    async def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        process, self._process = self._process, None
        if process is None:
            return 0
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(60):
                status = await process.wait()
        except TimeoutError:
            process.kill()
            status = await process.wait()
        if self._drain is not None:
            await self._drain
        return status


# --- Enrolment -----------------------------------------------------------------------------


def new_homes(count: int) -> list[HomeKey]:
    """``count`` homes with fresh Ed25519 keys and distinct ids like the bridge's own."""
    ids: set[str] = set()
    while len(ids) < count:
        ids.add(f"home-{secrets.token_hex(6)}")
    return [HomeKey(home_id, Ed25519PrivateKey.generate()) for home_id in sorted(ids)]


async def enrol(database_url: str, homes: Sequence[HomeKey]) -> None:
    """Migrate, then write each home and its spent enrolment code in one transaction."""
    await upgrade(database_url)
    now = datetime.now(UTC)
    home_rows = []
    code_rows = []
    for home in homes:
        raw = home.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        home_rows.append(
            {"id": home.home_id, "name": "Bench", "public_key": raw, "enrolled_at": now}
        )
        selector = secrets.token_urlsafe(9)
        code = f"{selector}.{secrets.token_urlsafe(32)}"
        code_rows.append(
            {
                "id": selector,
                "code_hash": hashlib.sha256(code.encode()).digest(),
                "issued_at": now,
                "expires_at": now + timedelta(hours=24),
                "used_at": now,
                "home_id": home.home_id,
            }
        )
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            await session.execute(insert(Home), home_rows)
            await session.execute(insert(EnrolmentCode), code_rows)
    finally:
        await engine.dispose()


# --- Simulated homes -----------------------------------------------------------------------


class Homes:
    """The simulated homes: one websocket and one task answering requests per home."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answered: Counter[str] = Counter()  # 200 answers, by request kind
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def connect(self, home: HomeKey) -> None:
        """Open the link, sign the challenge, wait for welcome; then answer in the background."""
        socket = await self._session.ws_connect(
            f"{self.url}/api/v1/homes/link", max_msg_size=MAX_FRAME_BYTES
        )
        try:
            async with asyncio.timeout(60):
                await _handshake(socket, home)
        except BaseException:
            await socket.close()
            raise
        self._tasks[home.home_id] = asyncio.get_running_loop().create_task(self._answer(socket))

    async def connect_all(self, homes: Sequence[HomeKey]) -> None:
        """Every home, ``CONNECTS_IN_FLIGHT`` handshakes at a time; the first failure stops it."""
        gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)

        async def one(home: HomeKey) -> None:
            async with gate:
                await self.connect(home)

        async with asyncio.TaskGroup() as group:
            for home in homes:
                group.create_task(one(home))

    async def disconnect(self, home_id: str) -> None:
        task = self._tasks.pop(home_id)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _answer(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        """Answer each request at once: a challenge, the sealed answer, or 400."""
        issued: set[str] = set()  # this home's challenges not yet seen back
        try:
            async for frame in socket:  # pings are answered by aiohttp (autoping)
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                message = decode(frame.data)
                if message.type != "request":
                    continue
                kind = str(message.fields["kind"])
                status, body = self._answer_to(message.fields, issued)
                await socket.send_str(
                    encode("response", id=message.fields["id"], status=status, body=body)
                )
                if status == 200:
                    self.answered[kind] += 1
        finally:
            if not socket.closed:
                await socket.close()

    @staticmethod
    def _answer_to(request: Mapping[str, Any], issued: set[str]) -> tuple[int, dict[str, Any]]:
        """What a home answers, in shape; the sealed request only under a challenge it issued,
        once, so each one is known to have come whole from the exchange it belongs to."""
        if request["kind"] == "guest.challenge":
            challenge = b64url(secrets.token_bytes(CHALLENGE_BYTES))
            issued.add(challenge)
            return 200, {"challenge": challenge, "lifetime": CHALLENGE_LIFETIME}
        if request["kind"] == "guest.request":
            if request["body"].get("challenge") not in issued:
                return 400, {"error": {"code": "bad_challenge", "message": "not this home's"}}
            issued.discard(request["body"]["challenge"])
            return 200, SEALED_ANSWER
        return 400, {"error": {"code": "unknown_request_kind", "message": "not a guest request"}}

    async def close(self) -> None:
        """Close every link (websocket close handshakes, all at once)."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._session.close()


async def _handshake(socket: aiohttp.ClientWebSocketResponse, home: HomeKey) -> None:
    """Answer the challenge with the home's signature; ``welcome`` or ``BenchError``."""
    challenge = decode(await socket.receive_str())
    if challenge.type != "challenge":
        raise BenchError(f"{home.home_id}: expected a challenge, got {challenge}")
    nonce = from_b64url(str(challenge.fields["nonce"]), NONCE_BYTES, "nonce")
    signature = home.key.sign(challenge_bytes(home.home_id, nonce))
    await socket.send_str(encode("hello", home_id=home.home_id, signature=b64url(signature)))
    welcome = decode(await socket.receive_str())
    if welcome.type != "welcome":
        raise BenchError(f"{home.home_id}: refused: {dict(welcome.fields)}")


# --- Guests and the bridge's metrics -------------------------------------------------------


def sealed_request(challenge: str) -> dict[str, str]:
    """A sealed request in the page's shape and size, under the home's ``challenge``."""
    return {
        "challenge": challenge,
        "public_key": PAGE_PUBLIC_KEY,
        "iv": b64url(secrets.token_bytes(12)),
        "ciphertext": b64url(secrets.token_bytes(SEALED_REQUEST_BYTES)),
    }


async def guest_exchanges(
    url: str, home_ids: Sequence[str], batch: GuestRound, rng: random.Random
) -> None:
    """``batch.exchanges`` guest exchanges with random homes, ``batch.concurrency`` at a time:
    a challenge, then a sealed request under it; each call and each exchange timed."""
    pages = iter([f"{url}/g/{rng.choice(home_ids)}" for _ in range(batch.exchanges)])
    connector = aiohttp.TCPConnector(limit=batch.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)

    async def call(
        session: aiohttp.ClientSession, url: str, body: dict[str, str], latencies: list[float]
    ) -> tuple[int, Any]:
        started = time.perf_counter()
        async with session.post(url, json=body) as response:
            answer = await response.json()
        latencies.append((time.perf_counter() - started) * 1000)
        batch.statuses[response.status] += 1
        return response.status, answer

    async def worker(session: aiohttp.ClientSession) -> None:
        for page in pages:
            started = time.perf_counter()
            status, issued = await call(session, f"{page}/challenge", {}, batch.challenge_ms)
            if status != 200 or not isinstance(issued.get("challenge"), str):
                continue
            body = sealed_request(issued["challenge"])
            status, answer = await call(session, f"{page}/request", body, batch.request_ms)
            batch.exchange_ms.append((time.perf_counter() - started) * 1000)
            if status == 200 and answer == SEALED_ANSWER:
                batch.answered += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(batch.concurrency):
                group.create_task(worker(session))
        batch.seconds = time.perf_counter() - started


async def bridge_metrics(url: str) -> tuple[int, Counter[str]]:
    """(homes connected, guest calls answered 200 by route) as the bridge's ``/metrics`` says."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    connected, relayed = 0, Counter[str]()
    for line in text.splitlines():
        if line.startswith("keyholder_bridge_homes_connected "):
            connected = int(float(line.split()[1]))
        for route in GUEST_CALLS.values():
            if line.startswith(f'keyholder_bridge_requests_total{{route="{route}",status="200"}}'):
                relayed[route] = int(float(line.split()[1]))
    return connected, relayed


async def wait_connected(url: str, expected: int, within: float) -> int:
    """Poll ``/metrics`` until the bridge counts ``expected`` homes connected; the last count."""
    async with asyncio.timeout(within):
        while True:
            connected, _relayed = await bridge_metrics(url)
            if connected == expected:
                return connected
            await asyncio.sleep(0.1)


# --- One run -------------------------------------------------------------------------------


async def run(
    homes: int,
    exchanges: int,
    concurrency: int,
    workdir: Path,
    *,
    serial_exchanges: int = 200,
    settle: float = 5.0,
    seed: int = 1,
    say: bool = True,
) -> RunResult:
    """Enrol and connect ``homes`` homes to a fresh bridge in ``workdir``; measure."""
    if min(homes, exchanges, concurrency, serial_exchanges) < 1:
        raise BenchError("homes, exchanges, concurrency and serial exchanges must be at least 1")
    result = RunResult(homes, GuestRound(exchanges, concurrency), GuestRound(serial_exchanges, 1))
    step = _Steps(result, settle, random.Random(seed), say)
    result.bench_nofile = raise_open_file_limit(homes)
    database_url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    started = time.perf_counter()
    keys = new_homes(homes)
    await enrol(database_url, keys)
    result.enrol_seconds = time.perf_counter() - started
    step.note(f"enrolled {homes} homes in {result.enrol_seconds:.1f} s (one transaction)")
    bridge = BridgeServer(database_url, workdir)
    online: Homes | None = None
    try:
        await bridge.start()
        online = Homes(bridge.url)
        await step.baseline(bridge, online, keys[0])
        await step.connect(bridge, online, keys)
        await step.relay(bridge, online, keys)
    finally:
        if online is not None:
            await online.close()
        result.bridge_exit = await bridge.stop()
    return result


@dataclass
class _Steps:
    """One run's steps, in order; each fills in its part of ``result``."""

    result: RunResult
    settle: float
    rng: random.Random
    say: bool

    def note(self, text: str) -> None:
        if self.say:
            print(f"  {text}", flush=True)

    async def baseline(self, bridge: BridgeServer, online: Homes, first: HomeKey) -> None:
        """The bridge's RSS with no home: cold, then after one home came, was asked, left."""
        result = self.result
        result.bridge_nofile = open_file_limit_of(bridge.pid)
        if result.bridge_nofile < result.homes + SPARE_FILES:
            raise BenchError(
                f"the bridge process may open only {result.bridge_nofile} files; "
                f"{result.homes} homes need about {result.homes + SPARE_FILES}"
            )
        await asyncio.sleep(0.5)
        result.rss_cold_kib = rss_kib(bridge.pid)
        await online.connect(first)
        warm = GuestRound(10, 1)
        await guest_exchanges(bridge.url, [first.home_id], warm, self.rng)
        if warm.answered != warm.exchanges:
            raise BenchError(f"warm-up relay failed: {dict(warm.statuses)}; {bridge.tail()}")
        await online.disconnect(first.home_id)
        await wait_connected(bridge.url, 0, within=30)
        await asyncio.sleep(self.settle)
        result.rss_base_kib = rss_kib(bridge.pid)
        self.note(
            f"bridge pid {bridge.pid} at {bridge.url} (open files limit {result.bridge_nofile}): "
            f"RSS {result.rss_cold_kib / 1024:.1f} MiB cold, "
            f"{result.rss_base_kib / 1024:.1f} MiB warm with no home connected"
        )

    async def connect(self, bridge: BridgeServer, online: Homes, keys: Sequence[HomeKey]) -> None:
        """Connect every home (timed), let them idle, read the bridge's RSS."""
        result = self.result
        started = time.perf_counter()
        try:
            await online.connect_all(keys)
        except ExceptionGroup as group:
            first = group.exceptions[0]
            raise BenchError(
                f"connecting homes failed ({len(group.exceptions)} errors, first: {first!r}); "
                f"the bridge said: {bridge.tail()}"
            ) from first
        result.connected = await wait_connected(bridge.url, result.homes, within=120)
        result.connect_seconds = time.perf_counter() - started
        self.note(f"connected {result.connected} homes in {result.connect_seconds:.1f} s")
        await asyncio.sleep(self.settle)  # idle: nothing but the bridge's 20-second pings
        result.rss_connected_kib = rss_kib(bridge.pid)
        self.note(
            f"bridge RSS with {result.homes} idle homes: "
            f"{result.rss_connected_kib / 1024:.1f} MiB, {result.kib_per_home:.1f} KiB per home"
        )

    async def relay(self, bridge: BridgeServer, online: Homes, keys: Sequence[HomeKey]) -> None:
        """Exchanges one at a time, then ``concurrency`` at a time; the bridge's own counts."""
        result = self.result
        home_ids = [key.home_id for key in keys]
        _, relayed_before = await bridge_metrics(bridge.url)
        answered_before = Counter(online.answered)  # the warm-up's
        for batch in (result.serial, result.relay):
            cpu_before = cpu_seconds(bridge.pid)
            await guest_exchanges(bridge.url, home_ids, batch, self.rng)
            batch.bridge_cpu_seconds = cpu_seconds(bridge.pid) - cpu_before
            self.note(
                f"{batch.exchanges} guest exchanges, {batch.concurrency} in flight: "
                f"{batch.seconds:.1f} s ({batch.per_second:.0f}/s), "
                f"p50 {batch.exchange(0.5):.1f} ms, p99 {batch.exchange(0.99):.1f} ms, "
                f"bridge CPU {batch.bridge_cpu_ms_per_exchange:.2f} ms an exchange; "
                f"statuses {dict(sorted(batch.statuses.items()))}"
            )
        connected, relayed = await bridge_metrics(bridge.url)
        result.relayed_per_metrics = relayed - relayed_before
        result.answered_by_homes = online.answered - answered_before
        if connected != result.homes:
            raise BenchError(f"{connected} of {result.homes} homes still connected after the relay")


# --- Output --------------------------------------------------------------------------------


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = f" ({line.partition(':')[2].strip()})"
                break
    return (
        f"{os.cpu_count()} CPUs{model}, {platform.system()} {platform.release()} "
        f"{platform.machine()}, Python {platform.python_version()}, aiohttp {aiohttp.__version__}"
    )


def table(results: Sequence[RunResult]) -> list[str]:
    """The figures, one column per run."""
    concurrency = results[0].relay.concurrency if results else 0

    def answered(batch: GuestRound) -> str:
        return f"{batch.answered:,}/{batch.exchanges:,}"

    def ms(values: Sequence[float], fraction: float) -> str:
        return f"{GuestRound.percentile(values, fraction):.1f}"

    rows: list[tuple[str, list[str]]] = [
        ("homes connected (bridge /metrics)", [f"{r.connected:,}" for r in results]),
        ("time to connect all (s)", [f"{r.connect_seconds:.1f}" for r in results]),
        ("  handshakes per second", [f"{r.homes / r.connect_seconds:,.0f}" for r in results]),
        ("bridge RSS, no home (MiB)", [f"{r.rss_base_kib / 1024:.1f}" for r in results]),
        (
            "bridge RSS, all homes idle (MiB)",
            [f"{r.rss_connected_kib / 1024:.1f}" for r in results],
        ),
        ("memory per idle home (KiB)", [f"{r.kib_per_home:.1f}" for r in results]),
        (f"relay, {concurrency} exchanges in flight:", ["" for _ in results]),
        ("  exchanges answered (both 200)", [answered(r.relay) for r in results]),
        ("  exchange latency p50 (ms)", [ms(r.relay.exchange_ms, 0.50) for r in results]),
        ("  exchange latency p90 (ms)", [ms(r.relay.exchange_ms, 0.90) for r in results]),
        ("  exchange latency p99 (ms)", [ms(r.relay.exchange_ms, 0.99) for r in results]),
        ("  exchange latency max (ms)", [f"{max(r.relay.exchange_ms):.1f}" for r in results]),
        ("  challenge latency p50 (ms)", [ms(r.relay.challenge_ms, 0.50) for r in results]),
        ("  sealed request latency p50 (ms)", [ms(r.relay.request_ms, 0.50) for r in results]),
        ("  exchanges per second", [f"{r.relay.per_second:,.0f}" for r in results]),
        (
            "  bridge CPU per exchange (ms)",
            [f"{r.relay.bridge_cpu_ms_per_exchange:.2f}" for r in results],
        ),
        ("relay, 1 exchange in flight:", ["" for _ in results]),
        ("  exchanges answered (both 200)", [answered(r.serial) for r in results]),
        ("  exchange latency p50 (ms)", [ms(r.serial.exchange_ms, 0.50) for r in results]),
        ("  exchange latency p99 (ms)", [ms(r.serial.exchange_ms, 0.99) for r in results]),
        ("  challenge latency p50 (ms)", [ms(r.serial.challenge_ms, 0.50) for r in results]),
        ("  sealed request latency p50 (ms)", [ms(r.serial.request_ms, 0.50) for r in results]),
    ]
    header = "".join(f"{f'{r.homes:,} homes':>14}" for r in results)
    lines = [f"{'':36}{header}"]
    lines += [f"{name:36}{''.join(f'{v:>14}' for v in values)}" for name, values in rows]
    return lines


def check(result: RunResult) -> list[str]:
    """What went wrong in a run (nothing, normally)."""
    problems = []
    if result.connected != result.homes:
        problems.append(f"{result.connected} of {result.homes} homes connected")
    asked = result.relay.exchanges + result.serial.exchanges
    for batch in (result.serial, result.relay):
        if batch.answered != batch.exchanges:
            problems.append(
                f"{batch.answered} of {batch.exchanges} guest exchanges got the home's answers "
                f"(statuses {dict(batch.statuses)})"
            )
        if batch.statuses[429]:
            problems.append(f"the guest limiter refused {batch.statuses[429]} calls")
    for kind, route in GUEST_CALLS.items():
        if result.relayed_per_metrics[route] != asked:
            problems.append(
                f"the bridge counted {result.relayed_per_metrics[route]} of {asked} "
                f"{route} answered 200"
            )
        if result.answered_by_homes[kind] != asked:
            problems.append(
                f"the homes answered {result.answered_by_homes[kind]} of {asked} {kind} with 200"
            )
    if result.bridge_exit != 0:
        problems.append(f"the bridge exited with status {result.bridge_exit} on SIGTERM")
    return problems


async def bench(
    homes: Sequence[int], exchanges: int, concurrency: int, serial_exchanges: int
) -> list[RunResult]:
    results = []
    for count in homes:
        print(f"{count:,} homes:", flush=True)
        with tempfile.TemporaryDirectory(prefix="keyholder-bridge-bench-") as workdir:
            results.append(
                await run(
                    count, exchanges, concurrency, Path(workdir), serial_exchanges=serial_exchanges
                )
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--homes", type=int, nargs="+", default=list(DEFAULT_HOMES), help="one run per number"
    )
    parser.add_argument(
        "--exchanges",
        type=int,
        default=2000,
        help="guest exchanges (a challenge, then a sealed request) per run",
    )
    parser.add_argument("--concurrency", type=int, default=20, help="guest exchanges in flight")
    parser.add_argument(
        "--serial-exchanges",
        type=int,
        default=200,
        help="guest exchanges one at a time, per run",
    )
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print("Bridge relay: keyholder-bridge serve (separate process, SQLite) and simulated homes")
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {machine()}")
    print(
        "note: the simulated homes, the guest client and the bridge share these CPUs, "
        "so latency includes the homes' and the guest client's work"
    )
    try:
        limit = raise_open_file_limit(max(args.homes))
        print(f"open files: limit {limit} (was {soft}, hard {hard}), inherited by the bridge")
        results = asyncio.run(
            bench(args.homes, args.exchanges, args.concurrency, args.serial_exchanges)
        )
    except BenchError as err:
        parser.exit(1, f"bridge_relay: {err}\n")
    print(
        f"\nper run: {args.serial_exchanges:,} guest exchanges one at a time, then "
        f"{args.exchanges:,} with {args.concurrency} in flight, with random homes; an exchange "
        f"is POST {CHALLENGE_ROUTE} then POST {REQUEST_ROUTE} (sealed), two relay round trips; "
        "memory per home = (RSS with all homes idle - RSS with none) / homes"
    )
    for line in table(results):
        print(line)
    problems = [f"{r.homes} homes: {p}" for r in results for p in check(r)]
    if problems:
        parser.exit(1, "bridge_relay: " + "; ".join(problems) + "\n")
    print(
        "every guest exchange got the home's answers (HTTP 200 on both routes, the bridge's "
        "own counts agree); the guest limiter refused none"
    )


if __name__ == "__main__":
    main()
