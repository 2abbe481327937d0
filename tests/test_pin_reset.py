"""Create EPCS PIN and Reset EPCS PIN: Validate Passcode, then the new PIN, as the article says."""

import re

import bcrypt
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Device, User
from portal.pin import (
    MSG_FORMAT,
    MSG_LEADING_ZERO,
    MSG_MISMATCH,
    MSG_REPEATED,
    MSG_SAME_AS_CURRENT,
    MSG_SEQUENCE,
)
from tests.conftest import setup_code_generator, sign_in
from tests.epcs_helpers import PIN, create_pin, next_code, save_pin, signed_in, validate_passcode
from tests.otp_reference import totp_now


@pytest.fixture
def doc(app, make_user, clock):
    """A provider with one code generator, signed in, no PIN yet."""
    client, user_id, secret = signed_in(app, make_user, clock, "dr.pin")
    return {"client": client, "id": user_id, "secret": secret}


def pin_hash(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).pin_hash


def actions(app, user_id):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == user_id)
                                       .order_by(AuditEvent.id)))


def test_create_pin_walks_validate_passcode_then_new_pin(app, doc, clock):
    client = doc["client"]
    page = client.get("/epcs").get_data(as_text=True)
    assert "Create EPCS PIN" in page
    page = client.get("/pin/create").get_data(as_text=True)
    assert "Step 1 of 2 · Validate Passcode" in page
    assert "Select your phone signature option" in page and "Select Setup" in page
    assert "Enter 2FA Code" not in page  # the code field comes after Select Setup
    device = re.search(r'<option[^>]*value="(\d+)"[^>]*>My iPhone</option>', page).group(1)
    page = client.get("/pin/create", query_string={"device": device}).get_data(as_text=True)
    assert "Enter 2FA Code" in page and "Submit 2FA Code" in page
    r = client.post("/pin/create", data={"device": device, "code": next_code(clock, doc["secret"])})
    assert r.status_code == 302 and r.headers["Location"].endswith("/pin/create/new")
    page = client.get("/pin/create/new").get_data(as_text=True)
    assert "Step 2 of 2 · New PIN" in page
    assert "New 4-digit PIN" in page and "Confirm New 4-digit PIN" in page and ">Save<" in page
    r = save_pin(client)
    assert r.headers["Location"].endswith("/pin/create/done")
    page = client.get("/pin/create/done").get_data(as_text=True)
    assert "Your 4-digit PIN has been successfully created" in page
    stored = pin_hash(app, doc["id"])
    assert stored.startswith(b"$2") and bcrypt.checkpw(PIN.encode(), stored)  # bcrypt, never the PIN
    assert "pin_created" in actions(app, doc["id"])
    assert PIN not in " ".join(e for e in actions(app, doc["id"]))


def test_reset_pin_uses_the_articles_words_and_clears_a_lock(app, doc, clock):
    client = doc["client"]
    create_pin(client, clock, doc["secret"])
    with app.app_context():
        db.session.get(User, doc["id"]).pin_failures = 5
        db.session.commit()
    assert "Locked after 5 wrong PINs" in client.get("/epcs").get_data(as_text=True)
    assert "Step 1 of 2 · Validate Passcode" in client.get("/pin/reset").get_data(as_text=True)
    r = validate_passcode(client, clock, doc["secret"], "reset")
    assert r.headers["Location"].endswith("/pin/reset/new")
    r = save_pin(client, "9753", mode="reset")
    assert r.headers["Location"].endswith("/pin/reset/done")
    page = client.get("/pin/reset/done").get_data(as_text=True)
    assert "Your 4-digit PIN has been successfully reset" in page
    with app.app_context():
        user = db.session.get(User, doc["id"])
        assert user.pin_failures == 0
        assert bcrypt.checkpw(b"9753", user.pin_hash)
    assert "pin_reset" in actions(app, doc["id"])


def test_create_and_reset_send_each_other_where_they_belong(doc, clock):
    client = doc["client"]
    assert client.get("/pin/reset").headers["Location"].endswith("/pin/create")
    create_pin(client, clock, doc["secret"])
    assert client.get("/pin/create").headers["Location"].endswith("/pin/reset")


