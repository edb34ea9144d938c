"""Every user-facing string exists in English, German and French."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

TRANSLATIONS = Path(__file__).resolve().parents[2] / "custom_components/keyholder/translations"
LANGUAGES = ("en", "de", "fr")


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(_leaves(value, path))
        else:
            assert isinstance(value, str), path
            out[path] = value
    return out


def _load(language: str) -> dict[str, str]:
    return _leaves(json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("language", ["de", "fr"])
def test_translation_has_exactly_the_english_keys(language: str) -> None:
    assert sorted(_load(language)) == sorted(_load("en"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_translation_is_empty_and_placeholders_match(language: str) -> None:
    english = _load("en")
    for key, text in _load(language).items():
        assert text.strip(), f"{language}: {key} is empty"
        assert _placeholders(text) == _placeholders(english[key]), f"{language}: {key}"


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


SOURCE = TRANSLATIONS.parent
_RAISED = re.compile(
    r'\binvalid\(\s*"([a-z_]+)"|ServiceValidationError\([^)]*?translation_key="([a-z_]+)"', re.S
)


def test_every_raised_error_has_a_translated_message() -> None:
    """A refusal with no entry under ``exceptions`` would reach the user untranslated."""
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    raised = {
        key
        for path in SOURCE.glob("*.py")
        for match in _RAISED.finditer(path.read_text(encoding="utf-8"))
        for key in match.groups()
        if key
    }
    assert raised, "the pattern found no raised errors: update it"
    missing = sorted(raised - set(english["exceptions"]))
    assert missing == []
