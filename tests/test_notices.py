""""Was this you?": every device, token, PIN and permission change is e-mailed to its user, from one
hook (notices.py) on the audit events a request commits — one e-mail per request and person."""

from sqlalchemy import select

from portal import notices
from portal.extensions import db
from portal.models import Device
from tests.conftest import setup_code_generator
from tests.epcs_helpers import create_pin, signed_in
from tests.mail_helpers import mails

ADDRESS = "dr.test@example.test"


def test_device_changes_are_mailed_to_their_user(app, client, provider, clock):
    first = mails(app, ADDRESS, "Was this you?")
    assert len(first) == 1 and "A device was added" in first[0].body and "My iPhone" in first[0].body
    assert "Report lost" not in first[0].body and "Lost your device?" in first[0].body
    setup_code_generator(client, clock, "Office iPad", make_primary=True)
    assert "'Office iPad' (primary)" in mails(app, ADDRESS, "Was this you?")[-1].body
    with app.app_context():
        ipad = db.session.scalar(select(Device.id).where(Device.name == "Office iPad"))
    client.post(f"/security/devices/{ipad}/remove")
    body = mails(app, ADDRESS, "Was this you?")[-1].body
    # one request made two changes (removed, and the primary moved): one e-mail with both
    assert "A device was removed" in body and "Your primary device changed" in body
    setup_code_generator(client, clock, "Office iPad")
    with app.app_context():
        ipad = db.session.scalar(select(Device.id).where(Device.name == "Office iPad", Device.status == "active"))
    client.post(f"/security/devices/{ipad}/rename", data={"name": "Work iPad"})
    assert "A device was renamed" in mails(app, ADDRESS, "Was this you?")[-1].body
    client.post(f"/security/devices/{ipad}/remove")
    assert "A device was removed" in mails(app, ADDRESS, "Was this you?")[-1].body
    assert len(mails(app, ADDRESS, "Was this you?")) == 6


def test_pin_and_permission_changes_are_mailed(app, make_user, clock):
    client, user_id, secret = signed_in(app, make_user, clock, "dr.pin", dea="BR1234563")
    create_pin(client, clock, secret)
    assert "Your EPCS PIN was created" in mails(app, "dr.pin@example.test", "Was this you?")[-1].body
    admin, admin_id, _ = signed_in(app, make_user, clock, "admin.a", role="admin")
    with app.app_context():
        from portal.models import User

        db.session.get(User, user_id).identity_verified_at = clock.now
        db.session.get(User, user_id).identity_verified_by_id = admin_id
        db.session.commit()
    admin.post(f"/admin/epcs/{user_id}/grant")
    assert "EPCS permission was granted" in mails(app, "dr.pin@example.test", "Was this you?")[-1].body


def test_sign_ins_and_failures_send_nothing(app, client, provider, clock):
    before = len(mails(app))
    client.post("/logout")
    client.post("/login", data={"username": provider["username"], "password": "wrong password!"})
    assert len(mails(app)) == before


def test_a_change_that_was_rolled_back_sends_nothing(app, client, provider):
    """Only committed events count: one the request rolled back is not in the database."""
    from portal import audit
    from portal.clock import now

    with app.test_request_context("/"):
        audit.record(db.session, "device_added", at=now(), subject_id=provider["id"], detail="never happened")
        db.session.rollback()
        before = len(mails(app))
        notices.send_for_committed()
        assert len(mails(app)) == before


def test_a_mail_server_that_is_down_costs_the_notice_not_the_change(app, client, provider, clock, monkeypatch):
    from portal import messaging

    def refuse(message):
        raise messaging.SendError("down")

    monkeypatch.setitem(messaging.BACKENDS, (True, "outbox"), refuse)
    setup_code_generator(client, clock, "Office iPad")
    with app.app_context():
        assert db.session.scalar(select(Device.id).where(Device.name == "Office iPad")) is not None
