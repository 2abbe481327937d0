"""Many gunicorn workers sharing one database, over real HTTP: PostgreSQL with 4 workers when
TEST_DATABASE_URL is set, SQLite (WAL, busy timeout) with 2 workers always."""

import os
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal import create_app
from portal.cli import create_user
from portal.extensions import db
from portal.models import Device, User
from tests.conftest import BACKENDS, config_for, make_database
from tests.live import Browser, Gunicorn
from tests.otp_reference import totp_now

WORKERS = {"sqlite": 2, "postgresql": 4}


def now():
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture(params=BACKENDS)
def server(request, tmp_path_factory, keys):
    url, drop = make_database(request.param, tmp_path_factory)
    app = create_app(config_for(url, keys))
    with app.app_context():
        db.create_all()
    env = {"DATABASE_URL": url, "PORTAL_BCRYPT_ROUNDS": "4", **keys}
    g = Gunicorn(env, WORKERS[request.param]).start()
    g.app = app
    g.kind = request.param
    yield g
    output = g.stop()
    with app.app_context():
        db.engine.dispose()
    drop()
    assert "database is locked" not in output
    assert "Traceback" not in output, output[-3000:]


def make_provider(server, username: str) -> None:
    with server.app.app_context():
        create_user(username, "provider", "Test Doctor", f"{username}@example.test", "correct horse battery")
        db.session.commit()


def set_up_device(server, username: str) -> str:
    b = Browser(server.url)
    assert b.sign_in(username).status_code == 302
    b.get("/security/code-generator")
    b.post("/security/code-generator")
    secret = b.secret_key()
    b.post("/security/code-generator/scan")
    b.get("/security/code-generator/confirm")
    assert b.post("/security/code-generator/confirm", {"code": totp_now(secret, now())}).status_code == 302
    b.get("/security/code-generator/name")
    r = b.post("/security/code-generator/name", {"name": "My iPhone"})
    assert "/done/" in r.headers["Location"], r.text[:2000]
    return secret


def race(browsers, action):
    barrier = threading.Barrier(len(browsers))
    results = [None] * len(browsers)

    def run(i, b):
        barrier.wait()
        results[i] = action(b)

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(browsers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifty_concurrent_submissions_of_one_code_accept_exactly_one(server):
    make_provider(server, "dr.race")
    secret = set_up_device(server, "dr.race")
    browsers = [Browser(server.url) for _ in range(50)]
    for b in browsers:
        assert b.sign_in("dr.race").status_code == 302
        b.get("/login/verify/code-generator")
    code = totp_now(secret, now(), 1)  # a step the confirm did not use
    results = race(browsers, lambda b: b.post("/login/verify/code-generator", {"code": code}))
    statuses = [r.status_code for r in results]
    assert statuses.count(302) == 1, statuses
    assert all(s == 200 for s in statuses if s != 302), statuses


def test_thirty_concurrent_wrong_codes_are_checked_one_at_a_time(server):
    make_provider(server, "dr.guess")
    set_up_device(server, "dr.guess")
    browsers = [Browser(server.url) for _ in range(30)]
    for b in browsers:
        b.sign_in("dr.guess")
        b.get("/login/verify/code-generator")
    results = race(browsers, lambda b: b.post("/login/verify/code-generator", {"code": "000000"}))
    assert all(r.status_code == 200 for r in results)
    refused_unchecked = sum("Wait 30 seconds" in r.text for r in results)
    with server.app.app_context():
        failures = db.session.scalar(select(User.otp_failures).where(User.username == "dr.guess"))
    # DESIGN.md: after 5 failures each further try waits, and a try during a wait is neither checked
    # nor counted: the burst is checked exactly as if the guesses had come one by one
    assert failures == 5 and refused_unchecked == 25


def test_a_wizard_started_on_one_worker_finishes_on_another(server):
    make_provider(server, "dr.wizard")
    b = Browser(server.url)
    b.sign_in("dr.wizard")
    b.get("/security/code-generator")
    b.post("/security/code-generator")
    secret = b.secret_key()
    b.post("/security/code-generator/scan")
    # kill -9 every worker that may have served the steps so far; the master starts fresh ones
    before = set(server.worker_pids())
    for pid in before:
        os.kill(pid, 9)
    for _ in range(100):
        pids = set(server.worker_pids())
        if len(pids) == server.workers and not pids & before:
            break
        threading.Event().wait(0.1)
    b.get("/security/code-generator/confirm")
    assert b.post("/security/code-generator/confirm", {"code": totp_now(secret, now())}).status_code == 302
    b.get("/security/code-generator/name")
    assert "/done/" in b.post("/security/code-generator/name", {"name": "Phone"}).headers["Location"]
    with server.app.app_context():
        assert db.session.scalar(select(Device.name).join(User).where(User.username == "dr.wizard")) == "Phone"
