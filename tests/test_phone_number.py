"""Phone numbers: US and E.164 forms accepted and stored normalised; bad ones refused, each with its message."""

import pytest

from portal import phone_number as pn


@pytest.mark.parametrize("typed", [
    "(201) 555-0123", "201-555-0123", "201.555.0123", "2015550123", "1 201 555 0123", "+1 201 555 0123",
    "+12015550123", " (201)555-0123 ", "1-201-555-0123",
])
def test_us_forms_are_stored_as_e164(typed):
    assert pn.parse(typed) == ("+12015550123", None)


@pytest.mark.parametrize("typed, stored", [
    ("+44 20 7946 0958", "+442079460958"),
    ("+442079460958", "+442079460958"),
    ("+33 1 23 45 67 89", "+33123456789"),
    ("+49 30 901820", "+4930901820"),
])
def test_international_numbers_in_e164(typed, stored):
    assert pn.parse(typed) == (stored, None)


@pytest.mark.parametrize("typed, message", [
    ("", pn.EMPTY),
    ("   ", pn.EMPTY),
    ("call me maybe", pn.NOT_A_NUMBER),
    ("201-555-0123 x12", pn.NOT_A_NUMBER),
    ("+1+2015550123", pn.NOT_A_NUMBER),
    ("２０１５５５０１２３", pn.NOT_A_NUMBER),  # full-width digits are not taken as digits
    ("555-0123", pn.TOO_SHORT),
    ("201555012", pn.TOO_SHORT),
    ("+4420", pn.TOO_SHORT),
    ("20155501234", pn.TOO_LONG),
    ("+1234567890123456", pn.TOO_LONG),
    ("(900) 555-0123", pn.PREMIUM),
    ("+1 976 555 0123", pn.PREMIUM),
    ("(201) 976-0123", pn.PREMIUM),
    ("(101) 555-0123", pn.NOT_US),
    ("(201) 155-0123", pn.NOT_US),
    ("(411) 555-0123", pn.NOT_US),
    ("+0 44 20 7946 0958", pn.BAD_COUNTRY),
])
def test_bad_numbers_are_refused_with_their_own_message(typed, message):
    assert pn.parse(typed) == (None, message)


def test_masked_as_the_article_shows_it():
    assert pn.mask("+12015550801") == "(***) ***-*801"
    assert pn.mask("+442079460958") == "+*********958"


def test_pretty():
    assert pn.pretty("+12015550123") == "(201) 555-0123"
    assert pn.pretty("+442079460958") == "+442079460958"
