"""EPCS Device Management (/tokens) and using a hardware token, as the article walks it: Authenticate,
Add Token (serial and two consecutive codes), Token Status: Active; sign in with the token; Resync token.
Codes come from the seed file through tests/otp_reference.py, never from portal.otp."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Device, HardwareToken, User
from tests.conftest import complete_sign_in, setup_code_generator, sign_in
from tests.otp_reference import rfc4226_hotp, rfc6238_step, totp_now

DATA = Path(__file__).parent / "data"
SEED = b"12345678901234567890"  # RFC 4226's test seed: GALH00000001 (CSV) and GALH12345678 (PSKC)
TOTP8_SEED = b"12345678901234567890123456789012"  # GALH00000002: TOTP, 8 digits, 30 s
UNKNOWN = "We do not recognise that serial number."


def hotp(counter: int, digits: int = 6) -> str:
    return rfc4226_hotp(SEED, counter, digits)


@pytest.fixture
def inventory(runner):
    for name in ("tokens.csv", "gal_tokens.pskcxml"):
        r = runner.invoke(args=["tokens", "import", str(DATA / name)])
        assert r.exit_code == 0, r.output


def token(app, serial: str) -> HardwareToken:
    with app.app_context():
        row = db.session.scalar(select(HardwareToken).where(HardwareToken.serial == serial))
        db.session.expunge_all()
        return row


def hardware_devices(app, user_id: int) -> list[Device]:
    with app.app_context():
        rows = db.session.scalars(select(Device).where(Device.user_id == user_id, Device.kind == "hardware")).all()
        db.session.expunge_all()
        return list(rows)


def failures(app, user_id: int) -> int:
    with app.app_context():
        return db.session.get(User, user_id).otp_failures


def authenticate(client, provider, clock):
    """Manage Phones → Authenticate with a fresh code from the provider's code generator."""
    r = client.get("/tokens/authenticate")
    assert r.status_code == 302
    clock.advance(30)
    r = client.post(r.headers["Location"], data={"code": totp_now(provider["secret"], clock.now)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/tokens"), r.get_data(as_text=True)


def add_token(client, serial: str, first: str, second: str):
    return client.post("/tokens/add", data={"serial": serial, "first": first, "second": second})


def error_of(page: str) -> str:
    match = re.search(r'class="field__error"[^>]*>([^<]*)<', page)
    return match.group(1) if match else ""


def sign_in_with_token(client, username: str, code: str):
    sign_in(client, username)
    return client.post("/login/verify/hardware-token", data={"code": code})


@pytest.fixture
def synced(client, provider, clock, inventory, app):
    """The provider's GALH00000001, pressed to 500: synced with the codes at counters 500 and 501."""
    authenticate(client, provider, clock)
    r = add_token(client, "galh 0000 0001", hotp(500), hotp(501))
    assert r.status_code == 302, r.get_data(as_text=True)
    return {**provider, "status_url": r.headers["Location"]}


def test_the_page_follows_the_article(client, provider):
    page = client.get("/tokens").get_data(as_text=True)
    for words in ("EPCS Device Management", "Manage Phones", "Authenticate", "Manage Token", "Add Token"):
        assert words in page
    # Sign In & Security sends its Hardware Token "Set Up" here
    assert 'href="/tokens"' in client.get("/security").get_data(as_text=True)


def test_add_token_needs_authenticate_first(client, provider, clock, inventory):
    clock.advance(6 * 60)  # the set-up's second factor is older than the step-up window
    r = client.get("/tokens/add")
    assert r.status_code == 302 and r.headers["Location"].endswith("/tokens/authenticate")
    r = add_token(client, "GALH00000001", hotp(500), hotp(501))
    assert r.status_code == 302 and r.headers["Location"].endswith("/tokens/authenticate")
    assert token(client.application, "GALH00000001").status == "unassigned"
    authenticate(client, provider, clock)
    page = client.get("/tokens").get_data(as_text=True)
    assert "Authenticated" in page
    page = client.get("/tokens/add").get_data(as_text=True)
    assert "Example Serial Number: GALH12345678" in page
    for label in ("Serial number", "One-Time Password 1", "One-Time Password 2"):
        assert f">{label}</label>" in page


def test_sync_at_500_501_makes_the_token_active(app, client, synced):
    page = client.get(synced["status_url"]).get_data(as_text=True)
    assert "Token Status: Active" in page and ">Cancel</a>" in page
    row = token(app, "GALH00000001")
    assert (row.status, row.user_id, row.counter) == ("active", synced["id"], 502)
    [device] = hardware_devices(app, synced["id"])
    assert (device.name, device.token_serial, device.status, device.is_primary) == \
        ("GALH00000001", "GALH00000001", "active", False)
    security = client.get("/security").get_data(as_text=True)
    assert "GALH00000001" in security.split('id="method-hardware-token"')[1]
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == synced["id"])))
        detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "token_synced"))
    assert "device_added" in actions and "token_synced" in actions
    assert detail == "add_token: hotp token GALH00000001 assigned"
    assert hotp(500) not in detail and SEED.hex() not in security


