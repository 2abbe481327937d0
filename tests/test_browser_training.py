"""Demo mode in Chromium: a trainer with no phone at all sets up a code generator through "Send to
my training phone", reading the code from the training phone's Codes tab, then a text-message
device whose code arrives in the training phone's Messages tab, and a sign-in by Text me."""

import re

import pytest

from tests.conftest import live_user, screenshot
from tests.test_browser_devices import choose_first_device, sign_in_with_password

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("live_config", [{"PORTAL_DEMO": True}])
def test_every_wizard_with_only_the_training_phone(live_server, new_page):
    live_user(live_server, "dr.rivera")
    computer = new_page()
    sign_in_with_password(computer)
    choose_first_device(computer)
    computer.get_by_text("Step 1 of 4 · Set up a code generator").wait_for()
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Scan the QR code").wait_for()
    computer.get_by_role("button", name="Send to my training phone").click()
    computer.get_by_text("Sent to your training phone").wait_for()
    screenshot(computer, "training-1-send-to-phone")
    link = computer.get_by_role("link", name="Open my training phone").get_attribute("href")

    phone = new_page(**PHONE)
    phone.goto(link)
    phone.get_by_role("heading", name="Codes").wait_for()
    entry = phone.locator(".code-entry").filter(has_text="EPCS Portal (dr.rivera)")
    code = entry.locator(".code-entry__code").inner_text().replace(" ", "")
    assert re.fullmatch(r"\d{6}", code)
    assert "s left" in entry.inner_text()
    screenshot(phone, "phone-3-codes")

    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Confirm your device").wait_for()
    computer.get_by_label("Enter the 6-digit code").fill(code)
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_label("Device name").fill("Training phone app")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("heading", name="Your device is set up").wait_for()
    computer.get_by_role("link", name="Back to Sign In & Security").click()

    # text message: the training phone's number, the code in its Messages tab
    computer.get_by_role("link", name="Set Up Text Message or Phone Call").click()
    number = computer.locator(".training-box strong").first.inner_text()
    computer.get_by_label("Phone number").fill(number)
    screenshot(computer, "text-1-number")
    computer.get_by_role("button", name="Text me").click()
    masked = "(***) ***-*" + re.sub(r"\D", "", number)[-3:]
    sent = f"Please check your phone for the 6-digit code that we just sent to you at {masked}."
    computer.get_by_text(sent).wait_for()
    screenshot(computer, "text-2-confirm")
    phone.get_by_role("link", name="Messages").click()
    text = phone.locator(".message__body").first.inner_text()
    screenshot(phone, "phone-4-messages")
    computer.get_by_label("Enter the 6-digit code").fill(re.search(r"your code is (\d{6})", text).group(1))
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_label("Device name").fill("Training phone texts")
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_role("button", name="Keep my current primary device").click()
    computer.get_by_role("heading", name="Your device is set up").wait_for()
    computer.get_by_role("link", name="Back to Sign In & Security").click()
    row = computer.locator(".device").filter(has_text="Training phone texts")
    assert "(***) ***-*" in row.inner_text()
    screenshot(computer, "security-with-text")

    # sign in with Text me: the code arrives on the training phone
    computer.get_by_role("button", name="Sign out").click()
    sign_in_with_password(computer)
    computer.get_by_role("link", name="Select Text Message or Phone Call").click()
    computer.get_by_text("You will receive a code at the following number").wait_for()
    screenshot(computer, "signin-text-choose")
    computer.get_by_role("button", name="Text me").click()
    computer.get_by_text(sent).wait_for()
    screenshot(computer, "signin-text-code")
    phone.get_by_role("link", name="Messages").click()
    newest = phone.locator(".message__body").first.inner_text()
    assert newest != text
    computer.get_by_label("Enter the 6-digit code").fill(re.search(r"your code is (\d{6})", newest).group(1))
    computer.get_by_role("button", name="Continue").click()
    computer.get_by_text("Signed in with Training phone texts.").wait_for()
