"""The code-generator lifecycle in Chromium, by clicking, as the articles describe."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import PASSWORD, decode_qr, live_user, screenshot
from tests.otp_reference import totp_now

pytestmark = pytest.mark.browser


def now():
    return datetime.now(UTC).replace(tzinfo=None)


def secret_from_qr(page) -> str:
    uri = decode_qr(page)
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/EPCS Portal:dr.rivera" or parts.path == "/EPCS%20Portal:dr.rivera"
    query = parse_qs(parts.query)
    assert query["issuer"] == ["EPCS Portal"]
    return query["secret"][0]


def sign_in_with_password(page, username="dr.rivera"):
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def choose_first_device(page, method: str = "Code Generator", shot: str | None = None) -> None:
    """A new provider lands on "Set up your first device" and picks the method."""
    page.get_by_role("heading", name="Set up your first device").wait_for()
    if shot:
        screenshot(page, shot)
    page.get_by_role("link", name=f"Set Up {method}").click()


def walk_wizard(page, name: str, *, primary: str | None, shot_prefix: str) -> str:
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Scan the QR code", exact=True).first.wait_for()
    screenshot(page, f"{shot_prefix}-2-scan")
    secret = secret_from_qr(page)
    assert page.locator(".secret-key code").inner_text().replace(" ", "") == secret  # the key in groups of four
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Confirm your device").wait_for()
    page.get_by_label("Enter the 6-digit code").fill(totp_now(secret, now()))
    screenshot(page, f"{shot_prefix}-3-confirm")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Device name").fill(name)
    page.get_by_role("button", name="Continue").click()
    if primary:
        screenshot(page, f"{shot_prefix}-5-primary")
        page.get_by_role("button", name=primary).click()
    page.get_by_role("heading", name="Your device is set up").wait_for()
    assert secret not in page.content()
    page.get_by_role("link", name="Back to Sign In & Security").click()
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    return secret


def test_code_generator_lifecycle(live_server, new_page):
    live_user(live_server, "dr.rivera")
    page = new_page()
    sign_in_with_password(page)
    # a new provider first chooses how to set up a first device
    choose_first_device(page, shot="first-device")
    page.get_by_text("Step 1 of 4 · Set up a code generator").wait_for()
    screenshot(page, "cg-1-intro")
    first = walk_wizard(page, "My iPhone", primary=None, shot_prefix="cg-first")
    assert page.locator(".device").filter(has_text="My iPhone").get_by_text("Is Primary").is_visible()

    # Add a second device (the new-phone path), keep the current primary
    page.get_by_role("link", name="Add Code Generator").click()
    page.get_by_text("Step 1 of 5 · Set up a code generator").wait_for()
    second = walk_wizard(page, "Office iPad", primary="Keep my current primary device", shot_prefix="cg-second")
    assert second != first
    screenshot(page, "security-two-devices")

    # Rename
    page.get_by_role("link", name="Rename Office iPad").click()
    page.get_by_label("Name").fill("Office <b>iPad</b>")
    page.get_by_role("button", name="Apply Change").click()
    page.get_by_text("Office <b>iPad</b>", exact=True).first.wait_for()  # shown escaped, as typed

    # Switch primary
    page.get_by_role("button", name="Select Office <b>iPad</b> as the primary device").click()
    ipad = page.locator(".device").filter(has_text="Office <b>iPad</b>")
    ipad.get_by_text("Is Primary").wait_for()

    # Remove the old phone (the trash can), confirm
    page.get_by_role("link", name="Remove My iPhone").click()
    page.get_by_role("heading", name="Remove My iPhone?").wait_for()
    page.get_by_role("button", name="Remove device").click()
    page.get_by_text("My iPhone was removed.").wait_for()
    assert page.locator(".device").count() == 1
    screenshot(page, "security-after-remove")

    # Sign out, sign in again with "Code Generator Application"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    sign_in_with_password(page)
    page.get_by_role("heading", name="Complete your sign in").wait_for()
    screenshot(page, "signin-choose-method")
    page.get_by_role("link", name="Select Code Generator Application").click()
    # the code one step ahead (inside the ±1 window): the confirm step used the current one, and a
    # code is accepted once, so a user here would wait for the next code
    page.get_by_label("Enter the 6-digit code").fill(totp_now(second, now(), 1))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    screenshot(page, "security")
