"""Helpers for the lost-device recovery tests that read like article 004: ask for the link, open
it from the e-mail, verify your identity, pair the code generator, name it, enter the password."""

from tests.conftest import PASSWORD, read_secret_key
from tests.mail_helpers import link_in, mails
from tests.otp_reference import totp_now

DOB = "1978-04-12"
SSN = "4821"
IDENTITY = {"first_name": "Ana", "last_name": "Rivera", "dob": DOB, "ssn_last4": SSN}


def ask_for_link(client, app, email: str) -> str | None:
    """Lost your device? → the path of the link e-mailed to `email` (None when none was sent)."""
    before = len(mails(app, email, "Confirm your e-mail"))
    r = client.post("/login/lost", data={"email": email})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/lost/sent")
    sent = mails(app, email, "Confirm your e-mail")
    return link_in(sent[-1].body) if len(sent) > before else None


def open_link(client, path: str):
    page = client.get(path)
    assert page.status_code == 200 and "Confirm your e-mail" in page.get_data(as_text=True)
    return client.post(path)


def recover(client, app, clock, email: str, name: str = "New iPhone", identity: dict | None = None,
            password: str = PASSWORD) -> str:
    """The whole recovery; returns the new code generator's secret, read off the Scan page."""
    r = open_link(client, ask_for_link(client, app, email))
    assert r.headers["Location"].endswith("/recover/identity"), r.headers.get("Location")
    r = client.post("/recover/identity", data=identity or IDENTITY)
    assert r.headers["Location"].endswith("/recover/scan"), r.get_data(as_text=True)
    secret = read_secret_key(client.get("/recover/scan").get_data(as_text=True))
    client.post("/recover/scan")
    r = client.post("/recover/confirm", data={"code": totp_now(secret, clock.now)})
    assert r.headers["Location"].endswith("/recover/name"), r.get_data(as_text=True)
    r = client.post("/recover/name", data={"name": name})
    assert r.headers["Location"].endswith("/recover/password"), r.get_data(as_text=True)
    r = client.post("/recover/password", data={"password": password})
    assert r.headers["Location"].endswith("/recover/done"), r.get_data(as_text=True)
    return secret
