"""The manifest and hacs.json, checked the way hassfest and the HACS validator check them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as ha_version
import pytest

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "keyholder"

# hassfest's manifest schema for custom integrations (script/hassfest/manifest.py).
MANIFEST_KEYS = {
    "domain", "name", "integration_type", "config_flow", "mqtt", "zeroconf", "ssdp",
    "bluetooth", "homekit", "dhcp", "usb", "documentation", "issue_tracker", "quality_scale",
    "requirements", "dependencies", "after_dependencies", "codeowners", "loggers",
    "import_executor", "disabled", "iot_class", "single_config_entry", "version",
}  # fmt: skip
REQUIRED_MANIFEST_KEYS = {
    "domain", "name", "codeowners", "documentation", "issue_tracker", "iot_class",
    "requirements", "version",
}  # fmt: skip
IOT_CLASSES = {
    "assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push",
}  # fmt: skip
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system"}
# HACS: https://hacs.xyz/docs/publish/start#hacsjson
HACS_KEYS = {
    "name", "content_in_root", "zip_release", "filename", "hide_default_branch", "country",
    "homeassistant", "persistent_directory", "render_readme", "hacs",
}  # fmt: skip
VERSION_STRATEGIES = {
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
}


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return _load(INTEGRATION / "manifest.json")


def test_domain_equals_folder_name(manifest: dict[str, Any]) -> None:
    assert manifest["domain"] == INTEGRATION.name


def test_manifest_key_order_is_domain_name_then_alphabetical(manifest: dict[str, Any]) -> None:
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_has_required_and_only_known_keys(manifest: dict[str, Any]) -> None:
    assert set(manifest) >= REQUIRED_MANIFEST_KEYS
    assert set(manifest) <= MANIFEST_KEYS
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["integration_type"] in INTEGRATION_TYPES
    assert manifest["config_flow"] is True
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    for url_key in ("documentation", "issue_tracker"):
        assert manifest[url_key].startswith("https://")


def test_manifest_version_is_valid(manifest: dict[str, Any]) -> None:
    version = AwesomeVersion(manifest["version"])
    assert version.strategy in VERSION_STRATEGIES


def test_manifest_requires_nothing_home_assistant_already_ships(
    manifest: dict[str, Any],
) -> None:
    # Ed25519 and JWS come from cryptography and PyJWT, both Home Assistant core requirements.
    assert manifest["requirements"] == []


def test_pyproject_and_manifest_agree_on_version(manifest: dict[str, Any]) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{manifest["version"]}"' in pyproject


def test_hacs_json_is_valid_and_names_the_oldest_supported_release() -> None:
    hacs = _load(ROOT / "hacs.json")
    assert hacs["name"]
    assert set(hacs) <= HACS_KEYS
    minimum = AwesomeVersion(hacs["homeassistant"])
    assert minimum == "2025.4.0"
    assert AwesomeVersion(ha_version) >= minimum


def test_hacs_repository_has_exactly_one_integration() -> None:
    integrations = [p for p in (ROOT / "custom_components").iterdir() if p.is_dir()]
    assert [p.name for p in integrations if not p.name.startswith("__")] == ["keyholder"]


def test_brand_icon_is_a_256_pixel_png() -> None:
    data = (INTEGRATION / "brand" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20]), int.from_bytes(data[20:24])
    assert (width, height) == (256, 256)
