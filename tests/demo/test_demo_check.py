"""The demo command works: ``scripts/demo --check`` sets the house up and each visit happens.

It runs the demo as the README's command does (``python -m demo`` in this virtual
environment): Home Assistant and the bridge as their own processes on free loopback
ports, the simulated lock on the Mosquitto broker, Keyholder set up over Home
Assistant's HTTP API. The check types the cleaner's PIN at the lock, has the carrier
announce a delivery and open the door through the bridge, and has the dog walker
open their link as its page does (a challenge from the home, then sealed requests,
through the bridge) and tap Open.
"""

from __future__ import annotations

import os
from pathlib import Path
import socket
import subprocess
import sys

from homeassistant import const
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not const.__version__.startswith("2025.4."),
    reason="the demo runs Home Assistant 2025.4, the environment scripts/demo builds",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_demo_sets_the_house_up_and_every_promised_visit_happens(
    tmp_path: Path, socket_enabled: None
) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "demo",
            "--check",
            f"--ha-port={_free_port()}",
            f"--bridge-port={_free_port()}",
            f"--state-dir={tmp_path / 'demo'}",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = tmp_path / "demo" / "home-assistant.log"
    detail = f"{run.stdout}\n{run.stderr}\n{log.read_text() if log.exists() else ''}"
    assert run.returncode == 0, detail
    assert "demo check: passed" in run.stdout
    assert "check: the lock knows the PIN" in run.stdout
    assert "the front door opens for Parcel & Co" in run.stdout
    assert "the dog walker's link shows Dog walker the front door" in run.stdout
    assert "Open: the front door opens" in run.stdout