@pytest.mark.parametrize("mode", ["create", "reset"])
def test_new_pin_step_is_unreachable_without_step_one(app, doc, clock, mode):
    client = doc["client"]
    if mode == "reset":
        create_pin(client, clock, doc["secret"])
    before = pin_hash(app, doc["id"])
    for r in (client.get(f"/pin/{mode}/new"), save_pin(client, "9753", mode=mode)):
        assert r.status_code == 302 and r.headers["Location"].endswith(f"/pin/{mode}")
    assert "Validate your passcode first." in client.get(f"/pin/{mode}").get_data(as_text=True)
    assert pin_hash(app, doc["id"]) == before


def test_step_one_of_one_wizard_does_not_open_the_other(app, doc, clock):
    client = doc["client"]
    validate_passcode(client, clock, doc["secret"], "create")
    assert client.get("/pin/reset/new").headers["Location"].endswith("/pin/reset")
    assert save_pin(client, mode="reset").headers["Location"].endswith("/pin/reset")
    assert pin_hash(app, doc["id"]) is None
    create_pin(client, clock, doc["secret"])
    # a step-up done elsewhere (Sign In & Security) does not pass step 1 either
    other = app.test_client()
    sign_in(other, "dr.pin")
    other.post("/login/verify/code-generator", data={"code": next_code(clock, doc["secret"])})
    assert other.get("/security").status_code == 200
    assert other.get("/pin/reset/new").headers["Location"].endswith("/pin/reset")


def test_step_one_belongs_to_this_sign_in_session(app, doc, clock):
    client = doc["client"]
    create_pin(client, clock, doc["secret"])
    validate_passcode(client, clock, doc["secret"], "reset")
    other = app.test_client()
    sign_in(other, "dr.pin")
    other.post("/login/verify/code-generator", data={"code": next_code(clock, doc["secret"])})
    r = save_pin(other, "9753", mode="reset")
    assert r.headers["Location"].endswith("/pin/reset")
    with app.app_context():
        assert bcrypt.checkpw(PIN.encode(), db.session.get(User, doc["id"]).pin_hash)


def test_step_one_lasts_five_minutes(app, doc, clock):
    client = doc["client"]
    create_pin(client, clock, doc["secret"])
    validate_passcode(client, clock, doc["secret"], "reset")
    clock.advance(5 * 60 + 1)
    r = save_pin(client, "9753", mode="reset")
    assert r.headers["Location"].endswith("/pin/reset")
    assert "More than 5 minutes passed" in client.get("/pin/reset").get_data(as_text=True)
    assert client.get("/pin/reset/new").headers["Location"].endswith("/pin/reset")  # the wizard is gone
    with app.app_context():
        assert bcrypt.checkpw(PIN.encode(), db.session.get(User, doc["id"]).pin_hash)


def test_saving_uses_step_one_up(app, doc, clock):
    client = doc["client"]
    create_pin(client, clock, doc["secret"])
    validate_passcode(client, clock, doc["secret"], "reset")
    assert save_pin(client, "9753", mode="reset").headers["Location"].endswith("/pin/reset/done")
    again = save_pin(client, "8642", mode="reset")  # a second Save, or a later one
    assert again.headers["Location"].endswith("/pin/reset/done")
    with app.app_context():
        assert bcrypt.checkpw(b"9753", db.session.get(User, doc["id"]).pin_hash)
    assert actions(app, doc["id"]).count("pin_reset") == 1


