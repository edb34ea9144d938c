"""Audit records for what the home refused on its bridge link, at a rate a flood cannot push.

Every frame the home cannot use is refused and audited, but the bridge (or anyone who
took it over) can send thousands a second, and each audit record is written to
storage. So each refusal code gets at most one record per ``window``: the first
refusal is recorded at once, the ones after it within the window are counted and
recorded together when the window ends (or when the link stops). The counts of a
code's records add up to every refusal of that code; nothing is lost, nothing floods.

A record holds the code and the count only, never anything of the frame: a frame is
whatever the sender chose to write, and the audit log is read by the homeowner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
import logging
import time
from typing import Any, Final

_LOGGER = logging.getLogger(__name__)
AUDIT_KIND: Final = "link_frame_refused"
WINDOW_SECONDS: Final = 60.0

type Audit = Callable[[str, Mapping[str, str | int]], Awaitable[object]]
type Spawn = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


class RefusalAudit:
    """Counts refusals per code and writes at most one audit record per code per window."""

    def __init__(
        self,
        audit: Audit,
        spawn: Spawn,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._audit = audit
        self._spawn = spawn  # a task the owner cancels when it stops
        self._window = window
        self._clock = clock
        self._recorded_at: dict[str, float] = {}  # when each code was last written
        self._waiting: dict[str, int] = {}  # refusals not written yet, per code
        self._flushes: dict[str, asyncio.Task[None]] = {}

    async def refused(self, code: str) -> None:
        """One refusal: written now, or counted for the record at the window's end.

        The codes are the link's own (a fixed, small set), so these maps stay small.
        """
        now = self._clock()
        last = self._recorded_at.get(code)
        if last is None or now - last >= self._window:
            self._recorded_at[code] = now
            await self._write(code, self._waiting.pop(code, 0) + 1)
            return
        self._waiting[code] = self._waiting.get(code, 0) + 1
        if code not in self._flushes:
            self._flushes[code] = self._spawn(self._flush_later(code, last + self._window - now))

    async def flush(self) -> None:
        """Write every count still waiting (the link is stopping): none is lost.

        A flush still waiting for its window is cancelled first; one already writing has
        taken its count and finishes on its own.
        """
        for task in self._flushes.values():
            task.cancel()
        self._flushes.clear()
        waiting, self._waiting = self._waiting, {}
        for code, count in waiting.items():
            self._recorded_at[code] = self._clock()
            await self._write(code, count)

    async def _flush_later(self, code: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flushes.pop(code, None)
        count = self._waiting.pop(code, 0)
        if count:
            self._recorded_at[code] = self._clock()
            await self._write(code, count)

    async def _write(self, code: str, count: int) -> None:
        try:
            await self._audit(AUDIT_KIND, {"code": code, "count": count})
        except Exception as err:  # noqa: BLE001 - an audit failure must not end the link
            _LOGGER.warning("Could not audit a refused bridge frame (%s)", type(err).__name__)
