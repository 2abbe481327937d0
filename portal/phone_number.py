"""Phone numbers for text and call codes: parse what people type, store E.164, show masked.

Pure: no Flask. US numbers may be typed as (201) 555-0123, 201-555-0123, 201.555.0123, 2015550123,
1 201 555 0123 or +1 201 555 0123; other countries in E.164 (+ then the country code). Premium
numbers (900 and 976) and anything too short or too long are refused, each with its own message.
"""

import re

TYPED = re.compile(r"^\+?[0-9 ()./-]+$")
SEPARATORS = re.compile(r"[ ()./-]")
E164_MIN_DIGITS = 8  # the shortest real international numbers (country code included)
E164_MAX_DIGITS = 15
PREMIUM_NANP = {"900", "976"}  # pay-per-call area codes and exchange

EMPTY = "Enter your mobile phone number."
NOT_A_NUMBER = "Enter a phone number with digits only, like (201) 555-0123 or +12015550123."
TOO_SHORT = "That number is too short. Enter all 10 digits, like (201) 555-0123, or + and the country code."
TOO_LONG = "That number is too long. Enter 10 digits, like (201) 555-0123, or + and the country code."
NOT_US = "That is not a valid US number. Check the area code and the number."
PREMIUM = "Premium-rate numbers (900, 976) cannot receive codes. Use your mobile number."
BAD_COUNTRY = "A country code never starts with 0. Enter + and the country code, like +442079460958."


def parse(typed: str) -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, the message that says what is wrong)."""
    text = (typed or "").strip()
    if not text:
        return None, EMPTY
    if not TYPED.match(text) or text.count("+") > 1:
        return None, NOT_A_NUMBER
    digits = SEPARATORS.sub("", text)
    international = digits.startswith("+")
    digits = digits.lstrip("+")
    if not digits.isascii() or not digits.isdigit():
        return None, NOT_A_NUMBER
    if international:
        if digits.startswith("0"):
            return None, BAD_COUNTRY
        if digits.startswith("1"):
            return _nanp(digits[1:])
        if len(digits) < E164_MIN_DIGITS:
            return None, TOO_SHORT
        if len(digits) > E164_MAX_DIGITS:
            return None, TOO_LONG
        return "+" + digits, None
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return _nanp(digits)


def _nanp(ten: str) -> tuple[str | None, str | None]:
    """A US (NANP) number without its country code: NXX-NXX-XXXX."""
    if len(ten) < 10:
        return None, TOO_SHORT
    if len(ten) > 10:
        return None, TOO_LONG
    area, exchange = ten[:3], ten[3:6]
    if area[0] in "01" or exchange[0] in "01" or area[1:] == "11":
        return None, NOT_US
    if area in PREMIUM_NANP or exchange in PREMIUM_NANP:
        return None, PREMIUM
    return "+1" + ten, None


def mask(e164: str) -> str:
    """What the page shows: "(***) ***-*801" for a US number, the last three digits otherwise."""
    last = e164[-3:]
    if e164.startswith("+1") and len(e164) == 12:
        return f"(***) ***-*{last}"
    return "+" + "*" * (len(e164) - 4) + last


def pretty(e164: str) -> str:
    """A number in full, as people write it: (201) 555-0123 for US numbers, E.164 otherwise."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    return e164
