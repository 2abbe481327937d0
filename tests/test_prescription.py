"""Unit tests for the Compose Rx rules and the canonical text in portal.prescription."""

import hashlib
import json
from datetime import date, datetime

import pytest

from portal.prescription import (
    MAX_QUANTITY,
    MSG_CONTROL,
    MSG_DOB_FORMAT,
    MSG_DOB_FUTURE,
    MSG_DOB_TOO_OLD,
    MSG_QUANTITY_FORMAT,
    MSG_QUANTITY_TOO_LARGE,
    MSG_QUANTITY_ZERO,
    MSG_SCHEDULE,
    MSG_TOO_LONG,
    SCHEDULES,
    canonical,
    digest,
    dob_problem,
    quantity_problem,
    schedule_problem,
    text_problem,
)

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_two_to_five_are_accepted(schedule):
    assert schedule_problem(schedule) is None


@pytest.mark.parametrize("schedule", ["", "I", "VI", "2", "ii", " II", "C-II", "Ⅱ"])
def test_other_schedules_are_refused(schedule):
    assert schedule_problem(schedule) == MSG_SCHEDULE


@pytest.mark.parametrize("quantity", ["1", "20", "360", str(MAX_QUANTITY)])
def test_quantities_accepted(quantity):
    assert quantity_problem(quantity) is None


@pytest.mark.parametrize(("quantity", "message"), [
    ("", MSG_QUANTITY_FORMAT),
    ("abc", MSG_QUANTITY_FORMAT),
    ("-1", MSG_QUANTITY_FORMAT),
    ("2.5", MSG_QUANTITY_FORMAT),
    ("1e3", MSG_QUANTITY_FORMAT),
    ("２０", MSG_QUANTITY_FORMAT),  # full-width digits are not ASCII
    ("99999999", MSG_QUANTITY_FORMAT),
    ("0", MSG_QUANTITY_ZERO),
    ("000", MSG_QUANTITY_ZERO),
    (str(MAX_QUANTITY + 1), MSG_QUANTITY_TOO_LARGE),
    ("999999", MSG_QUANTITY_TOO_LARGE),
])
def test_quantities_refused(quantity, message):
    assert quantity_problem(quantity) == message


@pytest.mark.parametrize(("dob", "message"), [
    ("1961-07-04", None),
    ("2026-11-22", None),  # a newborn
    ("", MSG_DOB_FORMAT),
    ("07/04/1961", MSG_DOB_FORMAT),
    ("1961-7-4", MSG_DOB_FORMAT),
    ("1961-02-30", MSG_DOB_FORMAT),
    ("１９６１-07-04", MSG_DOB_FORMAT),
    ("2026-11-23", MSG_DOB_FUTURE),
    ("1890-01-01", MSG_DOB_TOO_OLD),
])
def test_date_of_birth(dob, message):
    assert dob_problem(dob, TODAY) == message


@pytest.mark.parametrize(("field", "value", "message"), [
    ("drug", "", "Enter the drug."),
    ("patient_name", "", "Enter the patient's name."),
    ("strength", "x" * 41, MSG_TOO_LONG.format(limit=40)),
    ("drug", "Oxy\x00codone", MSG_CONTROL),
    ("patient_name", "Jane\nDoe", MSG_CONTROL),
    ("directions", "Take 1\r\nevery 6 hours", None),  # directions may have line breaks
    ("directions", "x" * 501, MSG_TOO_LONG.format(limit=500)),
    ("patient_name", "Zoë O'Brien-Nguyễn", None),
])
def test_text_fields(field, value, message):
    assert text_problem(field, value) == message


ORDER = {"order_key": "k1", "patient_name": "Zoë Patient", "patient_dob": "1961-07-04", "drug": "Hydrocodone",
         "strength": "5 mg", "schedule": "II", "quantity": 20, "directions": "1 every 6 hours"}
ARGS = {"prescriber": {"id": 7, "name": "Ana Rivera", "dea_number": "BR1234563"},
        "signed_at": datetime(2026, 11, 22, 17, 30, 5, 123456),
        "device": {"id": 3, "name": "My iPhone", "kind": "totp"}}


def test_canonical_text_is_stable_sorted_json_with_everything_signed():
    text = canonical(ORDER, **ARGS)
    assert text == canonical(dict(reversed(list(ORDER.items()))), **ARGS)  # key order does not matter
    assert ", " not in text and '": ' not in text  # no spaces between items
    document = json.loads(text)
    assert document["patient"] == {"name": "Zoë Patient", "dob": "1961-07-04"}
    assert document["medication"]["quantity"] == 20 and document["medication"]["schedule"] == "II"
    assert document["prescriber"]["dea_number"] == "BR1234563"
    assert document["signed_at"] == "2026-11-22T17:30:05Z"
    assert document["device"]["name"] == "My iPhone"
    assert "Zoë" in text  # UTF-8 kept, not \u-escaped


def test_digest_is_sha256_of_the_utf8_text_and_changes_with_any_field():
    text = canonical(ORDER, **ARGS)
    assert digest(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    for key, value in (("quantity", 200), ("schedule", "III"), ("patient_name", "Zoe Patient")):
        assert digest(canonical({**ORDER, key: value}, **ARGS)) != digest(text)
    assert digest(canonical(ORDER, **{**ARGS, "device": {"id": 4, "name": "Office iPad", "kind": "totp"}})) \
        != digest(text)
