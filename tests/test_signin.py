"""Sign in: password, then a second factor; sessions; failures, waits and locks."""

import base64
import json
import zlib

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, LoginSession, User
from tests.conftest import PASSWORD, complete_sign_in, setup_code_generator, sign_in
from tests.otp_reference import totp_now


def audit_actions(app, user_id):
    with app.app_context():
        return [a for (a,) in db.session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_id == user_id).order_by(AuditEvent.id))]


def test_new_provider_signs_in_with_password_alone_and_can_only_set_up_a_device(client, make_user):
    make_user("dr.new")
    r = sign_in(client, "dr.new")
    assert r.headers["Location"].endswith("/security/first-device")
    assert client.get("/security").headers["Location"].endswith("/security/first-device")
    assert client.get("/verify").headers["Location"].endswith("/security/first-device")
    page = client.get("/security/first-device").get_data(as_text=True)
    assert "Set up your first device" in page and 'href="/security/code-generator"' in page
    page = client.get("/security/code-generator").get_data(as_text=True)
    assert "Step 1 of 4 · Set up a code generator" in page


def test_sign_in_offers_only_methods_set_up_and_accepts_the_code(client, provider, clock):
    client.post("/logout")
    r = sign_in(client, provider["username"])
    assert r.headers["Location"].endswith("/login/verify")
    page = client.get("/login/verify").get_data(as_text=True)
    assert "Complete your sign in" in page
    assert "Code Generator Application" in page
    assert "Push Notification" not in page and "Hardware Token" not in page and "Text Message" not in page
    assert client.get("/security").status_code == 302  # not signed in before the code
    clock.advance(30)
    r = complete_sign_in(client, provider["secret"], clock)
    assert r.status_code == 302 and r.headers["Location"].endswith("/security")
    assert client.get("/security").status_code == 200


def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_user):
    make_user("dr.known")
    a = sign_in(client, "dr.known", "wrong password!!").get_data(as_text=True)
    b = sign_in(client, "nobody", "wrong password!!").get_data(as_text=True)
    assert "The username or password is not right." in a and "The username or password is not right." in b
    assert 'value="dr.known"' in a  # what was typed stays, except the password
    assert "wrong password!!" not in a


def test_password_over_72_bytes_is_a_normal_message_not_a_500(client, make_user):
    make_user("dr.long")
    r = sign_in(client, "dr.long", "é" * 60)
    assert r.status_code == 200
    assert "The username or password is not right." in r.get_data(as_text=True)


def test_ten_wrong_passwords_lock_sign_in_for_fifteen_minutes_with_the_same_message(app, client, make_user, clock):
    user_id, _ = make_user("dr.lock")
    for _ in range(10):
        sign_in(client, "dr.lock", "not the password")
    r = sign_in(client, "dr.lock")  # the right password, while locked
    assert "The username or password is not right." in r.get_data(as_text=True)
    assert "password_locked" in audit_actions(app, user_id)
    clock.advance(15 * 60 + 1)
    assert sign_in(client, "dr.lock").status_code == 302


def test_a_code_is_accepted_once(client, provider, clock, app):
    client.post("/logout")
    clock.advance(30)
    code = totp_now(provider["secret"], clock.now)
    sign_in(client, provider["username"])
    assert client.post("/login/verify/code-generator", data={"code": code}).status_code == 302
    client.post("/logout")
    sign_in(client, provider["username"])
    r = client.post("/login/verify/code-generator", data={"code": code})
    assert r.status_code == 200
    assert "That code was already used" in r.get_data(as_text=True)


def test_five_failures_start_the_waits_and_twenty_lock(app, client, provider, clock):
    client.post("/logout")
    sign_in(client, provider["username"])
    for i in range(5):
        r = client.post("/login/verify/code-generator", data={"code": "000000" if i % 2 else "12ab"})
        assert r.status_code == 200
    # sixth try, during the 30 s wait: refused without being checked or counted, even with the right code
    r = client.post("/login/verify/code-generator", data={"code": totp_now(provider["secret"], clock.now, 1)})
    assert "Wait 30 seconds" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, provider["id"]).otp_failures == 5
    waits = []
    for _ in range(15):
        clock.advance(900)  # the longest wait, and not yet the idle timeout
        r = client.post("/login/verify/code-generator", data={"code": "999999"})
        waits.append(r.get_data(as_text=True))
    assert "locked" in waits[-1]
    with app.app_context():
        assert db.session.get(User, provider["id"]).otp_failures == 20
    clock.advance(3600)
    sign_in(client, provider["username"])  # an hour later, a new sign-in: still locked
    r = complete_sign_in(client, provider["secret"], clock)
    assert r.status_code == 200 and "locked" in r.get_data(as_text=True)
    actions = audit_actions(app, provider["id"])
    assert actions.count("code_refused") == 20
    assert "factor_waits" in actions and "factor_locked" in actions