@pytest.mark.parametrize(("pin", "confirm", "field", "message"), [
    ("", "", "pin", MSG_FORMAT),
    ("123", "123", "pin", MSG_FORMAT),
    ("12345", "12345", "pin", MSG_FORMAT),
    (" 1235", " 1235", "pin", MSG_FORMAT),
    ("1235 ", "1235 ", "pin", MSG_FORMAT),
    ("１２３５", "１２３５", "pin", MSG_FORMAT),
    ("١٢٣٥", "١٢٣٥", "pin", MSG_FORMAT),
    ("12a5", "12a5", "pin", MSG_FORMAT),
    ("0123", "0123", "pin", MSG_LEADING_ZERO),
    ("0258", "0258", "pin", MSG_LEADING_ZERO),
    ("1111", "1111", "pin", MSG_REPEATED),
    ("1234", "1234", "pin", MSG_SEQUENCE),
    ("4321", "4321", "pin", MSG_SEQUENCE),
    ("7890", "7890", "pin", MSG_SEQUENCE),
    ("8901", "8901", "pin", MSG_SEQUENCE),
    ("1098", "1098", "pin", MSG_SEQUENCE),
    ("2580", "2581", "confirm", MSG_MISMATCH),
    ("0000", "9999", "pin", MSG_LEADING_ZERO),  # the first broken rule speaks
])
def test_each_pin_rule_speaks_on_its_field_and_nothing_changes(app, doc, clock, pin, confirm, field, message):
    client = doc["client"]
    validate_passcode(client, clock, doc["secret"], "create")
    r = save_pin(client, pin, confirm)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    error = re.search(rf'<p class="field__error" id="{field}-error" role="alert">([^<]*)</p>', page)
    assert error and error.group(1) == message.replace("'", "&#39;")
    assert page.count('class="field__error"') == 1
    if pin.strip():
        assert f'value="{pin}"' not in page and f'value="{confirm}"' not in page  # a PIN is never shown back
    assert pin_hash(app, doc["id"]) is None
    assert save_pin(client, "2580").headers["Location"].endswith("/pin/create/done")  # step 1 still counts


def test_reset_to_the_current_pin_is_refused(app, doc, clock):
    client = doc["client"]
    create_pin(client, clock, doc["secret"])
    validate_passcode(client, clock, doc["secret"], "reset")
    page = save_pin(client, PIN, mode="reset").get_data(as_text=True)
    assert MSG_SAME_AS_CURRENT in page
    assert actions(app, doc["id"]).count("pin_reset") == 0


def test_a_wrong_or_replayed_code_in_step_one_is_refused_and_counted(app, doc, clock):
    client = doc["client"]
    r = validate_passcode(client, clock, doc["secret"], code="000000")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "That code is not right" in page and "Submit 2FA Code" in page
    assert 'value="000000"' not in page
    code = next_code(clock, doc["secret"])
    assert validate_passcode(client, clock, doc["secret"], code=code).status_code == 302
    r = validate_passcode(client, clock, doc["secret"], mode="create", code=code)
    assert "That code was already used" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, doc["id"]).otp_failures == 1  # the replay; the success cleared the wrong one


def test_only_the_users_own_active_devices_can_validate(app, doc, clock, make_user):
    client = doc["client"]
    other_client, _, other_secret = signed_in(app, make_user, clock, "dr.other")
    second = setup_code_generator(client, clock, "Office iPad")
    with app.app_context():
        mine = {d.name: d.id for d in db.session.scalars(select(Device).where(Device.user_id == doc["id"]))}
        theirs = db.session.scalar(select(Device.id).where(Device.user_id != doc["id"]))
    client.post(f"/security/devices/{mine['Office iPad']}/remove")
    for device in (theirs, mine["Office iPad"], 999999, "x"):
        page = client.get("/pin/create", query_string={"device": device}).get_data(as_text=True)
        assert "Choose one of your devices." in page and "Enter 2FA Code" not in page
        r = client.post("/pin/create", data={"device": str(device), "code": totp_now(second, clock.now)})
        assert r.status_code == 200 and "Choose one of your devices." in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, doc["id"]).otp_failures == 0  # nothing was checked
    page = client.get("/pin/create").get_data(as_text=True)
    assert "Office iPad" not in page and "dr.other" not in page


@pytest.mark.parametrize("role", ["staff", "admin", "trainer"])
def test_only_providers_have_a_pin(app, make_user, clock, role):
    client, _, _ = signed_in(app, make_user, clock, f"{role}.user", role=role)
    for url in ("/pin/create", "/pin/reset", "/pin/create/new", "/pin/reset/new", "/pin/reset/done"):
        assert client.get(url).status_code == 403, url
    assert client.post("/pin/create", data={"device": "1", "code": "123456"}).status_code == 403
