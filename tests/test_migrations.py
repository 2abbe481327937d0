"""The migrations build the schema the models describe, on SQLite and PostgreSQL, and they
install the trigger that keeps signed prescriptions unchanged."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import create_app
from portal.extensions import db
from tests.conftest import BACKENDS, config_for, make_database


@pytest.fixture(params=BACKENDS)
def migrated_app(request, tmp_path_factory, keys):
    url, drop = make_database(request.param, tmp_path_factory)
    app = create_app(config_for(url, keys))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    yield app
    with app.app_context():
        db.engine.dispose()
    drop()


def test_upgrade_gives_the_models_schema(migrated_app):
    with migrated_app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def _insert_prescription(conn) -> None:
    conn.execute(text(
        "INSERT INTO \"user\" (id, username, email, name, role, is_active_user, password_hash, created_at) "
        "VALUES (1, 'dr.m', 'm@example.test', 'Dr M', 'provider', true, 'x', CURRENT_TIMESTAMP)"))
    conn.execute(text(
        "INSERT INTO device (id, user_id, kind, name, name_key, is_primary, status, added_at) "
        "VALUES (1, 1, 'totp', 'Phone', 'phone', true, 'active', CURRENT_TIMESTAMP)"))
    conn.execute(text(
        "INSERT INTO prescription (order_key, prescriber_id, patient_name, patient_dob, drug, strength, schedule, "
        "quantity, directions, signed_at, device_id, device_name, canonical, digest) VALUES ('k', 1, 'P', "
        "'1960-01-01', 'D', '5 mg', 'II', 10, 'as directed', CURRENT_TIMESTAMP, 1, 'Phone', '{}', 'x')"))


def test_the_migrated_database_refuses_to_change_a_signed_prescription(migrated_app):
    with migrated_app.app_context():
        with db.engine.begin() as conn:
            _insert_prescription(conn)
        with pytest.raises(DBAPIError, match="cannot be changed"), db.engine.begin() as conn:
            conn.execute(text("UPDATE prescription SET quantity = 100"))
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT quantity FROM prescription")).scalar_one() == 10


def test_downgrade_and_upgrade_again(migrated_app):
    directory = migrated_app.extensions["migrate"].directory
    with migrated_app.app_context():
        downgrade(directory=directory, revision="0001")
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM prescription")).scalar_one() == 0

