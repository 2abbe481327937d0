"""Helpers for the EPCS tests that read like the articles: create a PIN, compose, sign and send."""

import re

from portal.extensions import db
from portal.models import EpcsPermission, User
from tests.conftest import setup_code_generator, sign_in
from tests.otp_reference import totp_now

DEA = {"dr.rx": "BR1234563", "dr.registrant": "BC7654329", "dr.other": "AB1234563"}
PIN = "2580"
ORDER = {"patient_name": "Jane Q. Patient", "patient_dob": "1961-07-04", "drug": "Oxycodone and acetaminophen",
         "strength": "5 mg/325 mg tablet", "schedule": "II", "quantity": "20",
         "directions": "1 tablet by mouth every 6 hours as needed for pain"}


def signed_in(app, make_user, clock, username: str, device: str = "My iPhone", **kw):
    """A new user, signed in on a client of their own, with one code generator: (client, id, secret)."""
    user_id, _ = make_user(username, **kw)
    client = app.test_client()
    sign_in(client, username)
    secret = setup_code_generator(client, clock, device)
    return client, user_id, secret


def next_code(clock, secret: str) -> str:
    """The code of the next time step: each step's code is accepted once."""
    clock.advance(30)
    return totp_now(secret, clock.now)


def device_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'name="device"[^>]*value="(\d+)"', page)]


def validate_passcode(client, clock, secret: str, mode: str = "create", code: str | None = None):
    """Step 1: Select Setup with the first (primary) device, then Submit 2FA Code."""
    page = client.get(f"/pin/{mode}").get_data(as_text=True)
    device = re.search(r'<option[^>]*value="(\d+)"', page).group(1)
    client.get(f"/pin/{mode}", query_string={"device": device})
    return client.post(f"/pin/{mode}", data={"device": device, "code": code or next_code(clock, secret)})


def save_pin(client, pin: str = PIN, confirm: str | None = None, mode: str = "create"):
    return client.post(f"/pin/{mode}/new", data={"pin": pin, "confirm": pin if confirm is None else confirm})


def create_pin(client, clock, secret: str, pin: str = PIN, mode: str = "create"):
    r = validate_passcode(client, clock, secret, mode)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/pin/{mode}/new"), r.get_data(as_text=True)
    r = save_pin(client, pin, mode=mode)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/pin/{mode}/done"), r.get_data(as_text=True)
    return r


def grant_directly(app, provider_id: int, granter_id: int, approver_id: int, *, attested_by: int | None = None):
    """Fixture set-up for signing tests (the admin pages have their own tests): identity attested
    and an active permission."""
    with app.app_context():
        clock = app.config["CLOCK"]
        user = db.session.get(User, provider_id)
        user.identity_verified_at = clock()
        user.identity_verified_by_id = attested_by or granter_id
        db.session.add(EpcsPermission(provider_id=provider_id, status="active", granted_by_id=granter_id,
                                      granted_at=clock(), approved_by_id=approver_id, approved_at=clock()))
        db.session.commit()


def compose(client, **changes):
    return client.post("/epcs/compose", data={**ORDER, **changes})


def sign_and_send(client, clock, secret: str, pin: str = PIN, code: str | None = None, device: int | None = None):
    data = {"pin": pin, "code": code or next_code(clock, secret)}
    if device is not None:
        data["device"] = str(device)
    else:
        ids = device_ids(client.get("/epcs/transmit").get_data(as_text=True))
        data["device"] = str(ids[0]) if ids else ""
    return client.post("/epcs/transmit", data=data)
