"""Compose Rx -> Transmit -> Sign and Send, with the EPCS PIN and a fresh code every time."""

import hashlib
import json
import re
import threading

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from portal import second_factor
from portal.extensions import db
from portal.models import AuditEvent, Device, EpcsPermission, Prescription, User
from portal.signing import signing_devices
from tests.conftest import setup_code_generator
from tests.epcs_helpers import (
    DEA,
    ORDER,
    PIN,
    compose,
    create_pin,
    device_ids,
    grant_directly,
    next_code,
    save_pin,
    sign_and_send,
    signed_in,
    validate_passcode,
)
from tests.otp_reference import totp_now

LEGAL = ("By completing the two-factor authentication protocol at this time, you are legally signing the "
         "prescription(s) and authorizing the transmission of the above information to the pharmacy for dispensing.")


@pytest.fixture
def doc(app, make_user, clock):
    """Dr. Rx, ready to sign: identity attested, permission active, a code generator and a PIN."""
    a, _ = make_user("admin.a", role="admin")
    b, _ = make_user("dr.registrant", dea=DEA["dr.registrant"], admin_rights=True)
    client, user_id, secret = signed_in(app, make_user, clock, "dr.rx", dea=DEA["dr.rx"], name="Robin Rx")
    grant_directly(app, user_id, a, b)
    create_pin(client, clock, secret)
    return {"client": client, "id": user_id, "secret": secret}


def count(app, model=Prescription):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def failures(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.pin_failures, user.otp_failures


def actions(app, user_id):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == user_id)
                                       .order_by(AuditEvent.id)))


