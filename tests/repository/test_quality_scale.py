"""quality_scale.yaml tracks every Integration Quality Scale rule, exemptions with a reason."""

from __future__ import annotations

from pathlib import Path

from homeassistant.util.yaml import load_yaml_dict

PATH = Path(__file__).resolve().parents[2] / "custom_components/keyholder/quality_scale.yaml"

RULES = {
    # Bronze
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency", "docs-actions",
    "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
    "unique-config-entry",
    # Silver
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    # Gold
    "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
    "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices",
    # Platinum
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def test_every_rule_is_tracked_with_a_known_status() -> None:
    rules = load_yaml_dict(str(PATH))["rules"]
    assert set(rules) == RULES
    for name, value in rules.items():
        if isinstance(value, str):
            assert value in {"done", "todo"}, name
        else:
            assert value["status"] in {"done", "todo", "exempt"}, name
            if value["status"] == "exempt":
                assert value.get("comment", "").strip(), f"{name}: exemption without a reason"
