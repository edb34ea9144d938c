"""An announce to year 9999 through the real bridge process: refused there, and HA answers.

The same worst input as in ``test_bounded_work``, sent by a carrier over HTTP to
``keyholder-bridge`` (its own process), which refuses a window longer than 31 days before
it stores or relays anything.
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


async def test_an_announce_until_year_9999_is_refused_by_the_bridge_and_the_home_answers(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
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

    # The bridge refuses so long a window itself: nothing stored, nothing relayed. (The
    # home's own refusal, for a bridge that relays it anyway, is test_bounded_work's.)
    assert (status, answer["error"]["code"]) == (400, "invalid_request")  # type: ignore[index]
    assert [r for r in actions.home.audit.records if r["kind"] == "request_refused"] == []
    assert actions.home.deliveries.all() == []