def field_error(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="field__error" id="{field}-error" role="alert">([^<]*)</p>', page)
    return found.group(1) if found else None


def test_compose_review_transmit_sign_and_send(app, doc, clock):
    client = doc["client"]
    page = client.get("/epcs/compose").get_data(as_text=True)
    assert "Step 1 of 2 · Compose Rx" in page and ">Review<" in page
    r = compose(client)
    assert r.status_code == 302 and r.headers["Location"].endswith("/epcs/transmit")
    page = client.get("/epcs/transmit").get_data(as_text=True)
    assert "Step 2 of 2 · Transmit" in page
    for shown in ("Jane Q. Patient", "1961-07-04", "Oxycodone and acetaminophen", "5 mg/325 mg tablet", "C-II",
                  "1 tablet by mouth every 6 hours", "Robin Rx", DEA["dr.rx"]):
        assert shown in page, shown
    # the statement is shown with the fields that ask for the two factors, and the button signs
    form = page[page.index("<form method=\"post\""):]
    assert LEGAL in form and "EPCS PIN" in form and "Enter 2FA Code" in form and "Device" in form
    assert ">Sign and Send</button>" in form
    r = sign_and_send(client, clock, doc["secret"])
    assert r.status_code == 302 and re.search(r"/epcs/prescriptions/\d+$", r.headers["Location"])
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Signed and sent." in page and "Robin Rx" in page and "My iPhone" in page
    assert "The signed content matches its digest." in page
    with app.app_context():
        rx = db.session.scalar(select(Prescription))
        assert rx.digest == hashlib.sha256(rx.canonical.encode()).hexdigest() and rx.digest in page
        signed = json.loads(rx.canonical)
        assert signed["patient"]["name"] == "Jane Q. Patient" and signed["medication"]["quantity"] == 20
        assert signed["prescriber"] == {"id": doc["id"], "name": "Robin Rx", "dea_number": DEA["dr.rx"]}
        assert signed["device"]["name"] == "My iPhone" and rx.device_name == "My iPhone"
        assert rx.signed_at == clock.now and rx.prescriber_id == doc["id"]
    assert "prescription_signed" in actions(app, doc["id"])
    listing = client.get("/epcs/prescriptions").get_data(as_text=True)
    assert "Jane Q. Patient" in listing and "C-II" in listing
    # the wizard is done: Transmit now shows the result, Compose starts a new order
    assert client.get("/epcs/transmit").headers["Location"] == r.headers["Location"]
    assert 'value="Jane Q. Patient"' not in client.get("/epcs/compose").get_data(as_text=True)


def test_a_second_click_gives_one_prescription(app, doc, clock):
    client = doc["client"]
    compose(client)
    device = device_ids(client.get("/epcs/transmit").get_data(as_text=True))[0]
    data = {"device": str(device), "pin": PIN, "code": next_code(clock, doc["secret"])}
    first = client.post("/epcs/transmit", data=data)
    second = client.post("/epcs/transmit", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app) == 1
    assert failures(app, doc["id"]) == (0, 0)  # the second click checked nothing


def test_two_clicks_at_once_give_one_prescription(app, doc, clock):
    compose(doc["client"])
    device = device_ids(doc["client"].get("/epcs/transmit").get_data(as_text=True))[0]
    data = {"device": str(device), "pin": PIN, "code": next_code(clock, doc["secret"])}
    cookie = doc["client"].get_cookie("portal_session").value
    start = threading.Barrier(2)
    results = []

    def click():
        browser = app.test_client()
        browser.set_cookie("portal_session", cookie)
        start.wait()
        results.append(browser.post("/epcs/transmit", data=data))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(app) == 1
    assert [r.status_code for r in results] == [302, 302]
    assert results[0].headers["Location"] == results[1].headers["Location"]
    assert re.search(r"/epcs/prescriptions/\d+$", results[0].headers["Location"])
    assert failures(app, doc["id"]) == (0, 0)
    assert actions(app, doc["id"]).count("code_refused") == 0


def test_a_replayed_code_cannot_sign(app, doc, clock):
    client = doc["client"]
    compose(client)
    code = next_code(clock, doc["secret"])
    assert sign_and_send(client, clock, doc["secret"], code=code).status_code == 302
    compose(client, quantity="30")
    r = sign_and_send(client, clock, doc["secret"], code=code)  # the same code, within its 30 seconds
    assert r.status_code == 200
    assert field_error(r.get_data(as_text=True), "code").startswith("That code was already used.")
    assert count(app) == 1
    assert failures(app, doc["id"]) == (0, 1)
    assert "prescription_refused" in actions(app, doc["id"])


def test_a_valid_code_is_used_up_even_when_the_pin_is_wrong(app, doc, clock):
    client = doc["client"]
    compose(client)
    code = next_code(clock, doc["secret"])
    r = sign_and_send(client, clock, doc["secret"], pin="9753", code=code)
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert field_error(page, "pin") == "That EPCS PIN is not right. 4 tries left before it locks."
    assert field_error(page, "code") == "That code was right but is now used up. Enter the next code your device shows."
    assert 'value="9753"' not in page and f'value="{code}"' not in page  # neither is shown back
    assert "Jane Q. Patient" in page  # the order is still there to sign
    r = sign_and_send(client, clock, doc["secret"], code=code)  # right PIN, same code
    assert field_error(r.get_data(as_text=True), "code").startswith("That code was already used.")
    assert count(app) == 0
    assert failures(app, doc["id"]) == (0, 1)  # the right PIN cleared its count; the replay counted
    r = sign_and_send(client, clock, doc["secret"])
    assert r.status_code == 302 and count(app) == 1


def test_each_failure_counts_against_its_own_factor(app, doc, clock):
    client = doc["client"]
    compose(client)
    r = sign_and_send(client, clock, doc["secret"], code="000000")
    assert field_error(r.get_data(as_text=True), "code") and not field_error(r.get_data(as_text=True), "pin")
    assert failures(app, doc["id"]) == (0, 1)
    r = sign_and_send(client, clock, doc["secret"], pin="9753", code="000000")
    page = r.get_data(as_text=True)
    assert field_error(page, "code") and field_error(page, "pin")
    assert failures(app, doc["id"]) == (1, 2)
    assert count(app) == 0
    details = " ".join(e for e in _details(app, "prescription_refused"))
    assert "wrong or locked EPCS PIN" in details and "code not accepted" in details
    assert "9753" not in details and "000000" not in details


def _details(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)))


