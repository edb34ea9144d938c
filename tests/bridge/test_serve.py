"""The bridge's console script really serves, as a separate process on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
import re
import shutil
import signal
import sys

import aiohttp
import pytest

from bridge import __version__
from bridge.cli import main

LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")


def _bridge_command() -> list[str]:
    script = shutil.which("keyholder-bridge", path=Path(sys.executable).parent)
    assert script, "the keyholder-bridge console script is installed with the package"
    return [script]


@pytest.fixture
async def bridge_url(socket_enabled: None) -> AsyncIterator[str]:
    """Start ``keyholder-bridge serve`` on a free loopback port (sockets stay loopback-only)."""
    process = await asyncio.create_subprocess_exec(
        *_bridge_command(), "serve", "--host", "127.0.0.1", "--port", "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    match = None
    try:
        async with asyncio.timeout(20):
            while match is None:
                line = await process.stdout.readline()
                if not line:
                    pytest.fail("the bridge exited before listening")
                match = LISTENING.search(line)
        yield match.group(1).decode()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(10):
                await process.wait()
    assert process.returncode == 0, "the bridge shuts down cleanly on SIGTERM"


async def test_healthz_answers_over_loopback(bridge_url: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{bridge_url}/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "version": __version__}


def test_bad_port_in_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEYHOLDER_BRIDGE_PORT", "eighty")
    assert main(["serve"]) == 2
    assert "KEYHOLDER_BRIDGE_PORT must be a whole number" in capsys.readouterr().err
