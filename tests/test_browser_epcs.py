"""EPCS end to end in Chromium, by clicking: an admin attests the provider's identity, admin A
grants EPCS, registrant B approves; the provider creates a PIN, signs a prescription with PIN +
code, resets the PIN through the wizard, and the old PIN no longer signs.

The live server runs on a fake clock here: a code is accepted once per 30-second step, and the
test moves the clock on to the next step instead of waiting for it.
"""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import PASSWORD, FakeClock, decode_qr, live_user, screenshot
from tests.epcs_helpers import DEA, ORDER
from tests.otp_reference import totp_now

pytestmark = pytest.mark.browser


@pytest.fixture
def live_config():
    return {"CLOCK": FakeClock()}


def next_code(live_server, secret: str) -> str:
    clock = live_server.app.config["CLOCK"]
    clock.advance(30)
    return totp_now(secret, clock.now)


def sign_in_and_set_up_first_device(page, live_server, username: str) -> str:
    """Password, then the first code generator (a user without a device chooses it first)."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Set Up Code Generator").click()
    page.get_by_role("button", name="Continue").click()
    secret = parse_qs(urlsplit(decode_qr(page)).query)["secret"][0]
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Enter the 6-digit code").fill(totp_now(secret, live_server.app.config["CLOCK"].now))
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Device name").fill("My iPhone")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Your device is set up").wait_for()
    return secret


def validate_passcode(page, live_server, secret: str, shot: str | None = None):
    page.get_by_label("Select your phone signature option").select_option(label="My iPhone")
    if shot:
        screenshot(page, f"{shot}-1-validate-passcode")
    page.get_by_role("button", name="Select Setup").click()
    page.get_by_label("Enter 2FA Code").fill(next_code(live_server, secret))
    if shot:
        screenshot(page, f"{shot}-1-enter-2fa-code")
    page.get_by_role("button", name="Submit 2FA Code").click()


def save_new_pin(page, pin: str, shot: str | None = None):
    page.get_by_text("Step 2 of 2 · New PIN").wait_for()
    page.get_by_label("New 4-digit PIN", exact=True).fill(pin)
    page.get_by_label("Confirm New 4-digit PIN").fill(pin)
    if shot:
        screenshot(page, f"{shot}-2-new-pin")
    page.get_by_role("button", name="Save").click()


def compose(page):
    page.get_by_role("link", name="EPCS", exact=True).click()
    page.get_by_role("link", name="Compose Rx").click()
    page.get_by_label("Patient name").fill(ORDER["patient_name"])
    page.get_by_label("Date of birth").fill(ORDER["patient_dob"])
    page.get_by_label("Drug").fill(ORDER["drug"])
    page.get_by_label("Strength").fill(ORDER["strength"])
    page.get_by_label("Schedule").select_option("II")
    page.get_by_label("Quantity").fill(ORDER["quantity"])
    page.get_by_label("Directions").fill(ORDER["directions"])
    page.get_by_role("button", name="Review").click()
    page.get_by_text("Step 2 of 2 · Transmit").wait_for()


def sign_and_send(page, live_server, secret: str, pin: str, shot: str | None = None):
    page.get_by_label("EPCS PIN", exact=True).fill(pin)
    page.get_by_label("Enter 2FA Code").fill(next_code(live_server, secret))
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Sign and Send").click()


def test_epcs_from_identity_to_a_signed_prescription_and_a_pin_reset(live_server, new_page):
    live_user(live_server, "admin.a", role="admin", name="Avery Admin")
    live_user(live_server, "dr.registrant", name="Blair Registrant", dea=DEA["dr.registrant"], admin_rights=True)
    live_user(live_server, "dr.rivera", name="Ana Rivera", dea=DEA["dr.rx"])

    # admin A attests the provider's identity and grants EPCS
    admin = new_page()
    sign_in_and_set_up_first_device(admin, live_server, "admin.a")
    admin.get_by_role("link", name="EPCS permissions").click()
    admin.get_by_role("button", name="Attest identity of Ana Rivera").click()
    admin.get_by_text("You attested Ana Rivera's identity.").wait_for()
    admin.get_by_role("button", name="Grant EPCS to Ana Rivera").click()
    admin.get_by_text("waits for a second person with admin rights").wait_for()
    assert admin.get_by_role("button", name="Approve EPCS for Ana Rivera").count() == 0  # not for the granter
    screenshot(admin, "epcs-admin-granted")

    # registrant B approves
    registrant = new_page()
    sign_in_and_set_up_first_device(registrant, live_server, "dr.registrant")
    registrant.get_by_role("link", name="EPCS permissions").click()
    registrant.get_by_role("button", name="Approve EPCS for Ana Rivera").click()
    registrant.get_by_text("EPCS permission for Ana Rivera is approved and active.").wait_for()
    screenshot(registrant, "epcs-admin-approved")

    # the provider creates a PIN
    doc = new_page()
    secret = sign_in_and_set_up_first_device(doc, live_server, "dr.rivera")
    doc.get_by_role("link", name="EPCS", exact=True).click()
    doc.get_by_role("heading", name="EPCS readiness").wait_for()
    screenshot(doc, "epcs-readiness")
    doc.get_by_role("link", name="Create EPCS PIN").click()
    doc.get_by_text("Step 1 of 2 · Validate Passcode").wait_for()
    validate_passcode(doc, live_server, secret)
    save_new_pin(doc, "2580")
    doc.get_by_text("Your 4-digit PIN has been successfully created").wait_for()

    # and signs a prescription with PIN + code
    compose(doc)
    sign_and_send(doc, live_server, secret, "2580", shot="epcs-transmit")
    doc.get_by_text("Signed and sent.").wait_for()
    doc.get_by_text("The signed content matches its digest.").wait_for()
    assert doc.get_by_text("My iPhone", exact=True).count() >= 1
    screenshot(doc, "epcs-signed")

    # resets the PIN through the wizard
    doc.get_by_role("link", name="EPCS", exact=True).click()
    doc.get_by_role("link", name="Reset EPCS PIN").click()
    doc.get_by_text("Step 1 of 2 · Validate Passcode").wait_for()
    validate_passcode(doc, live_server, secret, shot="pin-reset")
    save_new_pin(doc, "9753", shot="pin-reset")
    doc.get_by_text("Your 4-digit PIN has been successfully reset").wait_for()
    screenshot(doc, "pin-reset-3-done")

    # the old PIN no longer signs; the new one does
    compose(doc)
    sign_and_send(doc, live_server, secret, "2580")
    doc.get_by_text("That EPCS PIN is not right.").wait_for()
    screenshot(doc, "epcs-transmit-wrong-pin")
    sign_and_send(doc, live_server, secret, "9753")
    doc.get_by_text("Signed and sent.").wait_for()
    doc.get_by_role("link", name="Signed prescriptions").click()
    assert doc.locator("tbody tr").count() == 2
