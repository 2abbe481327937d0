"""Users (/admin/users): create (the password chosen through an e-mailed one-time link), Reset
password (a one-time link), deactivate and reactivate, Unlock with a written reason."""

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.conftest import PASSWORD, complete_sign_in, sign_in
from tests.epcs_helpers import next_code, signed_in
from tests.mail_helpers import link_in, mails


@pytest.fixture
def admin(app, make_user, clock):
    client, admin_id, secret = signed_in(app, make_user, clock, "admin.a", role="admin", name="Avery Admin")
    return {"client": client, "id": admin_id, "secret": secret}


def user_row(app, username) -> User | None:
    with app.app_context():
        row = db.session.scalar(select(User).where(User.username == username))
        if row is not None:
            db.session.expunge(row)
        return row


def events(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)))


NEW = {"name": "Dana Doctor", "username": "dr.dana", "email": "dana@clinic.example", "role": "provider",
       "dea": "BR1234563", "dob": "1980-02-03", "ssn_last4": "1234"}


def test_create_a_user_who_chooses_a_password_by_the_emailed_link(app, admin, clock):
    client = admin["client"]
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert "Create user" in page and "Last four digits of the SSN" in page
    r = client.post("/admin/users/new", data=NEW)
    assert r.headers["Location"].endswith("/admin/users")
    dana = user_row(app, "dr.dana")
    assert dana.role == "provider" and dana.dea_number == "BR1234563"
    assert dana.dob_hash and "1980" not in dana.dob_hash and dana.ssn_last4_hash != "1234"
    assert events(app, "user_created")[-1] == "provider dr.dana by admin.a"
    path = link_in(mails(app, "dana@clinic.example", "Choose your EPCS Portal password")[-1].body)
    newcomer = app.test_client()
    assert sign_in(newcomer, "dr.dana", "anything at all").status_code == 200  # no usable password yet
    page = newcomer.get(path).get_data(as_text=True)
    assert "Choose your password" in page and "dr.dana" in page
    page = newcomer.post(path, data={"password": "short", "confirm": "short"}).get_data(as_text=True)
    assert "Use at least 12 characters." in page
    page = newcomer.post(path, data={"password": PASSWORD, "confirm": PASSWORD + "x"}).get_data(as_text=True)
    assert "The two passwords differ" in page
    r = newcomer.post(path, data={"password": PASSWORD, "confirm": PASSWORD})
    assert r.headers["Location"].endswith("/login")
    assert newcomer.get(path).status_code == 410  # once
    r = sign_in(newcomer, "dr.dana")
    assert r.headers["Location"].endswith("/security/first-device")  # a new provider sets up a device first


def test_bad_input_is_a_message_on_the_field_and_the_rest_is_kept(app, admin):
    page = admin["client"].post("/admin/users/new", data={**NEW, "username": "admin.a", "dea": "BR1234564",
                                                          "ssn_last4": "12"}).get_data(as_text=True)
    assert "This username is taken." in page and "check digit is wrong" in page
    assert "Enter exactly four digits." in page
    assert 'value="Dana Doctor"' in page and 'value="dana@clinic.example"' in page
    assert re.search(r'<input[^>]*name="ssn_last4"[^>]*>', page) and not re.search(
        r'<input[^>]*name="ssn_last4"[^>]*value="[^"]', page)  # never the SSN digits
    assert user_row(app, "dr.dana") is None


def test_creating_needs_a_fresh_second_factor(app, admin, clock):
    clock.advance(6 * 60)
    r = admin["client"].get("/admin/users/new")
    assert "/verify" in r.headers["Location"]
    assert admin["client"].post("/admin/users/new", data=NEW).status_code == 302
    assert user_row(app, "dr.dana") is None
    admin["client"].post("/verify/code-generator", data={"code": next_code(clock, admin["secret"])})
    assert admin["client"].get("/admin/users/new").status_code == 200