def test_five_wrong_pins_lock_until_the_pin_is_reset(app, doc, clock):
    client = doc["client"]
    compose(client)
    for attempt in range(1, 6):
        r = sign_and_send(client, clock, doc["secret"], pin="9753")
        assert r.status_code == 200
    assert "locked after 5 wrong PINs" in field_error(r.get_data(as_text=True), "pin")
    assert failures(app, doc["id"])[0] == 5
    assert "pin_locked" in actions(app, doc["id"])
    with app.app_context():
        last_step = db.session.scalar(select(Device.last_step).where(Device.user_id == doc["id"]))
    # the right PIN and a good code no longer sign, and the code is not used up for nothing
    r = sign_and_send(client, clock, doc["secret"], device=1)
    assert r.status_code == 302 and r.headers["Location"].endswith("/epcs")
    assert "Locked after 5 wrong PINs" in client.get("/epcs").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Device.last_step).where(Device.user_id == doc["id"])) == last_step
    assert count(app) == 0
    # Reset EPCS PIN lifts the lock
    validate_passcode(client, clock, doc["secret"], "reset")
    assert save_pin(client, "9753", mode="reset").status_code == 302
    assert failures(app, doc["id"])[0] == 0
    compose(client)
    assert sign_and_send(client, clock, doc["secret"], pin=PIN).status_code == 200  # the old PIN is gone
    assert sign_and_send(client, clock, doc["secret"], pin="9753").status_code == 302
    assert count(app) == 1


def test_transmit_without_review_is_refused(app, doc, clock):
    client = doc["client"]
    for r in (client.get("/epcs/transmit"), sign_and_send(client, clock, doc["secret"], device=1)):
        assert r.status_code == 302 and r.headers["Location"].endswith("/epcs/compose")
    assert "Compose the prescription and review it before you sign it." in \
        client.get("/epcs/compose").get_data(as_text=True)
    assert count(app) == 0
    assert failures(app, doc["id"]) == (0, 0)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("schedule", "I", "Choose a schedule from II to V."),
    ("schedule", "VI", "Choose a schedule from II to V."),
    ("schedule", "", "Choose a schedule from II to V."),
    ("drug", "", "Enter the drug."),
    ("drug", "   ", "Enter the drug."),
    ("quantity", "0", "The quantity must be at least 1."),
    ("quantity", "-5", "Enter the quantity as a whole number, digits only."),
    ("quantity", "100000", "The quantity cannot be more than 1000."),
    ("quantity", "ten", "Enter the quantity as a whole number, digits only."),
    ("patient_dob", "2999-01-01", "The date of birth cannot be in the future."),
    ("patient_name", "", "Enter the patient&#39;s name."),
])
def test_compose_bad_input_is_refused_on_the_field_and_kept(app, doc, clock, field, value, message):
    client = doc["client"]
    r = compose(client, **{field: value})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert field_error(page, field) == message
    if field != "patient_name":
        assert 'value="Jane Q. Patient"' in page  # the rest of what was typed stays
    assert client.get("/epcs/transmit").headers["Location"].endswith("/epcs/compose")  # no order to sign


def test_change_the_prescription_before_signing(app, doc, clock):
    client = doc["client"]
    compose(client)
    page = client.get("/epcs/compose").get_data(as_text=True)
    assert 'value="Jane Q. Patient"' in page and 'value="20"' in page and '<option selected value="II">' in page
    compose(client, quantity="12")
    assert "<dd>12</dd>" in client.get("/epcs/transmit").get_data(as_text=True)
    sign_and_send(client, clock, doc["secret"])
    with app.app_context():
        assert db.session.scalar(select(Prescription.quantity)) == 12


def test_only_the_users_own_active_signing_devices(app, doc, clock, make_user):
    client = doc["client"]
    setup_code_generator(client, clock, "Office iPad")
    other_client, _, _ = signed_in(app, make_user, clock, "dr.other", dea=DEA["dr.other"])
    with app.app_context():
        mine = {d.name: d.id for d in db.session.scalars(select(Device).where(Device.user_id == doc["id"]))}
        theirs = db.session.scalar(select(Device.id).where(Device.user_id != doc["id"]))
    compose(client)
    page = client.get("/epcs/transmit").get_data(as_text=True)
    # the Device choice offers them, primary first; the sign form carries the chosen one
    assert device_ids(page) == [mine["My iPhone"], mine["Office iPad"], mine["My iPhone"]]
    assert re.search(rf'checked[^>]*value="{mine["My iPhone"]}"', page)
    client.post(f"/security/devices/{mine['Office iPad']}/remove")
    for device in (theirs, mine["Office iPad"], 999999):
        r = sign_and_send(client, clock, doc["secret"], device=device)
        assert r.status_code == 200 and field_error(r.get_data(as_text=True), "device") is None
        assert "Choose one of your devices." in r.get_data(as_text=True)
    assert failures(app, doc["id"]) == (0, 0) and count(app) == 0


