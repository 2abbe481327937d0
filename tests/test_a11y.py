"""Accessibility in Chromium: axe-core (the copy bundled in axe-playwright-python, nothing fetched
at run time) over every page of every wizard — sign-in steps, code generator, push, text/call, PIN
create and reset, Compose Rx → Review → Transmit, Add Token, Sign In & Security, /epcs, the admin
pages — with no serious or critical violation; each page, with its error state where it has one,
is also checked at 320 px wide (no horizontal scrolling; a screenshot in test-artifacts/w320-*.png).

The live server runs on a fake clock: a code is accepted once per 30-second step, so the test
moves the clock to the next step instead of waiting.
"""

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import PASSWORD, FakeClock, decode_qr, live_user, screenshot
from tests.epcs_helpers import DEA, ORDER
from tests.otp_reference import rfc4226_hotp
from tests.test_browser_epcs import next_code

pytestmark = pytest.mark.browser

SEVERE = ("serious", "critical")
NARROW = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SEED_FILE = Path(__file__).parent / "data" / "gal_tokens.pskcxml"
TOKEN_SEED = b"12345678901234567890"  # GALH12345678's seed in that file, counter 0


class Audit:
    """Checks each page it is shown; the test asserts at the end, so one run lists every problem."""

    def __init__(self):
        self.axe = Axe()
        self.problems: list[str] = []
        self.pages: list[str] = []

    def __call__(self, page, name: str) -> None:
        page.wait_for_load_state()
        self.pages.append(name)
        size = page.viewport_size
        for violation in self.axe.run(page).response["violations"]:
            if violation["impact"] in SEVERE:
                nodes = violation["nodes"]
                targets = [" ".join(node["target"]) for node in nodes][:4]
                why = nodes[0].get("failureSummary", "").replace("\n", " ")[:200]
                self.problems.append(f"{name} ({page.url}): {violation['id']} ({violation['impact']}): "
                                     f"{violation['help']} — {targets}: {why}")
        page.set_viewport_size(NARROW)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""")
            self.problems.append(f"{name} ({page.url}): scrolls sideways by {overflow}px at 320 px wide: {wide}")
        screenshot(page, f"w320-{name}")
        page.set_viewport_size(size)

    def assert_clean(self, at_least: int) -> None:
        assert not self.problems, "\n".join(self.problems)
        assert len(self.pages) >= at_least, self.pages


@pytest.fixture
def audit():
    return Audit()


@pytest.fixture
def live_config():
    return {"CLOCK": FakeClock(), "PORTAL_DEMO": True}


def sign_in_with_password(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def secret_on_page(page) -> str:
    return page.locator(".secret-key code").inner_text().replace(" ", "")


def code_generator(page, live_server, name: str, audit: Audit | None = None, prefix: str = "cg", *,
                   primary_step: bool) -> str:
    """The code-generator wizard from its step 1 (with the Primary step for a second device); each
    page audited when `audit` is given."""
    check = audit or (lambda *_: None)
    check(page, f"{prefix}-1-intro")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Scan the QR code").wait_for()
    check(page, f"{prefix}-2-scan")
    secret = secret_on_page(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Confirm your device").wait_for()
    check(page, f"{prefix}-3-confirm")
    if audit:
        page.get_by_label("Enter the 6-digit code").fill("12 34")
        page.get_by_role("button", name="Continue").click()
        page.locator(".field__error").wait_for()
        check(page, f"{prefix}-3-confirm-error")
    page.get_by_label("Enter the 6-digit code").fill(next_code(live_server, secret))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Name your device").wait_for()
    check(page, f"{prefix}-4-name")
    page.get_by_label("Device name").fill(name)
    page.get_by_role("button", name="Continue").click()
    if primary_step:
        page.get_by_role("heading", name="Primary device").wait_for()
        check(page, f"{prefix}-5-primary")
        page.get_by_role("button", name="Keep my current primary device").click()
    page.get_by_role("heading", name="Your device is set up").wait_for()
    check(page, f"{prefix}-done")
    page.get_by_role("link", name="Back to Sign In & Security").click()
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    return secret


def first_device(page, live_server, username: str, audit: Audit | None = None) -> str:
    sign_in_with_password(page, username)
    page.get_by_role("heading", name="Set up your first device").wait_for()
    if audit is not None:
        audit(page, "first-device")
    page.get_by_role("link", name="Set Up Code Generator").click()
    page.get_by_text("Set up a code generator").first.wait_for()
    return code_generator(page, live_server, "My iPhone", audit, prefix="cg-first", primary_step=False)


def test_sign_in_code_generator_and_sign_in_and_security(live_server, new_page, audit):
    live_user(live_server, "dr.rivera")
    page = new_page(viewport=DESKTOP)
    page.goto("/login")
    audit(page, "login")
    sign_in_with_password(page, "dr.rivera", "not the password")
    page.locator(".field__error").wait_for()
    audit(page, "login-error")
    first = first_device(page, live_server, "dr.rivera", audit)
    audit(page, "security-one-device")

    page.get_by_role("link", name="Add Code Generator").click()
    page.get_by_text("Step 1 of 5").wait_for()
    code_generator(page, live_server, "Office iPad", audit, prefix="cg-add", primary_step=True)
    audit(page, "security-two-devices")

    page.get_by_role("link", name="Rename Office iPad").click()
    page.get_by_role("heading", name="Rename Office iPad").wait_for()
    audit(page, "rename")
    page.get_by_label("Name").fill("")
    page.get_by_role("button", name="Apply Change").click()
    page.locator(".field__error").wait_for()
    audit(page, "rename-error")
    page.goto("/security")
    page.get_by_role("link", name="Remove Office iPad").click()
    page.get_by_role("heading", name="Remove Office iPad?").wait_for()
    audit(page, "remove")

    page.goto("/verify")
    audit(page, "step-up-choose")
    page.get_by_role("link", name="Select Code Generator Application").click()
    page.get_by_label("Enter the 6-digit code").wait_for()
    audit(page, "step-up-code-two-devices")

    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, "dr.rivera")
    page.get_by_role("heading", name="Complete your sign in").wait_for()
    audit(page, "signin-choose-method")
    page.get_by_role("link", name="Select Code Generator Application").click()
    page.get_by_label("Enter the 6-digit code").wait_for()
    audit(page, "signin-code")
    page.get_by_label("Enter the 6-digit code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    page.locator(".field__error").wait_for()
    audit(page, "signin-code-error")
    page.get_by_label("Enter the 6-digit code").fill(next_code(live_server, first))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    audit(page, "security-signed-in")

    page.goto("/no/such/page")
    audit(page, "error-404")
    audit.assert_clean(at_least=25)


def test_push_text_and_the_training_phone(live_server, new_page, audit):
    live_user(live_server, "dr.rivera")
    computer = new_page(viewport=DESKTOP)
    first_device(computer, live_server, "dr.rivera")
    phone = new_page(**PHONE)

    # Push Notification: the computer shows a QR code, the phone pairs, then taps the number
    computer.get_by_role("link", name="Set Up Push Notification").click()
    computer.get_by_text("Step 1 of 5 · Set up push notifications").wait_for()
    audit(computer, "push-1-intro")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Scan the QR code").wait_for()
    audit(computer, "push-2-scan")
    phone.goto(decode_qr(computer))
    phone.get_by_role("heading", name="Pair this phone").wait_for()
    audit(phone, "phone-pair")
    phone.get_by_role("button", name="Pair this phone").click()
    phone.get_by_text("This phone is paired.").wait_for()
    computer.get_by_role("heading", name="Confirm your device").wait_for()
    audit(computer, "push-3-confirm")
    number = computer.locator("#push-number").inner_text()
    phone.reload()
    phone.get_by_role("button", name=number, exact=True).wait_for()
    audit(phone, "phone-request")
    phone.get_by_role("button", name=number, exact=True).click()
    computer.get_by_role("heading", name="Name your device").wait_for()
    audit(computer, "push-4-name")
    computer.get_by_label("Device name").fill("My Android")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Primary device").wait_for()
    audit(computer, "push-5-primary")
    computer.get_by_role("button", name="Keep my current primary device").click()
    computer.get_by_role("heading", name="Your device is set up").wait_for()
    audit(computer, "push-done")
    phone.goto("/phone")
    phone.get_by_text("No requests right now.").wait_for()
    audit(phone, "phone-no-requests")

    # Text Message or Phone Call, to the training phone
    computer.goto("/security")
    computer.get_by_role("link", name="Set Up Text Message or Phone Call").click()
    computer.get_by_label("Phone number").wait_for()
    audit(computer, "text-1-number")
    computer.get_by_label("Phone number").fill("555")
    computer.get_by_role("button", name="Text me").click()
    computer.locator(".field__error").wait_for()
    audit(computer, "text-1-number-error")
    number = computer.locator(".training-box strong").first.inner_text()
    computer.get_by_label("Phone number").fill(number)
    computer.get_by_role("button", name="Text me").click()
    computer.get_by_label("Enter the 6-digit code").wait_for()
    audit(computer, "text-2-confirm")
    computer.goto("/training/phone")
    audit(computer, "training-phone")
    phone.goto(computer.get_by_role("link", name="Open my training phone").get_attribute("href"))
    phone.get_by_role("link", name="Messages").click()
    phone.locator(".message__body").first.wait_for()
    audit(phone, "phone-messages")
    phone.get_by_role("link", name="Codes").click()
    phone.get_by_role("heading", name="Codes").wait_for()
    audit(phone, "phone-codes")
    phone.get_by_role("link", name="Messages").click()
    code = re.search(r"your code is (\d{6})", phone.locator(".message__body").first.inner_text()).group(1)
    computer.go_back()
    computer.get_by_label("Enter the 6-digit code").fill(code)
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Name your device").wait_for()
    audit(computer, "text-3-name")
    computer.get_by_label("Device name").fill("Training phone texts")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Primary device").wait_for()
    audit(computer, "text-4-primary")
    computer.get_by_role("button", name="Keep my current primary device").click()
    computer.get_by_role("heading", name="Your device is set up").wait_for()
    computer.goto("/security")
    audit(computer, "security-three-kinds")
    computer.goto("/tokens/authenticate")  # Manage Phones → Authenticate: by call, by text or by a device
    computer.get_by_role("heading", name="Authenticate").wait_for()
    audit(computer, "tokens-authenticate-choice")

    # sign in by push, then by text
    computer.get_by_role("button", name="Sign out").click()
    sign_in_with_password(computer, "dr.rivera")
    computer.get_by_role("link", name="Select Push Notification").click()
    computer.get_by_text("We sent a push notification to My Android.").wait_for()
    audit(computer, "signin-push")
    number = computer.locator("#push-number").inner_text()
    phone.goto("/phone")
    phone.get_by_role("button", name=number, exact=True).click()
    computer.get_by_role("heading", name="Sign In & Security").wait_for()
    computer.get_by_role("button", name="Sign out").click()
    sign_in_with_password(computer, "dr.rivera")
    computer.get_by_role("link", name="Select Text Message or Phone Call").click()
    computer.get_by_role("button", name="Text me").wait_for()
    audit(computer, "signin-text-choose")
    computer.get_by_role("button", name="Text me").click()
    computer.get_by_label("Enter the 6-digit code").wait_for()
    audit(computer, "signin-text-code")
    audit.assert_clean(at_least=20)


def test_trainer_outbox(live_server, new_page, audit):
    live_user(live_server, "trainer.tess", role="trainer", name="Tess Trainer")
    page = new_page(viewport=DESKTOP)
    first_device(page, live_server, "trainer.tess")
    page.get_by_role("link", name="Message outbox").click()
    page.get_by_role("heading", name="Message outbox").wait_for()
    audit(page, "training-outbox")
    audit.assert_clean(at_least=1)


def validate_passcode(page, live_server, secret: str, audit: Audit, prefix: str) -> None:
    page.get_by_text("Step 1 of 2 · Validate Passcode").wait_for()
    audit(page, f"{prefix}-1-validate-passcode")
    page.get_by_role("button", name="Select Setup").click()
    page.get_by_label("Enter 2FA Code").wait_for()
    audit(page, f"{prefix}-1-enter-2fa-code")
    page.get_by_label("Enter 2FA Code").fill("1234567")
    page.get_by_role("button", name="Submit 2FA Code").click()
    page.locator(".field__error").wait_for()
    audit(page, f"{prefix}-1-enter-2fa-code-error")
    page.get_by_label("Enter 2FA Code").fill(next_code(live_server, secret))
    page.get_by_role("button", name="Submit 2FA Code").click()


def new_pin(page, pin: str, audit: Audit, prefix: str) -> None:
    page.get_by_text("Step 2 of 2 · New PIN").wait_for()
    audit(page, f"{prefix}-2-new-pin")
    page.get_by_label("New 4-digit PIN", exact=True).fill("1111")
    page.get_by_label("Confirm New 4-digit PIN").fill("1111")
    page.get_by_role("button", name="Save").click()
    page.locator(".field__error").wait_for()
    audit(page, f"{prefix}-2-new-pin-error")
    page.get_by_label("New 4-digit PIN", exact=True).fill(pin)
    page.get_by_label("Confirm New 4-digit PIN").fill(pin)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your 4-digit PIN has been successfully").wait_for()
    audit(page, f"{prefix}-3-done")


def test_epcs_admin_pin_compose_review_transmit(live_server, new_page, audit):
    live_user(live_server, "admin.a", role="admin", name="Avery Admin")
    live_user(live_server, "dr.registrant", name="Blair Registrant", dea=DEA["dr.registrant"], admin_rights=True)
    live_user(live_server, "dr.rivera", name="Ana Rivera", dea=DEA["dr.rx"])

    admin = new_page(viewport=DESKTOP)
    first_device(admin, live_server, "admin.a")
    admin.get_by_role("link", name="EPCS permissions").click()
    admin.get_by_role("heading", name="EPCS permissions").wait_for()
    audit(admin, "admin-epcs")
    admin.get_by_role("button", name="Attest identity of Ana Rivera").click()
    admin.get_by_text("You attested Ana Rivera's identity.").wait_for()
    admin.get_by_role("button", name="Grant EPCS to Ana Rivera").click()
    admin.get_by_text("waits for a second person with admin rights").wait_for()
    audit(admin, "admin-epcs-granted")

    registrant = new_page(viewport=DESKTOP)
    first_device(registrant, live_server, "dr.registrant")
    registrant.get_by_role("link", name="EPCS permissions").click()
    registrant.get_by_role("button", name="Approve EPCS for Ana Rivera").click()
    registrant.get_by_text("EPCS permission for Ana Rivera is approved and active.").wait_for()
    audit(registrant, "admin-epcs-approved")

    doc = new_page(viewport=DESKTOP)
    secret = first_device(doc, live_server, "dr.rivera")
    doc.get_by_role("link", name="EPCS", exact=True).click()
    doc.get_by_role("heading", name="EPCS readiness").wait_for()
    audit(doc, "epcs-readiness")
    doc.get_by_role("link", name="Create EPCS PIN").click()
    validate_passcode(doc, live_server, secret, audit, "pin-create")
    new_pin(doc, "2580", audit, "pin-create")

    doc.get_by_role("link", name="EPCS", exact=True).click()
    doc.get_by_role("link", name="Compose Rx").wait_for()
    audit(doc, "epcs-ready")
    doc.get_by_role("link", name="Compose Rx").click()
    doc.get_by_text("Step 1 of 2 · Compose Rx").wait_for()
    audit(doc, "rx-1-compose")
    doc.get_by_role("button", name="Review").click()
    doc.locator(".field__error").first.wait_for()
    audit(doc, "rx-1-compose-error")
    for label, key in (("Patient name", "patient_name"), ("Date of birth", "patient_dob"), ("Drug", "drug"),
                       ("Strength", "strength"), ("Quantity", "quantity"), ("Directions", "directions")):
        doc.get_by_label(label).fill(ORDER[key])
    doc.get_by_label("Schedule").select_option("II")
    doc.get_by_role("button", name="Review").click()
    doc.get_by_text("Step 2 of 2 · Transmit").wait_for()
    audit(doc, "rx-2-transmit")
    doc.get_by_label("EPCS PIN", exact=True).fill("1357")
    doc.get_by_label("Enter 2FA Code").fill(next_code(live_server, secret))
    doc.get_by_role("button", name="Sign and Send").click()
    doc.get_by_text("That EPCS PIN is not right.").wait_for()
    audit(doc, "rx-2-transmit-error")
    doc.get_by_label("EPCS PIN", exact=True).fill("2580")
    doc.get_by_label("Enter 2FA Code").fill(next_code(live_server, secret))
    doc.get_by_role("button", name="Sign and Send").click()
    doc.get_by_text("Signed and sent.").wait_for()
    audit(doc, "rx-3-signed")
    doc.get_by_role("link", name="Signed prescriptions").click()
    doc.get_by_role("heading", name="Signed prescriptions").wait_for()
    audit(doc, "rx-list")

    doc.get_by_role("link", name="EPCS", exact=True).click()
    doc.get_by_role("link", name="Reset EPCS PIN").click()
    validate_passcode(doc, live_server, secret, audit, "pin-reset")
    new_pin(doc, "9753", audit, "pin-reset")
    audit.assert_clean(at_least=20)


def test_token_inventory_and_add_token(live_server, new_page, audit):
    live_user(live_server, "dr.rivera", admin_rights=True)
    page = new_page(viewport=DESKTOP)
    phone = first_device(page, live_server, "dr.rivera")

    page.goto("/admin/tokens")
    audit(page, "admin-tokens")
    page.get_by_role("button", name="Import").click()
    page.locator(".field__error").first.wait_for()
    audit(page, "admin-tokens-error")
    page.get_by_label("Seed file (CSV or PSKC XML)").set_input_files(str(SEED_FILE))
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported: 2 tokens.").wait_for()
    audit(page, "admin-tokens-imported")

    page.goto("/security")
    page.get_by_role("link", name="Set Up Hardware Token").click()
    page.get_by_role("heading", name="EPCS Device Management").wait_for()
    audit(page, "tokens-1-device-management")
    page.get_by_role("link", name="Authenticate").click()
    page.get_by_label("One-Time Password Code").wait_for()
    audit(page, "tokens-2-authenticate")
    page.get_by_label("One-Time Password Code").fill(next_code(live_server, phone))
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("You are authenticated. You can now add a token.").wait_for()
    page.get_by_role("link", name="Add Token").click()
    page.get_by_label("Serial number").wait_for()
    audit(page, "tokens-3-add-token")
    page.get_by_label("Serial number").fill("GALH12345678")
    page.get_by_label("One-Time Password 1").fill("111111")
    page.get_by_label("One-Time Password 2").fill("222222")
    page.get_by_role("button", name="Submit").click()
    page.locator(".field__error").first.wait_for()
    audit(page, "tokens-3-add-token-error")
    page.get_by_label("One-Time Password 1").fill(rfc4226_hotp(TOKEN_SEED, 500))
    page.get_by_label("One-Time Password 2").fill(rfc4226_hotp(TOKEN_SEED, 501))
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="Token Status: Active").wait_for()
    audit(page, "tokens-4-active")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("heading", name="EPCS Device Management").wait_for()
    audit(page, "tokens-device-management-with-token")
    page.get_by_role("link", name="Resync token GALH12345678").click()
    page.get_by_label("One-Time Password 1").wait_for()
    audit(page, "tokens-resync")

    page.goto("/admin/tokens")
    page.get_by_role("link", name="Revoke GALT12345679").click()
    page.get_by_role("heading", name="Revoke token GALT12345679?").or_(
        page.get_by_role("heading", name="Confirm it is you")).wait_for()
    audit(page, "admin-token-revoke")

    # at sign-in, a token that ran ahead of the look-ahead: Resync token
    page.goto("/security")
    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, "dr.rivera")
    page.get_by_role("link", name="Select Hardware Token").click()
    page.get_by_label("Enter the 6-digit code").fill(rfc4226_hotp(TOKEN_SEED, 553))
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Your token is ahead of the portal").wait_for()
    audit(page, "signin-token-ahead")
    page.get_by_role("link", name="Resync token").click()
    page.get_by_label("One-Time Password 1").wait_for()
    audit(page, "signin-token-resync")
    audit.assert_clean(at_least=13)


# ---- the keyboard alone: Tab to reach, Enter or Space to press, typing into fields ----

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {name: "", outline: "none"};
  const label = e.labels && e.labels.length ? e.labels[0].innerText : "";
  const style = getComputedStyle(e);
  return {name: (e.getAttribute("aria-label") || label || e.innerText || e.value || "").trim(),
          outline: style.outlineStyle === "none" || style.outlineWidth === "0px" ? "none" : style.outlineStyle};
}"""


