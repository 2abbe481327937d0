"""make bench: one report of figures, printed as a Markdown table and written to bench/results.md
(figures are never asserted in tests).

- Page throughput: Sign In & Security vs a bare Flask route, both served by gunicorn (2 sync
  workers), loaded with wrk from the same machine; their ratio; the SQL statements of one page.
- Sign-in cost (password, then a code), split into bcrypt (at the default cost, 12) and everything
  else, on an almost empty database and on a full one.
- /security with 100,000 providers and 300,000 devices in the database (seeded with bulk inserts)
  vs an almost empty one: in-process (no HTTP) and over HTTP with one connection, so no queueing.
  Each database has its own portal; the two are measured in alternating rounds, so that other work
  on the machine weighs on both alike. Every statement of the page and of a sign-in is EXPLAINed on
  the full database: a full scan of a big table is reported.
- Resident memory of each gunicorn worker after the load.
- The hardware-token sync search's worst case (bench/bench_tokens.py).

BENCH_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) selects PostgreSQL: two
scratch databases are made on that server and dropped at the end. Default: SQLite files in a
temporary folder. BENCH_SECONDS (8), BENCH_CONNECTIONS (8), BENCH_PROVIDERS (100000) tune it.
"""

import base64
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bcrypt  # noqa: E402
from sqlalchemy import event, insert, select, text  # noqa: E402

from bench import bench_tokens  # noqa: E402
from portal import create_app  # noqa: E402
from portal.cli import create_user  # noqa: E402
from portal.config import database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Device, User  # noqa: E402
from tests.otp_reference import totp_now  # noqa: E402

