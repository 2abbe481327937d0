"""Push Notification through the test client: pairing by the one-time link, the first approval,
number matching at sign-in and step-up, Deny, expiry, the cap, and the phone's JSON API."""

import hashlib
import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Challenge, Device, PushPairing
from tests.conftest import PASSWORD, complete_sign_in, sign_in


def actions(app, user_id):
    with app.app_context():
        return [a for (a,) in db.session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_id == user_id).order_by(AuditEvent.id))]


def pairing_link(client) -> str:
    """Start the wizard and read the pairing link off the Scan page (the text beside the QR code)."""
    r = client.post("/security/push")
    assert r.status_code == 302 and r.headers["Location"].endswith("/security/push/scan"), r.get_data(as_text=True)
    page = client.get("/security/push/scan").get_data(as_text=True)
    assert "Step 2 of 5 · Scan QR code" in page and 'class="qr"' in page
    match = re.search(r"<code>http://localhost(/phone/pair/[A-Za-z0-9_-]+)</code>", page)
    assert match, page
    return match.group(1)


def number_on(page: str) -> str:
    match = re.search(r'id="push-number">(\d\d)<', page)
    assert match, page
    return match.group(1)


def phone_requests(phone) -> list[tuple[int, list[str]]]:
    """The requests the phone lists: (id, the three numbers offered)."""
    page = phone.get("/phone").get_data(as_text=True)
    found = []
    for block in page.split('<li class="request">')[1:]:
        challenge_id = int(re.search(r'action="/phone/requests/(\d+)"', block).group(1))
        found.append((challenge_id, re.findall(r'name="number" value="(\d\d)"', block)))
    return found


def set_up_push(client, phone, name: str = "My Android", *, primary: bool = False) -> None:
    """The article's steps: Set Up, Continue, scan (the phone opens the link and pairs), confirm
    (the first approval), name, primary."""
    link = pairing_link(client)
    assert "Pair this phone" in phone.get(link).get_data(as_text=True)
    assert phone.post(link).headers["Location"].endswith("/phone")
    assert client.get("/security/push/scan/status").get_json() == {"status": "paired"}
    assert client.post("/security/push/scan").headers["Location"].endswith("/security/push/confirm")
    number = number_on(client.get("/security/push/confirm").get_data(as_text=True))
    [(challenge_id, choices)] = phone_requests(phone)
    assert number in choices and len(set(choices)) == 3
    phone.post(f"/phone/requests/{challenge_id}", data={"number": number})
    r = client.post("/security/push/confirm", data={"challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("/security/push/name"), r.headers["Location"]
    r = client.post("/security/push/name", data={"name": name})
    if r.headers["Location"].endswith("/primary"):
        choice = {"make_primary": "Select as the primary device"} if primary else {
            "keep_current": "Keep my current primary device"}
        r = client.post("/security/push/primary", data=choice)
    assert "/security/code-generator/done/" in r.headers["Location"], r.headers["Location"]


@pytest.fixture
def phone(app):
    return app.test_client()


@pytest.fixture
def pushing(client, provider, phone, clock):
    """A provider with a code generator and a paired phone ("My Android"), signed out."""
    set_up_push(client, phone)
    client.post("/logout")
    clock.advance(30)
    return provider


def test_set_up_push_pairs_the_phone_and_the_first_approval_confirms_it(app, client, provider, phone):
    link = pairing_link(client)
    r = client.post("/security/push/scan")  # Continue before the phone paired
    assert "Your phone is not paired yet" in r.get_data(as_text=True)
    page = phone.get(link).get_data(as_text=True)
    assert "Pair this phone" in page and "Test Dr.Test" in page
    assert client.get("/security/push/scan/status").get_json() == {"status": "waiting"}  # opening alone pairs nothing
    r = phone.post(link)
    cookie = phone.get_cookie("portal_phone", path="/phone")
    assert cookie is not None and cookie.http_only and cookie.path == "/phone"
    assert client.post("/security/push/scan").headers["Location"].endswith("/security/push/confirm")
    assert client.get("/security/push/scan").headers["Location"].endswith("/security/push/confirm")  # never again
    confirm = client.get("/security/push/confirm").get_data(as_text=True)
    assert "Step 3 of 5 · Confirm your device" in confirm
    number = number_on(confirm)
    [(challenge_id, choices)] = phone_requests(phone)
    assert "Set up this phone" in phone.get("/phone").get_data(as_text=True)
    assert phone.post(f"/phone/requests/{challenge_id}", data={"number": number}).status_code == 302
    assert "Approved" in phone.get("/phone").get_data(as_text=True)
    client.post("/security/push/confirm", data={"challenge": str(challenge_id)})
    client.post("/security/push/name", data={"name": "My Android"})
    r = client.post("/security/push/primary", data={"keep_current": "Keep my current primary device"})
    assert "/security/code-generator/done/" in r.headers["Location"]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.kind == "push"))
        assert device.name == "My Android" and not device.is_primary and device.status == "active"
        assert device.credential_hash == hashlib.sha256(cookie.value.encode()).hexdigest()
        assert cookie.value not in str(db.session.scalar(select(PushPairing)).__dict__)
    security = client.get("/security").get_data(as_text=True)
    assert "My Android" in security
    assert "Paired as <strong>My Android</strong>" in phone.get("/phone").get_data(as_text=True)
    assert {"push_paired", "push_approved", "device_added"} <= set(actions(app, provider["id"]))


