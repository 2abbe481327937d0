"""Unit tests for DEA registration number checks in portal.dea."""

import pytest

from portal.dea import (
    MSG_CHECK_DIGIT,
    MSG_FORMAT,
    MSG_REGISTRANT_TYPE,
    REGISTRANT_TYPE_LETTERS,
    dea_problem,
    normalise_dea,
)

# Check digit = last digit of (d1 + d3 + d5) + 2 * (d2 + d4 + d6), worked by hand.
VALID = [
    "AB1234563",  # (1+3+5)=9  + 2*(2+4+6)=24 -> 33 -> 3
    "BJ6125341",  # (6+2+3)=11 + 2*(1+5+4)=20 -> 31 -> 1
    "FN5623740",  # (5+2+7)=14 + 2*(6+3+4)=26 -> 40 -> 0
    "PR7654329",  # (7+5+3)=15 + 2*(6+4+2)=24 -> 39 -> 9
    "GT9999991",  # (9+9+9)=27 + 2*(9+9+9)=54 -> 81 -> 1
    "XA0000000",  # 0 + 2*0 -> 0
    "M91234563",  # second character 9; digits as AB1234563 -> 3
]


def test_messages_are_exact() -> None:
    assert MSG_FORMAT == "Enter a DEA number like AB1234563."
    assert MSG_REGISTRANT_TYPE == "A DEA number must begin with A–H, J–M, P, R–U or X."
    assert MSG_CHECK_DIGIT == "That DEA number's check digit is wrong."


def test_registrant_type_letters() -> None:
    assert set("ABCDEFGHJKLMPRSTUX") == REGISTRANT_TYPE_LETTERS


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers(number: str) -> None:
    assert dea_problem(number) is None


@pytest.mark.parametrize("number", VALID)
def test_every_other_check_digit_is_wrong(number: str) -> None:
    for digit in "0123456789":
        if digit != number[-1]:
            assert dea_problem(number[:-1] + digit) == MSG_CHECK_DIGIT


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ab1234563", "AB1234563"),
        ("Ab1234563", "AB1234563"),
        ("  ab1234563 ", "AB1234563"),
        ("\tm91234563\n", "M91234563"),
        ("AB1234563", "AB1234563"),
    ],
)
def test_normalise_and_accept_lower_case(raw: str, normalised: str) -> None:
    assert normalise_dea(raw) == normalised
    assert dea_problem(raw) is None


@pytest.mark.parametrize(
    "number",
    [
        "",
        "   ",
        "AB123456",  # 8 characters
        "AB12345634",  # 10 characters
        "A1234563",  # one letter
        "ABC234563",  # three letters
        "A11234563",  # second character a digit other than 9
        "1B1234563",
        "AB12345E3",
        "AB 1234563",
        "A B1234563",
        "AB-123-4563",
        "AB1234５63",  # full-width digit
        "AB١٢٣٤٥٦٣",  # Arabic-Indic digits
        "ÀB1234563",
        "aı1234563",  # dotless i would become 'I' under str.upper()
        "ſB1234563",  # long s would become 'S' under str.upper()
    ],
)
def test_bad_shape(number: str) -> None:
    assert dea_problem(number) == MSG_FORMAT


@pytest.mark.parametrize("letter", sorted(set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") - set("ABCDEFGHJKLMPRSTUX")))
def test_first_letter_must_be_a_registrant_type(letter: str) -> None:
    # Valid check digit, so only the first letter is wrong.
    assert dea_problem(f"{letter}B1234563") == MSG_REGISTRANT_TYPE


def test_registrant_type_is_reported_before_check_digit() -> None:
    assert dea_problem("ZB1234560") == MSG_REGISTRANT_TYPE
