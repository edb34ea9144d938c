"""Whether a door's camera can vouch for a visit, including a frozen picture.

A camera that keeps answering with the same frame is not watching: in 2017 the
Amazon Cloud Cam was frozen on its last picture with Wi-Fi deauthentication
frames while the door stood open. A live sensor never yields the same JPEG bytes
twice for long (noise, timestamps), so a frame whose digest has not changed for
longer than the policy's ``camera_max_age`` is treated as stale. The frame is
fetched at decision time; nothing is recorded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import hashlib

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import LOGGER
from .core.models import CameraHealth

FETCH_TIMEOUT = 10


@dataclass(slots=True)
class _LastFrame:
    digest: str
    first_seen: datetime


class CameraWatch:
    """Remembers each camera's last frame digest and when it first appeared."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._frames: dict[str, _LastFrame] = {}

    async def async_health(self, camera: str, now: datetime) -> CameraHealth:
        state = self._hass.states.get(camera)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return CameraHealth(available=False)
        # Imported here: the camera integration (and its JPEG library) is only needed
        # by homes that have a camera on a door.
        from homeassistant.components.camera import async_get_image  # noqa: PLC0415

        try:
            image = await async_get_image(self._hass, camera, timeout=FETCH_TIMEOUT)
        except (HomeAssistantError, TimeoutError) as err:
            LOGGER.warning("Camera %s gave no picture: %s", camera, err)
            return CameraHealth(available=False)
        digest = hashlib.sha256(image.content).hexdigest()
        last = self._frames.get(camera)
        if last is None or last.digest != digest:
            last = self._frames[camera] = _LastFrame(digest=digest, first_seen=now)
        return CameraHealth(available=True, last_frame_at=last.first_seen)
