"""make bench: figures, printed (never asserted in tests).

Serves the portal and a bare Flask route with gunicorn (2 sync workers each, one at a time), loads
each with wrk from the same machine, and prints requests/s, p50/p99 latency, their ratio, and the
SQL statements one page costs. BENCH_DATABASE_URL (e.g. PostgreSQL) replaces the default SQLite.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datetime import UTC, datetime  # noqa: E402

from sqlalchemy import event  # noqa: E402

from portal import create_app  # noqa: E402
from portal.cli import create_user  # noqa: E402
from portal.config import database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from tests.otp_reference import totp_now  # noqa: E402

DURATION = os.environ.get("BENCH_SECONDS", "8")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "8")
PASSWORD = "bench password 1"


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(module: str, env: dict, workers: int = 2):
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", module],
        cwd=ROOT, env={**os.environ, **env})
    try:
        for _ in range(100):
            try:
                with closing(socket.create_connection(("127.0.0.1", port), timeout=0.2)):
                    break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def wrk(url: str, cookie: str | None = None) -> dict:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency", url]
    if cookie:
        args[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
            "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


@contextmanager
def scratch_database(tmp: Path):
    """SQLite in a temporary folder, or a new database on BENCH_DATABASE_URL's PostgreSQL server."""
    server = os.environ.get("BENCH_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp / 'bench.sqlite3'}"
        return
    import psycopg

    admin = server.replace("postgresql+psycopg://", "postgresql://")
    name = f"portal_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(admin.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url: str) -> tuple[dict, str, int]:
    """A portal with one provider who has a code generator; returns the environment, a signed-in
    cookie, and the SQL statements of one /security page."""
    from cryptography.fernet import Fernet

    env = {"DATABASE_URL": url, "PORTAL_BCRYPT_ROUNDS": "4", "PORTAL_SECRET_KEY": os.urandom(32).hex(),
           "PORTAL_VAULT_KEY": Fernet.generate_key().decode()}
    subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "app", "init-db"], cwd=ROOT, check=True,
                   env={**os.environ, **env}, capture_output=True)
    os.environ.update(env)
    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        create_user("dr.bench", "provider", "Bench Doctor", "bench@example.test", PASSWORD)
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "dr.bench", "password": PASSWORD})
    client.post("/security/code-generator")
    page = client.get("/security/code-generator/scan").get_data(as_text=True)
    secret = re.search(r'class="secret-key"[^>]*><code>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    client.post("/security/code-generator/scan")
    now = datetime.now(UTC).replace(tzinfo=None)
    client.post("/security/code-generator/confirm", data={"code": totp_now(secret, now)})
    client.post("/security/code-generator/name", data={"name": "Bench phone"})
    cookie = f"portal_session={client.get_cookie('portal_session').value}"
    assert client.get("/security").status_code == 200
    statements = []
    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    client.get("/security")
    event.remove(engine, "before_cursor_execute", count)
    counted = [s for s in statements if not s.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    return env, cookie, len(counted)


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: make bench installs it (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp)) as url:
        env, cookie, statements = prepare(url)
        with gunicorn("bench.bare_app:app", env) as base:
            wrk(f"{base}/bare")  # warm-up
            bare = wrk(f"{base}/bare")
        with gunicorn("wsgi:app", env) as base:
            wrk(f"{base}/security", cookie)
            page = wrk(f"{base}/security", cookie)
    backend = url.split(":")[0]
    print(f"\n## Sign In & Security vs a bare Flask route "
          f"(gunicorn -w 2, wrk -c{CONNECTIONS} {DURATION}s, {backend})\n")
    print("| route | requests/s | p50 ms | p99 ms | non-2xx |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in (("bare Flask route /bare", bare), ("/security, signed in", page)):
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} |")
    print(f"\n/security throughput is {100 * page['rps'] / bare['rps']:.0f}% of the bare route's (aim: at least 40%).")
    print(f"SQL statements for one /security page: {statements} (aim: at most 4; transaction control not counted).")
    bench_tokens = ROOT / "bench" / "bench_tokens.py"
    if bench_tokens.exists():
        subprocess.run([sys.executable, str(bench_tokens)], check=True)


if __name__ == "__main__":
    main()
