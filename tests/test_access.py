"""One guard for the whole app (portal/access.py): every provider page answers 403 to staff (and
to every other non-provider) and the refusal is audited; a staff member reaches nothing else a
provider has. Proved by walking app.url_map, so a page added later is covered too."""

import re

import pytest
from sqlalchemy import func, select

from portal import access
from portal.extensions import db
from portal.models import AuditEvent
from tests.epcs_helpers import signed_in

# what a front-desk member may open (GET, 200): their own sign-in and security pages, the front desk
STAFF_MAY_OPEN = {
    "auth.index", "auth.login", "auth.choose_method", "auth.verify_code", "auth.step_up", "auth.step_up_code",
    "auth.password_link", "devices.security", "devices.cg_intro", "devices.cg_done", "devices.rename",
    "devices.remove", "devices.report_lost", "push.intro", "text.intro", "tokens.index", "tokens.authenticate",
    "tokens.add", "tokens.resync", "tokens.status", "tokens.authenticate_code", "clinic.index", "clinic.export",
    "clinic.sheet", "recovery.start", "recovery.sent", "recovery.link", "recovery.done", "recovery.resume",
    "recovery.identity", "recovery.scan", "recovery.confirm", "recovery.name", "recovery.password",
}


def url_for_rule(rule) -> str:
    """A concrete URL for a rule: 1 for each int, "x" for each string argument."""
    url = re.sub(r"<int:[^>]+>", "1", str(rule))
    return re.sub(r"<(?:[a-z]+:)?[^>]+>", "x", url)


def provider_rules(app):
    rules = [r for r in app.url_map.iter_rules() if access.is_provider_page(r.endpoint)]
    assert {r.endpoint.partition(".")[0] for r in rules} == access.PROVIDER_BLUEPRINTS
    return rules


def refusals(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(AuditEvent.action == "access_refused"))


@pytest.mark.parametrize("role", ["staff", "admin", "trainer"])
def test_every_provider_page_is_403_for_everyone_else_and_audited(app, make_user, clock, role):
    client, user_id, _ = signed_in(app, make_user, clock, f"{role}.x", role=role, admin_rights=role == "admin")
    before = refusals(app)
    tried = 0
    for rule in provider_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(url_for_rule(rule), method=method, data={"code": "123456", "pin": "2580"})
            assert r.status_code == 403, (rule, method, r.status_code)
            assert "You do not have access to this page." in r.get_data(as_text=True)
            tried += 1
    assert tried >= 15
    assert refusals(app) - before == tried
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access_refused")
                                   .order_by(AuditEvent.id.desc())).first()
        assert event.subject_id == user_id and event.detail.startswith(f"{role} refused a provider page: ")


def test_providers_pass_the_guard(app, client, provider):
    for rule in provider_rules(app):
        if "GET" in rule.methods and not rule.arguments:
            assert client.get(url_for_rule(rule)).status_code != 403, rule
    assert refusals(app) == 0


def test_staff_reach_nothing_else_of_a_provider(app, make_user, clock):
    """Every GET page of the app, as front desk staff: a page opens (200) only if it is one of
    their own (STAFF_MAY_OPEN); everything else is refused, missing, or a redirect."""
    client, _, _ = signed_in(app, make_user, clock, "frontdesk", role="staff")
    opened = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.startswith("phone."):
            continue
        r = client.get(url_for_rule(rule))
        assert "Traceback" not in r.get_data(as_text=True)
        if r.status_code == 200:
            opened.add(rule.endpoint)
    assert opened <= STAFF_MAY_OPEN, opened - STAFF_MAY_OPEN
    assert {"clinic.index", "clinic.export", "devices.security"} <= opened


def test_the_header_links_only_where_the_role_may_go(app, make_user, clock):
    staff, _, _ = signed_in(app, make_user, clock, "frontdesk", role="staff")
    page = staff.get("/clinic").get_data(as_text=True)
    assert 'href="/clinic"' in page and 'href="/epcs"' not in page and "/admin/" not in page
    doctor, _, _ = signed_in(app, make_user, clock, "dr.who")
    page = doctor.get("/security").get_data(as_text=True)
    assert 'href="/epcs"' in page and 'href="/clinic"' not in page