def test_the_confirm_step_needs_the_approval_and_a_wrong_number_means_a_new_request(client, provider, phone):
    link = pairing_link(client)
    phone.post(link)
    client.post("/security/push/scan")
    number = number_on(client.get("/security/push/confirm").get_data(as_text=True))
    [(challenge_id, choices)] = phone_requests(phone)
    assert client.get("/security/push/name").headers["Location"].endswith("/security/push/confirm")
    r = client.post("/security/push/confirm", data={"challenge": str(challenge_id)})  # Check again, not yet answered
    assert r.headers["Location"].endswith("/security/push/confirm?result=1")
    assert number_on(client.get(r.headers["Location"]).get_data(as_text=True)) == number  # the same request
    wrong = next(c for c in choices if c != number)
    phone.post(f"/phone/requests/{challenge_id}", data={"number": wrong})
    assert "was not the number on your computer" in phone.get("/phone").get_data(as_text=True)
    client.post("/security/push/confirm", data={"challenge": str(challenge_id)})
    page = client.get("/security/push/confirm?result=1").get_data(as_text=True)
    assert "The request was denied on your phone" in page
    client.post("/security/push/confirm", data={"new": "Send a new request"})
    assert number_on(client.get("/security/push/confirm").get_data(as_text=True))
    [(second_id, _)] = phone_requests(phone)
    assert second_id != challenge_id


def test_pairing_links_are_single_use_and_expire(app, client, provider, phone, clock):
    link = pairing_link(client)
    phone.post(link)
    other = app.test_client()
    r = other.get(link)
    assert r.status_code == 410 and "already used" in r.get_data(as_text=True)
    assert other.post(link).status_code == 410
    assert other.get("/phone/pair/not-a-real-token").status_code == 404
    # a new run of the wizard makes a new link; left for 10 minutes it expires
    client.post("/security/push")
    page = client.get("/security/push/scan").get_data(as_text=True)
    fresh = re.search(r"<code>http://localhost(/phone/pair/[^<]+)</code>", page).group(1)
    clock.advance(10 * 60 + 1)
    r = other.post(fresh)
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    page = client.get("/security/push/scan").get_data(as_text=True)
    assert "This QR code has expired" in page and 'class="qr"' not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PushPairing)
                                 .where(PushPairing.paired_at.is_not(None))) == 1


def test_starting_over_retires_the_unused_link(client, provider, phone):
    first = pairing_link(client)
    pairing_link(client)
    r = phone.post(first)
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{}, {"PORTAL_DEMO": True}])
def test_pairing_is_refused_in_a_browser_signed_in_as_a_prescriber(client, provider, app_config):
    link = pairing_link(client)
    for r in (client.get(link), client.post(link)):
        assert r.status_code == 403
        assert "different device from the one you prescribe with" in r.get_data(as_text=True)
    assert client.get_cookie("portal_phone", path="/phone") is None
    assert client.get("/security/push/scan/status").get_json() == {"status": "waiting"}


