"""Which characters a name may not hold: controls and text-direction overrides. Pure.

Names travel far: a grant's name is in notifications, the logbook, the calendar,
the audit log and on the guest's page; a door's and the home's are on every one
of them too; a carrier's is shown when the homeowner approves it. A control
character (NUL, a newline, an escape sequence) can cut or forge a line of a log,
and a bidirectional override (U+202E RIGHT-TO-LEFT OVERRIDE and its kin) makes
text display in another order than it is stored, so "Cleaner\u202eregnaD" reads as
something else entirely (the "Trojan Source" trick). Neither has a place in a name.

Refused: every C0 and C1 control (Unicode category Cc, NUL and DEL included), lone
surrogates (Cs), the line and paragraph separators (Zl, Zp), the bidirectional
marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A-U+202E,
U+2066-U+2069), and the invisible zero-width space, word joiner and byte-order mark
(U+200B, U+2060, U+FEFF), which make two different names look the same. Joiners
(U+200C, U+200D) stay allowed: Persian names and emoji sequences need them.
"""

from __future__ import annotations

import unicodedata

_DIRECTION_CONTROLS = frozenset(
    chr(code) for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
_INVISIBLE = frozenset("\u200b\u2060\ufeff")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def refused_character(name: str) -> str | None:
    """The first character ``name`` may not hold, or None when every one is fine."""
    for char in name:
        if (
            char in _DIRECTION_CONTROLS
            or char in _INVISIBLE
            or unicodedata.category(char) in _REFUSED_CATEGORIES
        ):
            return char
    return None


def code_point(char: str) -> str:
    """How an error names a character it must not show: ``U+202E``."""
    return f"U+{ord(char):04X}"
