"""The address a guest opens: the bridge's page for the home, carrying the grant's token.

``<bridge>/g/<home id at the bridge>.<grant token>``. The bridge keeps nothing of it:
it reads the home id to know where to relay, and passes the token to the home,
which checks it like any other signed request.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry

from ..const import CONF_BRIDGE_HOME_ID, CONF_BRIDGE_URL


def guest_link_url(entry: ConfigEntry, token: str) -> str | None:
    """The guest's link for ``token``; None while the home is not linked to a bridge."""
    url, home_id = entry.options.get(CONF_BRIDGE_URL), entry.options.get(CONF_BRIDGE_HOME_ID)
    if not url or not home_id:
        return None
    return f"{url}/g/{home_id}.{token}"
