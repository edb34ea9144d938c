"""What the demo tells the person running it: plain lines on standard output."""

from __future__ import annotations

import sys


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(str(part) for part in parts) + "\n")
    sys.stdout.flush()


def complain(text: str) -> None:
    sys.stderr.write(text + "\n")
