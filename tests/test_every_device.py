"""Every place a second factor is asked accepts every kind of device the user has: Reset / Create
EPCS PIN (Validate Passcode), Transmit (Sign and Send) and EPCS Device Management (Authenticate)
with push approvals (answered through the phone's pages) and text/call codes (read from the
outbox, as the phone gets them); and a new provider's choice of a first device.

Bad input: a denied, expired, pending or replayed approval; an approval of another purpose or
another sign-in session; a text code sent for another purpose; text/call codes for signing while
PORTAL_EPCS_ALLOW_SMS is off."""

import html
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Challenge, Device, Prescription, User
from tests.conftest import complete_sign_in, sign_in
from tests.epcs_helpers import DEA, PIN, compose, create_pin, grant_directly, save_pin, signed_in
from tests.test_push import number_on, phone_requests, set_up_push
from tests.test_text import CELL, MASKED, code_sent_to, messages_to, set_up_text, text_of
from tests.test_tokens import add_token, hotp, inventory  # noqa: F401 (a fixture)


def device_id(app, user_id: int, kind: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Device.id).where(Device.user_id == user_id, Device.kind == kind,
                                                         Device.status == "active"))


def challenge_status(app, challenge_id: int) -> str:
    with app.app_context():
        return db.session.get(Challenge, challenge_id).status


def failures(app, user_id: int) -> tuple[int, int]:
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.pin_failures, user.otp_failures


def prescriptions(app) -> list[Prescription]:
    with app.app_context():
        rows = list(db.session.scalars(select(Prescription).order_by(Prescription.id)))
        db.session.expunge_all()
        return rows


def actions(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == user_id)
                                       .order_by(AuditEvent.id)))


def approve(phone, page: str) -> int:
    """The phone taps the number the computer's page shows; returns the request's id."""
    number = number_on(page)
    [(challenge_id, choices)] = phone_requests(phone)
    assert number in choices
    assert phone.post(f"/phone/requests/{challenge_id}", data={"number": number}).status_code == 302
    return challenge_id


def deny(phone) -> int:
    [(challenge_id, _)] = phone_requests(phone)
    phone.post(f"/phone/requests/{challenge_id}", data={"deny": "Deny"})
    return challenge_id


def words(page: str) -> str:
    """The page's words, as a reader sees them."""
    return html.unescape(text_of(page))


def flashed(client) -> str:
    """The messages the next page shows."""
    return words(client.get("/security").get_data(as_text=True))


@pytest.fixture
def phone(app):
    return app.test_client()


@pytest.fixture
def doc(app, make_user, clock, phone):
    """Dr. Rx, ready to sign: identity attested, permission active, a code generator ("My iPhone",
    primary), an EPCS PIN, and a paired push phone ("My Android")."""
    a, _ = make_user("admin.a", role="admin")
    b, _ = make_user("dr.registrant", dea=DEA["dr.registrant"], admin_rights=True)
    client, user_id, secret = signed_in(app, make_user, clock, "dr.rx", dea=DEA["dr.rx"], name="Robin Rx")
    grant_directly(app, user_id, a, b)
    create_pin(client, clock, secret)
    set_up_push(client, phone)
    return {"client": client, "id": user_id, "secret": secret, "push": device_id(app, user_id, "push"),
            "username": "dr.rx"}


@pytest.fixture
def texting_doc(app, doc, clock):
    """Dr. Rx with a text/call phone too ("My cell", (201) 555-0801)."""
    set_up_text(app, doc["client"])
    clock.advance(30)  # Send it again waits 30 seconds per sign-in session
    return {**doc, "cell": device_id(app, doc["id"], "sms")}


def push_step_up_approval(app, client, phone) -> int:
    """An approved (not yet used) step-up request of this session: the step-up page sends it."""
    page = client.get("/verify/push?next=/security").get_data(as_text=True)
    return approve(phone, page)


# ---- Reset / Create EPCS PIN: Validate Passcode ----

