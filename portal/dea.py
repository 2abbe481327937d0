"""DEA registration number checks, kept free of Flask and SQLAlchemy.

EPCS may only be used by a prescriber with a DEA registration, so the number is
checked for shape and check digit before it is stored. This catches typos; it
does not prove the registration exists.
"""

import string

MSG_FORMAT = "Enter a DEA number like AB1234563."
MSG_REGISTRANT_TYPE = "A DEA number must begin with A–H, J–M, P, R–U or X."
MSG_CHECK_DIGIT = "That DEA number's check digit is wrong."

REGISTRANT_TYPE_LETTERS = frozenset("ABCDEFGHJKLMPRSTUX")

_ASCII_UPPER = frozenset(string.ascii_uppercase)
# The second character is usually the registrant's surname initial; 9 is used
# for some business activities.
_SECOND_CHARACTERS = _ASCII_UPPER | {"9"}
# Explicit ASCII set: str.isdigit() and regex \d accept non-ASCII digits.
_ASCII_DIGITS = frozenset(string.digits)
# str.upper() maps some non-ASCII letters to ASCII ones (dotless 'ı' -> 'I',
# long 'ſ' -> 'S'), which would let look-alike input through; only ASCII
# lower case is raised.
_ASCII_TO_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def normalise_dea(number: str) -> str:
    """Return ``number`` with surrounding whitespace removed and ASCII letters upper-cased."""
    return number.strip().translate(_ASCII_TO_UPPER)


def _check_digit(digits: str) -> int:
    d = [int(ch) for ch in digits[:6]]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10


def dea_problem(number: str) -> str | None:
    """Return why ``number`` is not a valid DEA number, or None if it is.

    ``number`` is normalised first, so lower case and surrounding spaces are
    accepted; store ``normalise_dea(number)``.
    """
    dea = normalise_dea(number)
    if (
        len(dea) != 9
        or dea[0] not in _ASCII_UPPER
        or dea[1] not in _SECOND_CHARACTERS
        or not all(ch in _ASCII_DIGITS for ch in dea[2:])
    ):
        return MSG_FORMAT
    if dea[0] not in REGISTRANT_TYPE_LETTERS:
        return MSG_REGISTRANT_TYPE
    if _check_digit(dea[2:]) != int(dea[8]):
        return MSG_CHECK_DIGIT
    return None
