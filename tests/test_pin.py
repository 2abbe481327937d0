"""Unit tests for the EPCS PIN rules in portal.pin."""

import pytest

from portal.pin import (
    MSG_FORMAT,
    MSG_LEADING_ZERO,
    MSG_MISMATCH,
    MSG_REPEATED,
    MSG_SAME_AS_CURRENT,
    MSG_SEQUENCE,
    PIN_RULES,
    is_acceptable_first_pin,
    pin_problem,
)

ALL_FOUR_DIGIT_STRINGS = [f"{n:04d}" for n in range(10_000)]


def test_messages_are_exact() -> None:
    assert MSG_FORMAT == "Your PIN must be exactly 4 digits (0–9)."
    assert MSG_LEADING_ZERO == "Your PIN cannot begin with 0."
    assert MSG_REPEATED == "Your PIN cannot repeat one digit (like 1111)."
    assert MSG_SEQUENCE == "Your PIN cannot be a sequence (like 1234 or 4321)."
    assert MSG_MISMATCH == "The two PINs do not match."
    assert MSG_SAME_AS_CURRENT == "Your new PIN must be different from your current PIN."


def test_rules_are_ordered() -> None:
    assert [rule.message for rule in PIN_RULES] == [
        MSG_FORMAT,
        MSG_LEADING_ZERO,
        MSG_REPEATED,
        MSG_SEQUENCE,
    ]


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        # a. exactly four ASCII digits, never stripped or normalised
        ("", MSG_FORMAT),
        ("1", MSG_FORMAT),
        ("123", MSG_FORMAT),
        ("12345", MSG_FORMAT),
        (" 1234", MSG_FORMAT),
        ("1234 ", MSG_FORMAT),
        ("1234\n", MSG_FORMAT),
        ("\t123", MSG_FORMAT),
        ("12 4", MSG_FORMAT),
        ("    ", MSG_FORMAT),
        ("+123", MSG_FORMAT),
        ("-123", MSG_FORMAT),
        ("1.23", MSG_FORMAT),
        ("1_34", MSG_FORMAT),
        ("abcd", MSG_FORMAT),
        ("12a4", MSG_FORMAT),
        ("1234\u200b", MSG_FORMAT),  # zero-width space
        ("１２３４", MSG_FORMAT),  # full-width
        ("123４", MSG_FORMAT),  # one full-width digit
        ("٢٣٤٥", MSG_FORMAT),  # Arabic-Indic
        ("۲۳۴۵", MSG_FORMAT),  # extended Arabic-Indic (Persian)
        ("२३४५", MSG_FORMAT),  # Devanagari
        ("𝟐𝟑𝟒𝟓", MSG_FORMAT),  # mathematical bold
        ("²³⁴⁵", MSG_FORMAT),  # superscripts: isdigit() but not isdecimal()
        # b. no leading zero
        ("0000", MSG_LEADING_ZERO),
        ("0123", MSG_LEADING_ZERO),
        ("0987", MSG_LEADING_ZERO),
        ("0258", MSG_LEADING_ZERO),
        ("0999", MSG_LEADING_ZERO),
        # c. not one digit repeated
        ("1111", MSG_REPEATED),
        ("5555", MSG_REPEATED),
        ("9999", MSG_REPEATED),
        # d. no run of four, up or down, wrapping past 9
        ("1234", MSG_SEQUENCE),
        ("2345", MSG_SEQUENCE),
        ("6789", MSG_SEQUENCE),
        ("7890", MSG_SEQUENCE),
        ("8901", MSG_SEQUENCE),
        ("9012", MSG_SEQUENCE),
        ("3210", MSG_SEQUENCE),
        ("4321", MSG_SEQUENCE),
        ("9876", MSG_SEQUENCE),
        ("1098", MSG_SEQUENCE),
        ("2109", MSG_SEQUENCE),
    ],
)
def test_first_broken_rule_speaks(pin: str, expected: str) -> None:
    assert pin_problem(pin) == expected
    assert not is_acceptable_first_pin(pin)


@pytest.mark.parametrize(
    "pin",
    ["1235", "1357", "2468", "1212", "1122", "1110", "9870", "8642", "1243", "9990", "5000"],
)
def test_acceptable_pins(pin: str) -> None:
    assert pin_problem(pin) is None
    assert pin_problem(pin, confirm=pin, current_pin_check=lambda _: False) is None
    assert is_acceptable_first_pin(pin)


def test_exactly_8973_of_10000_are_acceptable() -> None:
    # 10,000 - 1,000 leading 0 - 9 repeats (1111..9999)
    # - 9 rising runs (1234..6789, 7890, 8901, 9012)
    # - 9 falling runs (3210..9876, 1098, 2109) = 8,973
    acceptable = [pin for pin in ALL_FOUR_DIGIT_STRINGS if is_acceptable_first_pin(pin)]
    assert len(acceptable) == 8_973


def test_pin_problem_agrees_with_is_acceptable_first_pin() -> None:
    for pin in ALL_FOUR_DIGIT_STRINGS:
        assert (pin_problem(pin) is None) == is_acceptable_first_pin(pin), pin


@pytest.mark.parametrize("confirm", ["1236", "", " 1235", "1235 ", "１２３５"])
def test_confirmation_must_match(confirm: str) -> None:
    assert pin_problem("1235", confirm=confirm) == MSG_MISMATCH


def test_confirmation_is_skipped_when_not_given() -> None:
    assert pin_problem("1235", confirm=None) is None


def test_new_pin_must_differ_from_current() -> None:
    seen: list[str] = []

    def is_current(candidate: str) -> bool:
        seen.append(candidate)
        return candidate == "2580"

    assert pin_problem("2580", confirm="2580", current_pin_check=is_current) == MSG_SAME_AS_CURRENT
    assert pin_problem("2581", confirm="2581", current_pin_check=is_current) is None
    assert seen == ["2580", "2581"]


@pytest.mark.parametrize(
    ("pin", "confirm", "expected"),
    [
        ("0000", "9999", MSG_LEADING_ZERO),  # b before c and e
        ("0123", "0124", MSG_LEADING_ZERO),  # b before d and e
        ("1111", "2222", MSG_REPEATED),  # c before e
        ("1234", "1235", MSG_SEQUENCE),  # d before e
        ("１２３５", "１２３５", MSG_FORMAT),  # a even when both agree
        ("1235", "1236", MSG_MISMATCH),  # e before f
    ],
)
def test_earlier_rules_win_and_current_check_is_not_consulted(pin: str, confirm: str, expected: str) -> None:
    def must_not_be_called(candidate: str) -> bool:
        raise AssertionError("current PIN check ran after an earlier rule failed")

    assert pin_problem(pin, confirm=confirm, current_pin_check=must_not_be_called) == expected
