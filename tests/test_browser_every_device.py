"""Push everywhere, in Chromium with two browser profiles, a computer and a phone: a new provider
chooses Push Notification as the first device, creates the EPCS PIN with an approval on the phone,
signs a controlled-substance prescription with PIN + push, resets the PIN with push, and
authenticates on EPCS Device Management with push. Each time the phone taps the matching number
and the computer's page moves on by itself."""

import pytest

from tests.conftest import decode_qr, live_user, screenshot
from tests.epcs_helpers import DEA, ORDER, grant_directly
from tests.test_browser_devices import choose_first_device, sign_in_with_password
from tests.test_browser_push import PHONE

pytestmark = pytest.mark.browser


def console_errors(page) -> list[str]:
    """What the page reports as errors (a CSP refusal of an inline script would be one), but the
    browser's own try at /favicon.ico."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
    return errors


def pair_first_push_phone(computer, phone) -> None:
    """Set up your first device → Push Notification: scan, pair on the phone, approve, name."""
    choose_first_device(computer, "Push Notification")
    computer.get_by_text("Step 1 of 4 · Set up push notifications").wait_for()
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Scan the QR code").wait_for()
    phone.goto(decode_qr(computer))
    phone.get_by_role("button", name="Pair this phone").click()
    phone.get_by_text("This phone is paired.").wait_for()
    computer.get_by_role("heading", name="Confirm your device").wait_for()
    tap(phone, computer, "Set up this phone")
    computer.get_by_role("heading", name="Name your device").wait_for()
    computer.get_by_label("Device name").fill("My Android")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Your device is set up").wait_for()


def tap(phone, computer, purpose: str, shot: str | None = None) -> None:
    """The phone lists the request (its page refreshes itself) and taps the number the computer shows."""
    number = computer.locator("#push-number").inner_text()
    phone.get_by_role("heading", name=purpose).wait_for()
    if shot:
        screenshot(phone, shot)
    phone.get_by_role("button", name=number, exact=True).click()


def validate_passcode_by_push(computer, phone, purpose: str, shot: str | None = None) -> None:
    computer.get_by_label("Select your phone signature option").select_option(label="My Android")
    computer.get_by_role("button", name="Select Setup").click()
    computer.get_by_role("button", name="Send push notification").click()
    computer.get_by_text("We sent a push notification to My Android.").wait_for()
    if shot:
        screenshot(computer, f"{shot}-waiting")
    tap(phone, computer, purpose, shot=f"{shot}-phone" if shot else None)
    # the computer's page notices the approval by itself and moves on to the new PIN
    computer.get_by_text("Step 2 of 2 · New PIN").wait_for()


def save_pin(computer, pin: str) -> None:
    computer.get_by_label("New 4-digit PIN", exact=True).fill(pin)
    computer.get_by_label("Confirm New 4-digit PIN").fill(pin)
    computer.get_by_role("button", name="Save").click()


def compose(computer) -> None:
    computer.get_by_role("link", name="EPCS", exact=True).click()
    computer.get_by_role("link", name="Compose Rx").click()
    for label, key in (("Patient name", "patient_name"), ("Date of birth", "patient_dob"), ("Drug", "drug"),
                       ("Strength", "strength"), ("Quantity", "quantity"), ("Directions", "directions")):
        computer.get_by_label(label).fill(ORDER[key])
    computer.get_by_label("Schedule").select_option("II")
    computer.get_by_role("button", name="Review").click()
    computer.get_by_text("Step 2 of 2 · Transmit").wait_for()


def test_first_device_pin_and_signing_with_push_only(live_server, new_page):
    admin = live_user(live_server, "admin.a", role="admin", name="Avery Admin")
    registrant = live_user(live_server, "dr.registrant", name="Blair Registrant", dea=DEA["dr.registrant"],
                           admin_rights=True)
    doctor = live_user(live_server, "dr.rivera", name="Ana Rivera", dea=DEA["dr.rx"])
    grant_directly(live_server.app, doctor, admin, registrant)
    computer = new_page()
    phone = new_page(**PHONE)
    errors = {"computer": console_errors(computer), "phone": console_errors(phone)}

    # the first device is the phone, by push
    sign_in_with_password(computer)
    pair_first_push_phone(computer, phone)
    phone.goto("/phone")

    # Create EPCS PIN: Validate Passcode by an approval on the phone
    computer.get_by_role("link", name="EPCS", exact=True).click()
    computer.get_by_role("link", name="Create EPCS PIN").click()
    validate_passcode_by_push(computer, phone, "Create EPCS PIN")
    save_pin(computer, "2580")
    computer.get_by_text("Your 4-digit PIN has been successfully created").wait_for()

    # sign a prescription with PIN + push
    compose(computer)
    computer.get_by_role("button", name="Send push notification").click()
    computer.get_by_text("We sent a push notification to My Android.").wait_for()
    tap(phone, computer, "Sign a controlled-substance prescription", shot="phone-5-signing-request")
    computer.get_by_text("Your phone approved the request. Now enter your EPCS PIN").wait_for()
    computer.get_by_label("EPCS PIN", exact=True).fill("2580")
    screenshot(computer, "epcs-transmit-push")
    computer.get_by_role("button", name="Sign and Send").click()
    computer.get_by_text("Signed and sent.").wait_for()
    computer.get_by_text("The signed content matches its digest.").wait_for()
    assert computer.get_by_text("My Android", exact=True).count() >= 1

    # Reset EPCS PIN with push
    computer.get_by_role("link", name="EPCS", exact=True).click()
    computer.get_by_role("link", name="Reset EPCS PIN").click()
    validate_passcode_by_push(computer, phone, "Reset EPCS PIN", shot="pin-reset-push")
    save_pin(computer, "9753")
    computer.get_by_text("Your 4-digit PIN has been successfully reset").wait_for()

    # the old PIN no longer signs, and its try used the approval up
    compose(computer)
    computer.get_by_role("button", name="Send push notification").click()
    tap(phone, computer, "Sign a controlled-substance prescription")
    computer.get_by_label("EPCS PIN", exact=True).fill("2580")
    computer.get_by_role("button", name="Sign and Send").click()
    computer.get_by_text("That EPCS PIN is not right.").wait_for()
    computer.get_by_text("Your phone's approval is now used up.").wait_for()
    computer.get_by_role("button", name="Send push notification").wait_for()

    # EPCS Device Management: Manage Phones → Authenticate with an approval
    computer.goto("/tokens")
    computer.get_by_role("link", name="Authenticate").click()
    computer.get_by_label("My Android (Push Notification)").check()
    screenshot(computer, "tokens-2-authenticate-push")
    computer.get_by_role("button", name="Continue").click()
    tap(phone, computer, "Add a hardware token")
    computer.get_by_text("You are authenticated. You can now add a token.").wait_for()
    assert errors == {"computer": [], "phone": []}
