"""Text Message or Phone Call through the test client: set-up confirmed by a code, Text me / Call me
at sign-in and step-up (the codes read from the outbox, as the phone receives them), Send it again
and its limits, expiry, one use, a failing sender, and the refusal for signing."""

import re

import pytest
from sqlalchemy import select

from portal import second_factor
from portal.extensions import db
from portal.models import AuditEvent, Challenge, Device, OutboundMessage, User
from tests.conftest import complete_sign_in, setup_code_generator, sign_in

CELL = "+12015550801"
MASKED = "(***) ***-*801"
SENT = f"Please check your phone for the 6-digit code that we just sent to you at {MASKED}."


def text_of(page: str) -> str:
    """The page's words, without its markup."""
    return re.sub(r"<[^>]+>", "", page)


def messages_to(app, number: str) -> list[OutboundMessage]:
    with app.app_context():
        return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == number)
                                       .order_by(OutboundMessage.id)))


def code_sent_to(app, number: str = CELL) -> str:
    """The code in the newest text or call to `number`, as the phone gets it."""
    message = messages_to(app, number)[-1]
    if message.channel == "voice":
        return re.search(r"Your code is ((?:\d, ){5}\d)\.", message.body).group(1).replace(", ", "")
    return re.search(r"your code is (\d{6})\.", message.body).group(1)


def actions(app, user_id):
    with app.app_context():
        return [a for (a,) in db.session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_id == user_id).order_by(AuditEvent.id))]


def set_up_text(app, client, typed: str = "(201) 555-0801", name: str = "My cell", how: str = "text_me"):
    r = client.post("/security/text", data={"phone": typed, how: "Text me" if how == "text_me" else "Call me"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/security/text/confirm"), r.get_data(as_text=True)
    number = messages_to_any_last(app).recipient
    r = client.post("/security/text/confirm", data={"code": code_sent_to(app, number)})
    assert r.headers["Location"].endswith("/security/text/name"), r.get_data(as_text=True)
    r = client.post("/security/text/name", data={"name": name})
    if r.headers["Location"].endswith("/primary"):
        r = client.post("/security/text/primary", data={"keep_current": "Keep my current primary device"})
    assert "/security/code-generator/done/" in r.headers["Location"]


def messages_to_any_last(app) -> OutboundMessage:
    with app.app_context():
        return db.session.scalar(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(1))


@pytest.fixture
def texting(app, client, provider, clock):
    """A provider with a code generator and a text/call phone (201) 555-0801, signed out."""
    set_up_text(app, client)
    client.post("/logout")
    clock.advance(30)
    return provider


# ---- set-up ----

def test_set_up_confirms_the_number_with_a_code(app, client, provider, clock):
    page = client.get("/security/text").get_data(as_text=True)
    assert "Step 1 of 4 · Phone number" in page and "Text me" in page and "Call me" in page
    r = client.post("/security/text", data={"phone": "(201) 555-0801", "text_me": "Text me"})
    assert r.headers["Location"].endswith("/security/text/confirm")
    page = text_of(client.get("/security/text/confirm").get_data(as_text=True))
    assert SENT in page and "Step 2 of 4 · Confirm your device" in page and "Send it again" in page
    [message] = messages_to(app, CELL)
    assert message.channel == "sms" and "It expires in 5 minutes" in message.body
    code = code_sent_to(app)
    wrong = "000000" if code != "000000" else "111111"
    r = client.post("/security/text/confirm", data={"code": wrong})
    assert "That code is not right" in r.get_data(as_text=True) and wrong not in r.get_data(as_text=True)
    assert client.post("/security/text/confirm", data={"code": code}).headers["Location"].endswith("/name")
    client.post("/security/text/name", data={"name": "My cell"})
    client.post("/security/text/primary", data={"keep_current": "Keep my current primary device"})
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.kind == "sms"))
        assert (device.phone, device.name, device.is_primary) == (CELL, "My cell", False)
        assert db.session.get(User, provider["id"]).otp_failures == 0  # set-up tries are not sign-in failures
    security = client.get("/security").get_data(as_text=True)
    assert "My cell" in security and MASKED in security and "555-0801" not in security
    assert {"code_sent", "device_added"} <= set(actions(app, provider["id"]))


def test_set_up_by_call_reads_the_code_aloud(app, client, provider):
    set_up_text(app, client, "+44 20 7946 0958", "London phone", how="call_me")
    [message] = messages_to(app, "+442079460958")
    assert message.channel == "voice" and "Again, your code is" in message.body
    with app.app_context():
        assert db.session.scalar(select(Device.kind).where(Device.name == "London phone")) == "voice"


