"""Limits on guessing: so many failures per key (a client address) in a window, then a lockout.

Only failures count: a homeowner who enrols on the first try, or a guest who opens
their link, is never slowed down; someone trying codes or link secrets is locked out
after ``max_failures`` within ``window`` for ``lockout``. Kept in memory, per process:
a restart forgets, which costs an attacker a restart of the bridge they do not control.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import logging
import math
import time

LOGGER = logging.getLogger(__name__)
MAX_TRACKED_KEYS = 100_000


@dataclass(slots=True)
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class FailureLimiter:
    """Failure counting with lockout, per key."""

    def __init__(
        self,
        *,
        max_failures: int,
        window: float,
        lockout: float,
        clock: Callable[[], float] = time.monotonic,
        name: str = "requests",
    ) -> None:
        if max_failures < 1 or window <= 0 or lockout <= 0:
            raise ValueError("a limiter needs at least one failure, a window and a lockout")
        self._max = max_failures
        self._window = window
        self._lockout = lockout
        self._clock = clock
        self._name = name
        self._records: dict[str, _Record] = {}

    def retry_after(self, key: str) -> int | None:
        """Whole seconds until ``key`` may try again, or None when it may try now."""
        record = self._records.get(key)
        if record is None:
            return None
        left = record.locked_until - self._clock()
        return math.ceil(left) if left > 0 else None

    def failed(self, key: str) -> bool:
        """Count a failure; the one that reaches the limit starts the lockout (and says so)."""
        now = self._clock()
        if len(self._records) >= MAX_TRACKED_KEYS and key not in self._records:
            self._forget_stale(now)
        record = self._records.setdefault(key, _Record())
        record.failures = [at for at in record.failures if now - at < self._window]
        record.failures.append(now)
        if len(record.failures) >= self._max:
            record.locked_until = now + self._lockout
            record.failures.clear()
            # The key is a client address, never what it guessed.
            LOGGER.warning(
                "%s: client locked out",
                self._name,
                extra={
                    "reason": "rate_limited",
                    "limiter": self._name,
                    "client": key,
                    "lockout_seconds": self._lockout,
                },
            )
            return True
        return False

    def _forget_stale(self, now: float) -> None:
        stale = [
            key
            for key, record in self._records.items()
            if record.locked_until <= now
            and all(now - at >= self._window for at in record.failures)
        ]
        for key in stale:
            del self._records[key]
