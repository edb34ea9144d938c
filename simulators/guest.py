"""A guest as tests and the demo play one: what the guest page's script does, in Python.

Written from ``docs/protocol.md`` ("Guest links"), apart from the integration's own
code, so that two implementations (this one and ``bridge/static/guest.js``) are held
to the home's, and to the shared test vectors.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
import json
import secrets
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KDF_INFO = b"keyholder-guest-session-v1"
REQUEST_AAD = b"keyholder-guest-request-v1"
RESPONSE_AAD = b"keyholder-guest-response-v1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class GuestLink:
    """A link as the guest received it: the page's address and what follows ``#``."""

    page: str
    grant_id: str
    secret: str
    home_key: bytes

    @classmethod
    def parse(cls, url: str) -> GuestLink:
        page, _, fragment = url.partition("#")
        version, grant_id, secret, home_key = fragment.split(".")
        if version != "1":
            raise ValueError("not a version 1 guest link")
        return cls(page, grant_id, secret, unb64url(home_key))


@dataclass(frozen=True)
class Sealed:
    """One sealed request and the key its answer will come under."""

    body: dict[str, str]
    response_key: bytes

    def open(self, answer: dict[str, str]) -> Any:
        iv, ciphertext = unb64url(answer["iv"]), unb64url(answer["ciphertext"])
        return json.loads(AESGCM(self.response_key).decrypt(iv, ciphertext, RESPONSE_AAD))


def seal(
    home_key: bytes,
    challenge: bytes,
    plaintext: bytes,
    *,
    page_key: ec.EllipticCurvePrivateKey | None = None,
    iv: bytes | None = None,
) -> Sealed:
    """Seal ``plaintext`` for the home under ``challenge`` (ECDH P-256, HKDF, AES-GCM)."""
    private = page_key or ec.generate_private_key(ec.SECP256R1())
    page_raw = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    home = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), home_key)
    shared = private.exchange(ec.ECDH(), home)
    okm = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=challenge, info=KDF_INFO + page_raw + home_key
    ).derive(shared)
    nonce = iv or secrets.token_bytes(12)
    ciphertext = AESGCM(okm[:32]).encrypt(nonce, plaintext, REQUEST_AAD)
    body = {
        "challenge": b64url(challenge),
        "public_key": b64url(page_raw),
        "iv": b64url(nonce),
        "ciphertext": b64url(ciphertext),
    }
    return Sealed(body, okm[32:])


class Guest:
    """A guest's phone: asks the home through the bridge, exactly as the page does."""

    def __init__(self, http: aiohttp.ClientSession, link_url: str) -> None:
        self.http = http
        self.link = GuestLink.parse(link_url)

    async def challenge(self) -> bytes:
        async with self.http.post(f"{self.link.page}/challenge", json={}) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise GuestRefusedError(resp.status, data["error"]["code"])
            return unb64url(data["challenge"])

    def seal(self, challenge: bytes, request: dict[str, Any]) -> Sealed:
        plaintext = {"grant": self.link.grant_id, "secret": self.link.secret, **request}
        return seal(self.link.home_key, challenge, json.dumps(plaintext).encode())

    async def send(self, sealed: Sealed) -> Any:
        async with self.http.post(f"{self.link.page}/request", json=sealed.body) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise GuestRefusedError(resp.status, data["error"]["code"])
            return sealed.open(data)

    async def describe(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self.send(
            self.seal(await self.challenge(), {"op": "describe"})
        )
        return answer

    async def open(self, door_id: str) -> dict[str, Any]:
        request = {"op": "open", "door_id": door_id}
        answer: dict[str, Any] = await self.send(self.seal(await self.challenge(), request))
        return answer


class GuestRefusedError(Exception):
    """The bridge or the home refused the request: the HTTP status and the error code."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
