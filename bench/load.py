"""make load: simulated providers against gunicorn + PostgreSQL (or SQLite), loopback only.

Each simulated provider signs in (a new provider: password only), sets up a code generator through
the wizard, then browses Sign In & Security until the time is up. Bounded in count and in time; it
stops by itself. Prints requests/s, p50/p95/p99 per page and errors.

    python bench/load.py --providers 100 --seconds 60       (make load)
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from portal import create_app  # noqa: E402
from portal.cli import create_user  # noqa: E402
from portal.extensions import db  # noqa: E402
from tests.live import Browser, Gunicorn  # noqa: E402
from tests.otp_reference import totp_now  # noqa: E402

PAGES = {  # path prefix -> page name in the report
    "/login": "POST /login (bcrypt)",
    "/security/code-generator/confirm": "wizard: confirm",
    "/security/code-generator/name": "wizard: name",
    "/security/code-generator/scan": "wizard: scan",
    "/security/code-generator": "wizard: start",
    "/security": "GET /security",
}


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.errors = defaultdict(int)
        self.server_errors = 0

    def timed(self, name, call):
        start = time.perf_counter()
        try:
            r = call()
        except Exception as exc:  # noqa: BLE001 — a load run counts every failure, it never stops on one
            with self.lock:
                self.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            self.times[name].append(elapsed)
            if r.status_code >= 500:
                self.server_errors += 1
                self.errors[f"{name}: HTTP {r.status_code}"] += 1
        return r


def provider_journey(base, username, password, deadline, rec: Recorder):
    b = Browser(base)
    b.get("/login")
    rec.timed(PAGES["/login"], lambda: b.post("/login", {"username": username, "password": password}))
    b.get("/security/code-generator")
    rec.timed(PAGES["/security/code-generator"], lambda: b.post("/security/code-generator"))
    page = rec.timed(PAGES["/security/code-generator/scan"], lambda: b.get("/security/code-generator/scan"))
    if page is None or "secret-key" not in page.text:
        return
    import re

    secret = re.search(r'class="secret-key"[^>]*><code>([A-Z2-7 ]+)</code>', page.text).group(1).replace(" ", "")
    b.post("/security/code-generator/scan")
    code = totp_now(secret, datetime.now(UTC).replace(tzinfo=None))
    rec.timed(PAGES["/security/code-generator/confirm"],
              lambda: b.post("/security/code-generator/confirm", {"code": code}))
    rec.timed(PAGES["/security/code-generator/name"],
              lambda: b.post("/security/code-generator/name", {"name": "Load phone"}))
    while True:  # browse at least once, however slow the sign-in was
        rec.timed(PAGES["/security"], lambda: b.get("/security"))
        if time.monotonic() >= deadline:
            break


def run(providers: int, seconds: float, database_url: str, workers: int) -> Recorder:
    keys = {"PORTAL_SECRET_KEY": os.urandom(32).hex(), "PORTAL_VAULT_KEY": Fernet.generate_key().decode()}
    password = "load test password"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "PORTAL_BCRYPT_ROUNDS": 12, **keys})
    with app.app_context():
        db.create_all()
        for i in range(providers):
            create_user(f"load{i}", "provider", f"Load Provider{i}", f"load{i}@example.test", password)
        db.session.commit()
        db.engine.dispose()
    server = Gunicorn({"DATABASE_URL": database_url, **keys}, workers).start()
    rec = Recorder()
    started = time.monotonic()
    deadline = started + seconds
    threads = [threading.Thread(target=provider_journey, args=(server.url, f"load{i}", password, deadline, rec))
               for i in range(providers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 120)
    finally:
        rec.elapsed = time.monotonic() - started
        rec.server_log = server.stop()
    return rec


def report(rec: Recorder, label: str) -> None:
    total = sum(len(v) for v in rec.times.values())
    print(f"\n## Load: {label}\n")
    print(f"{total} requests in {rec.elapsed:.1f} s = {total / rec.elapsed:.0f} requests/s; "
          f"5xx: {rec.server_errors}; client errors: {sum(rec.errors.values()) - rec.server_errors}\n")
    print("| page | requests | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in sorted(rec.times.items()):
        q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
        print(f"| {name} | {len(values)} | {q[49]:.1f} | {q[94]:.1f} | {q[98]:.1f} |")
    for what, n in sorted(rec.errors.items()):
        print(f"- {what}: {n}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    server_url = os.environ.get("LOAD_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        if server_url:
            from bench.bench import scratch_database

            os.environ["BENCH_DATABASE_URL"] = server_url
            with scratch_database(Path(tmp)) as url:
                rec = run(args.providers, args.seconds, url, args.workers)
        else:
            rec = run(args.providers, args.seconds, f"sqlite:///{Path(tmp) / 'load.sqlite3'}", args.workers)
    report(rec, f"{args.providers} providers, {args.seconds:.0f} s, gunicorn -w {args.workers}, "
                f"{'PostgreSQL' if server_url else 'SQLite'}")
    sys.exit(1 if rec.server_errors else 0)


if __name__ == "__main__":
    main()
