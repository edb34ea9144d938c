"""Names refuse control and text-direction characters, and nothing a real name needs."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.core.names import code_point, refused_character

HOSTILE = [
    "\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b",  # C0, DEL, C1
    "\u061c", "\u200e", "\u200f",  # marks
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # isolates
    "\u2028", "\u2029",  # line and paragraph separators
    "\u200b", "\u2060", "\ufeff",  # invisible
    "\ud800",  # a lone surrogate
]  # fmt: skip


@pytest.mark.parametrize("char", HOSTILE, ids=[code_point(c) for c in HOSTILE])
def test_a_control_or_direction_character_anywhere_in_a_name_is_refused(char: str) -> None:
    for name in (char, f"Cleaner{char}", f"{char}Cleaner", f"Clea{char}ner"):
        assert refused_character(name) == char


def test_the_first_refused_character_is_named() -> None:
    assert refused_character("Dog\u202ewalker\x00") == "\u202e"
    assert code_point("\u202e") == "U+202E"
    assert code_point("\x00") == "U+0000"


@pytest.mark.parametrize(
    "name",
    [
        "Cleaner", "Front door", "Müller & Söhne", "Élodie", "Łódź", "Ørsted",
        "שרה", "مریم", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Hebrew, Persian, with a ZWNJ
        "王小明", "Ольга", "👨\u200d👩\u200d👧 family", "Dog walker (Tue/Thu)", "",
    ],
)  # fmt: skip
def test_real_names_in_any_script_are_accepted(name: str) -> None:
    assert refused_character(name) is None


@given(st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"])))
def test_letters_marks_numbers_punctuation_symbols_and_spaces_are_never_refused(
    name: str,
) -> None:
    assert refused_character(name) is None


@given(st.text(), st.sampled_from(HOSTILE), st.text())
def test_no_name_holding_a_refused_character_passes(before: str, char: str, after: str) -> None:
    assert refused_character(before + char + after) is not None
