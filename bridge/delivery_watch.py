"""Wakes the carriers watching a delivery's status stream when its status changes."""

from __future__ import annotations

import asyncio

from aiohttp import web


class DeliveryWatch:
    """One event per watched delivery, set on each change and renewed for the next."""

    def __init__(self) -> None:
        self._changed: dict[str, asyncio.Event] = {}

    def changed(self, delivery_id: str) -> asyncio.Event:
        """The event the next change of ``delivery_id`` sets."""
        return self._changed.setdefault(delivery_id, asyncio.Event())

    def notify(self, delivery_id: str) -> None:
        if (event := self._changed.pop(delivery_id, None)) is not None:
            event.set()


DELIVERY_WATCH_KEY = web.AppKey("delivery_watch", DeliveryWatch)
