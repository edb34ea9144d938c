"""Signed audit checkpoints between the home and its bridge.

The home signs its chain's head (``core.checkpoint``) and sends it to the bridge as an
``audit.checkpoint`` event: after every ``EVERY_RECORDS`` records, at the end of each
visit, and every ``INTERVAL`` while something was appended since the last one. The
bridge keeps checkpoints append-only and never lets them go backwards.

At start the home fetches the checkpoints the bridge holds (plain HTTPS GETs, a page
at a time: they are signed and hold no secret), checks each signature against its own
key, and compares each with its chain (``AuditLog.async_apply_checkpoint``). Only once
every comparison has passed, or the bridge holds none, does the home send checkpoints:
a home whose log was rewritten must not move the bridge's checkpoint onto the
rewritten chain, or the next start would find the two agreeing again.

A bridge cannot forge a checkpoint (it has no home key); it can only withhold some,
which ``docs/threat-model.md`` says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import logging
from typing import Any, Final

import aiohttp
from cryptography.exceptions import InvalidSignature
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .audit_log import AuditLog
from .core.audit import AuditRecord
from .core.checkpoint import Checkpoint, CheckpointError, SignedCheckpoint
from .home_key import HomeKey
from .link import strict_json

_LOGGER = logging.getLogger(__name__)
EVENT_KIND: Final = "audit.checkpoint"
CHECKPOINTS_PATH: Final = "/api/v1/homes/{home_id}/audit/checkpoints"
PAGE_SIZE: Final = 100  # the bridge's page; a shorter page is the last
EVERY_RECORDS: Final = 100
INTERVAL: Final = timedelta(minutes=5)
FETCH_RETRY_SECONDS: Final = 300.0
FETCH_TIMEOUT_SECONDS: Final = 10.0
MAX_ANSWER_BYTES: Final = 64 * 1024  # a page of 100 is about 25 kB
# A visit's end: the door is shut again (or is not), a moment worth pinning at once.
VISIT_END_KINDS: Final = frozenset({"door_relocked", "door_left_open", "door_relock_failed"})

type Send = Callable[[str, dict[str, Any]], None]
type CreateTask = Callable[[Awaitable[None], str], asyncio.Task[None]]


class AuditCheckpoints:
    """Sends the home's signed checkpoints, once the bridge's latest one matched."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        audit: AuditLog,
        home_key: HomeKey,
        bridge_url: str,
        home_id: str,
        send: Send,
    ) -> None:
        self._hass = hass
        self._audit = audit
        self._key = home_key
        self._url = bridge_url.rstrip("/") + CHECKPOINTS_PATH.format(home_id=home_id)
        self._home_id = home_id
        self._send = send
        self.confirmed = False  # the bridge's latest checkpoint matched, or it holds none
        self._sent_length = 0
        self._pending = False

    def start(self, create_task: CreateTask) -> CALLBACK_TYPE:
        """Fetch and compare in the background, then keep sending; returns the stopper."""
        remove_listener = self._audit.listen(self._on_append)
        remove_timer = async_track_time_interval(self._hass, self._on_tick, INTERVAL)
        create_task(self._async_fetch_until_answered(), "keyholder audit checkpoint")

        @callback
        def stop() -> None:
            remove_listener()
            remove_timer()

        return stop

    async def _async_fetch_until_answered(self) -> None:
        # A bridge that is down sends no event to wait for: ask again on a slow timer.
        while await self.async_fetch() is None:  # noqa: ASYNC110
            await asyncio.sleep(FETCH_RETRY_SECONDS)

    async def async_fetch(self) -> bool | None:
        """Fetch every checkpoint the bridge holds, shortest first, and compare each one.

        True: all matched (or there are none) and the home sends checkpoints from now on.
        False: one did not match, or is not the home's: nothing more is sent.
        None: no usable answer (bridge down, or an error): try again later.

        Every one, not only the latest: whoever took the home's key along with its storage
        could sign a longer checkpoint for a rewritten log, but not make the earlier ones
        go away. The work is bounded by the chain: lengths must grow from one checkpoint
        to the next, and one longer than the chain is a break that ends the walk.
        """
        after = 0
        while True:
            try:
                page = await self._async_get_page(after)
            except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                _LOGGER.debug("Could not fetch the audit checkpoints: %s", err)
                return None
            now = dt_util.utcnow()
            for item in page:
                try:
                    signed = self._ours(item, after)
                except (CheckpointError, InvalidSignature) as err:
                    reason = "bad_signature" if isinstance(err, InvalidSignature) else "malformed"
                    _LOGGER.warning("The bridge answered an audit checkpoint not ours: %s", reason)
                    await self._audit.async_append(
                        "audit_checkpoint_refused", {"reason": reason}, at=now
                    )
                    return False
                if not await self._audit.async_apply_checkpoint(signed.checkpoint, now):
                    return False
                after = signed.checkpoint.length
            if len(page) < PAGE_SIZE:
                break
        self._sent_length = after
        return self._confirm()

    def _ours(self, item: object, after: int) -> SignedCheckpoint:
        """The checkpoint, if it is this home's, signed with its key, and the next one."""
        signed = SignedCheckpoint.from_wire(item)
        if signed.checkpoint.home_id != self._home_id:
            raise CheckpointError("the checkpoint names another home")
        if signed.checkpoint.length <= after:
            raise CheckpointError("checkpoints come shortest first, each longer")
        self._key.public_key.verify(signed.signature, signed.checkpoint.signed_bytes())
        return signed

    async def _async_get_page(self, after: int) -> list[object]:
        """One page of the bridge's checkpoints; a 404 (a bridge without them) is none."""
        session = async_get_clientsession(self._hass)
        async with (
            asyncio.timeout(FETCH_TIMEOUT_SECONDS),
            session.get(self._url, params={"after": str(after)}, allow_redirects=False) as response,
        ):
            if response.status == 404:
                return []
            if response.status != 200:
                raise ValueError(f"the bridge answered {response.status}")
            raw = b""
            while len(raw) <= MAX_ANSWER_BYTES and (
                chunk := await response.content.read(MAX_ANSWER_BYTES + 1 - len(raw))
            ):
                raw += chunk
        if len(raw) > MAX_ANSWER_BYTES:
            raise ValueError("the checkpoint answer is too large")
        body = strict_json.loads(raw, max_bytes=MAX_ANSWER_BYTES)  # StrictJSONError: ValueError
        page = body.get("checkpoints") if isinstance(body, dict) else None
        # Anything but a list is one malformed item, refused (and audited) by ``_ours``.
        return page[:PAGE_SIZE] if isinstance(page, list) else [page]

    def _confirm(self) -> bool:
        self.confirmed = True
        self._send_checkpoint()
        return True

    @callback
    def _on_append(self, record: AuditRecord) -> None:
        self._pending = True
        if not self.confirmed:
            return
        if record.kind in VISIT_END_KINDS or record.seq + 1 - self._sent_length >= EVERY_RECORDS:
            self._send_checkpoint()

    @callback
    def _on_tick(self, _now: datetime) -> None:
        if self.confirmed and self._pending:
            self._send_checkpoint()

    def _send_checkpoint(self) -> None:
        """Sign the chain's head and send it, if the chain has one to pin beyond the last."""
        tail, length = self._audit.tail, self._audit.check.length
        self._pending = False
        if tail is None or tail.seq != length - 1 or length <= self._sent_length:
            return
        checkpoint = Checkpoint(
            home_id=self._home_id,
            length=length,
            last_hash=tail.hash,
            at=int(dt_util.utcnow().timestamp()),
        )
        signed = SignedCheckpoint(checkpoint, self._key.sign(checkpoint.signed_bytes()))
        self._send(EVENT_KIND, signed.to_wire())
        self._sent_length = length
