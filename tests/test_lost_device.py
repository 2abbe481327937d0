"""Report lost device on Sign In & Security: the device stops working at once (no step-up: it only
takes rights away), the admins are told, and with nothing left the user is pointed to recovery —
a password alone no longer sets up a new device."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Device, HardwareToken, User
from tests.conftest import complete_sign_in, setup_code_generator, sign_in
from tests.mail_helpers import mails


def device_named(app, user_id, name) -> Device:
    with app.app_context():
        row = db.session.scalar(select(Device).where(Device.user_id == user_id, Device.name == name))
        db.session.expunge(row)
        return row


def test_reporting_one_of_two_devices_lost(app, client, provider, make_user, clock):
    make_user("admin", role="admin", email="admin@clinic.example")
    setup_code_generator(client, clock, "Office iPad")
    phone = device_named(app, provider["id"], "My iPhone")
    clock.advance(60 * 10)  # no fresh second factor: none is needed to report a loss
    page = client.get(f"/security/devices/{phone.id}/lost").get_data(as_text=True)
    assert "Report My iPhone lost?" in page and "Report lost device" in page
    r = client.post(f"/security/devices/{phone.id}/lost")
    assert r.headers["Location"].endswith("/security")
    assert "My iPhone is reported lost" in client.get("/security").get_data(as_text=True)
    assert device_named(app, provider["id"], "My iPhone").status == "removed"
    assert device_named(app, provider["id"], "Office iPad").is_primary  # the primary moved
    alert = mails(app, "admin@clinic.example", "for the admins")[-1].body
    assert "A device was reported lost" in alert and "My iPhone" in alert
    notice = mails(app, "dr.test@example.test", "Was this you?")[-1].body
    assert "A device was reported lost" in notice
    # a second click, and the lost phone's code, change nothing
    assert client.post(f"/security/devices/{phone.id}/lost").headers["Location"].endswith("/security")
    client.post("/logout")
    sign_in(client, provider["username"])
    clock.advance(30)
    assert complete_sign_in(client, provider["secret"], clock, device_id=phone.id).status_code == 200


def test_reporting_the_last_device_lost_signs_out_and_points_to_recovery(app, client, provider, clock):
    other = app.test_client()
    sign_in(other, provider["username"])
    clock.advance(30)
    complete_sign_in(other, provider["secret"], clock)
    phone = device_named(app, provider["id"], "My iPhone")
    page = client.get(f"/security/devices/{phone.id}/lost").get_data(as_text=True)
    assert "This is your last device" in page
    r = client.post(f"/security/devices/{phone.id}/lost")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Lost your device?" in page and 'href="/login/lost"' in page
    assert client.get("/security").status_code == 302 and other.get("/security").status_code == 302
    # the password alone no longer sets up a new device
    r = sign_in(client, provider["username"])
    assert r.status_code == 200 and "Your last device was reported lost" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, provider["id"]).recovery_required_at is not None


def test_a_lost_hardware_token_is_revoked_not_returned_to_the_inventory(app, client, provider, clock):
    with app.app_context():
        user = db.session.get(User, provider["id"])
        db.session.add(HardwareToken(serial="GALH00000009", seed=app.extensions["vault"].seal(b"1" * 20),
                                     kind="hotp", user_id=user.id, status="active", imported_at=clock.now,
                                     assigned_at=clock.now))
        db.session.add(Device(user_id=user.id, kind="hardware", name="GALH00000009", name_key="galh00000009",
                              token_serial="GALH00000009", status="active", added_at=clock.now))
        db.session.commit()
    token_device = device_named(app, provider["id"], "GALH00000009")
    client.post(f"/security/devices/{token_device.id}/lost")
    with app.app_context():
        token = db.session.scalar(select(HardwareToken).where(HardwareToken.serial == "GALH00000009"))
        assert token.status == "revoked"
        assert db.session.get(Device, token_device.id).status == "removed"
        assert "device_reported_lost" in db.session.scalars(select(AuditEvent.action)).all()


def test_someone_elses_device_is_404(app, client, provider, make_user, clock):
    stranger = app.test_client()
    make_user("dr.other")
    sign_in(stranger, "dr.other")
    setup_code_generator(stranger, clock, "Other phone")
    phone = device_named(app, provider["id"], "My iPhone")
    assert stranger.get(f"/security/devices/{phone.id}/lost").status_code == 404
    assert stranger.post(f"/security/devices/{phone.id}/lost").status_code == 404
    assert stranger.post(f"/security/devices/{phone.id}/keep").status_code == 404
    assert device_named(app, provider["id"], "My iPhone").status == "active"
