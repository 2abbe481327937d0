"""A hardware token in Chromium, by clicking, as the article walks it: the admin imports the seed file,
the doctor Authenticates, Adds the Token by serial and two codes, sees Token Status: Active, signs in
with it, and resyncs it after pressing its button 50 times. Codes come from the seed file."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import live_user, screenshot
from tests.otp_reference import rfc4226_hotp, totp_now
from tests.test_browser_devices import choose_first_device, sign_in_with_password, walk_wizard

pytestmark = pytest.mark.browser

SEED_FILE = Path(__file__).parent / "data" / "gal_tokens.pskcxml"
SEED = b"12345678901234567890"  # GALH12345678's seed in that file, counter 0


def now():
    return datetime.now(UTC).replace(tzinfo=None)


def hotp(counter: int) -> str:
    return rfc4226_hotp(SEED, counter)


def sign_in_with_token(page, code: str):
    sign_in_with_password(page)
    page.get_by_role("heading", name="Complete your sign in").wait_for()
    page.get_by_role("link", name="Select Hardware Token").click()
    page.get_by_label("Enter the 6-digit code").fill(code)
    page.get_by_role("button", name="Continue").click()


def test_import_authenticate_add_token_active_sign_in_and_resync(live_server, new_page):
    # a prescriber who is also the practice's registrant admin
    live_user(live_server, "dr.rivera", admin_rights=True)
    page = new_page()
    sign_in_with_password(page)
    choose_first_device(page)
    page.get_by_text("Step 1 of 4 · Set up a code generator").wait_for()
    phone = walk_wizard(page, "My iPhone", primary=None, shot_prefix="tokens-cg")

    # the token inventory: upload the vendor's PSKC file
    page.goto("/admin/tokens")
    page.get_by_label("Seed file (CSV or PSKC XML)").set_input_files(str(SEED_FILE))
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported: 2 tokens.").wait_for()
    screenshot(page, "admin-tokens")

    # Sign In & Security → Hardware Token → EPCS Device Management
    page.goto("/security")
    page.get_by_role("link", name="Set Up Hardware Token").click()
    page.get_by_role("heading", name="EPCS Device Management").wait_for()
    screenshot(page, "tokens-1-device-management")

    # Manage Phones → Authenticate with a fresh code (the code generator's next one)
    page.get_by_role("link", name="Authenticate").click()
    page.get_by_label("One-Time Password Code").fill(totp_now(phone, now(), 1))
    screenshot(page, "tokens-2-authenticate")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("You are authenticated. You can now add a token.").wait_for()

    # Manage Token → Add Token: the token was pressed 500 times before it reached the doctor
    page.get_by_role("link", name="Add Token").click()
    page.get_by_text("Example Serial Number: GALH12345678").wait_for()
    page.get_by_label("Serial number").fill("galh 1234 5678")
    page.get_by_label("One-Time Password 1").fill(hotp(500))
    page.get_by_label("One-Time Password 2").fill(hotp(501))
    screenshot(page, "tokens-3-add-token")
    page.get_by_role("button", name="Submit").dblclick()  # clicking Submit more than once is no error here
    page.get_by_role("heading", name="Token Status: Active").wait_for()
    screenshot(page, "tokens-4-active")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("heading", name="EPCS Device Management").wait_for()
    assert page.get_by_role("cell", name="GALH12345678", exact=True).count() == 2  # its name and its serial

    # sign in with the token
    page.get_by_role("button", name="Sign out").click()
    sign_in_with_token(page, hotp(502))
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    assert page.locator(".device").filter(has_text="GALH12345678").count() == 1

    # 50 presses that nobody entered: the 51st code is past the look-ahead, so resync
    page.get_by_role("button", name="Sign out").click()
    sign_in_with_token(page, hotp(553))
    page.get_by_text("Your token is ahead of the portal").wait_for()
    screenshot(page, "tokens-5-signin-out-of-step")
    page.get_by_role("link", name="Resync token").click()
    page.get_by_label("One-Time Password 1").fill(hotp(554))
    page.get_by_label("One-Time Password 2").fill(hotp(555))
    screenshot(page, "tokens-6-signin-resync")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    page.get_by_text("Your token is in step again.").wait_for()
