"""Home Assistant as the demo drives it: over its REST API, the way the frontend does.

Onboarding creates the owner; config, options and subentry flows are walked step
by step with the same requests the UI sends, so the demo sets Keyholder up exactly
as a user would, and fails loudly where a user would see an error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

CLIENT_ID = "http://127.0.0.1/"
CONFIG = "/api/config/config_entries"


class SetupError(Exception):
    """A step of the set-up did not go as a user would expect."""


class HomeAssistantApi:
    """An owner's session with one Home Assistant over HTTP."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self._http = http
        self.base = base
        self._token = ""

    async def wait_until_up(self, seconds: float) -> None:
        """Until the HTTP API answers (Home Assistant is still starting before that)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            try:
                async with self._http.get(self.base + "/api/onboarding") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise SetupError(f"Home Assistant did not answer on {self.base}")
            await asyncio.sleep(0.5)

    async def onboard(self, *, name: str, username: str, password: str) -> None:
        """Create the owner, sign in, and finish the remaining onboarding steps."""
        owner = await self._post(
            "/api/onboarding/users",
            {
                "client_id": CLIENT_ID,
                "name": name,
                "username": username,
                "password": password,
                "language": "en",
            },
            signed_in=False,
        )
        form = aiohttp.FormData(
            {
                "grant_type": "authorization_code",
                "code": owner["auth_code"],
                "client_id": CLIENT_ID,
            }
        )
        async with self._http.post(self.base + "/auth/token", data=form) as resp:
            resp.raise_for_status()
            self._token = str((await resp.json())["access_token"])
        await self._post("/api/onboarding/core_config", {})
        await self._post("/api/onboarding/analytics", {})
        await self._post(
            "/api/onboarding/integration", {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID}
        )

    async def add_integration(self, domain: str, *steps: dict[str, Any]) -> dict[str, Any]:
        """Add an integration through its config flow; the created entry."""
        result = await self.walk_flow(f"{CONFIG}/flow", {"handler": domain}, steps)
        if result["type"] != "create_entry":
            raise SetupError(f"adding {domain} ended with {result}")
        entry: dict[str, Any] = result["result"]
        return entry

    async def add_subentry(self, entry_id: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        result = await self.walk_flow(
            f"{CONFIG}/subentries/flow", {"handler": [entry_id, kind]}, [data]
        )
        if result["type"] != "create_entry":
            raise SetupError(f"adding the {kind} {data.get('name')} ended with {result}")
        return result

    async def options(self, entry_id: str, *steps: dict[str, Any]) -> dict[str, Any]:
        """Walk an entry's options flow; its last result.

        An integration reloading (as Keyholder does after a door is added) says so and
        asks to try again in a moment: that is what this does, for up to a minute.
        """
        path = f"{CONFIG}/options/flow"
        for _ in range(120):
            first: dict[str, Any] = await self._post(path, {"handler": entry_id})
            if first.get("reason") != "not_loaded":
                break
            await asyncio.sleep(0.5)
        else:
            raise SetupError(f"the options of {entry_id} stayed unavailable")
        return await self._continue(path, first, steps)

    async def walk_flow(self, path: str, start: dict[str, Any], steps: Any) -> dict[str, Any]:
        """Start a flow and submit each step in turn; a form shown with errors fails."""
        return await self._continue(path, await self._post(path, start), steps)

    async def _continue(self, path: str, result: dict[str, Any], steps: Any) -> dict[str, Any]:
        for step in steps:
            if result["type"] not in ("form", "menu"):
                raise SetupError(f"{path}: expected a form before {step}, got {result}")
            result = await self._post(f"{path}/{result['flow_id']}", step)
            if result.get("errors"):
                raise SetupError(f"{path}: {result['step_id']} refused {step}: {result['errors']}")
        return result

    async def submit(
        self, path: str, shown: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        """Submit ``data`` to a form a flow is showing; the next result."""
        result: dict[str, Any] = await self._post(f"{path}/{shown['flow_id']}", data)
        if result.get("errors"):
            raise SetupError(f"{path}: {result['step_id']} refused {data}: {result['errors']}")
        return result

    async def entry_state(self, entry_id: str) -> str | None:
        entries = await self._get(f"{CONFIG}/entry")
        return next((str(e["state"]) for e in entries if e["entry_id"] == entry_id), None)

    async def states(self) -> list[dict[str, Any]]:
        states: list[dict[str, Any]] = await self._get("/api/states")
        return states

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        async with self._http.get(
            f"{self.base}/api/states/{entity_id}", headers=self._headers
        ) as resp:
            if resp.status == 404:
                return None
            resp.raise_for_status()
            state: dict[str, Any] = await resp.json()
            return state

    async def call(
        self, domain: str, service: str, data: dict[str, Any], *, response: bool = False
    ) -> Any:
        suffix = "?return_response" if response else ""
        answer = await self._post(f"/api/services/{domain}/{service}{suffix}", data)
        return answer.get("service_response") if response else answer

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def _get(self, path: str) -> Any:
        async with self._http.get(self.base + path, headers=self._headers) as resp:
            if resp.status >= 400:
                raise SetupError(f"GET {path}: {resp.status} {await resp.text()}")
            return await resp.json()

    async def _post(self, path: str, body: Any, *, signed_in: bool = True) -> Any:
        headers = self._headers if signed_in else {}
        async with self._http.post(self.base + path, json=body, headers=headers) as resp:
            if resp.status >= 400:
                raise SetupError(f"POST {path}: {resp.status} {await resp.text()}")
            return await resp.json()
