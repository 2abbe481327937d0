"""Push Notification in Chromium with two browser profiles, a computer and a phone: pairing by the QR
code's link, sign-in where the phone taps the matching number and the computer's page moves on by
itself, a Deny, and a request that expires."""

import pytest

from tests.conftest import decode_qr, live_user, screenshot
from tests.otp_reference import totp_now
from tests.test_browser_devices import choose_first_device, now, sign_in_with_password, walk_wizard

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def console_errors(page) -> list[str]:
    """What the page reports as errors (a CSP refusal of an inline script would be one)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def first_device(live_server, new_page):
    """A new provider signs in and sets up a code generator (the first device); returns the page and seed."""
    live_user(live_server, "dr.rivera")
    computer = new_page()
    sign_in_with_password(computer)
    choose_first_device(computer)
    computer.get_by_text("Step 1 of 4 · Set up a code generator").wait_for()
    secret = walk_wizard(computer, "My iPhone", primary=None, shot_prefix="push-cg")
    return computer, secret


def set_up_push(computer, phone, *, shots: bool = False) -> None:
    computer.get_by_role("link", name="Set Up Push Notification").click()
    computer.get_by_text("Step 1 of 5 · Set up push notifications").wait_for()
    if shots:
        screenshot(computer, "push-1-intro")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Scan the QR code").wait_for()
    if shots:
        screenshot(computer, "push-2-scan")
    link = decode_qr(computer)
    assert "/phone/pair/" in link
    phone.goto(link)
    phone.get_by_role("heading", name="Pair this phone").wait_for()
    if shots:
        screenshot(phone, "phone-1-pair")
    phone.get_by_role("button", name="Pair this phone").click()
    phone.get_by_text("This phone is paired.").wait_for()
    # the computer's page notices the pairing by itself and moves on to the first approval
    computer.get_by_role("heading", name="Confirm your device").wait_for()
    number = computer.locator("#push-number").inner_text()
    if shots:
        screenshot(computer, "push-3-confirm")
    phone.reload()
    phone.get_by_role("button", name=number, exact=True).click()
    computer.get_by_role("heading", name="Name your device").wait_for()
    computer.get_by_label("Device name").fill("My Android")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("button", name="Keep my current primary device").click()
    computer.get_by_role("heading", name="Your device is set up").wait_for()
    computer.get_by_role("link", name="Back to Sign In & Security").click()
    computer.locator(".device").filter(has_text="My Android").wait_for()


def sign_in_with_push(computer):
    computer.get_by_role("button", name="Sign out").click()
    sign_in_with_password(computer)
    computer.get_by_role("heading", name="Complete your sign in").wait_for()
    computer.get_by_role("link", name="Select Push Notification").click()
    computer.get_by_text("We sent a push notification to My Android.").wait_for()
    return computer.locator("#push-number").inner_text()


def test_push_set_up_sign_in_and_deny(live_server, new_page):
    computer, secret = first_device(live_server, new_page)
    phone = new_page(**PHONE)
    errors = {"computer": console_errors(computer), "phone": console_errors(phone)}
    set_up_push(computer, phone, shots=True)
    screenshot(computer, "security-with-push")

    # sign in: the phone lists the request by itself, taps the matching number, the computer moves on
    phone.goto("/phone")
    phone.get_by_text("No requests right now.").wait_for()
    number = sign_in_with_push(computer)
    screenshot(computer, "signin-push-waiting")
    phone.get_by_role("heading", name="Sign in").wait_for()  # appears without a reload (the page polls)
    screenshot(phone, "phone-2-request")
    offered = phone.locator(".request__numbers button").all_inner_texts()
    assert number in offered and len(set(offered)) == 3
    phone.get_by_role("button", name=number, exact=True).click()
    computer.get_by_role("heading", name="Sign In & Security").wait_for()
    computer.get_by_text("Signed in with My Android.").wait_for()

    # Deny ("This wasn't me"): the computer's page shows it by itself; the next sign-in opens on a warning
    sign_in_with_push(computer)
    phone.get_by_role("heading", name="Sign in").wait_for()
    phone.get_by_role("button", name="Deny").click()
    phone.get_by_text("Denied.").wait_for()
    computer.get_by_text("The request was denied on your phone.").wait_for()
    screenshot(computer, "signin-push-denied")
    computer.get_by_role("link", name="Go back").click()
    computer.get_by_role("link", name="Select Code Generator Application").click()
    computer.get_by_label("Enter the 6-digit code").fill(totp_now(secret, now(), 1))
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Sign In & Security").wait_for()
    warning = computer.locator(".flash--warning")
    assert "was denied on your phone" in warning.inner_text()
    screenshot(computer, "signin-warning-after-deny")
    assert {name: [e for e in found if "favicon" not in e] for name, found in errors.items()} == {
        "computer": [], "phone": []}


@pytest.mark.parametrize("live_config", [{"PORTAL_PUSH_SECONDS": 5}])
def test_push_request_expires(live_server, new_page):
    computer, _ = first_device(live_server, new_page)
    phone = new_page(**PHONE)
    set_up_push(computer, phone)
    sign_in_with_push(computer)
    # nobody answers: the one acceptable wait, for a 5-second request to expire
    computer.get_by_text("The request expired before it was approved.").wait_for(timeout=30_000)
    screenshot(computer, "signin-push-expired")
    phone.goto("/phone")
    phone.get_by_text("No requests right now.").wait_for()
    computer.get_by_role("button", name="Send a new request").click()
    number = computer.locator("#push-number").inner_text()
    phone.reload()
    phone.get_by_role("button", name=number, exact=True).click()
    computer.get_by_role("heading", name="Sign In & Security").wait_for()
