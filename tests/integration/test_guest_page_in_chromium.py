"""The guest page in a real headless Chromium: open the link, tap Open, read the result.

The whole path is real: Chromium loads the page from the bridge (its own process),
the bridge relays over the home's websocket to Home Assistant, Keyholder decides,
the template lock opens, and the answer comes back to the page.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ..headless_chromium import CHROMIUM, chromium_page
from .bridge_fixtures import until
from .conftest import FRONT, Actions
from .test_guest_links import linked_house  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium here: scripts/test installs it for the Home Assistant 2025.4 run; "
    "the page is the bridge's and does not change with the Home Assistant version",
)


async def test_a_guest_opens_the_door_from_the_page_in_a_browser(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,  # noqa: F811
    actions: Actions,
    tmp_path: Path,
) -> None:
    now = dt_util.now()
    created = await actions.call(
        "create_grant",
        {
            "kind": "link",
            "name": "Dog walker",
            "doors": [FRONT],
            "starts": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "ends": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    async with chromium_page(created["link_url"], tmp_path / "profile") as page:
        label = await page.wait_for("document.querySelector('button')?.innerText")
        assert label == f"Open {FRONT}"
        assert "Dog walker" in await page.evaluate("document.body.innerText")
        await page.evaluate("document.querySelector('button').click()")
        code = await page.wait_for("document.querySelector('.result')?.dataset.code")
        assert code == "allowed"
        text = await page.evaluate("document.querySelector('.result').innerText")
        assert text == "The door is open. Please close it behind you."
    await until(lambda: hass.states.get("lock.front").state == "unlocked", "the lock")  # type: ignore[union-attr]
