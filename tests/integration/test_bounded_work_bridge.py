"""An announce to year 9999 through the real bridge process: declined, and HA answers.

The same worst input as in ``test_bounded_work``, sent by a carrier over HTTP to
``keyholder-bridge`` (its own process), which relays it over the home's real link.
"""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge.db.repository import Registry

from ..bridge.process import BridgeProcess
from .bridge_fixtures import registered_carrier
from .conftest import FRONT, Actions
from .test_bounded_work import END_OF_TIME, EVERY_DAY, _answered_meanwhile, probe  # noqa: F401
from .test_guest_links import linked_house  # noqa: F401 - the fixture


async def test_an_announce_until_year_9999_through_the_bridge_is_declined_at_once(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,  # noqa: F811
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
    probe: TestClient,  # noqa: F811
) -> None:
    carrier = await registered_carrier(bridge_registry, "Acme Parcel")
    await actions.call("approve_carrier", {"carrier_id": carrier.carrier_id})
    await actions.call(
        "create_grant",
        {
            "kind": "carrier",
            "name": "Acme every day",
            "doors": [FRONT],
            "carrier": carrier.carrier_id,
            "weekly": EVERY_DAY,
        },
    )
    path = f"/api/v1/carrier/homes/{linked_house.options['bridge_home_id']}/deliveries"
    window = {
        "reference": "PKG-endless",
        "window_start": dt_util.now().isoformat(),
        "window_end": END_OF_TIME,
    }
    raw, headers = carrier.sign(path, window)

    async def announce() -> tuple[int, dict[str, object]]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(bridge.url + path, data=raw, headers=headers) as resp,
        ):
            return resp.status, await resp.json()

    status, answer = await _answered_meanwhile(probe, announce())

    if status == 400:  # the bridge itself may refuse so long a window
        assert answer["error"]["code"] == "invalid_request"  # type: ignore[index]
    else:  # or relay it, and the home declines it as invalid
        assert status == 201
        assert (answer["status"], answer["reason"]) == ("declined", "invalid_request")
        refused = [r for r in actions.home.audit.records if r["kind"] == "request_refused"]
        assert [r["data"]["refusal"] for r in refused] == ["window_too_long"]
    assert actions.home.deliveries.all() == []
