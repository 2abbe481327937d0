"""Faults: the database goes away under load; an instance folder that cannot be written at start;
a server without keys. (A worker killed mid-wizard is in tests/test_workers.py.)"""

import os
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.cli import create_user
from portal.extensions import db
from portal.models import Device
from tests.conftest import config_for, make_database
from tests.live import Browser, Gunicorn
from tests.otp_reference import totp_now
from tests.tcp_proxy import Proxy


def now():
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_postgresql_gone_for_ten_seconds_under_load(tmp_path_factory, keys):
    url, drop = make_database("postgresql", tmp_path_factory)
    parts = urlsplit(url)
    proxy = Proxy(parts.hostname, parts.port or 5432)
    proxied = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    app = create_app(config_for(url, keys))
    with app.app_context():
        db.create_all()
        create_user("dr.fault", "provider", "Fault Doctor", "f@example.test", "correct horse battery")
        db.session.commit()
    server = Gunicorn({"DATABASE_URL": proxied, "PORTAL_BCRYPT_ROUNDS": "4", **keys}, 2).start()
    try:
        b = Browser(server.url)
        b.sign_in("dr.fault")
        b.get("/security/code-generator")
        b.post("/security/code-generator")
        secret = b.secret_key()
        b.post("/security/code-generator/scan")
        b.get("/security/code-generator/confirm")
        b.post("/security/code-generator/confirm", {"code": totp_now(secret, now())})
        b.get("/security/code-generator/name")

        statuses, bodies, stop = [], [], threading.Event()

        def browse():
            reader = Browser(server.url)
            reader.http.cookies.update(b.http.cookies)
            while not stop.is_set():
                try:
                    r = reader.get("/security", allow_redirects=False)
                    statuses.append(r.status_code)
                    if r.status_code >= 500:
                        bodies.append(r.text)
                except Exception as exc:  # noqa: BLE001
                    statuses.append(type(exc).__name__)
                time.sleep(0.02)

        loaders = [threading.Thread(target=browse) for _ in range(3)]
        for t in loaders:
            t.start()
        time.sleep(1)
        proxy.cut()
        time.sleep(0.5)
        gap = b.post("/security/code-generator/name", {"name": "Phone"})  # the last step, while it is gone
        time.sleep(9.5)
        proxy.restore()
        recovered_at = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if Browser(server.url).get("/login").status_code == 200:
                recovered_at = time.monotonic()
                break
            time.sleep(0.2)
        time.sleep(1)
        stop.set()
        for t in loaders:
            t.join()
        assert gap.status_code == 503 and "Please try again" in gap.text
        assert recovered_at is not None, "the portal did not recover by itself"
        assert set(s for s in statuses if not isinstance(s, int)) == set(), statuses
        assert set(statuses) <= {200, 302, 503}, [b[:300] for b in bodies if "Please try again" not in b]
        assert 503 in statuses and statuses[-1] in (200, 302)  # 302: this new provider is sent to set up
        assert all("Please try again" in body and "Traceback" not in body for body in bodies)
        with app.app_context():  # nothing half-written: no device from the step that failed
            assert db.session.scalar(select(func.count()).select_from(Device)) == 0
        r = b.post("/security/code-generator/name", {"name": "Phone"})  # the user simply tries again
        assert "/done/" in r.headers["Location"]
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Device)) == 1
    finally:
        log = server.stop()
        proxy.close()
        with app.app_context():
            db.engine.dispose()
        drop()
    assert "Traceback" not in log


def test_init_db_with_an_instance_folder_it_cannot_write_says_so(tmp_path, keys, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the instance folder should be")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_VAULT_KEY", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    app.instance_path = str(blocker / "instance")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code != 0
    assert "Cannot write" in result.output and "Traceback" not in result.output


def test_wsgi_without_keys_refuses_with_a_message_not_a_traceback(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    out = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=os.path.dirname(os.path.dirname(__file__)),
                         env={**env, "PORTAL_INSTANCE_PATH": str(tmp_path)}, capture_output=True, text=True)
    assert out.returncode != 0
    assert "init-db" in out.stderr and "Traceback" not in out.stderr