def test_pairing_is_refused_half_way_through_a_prescribers_sign_in(app, client, provider, make_user):
    link = pairing_link(client)
    other = app.test_client()
    make_user("dr.other")
    sign_in(other, provider["username"])  # password given, code still to come
    assert other.get(link).status_code == 403


def test_a_paired_phone_cannot_pair_again(client, provider, phone, app, make_user):
    set_up_push(client, phone)
    link = pairing_link(client)
    r = phone.get(link)
    assert r.status_code == 403 and "already paired" in r.get_data(as_text=True)


def test_sign_in_with_push(app, client, pushing, phone):
    sign_in(client, pushing["username"])
    choose = client.get("/login/verify").get_data(as_text=True)
    assert "Push Notification" in choose and "/login/verify/push" in choose
    page = client.get("/login/verify/push").get_data(as_text=True)
    assert "We sent a push notification to <strong>My Android</strong>." in page
    assert "Check again" in page and 'src="/static/poll.js"' in page and "<script>" not in page
    number = number_on(page)
    assert number_on(client.get("/login/verify/push").get_data(as_text=True)) == number  # a reload reuses it
    [(challenge_id, choices)] = phone_requests(phone)
    listing = phone.get("/phone").get_data(as_text=True)
    assert "Sign in" in listing and "127.0.0.1" in listing and "UTC" in listing
    status = f"/push/requests/{challenge_id}/status"
    assert client.get(status).get_json() == {"status": "pending"}
    r = client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("/login/verify/push?result=1")
    phone.post(f"/phone/requests/{challenge_id}", data={"number": number})
    assert client.get(status).get_json() == {"status": "approved"}
    assert app.test_client().get(status).status_code == 404  # another browser learns nothing
    r = client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/security")
    assert client.get("/security").status_code == 200
    assert client.get(status).get_json() == {"status": "used"}
    assert "sign_in" in actions(app, pushing["id"])


def test_an_approval_is_used_once_and_only_by_its_own_sign_in(app, client, pushing, phone):
    sign_in(client, pushing["username"])
    number = number_on(client.get("/login/verify/push").get_data(as_text=True))
    [(challenge_id, _)] = phone_requests(phone)
    phone.post(f"/phone/requests/{challenge_id}", data={"number": number})
    thief = app.test_client()
    sign_in(thief, pushing["username"])
    r = thief.post("/login/verify/push", data={"challenge": str(challenge_id)})
    assert r.headers["Location"].endswith("?result=1") and thief.get("/security").status_code == 302
    assert client.post("/login/verify/push", data={"challenge": str(challenge_id)}).status_code == 302
    client.post("/logout")
    sign_in(client, pushing["username"])
    client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    assert client.get("/security").status_code == 302


def test_a_second_answer_is_refused(client, pushing, phone):
    sign_in(client, pushing["username"])
    number = number_on(client.get("/login/verify/push").get_data(as_text=True))
    [(challenge_id, choices)] = phone_requests(phone)
    phone.post(f"/phone/requests/{challenge_id}", data={"number": number})
    phone.post(f"/phone/requests/{challenge_id}", data={"deny": "Deny"})
    assert "already answered or has expired" in phone.get("/phone").get_data(as_text=True)
    client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    assert client.get("/security").status_code == 200


def test_deny_is_audited_and_the_next_sign_in_opens_on_a_warning(app, client, pushing, phone, clock):
    sign_in(client, pushing["username"])
    client.get("/login/verify/push")
    [(challenge_id, _)] = phone_requests(phone)
    phone.post(f"/phone/requests/{challenge_id}", data={"deny": "Deny"})
    assert "Denied" in phone.get("/phone").get_data(as_text=True)
    r = client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "The request was denied on your phone" in page and "Send a new request" in page
    assert "push_denied" in actions(app, pushing["id"])
    # the real user signs in later, with the code generator
    client.post("/logout")
    sign_in(client, pushing["username"])
    clock.advance(30)
    r = complete_sign_in(client, pushing["secret"], clock)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "was denied on your phone" in page and "flash--warning" in page and "127.0.0.1" in page
    client.post("/logout")
    sign_in(client, pushing["username"])
    clock.advance(30)
    r = complete_sign_in(client, pushing["secret"], clock)
    assert "was denied on your phone" not in client.get(r.headers["Location"]).get_data(as_text=True)  # once


