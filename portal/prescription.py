"""Controlled-substance orders: the rules for each field of Compose Rx, and the canonical text a
signature covers with its SHA-256 digest. Pure: no Flask, no database.

The canonical text is JSON with sorted keys, no spaces and UTF-8 characters kept as they are, so
the same order always gives the same bytes and the same digest; it holds the order, the
prescriber, the signing time and the device, which is everything the signature vouches for.
"""

import hashlib
import json
from datetime import date, datetime

SCHEDULES = ("II", "III", "IV", "V")
MAX_QUANTITY = 1000  # more units than any single controlled-substance fill plausibly needs
OLDEST_PATIENT_YEARS = 130
CANONICAL_VERSION = 1

MSG_REQUIRED = "Enter the {label}."
MSG_TOO_LONG = "Use at most {limit} characters."
MSG_CONTROL = "Use letters, digits, spaces and punctuation only."
MSG_DOB_FORMAT = "Enter the date of birth as YYYY-MM-DD (for example 1961-07-04)."
MSG_DOB_FUTURE = "The date of birth cannot be in the future."
MSG_DOB_TOO_OLD = f"Check the date of birth: that is more than {OLDEST_PATIENT_YEARS} years ago."
MSG_SCHEDULE = "Choose a schedule from II to V."
MSG_QUANTITY_FORMAT = "Enter the quantity as a whole number, digits only."
MSG_QUANTITY_ZERO = "The quantity must be at least 1."
MSG_QUANTITY_TOO_LARGE = f"The quantity cannot be more than {MAX_QUANTITY}."

# field -> (label in messages, longest allowed)
TEXT_FIELDS = {
    "patient_name": ("patient's name", 120),
    "drug": ("drug", 120),
    "strength": ("strength", 40),
    "directions": ("directions", 500),
}

_ASCII_DIGITS = frozenset("0123456789")


def text_problem(field: str, value: str) -> str | None:
    """A required one-line (or, for directions, short) text: not empty, not too long, no
    control characters. `value` is expected already stripped of surrounding spaces."""
    label, limit = TEXT_FIELDS[field]
    if not value:
        return MSG_REQUIRED.format(label=label)
    if len(value) > limit:
        return MSG_TOO_LONG.format(limit=limit)
    allowed = "\r\n" if field == "directions" else ""
    if any((ord(ch) < 32 and ch not in allowed) or 0x7F <= ord(ch) < 0xA0 for ch in value):
        return MSG_CONTROL
    return None


def parse_dob(value: str) -> date | None:
    """YYYY-MM-DD in ASCII digits (what a date input sends), or None."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    if not set(value[:4] + value[5:7] + value[8:]) <= _ASCII_DIGITS:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def dob_problem(value: str, today: date) -> str | None:
    born = parse_dob(value)
    if born is None:
        return MSG_DOB_FORMAT
    if born > today:
        return MSG_DOB_FUTURE
    if today.year - born.year > OLDEST_PATIENT_YEARS:
        return MSG_DOB_TOO_OLD
    return None


def schedule_problem(value: str) -> str | None:
    return None if value in SCHEDULES else MSG_SCHEDULE


def quantity_problem(value: str) -> str | None:
    """A whole number of units from 1 to MAX_QUANTITY, in ASCII digits."""
    if not value or len(value) > 7 or not set(value) <= _ASCII_DIGITS:
        return MSG_QUANTITY_FORMAT
    quantity = int(value)
    if quantity < 1:
        return MSG_QUANTITY_ZERO
    if quantity > MAX_QUANTITY:
        return MSG_QUANTITY_TOO_LARGE
    return None


def canonical(order: dict, *, prescriber: dict, signed_at: datetime, device: dict) -> str:
    """The exact text a signature covers. `order` has the Compose Rx fields (patient_dob as
    YYYY-MM-DD, quantity as an int) and `order_key`; `prescriber` and `device` are small dicts of
    plain values."""
    document = {
        "version": CANONICAL_VERSION,
        "order_key": order["order_key"],
        "patient": {"name": order["patient_name"], "dob": order["patient_dob"]},
        "medication": {"drug": order["drug"], "strength": order["strength"], "schedule": order["schedule"],
                       "quantity": order["quantity"], "directions": order["directions"]},
        "prescriber": prescriber,
        "signed_at": signed_at.isoformat(timespec="seconds") + "Z",
        "device": device,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(canonical_text: str) -> str:
    return hashlib.sha256(canonical_text.encode("utf-8")).hexdigest()
