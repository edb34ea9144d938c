"""The bridge as operators run it: the installed console script, a separate process, loopback."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import re
import shutil
import signal
import sys

LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")


def bridge_command() -> list[str]:
    """The installed console script next to this interpreter, as operators run it."""
    script = shutil.which("keyholder-bridge", path=Path(sys.executable).parent)
    assert script, "the keyholder-bridge console script is installed with the package"
    return [script]


def bridge_env() -> dict[str, str]:
    """The environment, with this checkout first on the path.

    The console script is installed once (editable) for the shared virtualenv; put this
    checkout's ``bridge`` ahead of it, so a worktree's process runs the code under test.
    """
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}


class BridgeProcess:
    """``keyholder-bridge serve`` on loopback; stop and start it again on the same port."""

    def __init__(
        self, database_url: str, workdir: Path, port: int = 0, *, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = port
        self.extra_args = extra_args
        self.output = bytearray()  # everything it printed, for tests that read its log
        self.url = ""
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> str:
        process = await asyncio.create_subprocess_exec(
            *bridge_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--database-url", self.database_url, "--log-format", "json", *self.extra_args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.workdir,
            env=bridge_env(),
        )  # fmt: skip
        self._process = process
        assert process.stdout is not None
        match = None
        async with asyncio.timeout(20):
            while match is None:
                line = await process.stdout.readline()
                self.output += line
                if not line:
                    raise RuntimeError("the bridge exited before listening")
                match = LISTENING.search(line)
        self.url = match.group(1).decode()
        self.port = int(self.url.rsplit(":", 1)[1])  # a restart comes back on the same port
        # Keep reading its output, so a chatty bridge never blocks on a full pipe.
        self._drain = asyncio.get_running_loop().create_task(self._read(process.stdout))
        return self.url

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.output += chunk

    def log_lines(self) -> list[str]:
        """What it has logged so far, one line each."""
        return self.output.decode(errors="replace").splitlines()

    async def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        process, self._process = self._process, None
        if process is None:  # stopped already (by the test, before the fixture's teardown)
            return 0
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            status = await process.wait()
            await self._drain  # which has put the rest of its output in self.output
        return status
