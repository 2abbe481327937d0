"""The token inventory page (/admin/tokens): upload a seed file, list by status, revoke."""

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Device, HardwareToken
from tests.conftest import setup_code_generator, sign_in
from tests.otp_reference import rfc4226_hotp
from tests.test_tokens import add_token, authenticate, hotp, sign_in_with_token, token

DATA = Path(__file__).parent / "data"


@pytest.fixture
def admin(app, make_user, clock):
    client = app.test_client()
    _, username = make_user("admin", role="admin")
    sign_in(client, username)
    setup_code_generator(client, clock, "Admin phone")
    return client


def upload(client, name: str, content: bytes | None = None, psk: str = ""):
    data = content if content is not None else (DATA / name).read_bytes()
    return client.post("/admin/tokens/import", data={"seed_file": (io.BytesIO(data), name), "psk": psk},
                       content_type="multipart/form-data")


def test_only_admins(client, provider):
    assert client.get("/admin/tokens").status_code == 403
    assert upload(client, "tokens.csv").status_code == 403
    client.post("/logout")
    r = client.get("/admin/tokens")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_upload_csv_and_pskc_then_the_same_file_again(app, admin):
    page = upload(admin, "tokens.csv").get_data(as_text=True)
    assert "Imported: 3 tokens." in page
    assert "Unassigned (3)" in page and "GALH00000002" in page and "TOTP, 8 digits, 30 s" in page
    page = upload(admin, "tokens.csv").get_data(as_text=True)
    assert "Imported: 0 tokens." in page and "Duplicates: 3 already in the inventory" in page
    page = upload(admin, "rfc6030_psk.pskcxml", psk="1234 5678 9012 3456 7890 1234 5678 9012").get_data(as_text=True)
    assert "Imported: 1 tokens." in page and "987654321" in page
    with app.app_context():
        detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "tokens_imported")
                                   .order_by(AuditEvent.id.desc()).limit(1))
    assert detail == "1 tokens from rfc6030_psk.pskcxml"


def test_a_bad_file_imports_nothing_and_says_why(app, admin):
    bad = f"GALH1,{b'12345678901234567890'.hex()}\nGALH2,{'ab' * 8}ff\nGALH3,zz\n".encode()
    page = upload(admin, "vendor.csv", bad).get_data(as_text=True)
    assert "Rejected: 2 rows. Nothing was imported" in page
    assert "line 2: seed (hex) must be 16 to 64 bytes, not 9" in page
    assert "line 3: seed must be 16 to 64 bytes of hex; it contains characters that are not hex digits" in page
    page = upload(admin, "rfc6030_psk.pskcxml", psk="00" * 16).get_data(as_text=True)
    assert "wrong pre-shared key" in page or "MAC check failed" in page
    page = upload(admin, "rfc6030_psk.pskcxml", psk="xyz").get_data(as_text=True)
    assert "must be hexadecimal" in page
    page = admin.post("/admin/tokens/import", data={}, content_type="multipart/form-data").get_data(as_text=True)
    assert "Choose the vendor&#39;s seed file." in page
    with app.app_context():
        assert db.session.scalar(select(HardwareToken.id)) is None


def test_list_by_status_and_revoke_an_assigned_token(app, admin, client, provider, clock, runner):
    upload(admin, "tokens.csv")
    authenticate(client, provider, clock)
    assert add_token(client, "GALH00000001", hotp(10), hotp(11)).status_code == 302
    page = admin.get("/admin/tokens?status=active").get_data(as_text=True)
    assert "GALH00000001" in page and "GALH00000002" not in page and "Test Dr.Test (dr.test)" in page
    assert "Active (1)" in page and "Unassigned (2)" in page
    page = admin.get("/admin/tokens/GALH00000001/revoke").get_data(as_text=True)
    assert "Revoke token GALH00000001?" in page
    r = admin.post("/admin/tokens/GALH00000001/revoke", data={"reason": ""})
    assert "Say why the token is revoked" in r.get_data(as_text=True)
    r = admin.post("/admin/tokens/GALH00000001/revoke", data={"reason": "reported lost"})
    assert r.status_code == 302
    r = admin.post("/admin/tokens/GALH00000001/revoke", data={"reason": "reported lost"})  # a second click
    assert r.status_code == 302
    row = token(app, "GALH00000001")
    assert row.status == "revoked" and row.revoked_at is not None
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.token_serial == "GALH00000001"))
        assert device.status == "removed"
        revoked = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "token_revoked")).all()
    assert revoked == ["hardware token GALH00000001: reported lost"]
    assert "Revoked (1)" in admin.get("/admin/tokens?status=revoked").get_data(as_text=True)
    # its codes stop working, and it cannot be added again, by anyone
    client.post("/logout")
    r = sign_in_with_token(client, provider["username"], hotp(12))
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/verify")  # no such method any more
    assert runner.invoke(args=["tokens", "simulate", "GALH00000001"]).exit_code == 1
    assert admin.get("/admin/tokens/NOSUCH/revoke").status_code == 404


def test_revoke_needs_a_fresh_second_factor(app, admin, clock):
    upload(admin, "tokens.csv")
    clock.advance(6 * 60)
    r = admin.get("/admin/tokens/GALH00000002/revoke")
    assert r.status_code == 302 and "/verify" in r.headers["Location"]
    assert token(app, "GALH00000002").status == "unassigned"


def test_no_seed_on_any_admin_page(app, admin):
    page = upload(admin, "tokens.csv").get_data(as_text=True)
    page += admin.get("/admin/tokens").get_data(as_text=True)
    assert b"12345678901234567890".hex() not in page and "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA" not in page
    assert rfc4226_hotp(b"12345678901234567890", 0) not in page
