"""Constants shared across the Keyholder integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "keyholder"
LOGGER: Final = logging.getLogger(__package__)

CONF_HOME_NAME: Final = "home_name"
# Options: the bridge this home links to, and the id it was given there.
CONF_BRIDGE_URL: Final = "bridge_url"
CONF_BRIDGE_HOME_ID: Final = "bridge_home_id"
CONF_ENROLMENT_CODE: Final = "enrolment_code"

SUBENTRY_TYPE_DOOR: Final = "door"
# Fired on the bus for every door event; the logbook describes it.
EVENT_KEYHOLDER: Final = "keyholder_event"