def test_a_wrong_number_denies_and_warns_too(app, client, pushing, phone, clock):
    sign_in(client, pushing["username"])
    number = number_on(client.get("/login/verify/push").get_data(as_text=True))
    [(challenge_id, choices)] = phone_requests(phone)
    phone.post(f"/phone/requests/{challenge_id}", data={"number": next(c for c in choices if c != number)})
    client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    assert client.get("/security").status_code == 302
    # a new request, answered right, signs in — and opens on the warning
    client.post("/login/verify/push", data={"new": "Send a new request"})
    number = number_on(client.get("/login/verify/push").get_data(as_text=True))
    [(second_id, _)] = phone_requests(phone)
    phone.post(f"/phone/requests/{second_id}", data={"number": number})
    r = client.post("/login/verify/push", data={"challenge": str(second_id)})
    assert "was denied on your phone" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_request_expires_after_two_minutes(app, client, pushing, phone, clock):
    sign_in(client, pushing["username"])
    number = number_on(client.get("/login/verify/push").get_data(as_text=True))
    [(challenge_id, _)] = phone_requests(phone)
    clock.advance(121)
    assert phone_requests(phone) == []
    phone.post(f"/phone/requests/{challenge_id}", data={"number": number})
    assert "already answered or has expired" in phone.get("/phone").get_data(as_text=True)
    assert client.get(f"/push/requests/{challenge_id}/status").get_json() == {"status": "expired"}
    r = client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "The request expired before it was approved" in page
    assert client.get("/security").status_code == 302
    # visiting the page afresh sends a new request
    assert number_on(client.get("/login/verify/push").get_data(as_text=True))
    assert len(phone_requests(phone)) == 1


def test_at_most_three_pending_requests(app, pushing, phone):
    browsers = [app.test_client() for _ in range(4)]
    for browser in browsers:
        sign_in(browser, pushing["username"])
    for browser in browsers[:3]:
        number_on(browser.get("/login/verify/push").get_data(as_text=True))
    page = browsers[3].get("/login/verify/push").get_data(as_text=True)
    assert "You already have 3 push requests waiting" in page and 'id="push-number"' not in page
    r = browsers[3].post("/login/verify/push", data={"new": "Send a new request"})
    assert r.status_code == 200 and "You already have 3 push requests waiting" in r.get_data(as_text=True)
    assert len(phone_requests(phone)) == 3
    first_id = phone_requests(phone)[0][0]
    phone.post(f"/phone/requests/{first_id}", data={"deny": "Deny"})
    assert number_on(browsers[3].get("/login/verify/push").get_data(as_text=True))


def test_step_up_with_push_goes_back_where_the_user_was(app, client, pushing, phone, clock):
    sign_in(client, pushing["username"])
    number = number_on(client.get("/login/verify/push").get_data(as_text=True))
    [(challenge_id, _)] = phone_requests(phone)
    phone.post(f"/phone/requests/{challenge_id}", data={"number": number})
    client.post("/login/verify/push", data={"challenge": str(challenge_id)})
    clock.advance(6 * 60)
    r = client.get("/security/push")
    assert r.headers["Location"] == "/verify?next=/security/push"
    page = client.get("/verify/push?next=/security/push").get_data(as_text=True)
    assert "Confirm it is you" in page
    number = number_on(page)
    [(challenge_id, _)] = phone_requests(phone)
    assert "Confirm it is you" in phone.get("/phone").get_data(as_text=True)
    phone.post(f"/phone/requests/{challenge_id}", data={"number": number})
    r = client.post("/verify/push?next=/security/push", data={"challenge": str(challenge_id)})
    assert r.headers["Location"] == "/security/push"
    r = client.post("/verify/push?next=/security/push", data={"challenge": str(challenge_id)})  # a double click
    assert r.headers["Location"] == "/security/push"
    assert "Set up push notifications" in client.get("/security/push").get_data(as_text=True)


