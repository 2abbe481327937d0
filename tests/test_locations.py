"""Practice locations: Change your prescribing location (in the header); EPCS permission per
location; Copy EPCS credentials to an additional location (a fresh second factor, then that
location's permission through the same two-person rule)."""

import pytest
from sqlalchemy import select

from portal import locations
from portal.extensions import db
from portal.models import EpcsPermission, Location
from tests.epcs_helpers import DEA, compose, create_pin, grant_directly, next_code, signed_in


@pytest.fixture
def clinic(app, make_user, clock):
    admin, admin_id, admin_secret = signed_in(app, make_user, clock, "admin.a", role="admin", name="Avery Admin")
    registrant, registrant_id, registrant_secret = signed_in(
        app, make_user, clock, "dr.registrant", dea=DEA["dr.registrant"], admin_rights=True, name="Blair Registrant")
    rx, rx_id, secret = signed_in(app, make_user, clock, "dr.rx", dea=DEA["dr.rx"], name="Robin Rx")
    create_pin(rx, clock, secret)
    grant_directly(app, rx_id, admin_id, registrant_id)  # at the main location, made on the way
    with app.test_request_context():
        riverside = locations.add("Riverside Office", None)
        db.session.commit()
        riverside_id = riverside.id
    return {"admin": admin, "registrant": registrant, "rx": rx, "rx_id": rx_id, "secret": secret,
            "riverside": riverside_id, "admin_secret": admin_secret, "registrant_secret": registrant_secret}


def permissions(app, provider_id):
    with app.app_context():
        return [(p.location.name, p.status) for p in db.session.scalars(
            select(EpcsPermission).where(EpcsPermission.provider_id == provider_id).order_by(EpcsPermission.id))]


def test_a_permission_written_without_a_location_belongs_to_the_main_one(app, clinic):
    with app.app_context():
        assert [loc.name for loc in db.session.scalars(select(Location).order_by(Location.id))] == [
            "Main office", "Riverside Office"]
    assert permissions(app, clinic["rx_id"]) == [("Main office", "active")]


def test_the_header_shows_the_prescribing_location_and_changes_it(app, clinic):
    rx = clinic["rx"]
    page = rx.get("/epcs").get_data(as_text=True)
    assert "Prescribing at <strong>Main office</strong>" in page and "Change your prescribing location" in page
    assert "You are ready to sign" in page
    page = rx.get("/epcs/location").get_data(as_text=True)
    assert "Change your prescribing location" in page and "Riverside Office" in page
    r = rx.post("/epcs/location", data={"location": str(clinic["riverside"])})
    assert r.headers["Location"].endswith("/epcs")
    page = rx.get("/epcs").get_data(as_text=True)
    assert "Prescribing at <strong>Riverside Office</strong>" in page
    assert "You are ready to sign" not in page and "at Riverside Office" in page
    assert compose(rx).headers["Location"].endswith("/epcs")  # no permission here: no signing
    assert "Choose one of the practice" in rx.post("/epcs/location", data={"location": "999"}).get_data(as_text=True)


def test_copy_epcs_credentials_to_an_additional_location(app, clinic, clock):
    rx, riverside = clinic["rx"], clinic["riverside"]
    page = rx.get("/epcs/location").get_data(as_text=True)
    assert f'href="/epcs/location/{riverside}/copy"' in page
    clock.advance(6 * 60)
    r = rx.get(f"/epcs/location/{riverside}/copy")
    assert "/verify" in r.headers["Location"]  # a fresh second factor first
    rx.post("/verify/code-generator", data={"code": next_code(clock, clinic["secret"])})
    page = rx.get(f"/epcs/location/{riverside}/copy").get_data(as_text=True)
    assert "Copy EPCS credentials to an additional location" in page
    rx.post(f"/epcs/location/{riverside}/copy")
    rx.post(f"/epcs/location/{riverside}/copy")  # a second click: one request
    assert permissions(app, clinic["rx_id"]) == [("Main office", "active"), ("Riverside Office", "requested")]

    for who in ("admin", "registrant"):  # granting and approving need their own fresh second factor
        clinic[who].post("/verify/code-generator", data={"code": next_code(clock, clinic[f"{who}_secret"])})
    page = clinic["admin"].get(f"/admin/epcs?location={riverside}").get_data(as_text=True)
    assert "EPCS permission at Riverside Office" in page and "Requested: Robin Rx copied" in page
    assert clinic["admin"].post(f"/admin/epcs/permissions/{_live_id(app, clinic, riverside)}/approve").status_code \
        == 302
    assert permissions(app, clinic["rx_id"])[-1] == ("Riverside Office", "requested")  # grant comes first
    clinic["admin"].post(f"/admin/epcs/{clinic['rx_id']}/grant?location={riverside}")
    assert permissions(app, clinic["rx_id"])[-1] == ("Riverside Office", "pending")
    clinic["registrant"].post(f"/admin/epcs/permissions/{_live_id(app, clinic, riverside)}/approve")
    assert permissions(app, clinic["rx_id"])[-1] == ("Riverside Office", "active")
    rx.post("/epcs/location", data={"location": str(riverside)})
    assert "You are ready to sign" in rx.get("/epcs").get_data(as_text=True)


def _live_id(app, clinic, location_id):
    with app.app_context():
        return db.session.scalar(select(EpcsPermission.id).where(
            EpcsPermission.provider_id == clinic["rx_id"], EpcsPermission.location_id == location_id,
            EpcsPermission.status != "revoked"))


def test_nothing_to_copy_before_the_provider_is_ready_somewhere(app, make_user, clock, clinic):
    fresh, fresh_id, _ = signed_in(app, make_user, clock, "dr.fresh", dea=DEA["dr.other"])
    page = fresh.get("/epcs/location").get_data(as_text=True)
    assert "/copy" not in page
    r = fresh.post(f"/epcs/location/{clinic['riverside']}/copy", follow_redirects=True)
    assert "Copy your EPCS credentials from a location where you are ready" in r.get_data(as_text=True)
    assert permissions(app, fresh_id) == []
    assert fresh.get("/epcs/location/999999/copy").status_code == 404


def test_the_admin_page_is_per_location(app, clinic):
    page = clinic["admin"].get("/admin/epcs").get_data(as_text=True)
    assert "EPCS permission at Main office" in page and "Active: granted by" in page
    page = clinic["admin"].get(f"/admin/epcs?location={clinic['riverside']}").get_data(as_text=True)
    assert "EPCS permission at Riverside Office" in page and "Active: granted by" not in page
    clinic["admin"].post(f"/admin/epcs/{clinic['rx_id']}/grant?location={clinic['riverside']}")
    assert permissions(app, clinic["rx_id"])[-1] == ("Riverside Office", "pending")