def tab_to(page, name: str, limit: int = 40) -> None:
    """Press Tab until the element named `name` has the focus, which must be visible."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        seen.append(focused["name"])
        if focused["name"] == name:
            assert focused["outline"] != "none", f"the focus on {name!r} cannot be seen"
            return
    raise AssertionError(f"Tab never reached {name!r}; it went through {seen}")


def keyboard_code_generator(page, live_server, name: str, primary: str | None) -> str:
    page.get_by_text("Set up a code generator").first.wait_for()
    tab_to(page, "Continue")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Scan the QR code").wait_for()
    secret = secret_on_page(page)  # read off the screen, as a person would type it into the app
    tab_to(page, "Continue")
    page.keyboard.press("Space")
    page.get_by_role("heading", name="Confirm your device").wait_for()
    tab_to(page, "Enter the 6-digit code")
    page.keyboard.type(next_code(live_server, secret))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Name your device").wait_for()
    tab_to(page, "Device name")
    page.keyboard.type(name)
    tab_to(page, "Continue")
    page.keyboard.press("Enter")
    if primary:
        page.get_by_role("heading", name="Primary device").wait_for()
        tab_to(page, primary)
        page.keyboard.press("Space")
    page.get_by_role("heading", name="Your device is set up").wait_for()
    tab_to(page, "Back to Sign In & Security")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    return secret


def test_code_generator_wizard_with_the_keyboard_alone(live_server, new_page):
    live_user(live_server, "dr.rivera")
    page = new_page(viewport=DESKTOP)
    page.goto("/login")
    tab_to(page, "Username")
    page.keyboard.type("dr.rivera")
    tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    tab_to(page, "Sign in")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Set up your first device").wait_for()
    tab_to(page, "Set Up Code Generator")
    page.keyboard.press("Enter")
    keyboard_code_generator(page, live_server, "My iPhone", primary=None)
    tab_to(page, "Add Code Generator")
    page.keyboard.press("Enter")
    keyboard_code_generator(page, live_server, "Office iPad", primary="Select as the primary device")
    ipad = page.locator(".device").filter(has_text="Office iPad")
    ipad.get_by_text("Is Primary").wait_for()
    screenshot(page, "keyboard-cg-done")


def test_pin_reset_with_the_keyboard_alone(live_server, new_page):
    live_user(live_server, "dr.rivera", dea=DEA["dr.rx"])
    page = new_page(viewport=DESKTOP)
    secret = first_device(page, live_server, "dr.rivera")
    page.goto("/pin/create")
    page.get_by_role("button", name="Select Setup").click()
    page.get_by_label("Enter 2FA Code").fill(next_code(live_server, secret))
    page.get_by_role("button", name="Submit 2FA Code").click()
    page.get_by_label("New 4-digit PIN", exact=True).fill("2580")
    page.get_by_label("Confirm New 4-digit PIN").fill("2580")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your 4-digit PIN has been successfully created").wait_for()

    # from here on, the keyboard alone
    page.goto("/epcs")
    tab_to(page, "Reset EPCS PIN")
    page.keyboard.press("Enter")
    page.get_by_text("Step 1 of 2 · Validate Passcode").wait_for()
    tab_to(page, "Select Setup")  # the only device is already chosen in "Select your phone signature option"
    page.keyboard.press("Enter")
    page.get_by_label("Enter 2FA Code").wait_for()
    tab_to(page, "Enter 2FA Code")
    page.keyboard.type(next_code(live_server, secret))
    tab_to(page, "Submit 2FA Code")
    page.keyboard.press("Space")
    page.get_by_text("Step 2 of 2 · New PIN").wait_for()
    tab_to(page, "New 4-digit PIN")
    page.keyboard.type("9753")
    tab_to(page, "Confirm New 4-digit PIN")
    page.keyboard.type("9753")
    tab_to(page, "Save")
    page.keyboard.press("Enter")
    page.get_by_text("Your 4-digit PIN has been successfully reset").wait_for()
    screenshot(page, "keyboard-pin-reset-done")
