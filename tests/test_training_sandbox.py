"""The training sandbox's Reset demo (the trainer; back exactly as `flask demo` made it) and Guided
tour (each article beside its wizard, read from PORTAL_ARTICLES_PATH). Demo mode only: 404 otherwise."""

from pathlib import Path

import pytest
from sqlalchemy import select

from portal import articles
from portal.demo import demo_password
from portal.extensions import db
from portal.models import User
from portal.passwords import check_secret
from tests.conftest import setup_code_generator, sign_in
from tests.epcs_helpers import signed_in

DEMO = {"PORTAL_DEMO": True}
USER_FIELDS = ("id", "username", "email", "name", "role", "is_active_user", "password_failures",
               "password_locked_until", "otp_failures", "pin_hash", "pin_failures", "identity_verified_at",
               "dea_number", "has_admin_rights", "dob_hash", "ssn_last4_hash", "last_sign_in_at",
               "recovery_failures", "recovery_locked_until", "recovery_required_at")


def snapshot(app) -> dict:
    """Every table's rows (times of creation and bcrypt hashes aside: those are new on every seed)."""
    with app.app_context():
        tables = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            tables[table.name] = rows
        users = [tuple(row[f] for f in USER_FIELDS) for row in tables.pop("user")]
        places = [(row["id"], row["name"]) for row in tables.pop("location")]
        events = [(row["id"], row["action"], row["subject_id"], row["detail"]) for row in tables.pop("audit_event")]
        others = {name: len(rows) for name, rows in tables.items()}
        hashes = {u.username: u.password_hash for u in db.session.scalars(select(User))}
        return {"users": users, "locations": places, "events": events, "others": others, "hashes": hashes}


@pytest.mark.parametrize("app_config", [{}])
def test_nothing_of_the_sandbox_outside_demo_mode(app, make_user, clock):
    client, _, _ = signed_in(app, make_user, clock, "trainer", role="trainer")
    for path in ("/training/reset", "/training/tour"):
        assert client.get(path).status_code == 404
    for path in ("/training/reset", "/training/tour/002_9745c0f31f587e7f", "/training/tour/end"):
        assert client.post(path).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == "trainer")) is not None


@pytest.mark.parametrize("app_config", [DEMO])
@pytest.mark.parametrize("role", ["provider", "staff", "admin"])
def test_only_the_trainer_resets_the_demo(app, make_user, clock, role):
    client, _, _ = signed_in(app, make_user, clock, f"{role}.x", role=role)
    assert client.get("/training/reset").status_code == 403
    assert client.post("/training/reset").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == f"{role}.x")) is not None


@pytest.mark.parametrize("app_config", [DEMO])
def test_reset_demo_puts_everything_back_as_flask_demo_made_it(app, runner, clock):
    assert runner.invoke(args=["demo"]).exit_code == 0
    seeded = snapshot(app)
    assert seeded["locations"] == [(1, "Main Street Clinic"), (2, "Riverside Office")]
    # a morning of training: devices, a training phone, messages, a changed location
    trainer = app.test_client()
    sign_in(trainer, "trainer", demo_password("trainer"))
    setup_code_generator(trainer, clock, "Trainer phone")
    trainer.get("/training/phone")
    doctor = app.test_client()
    sign_in(doctor, "dr.rivera", demo_password("dr.rivera"))
    setup_code_generator(doctor, clock, "My iPhone")
    doctor.post("/security/text", data={"phone": "(201) 555-0123", "text_me": "Text me"})
    assert snapshot(app)["others"]["device"] == 2 and snapshot(app)["others"]["outbound_message"] > 0

    page = trainer.get("/training/reset").get_data(as_text=True)
    assert "Reset demo" in page and "dr.rivera-demo-pass" in page
    r = trainer.post("/training/reset")
    assert r.headers["Location"].endswith("/login")
    assert "The demo clinic is reset" in trainer.get("/login").get_data(as_text=True)
    assert doctor.get("/security").status_code == 302  # everyone is signed out

    after = snapshot(app)
    assert after["users"] == seeded["users"]
    assert after["locations"] == seeded["locations"]
    assert after["others"] == seeded["others"] and set(after["others"].values()) == {0}
    # the audit log is the demo's own, plus one event that records the reset
    assert after["events"][:-1] == seeded["events"]
    assert after["events"][-1][1] == "demo_reset"
    for username, hashed in after["hashes"].items():
        assert check_secret(demo_password(username), hashed), username
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


@pytest.fixture
def articles_folder(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "002_9745c0f31f587e7f.txt").write_text("iCoreConnect\n\nReset EPCS PIN\n1. Validate Passcode\n")
    (folder / "004_ad4c47d58d18b6c0.txt").write_text("Pair a new soft token\n\n10. verify your account ownership\n")
    (folder / "999_unknown.txt").write_text("An article with no wizard\n")
    (folder / "README.md").write_text("| file | article | what it covers |\n| --- | --- | --- |\n"
                                      "| 002_9745c0f31f587e7f.txt | iCoreRx: Reset EPCS PIN | the PIN reset |\n")
    return folder


@pytest.fixture
def app_config(articles_folder):
    return {**DEMO, "PORTAL_ARTICLES_PATH": str(articles_folder)}


def test_the_guided_tour_lists_each_article_with_its_wizard(app, client, provider):
    page = client.get("/training/tour").get_data(as_text=True)
    assert "iCoreRx: Reset EPCS PIN" in page and "the PIN reset" in page  # title from the folder's README
    assert "Pair a new soft token" in page  # else the first line
    assert "Open the wizard at step 1: Reset EPCS PIN" in page and "No wizard follows this article." in page
    r = client.post("/training/tour/002_9745c0f31f587e7f")
    assert r.headers["Location"].endswith("/pin/reset")
    page = client.get("/pin/reset", follow_redirects=True).get_data(as_text=True)  # no PIN yet: Create EPCS PIN
    assert "Step 1 of 2 · Validate Passcode" in page and "Guided tour · the article" in page
    assert "1. Validate Passcode" in page and "End tour" in page
    assert "Guided tour · the article" in client.get("/security").get_data(as_text=True)  # beside every page
    client.post("/training/tour/end")
    assert "Guided tour · the article" not in client.get("/pin/create").get_data(as_text=True)
    assert client.post("/training/tour/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.post("/training/tour/999_unknown").status_code == 404


def test_a_provider_only_wizard_is_not_offered_to_the_trainer(app, make_user, clock):
    trainer, _, _ = signed_in(app, make_user, clock, "trainer", role="trainer")
    page = trainer.get("/training/tour").get_data(as_text=True)
    assert "sign in as a demo provider" in page and "Open the wizard at step 1: Reset EPCS PIN" not in page
    assert "Open the wizard at step 1: Lost your device?" in page


@pytest.mark.parametrize("app_config", [{**DEMO, "PORTAL_ARTICLES_PATH": "/nonexistent/articles"}])
def test_without_the_articles_the_tour_says_where_it_looked(app, client, provider):
    r = client.get("/training/tour")
    assert r.status_code == 200 and "No articles were found in" in r.get_data(as_text=True)


def test_the_default_folder_is_shared_articles_beside_the_repository(app):
    with app.app_context():
        app.config["PORTAL_ARTICLES_PATH"] = ""
        repository = Path(app.root_path).parent
        assert articles.folder() == (repository / "../shared/articles").resolve()
        app.config["PORTAL_ARTICLES_PATH"] = "docs"
        assert articles.folder() == repository / "docs"