DURATION = os.environ.get("BENCH_SECONDS", "8")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "8")
PROVIDERS = int(os.environ.get("BENCH_PROVIDERS", "100000"))
WORKERS = 2
SIGN_INS = 12
ROUNDS = 3  # alternating latency runs of the empty and the full database
ROUND_SECONDS = str(max(2, int(DURATION) // 2))
PASSWORD = "bench password 1"
RESULTS = ROOT / "bench" / "results.md"
BIG_TABLES = ("user", "device")
SEEDED_DEVICES = [  # each seeded provider's devices: a code generator (primary), a phone, a push device
    {"kind": "totp", "name": "My iPhone", "name_key": "my iphone", "is_primary": True, "status": "active"},
    {"kind": "sms", "name": "Mobile", "name_key": "mobile", "is_primary": False, "status": "active"},
    {"kind": "push", "name": "Android", "name_key": "android", "is_primary": False, "status": "active"},
]


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, proc: subprocess.Popen):
        self.url = url
        self.proc = proc

    def worker_rss_mb(self) -> list[float]:
        """VmRSS of each worker (the master's children), in MB."""
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        sizes = []
        for child in children:
            status = Path(f"/proc/{child}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
        return sizes


@contextmanager
def gunicorn(module: str, env: dict, workers: int = WORKERS):
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
        yield Server(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        proc.wait(10)


def wrk(url: str, cookie: str | None = None, connections: str = CONNECTIONS, threads: int = 2,
        seconds: str = DURATION) -> dict:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        args[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
            "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def _ms(text_: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text_).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


@contextmanager
def scratch_database(tmp: Path, label: str):
    """SQLite in a temporary folder, or a new database on BENCH_DATABASE_URL's PostgreSQL server."""
    server = os.environ.get("BENCH_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp / f'{label}.sqlite3'}"
        return
    import psycopg

    admin = server.replace("postgresql+psycopg://", "postgresql://")
    name = f"portal_bench_{os.getpid()}_{label}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(admin.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Clock:
    """The portal's clock for the in-process sign-ins: each moves on 30 s, so each code is new."""

    def __init__(self):
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """The SQL statements (and their parameters) an engine runs while it listens."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[tuple[str, object]] = []

    def _record(self, _conn, _cursor, statement, parameters, *_args):
        self.statements.append((statement, parameters))

    @contextmanager
    def listening(self):
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._record)

    def counted(self) -> list[tuple[str, object]]:
        return [(s, p) for s, p in self.statements
                if not s.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE"))]


def keys() -> dict:
    """The settings every portal of the run shares (each adds its DATABASE_URL)."""
    from cryptography.fernet import Fernet

    return {"PORTAL_BCRYPT_ROUNDS": "4", "PORTAL_SECRET_KEY": os.urandom(32).hex(),
            "PORTAL_VAULT_KEY": Fernet.generate_key().decode()}


def portal_app(url: str, **config):
    return create_app({"WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": url, **config})


def prepare(url: str, env: dict):
    """A portal on `url` with one provider who has a code generator; returns (its environment for
    gunicorn, a signed-in cookie, the signed-in test client, the statements of one /security page)."""
    env = {**env, "DATABASE_URL": url}
    subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "app", "init-db"], cwd=ROOT, check=True,
                   env={**os.environ, **env}, capture_output=True)
    app = portal_app(url)
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
    return env, cookie, client, security_statements(app, client)


def security_statements(app, client) -> list[tuple[str, object]]:
    with app.app_context():
        recorder = Recorder(db.engine)
    with recorder.listening():
        assert client.get("/security").status_code == 200
    return recorder.counted()


class SignIn:
    """Whole sign-ins (password, then a code) in-process at the default bcrypt cost (12), each timed
    around bcrypt's own check, so that its cost splits into bcrypt and everything else."""

    def __init__(self, url: str, username: str = "dr.signin"):
        self.clock = Clock()
        self.username = username
        self.app = portal_app(url, PORTAL_BCRYPT_ROUNDS=12, CLOCK=self.clock, PORTAL_IDLE_MINUTES=24 * 60)
        secret = os.urandom(20)
        with self.app.app_context():
            user = create_user(username, "provider", "Signing In", f"{username}@example.test", PASSWORD)
            db.session.add(Device(user_id=user.id, kind="totp", name="Phone", name_key="phone", is_primary=True,
                                  secret=self.app.extensions["vault"].seal(secret), status="active",
                                  added_at=self.clock()))
            db.session.commit()
            self.recorder = Recorder(db.engine)
        self.secret = base64.b32encode(secret).decode()
        self.runs: list[dict] = []

    def once(self) -> None:
        in_bcrypt: list[float] = []
        checkpw = bcrypt.checkpw

        def timed_checkpw(password, hashed):
            began = time.perf_counter()
            try:
                return checkpw(password, hashed)
            finally:
                in_bcrypt.append((time.perf_counter() - began) * 1000)

        self.clock.now += timedelta(seconds=30)  # a new time step: a new code
        client = self.app.test_client()
        bcrypt.checkpw = timed_checkpw
        try:
            with self.recorder.listening():
                start = time.perf_counter()
                r = client.post("/login", data={"username": self.username, "password": PASSWORD})
                middle = time.perf_counter()
                r2 = client.post("/login/verify/code-generator",
                                 data={"code": totp_now(self.secret, self.clock.now)})
                end = time.perf_counter()
        finally:
            bcrypt.checkpw = checkpw
        assert r.status_code == 302 and r2.status_code == 302 and r2.headers["Location"].endswith("/security"), \
            (r.status_code, r2.status_code, r2.get_data(as_text=True)[:300])
        total = (end - start) * 1000
        self.runs.append({"total": total, "bcrypt": sum(in_bcrypt), "other": total - sum(in_bcrypt),
                          "password_step": (middle - start) * 1000, "code_step": (end - middle) * 1000})

    def statements(self) -> list[tuple[str, object]]:
        """The statements of the last sign-in."""
        return self.recorder.counted()

    def medians(self) -> dict:
        runs = self.runs[1:]  # the first warms caches up
        return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def page_latency(clients: dict, rounds: int = ROUNDS, requests: int = 100) -> dict:
    """In-process /security (no HTTP, no gunicorn) for each signed-in test client, in alternating
    blocks of `requests`; the first block of each is a warm-up. Median and 90th percentile, ms."""
    times = {label: [] for label in clients}
    for block in range(rounds + 1):
        for label, client in list(clients.items())[::1 if block % 2 else -1]:
            for _ in range(requests):
                start = time.perf_counter()
                assert client.get("/security").status_code == 200
                if block:
                    times[label].append((time.perf_counter() - start) * 1000)
    return {label: {"p50": statistics.median(ts), "p90": statistics.quantiles(ts, n=10)[-1]}
            for label, ts in times.items()}


def seed(url: str, providers: int) -> float:
    """`providers` users with SEEDED_DEVICES each, by bulk inserts of 10,000 rows; returns the
    seconds it took."""
    start = time.perf_counter()
    app = portal_app(url)
    moment = datetime.now(UTC).replace(tzinfo=None)
    batch = 10_000
    with app.app_context():
        sealed = app.extensions["vault"].seal(os.urandom(20))
        password_hash = bcrypt.hashpw(b"seeded, never used", bcrypt.gensalt(4))
        with db.engine.begin() as conn:
            for first in range(0, providers, batch):
                conn.execute(insert(User), [
                    {"username": f"seed{n:06d}", "email": f"seed{n:06d}@example.test", "name": f"Seeded Provider {n}",
                     "role": "provider", "password_hash": password_hash, "created_at": moment,
                     "is_active_user": True, "has_admin_rights": False}
                    for n in range(first, min(first + batch, providers))])
            ids = list(conn.scalars(select(User.id).where(User.username.like("seed%")).order_by(User.id)))
            for first in range(0, len(ids), batch):
                rows = []
                for user_id in ids[first:first + batch]:
                    rows += [
                        {**device, "user_id": user_id, "added_at": moment,
                         "phone": f"+1201555{user_id % 10_000:04d}" if device["kind"] == "sms" else None,
                         "secret": None if device["kind"] == "sms" else sealed}
                        for device in SEEDED_DEVICES]
                conn.execute(insert(Device), rows)
        # what an operator does after a bulk load: statistics for the planner (and, on PostgreSQL,
        # the visibility map and hint bits, which the first reads would otherwise write)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE" if db.engine.dialect.name == "sqlite" else "VACUUM ANALYZE"))
        db.engine.dispose()
    return time.perf_counter() - start


def explain(url: str, statements: list[tuple[str, object]]) -> tuple[list[str], list[str]]:
    """(full scans of a big table, every plan line) for these statements on this database."""
    app = portal_app(url)
    scans, plans = [], []
    with app.app_context(), db.engine.connect() as conn:
        sqlite = db.engine.dialect.name == "sqlite"
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
                continue
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            lines = [row[-1] if sqlite else row[0] for row in rows]
            plans.append(" ".join(statement.split())[:140] + "\n    " + "\n    ".join(lines))
            for line in lines:
                full = (re.match(r"\s*SCAN (\w+)(?! USING (COVERING )?INDEX)", line) if sqlite
                        else re.search(r'Seq Scan on "?(\w+)"?', line))
                if full and full.group(1) in BIG_TABLES:
                    scans.append(f"{full.group(1)}: {' '.join(statement.split())[:120]}")
            conn.rollback()
    return scans, plans


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: make bench installs it (apt-get install wrk)")
    began = time.perf_counter()
    shared = keys()
    os.environ.update(shared)  # the in-process apps read the same keys
    with (tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), "empty") as empty_url,
          scratch_database(Path(tmp), "full") as full_url):
        backend = empty_url.split(":")[0].split("+")[0]
        print(f"make bench on {backend}: preparing…", flush=True)
        empty_env, empty_cookie, empty_client, _ = prepare(empty_url, shared)
        full_env, full_cookie, full_client, statements = prepare(full_url, shared)
        with gunicorn("bench.bare_app:app", empty_env) as server:
            wrk(f"{server.url}/bare")  # warm-up
            bare = wrk(f"{server.url}/bare")
        with gunicorn("wsgi:app", empty_env) as server:
            wrk(f"{server.url}/security", empty_cookie)
            page = wrk(f"{server.url}/security", empty_cookie)
        print(f"seeding {PROVIDERS:,} providers and {PROVIDERS * len(SEEDED_DEVICES):,} devices…", flush=True)
        seconds = seed(full_url, PROVIDERS)
        # everything that compares the empty and the full database runs in alternating rounds, so
        # that whatever else the machine does weighs on both alike
        sign_ins = {"empty": SignIn(empty_url), "full": SignIn(full_url)}
        for run in range(SIGN_INS + 1):
            for sign_in in list(sign_ins.values())[::1 if run % 2 else -1]:
                sign_in.once()
        scans, plans = explain(full_url, statements + sign_ins["full"].statements())
        in_process = page_latency({"empty": empty_client, "full": full_client})
        with gunicorn("wsgi:app", empty_env) as empty, gunicorn("wsgi:app", full_env) as full:
            rounds = {"empty": [], "full": []}
            pair = [("empty", empty, empty_cookie), ("full", full, full_cookie)]
            for round_ in range(ROUNDS + 1):
                for label, server, cookie in pair if round_ % 2 else pair[::-1]:  # neither always goes first
                    rounds[label].append(wrk(f"{server.url}/security", cookie, connections="1", threads=1,
                                             seconds=ROUND_SECONDS))
            wrk(f"{full.url}/security", full_cookie)  # the workers' memory after a load
            rss = full.worker_rss_mb()
    tokens = bench_tokens.measure()
    report = render(backend, bare=bare, page=page, empty=median_run(rounds["empty"][1:]),
                    full=median_run(rounds["full"][1:]), in_process=in_process, statements=len(statements),
                    sign_in_empty=sign_ins["empty"].medians(), sign_in_full=sign_ins["full"].medians(),
                    seconds=seconds, scans=scans, rss=rss,
                    tokens=tokens, plans=plans, elapsed=time.perf_counter() - began)
    print(report)
    RESULTS.write_text(report)
    print(f"(written to {RESULTS.relative_to(ROOT)})")


def median_run(runs: list[dict]) -> dict:
    """The median of each figure over several wrk runs (the first run of each is a warm-up)."""
    return {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99", "errors")}


def render(backend: str, *, bare, page, empty, full, in_process, statements, sign_in_empty, sign_in_full, seconds,
           scans, rss, tokens, plans, elapsed) -> str:
    ratio = page["rps"] / bare["rps"]
    growth = in_process["full"]["p50"] / in_process["empty"]["p50"]
    http_growth = full["p50"] / empty["p50"]
    devices = PROVIDERS * len(SEEDED_DEVICES)

    def verdict(ok: bool) -> str:
        return "yes" if ok else "**no**"

    rows = [
        ("bare Flask route /bare: requests/s, p50 / p99", f"{bare['rps']:.0f} req/s, {bare['p50']:.2f} / "
         f"{bare['p99']:.2f} ms", "", ""),
        ("/security signed in: requests/s, p50 / p99", f"{page['rps']:.0f} req/s, {page['p50']:.2f} / "
         f"{page['p99']:.2f} ms ({page['errors']} non-2xx)", "", ""),
        ("/security throughput ÷ bare route", f"{ratio:.0%}", "≥ 40%", verdict(ratio >= 0.4)),
        ("SQL statements for one /security page", f"{statements}", "≤ 4", verdict(statements <= 4)),
        ("sign-in (password + code), in-process: total", f"{sign_in_empty['total']:.1f} ms "
         f"(password step {sign_in_empty['password_step']:.1f}, code step {sign_in_empty['code_step']:.1f})", "", ""),
        ("  of which bcrypt (cost 12)", f"{sign_in_empty['bcrypt']:.1f} ms", "", ""),
        ("  of which everything else", f"{sign_in_empty['other']:.1f} ms", "≤ 25 ms",
         verdict(sign_in_empty["other"] <= 25)),
        (f"  everything else, with {PROVIDERS:,} providers", f"{sign_in_full['other']:.1f} ms "
         f"(total {sign_in_full['total']:.1f}, bcrypt {sign_in_full['bcrypt']:.1f})", "≤ 25 ms",
         verdict(sign_in_full["other"] <= 25)),
        (f"/security in-process (no HTTP), almost empty database: p50 / p90 ({ROUNDS} × 100 requests)",
         f"{in_process['empty']['p50']:.2f} / {in_process['empty']['p90']:.2f} ms", "", ""),
        (f"/security in-process, {PROVIDERS:,} providers and {devices:,} devices: p50 / p90",
         f"{in_process['full']['p50']:.2f} / {in_process['full']['p90']:.2f} ms", "", ""),
        ("/security in-process p50, full ÷ empty", f"{growth:.2f}", "≤ 1.2", verdict(growth <= 1.2)),
        (f"/security over HTTP, 1 connection, almost empty database: p50 / p99 (median of {ROUNDS} runs)",
         f"{empty['p50']:.2f} / {empty['p99']:.2f} ms", "", ""),
        (f"/security over HTTP, {PROVIDERS:,} providers and {devices:,} devices: p50 / p99",
         f"{full['p50']:.2f} / {full['p99']:.2f} ms", "", ""),
        ("/security over HTTP p50, full ÷ empty", f"{http_growth:.2f}", "≤ 1.2", verdict(http_growth <= 1.2)),
        ("full scans of user or device (EXPLAIN, page + sign-in, full database)",
         f"{len(scans)}" + (": " + "; ".join(scans) if scans else ""), "0", verdict(not scans)),
        (f"seeding {PROVIDERS + devices:,} rows (bulk inserts)", f"{seconds:.1f} s", "", ""),
        (f"resident memory per gunicorn worker ({len(rss)} workers, after load)",
         ", ".join(f"{mb:.0f} MB" for mb in rss), "≤ 150 MB", verdict(max(rss) <= 150)),
        (f"token sync search, worst case: HOTP {bench_tokens.WINDOW:,} counters (median)",
         f"{tokens['hotp_median']:.1f} ms", f"< {bench_tokens.AIM_MS:.0f} ms",
         verdict(tokens["hotp_median"] < bench_tokens.AIM_MS)),
        ("token sync search, worst case: TOTP ±24 h of steps (median)", f"{tokens['totp_median']:.1f} ms",
         f"< {bench_tokens.AIM_MS:.0f} ms", verdict(tokens["totp_median"] < bench_tokens.AIM_MS)),
    ]
    lines = [
        f"# make bench — {backend}",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.python_implementation()} {platform.python_version()} · "
        f"{os.cpu_count()} cores · gunicorn -w {WORKERS} (sync) · wrk -t2 -c{CONNECTIONS} {DURATION}s "
        f"(latency: {ROUNDS} alternating rounds of wrk -t1 -c1 {ROUND_SECONDS}s) · whole run {elapsed:.0f} s · "
        f"load average at the end {os.getloadavg()[0]:.1f} (other work on the machine skews every figure)",
        "",
        "| measure | figure | aim | met |",
        "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "<details><summary>Query plans on the full database (page + sign-in)</summary>",
        "",
        "```",
        *plans,
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
