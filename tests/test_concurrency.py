"""Races, with real threads and real database connections (SQLite and PostgreSQL)."""

import threading

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import User
from tests.conftest import sign_in
from tests.otp_reference import totp_now

N = 20


def race(app, clients, post):
    """Every client posts at the same moment; returns the status codes."""
    barrier = threading.Barrier(len(clients))
    results = [None] * len(clients)

    def run(i, c):
        barrier.wait()
        results[i] = post(c).status_code

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_code_submitted_concurrently_is_accepted_once(app, provider, clock):
    clock.advance(30)
    code = totp_now(provider["secret"], clock.now)
    browsers = [app.test_client() for _ in range(N)]
    for b in browsers:
        assert sign_in(b, provider["username"]).status_code == 302
    results = race(app, browsers, lambda b: b.post("/login/verify/code-generator", data={"code": code}))
    assert results.count(302) == 1, results
    assert results.count(200) == N - 1
    with app.app_context():
        assert audit.verify(db.session).ok  # the chain did not fork under concurrent appends


def test_a_burst_of_concurrent_guesses_cannot_slip_past_the_wait(app, provider, clock):
    """One user's tries are checked one at a time: after the fifth failure the rest of the burst is
    refused unchecked and uncounted, exactly as if the guesses had come one by one."""
    browsers = [app.test_client() for _ in range(N)]
    for b in browsers:
        sign_in(b, provider["username"])
    bodies = []
    race(app, browsers, lambda b: bodies.append(
        b.post("/login/verify/code-generator", data={"code": "000000"})) or bodies[-1])
    waits = sum("Wait 30 seconds" in r.get_data(as_text=True) for r in bodies)
    with app.app_context():
        assert db.session.scalar(select(User.otp_failures).where(User.id == provider["id"])) == 5
        assert waits == N - 5
        report = audit.verify(db.session)
        assert report.ok, report