def test_several_push_devices_offer_a_choice_primary_first(app, client, pushing, phone, clock):
    sign_in(client, pushing["username"])
    clock.advance(30)
    complete_sign_in(client, pushing["secret"], clock)
    tablet = app.test_client()
    set_up_push(client, tablet, "Office tablet", primary=True)
    client.post("/logout")
    sign_in(client, pushing["username"])
    page = client.get("/login/verify/push").get_data(as_text=True)
    assert "Send push notification" in page and 'id="push-number"' not in page
    assert 'checked' in page.split("Office tablet")[0].rsplit("<div", 1)[-1]
    with app.app_context():
        android = db.session.scalar(select(Device.id).where(Device.name == "My Android"))
    client.post("/login/verify/push", data={"new": "Send a new request", "device": str(android)})
    assert "to <strong>My Android</strong>" in client.get("/login/verify/push").get_data(as_text=True)
    assert len(phone_requests(phone)) == 1 and phone_requests(tablet) == []


def test_a_removed_device_no_longer_answers(app, client, pushing, phone, clock):
    sign_in(client, pushing["username"])
    clock.advance(30)
    complete_sign_in(client, pushing["secret"], clock)
    with app.app_context():
        device_id = db.session.scalar(select(Device.id).where(Device.kind == "push"))
    assert client.post(f"/security/devices/{device_id}/remove").status_code == 302
    assert "not paired" in phone.get("/phone").get_data(as_text=True)
    assert phone.get("/phone/api/challenges").status_code == 401


# ---- the JSON API ----

def api_pair(app, client) -> tuple:
    """A native app pairs by the API with the token at the end of the pairing link."""
    link = pairing_link(client)
    native = app.test_client()
    r = native.post("/phone/api/pair", json={"token": link.rsplit("/", 1)[1]})
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["issuer"] == "EPCS Portal" and len(body["credential"]) >= 40
    return native, {"Authorization": f"Bearer {body['credential']}"}


def test_native_app_pairs_lists_and_answers_through_the_api(app, client, provider):
    native, auth = api_pair(app, client)
    assert native.get("/phone/api/challenges", headers=auth).get_json()["username"] == "dr.test"
    assert native.get("/phone/api/challenges").status_code == 401  # no credential, no answer
    client.post("/security/push/scan")
    number = number_on(client.get("/security/push/confirm").get_data(as_text=True))
    listing = native.get("/phone/api/challenges", headers=auth).get_json()
    assert listing["device"] is None and listing["username"] == "dr.test"
    [challenge] = listing["challenges"]
    assert challenge["purpose"] == "setup" and challenge["for"] == "Set up this phone"
    assert number in challenge["choices"] and challenge["ip"] == "127.0.0.1" and challenge["expires_in"] == 120
    assert "number" not in challenge  # the phone is offered three; only the computer shows the one
    assert set(challenge) == {"id", "purpose", "for", "browser", "ip", "created_at", "expires_at", "expires_in",
                              "choices"}  # as docs/phone-api.yaml says
    url = f"/phone/api/challenges/{challenge['id']}/answer"
    assert native.post(url, json={"number": None}, headers=auth).status_code == 400
    r = native.post(url, json={"number": number}, headers=auth)
    assert r.status_code == 200 and r.get_json() == {"status": "approved"}
    r = native.post(url, json={"answer": "deny"}, headers=auth)
    assert r.status_code == 409 and "already answered" in r.get_json()["error"]


def test_api_pair_errors(app, client, provider):
    native = app.test_client()
    assert native.post("/phone/api/pair", data="token=x").status_code == 400
    assert native.post("/phone/api/pair", json={"token": "nope"}).status_code == 404
    link = pairing_link(client)
    token = link.rsplit("/", 1)[1]
    assert native.post("/phone/api/pair", json={"token": token}).status_code == 201
    assert app.test_client().post("/phone/api/pair", json={"token": token}).status_code == 410
    assert client.post("/phone/api/pair", json={"token": token}).status_code == 403  # the prescriber's own browser