def test_text_and_call_devices_sign_only_when_allowed(app, doc):
    class Matcher:
        def digits(self, device):
            return 6

        def consume(self, device, code, purpose):
            return "wrong"

    with app.test_request_context():
        db.session.add(Device(user_id=doc["id"], kind="sms", name="Cell", name_key="cell", status="active",
                              added_at=app.config["CLOCK"]()))
        db.session.commit()
        user = db.session.get(User, doc["id"])
        saved = dict(second_factor.MATCHERS)
        try:
            second_factor.MATCHERS["sms"] = Matcher()
            assert [d.name for d in signing_devices(user)] == ["My iPhone"]
            app.config["PORTAL_EPCS_ALLOW_SMS"] = True
            assert [d.name for d in signing_devices(user)] == ["My iPhone", "Cell"]
        finally:
            second_factor.MATCHERS.clear()
            second_factor.MATCHERS.update(saved)
            app.config["PORTAL_EPCS_ALLOW_SMS"] = False


def test_signing_needs_readiness_checked_again_at_transmit(app, doc, clock):
    client = doc["client"]
    compose(client)
    with app.app_context():
        db.session.execute(update(EpcsPermission).values(status="revoked"))
        db.session.commit()
    r = sign_and_send(client, clock, doc["secret"], device=1)
    assert r.status_code == 302 and r.headers["Location"].endswith("/epcs")
    assert failures(app, doc["id"]) == (0, 0) and count(app) == 0
    assert client.get("/epcs/compose").headers["Location"].endswith("/epcs")


def test_a_signed_prescription_can_never_be_edited(app, doc, clock):
    client = doc["client"]
    compose(client)
    url = sign_and_send(client, clock, doc["secret"]).headers["Location"]
    assert client.post(url, data={"quantity": "200"}).status_code == 405
    with app.app_context():
        with pytest.raises(DBAPIError, match="cannot be changed"):
            db.session.execute(text("UPDATE prescription SET quantity = 200"))
        db.session.rollback()
        rx = db.session.scalar(select(Prescription))
        rx.drug = "Something else"
        with pytest.raises(DBAPIError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(Prescription.quantity)) == 20


def test_prescriptions_are_the_providers_own_newest_first(app, doc, clock, make_user):
    client = doc["client"]
    for drug in ("First drug", "Second drug"):
        compose(client, drug=drug)
        sign_and_send(client, clock, doc["secret"])
    listing = client.get("/epcs/prescriptions").get_data(as_text=True)
    assert listing.index("Second drug") < listing.index("First drug")
    other_client, other_id, other_secret = signed_in(app, make_user, clock, "dr.other", dea=DEA["dr.other"])
    with app.app_context():
        ids = list(db.session.scalars(select(Prescription.id)))
    for rx_id in ids:
        assert other_client.get(f"/epcs/prescriptions/{rx_id}").status_code == 404
    assert "First drug" not in other_client.get("/epcs/prescriptions").get_data(as_text=True)


@pytest.mark.parametrize("role", ["staff", "admin", "trainer"])
def test_staff_admin_and_trainer_cannot_sign(app, make_user, clock, role, doc):
    client, _, secret = signed_in(app, make_user, clock, f"{role}.x", role=role, admin_rights=True)
    for url in ("/epcs", "/epcs/compose", "/epcs/transmit", "/epcs/prescriptions", "/epcs/prescriptions/1"):
        assert client.get(url).status_code == 403, url
    assert client.post("/epcs/compose", data=ORDER).status_code == 403
    assert client.post("/epcs/transmit", data={"device": "1", "pin": PIN,
                                               "code": totp_now(secret, clock.now)}).status_code == 403
    assert count(app) == 0