def test_reset_pin_with_push_approval(app, doc, phone):
    client, push = doc["client"], doc["push"]
    page = client.get("/pin/reset").get_data(as_text=True)
    assert ">My iPhone</option>" in page and ">My Android</option>" in page
    page = client.get("/pin/reset", query_string={"device": push}).get_data(as_text=True)
    assert "Send push notification" in page and "Enter 2FA Code" not in page and phone_requests(phone) == []
    r = client.post(f"/pin/reset?device={push}", data={"device": str(push), "new": "Send push notification"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/pin/reset?device={push}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "We sent a push notification to <strong>My Android</strong>." in page
    assert "Check again" in page and 'src="/static/poll.js"' in page and "data-poll-url" in page
    assert "Reset EPCS PIN" in phone.get("/phone").get_data(as_text=True)  # what the phone says it is for
    challenge_id = approve(phone, page)
    assert client.get(f"/push/requests/{challenge_id}/status").get_json() == {"status": "approved"}
    r = client.post(f"/pin/reset?device={push}", data={"device": str(push), "challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("/pin/reset/new")
    again = client.post(f"/pin/reset?device={push}", data={"device": str(push), "challenge": str(challenge_id)})
    assert again.headers["Location"].endswith("/pin/reset/new")  # a second click (or the polling) lands there too
    assert save_pin(client, "9753", mode="reset").headers["Location"].endswith("/pin/reset/done")
    assert challenge_status(app, challenge_id) == "used"
    # the same approval again (a replay) validates nothing
    client.get("/pin/reset")
    r = client.post(f"/pin/reset?device={push}", data={"device": str(push), "challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("result=1")
    assert "This request was already used" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert client.get("/pin/reset/new").status_code == 302  # step 2 stays closed
    assert {"push_approved", "pin_reset"} <= set(actions(app, doc["id"]))


def test_create_pin_with_push_approval_says_create_on_the_phone(app, make_user, clock, phone):
    client, user_id, _ = signed_in(app, make_user, clock, "dr.new", dea=DEA["dr.rx"])
    set_up_push(client, phone)
    push = device_id(app, user_id, "push")
    client.post(f"/pin/create?device={push}", data={"device": str(push), "new": "Send push notification"})
    page = client.get(f"/pin/create?device={push}").get_data(as_text=True)
    assert "Create EPCS PIN" in phone.get("/phone").get_data(as_text=True)
    challenge_id = approve(phone, page)
    r = client.post(f"/pin/create?device={push}", data={"device": str(push), "challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("/pin/create/new")
    assert save_pin(client).headers["Location"].endswith("/pin/create/done")


def test_pin_push_denied_or_expired_validates_nothing(app, doc, phone, clock):
    client, push = doc["client"], doc["push"]
    url = f"/pin/reset?device={push}"
    client.post(url, data={"device": str(push), "new": "Send push notification"})
    client.get(url)
    challenge_id = deny(phone)
    r = client.post(url, data={"device": str(push), "challenge": str(challenge_id)})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "The request was denied on your phone" in page and "Send a new request" in page
    assert client.get("/pin/reset/new").headers["Location"].endswith("/pin/reset")
    # a new request, left to expire
    client.post(url, data={"device": str(push), "new": "Send a new request"})
    page = client.get(url).get_data(as_text=True)
    [(second_id, _)] = phone_requests(phone)
    assert second_id != challenge_id
    clock.advance(121)
    phone.post(f"/phone/requests/{second_id}", data={"number": number_on(page)})  # too late
    r = client.post(url, data={"device": str(push), "challenge": str(second_id)})
    assert "The request expired before it was approved" in client.get(r.headers["Location"]).get_data(as_text=True)
    # pending: Check again keeps waiting on the same request
    client.post(url, data={"device": str(push), "new": "Send a new request"})
    page = client.get(url).get_data(as_text=True)
    [(third_id, _)] = phone_requests(phone)
    r = client.post(url, data={"device": str(push), "challenge": str(third_id)})
    assert number_on(client.get(r.headers["Location"]).get_data(as_text=True)) == number_on(page)
    assert client.get("/pin/reset/new").headers["Location"].endswith("/pin/reset")
    assert failures(app, doc["id"]) == (0, 0)  # nothing was guessed


def test_an_approval_of_another_purpose_or_session_does_not_validate(app, doc, phone, clock):
    client, push = doc["client"], doc["push"]
    url = f"/pin/reset?device={push}"
    for nobodys in ("99999999999999", "-1", "x"):
        r = client.post(url, data={"device": str(push), "challenge": nobodys})
        assert r.headers["Location"].endswith("result=1"), nobodys
    step_up = push_step_up_approval(app, client, phone)
    r = client.post(url, data={"device": str(push), "challenge": str(step_up)})
    assert r.headers["Location"].endswith("result=1")
    assert challenge_status(app, step_up) == "approved"  # refused here, not used up
    # another sign-in of the same user approves a PIN reset of its own
    other = app.test_client()
    sign_in(other, doc["username"])
    clock.advance(30)
    complete_sign_in(other, doc["secret"], clock)
    other.post(url, data={"device": str(push), "new": "Send push notification"})
    theirs = approve(phone, other.get(url).get_data(as_text=True))
    r = client.post(url, data={"device": str(push), "challenge": str(theirs)})
    assert r.headers["Location"].endswith("result=1")
    assert client.get("/pin/reset/new").status_code == 302
    assert challenge_status(app, theirs) == "approved"
    assert other.post(url, data={"device": str(push), "challenge": str(theirs)}).headers["Location"].endswith(
        "/pin/reset/new")
    # nor does a PIN-reset approval pass a step-up of its own session
    client.post(url, data={"device": str(push), "new": "Send push notification"})
    mine = approve(phone, client.get(url).get_data(as_text=True))
    r = client.post("/verify/push?next=/security", data={"challenge": str(mine)})
    assert r.headers["Location"].endswith("result=1")
    assert challenge_status(app, mine) == "approved"


def test_reset_pin_with_a_text_code(app, texting_doc):
    client, cell = texting_doc["client"], texting_doc["cell"]
    url = f"/pin/reset?device={cell}"
    page = client.get(url).get_data(as_text=True)
    assert f"You will receive a code at the following number {MASKED}" in text_of(page)
    assert "Text me" in page and "Call me" in page and "Enter 2FA Code" not in page
    before = len(messages_to(app, CELL))
    assert client.post(url, data={"device": str(cell), "send": "sms"}).headers["Location"].endswith(url)
    assert len(messages_to(app, CELL)) == before + 1
    page = client.get(url).get_data(as_text=True)
    assert f"that we just sent to you at {MASKED}" in text_of(page)
    assert "Enter 2FA Code" in page and "Submit 2FA Code" in page and "Send it again" in page
    code = code_sent_to(app)
    wrong = "000000" if code != "000000" else "111111"
    r = client.post(url, data={"device": str(cell), "code": wrong})
    assert r.status_code == 200 and "That code is not right" in r.get_data(as_text=True)
    assert failures(app, texting_doc["id"]) == (0, 1)
    r = client.post(url, data={"device": str(cell), "code": code})
    assert r.headers["Location"].endswith("/pin/reset/new")
    assert save_pin(client, "9753", mode="reset").headers["Location"].endswith("/pin/reset/done")


def test_create_pin_by_call_me(app, make_user, clock):
    client, user_id, _ = signed_in(app, make_user, clock, "dr.call", dea=DEA["dr.rx"])
    set_up_text(app, client, how="call_me")
    clock.advance(30)
    cell = device_id(app, user_id, "voice")
    url = f"/pin/create?device={cell}"
    client.post(url, data={"device": str(cell), "send": "voice"})
    assert messages_to(app, CELL)[-1].channel == "voice"
    assert f"We are calling you at {MASKED}" in text_of(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"device": str(cell), "code": code_sent_to(app)}).headers["Location"].endswith(
        "/pin/create/new")


def test_a_text_code_sent_for_another_purpose_does_not_validate(app, texting_doc, clock):
    client, cell = texting_doc["client"], texting_doc["cell"]
    client.post("/verify/text?next=/security", data={"send": "sms", "device": str(cell)})  # a step-up's code
    r = client.post(f"/pin/reset?device={cell}", data={"device": str(cell), "code": code_sent_to(app)})
    assert r.status_code == 200 and "That code is not right" in r.get_data(as_text=True)
    assert failures(app, texting_doc["id"]) == (0, 1)
    # the step-up it was sent for still takes it
    assert client.post("/verify/text?next=/security", data={"code": code_sent_to(app)}).headers[
        "Location"] == "/security"


# ---- Transmit: Sign and Send ----

def transmit_push_approved(client, phone, push: int) -> int:
    """Transmit with the push phone: Send push notification, the phone approves, Check again."""
    url = f"/epcs/transmit?device={push}"
    r = client.post(url, data={"device": str(push), "new": "Send push notification"})
    assert r.headers["Location"].endswith(url)
    challenge_id = approve(phone, client.get(url).get_data(as_text=True))
    r = client.post(url, data={"device": str(push), "challenge": str(challenge_id)})  # Check again (or polling)
    assert r.headers["Location"].endswith(f"{url}&result=1")
    return challenge_id


def sign_with(client, push: int, challenge_id: int | None, pin: str = PIN):
    data = {"device": str(push), "pin": pin}
    if challenge_id is not None:
        data["challenge"] = str(challenge_id)
    return client.post(f"/epcs/transmit?device={push}", data=data)


def test_sign_a_prescription_with_push(app, doc, phone):
    client, push = doc["client"], doc["push"]
    compose(client)
    page = client.get("/epcs/transmit").get_data(as_text=True)
    assert "Use this device" in page and ">My Android</label>" in page  # the Device choice
    assert 'name="code"' in page  # the primary code generator's form
    page = client.get(f"/epcs/transmit?device={push}").get_data(as_text=True)
    assert "Send push notification" in page and ">EPCS PIN</label>" not in page  # the PIN comes after the approval
    url = f"/epcs/transmit?device={push}"
    client.post(url, data={"device": str(push), "new": "Send push notification"})
    page = client.get(url).get_data(as_text=True)
    assert "We sent a push notification to <strong>My Android</strong>." in page and "Sign and Send" not in page
    assert "Sign a controlled-substance prescription" in phone.get("/phone").get_data(as_text=True)
    challenge_id = approve(phone, page)
    client.post(url, data={"device": str(push), "challenge": str(challenge_id)})
    page = client.get(f"{url}&result=1").get_data(as_text=True)
    assert "Your phone approved the request. Now enter your EPCS PIN and choose Sign and Send." in page
    assert ">EPCS PIN</label>" in page and "Sign and Send" in page and 'name="code"' not in page
    assert "legally signing the prescription(s)" in page and "Check again" not in page
    assert f'name="challenge" value="{challenge_id}"' in page
    first = sign_with(client, push, challenge_id)
    second = sign_with(client, push, challenge_id)  # one click or two: one prescription
    assert re.search(r"/epcs/prescriptions/\d+$", first.headers["Location"])
    assert second.headers["Location"] == first.headers["Location"]
    [rx] = prescriptions(app)
    assert (rx.device_name, rx.device_id) == ("My Android", push)
    assert "My Android" in client.get(first.headers["Location"]).get_data(as_text=True)
    assert challenge_status(app, challenge_id) == "used"
    assert failures(app, doc["id"]) == (0, 0)
    assert {"push_approved", "prescription_signed"} <= set(actions(app, doc["id"]))


def test_a_wrong_pin_uses_the_approval_up_and_each_try_needs_a_fresh_one(app, doc, phone):
    client, push = doc["client"], doc["push"]
    compose(client)
    challenge_id = transmit_push_approved(client, phone, push)
    r = sign_with(client, push, challenge_id, pin="9753")
    assert r.headers["Location"].endswith(f"/epcs/transmit?device={push}")
    page = words(client.get(r.headers["Location"]).get_data(as_text=True))
    assert "That EPCS PIN is not right. 4 tries left" in page
    assert "Your phone's approval is now used up. Send a new request and approve it." in page
    assert "Send push notification" in page
    assert failures(app, doc["id"]) == (1, 0) and prescriptions(app) == []
    # the same approval with the right PIN: refused (replayed), the PIN checked all the same
    r = sign_with(client, push, challenge_id)
    assert "That approval is used up. Send a new request." in flashed(client)
    assert failures(app, doc["id"]) == (0, 0) and prescriptions(app) == []
    # a fresh approval signs
    assert sign_with(client, push, transmit_push_approved(client, phone, push)).status_code == 302
    assert len(prescriptions(app)) == 1


def test_signing_refuses_missing_pending_denied_expired_and_foreign_approvals(app, doc, phone, clock):
    client, push = doc["client"], doc["push"]
    url = f"/epcs/transmit?device={push}"
    compose(client)
    sign_with(client, push, None)  # no request at all
    assert "Send a push notification to your phone and approve it first." in flashed(client)
    client.post(url, data={"device": str(push), "new": "Send push notification"})
    client.get(url)
    [(pending, _)] = phone_requests(phone)
    sign_with(client, push, pending)
    assert "Your phone has not approved the request yet." in flashed(client)
    assert challenge_status(app, pending) == "pending"
    denied = deny(phone)
    sign_with(client, push, denied)
    assert "The request was denied on your phone." in flashed(client)
    # approved, but used too late (an approval lasts as long as a request after it ends)
    late = transmit_push_approved(client, phone, push)
    clock.advance(241)
    sign_with(client, push, late)
    assert "That approval is too old to use now. Send a new request." in flashed(client)
    assert challenge_status(app, late) == "approved"
    page = client.get(url).get_data(as_text=True)  # the page offers a new request, not the stale approval
    assert "Send push notification" in page and ">EPCS PIN</label>" not in page
    # an approval asked to reset the PIN, or by a step-up, signs nothing
    client.post(f"/pin/reset?device={push}", data={"device": str(push), "new": "Send push notification"})
    pin_reset = approve(phone, client.get(f"/pin/reset?device={push}").get_data(as_text=True))
    step_up = push_step_up_approval(app, client, phone)
    for foreign in (pin_reset, step_up):
        sign_with(client, push, foreign)
        assert "Send a push notification to your phone and approve it first." in flashed(client)
        assert challenge_status(app, foreign) == "approved"
    # nor does another sign-in session's signing approval
    other = app.test_client()
    sign_in(other, doc["username"])
    clock.advance(30)
    complete_sign_in(other, doc["secret"], clock)
    compose(other)
    theirs = transmit_push_approved(other, phone, push)
    sign_with(client, push, theirs)
    assert challenge_status(app, theirs) == "approved"
    assert prescriptions(app) == []
    assert failures(app, doc["id"]) == (0, 0)  # the PIN was right every time; no approval is a guess
    assert sign_with(other, push, theirs).status_code == 302 and len(prescriptions(app)) == 1


def test_text_and_call_codes_cannot_sign_while_the_setting_is_off(app, texting_doc):
    client, cell = texting_doc["client"], texting_doc["cell"]
    compose(client)
    page = client.get("/epcs/transmit").get_data(as_text=True)
    assert "My cell" not in page and f'value="{cell}"' not in page
    before = len(messages_to(app, CELL))
    for data in ({"send": "sms"}, {"pin": PIN, "code": "123456"}):
        r = client.post(f"/epcs/transmit?device={cell}", data={"device": str(cell), **data})
        assert r.status_code == 200 and "Choose one of your devices." in r.get_data(as_text=True)
    assert len(messages_to(app, CELL)) == before  # nothing was texted
    assert failures(app, texting_doc["id"]) == (0, 0) and prescriptions(app) == []


def test_readiness_counts_only_devices_that_can_sign(app, client, make_user):
    make_user("dr.text", dea=DEA["dr.rx"])
    sign_in(client, "dr.text")
    set_up_text(app, client)  # the only device: it cannot sign while PORTAL_EPCS_ALLOW_SMS is off
    page = words(client.get("/epcs").get_data(as_text=True))
    assert "Set up a code generator, push notification or hardware token on Sign In & Security." in page
    app.config["PORTAL_EPCS_ALLOW_SMS"] = True
    assert "1 active: My cell." in text_of(client.get("/epcs").get_data(as_text=True))
    app.config["PORTAL_EPCS_ALLOW_SMS"] = False


@pytest.mark.parametrize("app_config", [{"PORTAL_EPCS_ALLOW_SMS": True}])
def test_text_codes_sign_when_allowed(app, texting_doc, clock, app_config):
    client, cell = texting_doc["client"], texting_doc["cell"]
    url = f"/epcs/transmit?device={cell}"
    compose(client)
    assert ">My cell</label>" in client.get("/epcs/transmit").get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "Text me" in page and "Call me" in page and ">EPCS PIN</label>" not in page
    assert client.post(url, data={"device": str(cell), "send": "sms"}).headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert f"that we just sent to you at {MASKED}" in text_of(page)
    assert ">EPCS PIN</label>" in page and ">Enter 2FA Code</label>" in page and "Sign and Send" in page
    code = code_sent_to(app)
    r = client.post(url, data={"device": str(cell), "pin": "9753", "code": code})  # wrong PIN: the code is used up
    page = r.get_data(as_text=True)
    assert "That EPCS PIN is not right." in page and "Choose Send it again for a new one." in page
    r = client.post(url, data={"device": str(cell), "pin": PIN, "code": code})  # the same code again
    assert "That code was already used." in r.get_data(as_text=True)
    assert failures(app, texting_doc["id"]) == (0, 1) and prescriptions(app) == []
    clock.advance(30)
    client.post(url, data={"device": str(cell), "send": "again"})
    assert "We sent you a new code." in text_of(client.get(url).get_data(as_text=True))
    r = client.post(url, data={"device": str(cell), "pin": PIN, "code": code_sent_to(app)})
    assert re.search(r"/epcs/prescriptions/\d+$", r.headers["Location"])
    assert [rx.device_name for rx in prescriptions(app)] == ["My cell"]


@pytest.mark.parametrize("app_config", [{"PORTAL_EPCS_ALLOW_SMS": True}])
def test_a_text_code_signs_once_and_a_step_up_code_never(app, texting_doc, clock, app_config):
    client, cell = texting_doc["client"], texting_doc["cell"]
    url = f"/epcs/transmit?device={cell}"
    compose(client)
    client.post("/verify/text?next=/security", data={"send": "sms", "device": str(cell)})
    r = client.post(url, data={"device": str(cell), "pin": PIN, "code": code_sent_to(app)})
    assert r.status_code == 200 and prescriptions(app) == []
    clock.advance(30)
    client.post(url, data={"device": str(cell), "send": "voice"})
    assert messages_to(app, CELL)[-1].channel == "voice"
    r = client.post(url, data={"device": str(cell), "pin": PIN, "code": code_sent_to(app)})
    assert re.search(r"/epcs/prescriptions/\d+$", r.headers["Location"])
    assert [rx.device_name for rx in prescriptions(app)] == ["My cell"]


# ---- EPCS Device Management: Authenticate ----

def test_authenticate_with_push_then_add_a_token(app, client, provider, phone, clock, inventory):  # noqa: F811
    set_up_push(client, phone)
    clock.advance(6 * 60)  # the set-up's step-up is stale
    push = device_id(app, provider["id"], "push")
    page = client.get("/tokens/authenticate").get_data(as_text=True)
    assert "My Android (Push Notification)" in page and "My iPhone (Code Generator Application)" in page
    r = client.post("/tokens/authenticate", data={"option": str(push)})
    assert r.headers["Location"].endswith(f"/tokens/authenticate/{push}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Add a hardware token" in phone.get("/phone").get_data(as_text=True)
    challenge_id = deny(phone)
    r = client.post(f"/tokens/authenticate/{push}", data={"challenge": str(challenge_id)})
    assert "The request was denied on your phone" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert client.get("/tokens/add").headers["Location"].endswith("/tokens/authenticate")
    client.post(f"/tokens/authenticate/{push}", data={"new": "Send a new request"})
    challenge_id = approve(phone, client.get(f"/tokens/authenticate/{push}").get_data(as_text=True))
    r = client.post(f"/tokens/authenticate/{push}", data={"challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("/tokens")
    r = client.post(f"/tokens/authenticate/{push}", data={"challenge": str(challenge_id)})  # a second click
    assert r.headers["Location"].endswith("/tokens")
    assert "Authenticated" in client.get("/tokens").get_data(as_text=True)
    assert add_token(client, "GALH00000001", hotp(500), hotp(501)).status_code == 302
    # a replay of the approval authenticates nothing more
    clock.advance(6 * 60)
    r = client.post(f"/tokens/authenticate/{push}", data={"challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("result=1")
    assert client.get("/tokens/add").headers["Location"].endswith("/tokens/authenticate")


def test_authenticate_by_phone_call(app, client, provider, clock):
    set_up_text(app, client, how="call_me")
    clock.advance(6 * 60)
    cell = device_id(app, provider["id"], "voice")
    r = client.post("/tokens/authenticate", data={"option": f"{cell}:voice"})
    assert messages_to(app, CELL)[-1].channel == "voice"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f"We are calling you at {MASKED}" in text_of(page) and "One-Time Password Code" in page
    code = code_sent_to(app)
    wrong = "000000" if code != "000000" else "111111"
    assert "That code is not right" in client.post(r.headers["Location"], data={"code": wrong}).get_data(as_text=True)
    assert failures(app, provider["id"]) == (0, 1)
    assert client.post(r.headers["Location"], data={"code": code}).headers["Location"].endswith("/tokens")
    assert client.get("/tokens/add").status_code == 200


def test_authenticate_says_when_the_phone_cannot_be_reached(app, client, provider, clock):
    set_up_text(app, client)
    clock.advance(30)
    app.config.update(PORTAL_SMS_BACKEND="http", PORTAL_SMS_URL="http://127.0.0.1:9/unreachable")
    cell = device_id(app, provider["id"], "sms")
    r = client.post("/tokens/authenticate", data={"option": f"{cell}:sms"})
    assert r.status_code == 200
    assert f"We could not text {MASKED} just now." in text_of(r.get_data(as_text=True))
    app.config.update(PORTAL_SMS_BACKEND="outbox")


# ---- a new provider's first device ----

def test_a_new_provider_chooses_the_first_device_and_reaches_nothing_else(app, client, make_user):
    make_user("dr.new")
    r = sign_in(client, "dr.new")
    assert r.headers["Location"].endswith("/security/first-device")
    page = client.get("/security/first-device").get_data(as_text=True)
    for label, href in (("Text Message or Phone Call", "/security/text"), ("Push Notification", "/security/push"),
                        ("Code Generator", "/security/code-generator"), ("Hardware Token", "/tokens")):
        assert f'href="{href}" aria-label="Set Up {label}"' in page
    assert "Its codes cannot sign controlled-substance prescriptions" in page  # said of text/call only
    for url in ("/security", "/epcs", "/pin/create", "/tokens/authenticate", "/verify", "/epcs/compose"):
        assert client.get(url).headers["Location"].endswith("/security/first-device"), url
    for url in ("/security/text", "/security/push", "/security/code-generator", "/tokens", "/tokens/add"):
        assert client.get(url).status_code == 200, url


def test_first_device_push(app, client, make_user, phone):
    user_id, _ = make_user("dr.new")
    sign_in(client, "dr.new")
    client.post("/security/push")
    page = client.get("/security/push/scan").get_data(as_text=True)
    assert "Step 2 of 4 · Scan QR code" in page  # no Primary step: the first device is primary
    link = re.search(r"<code>http://localhost(/phone/pair/[A-Za-z0-9_-]+)</code>", page).group(1)
    assert client.post(link).status_code == 403  # not in the browser that prescribes, even before a device
    phone.post(link)
    assert client.get("/security/push/scan/status").get_json() == {"status": "paired"}
    client.post("/security/push/scan")
    challenge_id = approve(phone, client.get("/security/push/confirm").get_data(as_text=True))
    assert client.get(f"/push/requests/{challenge_id}/status").get_json() == {"status": "approved"}
    client.post("/security/push/confirm", data={"challenge": str(challenge_id)})
    r = client.post("/security/push/name", data={"name": "My Android"})
    assert "/security/code-generator/done/" in r.headers["Location"]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.user_id == user_id))
        assert (device.kind, device.is_primary) == ("push", True)
    assert client.get("/security").status_code == 200
    assert client.get("/security/first-device").headers["Location"].endswith("/security")


def test_first_device_text(app, client, make_user):
    make_user("dr.new")
    sign_in(client, "dr.new")
    set_up_text(app, client)
    assert "My cell" in client.get("/security").get_data(as_text=True)


def test_first_device_hardware_token_by_serial(app, client, make_user, clock, inventory):  # noqa: F811
    user_id, _ = make_user("dr.new")
    sign_in(client, "dr.new")
    page = client.get("/tokens").get_data(as_text=True)
    assert "This token will be your first device" in page and 'href="/tokens/authenticate"' not in page
    page = client.get("/tokens/authenticate").headers["Location"]
    assert page.endswith("/security/first-device")
    r = add_token(client, "GALH00000001", hotp(500), hotp(502))  # not consecutive: refused, counted
    assert r.status_code == 200 and failures(app, user_id) == (0, 1)
    r = add_token(client, "GALH00000001", hotp(500), hotp(501))
    assert r.status_code == 302
    assert "Token Status: Active" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.user_id == user_id))
        assert (device.kind, device.is_primary, device.name) == ("hardware", True, "GALH00000001")
    assert client.get("/security").status_code == 200
    # from now on a token is added only after Authenticate
    assert client.get("/tokens/add").headers["Location"].endswith("/tokens/authenticate")
    # and the token signs in
    client.post("/logout")
    sign_in(client, "dr.new")
    assert client.post("/login/verify/hardware-token", data={"code": hotp(502)}).headers["Location"].endswith(
        "/security")


def test_the_first_device_page_is_only_for_the_first(client, provider):
    assert client.get("/security/first-device").headers["Location"].endswith("/security")