def test_unlock_from_the_cli_lifts_the_lock(app, client, provider, clock, runner):
    client.post("/logout")
    sign_in(client, provider["username"])
    with app.app_context():
        db.session.execute(User.__table__.update().values(otp_failures=20))
        db.session.commit()
    assert "locked" in complete_sign_in(client, provider["secret"], clock).get_data(as_text=True)
    assert runner.invoke(args=["unlock", provider["username"], "--reason", "called the help desk"]).exit_code == 0
    clock.advance(30)
    assert complete_sign_in(client, provider["secret"], clock).status_code == 302


def _session_cookie(client) -> str:
    return client.get_cookie("portal_session").value


def _decode_flask_cookie(value: str) -> str:
    payload = value.split(".")[1] if not value.startswith(".") else value.split(".")[1]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if value.startswith("."):
        data = zlib.decompress(data)
    return data.decode()


def test_copied_cookie_is_dead_after_sign_out(app, provider):
    alice = app.test_client()
    sign_in(alice, provider["username"])
    from tests.conftest import FakeClock  # noqa: F401 — the app's clock is the fixture's
    clock = app.config["CLOCK"]
    clock.advance(30)
    complete_sign_in(alice, provider["secret"], clock)
    stolen = _session_cookie(alice)
    thief = app.test_client()
    thief.set_cookie("portal_session", stolen)
    assert thief.get("/security").status_code == 200
    alice.post("/logout")
    assert thief.get("/security").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)
                                 .where(LoginSession.revoked_at.is_(None), LoginSession.stage == "full")) == 1


def test_cookie_holds_only_an_opaque_token(client, provider):
    decoded = json.loads(_decode_flask_cookie(_session_cookie(client)))
    assert set(decoded) <= {"_user_id", "_fresh", "_id", "csrf_token", "_flashes"}
    assert provider["secret"] not in json.dumps(decoded)
    assert decoded["_user_id"] != str(provider["id"])


def test_idle_timeout_and_absolute_timeout(client, provider, clock):
    assert client.get("/security").status_code == 200
    clock.advance(16 * 60)
    assert client.get("/security").status_code == 302
    sign_in(client, provider["username"])
    clock.advance(30)
    complete_sign_in(client, provider["secret"], clock)
    for _ in range(13 * 6):  # active every 10 minutes for 13 hours
        clock.advance(600)
        if client.get("/security").status_code != 200:
            break
    assert client.get("/security").status_code == 302


def test_each_sign_in_gets_a_new_token(client, provider, clock):
    first = _session_cookie(client)
    client.post("/logout")
    sign_in(client, provider["username"])
    clock.advance(30)
    complete_sign_in(client, provider["secret"], clock)
    assert json.loads(_decode_flask_cookie(_session_cookie(client)))["_user_id"] != \
        json.loads(_decode_flask_cookie(first))["_user_id"]


def test_several_devices_offer_a_device_choice_and_the_code_is_checked_against_that_device(client, provider, clock):
    second = setup_code_generator(client, clock, "Office iPad")
    client.post("/logout")
    sign_in(client, provider["username"])
    page = client.get("/login/verify/code-generator").get_data(as_text=True)
    assert "My iPhone" in page and "Office iPad" in page
    assert 'checked' in page.split("My iPhone")[0].rsplit("<div", 1)[-1]  # the primary is preselected
    clock.advance(30)
    ids = [int(x) for x in __import__("re").findall(r'name="device"[^>]*value="(\d+)"', page)]
    r = complete_sign_in(client, second, clock, device_id=ids[0])  # the iPad's code against the iPhone
    assert r.status_code == 200
    r = complete_sign_in(client, second, clock, device_id=ids[1])
    assert r.status_code == 302


def test_next_goes_only_to_our_own_pages(client, provider, clock):
    client.post("/logout")
    for evil in ["//evil.example/", "/\\evil.example", "https:evil.example", "https://evil.example/security",
                 "/security\r\nLocation: http://evil.example", "javascript:alert(1)"]:
        client.get("/login", query_string={"next": evil})
        sign_in(client, provider["username"])
        clock.advance(30)
        r = complete_sign_in(client, provider["secret"], clock)
        assert r.headers["Location"] == "/security", evil
        client.post("/logout")
    client.get("/login", query_string={"next": "/security/code-generator"})
    sign_in(client, provider["username"])
    clock.advance(30)
    assert complete_sign_in(client, provider["secret"], clock).headers["Location"] == "/security/code-generator"


def test_sign_out_needs_a_post(client, provider):
    assert client.get("/logout").status_code == 405
    assert client.get("/security").status_code == 200


def test_password_check_is_right_after_sign_in(client, make_user):
    make_user("dr.pw", password=PASSWORD)
    assert sign_in(client, "DR.PW").status_code == 302  # usernames ignore case
