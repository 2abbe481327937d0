"""The front desk, the admin, the trainer and a provider who lost their phone, in Chromium, by
clicking: staff see the dashboard, print a set-up sheet and are refused every provider page; a
provider recovers through a real SMTP server (aiosmtpd) and signs in with the new device; an admin
unlocks a locked factor and the audit page shows it; a trainer resets the demo.

The live server runs on a fake clock: a code is accepted once per 30-second step, and the test
moves the clock on to the next step instead of waiting for it.
"""

import email
import email.policy
import re
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from portal.demo import demo_password
from portal.extensions import db
from portal.models import AuditEvent, Device, User
from tests.conftest import PASSWORD, FakeClock, live_user, screenshot
from tests.otp_reference import totp_now

pytestmark = pytest.mark.browser


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, subject: str, seconds: float = 10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if message["To"] == to and subject in message["Subject"]:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no e-mail {subject!r} to {to}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def articles_folder(tmp_path):
    """The Guided tour's article for the code generator (the test does not depend on ../shared)."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "000_cee058c69f519638.txt").write_text("What is MFA\n\nSet up Push Notification or Code Generator\n")
    return folder


@pytest.fixture
def live_config(inbox, articles_folder):
    return {"CLOCK": FakeClock(), "PORTAL_DEMO": True, "PORTAL_MAIL_BACKEND": "smtp",
            "PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_PORT": inbox.port,
            "PORTAL_OTP_WAIT_AFTER": 10, "PORTAL_OTP_LOCK_AFTER": 3,
            "PORTAL_ARTICLES_PATH": str(articles_folder)}


def now(live_server):
    return live_server.app.config["CLOCK"].now


def next_code(live_server, secret: str) -> str:
    clock = live_server.app.config["CLOCK"]
    clock.advance(30)
    return totp_now(secret, clock.now)


def sign_in_with_password(page, username: str, password: str = PASSWORD):
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def first_device(page, live_server, username: str, name: str = "My iPhone", password: str = PASSWORD) -> str:
    """Password, then the first code generator, read by its secret key (in groups of four)."""
    sign_in_with_password(page, username, password)
    page.get_by_role("heading", name="Set up your first device").wait_for()
    page.get_by_role("link", name="Set Up Code Generator").click()
    page.get_by_role("button", name="Continue").click()
    secret = page.locator(".secret-key code").inner_text().replace(" ", "")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Enter the 6-digit code").fill(totp_now(secret, now(live_server)))
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Device name").fill(name)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Your device is set up").wait_for()
    return secret


def sign_in_with_code(page, live_server, username: str, secret: str):
    sign_in_with_password(page, username)
    page.get_by_role("heading", name="Complete your sign in").wait_for()
    page.get_by_role("link", name="Select Code Generator Application").click()
    page.get_by_label("Enter the 6-digit code").fill(next_code(live_server, secret))
    page.get_by_role("button", name="Continue").click()


def test_the_front_desk_sees_the_dashboard_prints_a_sheet_and_is_refused_provider_pages(live_server, new_page,
                                                                                      tmp_path):
    live_user(live_server, "dr.rivera", name="Ana Rivera")
    live_user(live_server, "dr.chen", name="Wei Chen")
    live_user(live_server, "frontdesk", role="staff", name="Sam Ortiz")
    doctor = new_page()
    first_device(doctor, live_server, "dr.rivera")

    page = new_page()
    first_device(page, live_server, "frontdesk", name="Desk phone")
    page.get_by_role("link", name="Front desk").click()
    page.get_by_role("heading", name="Front desk").wait_for()
    for heading in ("Provider", "Identity verified", "EPCS permission", "EPCS PIN", "Code generator", "Push",
                    "Text/Call", "Hardware token", "Primary", "Backup", "Locked", "Last sign-in"):
        assert page.get_by_role("columnheader", name=heading).is_visible(), heading
    rivera = page.locator("tr", has_text="Ana Rivera")
    assert "Only one device" in rivera.inner_text() and "My iPhone" in rivera.inner_text()
    assert "No device" in page.locator("tr", has_text="Wei Chen").inner_text()
    screenshot(page, "clinic-dashboard")
    page.get_by_label("Show").select_option(label="No backup device")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="Last sign-in").click()
    assert page.get_by_role("columnheader", name="Last sign-in ▲").is_visible()

    page.get_by_role("link", name="Print set-up sheet for Ana Rivera").click()
    page.get_by_role("heading", name="EPCS set-up sheet for Ana Rivera").wait_for()
    assert page.get_by_role("button", name="Print").is_visible()  # print.js shows it
    assert page.get_by_text("Set up at least one backup option").is_visible()
    screenshot(page, "clinic-sheet")
    page.emulate_media(media="print")
    assert not page.locator(".masthead").is_visible() and not page.get_by_role("button", name="Print").is_visible()
    assert page.get_by_role("heading", name="Create EPCS PIN").is_visible()
    screenshot(page, "clinic-sheet-print")
    pdf = tmp_path / "sheet.pdf"
    page.pdf(path=str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
    page.emulate_media(media="screen")

    for path in ("/epcs", "/epcs/compose", "/epcs/location", "/pin/reset", "/pin/create", "/epcs/prescriptions"):
        response = page.goto(path)
        assert response.status == 403, path
        assert page.get_by_text("You do not have access to this page.").is_visible()
    screenshot(page, "clinic-staff-refused")
    page.goto("/clinic")
    assert page.get_by_role("link", name="EPCS", exact=True).count() == 0

    page.get_by_role("button", name="Hand to the doctor").click()
    page.get_by_text("Doctor, sign in with your own username and password.").wait_for()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_role("link", name="Front desk").count() == 0
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "access_refused")) == 6


def test_a_provider_with_a_lost_phone_recovers_by_email_and_signs_in_with_the_new_device(live_server, new_page,
                                                                                       inbox):
    address = "dr.rivera@example.test"
    live_user(live_server, "dr.rivera", name="Ana Rivera", dob="1978-04-12", ssn_last4="4821")
    old = new_page()
    first_device(old, live_server, "dr.rivera", name="Old iPhone")

    page = new_page()  # the phone is gone
    page.goto("/login")
    page.get_by_role("link", name="Lost your device?").click()
    page.get_by_label("E-mail address").fill(address)
    screenshot(page, "recovery-1-lost")
    page.get_by_role("button", name="Send me a link").click()
    page.get_by_text("If that address is ours, we sent a link").wait_for()
    mail = inbox.wait_for(address, "Confirm your e-mail")
    link = re.search(r"http://\S+/recover/\S+", mail.get_content()).group(0)

    page.goto(link)
    page.get_by_text("Step 1 of 6 · Confirm your e-mail").wait_for()
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Step 2 of 6 · Verify your identity").wait_for()
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Rivera")
    page.get_by_label("Date of birth").fill("1978-04-12")
    page.get_by_label("Last four digits of your Social Security number").fill("4821")
    screenshot(page, "recovery-2-identity")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Step 3 of 6 · Scan QR code").wait_for()
    secret = page.locator(".secret-key code").inner_text().replace(" ", "")
    screenshot(page, "recovery-3-scan")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Enter the 6-digit code").fill(totp_now(secret, now(live_server)))
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Device name").fill("New iPhone")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Enter your EPCS Portal credentials").wait_for()
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "recovery-4-password")
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("heading", name="Your account is recovered").wait_for()
    screenshot(page, "recovery-5-done")
    notice = inbox.wait_for(address, "Was this you?")
    assert "recovered with a new device" in notice.get_content()

    old.goto("/security")  # the old sign-in ended
    old.get_by_role("heading", name="Sign in").wait_for()

    page.get_by_role("link", name="Sign in").click()
    sign_in_with_code(page, live_server, "dr.rivera", secret)
    page.get_by_role("heading", name="Sign In & Security").wait_for()
    suspended = page.locator(".device", has_text="Old iPhone")
    assert suspended.get_by_text("Suspended").is_visible()
    assert page.locator(".device", has_text="New iPhone").get_by_text("Is Primary").is_visible()
    screenshot(page, "recovery-6-suspended")
    page.get_by_role("link", name="Remove Old iPhone").click()
    page.get_by_role("button", name="Remove device").click()
    page.get_by_text("Old iPhone was removed.").wait_for()


def test_an_admin_unlocks_a_locked_factor_and_the_audit_page_shows_it(live_server, new_page):
    live_user(live_server, "admin", role="admin", name="Morgan Lee")
    live_user(live_server, "dr.chen", name="Wei Chen")
    doctor = new_page()
    secret = first_device(doctor, live_server, "dr.chen")
    doctor.get_by_role("button", name="Sign out").click()
    sign_in_with_password(doctor, "dr.chen")
    doctor.get_by_role("link", name="Select Code Generator Application").click()
    for _ in range(3):
        doctor.get_by_label("Enter the 6-digit code").fill("000000")
        doctor.get_by_role("button", name="Continue").click()
    doctor.get_by_text("Your second factor is locked").wait_for()

    admin = new_page()
    first_device(admin, live_server, "admin", name="Admin phone")
    admin.get_by_role("link", name="Users").click()
    row = admin.locator("tr", has_text="Wei Chen")
    assert "Second factor" in row.inner_text()
    screenshot(admin, "admin-users-locked")
    admin.get_by_role("link", name="Unlock Wei Chen").click()
    admin.get_by_role("button", name="Unlock").click()
    admin.get_by_text("Write why you unlock this account").wait_for()  # no reason, no unlock
    admin.get_by_label("Reason").fill("Called the help desk; identity checked by callback")
    screenshot(admin, "admin-unlock")
    admin.get_by_role("button", name="Unlock").click()
    admin.get_by_text("Wei Chen is unlocked (Second factor).").wait_for()

    admin.get_by_role("link", name="Audit log").first.click()
    admin.get_by_text("Hash chain intact").wait_for()
    admin.get_by_label("Action").select_option(label="unlocked")
    admin.get_by_role("button", name="Filter").click()
    event = admin.locator("tbody tr").first
    assert "Called the help desk; identity checked by callback" in event.inner_text()
    assert "dr.chen" in event.inner_text() and "admin" in event.inner_text()
    screenshot(admin, "admin-audit-unlocked")
    admin.get_by_role("link", name="Daily incident report").click()
    locks = admin.locator("section", has=admin.get_by_role("heading", name=re.compile("^Locks and unlocks")))
    assert "factor locked" in locks.inner_text() and "unlocked" in locks.inner_text()
    screenshot(admin, "admin-incident-report")

    doctor.get_by_label("Enter the 6-digit code").fill(next_code(live_server, secret))
    doctor.get_by_role("button", name="Continue").click()
    doctor.get_by_role("heading", name="Sign In & Security").wait_for()


def test_a_trainer_resets_the_demo(live_server, new_page):
    assert live_server.app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    doctor = new_page()
    first_device(doctor, live_server, "dr.rivera", password=demo_password("dr.rivera"))
    page = new_page()
    first_device(page, live_server, "trainer", name="Trainer phone", password=demo_password("trainer"))
    page.get_by_role("link", name="Guided tour").click()
    page.get_by_role("button", name=re.compile("Open the wizard at step 1: Set up a code generator")).click()
    page.get_by_text("Guided tour · the article").wait_for()
    screenshot(page, "training-tour")
    page.get_by_role("button", name="End tour").click()
    page.get_by_role("link", name="Reset demo").click()
    page.get_by_role("heading", name="Reset demo").wait_for()
    screenshot(page, "training-reset")
    page.get_by_role("button", name="Reset demo").click()
    page.get_by_text("The demo clinic is reset").wait_for()
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count(Device.id))) == 0
        assert sorted(db.session.scalars(select(User.username))) == [
            "admin", "dr.chen", "dr.rivera", "frontdesk", "trainer"]
    doctor.goto("/security")
    doctor.get_by_role("heading", name="Sign in").wait_for()
    # the demo starts afresh: a demo user signs in with the password and sets up a first device
    first_device(doctor, live_server, "dr.rivera", password=demo_password("dr.rivera"))
