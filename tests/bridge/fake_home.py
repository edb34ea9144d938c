"""A home at its protocol boundary: a real Ed25519 key speaking the home link over a websocket."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bridge.protocol import b64url, challenge_bytes, decode, encode, from_b64url


class FakeHome:
    """Signs in, records every request, answers each with ``reply``."""

    def __init__(self, home_id: str, key: Ed25519PrivateKey) -> None:
        self.home_id = home_id
        self.key = key
        self.requests: list[dict[str, Any]] = []
        self.reply: tuple[int, dict[str, Any]] = (200, {"allowed": True, "reason": "allowed"})
        self._task: asyncio.Task[None] | None = None
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self, http: aiohttp.ClientSession, url: str) -> None:
        socket = await http.ws_connect(f"{url}/api/v1/homes/link")
        nonce = from_b64url(decode(await socket.receive_str()).fields["nonce"], 32, "nonce")
        signature = self.key.sign(challenge_bytes(self.home_id, nonce))
        await socket.send_str(encode("hello", home_id=self.home_id, signature=b64url(signature)))
        assert decode(await socket.receive_str()).type == "welcome"
        self.socket = socket
        self._task = asyncio.get_running_loop().create_task(self._serve(socket))

    async def _serve(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in socket:
            message = decode(frame.data)
            self.requests.append({"kind": message.fields["kind"], **message.fields["body"]})
            status, body = self.reply
            await socket.send_str(
                encode("response", id=message.fields["id"], status=status, body=body)
            )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            if self.socket is not None:
                await self.socket.close()