def test_a_second_click_of_submit_shows_active_again(app, client, synced):
    r = add_token(client, "GALH00000001", hotp(500), hotp(501))
    assert r.status_code == 302 and r.headers["Location"] == synced["status_url"]
    assert "Token Status: Active" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert len(hardware_devices(app, synced["id"])) == 1
    assert token(app, "GALH00000001").counter == 502
    assert failures(app, synced["id"]) == 0


def test_a_new_pair_for_an_active_token_resyncs_it(app, client, synced):
    r = add_token(client, "GALH00000001", hotp(900), hotp(901))
    assert r.status_code == 302 and r.headers["Location"] == synced["status_url"]
    assert token(app, "GALH00000001").counter == 902
    assert len(hardware_devices(app, synced["id"])) == 1
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "token_synced")
                                 .order_by(AuditEvent.id.desc()).limit(1)).endswith("resynced")


def test_sign_in_with_the_token_and_a_replayed_counter_value_is_refused(app, client, synced):
    client.post("/logout")
    sign_in(client, synced["username"])
    assert "Hardware Token" in client.get("/login/verify").get_data(as_text=True)
    r = client.post("/login/verify/hardware-token", data={"code": hotp(502)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/security")
    assert token(app, "GALH00000001").counter == 503
    client.post("/logout")
    r = sign_in_with_token(client, synced["username"], hotp(502))
    assert r.status_code == 200 and "That code was already used" in r.get_data(as_text=True)
    assert token(app, "GALH00000001").counter == 503
    assert failures(app, synced["id"]) == 1
    # the look-ahead: three presses lost, the fourth code signs in
    r = client.post("/login/verify/hardware-token", data={"code": hotp(506)})
    assert r.status_code == 302
    assert token(app, "GALH00000001").counter == 507


def test_resync_at_sign_in_after_50_presses_completes_the_sign_in(app, client, synced):
    client.post("/logout")
    # 50 presses nobody entered (502..551); the 51st code is far past the look-ahead of 10
    r = sign_in_with_token(client, synced["username"], hotp(552))
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Your token is ahead of the portal" in page
    assert 'href="/tokens/sign-in/resync"' in page
    assert client.get("/security").status_code == 302  # not signed in
    form = client.get("/tokens/sign-in/resync").get_data(as_text=True)
    assert "One-Time Password 1" in form and "One-Time Password 2" in form
    r = client.post("/tokens/sign-in/resync", data={"first": hotp(553), "second": hotp(554)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/security")
    assert client.get("/security").status_code == 200
    assert token(app, "GALH00000001").counter == 555
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "sign_in")
                                 .order_by(AuditEvent.id.desc()).limit(1)) == "Hardware Token: GALH00000001 (resynced)"
    # the same pair again at the next sign-in is a replay: refused, never a sign-in
    client.post("/logout")
    sign_in(client, synced["username"])
    r = client.post("/tokens/sign-in/resync", data={"first": hotp(553), "second": hotp(554)})
    assert r.status_code == 200 and "already used" in r.get_data(as_text=True)
    assert client.get("/security").status_code == 302


def test_the_simulator_is_the_token_pressed_50_times(app, client, runner, synced):
    """The simulator models the token's own counter: pressed 500 times (the sync used 500 and 501
    from the seed file), then 50 more that nobody enters, and a resync with the next two."""
    runner.invoke(args=["tokens", "simulate", "GALH00000001", "--press", "502"])
    runner.invoke(args=["tokens", "simulate", "GALH00000001", "--press", "50"])
    assert token(app, "GALH00000001").counter == 502  # the server never moved
    codes = runner.invoke(args=["tokens", "simulate", "GALH00000001", "--press", "2"]).output.split()
    assert codes == [hotp(552), hotp(553)]
    client.post("/logout")
    sign_in(client, synced["username"])
    r = client.post("/tokens/sign-in/resync", data={"first": codes[0], "second": codes[1]})
    assert r.status_code == 302
    assert token(app, "GALH00000001").counter == 554


def test_step_up_with_the_token_and_resync_at_step_up(app, client, synced, clock):
    clock.advance(6 * 60)
    r = client.post("/verify/hardware-token?next=/tokens/add", data={"code": hotp(502)})
    assert r.status_code == 302 and r.headers["Location"] == "/tokens/add"
    clock.advance(6 * 60)
    page = client.get("/verify/hardware-token?next=/tokens/add").get_data(as_text=True)
    assert 'href="/tokens/verify/resync?next=/tokens/add"' in page
    r = client.post("/tokens/verify/resync?next=/tokens/add", data={"first": hotp(700), "second": hotp(701)})
    assert r.status_code == 302 and r.headers["Location"] == "/tokens/add"
    assert client.get("/tokens/add").status_code == 200


def test_resync_on_the_tokens_page(app, client, synced):
    device = hardware_devices(app, synced["id"])[0]
    page = client.get("/tokens").get_data(as_text=True)
    assert f'href="/tokens/{device.id}/resync"' in page and "Resync token" in page
    r = client.post(f"/tokens/{device.id}/resync", data={"first": hotp(600), "second": hotp(601)})
    assert r.status_code == 302 and r.headers["Location"] == synced["status_url"]
    r = client.post(f"/tokens/{device.id}/resync", data={"first": hotp(600), "second": hotp(601)})
    assert r.status_code == 302  # a second click shows the status, never an error
    assert token(app, "GALH00000001").counter == 602
    r = client.post(f"/tokens/{device.id}/resync", data={"first": hotp(595), "second": hotp(596)})
    assert "already used" in error_of(r.get_data(as_text=True))  # behind the counter
    r = client.post(f"/tokens/{device.id}/resync", data={"first": hotp(100), "second": hotp(101)})
    assert "do not match" in error_of(r.get_data(as_text=True))  # far behind: not this token's any more


@pytest.mark.parametrize("serial, first, second, field, message", [
    ("", hotp(500), hotp(501), "serial", "Enter the serial number from the back of your token."),
    ("GALH-0000-0001", hotp(500), hotp(501), "serial", "Use the letters and digits of the serial number"),
    ("GALH99999999", hotp(500), hotp(501), "serial", UNKNOWN),
    ("GALH00000001", hotp(500), hotp(500), "second", "must be a NEW number"),
    ("GALH00000001", hotp(500)[:5], hotp(501), "first", "Enter the 6 or 8 digits your token shows"),
    ("GALH00000001", hotp(500), "１２３４５６", "second", "Enter the 6 or 8 digits your token shows"),
    ("GALH00000001", hotp(500), "", "second", "Enter the code from your device."),
    ("GALH00000001", hotp(500, 8), hotp(501, 8), "first", "Your token shows 6-digit passwords"),
    ("GALH00000001", hotp(500), hotp(502), "first", "These passwords are not consecutive."),
    ("GALH00000001", hotp(501), hotp(500), "first", "These passwords are not consecutive."),
    ("GALH00000001", "123456", "654321", "first", "These passwords do not match this token."),
    ("GALH00000001", hotp(20_000), hotp(20_001), "first", "These passwords do not match this token."),
])
def test_bad_input_gets_a_message_on_the_field_and_changes_nothing(app, client, provider, clock, inventory,
                                                                     serial, first, second, field, message):
    authenticate(client, provider, clock)
    r = add_token(client, serial, first, second)
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert message in error_of(page)
    assert f'id="{field}-error"' in page
    if serial:
        assert f'value="{serial}"' in page  # what was typed stays
    for code in {first, second} - {""}:
        assert f'value="{code}"' not in page  # codes are never written back
    assert token(app, "GALH00000001").status == "unassigned"
    assert hardware_devices(app, provider["id"]) == []


def test_unknown_another_accounts_and_revoked_serials_get_one_message(app, client, make_user, synced, clock, runner):
    other = app.test_client()
    _, username = make_user("dr.other")
    sign_in(other, username)
    secret = setup_code_generator(other, clock, "Other phone")
    authenticate(other, {"secret": secret}, clock)
    pages = [add_token(other, serial, hotp(600), hotp(601)).get_data(as_text=True)
             for serial in ("GALH00000001", "GALH55555555")]  # the provider's token, and no token at all
    with app.app_context():
        db.session.execute(HardwareToken.__table__.update().where(HardwareToken.serial == "GALH12345678")
                           .values(status="revoked"))
        db.session.commit()
    pages.append(add_token(other, "GALH12345678", hotp(0), hotp(1)).get_data(as_text=True))
    assert {error_of(p) for p in pages} == {error_of(pages[0])} and UNKNOWN in error_of(pages[0])
    assert token(app, "GALH00000001").user_id == synced["id"] and token(app, "GALH00000001").counter == 502
    other_id = db_user_id(app, "dr.other")
    assert failures(app, other_id) == 0  # no secret was consulted: nothing counted


def db_user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_wrong_codes_count_as_code_failures(app, client, provider, clock, inventory):
    authenticate(client, provider, clock)
    for _ in range(5):
        add_token(client, "GALH00000001", "111111", "222222")
    assert failures(app, provider["id"]) == 5
    r = add_token(client, "GALH00000001", hotp(500), hotp(501))  # the right pair, during the wait
    assert "Wait 30 seconds" in r.get_data(as_text=True)
    assert token(app, "GALH00000001").status == "unassigned"
    clock.advance(31)
    r = add_token(client, "GALH00000001", hotp(500), hotp(501))
    assert r.status_code == 302
    assert failures(app, provider["id"]) == 0


def test_pskc_token_8_digits_with_the_appendix_d_table(app, client, provider, clock, runner):
    assert runner.invoke(args=["tokens", "import", str(DATA / "rfc6030_plain.pskcxml")]).exit_code == 0
    authenticate(client, provider, clock)
    # RFC 4226 Appendix D, counters 0 and 1, all eight digits
    r = add_token(client, "987654321", "84755224", "94287082")
    assert r.status_code == 302, r.get_data(as_text=True)
    client.post("/logout")
    sign_in(client, provider["username"])
    assert "Enter the 8-digit code" in client.get("/login/verify/hardware-token").get_data(as_text=True)
    assert client.post("/login/verify/hardware-token", data={"code": "37359152"}).status_code == 302


def test_totp_token_with_a_clock_two_hours_ahead(app, client, provider, clock, inventory):
    authenticate(client, provider, clock)
    ahead = rfc6238_step(clock.now) + 240  # the token's clock runs two hours fast

    def code(step: int) -> str:
        return rfc4226_hotp(TOTP8_SEED, step, 8)

    r = add_token(client, "GALH00000002", code(ahead - 1), code(ahead))
    assert r.status_code == 302, r.get_data(as_text=True)
    row = token(app, "GALH00000002")
    assert (row.drift, row.last_step) == (240, ahead)
    assert add_token(client, "GALH00000002", code(ahead - 1), code(ahead)).status_code == 302  # second click
    client.post("/logout")
    clock.advance(30)
    r = sign_in_with_token(client, provider["username"], code(ahead + 1))
    assert r.status_code == 302
    client.post("/logout")
    r = sign_in_with_token(client, provider["username"], code(ahead + 1))
    assert "already used" in r.get_data(as_text=True)
    clock.advance(30)
    r = client.post("/login/verify/hardware-token", data={"code": code(ahead + 3)})  # one step fast: within ±1
    assert r.status_code == 302
    assert token(app, "GALH00000002").drift == 241  # the drift follows the token
    client.post("/logout")
    clock.advance(60)
    r = sign_in_with_token(client, provider["username"], code(ahead + 2 + 600))
    assert "Your token is ahead of the portal" in r.get_data(as_text=True)


def test_totp_pair_not_consecutive_and_too_far(app, client, provider, clock, inventory):
    authenticate(client, provider, clock)
    step = rfc6238_step(clock.now)
    sixty = b"\x8f\x1c\x2a\x6d\x3b\x9e\x4f\x70\x51\xa2\xc3\xd4\xe5\xf6\x07\x18\x29\x3a\x4b\x5c"  # GALH00000003, 60 s
    step60 = rfc6238_step(clock.now, 60)
    r = add_token(client, "GALH00000003", rfc4226_hotp(sixty, step60 - 3), rfc4226_hotp(sixty, step60))
    assert "not consecutive" in error_of(r.get_data(as_text=True))
    r = add_token(client, "GALH00000002", rfc4226_hotp(TOTP8_SEED, step + 3000, 8),
                  rfc4226_hotp(TOTP8_SEED, step + 3001, 8))  # 25 hours ahead: past the ±24 h search
    assert "do not match" in error_of(r.get_data(as_text=True))
    r = add_token(client, "GALH00000003", rfc4226_hotp(sixty, step60 - 1), rfc4226_hotp(sixty, step60))
    assert r.status_code == 302


def test_removing_the_device_gives_the_token_back_to_the_inventory(app, client, synced, clock):
    device = hardware_devices(app, synced["id"])[0]
    page = client.get(f"/security/devices/{device.id}/rename").get_data(as_text=True)
    assert 'value="GALH00000001"' in page
    client.post(f"/security/devices/{device.id}/rename", data={"name": "Token on my keyring"})
    assert "Token on my keyring" in client.get("/tokens").get_data(as_text=True)
    r = client.post(f"/security/devices/{device.id}/remove")
    assert r.status_code == 302
    row = token(app, "GALH00000001")
    assert (row.status, row.user_id, row.counter) == ("unassigned", None, 502)
    client.post("/logout")
    sign_in(client, synced["username"])
    assert "Hardware Token" not in client.get("/login/verify").get_data(as_text=True)
    clock.advance(30)
    complete_sign_in(client, synced["secret"], clock)
    r = add_token(client, "GALH00000001", hotp(502), hotp(503))  # the sign-in was fresh: add it again
    assert r.status_code == 302
    assert [d.status for d in hardware_devices(app, synced["id"])] == ["removed", "active"]


def test_another_users_token_device_is_404(app, client, synced, make_user, clock):
    device = hardware_devices(app, synced["id"])[0]
    other = app.test_client()
    _, username = make_user("dr.other")
    sign_in(other, username)
    setup_code_generator(other, clock, "Other phone")
    assert other.get(f"/tokens/{device.id}").status_code == 404
    assert other.get(f"/tokens/{device.id}/resync").status_code == 404
    assert other.post(f"/tokens/{device.id}/resync", data={"first": hotp(502), "second": hotp(503)}).status_code == 404
    assert other.get(f"/tokens/authenticate/{device.id}").status_code == 404


def test_everyone_manages_only_their_own_tokens(app, client, make_user, clock, inventory):
    """Sign In & Security offers Hardware Token to every role; /tokens only ever touches the
    signed-in user's own account (the article: "under the Doctor's login")."""
    user_id, username = make_user("frontdesk", role="staff")
    sign_in(client, username)
    secret = setup_code_generator(client, clock, "Desk phone")
    assert client.get("/tokens").status_code == 200
    authenticate(client, {"secret": secret}, clock)
    assert add_token(client, "GALH00000001", hotp(0), hotp(1)).status_code == 302
    assert token(app, "GALH00000001").user_id == user_id


def test_authenticate_offers_each_device_when_there_are_several(app, client, provider, clock):
    second = setup_code_generator(client, clock, "Office iPad")
    page = client.get("/tokens/authenticate").get_data(as_text=True)
    assert "My iPhone (Code Generator Application)" in page and "Office iPad (Code Generator Application)" in page
    ipad = next(d for d in db_devices(app, provider["id"]) if d.name == "Office iPad")
    r = client.post("/tokens/authenticate", data={"option": str(ipad.id)})
    assert r.headers["Location"].endswith(f"/tokens/authenticate/{ipad.id}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "One-Time Password Code" in page and ">Submit</button>" in page
    r = client.post(r.headers["Location"], data={"code": "000000"})
    assert "That code is not right" in r.get_data(as_text=True)
    clock.advance(30)
    r = client.post(f"/tokens/authenticate/{ipad.id}", data={"code": totp_now(second, clock.now)})
    assert r.status_code == 302


def test_authenticate_by_phone_call_or_text_when_those_methods_exist(app, client, provider, clock):
    """A text/call phone is offered as Phone call and SMS text message; the one-time password is
    sent to it (read here from the outbox, as the phone gets it) and checked like any other code."""
    from tests.test_text import code_sent_to, set_up_text

    set_up_text(app, client)
    clock.advance(30)  # Send it again waits 30 seconds per sign-in session
    phone_id = next(d.id for d in db_devices(app, provider["id"]) if d.kind == "sms")
    page = client.get("/tokens/authenticate").get_data(as_text=True)
    assert "Phone call to (***) ***-*801" in page and "SMS text message to (***) ***-*801" in page
    r = client.post("/tokens/authenticate", data={"option": f"{phone_id}:sms"})
    assert r.headers["Location"].endswith(f"/tokens/authenticate/{phone_id}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "we just sent to you at" in page and "(***) ***-*801" in page and "One-Time Password Code" in page
    assert client.post(r.headers["Location"], data={"code": code_sent_to(app)}).headers["Location"].endswith("/tokens")


def db_devices(app, user_id):
    with app.app_context():
        rows = db.session.scalars(select(Device).where(Device.user_id == user_id)).all()
        db.session.expunge_all()
        return list(rows)


def test_two_workers_with_one_code_one_wins(app, synced):
    """The conditional UPDATE: a matcher that read the token before another worker used the code loses."""
    from portal.tokens.service import HardwareMatcher

    device = hardware_devices(app, synced["id"])[0]
    with app.test_request_context():
        stale = db.session.get(Device, device.id)
        matcher = HardwareMatcher()
        row = db.session.scalar(select(HardwareToken).where(HardwareToken.serial == "GALH00000001"))
        key = app.extensions["vault"].open(row.seed)
        # what the second worker read before the first one won
        second_worker = SimpleNamespace(id=row.id, counter=row.counter, digits=row.digits)
        assert matcher._hotp(stale, row, key, hotp(502)) == "ok"
        db.session.commit()
        assert matcher._hotp(stale, second_worker, key, hotp(502)) == "replayed"
        db.session.rollback()
    assert token(app, "GALH00000001").counter == 503
    with app.app_context():
        assert db.session.scalar(select(func.count(Device.id)).where(Device.kind == "hardware")) == 1