def test_another_users_challenge_is_404(app, client, provider, make_user, clock):
    native, auth = api_pair(app, client)
    client.post("/security/push/scan")
    client.get("/security/push/confirm")
    [mine] = native.get("/phone/api/challenges", headers=auth).get_json()["challenges"]
    # another provider, with a phone of their own
    make_user("dr.other")
    other = app.test_client()
    sign_in(other, "dr.other")
    from tests.conftest import setup_code_generator
    setup_code_generator(other, clock, "Other iPhone")
    their_phone, their_auth = api_pair(app, other)
    r = their_phone.post(f"/phone/api/challenges/{mine['id']}/answer", json={"number": mine["choices"][0]},
                         headers=their_auth)
    assert r.status_code == 404 and r.get_json() == {"error": "There is no such request for this phone."}
    their_browser = app.test_client()  # and a phone paired by the page, with its cookie
    their_browser.post(pairing_link(other))
    assert "Being set up" in their_browser.get("/phone").get_data(as_text=True)
    assert their_browser.post(f"/phone/requests/{mine['id']}", data={"deny": "Deny"}).status_code == 404
    with app.app_context():
        assert db.session.get(Challenge, mine["id"]).status == "pending"
    assert native.post("/phone/api/challenges/999999/answer", json={"number": "10"}, headers=auth).status_code == 404


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_cookie_authenticated_answer_needs_the_csrf_token(app, make_user):
    """The phone page's own cookie cannot be used by another site to answer: an answer sent with
    the cookie must carry the CSRF token; a Bearer credential (a native app) needs none."""
    from portal.clock import now
    from portal.models import LoginSession

    user_id, _ = make_user("dr.csrf")
    credential = "a-long-random-credential-for-this-test-only-0123456789"
    with app.app_context():
        device = Device(user_id=user_id, kind="push", name="Phone", name_key="phone", status="active",
                        is_primary=True, added_at=now(),
                        credential_hash=hashlib.sha256(credential.encode()).hexdigest())
        ls = LoginSession(token_hash="x" * 64, user_id=user_id, stage="password", created_at=now(),
                          last_seen_at=now())
        db.session.add_all([device, ls])
        db.session.flush()
        challenge = Challenge(user_id=user_id, device_id=device.id, login_session_id=ls.id, channel="push",
                              purpose="sign_in", number="42", choices="17,42,88", status="pending",
                              created_at=now(), expires_at=now().replace(year=now().year + 1))
        db.session.add(challenge)
        db.session.commit()
        challenge_id = challenge.id
    browser = app.test_client()
    browser.set_cookie("portal_phone", credential, path="/phone")
    url = f"/phone/api/challenges/{challenge_id}/answer"
    assert browser.post(url, json={"number": "42"}).status_code == 400  # no CSRF token
    assert browser.post(f"/phone/requests/{challenge_id}", data={"number": "42"}).status_code == 400
    with app.app_context():
        assert db.session.get(Challenge, challenge_id).status == "pending"
    r = app.test_client().post(url, json={"number": "42"}, headers={"Authorization": f"Bearer {credential}"})
    assert r.get_json() == {"status": "approved"}


def test_pages_without_javascript_have_no_inline_script(client, pushing, phone):
    sign_in(client, pushing["username"])
    for page in (client.get("/login/verify/push"), phone.get("/phone")):
        html = page.get_data(as_text=True)
        assert "<script>" not in html and " onclick" not in html and "style=" not in html
    assert PASSWORD not in phone.get("/phone").get_data(as_text=True)


def test_a_locked_second_factor_is_locked_for_push_too(app, client, pushing, phone):
    from portal.models import User

    with app.app_context():
        db.session.execute(User.__table__.update().values(otp_failures=20))
        db.session.commit()
    sign_in(client, pushing["username"])
    page = client.get("/login/verify/push").get_data(as_text=True)
    assert "Your second factor is locked" in page and 'id="push-number"' not in page
    assert phone_requests(phone) == []
