"""Lost-device recovery (article 004): Lost your device? → the e-mailed link (30 minutes, once) →
identity (name, date of birth, SSN last four; 5 wrong answers lock it for 24 hours and tell the
admins) → a code generator by QR or key → its name → the portal password → the new device is
active, the others are suspended for review, and the user signs in with the new device."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Device, LoginSession, User
from tests.conftest import PASSWORD, complete_sign_in, read_secret_key, setup_code_generator, sign_in
from tests.mail_helpers import mails
from tests.otp_reference import totp_now
from tests.recovery_helpers import DOB, IDENTITY, SSN, ask_for_link, open_link, recover

EMAIL = "ana.rivera@clinic.example"


@pytest.fixture
def lost(app, make_user, clock):
    """Dr. Ana Rivera, with one code generator ("Old iPhone") she has now lost, signed in on her
    old computer; and the practice admin."""
    user_id, _ = make_user("dr.rivera", name="Ana Rivera", email=EMAIL, dob=DOB, ssn_last4=SSN)
    make_user("admin", role="admin", name="Morgan Lee", email="morgan.lee@clinic.example")
    old = app.test_client()
    sign_in(old, "dr.rivera")
    secret = setup_code_generator(old, clock, "Old iPhone")
    clock.advance(30)
    return {"id": user_id, "old_client": old, "old_secret": secret}


def devices(app, user_id):
    with app.app_context():
        rows = list(db.session.scalars(select(Device).where(Device.user_id == user_id).order_by(Device.id)))
        db.session.expunge_all()
        return {d.name: d for d in rows}


def actions(app, user_id):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == user_id)
                                       .order_by(AuditEvent.id)))


def user(app, user_id) -> User:
    with app.app_context():
        row = db.session.get(User, user_id)
        db.session.expunge(row)
        return row


def test_a_provider_with_a_lost_phone_recovers_and_signs_in_with_the_new_device(app, client, lost, clock):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/login/lost"' in page and "Lost your device?" in page
    secret = recover(client, app, clock, EMAIL)
    done = client.get("/recover/done").get_data(as_text=True)
    assert "New iPhone is active" in done and "Sign in" in done

    found = devices(app, lost["id"])
    assert found["New iPhone"].status == "active" and found["New iPhone"].is_primary
    assert found["Old iPhone"].status == "suspended" and not found["Old iPhone"].is_primary
    assert lost["old_client"].get("/security").status_code == 302  # every earlier sign-in ended
    assert client.get("/security").status_code == 302  # and this browser is signed out too

    expected = ["recovery_requested", "recovery_link_used", "recovery_identity_verified", "device_added",
                "device_suspended", "recovery_completed"]
    got = actions(app, lost["id"])
    assert got[got.index("recovery_requested"):] == expected
    notice = mails(app, EMAIL, "Was this you?")[-1].body
    assert "recovered with a new device" in notice and "suspended for your review" in notice

    # signing in: the suspended old phone is not offered; the new one works
    sign_in(client, "dr.rivera")
    page = client.get("/login/verify/code-generator").get_data(as_text=True)
    assert "New iPhone" in page and "Old iPhone" not in page
    clock.advance(30)
    r = complete_sign_in(client, secret, clock)
    assert r.status_code == 302 and r.headers["Location"].endswith("/security")
    security = client.get("/security").get_data(as_text=True)
    assert "Suspended" in security and 'aria-label="Keep Old iPhone"' in security


def test_suspended_devices_are_kept_or_removed_on_sign_in_and_security(app, client, lost, clock):
    secret = recover(client, app, clock, EMAIL)
    sign_in(client, "dr.rivera")
    clock.advance(30)
    complete_sign_in(client, secret, clock)
    old = devices(app, lost["id"])["Old iPhone"]
    clock.advance(60 * 6)  # the step-up window has passed: Keep asks for a second factor first
    r = client.post(f"/security/devices/{old.id}/keep")
    assert "/verify" in r.headers["Location"] and devices(app, lost["id"])["Old iPhone"].status == "suspended"
    clock.advance(30)
    client.post("/verify/code-generator", data={"code": totp_now(secret, clock.now)})
    r = client.post(f"/security/devices/{old.id}/keep")
    assert devices(app, lost["id"])["Old iPhone"].status == "active"
    assert client.post(f"/security/devices/{old.id}/keep").status_code == 302  # a second click: no harm
    assert "device_kept" in actions(app, lost["id"])
    # Remove works on a suspended device as on any other
    new_id = devices(app, lost["id"])["New iPhone"].id
    with app.app_context():
        db.session.get(Device, old.id).status = "suspended"
        db.session.commit()
    client.post(f"/security/devices/{old.id}/remove")
    assert devices(app, lost["id"])["Old iPhone"].status == "removed"
    assert devices(app, lost["id"])["New iPhone"].id == new_id


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, client, lost):
    r = client.post("/login/lost", data={"email": "nobody@clinic.example"})
    assert r.headers["Location"].endswith("/login/lost/sent")
    known = client.post("/login/lost", data={"email": EMAIL.upper()})
    assert known.headers["Location"] == r.headers["Location"]
    answer = client.get("/login/lost/sent").get_data(as_text=True)
    assert "If that address is ours, we sent a link" in answer
    assert mails(app, "nobody@clinic.example") == []
    assert len(mails(app, EMAIL, "Confirm your e-mail")) == 1  # any case of the address


def test_a_malformed_address_is_a_message_on_the_field(client, lost):
    page = client.post("/login/lost", data={"email": "ana at clinic"}).get_data(as_text=True)
    assert "Enter an e-mail address like name@example.com." in page and 'value="ana at clinic"' in page


def test_the_link_expires_and_works_once(app, client, lost, clock):
    path = ask_for_link(client, app, EMAIL)
    assert client.get(path).status_code == 200  # opening it uses nothing (mail scanners open links)
    assert client.get(path).status_code == 200
    clock.advance(31 * 60)
    r = client.get(path)
    assert r.status_code == 410 and "expired or was already used" in r.get_data(as_text=True)
    assert client.post(path).status_code == 410
    fresh = ask_for_link(client, app, EMAIL)
    assert client.post(fresh).headers["Location"].endswith("/recover/identity")
    other = app.test_client()
    assert other.post(fresh).status_code == 410  # used
    assert other.get("/recover/not-a-token").status_code == 404


def test_a_new_link_replaces_the_one_before(app, client, lost):
    first = ask_for_link(client, app, EMAIL)
    second = ask_for_link(client, app, EMAIL)
    assert client.post(first).status_code == 410
    assert client.post(second).status_code == 302


def test_only_the_hash_of_the_link_is_kept(app, client, lost):
    from portal.models import OneTimeLink

    path = ask_for_link(client, app, EMAIL)
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalar(select(OneTimeLink.token_hash))
    assert token not in stored and len(stored) == 64


@pytest.mark.parametrize("field, value, message", [
    ("dob", "12/04/1978", "Enter the date as YYYY-MM-DD"),
    ("ssn_last4", "48a1", "Enter exactly four digits."),
    ("ssn_last4", "４８２１", "Enter exactly four digits."),
    ("first_name", "", "Enter your first name."),
])
def test_malformed_answers_get_a_message_on_the_field_and_are_not_counted(app, client, lost, field, value, message):
    open_link(client, ask_for_link(client, app, EMAIL))
    page = client.post("/recover/identity", data={**IDENTITY, field: value}).get_data(as_text=True)
    assert message in page
    assert 'value="Rivera"' in page or field == "last_name"  # what was typed stays
    assert SSN not in page  # never the SSN digits
    assert user(app, lost["id"]).recovery_failures == 0


@pytest.mark.parametrize("wrong", [{"first_name": "Anna"}, {"last_name": "Rivers"}, {"dob": "1978-04-13"},
                                   {"ssn_last4": "4822"}])
def test_a_wrong_answer_counts_and_does_not_say_which(app, client, lost, wrong):
    open_link(client, ask_for_link(client, app, EMAIL))
    page = client.post("/recover/identity", data={**IDENTITY, **wrong}).get_data(as_text=True)
    assert "These details do not match our records. Check each one and try again." in page
    for word in ("first name is", "last name is", "date of birth is", "SSN is"):
        assert word not in page
    assert user(app, lost["id"]).recovery_failures == 1


def test_names_are_the_first_and_last_words_in_any_case(app, client, make_user, clock):
    make_user("dr.maria", name="Ana  Maria de la Rivera", email="maria@clinic.example", dob=DOB, ssn_last4=SSN)
    open_link(client, ask_for_link(client, app, "maria@clinic.example"))
    r = client.post("/recover/identity", data={**IDENTITY, "first_name": " ana ", "last_name": "RIVERA"})
    assert r.headers["Location"].endswith("/recover/scan")


def test_five_wrong_answers_lock_recovery_for_a_day_and_tell_the_admins(app, client, lost, clock):
    open_link(client, ask_for_link(client, app, EMAIL))
    for _ in range(4):
        client.post("/recover/identity", data={**IDENTITY, "ssn_last4": "0000"})
    r = client.post("/recover/identity", data={**IDENTITY, "ssn_last4": "0000"})
    assert r.status_code == 403 and "Recovery is locked" in r.get_data(as_text=True)
    assert client.get("/recover/identity").headers["Location"].endswith("/login/lost")  # the session ended
    assert "recovery_locked" in actions(app, lost["id"])
    alert = mails(app, "morgan.lee@clinic.example", "for the admins")[-1].body
    assert "Ana Rivera (dr.rivera)" in alert and "locked" in alert

    # while locked: the same answer on the page, and an e-mail that says so instead of a link
    assert ask_for_link(client, app, EMAIL) is None
    assert "recovery is locked" in mails(app, EMAIL, "recovery request")[-1].body

    clock.advance(24 * 3600 + 60)
    path = ask_for_link(client, app, EMAIL)
    assert path is not None
    open_link(client, path)
    assert client.post("/recover/identity", data=IDENTITY).headers["Location"].endswith("/recover/scan")


def test_an_admin_unlock_lifts_the_recovery_lock(app, client, lost, runner):
    with app.app_context():
        db.session.get(User, lost["id"]).recovery_locked_until = app.config["CLOCK"]().replace(year=2999)
        db.session.commit()
    assert ask_for_link(client, app, EMAIL) is None
    result = runner.invoke(args=["unlock", "dr.rivera", "--reason", "identity checked in person"])
    assert result.exit_code == 0 and "Recovery until" in result.output
    assert ask_for_link(client, app, EMAIL) is not None


def test_without_identity_details_on_file_the_mail_says_to_ask_the_admin(app, client, make_user):
    make_user("dr.nodetails", email="nodetails@clinic.example")
    assert ask_for_link(client, app, "nodetails@clinic.example") is None
    assert "has not recorded the identity details" in mails(app, "nodetails@clinic.example")[-1].body


def test_a_recovering_session_opens_only_the_recovery(app, client, lost, clock):
    open_link(client, ask_for_link(client, app, EMAIL))
    for path in ("/security", "/epcs", "/pin/reset", "/security/code-generator", "/clinic", "/login"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/recover"), path
    assert client.get("/recover").headers["Location"].endswith("/recover/identity")
    # jumping ahead goes back to where the recovery stands
    assert client.get("/recover/password").headers["Location"].endswith("/recover/identity")
    page = client.get("/recover/identity").get_data(as_text=True)
    assert "Step 2 of 6 · Verify your identity" in page and "Cancel recovery" in page
    assert "Sign In &amp; Security" not in page  # no way into the portal from here
    client.post("/logout")  # Cancel recovery
    assert client.get("/recover/identity").headers["Location"].endswith("/login/lost")


def test_a_wrong_password_at_the_end_is_a_message_and_counts(app, client, lost, clock):
    open_link(client, ask_for_link(client, app, EMAIL))
    client.post("/recover/identity", data=IDENTITY)
    secret = read_secret_key(client.get("/recover/scan").get_data(as_text=True))
    client.post("/recover/scan")
    client.post("/recover/confirm", data={"code": totp_now(secret, clock.now)})
    client.post("/recover/name", data={"name": "Old iPhone"})  # taken by the suspended-to-be device
    page = client.post("/recover/name", data={"name": "old iphone"}).get_data(as_text=True)
    assert "Name your devices differently" in page
    client.post("/recover/name", data={"name": "New iPhone"})
    page = client.get("/recover/password").get_data(as_text=True)
    assert "Enter your EPCS Portal credentials" in page and "New iPhone" in page and secret not in page
    page = client.post("/recover/password", data={"password": "not my password"}).get_data(as_text=True)
    assert "That password is not right." in page
    assert user(app, lost["id"]).password_failures == 1
    assert devices(app, lost["id"])["Old iPhone"].status == "active"  # nothing done yet
    r = client.post("/recover/password", data={"password": PASSWORD})
    assert r.headers["Location"].endswith("/recover/done")
    again = client.post("/recover/password", data={"password": PASSWORD})  # a second click
    assert again.headers["Location"].endswith("/recover/done")
    assert len([d for d in devices(app, lost["id"]).values() if d.status == "active"]) == 1


def test_start_over_with_a_new_qr_code_keeps_the_identity_check(app, client, lost, clock):
    open_link(client, ask_for_link(client, app, EMAIL))
    client.post("/recover/identity", data=IDENTITY)
    first = read_secret_key(client.get("/recover/scan").get_data(as_text=True))
    client.post("/recover/scan")
    assert client.get("/recover/scan").headers["Location"].endswith("/recover/confirm")  # the key is shown once
    r = client.post("/recover/restart")
    assert r.headers["Location"].endswith("/recover/scan")
    second = read_secret_key(client.get("/recover/scan").get_data(as_text=True))
    assert second != first


def test_recovery_lifts_the_second_factor_lock(app, client, lost, clock):
    with app.app_context():
        db.session.get(User, lost["id"]).otp_failures = 20
        db.session.commit()
    recover(client, app, clock, EMAIL)
    assert user(app, lost["id"]).otp_failures == 0


def test_the_recovering_session_is_not_a_sign_in(app, client, lost, clock):
    open_link(client, ask_for_link(client, app, EMAIL))
    with app.app_context():
        stages = list(db.session.scalars(select(LoginSession.stage).where(LoginSession.user_id == lost["id"])
                                         .order_by(LoginSession.id)))
        assert stages[-1] == "recovering"
    assert user(app, lost["id"]).last_sign_in_at is not None  # from the old computer, unchanged by the link
