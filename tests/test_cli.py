"""The CLI: init-db (keys and migrations), demo, users create, audit verify."""

import os
import stat

import pytest
from sqlalchemy import select, text

from portal import NotInitialised, create_app, require_ready
from portal.extensions import db
from portal.models import AuditEvent, User
from tests.conftest import make_database


@pytest.fixture
def fresh(request, tmp_path, tmp_path_factory):
    """A new empty database of the run's kind and an empty instance folder."""
    kind = "postgresql" if "postgresql" in request.node.callspec.id else "sqlite"
    url, drop = make_database(kind, tmp_path_factory)
    yield url, tmp_path / "instance"
    drop()


@pytest.fixture(params=["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else []))
def backend(request):
    return request.param


def instance_app(url, instance, **extra):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PORTAL_BCRYPT_ROUNDS": 4, **extra})
    app.instance_path = str(instance)
    from portal import _load_keys

    _load_keys(app, instance)
    return app


def test_init_db_generates_keys_runs_migrations_and_the_models_match(backend, fresh, monkeypatch):
    url, instance = fresh
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_VAULT_KEY", raising=False)
    app = instance_app(url, instance)
    with pytest.raises(NotInitialised):
        require_ready(app)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    for name in ("secret_key", "vault_key"):
        mode = stat.S_IMODE(os.stat(instance / name).st_mode)
        assert mode == 0o600
    secret = (instance / "secret_key").read_text()
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0  # again: keys kept, nothing to do
    assert (instance / "secret_key").read_text() == secret
    assert require_ready(instance_app(url, instance))
    check = app.test_cli_runner().invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output  # the migrations produce exactly the models' schema
    with app.app_context():
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.engine.dispose()


def test_demo_seeds_once_and_prints_sign_ins(runner, app):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0
    assert "dr.rivera" in first.output and "dr.rivera-demo-pass" in first.output
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 5
        roles = sorted(db.session.scalars(select(User.role)))
        assert roles == ["admin", "provider", "provider", "staff", "trainer"]


def test_users_create_prompts_for_the_password_and_checks_input(runner, app):
    r = runner.invoke(args=["users", "create", "dr.new", "--role", "provider", "--name", "New Doctor",
                            "--email", "new@example.test"], input="a long enough password\na long enough password\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["users", "create", "dr.new", "--role", "provider", "--name", "X", "--email", "x@y",
                            "--password", "a long enough password"])
    assert r.exit_code != 0 and "already exists" in r.output
    r = runner.invoke(args=["users", "create", "dr.bad", "--role", "provider", "--name", "X", "--email", "x@y",
                            "--password", "short", "--dea", "AB1234564", "--ssn-last4", "12a4"])
    assert r.exit_code != 0
    assert "at least 12" in r.output and "check digit" in r.output and "4 digits" in r.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "dr.new"))
        assert user.password_hash.startswith(b"$2b$04$")  # bcrypt, at the configured cost


def test_audit_verify_flags_a_row_changed_in_the_database(runner, app, provider):
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    with app.app_context():
        first = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id).limit(1))
        db.session.execute(text("UPDATE audit_event SET detail = 'nothing happened' WHERE id = :id"), {"id": first})
        db.session.commit()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and f"BROKEN at event {first}" in bad.output


def test_audit_verify_flags_a_deleted_row(runner, app, provider):
    with app.app_context():
        second = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()[1]
        db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": second})
        db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