def test_reset_password_sends_a_one_time_link(app, admin, provider, client, clock):
    doctor = user_row(app, provider["username"])
    admin["client"].post(f"/admin/users/{doctor.id}/password")
    path = link_in(mails(app, "dr.test@example.test", "Choose your EPCS Portal password")[-1].body)
    assert events(app, "password_link_sent")
    fresh = app.test_client()
    fresh.post(path, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert client.get("/security").status_code == 302  # every sign-in ended
    assert sign_in(fresh, provider["username"]).status_code == 200  # the old password is gone
    r = sign_in(fresh, provider["username"], "a brand new passphrase")
    assert r.headers["Location"].endswith("/login/verify")
    clock.advance(30)
    assert complete_sign_in(fresh, provider["secret"], clock).status_code == 302


def test_a_password_link_expires(app, admin, provider, clock):
    doctor = user_row(app, provider["username"])
    admin["client"].post(f"/admin/users/{doctor.id}/password")
    path = link_in(mails(app, "dr.test@example.test", "Choose your EPCS Portal password")[-1].body)
    clock.advance(61 * 60)
    assert app.test_client().get(path).status_code == 410


def test_deactivate_ends_every_sign_in_and_reactivate_needs_a_fresh_factor(app, admin, provider, client, clock):
    doctor = user_row(app, provider["username"])
    clock.advance(6 * 60)  # deactivating needs no step-up
    admin["client"].post(f"/admin/users/{doctor.id}/deactivate")
    assert not user_row(app, provider["username"]).is_active_user
    assert client.get("/security").status_code == 302
    assert sign_in(app.test_client(), provider["username"]).status_code == 200  # refused like a wrong password
    r = admin["client"].post(f"/admin/users/{doctor.id}/reactivate")
    assert "/verify" in r.headers["Location"] and not user_row(app, provider["username"]).is_active_user
    admin["client"].post("/verify/code-generator", data={"code": next_code(clock, admin["secret"])})
    admin["client"].post(f"/admin/users/{doctor.id}/reactivate")
    assert user_row(app, provider["username"]).is_active_user


def test_unlock_needs_a_reason_and_lifts_every_lock(app, admin, provider):
    with app.app_context():
        doctor = db.session.scalar(select(User).where(User.username == provider["username"]))
        doctor.otp_failures = 20
        doctor.pin_failures = 5
        db.session.commit()
        doctor_id = doctor.id
    users_page = admin["client"].get("/admin/users").get_data(as_text=True)
    assert "Second factor" in users_page and f'href="/admin/users/{doctor_id}/unlock"' in users_page
    page = admin["client"].get(f"/admin/users/{doctor_id}/unlock").get_data(as_text=True)
    assert "Second factor" in page and "Reason" in page
    for reason in ("", "   "):
        page = admin["client"].post(f"/admin/users/{doctor_id}/unlock", data={"reason": reason}).get_data(as_text=True)
        assert "Write why you unlock this account" in page
    assert user_row(app, provider["username"]).otp_failures == 20
    r = admin["client"].post(f"/admin/users/{doctor_id}/unlock", data={"reason": "Called the help desk"})
    assert r.headers["Location"].endswith("/admin/users")
    row = user_row(app, provider["username"])
    assert row.otp_failures == 0 and row.pin_failures == 0
    [detail] = events(app, "unlocked")
    assert detail.startswith("admin admin.a: Called the help desk (lifted: Second factor")


def test_the_cli_refuses_an_empty_reason(runner, provider):
    result = runner.invoke(args=["unlock", provider["username"], "--reason", " "])
    assert result.exit_code != 0 and "Write why" in result.output


def test_an_admin_does_not_act_on_themselves(app, admin):
    client = admin["client"]
    assert client.get(f"/admin/users/{admin['id']}/unlock").headers["Location"].endswith("/admin/users")
    client.post(f"/admin/users/{admin['id']}/deactivate")
    assert user_row(app, "admin.a").is_active_user
    assert "Another admin does this for you." in client.get("/admin/users").get_data(as_text=True)


@pytest.mark.parametrize("role", ["provider", "staff", "trainer"])
def test_users_pages_need_admin_rights(app, make_user, clock, role, admin):
    client, _, _ = signed_in(app, make_user, clock, f"{role}.x", role=role)
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{admin['id']}/unlock", "/admin/audit",
                 "/admin/audit/export.csv", "/admin/audit/report"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/admin/users/{admin['id']}/deactivate").status_code == 403
    assert user_row(app, "admin.a").is_active_user


def test_unknown_user_ids_are_404(admin):
    for path in ("/admin/users/999999/unlock",):
        assert admin["client"].get(path).status_code == 404
    assert admin["client"].post("/admin/users/999999/password").status_code == 404
