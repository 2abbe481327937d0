"""Operations: backup while the portal runs, vault key rotation."""

import sqlite3

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import Device
from tests.conftest import complete_sign_in, config_for, sign_in


def test_keys_rotate_reencrypts_every_seed_and_the_old_key_can_go(app, provider, schema, keys, clock):
    new = Fernet.generate_key().decode()
    both = create_app(config_for(schema, keys, CLOCK=clock, PORTAL_VAULT_KEY=f"{new},{keys['PORTAL_VAULT_KEY']}"))
    result = both.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "Re-encrypted" in result.output
    only_new = create_app(config_for(schema, keys, CLOCK=clock, PORTAL_VAULT_KEY=new))
    client = only_new.test_client()
    sign_in(client, provider["username"])
    clock.advance(30)
    assert complete_sign_in(client, provider["secret"], clock).status_code == 302
    with only_new.app_context():
        sealed = db.session.scalar(select(Device.secret))
        assert Fernet(new.encode()).decrypt(sealed.encode())


def test_backup_copies_the_live_sqlite_database(app, provider, runner, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        result = runner.invoke(args=["backup", str(tmp_path / "copy.sqlite3")])
        assert result.exit_code != 0 and "pg_dump" in result.output
        return
    target = tmp_path / "copy.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT name FROM device").fetchall() == [("My iPhone",)]
    assert runner.invoke(args=["backup", str(target)]).exit_code != 0  # never overwrites


@pytest.mark.parametrize("cmd", [["keys", "new"]])
def test_keys_new_prints_a_fernet_key(runner, cmd):
    key = runner.invoke(args=cmd).output.strip()
    assert Fernet(key.encode())
