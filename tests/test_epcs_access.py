"""EPCS readiness and logical access control: identity attested by an admin; EPCS permission
granted by one person with admin rights and approved by another, one of them a DEA registrant."""

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, EpcsPermission, User
from tests.epcs_helpers import DEA, create_pin, signed_in


@pytest.fixture
def people(app, make_user, clock):
    """Admin A (the admin role, no DEA number), registrant B (a provider with a DEA number and
    admin rights), admin C (another admin role), and the provider Dr. Rx, each signed in."""
    a = signed_in(app, make_user, clock, "admin.a", role="admin", name="Avery Admin")
    b = signed_in(app, make_user, clock, "dr.registrant", dea=DEA["dr.registrant"], admin_rights=True,
                  name="Blair Registrant")
    c = signed_in(app, make_user, clock, "admin.c", role="admin", name="Casey Admin")
    rx = signed_in(app, make_user, clock, "dr.rx", dea=DEA["dr.rx"], name="Robin Rx")
    return {"a": a[0], "b": b[0], "c": c[0], "rx": rx[0], "rx_id": rx[1], "rx_secret": rx[2], "ids": {
        "a": a[1], "b": b[1], "c": c[1]}}


def permission(app, provider_id):
    with app.app_context():
        row = db.session.scalar(select(EpcsPermission).where(EpcsPermission.provider_id == provider_id)
                                .order_by(EpcsPermission.id.desc()))
        return None if row is None else {"id": row.id, "status": row.status, "granted_by": row.granted_by_id,
                                         "approved_by": row.approved_by_id}


def audit(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)))


def flashes(client):
    return client.get("/admin/epcs").get_data(as_text=True)


def test_attest_grant_approve_revoke(app, people):
    a, b, rx_id = people["a"], people["b"], people["rx_id"]
    page = a.get("/admin/epcs").get_data(as_text=True)
    assert "Robin Rx" in page and "BR1234563" in page and "Not verified" in page
    assert "Attest identity" in page and "Grant EPCS" in page

    assert a.post(f"/admin/epcs/{rx_id}/attest").status_code == 302
    with app.app_context():
        rx = db.session.get(User, rx_id)
        assert rx.identity_verified_at is not None and rx.identity_verified_by_id == people["ids"]["a"]
    assert "Verified" in a.get("/admin/epcs").get_data(as_text=True)

    a.post(f"/admin/epcs/{rx_id}/grant")
    granted = permission(app, rx_id)
    assert granted["status"] == "pending" and granted["granted_by"] == people["ids"]["a"]
    page = a.get("/admin/epcs").get_data(as_text=True)
    assert "Pending: granted by Avery Admin" in page and "You granted it: another person approves." in page

    # the granter cannot approve, even by posting directly
    a.post(f"/admin/epcs/permissions/{granted['id']}/approve")
    assert permission(app, rx_id)["status"] == "pending"
    assert "You granted this permission" in flashes(a)

    b.post(f"/admin/epcs/permissions/{granted['id']}/approve")
    approved = permission(app, rx_id)
    assert approved["status"] == "active" and approved["approved_by"] == people["ids"]["b"]
    assert "Active: granted by Avery Admin, approved by Blair Registrant" in b.get("/admin/epcs").get_data(as_text=True)

    page = people["rx"].get("/epcs").get_data(as_text=True)
    assert "Granted by Avery Admin and approved by Blair Registrant" in page

    a.post(f"/admin/epcs/permissions/{granted['id']}/revoke")
    assert permission(app, rx_id)["status"] == "revoked"
    for action in ("identity_attested", "permission_granted", "permission_approval_refused",
                   "permission_approved", "permission_revoked"):
        assert audit(app, action), action


def _attested_and_granted(app, people, granter):
    rx_id = people["rx_id"]
    people["a"].post(f"/admin/epcs/{rx_id}/attest")
    people[granter].post(f"/admin/epcs/{rx_id}/grant")
    return permission(app, rx_id)


def test_a_registrant_may_grant_and_an_admin_approve(app, people):
    granted = _attested_and_granted(app, people, "b")
    people["a"].post(f"/admin/epcs/permissions/{granted['id']}/approve")
    assert permission(app, people["rx_id"])["status"] == "active"


def test_one_of_the_two_must_be_a_registrant(app, people):
    granted = _attested_and_granted(app, people, "a")
    people["c"].post(f"/admin/epcs/permissions/{granted['id']}/approve")
    assert permission(app, people["rx_id"])["status"] == "pending"
    assert "must be a DEA registrant" in flashes(people["c"])


def test_double_clicks_change_nothing_twice(app, people):
    granted = _attested_and_granted(app, people, "a")
    people["a"].post(f"/admin/epcs/{people['rx_id']}/attest")
    assert "already attested" in flashes(people["a"])
    people["a"].post(f"/admin/epcs/{people['rx_id']}/grant")
    assert "already granted" in flashes(people["a"])
    people["b"].post(f"/admin/epcs/permissions/{granted['id']}/approve")
    people["b"].post(f"/admin/epcs/permissions/{granted['id']}/approve")
    assert "no longer waiting" in flashes(people["b"])
    with app.app_context():
        assert len(list(db.session.scalars(select(EpcsPermission)))) == 1
    assert len(audit(app, "permission_approved")) == 1 and len(audit(app, "identity_attested")) == 1
    people["a"].post(f"/admin/epcs/permissions/{granted['id']}/revoke")
    people["a"].post(f"/admin/epcs/permissions/{granted['id']}/revoke")
    assert len(audit(app, "permission_revoked")) == 1


