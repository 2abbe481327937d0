"""The front desk (/clinic): every provider's EPCS readiness with the columns of UI.md, filtered,
sorted and exported as CSV; the printable set-up sheet; Hand to the doctor. Status only."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Device, User
from tests.conftest import setup_code_generator
from tests.epcs_helpers import create_pin, grant_directly, signed_in

HEADINGS = ["Provider", "Identity verified", "EPCS permission", "EPCS PIN", "Code generator", "Push", "Text/Call",
            "Hardware token", "Primary", "Backup", "Locked", "Last sign-in"]


@pytest.fixture
def clinic(app, make_user, clock):
    """Dr. Ready (identity, PIN, permission, two devices), Dr. Started (one device), Dr. New (nothing),
    an admin, and the front desk."""
    desk, _, _ = signed_in(app, make_user, clock, "frontdesk", role="staff", name="Sam Ortiz")
    admin, admin_id, _ = signed_in(app, make_user, clock, "admin.a", role="admin", name="Avery Admin")
    ready, ready_id, ready_secret = signed_in(app, make_user, clock, "dr.ready", name="Rae Ready", dea="BR1234563")
    setup_code_generator(ready, clock, "Office iPad")
    create_pin(ready, clock, ready_secret)
    grant_directly(app, ready_id, admin_id, admin_id)
    started, started_id, started_secret = signed_in(app, make_user, clock, "dr.started", name="Sid Started")
    make_user("dr.new", name="Nia New")
    return {"desk": desk, "admin": admin, "ready_id": ready_id, "started_id": started_id,
            "started_secret": started_secret, "started": started}


def rows(page: str) -> list[str]:
    return re.findall(r'<tr id="provider-(\d+)"', page)


def test_the_dashboard_shows_every_provider_with_the_columns(app, clinic):
    page = clinic["desk"].get("/clinic").get_data(as_text=True)
    for heading in HEADINGS:
        assert f">{heading}" in page, heading
    assert "Rae Ready" in page and "Sid Started" in page and "Nia New" in page
    assert "Sam Ortiz" not in page.split("<tbody>")[1] and "Avery Admin" not in page.split("<tbody>")[1]
    ready = page.split(f'id="provider-{clinic["ready_id"]}"')[1].split("</tr>")[0]
    assert ">Ready<" in ready and ">Set<" in ready and "Main office: Active" in ready and ">2<" in ready
    started = page.split(f'id="provider-{clinic["started_id"]}"')[1].split("</tr>")[0]
    assert "Only one device" in started and "Not set" in started and "Not ready" in started
    assert "Hand to the doctor" in page and "Print set-up sheet" in page
    # status only: no secret, no device action
    assert clinic["started_secret"] not in page and "/security/devices/" not in page and "Remove" not in page


def test_admins_see_it_too_and_providers_do_not(app, clinic, provider, client):
    assert clinic["admin"].get("/clinic").status_code == 200
    assert client.get("/clinic").status_code == 403
    assert app.test_client().get("/clinic").status_code == 302


def test_filter_and_sort(app, clinic):
    desk = clinic["desk"]
    assert len(rows(desk.get("/clinic").get_data(as_text=True))) == 3
    assert rows(desk.get("/clinic?q=ready").get_data(as_text=True)) == [str(clinic["ready_id"])]
    assert rows(desk.get("/clinic?show=ready").get_data(as_text=True)) == [str(clinic["ready_id"])]
    assert str(clinic["ready_id"]) not in rows(desk.get("/clinic?show=no_backup").get_data(as_text=True))
    assert len(rows(desk.get("/clinic?show=attention").get_data(as_text=True))) == 2
    names = lambda page: re.findall(r'<th scope="row" class="keep">([^<]+)<', page)  # noqa: E731
    assert names(desk.get("/clinic?sort=provider").get_data(as_text=True)) == ["Nia New", "Rae Ready", "Sid Started"]
    assert names(desk.get("/clinic?sort=provider&dir=desc").get_data(as_text=True)) == [
        "Sid Started", "Rae Ready", "Nia New"]
    by_devices = names(desk.get("/clinic?sort=code_generator&dir=desc").get_data(as_text=True))
    assert by_devices[0] == "Rae Ready" and by_devices[-1] == "Nia New"
    page = desk.get("/clinic?sort=nonsense&show=nonsense").get_data(as_text=True)  # unknown: the defaults
    assert len(rows(page)) == 3


def test_csv_export_has_the_same_columns_and_filters(app, clinic):
    r = clinic["desk"].get("/clinic/export.csv?show=attention&sort=provider")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert table[0] == HEADINGS
    assert [row[0] for row in table[1:]] == ["Nia New (dr.new)", "Sid Started (dr.started)"]
    assert table[2][9] == "Only one device"


def test_a_name_that_looks_like_a_formula_is_exported_as_text(app, clinic, make_user):
    make_user("dr.formula", name="=HYPERLINK(\"http://x\") Doe")
    table = list(csv.reader(io.StringIO(clinic["desk"].get("/clinic/export.csv?q=formula").get_data(as_text=True))))
    assert table[1][0].startswith("'=")


def test_the_set_up_sheet_lists_the_missing_steps_in_the_articles_words(app, clinic):
    desk = clinic["desk"]
    page = desk.get(f"/clinic/providers/{clinic['started_id']}/sheet").get_data(as_text=True)
    assert "EPCS set-up sheet for Sid Started" in page
    for words in ("Set up at least one backup option", "Create EPCS PIN", "Validate Passcode", "Submit 2FA Code",
                  "Confirm New 4-digit PIN", "Verify your identity", "Two people with admin rights"):
        assert words in page, words
    assert "print.js" in page and "data-print" in page
    with app.app_context():
        new_id = db.session.scalar(select(User.id).where(User.username == "dr.new"))
    page = desk.get(f"/clinic/providers/{new_id}/sheet").get_data(as_text=True)
    assert "Set up a code generator" in page and "Scan the QR code" in page
    ready = desk.get(f"/clinic/providers/{clinic['ready_id']}/sheet").get_data(as_text=True)
    assert "Create EPCS PIN" not in ready and "Set up at least one backup option" not in ready
    assert desk.get("/clinic/providers/999999/sheet").status_code == 404
    with app.app_context():
        staff_id = db.session.scalar(select(User.id).where(User.username == "frontdesk"))
    assert desk.get(f"/clinic/providers/{staff_id}/sheet").status_code == 404  # providers only


def test_locked_and_suspended_show(app, clinic):
    with app.app_context():
        user = db.session.get(User, clinic["started_id"])
        user.otp_failures = 20
        device = db.session.scalar(select(Device).where(Device.user_id == user.id))
        device.status = "suspended"
        db.session.commit()
    page = clinic["desk"].get("/clinic?show=locked").get_data(as_text=True)
    assert rows(page) == [str(clinic["started_id"])] and "Second factor" in page and "(1 suspended)" in page
    sheet = clinic["desk"].get(f"/clinic/providers/{clinic['started_id']}/sheet").get_data(as_text=True)
    assert "Your second factor is locked" in sheet and "Review your suspended devices" in sheet


def test_hand_to_the_doctor_signs_the_staff_member_out(app, clinic):
    desk = clinic["desk"]
    r = desk.post("/clinic/hand-to-doctor")
    assert r.headers["Location"].endswith("/login")
    page = desk.get("/login").get_data(as_text=True)
    assert "Doctor, sign in with your own username and password." in page
    assert desk.get("/clinic").status_code == 302