@pytest.mark.parametrize("typed, message", [
    ("", "Enter your mobile phone number."),
    ("call me maybe", "Enter a phone number with digits only"),
    ("555-0123", "That number is too short."),
    ("(900) 555-0123", "Premium-rate numbers (900, 976) cannot receive codes."),
    ("+1 976 555 0123", "Premium-rate numbers (900, 976) cannot receive codes."),
])
def test_bad_numbers_get_a_message_and_keep_what_was_typed(app, client, provider, typed, message):
    r = client.post("/security/text", data={"phone": typed, "text_me": "Text me"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and message in page
    assert f'value="{typed}"' in page or typed == ""
    with app.app_context():  # no text or call went out (the device_added notice e-mail did)
        assert db.session.scalar(select(OutboundMessage.id).where(OutboundMessage.channel != "email")) is None
    assert client.get("/security/text/confirm").headers["Location"].endswith("/security/text")


def test_a_number_belongs_to_one_account_once(app, client, provider, make_user, clock):
    set_up_text(app, client)
    clock.advance(30)
    r = client.post("/security/text", data={"phone": "201-555-0801", "text_me": "Text me"})
    assert "You already have this number set up" in r.get_data(as_text=True)
    make_user("dr.other")
    other = app.test_client()
    sign_in(other, "dr.other")
    setup_code_generator(other, clock, "Other iPhone")
    r = other.post("/security/text", data={"phone": "+12015550801", "text_me": "Text me"})
    assert "This number is set up on another account" in r.get_data(as_text=True)
    assert len(messages_to(app, CELL)) == 1


def test_a_sender_that_fails_leaves_nothing_half_done(app, client, provider, clock):
    app.config.update(PORTAL_SMS_BACKEND="http", PORTAL_SMS_URL="http://127.0.0.1:9/unreachable")
    r = client.post("/security/text", data={"phone": "(201) 555-0801", "text_me": "Text me"})
    page = r.get_data(as_text=True)
    assert f"We could not text {MASKED} just now. Try again in a moment, or choose another method." in page
    assert client.get("/security/text/confirm").headers["Location"].endswith("/security/text")  # not started
    with app.app_context():
        assert [c.status for c in db.session.scalars(select(Challenge))] == ["failed"]
    assert "code_not_sent" in actions(app, provider["id"])
    app.config.update(PORTAL_SMS_BACKEND="outbox")
    r = client.post("/security/text", data={"phone": "(201) 555-0801", "text_me": "Text me"})  # no 30 s wait
    assert r.headers["Location"].endswith("/security/text/confirm")


def test_set_up_code_expires_and_send_it_again_gives_a_new_one(app, client, provider, clock):
    client.post("/security/text", data={"phone": "(201) 555-0801", "text_me": "Text me"})
    first = code_sent_to(app)
    r = client.post("/security/text/resend")
    assert "You can ask for a new one in 30 seconds" in client.get(r.headers["Location"]).get_data(as_text=True)
    clock.advance(5 * 60 + 1)
    page = client.get("/security/text/confirm").get_data(as_text=True)
    assert "This code has expired" in page
    r = client.post("/security/text/confirm", data={"code": first})
    assert "expired" in r.get_data(as_text=True)
    client.post("/security/text/resend")
    second = code_sent_to(app)
    assert len(messages_to(app, CELL)) == 2
    assert client.post("/security/text/confirm", data={"code": second}).headers["Location"].endswith("/name")


def test_set_up_code_stops_after_five_wrong_tries(app, client, provider):
    client.post("/security/text", data={"phone": "(201) 555-0801", "text_me": "Text me"})
    code = code_sent_to(app)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/security/text/confirm", data={"code": wrong})
    r = client.post("/security/text/confirm", data={"code": code})
    assert "tried too many times" in r.get_data(as_text=True)


# ---- sign-in ----

def test_sign_in_with_text_me(app, client, texting):
    sign_in(client, texting["username"])
    assert "Text Message or Phone Call" in client.get("/login/verify").get_data(as_text=True)
    page = client.get("/login/verify/text").get_data(as_text=True)
    assert "Receive authentication code via phone" in page
    assert f"You will receive a code at the following number {MASKED}" in text_of(page)
    assert "Text me" in page and "Call me" in page and "Go back" in page
    before = len(messages_to(app, CELL))
    r = client.post("/login/verify/text", data={"send": "sms", "device": _device_id(app, "My cell")})
    assert r.headers["Location"].endswith("/login/verify/text")
    page = client.get("/login/verify/text").get_data(as_text=True)
    assert SENT in text_of(page) and "Send it again" in page and 'data-enable-after="30"' in page
    assert len(messages_to(app, CELL)) == before + 1
    r = client.post("/login/verify/text", data={"code": code_sent_to(app)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/security")
    assert client.get("/security").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "sign_in")
                                 .order_by(AuditEvent.id.desc()).limit(1)) == "Text Message or Phone Call: My cell"


def test_sign_in_with_call_me(app, client, texting):
    sign_in(client, texting["username"])
    client.post("/login/verify/text", data={"send": "voice", "device": _device_id(app, "My cell")})
    assert messages_to(app, CELL)[-1].channel == "voice"
    assert f"We are calling you at {MASKED}" in text_of(client.get("/login/verify/text").get_data(as_text=True))
    assert client.post("/login/verify/text", data={"code": code_sent_to(app)}).headers["Location"].endswith("/security")


def _device_id(app, name: str) -> str:
    with app.app_context():
        return str(db.session.scalar(select(Device.id).where(Device.name == name)))


def test_wrong_codes_count_against_the_factor_like_any_code(app, client, texting, clock):
    sign_in(client, texting["username"])
    client.post("/login/verify/text", data={"send": "sms", "device": _device_id(app, "My cell")})
    code = code_sent_to(app)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = client.post("/login/verify/text", data={"code": wrong})
        assert "That code is not right" in r.get_data(as_text=True)
    r = client.post("/login/verify/text", data={"code": code})  # during the wait: refused unchecked
    assert "Wait 30 seconds" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, texting["id"]).otp_failures == 5


def test_a_code_is_valid_five_minutes_then_send_it_again(app, client, texting, clock):
    sign_in(client, texting["username"])
    client.post("/login/verify/text", data={"send": "sms", "device": _device_id(app, "My cell")})
    old = code_sent_to(app)
    clock.advance(5 * 60 + 1)
    page = client.get("/login/verify/text").get_data(as_text=True)
    assert "This code has expired" in page
    assert "That code is not right" in client.post("/login/verify/text", data={"code": old}).get_data(as_text=True)
    client.post("/login/verify/text", data={"send": "again", "device": _device_id(app, "My cell")})
    new = code_sent_to(app)
    assert client.post("/login/verify/text", data={"code": new}).headers["Location"].endswith("/security")


def test_send_it_again_waits_30_seconds_and_allows_5_an_hour(app, client, texting, clock):
    device = _device_id(app, "My cell")
    sign_in(client, texting["username"])
    client.post("/login/verify/text", data={"send": "sms", "device": device})
    first = code_sent_to(app)
    r = client.post("/login/verify/text", data={"send": "again", "device": device})
    assert "You can ask for a new one in 30 seconds" in client.get(r.headers["Location"]).get_data(as_text=True)
    clock.advance(29)
    client.post("/login/verify/text", data={"send": "again", "device": device})
    assert code_sent_to(app) == first  # nothing sent
    clock.advance(1)
    r = client.post("/login/verify/text", data={"send": "again", "device": device})
    assert "We sent you a new code" in client.get(r.headers["Location"]).get_data(as_text=True)
    second = code_sent_to(app)
    if second != first:  # the first code stopped working when the second was sent
        assert "not right" in client.post("/login/verify/text", data={"code": first}).get_data(as_text=True)
    # the set-up's code and these two make 3 sends this hour (the set-up was 30 s before); two more are allowed
    for _ in range(2):
        clock.advance(30)
        client.post("/login/verify/text", data={"send": "again", "device": device})
    clock.advance(30)
    r = client.post("/login/verify/text", data={"send": "again", "device": device})
    assert "You have asked for 5 codes in the last hour" in client.get(r.headers["Location"]).get_data(as_text=True)
    sends = len(messages_to(app, CELL))
    assert sends == 5
    clock.advance(3600)
    client.post("/logout")
    sign_in(client, texting["username"])
    client.post("/login/verify/text", data={"send": "sms", "device": device})
    assert len(messages_to(app, CELL)) == 6
    assert client.post("/login/verify/text", data={"code": code_sent_to(app)}).headers["Location"].endswith(
        "/security")


def test_a_code_is_used_once(app, client, texting, clock):
    """Step-up twice in one session: the first code cannot serve the second time."""
    device = _device_id(app, "My cell")
    sign_in(client, texting["username"])
    clock.advance(30)
    complete_sign_in(client, texting["secret"], clock)
    clock.advance(6 * 60)
    client.post("/verify/text?next=/security/text", data={"send": "sms", "device": device})
    code = code_sent_to(app)
    r = client.post("/verify/text?next=/security/text", data={"code": code})
    assert r.headers["Location"] == "/security/text"
    r = client.post("/verify/text?next=/security/text", data={"code": code})  # a double click lands there too
    assert r.headers["Location"] == "/security/text"
    clock.advance(6 * 60)
    page = client.get("/verify/text?next=/security/text").get_data(as_text=True)
    assert "Receive authentication code via phone" in page  # a used code is not offered again
    r = client.post("/verify/text?next=/security/text", data={"code": code})
    assert r.status_code == 302  # nothing sent in this round yet: back to Text me / Call me
    clock.advance(30)
    client.post("/verify/text?next=/security/text", data={"send": "sms", "device": device})
    r = client.post("/verify/text?next=/security/text", data={"code": code})
    assert "already used" in r.get_data(as_text=True)


def test_a_code_works_only_in_the_sign_in_it_was_sent_for(app, client, texting, clock):
    sign_in(client, texting["username"])
    client.post("/login/verify/text", data={"send": "sms", "device": _device_id(app, "My cell")})
    code = code_sent_to(app)
    other = app.test_client()
    sign_in(other, texting["username"])
    clock.advance(30)
    other.post("/login/verify/text", data={"send": "sms", "device": _device_id(app, "My cell")})
    r = other.post("/login/verify/text", data={"code": code})
    assert "That code is not right" in r.get_data(as_text=True)


def test_several_phones_offer_a_choice_with_masked_numbers(app, client, texting, clock):
    sign_in(client, texting["username"])
    clock.advance(30)
    complete_sign_in(client, texting["secret"], clock)
    clock.advance(30)
    set_up_text(app, client, "(973) 555-0142", "Office line")
    client.post("/logout")
    clock.advance(30)
    sign_in(client, texting["username"])
    page = client.get("/login/verify/text").get_data(as_text=True)
    assert f"My cell — {MASKED}" in page and "Office line — (***) ***-*142" in page
    client.post("/login/verify/text", data={"send": "sms", "device": _device_id(app, "Office line")})
    assert "(***) ***-*142" in client.get("/login/verify/text").get_data(as_text=True)
    assert client.post("/login/verify/text", data={"code": code_sent_to(app, "+19735550142")}).status_code == 302


# ---- signing ----

def test_text_and_call_codes_are_refused_for_signing_unless_allowed(app, texting):
    with app.test_request_context():
        user = db.session.get(User, texting["id"])
        device = db.session.scalar(select(Device).where(Device.kind == "sms"))
        assert "sms" not in second_factor.allowed_kinds(second_factor.SIGNING)
        assert "voice" not in second_factor.allowed_kinds(second_factor.SIGNING)
        assert {"totp", "push"} <= set(second_factor.allowed_kinds(second_factor.SIGNING))
        assert "sms" in second_factor.allowed_kinds("sign_in")
        assert [m.slug for m in second_factor.available_methods(user, second_factor.SIGNING)] == ["code-generator"]
        outcome = second_factor.check_code(user, device, "123456", second_factor.SIGNING)
        assert not outcome.ok and "cannot be used to sign controlled-substance prescriptions" in outcome.message
        assert db.session.get(User, texting["id"]).otp_failures == 0  # refused, not counted
        app.config["PORTAL_EPCS_ALLOW_SMS"] = True
        assert "sms" in second_factor.allowed_kinds(second_factor.SIGNING)
        assert "text" in [m.slug for m in second_factor.available_methods(user, second_factor.SIGNING)]


def test_at_sign_in_a_failing_sender_says_to_try_another_method(app, client, texting):
    app.config.update(PORTAL_SMS_BACKEND="http", PORTAL_SMS_URL="http://127.0.0.1:9/unreachable")
    sign_in(client, texting["username"])
    r = client.post("/login/verify/text", data={"send": "voice", "device": _device_id(app, "My cell")})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f"We could not call {MASKED} just now. Try again in a moment, or choose another method." in page
    assert "Receive authentication code via phone" in page  # still at Text me / Call me: nothing was sent
    assert "Go back" in page


def test_a_locked_second_factor_sends_no_codes(app, client, texting):
    with app.app_context():
        db.session.execute(User.__table__.update().values(otp_failures=20))
        db.session.commit()
    sign_in(client, texting["username"])
    before = len(messages_to(app, CELL))
    r = client.post("/login/verify/text", data={"send": "sms", "device": _device_id(app, "My cell")})
    assert "Your second factor is locked" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert len(messages_to(app, CELL)) == before