def test_after_a_revoke_a_new_grant_starts_over(app, people):
    granted = _attested_and_granted(app, people, "a")
    people["b"].post(f"/admin/epcs/permissions/{granted['id']}/revoke")  # revoke a pending one
    people["a"].post(f"/admin/epcs/{people['rx_id']}/grant")
    again = permission(app, people["rx_id"])
    assert again["id"] != granted["id"] and again["status"] == "pending"


def test_grant_needs_an_attested_identity_and_a_dea_number(app, people, make_user):
    people["a"].post(f"/admin/epcs/{people['rx_id']}/grant")
    assert permission(app, people["rx_id"]) is None
    assert "Attest the provider's identity first." in flashes(people["a"]).replace("&#39;", "'")
    no_dea, _ = make_user("dr.nodea")
    people["a"].post(f"/admin/epcs/{no_dea}/attest")
    people["a"].post(f"/admin/epcs/{no_dea}/grant")
    assert permission(app, no_dea) is None
    assert "no DEA number on file" in flashes(people["a"])


def test_nobody_acts_on_their_own_access(app, people):
    b_id = people["ids"]["b"]
    people["b"].post(f"/admin/epcs/{b_id}/attest")
    people["a"].post(f"/admin/epcs/{b_id}/attest")
    people["b"].post(f"/admin/epcs/{b_id}/grant")
    assert permission(app, b_id) is None
    assert "nobody attests, grants or approves their own" in flashes(people["b"])
    people["a"].post(f"/admin/epcs/{b_id}/grant")
    people["b"].post(f"/admin/epcs/permissions/{permission(app, b_id)['id']}/approve")
    assert permission(app, b_id)["status"] == "pending"
    page = people["b"].get("/admin/epcs").get_data(as_text=True)
    row = re.search(rf'<tr id="provider-{b_id}">.*?</tr>', page, re.S).group(0)
    assert "(you)" in row and "Approve" not in row


def test_admin_actions_need_a_fresh_second_factor_but_revoke_does_not(app, people, clock):
    rx_id = people["rx_id"]
    clock.advance(6 * 60)
    r = people["a"].post(f"/admin/epcs/{rx_id}/attest")
    assert r.status_code == 302 and "/verify?next=/admin/epcs" in r.headers["Location"]
    with app.app_context():
        assert db.session.get(User, rx_id).identity_verified_at is None
    with app.app_context():
        db.session.add(EpcsPermission(provider_id=rx_id, status="active", granted_by_id=people["ids"]["a"],
                                      granted_at=clock(), approved_by_id=people["ids"]["b"], approved_at=clock()))
        db.session.commit()
    people["c"].post(f"/admin/epcs/permissions/{permission(app, rx_id)['id']}/revoke")
    assert permission(app, rx_id)["status"] == "revoked"


@pytest.mark.parametrize("who", ["provider", "staff", "trainer"])
def test_admin_pages_need_admin_rights(app, make_user, clock, people, who):
    client, _, _ = signed_in(app, make_user, clock, f"{who}.x", role=who)
    assert client.get("/admin/epcs").status_code == 403
    assert client.post(f"/admin/epcs/{people['rx_id']}/attest").status_code == 403
    assert client.post(f"/admin/epcs/{people['rx_id']}/grant").status_code == 403
    with app.app_context():
        assert db.session.get(User, people["rx_id"]).identity_verified_at is None
    assert app.test_client().get("/admin/epcs").status_code == 302  # signed out: to sign in


def test_unknown_ids_are_404(people):
    a = people["a"]
    assert a.post("/admin/epcs/999999/grant").status_code == 404
    assert a.post(f"/admin/epcs/{people['ids']['c']}/grant").status_code == 404  # not a provider
    assert a.post("/admin/epcs/permissions/999999/approve").status_code == 404


def test_the_checklist_shows_each_item_and_its_way_to_finish(app, people, clock):
    client = people["rx"]
    page = client.get("/epcs").get_data(as_text=True)
    assert page.count("To do") == 3 and page.count(">Done<") == 1  # the device is done
    assert "Create EPCS PIN" in page and "Compose Rx" not in page
    assert "ask your practice admin" in page
    assert client.get("/epcs/compose").headers["Location"].endswith("/epcs")
    create_pin(client, clock, people["rx_secret"])
    granted = _attested_and_granted(app, people, "a")
    page = client.get("/epcs").get_data(as_text=True)
    assert "Verified on" in page and "by Avery Admin" in page and "waiting for a second person" in page
    assert "Reset EPCS PIN" in page and "Create EPCS PIN" not in page
    people["b"].post(f"/admin/epcs/permissions/{granted['id']}/approve")
    page = client.get("/epcs").get_data(as_text=True)
    assert "You are ready to sign" in page and "Compose Rx" in page and "To do" not in page


@pytest.mark.parametrize(("args", "ok"), [
    (["--dea", "BR1234563"], True),
    (["--dea", "br1234563", "--admin"], True),
    (["--dea", "BR1234564"], False),  # check digit
    (["--dea", "QR1234563"], False),  # registrant type
    (["--dea", "BR123456"], False),
])
def test_users_create_validates_the_dea_number(app, runner, args, ok):
    result = runner.invoke(args=["users", "create", "dr.cli", "--role", "provider", "--name", "Cli Doc",
                                 "--email", "cli@example.test", "--password", "a long enough password", *args])
    assert (result.exit_code == 0) == ok, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "dr.cli"))
        if ok:
            assert user.dea_number == "BR1234563" and user.has_admin_rights == ("--admin" in args)
        else:
            assert user is None and "DEA" in result.output
