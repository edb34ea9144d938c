"""Keypad PINs: random from ``secrets``, and never one a guesser would try first."""

from __future__ import annotations

import secrets

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.keyholder.core.pins import COMMON_PINS, generate_pin, pin_weakness

YEAR = 2026


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("", "not_digits"),
        ("12a4", "not_digits"),
        (" 1234", "not_digits"),
        ("١٢٣٤٥", "not_digits"),  # Arabic-Indic digits are digits to str.isdigit
        ("²³⁴⁵", "not_digits"),
        ("482", "too_short"),
        ("48213957301", "too_long"),
        ("0000", "repeated"),
        ("7777777", "repeated"),
        ("1212", "repeated"),
        ("6969", "repeated"),
        ("123123", "repeated"),
        ("112112", "repeated"),
        ("48154815", "repeated"),
        ("1234", "sequential"),
        ("4321", "sequential"),
        ("7890", "sequential"),
        ("0987", "sequential"),
        ("890123", "sequential"),
        ("9876543210", "sequential"),
        ("1987", "year_like"),
        ("2049", "year_like"),
        ("1900", "year_like"),
        ("2099", "year_like"),
        ("572026", "year_like"),
        ("20264", "year_like"),
        ("1004", "common"),
        ("2580", "common"),
        ("0852", "common"),
        ("1122", "common"),
        ("5683", "common"),
        ("159753", "common"),
    ],
)
def test_weak_pin_is_named_for_its_weakness(pin: str, reason: str) -> None:
    assert pin_weakness(pin, year=YEAR) == reason


@pytest.mark.parametrize("pin", ["4817", "1899", "2100", "9402", "305718", "1231", "7264918350"])
def test_pin_without_a_pattern_is_accepted(pin: str) -> None:
    assert pin_weakness(pin, year=YEAR) is None


def test_current_year_counts_only_for_the_year_given() -> None:
    assert pin_weakness("420262", year=2026) == "year_like"
    assert pin_weakness("420262", year=2031) is None


def test_length_limits_are_the_callers_to_set() -> None:
    assert pin_weakness("48173", year=YEAR, min_length=6) == "too_short"
    assert pin_weakness("481739", year=YEAR, max_length=5) == "too_long"
    assert pin_weakness("481739", year=YEAR, min_length=6, max_length=6) is None


def test_every_common_pin_is_refused() -> None:
    assert all(pin_weakness(pin, year=YEAR) is not None for pin in COMMON_PINS)


@settings(max_examples=100, deadline=None)
@given(length=st.integers(4, 10), year=st.integers(1900, 2099))
def test_generated_pin_is_never_weak(length: int, year: int) -> None:
    pin = generate_pin(length, year=year)
    assert len(pin) == length
    assert pin.isascii()
    assert pin.isdigit()
    assert pin_weakness(pin, year=year) is None


def test_many_generated_four_digit_pins_are_strong_and_varied() -> None:
    drawn = [generate_pin(4, year=YEAR) for _ in range(2000)]
    assert all(pin_weakness(pin, year=YEAR) is None for pin in drawn)
    assert len(set(drawn)) > 1000  # not stuck on a few values


def test_generated_pin_keeps_leading_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([0, 48173])  # "000000" is too easy; "048173" is fine
    monkeypatch.setattr(secrets, "randbelow", lambda _bound: next(draws))
    assert generate_pin(6, year=YEAR) == "048173"


def test_weak_draws_are_thrown_away(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds = []

    def draw(bound: int) -> int:
        bounds.append(bound)
        return [1234, 2026, 1004, 4817][len(bounds) - 1]

    monkeypatch.setattr(secrets, "randbelow", draw)
    assert generate_pin(4, year=YEAR) == "4817"
    assert bounds == [10_000] * 4


@pytest.mark.parametrize("length", [0, 3, 11])
def test_pin_length_outside_what_locks_accept_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="4 to 10 digits"):
        generate_pin(length, year=YEAR)
