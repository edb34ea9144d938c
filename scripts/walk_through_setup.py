"""Click through Keyholder's setup the way a new user does, over Home Assistant's REST API.

Against a fresh ``scripts/develop`` instance: onboard (create the owner), sign in,
check Keyholder is offered under Add Integration, run its config flow, and print
the resulting entry. Standard library only, so it runs with any Python 3.13+.

    python3 scripts/walk_through_setup.py [http://127.0.0.1:8123]
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any
import urllib.parse
import urllib.request

CLIENT_ID = "http://127.0.0.1:8123/"


def _call(
    base: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _token(base: str, code: str) -> str:
    form = urllib.parse.urlencode(
        {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}
    ).encode()
    request = urllib.request.Request(base + "/auth/token", data=form)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(json.loads(response.read())["access_token"])


def _expect(condition: bool, failure: str) -> None:
    if not condition:
        raise SystemExit(f"walk-through failed: {failure}")


def main(base: str) -> int:
    owner = _call(
        base,
        "/api/onboarding/users",
        {
            "client_id": CLIENT_ID,
            "name": "Owner",
            "username": "owner",
            "password": secrets.token_urlsafe(16),
            "language": "en",
        },
    )
    token = _token(base, owner["auth_code"])
    print("onboarded and signed in as the owner")

    handlers = _call(base, "/api/config/config_entries/flow_handlers", token=token)
    _expect("keyholder" in handlers, "Keyholder is not offered under Add Integration")
    print("Keyholder is offered under Add Integration")

    form = _call(base, "/api/config/config_entries/flow", {"handler": "keyholder"}, token=token)
    _expect(form["type"] == "form", f"no form: {form}")
    print(f"form {form['step_id']!r} asks for {[f['name'] for f in form['data_schema']]}")

    done = _call(
        base,
        f"/api/config/config_entries/flow/{form['flow_id']}",
        {"home_name": "Walk-through Home"},
        token=token,
    )
    _expect(done["type"] == "create_entry", f"no entry: {done}")
    entries = _call(base, "/api/config/config_entries/entry?domain=keyholder", token=token)
    print(f"entry created: {done['title']!r}, state {entries[0]['state']!r}")
    _expect(entries[0]["state"] == "loaded", f"entry not loaded: {entries[0]['state']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8123"))
