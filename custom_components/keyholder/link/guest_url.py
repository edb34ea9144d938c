"""The address a guest opens: the bridge's page for the home, the link's secret after ``#``.

``<bridge>/g/<home id at the bridge>#1.<grant id>.<link secret>.<home session key>``.
Browsers never send the fragment to a server, so the bridge, which serves the page
and relays its sealed requests, never learns the secret (``core.guest_session``).
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry

from ..const import CONF_BRIDGE_HOME_ID, CONF_BRIDGE_URL
from ..core.guest_session import link_fragment
from ..guest_keys import GuestKeys


def guest_link_url(entry: ConfigEntry, keys: GuestKeys, grant_id: str) -> str | None:
    """The guest's link for a link grant; None while the home is not linked to a bridge."""
    url, home_id = entry.options.get(CONF_BRIDGE_URL), entry.options.get(CONF_BRIDGE_HOME_ID)
    if not url or not home_id:
        return None
    fragment = link_fragment(grant_id, keys.link_secret(grant_id), keys.session_public_key)
    return f"{url}/g/{home_id}#{fragment}"
