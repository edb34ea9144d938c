"""Keypad PINs: drawn with ``secrets``, and never one a passer-by would try first.

Someone standing at a keypad tries repeated digits, runs, years and the handful
of PINs people choose most; a PIN that a guess like that finds is refused, both
when Keyholder draws one and when a homeowner types their own.
"""

from __future__ import annotations

from itertools import pairwise
import secrets

MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 10

# The most chosen PINs that the rules below do not already catch: keypad columns
# and diagonals, pairs, words spelled on the keypad ("LOVE" = 5683), and the
# six-digit favourites from leaked PIN and password lists.
COMMON_PINS = frozenset(
    {
        "1004", "2580", "0852", "1122", "5683", "1357", "2468", "1379", "1397",
        "7913", "3179", "1470", "0741", "3690", "0963", "1230", "112233", "123321",
        "147258", "258369", "369258", "147852", "159753", "159357", "753951", "789456",
        "111222", "292513",
    }
)  # fmt: skip


def pin_weakness(
    pin: str,
    *,
    year: int,
    min_length: int = MIN_PIN_LENGTH,
    max_length: int = MAX_PIN_LENGTH,
) -> str | None:
    """Why ``pin`` is too easy to guess, as a reason code, or None if it is not.

    ``year`` is the current year (callers pass it: the core reads no clock);
    a PIN containing it is among the first a guesser tries.
    """
    if not (pin.isascii() and pin.isdigit()):
        return "not_digits"
    if len(pin) < min_length:
        return "too_short"
    if len(pin) > max_length:
        return "too_long"
    guessed = (
        ("repeated", _is_repetition(pin)),
        ("sequential", _is_run(pin)),
        ("year_like", (len(pin) == 4 and 1900 <= int(pin) <= 2099) or f"{year:04d}" in pin),
        ("common", pin in COMMON_PINS),
    )
    return next((code for code, hit in guessed if hit), None)


def generate_pin(length: int = 6, *, year: int) -> str:
    """A uniformly random PIN of ``length`` digits that ``pin_weakness`` accepts."""
    if not MIN_PIN_LENGTH <= length <= MAX_PIN_LENGTH:
        raise ValueError(f"a PIN has {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits")
    while True:  # at worst (four digits) one draw in thirty is weak
        pin = f"{secrets.randbelow(10**length):0{length}d}"
        if pin_weakness(pin, year=year) is None:
            return pin


def _is_repetition(pin: str) -> bool:
    """One block repeated: 0000, 1212, 123123, 112112."""
    return any(
        len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size)
        for size in range(1, len(pin) // 2 + 1)
    )


def _is_run(pin: str) -> bool:
    """Digits that go up or down by one throughout, wrapping: 1234, 7890, 0987."""
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    return steps in ({1}, {9})
