"""The audit log page (/admin/audit): filters, CSV, the hash chain's state with every broken row
flagged; the daily incident report on the page and from `flask audit report`."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import AuditEvent
from tests.conftest import sign_in
from tests.epcs_helpers import signed_in


@pytest.fixture
def admin(app, make_user, clock):
    client, admin_id, _ = signed_in(app, make_user, clock, "admin.a", role="admin", name="Avery Admin")
    return client


def event_ids(app, action=None):
    with app.app_context():
        query = select(AuditEvent.id).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session.scalars(query))


def test_the_page_lists_events_and_shows_an_intact_chain(app, admin, provider):
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Hash chain intact" in page and "device added" in page and "dr.test" in page
    assert page.index(f'id="event-{event_ids(app)[-1]}"') < page.index(f'id="event-{event_ids(app)[0]}"')


def test_filters_by_user_action_and_date(app, admin, provider, clock):
    with app.app_context():
        from portal.models import User

        doctor_id = db.session.scalar(select(User.id).where(User.username == "dr.test"))
    page = admin.get(f"/admin/audit?user={doctor_id}&action=device_added").get_data(as_text=True)
    assert page.count('<tr id="event-') == 1 and "&#39;My iPhone&#39;" in page
    tomorrow = (clock.now + timedelta(days=1)).date().isoformat()
    page = admin.get(f"/admin/audit?since={tomorrow}").get_data(as_text=True)
    assert "No events match." in page
    today = clock.now.date().isoformat()
    page = admin.get(f"/admin/audit?since={today}&until={today}").get_data(as_text=True)
    assert page.count('<tr id="event-') == len(event_ids(app))
    page = admin.get("/admin/audit?since=yesterday").get_data(as_text=True)
    assert "Enter the date as YYYY-MM-DD." in page and 'value="yesterday"' in page


def test_csv_export_follows_the_filters(app, admin, provider):
    r = admin.get("/admin/audit/export.csv?action=device_added")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0][:3] == ["id", "at (UTC)", "action"] and rows[0][-2:] == ["prev_hash", "hash"]
    assert [row[2] for row in rows[1:]] == ["device_added", "device_added"]  # the admin's, the doctor's


def test_cli_and_page_both_flag_a_row_changed_in_the_database(app, admin, provider, runner):
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    changed = event_ids(app, "device_added")[0]
    with app.app_context():
        db.session.execute(text("UPDATE audit_event SET detail = 'nothing happened' WHERE id = :id"), {"id": changed})
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"BROKEN at event {changed}" in result.output
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Hash chain BROKEN" in page and f"at event #{changed}" in page
    row = page.split(f'<tr id="event-{changed}"')[1].split("</tr>")[0]
    assert 'class="row--flagged"' in row and "content was changed after it was written" in row
    assert page.count("row--flagged") == 1  # only that row: the rows after it still follow it


def test_a_deleted_row_flags_the_one_after_it(app, admin, provider, runner):
    ids = event_ids(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[1]})
        db.session.commit()
    page = admin.get("/admin/audit").get_data(as_text=True)
    row = page.split(f'<tr id="event-{ids[2]}"')[1].split("</tr>")[0]
    assert "does not follow the event before it" in row


def test_the_daily_incident_report(app, admin, provider, make_user, clock, runner):
    staff, _, _ = signed_in(app, make_user, clock, "frontdesk", role="staff")
    staff.get("/epcs")  # refused staff access
    intruder = app.test_client()
    sign_in(intruder, provider["username"], "wrong password here")  # a failure
    intruder.post("/login", data={"username": provider["username"], "password": "correct horse battery"})
    intruder.post("/login/verify/code-generator", data={"code": "000000"})  # a refused code
    day = clock.now.date().isoformat()
    page = admin.get(f"/admin/audit/report?day={day}").get_data(as_text=True)
    for heading in ("Failures", "Locks and unlocks", "Denied pushes", "Refused staff access", "Permission changes",
                    "Recoveries and lost devices"):
        assert heading in page
    assert "Refused staff access (1)" in page and "Failures (2)" in page and "/epcs" in page
    result = runner.invoke(args=["audit", "report", "--day", day])
    assert result.exit_code == 0
    assert f"Incident report for {day}" in result.output and "Refused staff access (1)" in result.output
    assert "access_refused" in result.output and "code_refused" in result.output
    other = runner.invoke(args=["audit", "report", "--day", "2001-01-01"])
    assert "0 events" in other.output and "Failures (0)" in other.output
    assert runner.invoke(args=["audit", "report", "--day", "yesterday"]).exit_code != 0
    page = admin.get("/admin/audit/report?day=nonsense").get_data(as_text=True)
    assert "That day is not a date" in page
