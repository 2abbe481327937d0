"""Fixtures in the flaskr style, on a real database: SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set (each run gets a database of its own on that server)."""

import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from portal import create_app
from portal.cli import create_user
from portal.config import database_url
from portal.extensions import db
from tests.otp_reference import totp_now

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
PASSWORD = "correct horse battery"


class FakeClock:
    """The portal's clock in tests: starts at the real time (codes are made from it) and only
    moves when told."""

    def __init__(self):
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 30) -> None:
        self.now += timedelta(seconds=seconds)


def _pg_admin_url() -> str:
    url = os.environ["TEST_DATABASE_URL"]
    return url.replace("postgresql+psycopg://", "postgresql://")


def make_database(kind: str, tmp_path_factory) -> tuple[str, callable]:
    """A new empty database: a file for SQLite, a fresh database on the PostgreSQL server."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.sqlite3'}", lambda: None
    admin = _pg_admin_url()
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    url = database_url(urlunsplit(parts._replace(path=f"/{name}")))

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory):
    url, drop = make_database(request.param, tmp_path_factory)
    yield url
    drop()


@pytest.fixture(scope="session")
def keys():
    return {"PORTAL_SECRET_KEY": "test-secret-" + uuid.uuid4().hex, "PORTAL_VAULT_KEY": Fernet.generate_key().decode()}


def config_for(url: str, keys: dict, **extra) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PORTAL_BCRYPT_ROUNDS": 4,
            "WTF_CSRF_ENABLED": False, **keys, **extra}


@pytest.fixture(scope="session")
def schema(database, keys):
    app = create_app(config_for(database, keys))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return database


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def app_config():
    """Extra config for one test module or test (override this fixture)."""
    return {}


@pytest.fixture
def app(schema, keys, clock, app_config):
    app = create_app(config_for(schema, keys, CLOCK=clock, **app_config))
    yield app
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, role: str = "provider", password: str = PASSWORD, **kw):
        username = username or f"user{next(counter)}"
        with app.app_context():
            user = create_user(username, role, kw.pop("name", f"Test {username.title()}"),
                               kw.pop("email", f"{username}@example.test"), password, **kw)
            db.session.commit()
            return user.id, username

    return make


# ---- helpers that read like the articles ----

def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def read_secret_key(html: str) -> str:
    match = re.search(r'class="secret-key"[^>]*><code>([A-Z2-7 ]+)</code>', html)
    assert match, "no secret key on the page"
    return match.group(1).replace(" ", "")


def setup_code_generator(client, clock, name: str, *, make_primary: bool = False) -> str:
    """Walk the code-generator wizard the way the article does; return the secret read off the page."""
    r = client.post("/security/code-generator")
    assert r.status_code == 302 and r.headers["Location"].endswith("/security/code-generator/scan"), r.data[:500]
    page = client.get("/security/code-generator/scan").get_data(as_text=True)
    secret = read_secret_key(page)
    client.post("/security/code-generator/scan")
    r = client.post("/security/code-generator/confirm", data={"code": totp_now(secret, clock.now)})
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.post("/security/code-generator/name", data={"name": name})
    assert r.status_code == 302, r.get_data(as_text=True)
    if r.headers["Location"].endswith("/primary"):
        choice = {"make_primary": "Select as the primary device"} if make_primary else {
            "keep_current": "Keep my current primary device"}
        r = client.post("/security/code-generator/primary", data=choice)
        assert r.status_code == 302
    assert "/security/code-generator/done/" in r.headers["Location"], r.headers["Location"]
    return secret


def complete_sign_in(client, secret: str, clock, device_id: int | None = None):
    data = {"code": totp_now(secret, clock.now)}
    if device_id is not None:
        data["device"] = str(device_id)
    return client.post("/login/verify/code-generator", data=data)


@pytest.fixture
def provider(client, make_user, clock):
    """A provider who has set up one code generator ("My iPhone") and is signed in."""
    user_id, username = make_user("dr.test")
    sign_in(client, username)
    secret = setup_code_generator(client, clock, "My iPhone")
    return {"id": user_id, "username": username, "secret": secret}


# ---- a live server and Debian's chromium, for the browser tests ----

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "test-artifacts")


class LiveServer:
    def __init__(self, app, url):
        self.app = app
        self.url = url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def live_config():
    """Extra config for the live server (override in a module)."""
    return {}


@pytest.fixture
def live_server(tmp_path, keys, live_config):
    """The portal on a real port, CSRF on, the real clock, its own SQLite file."""
    import threading

    from werkzeug.serving import make_server

    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    app = create_app({**config_for(url, keys), "TESTING": False, "WTF_CSRF_ENABLED": True, **live_config})
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def new_page(browser, live_server):
    """Open a fresh browser context (a new profile: own cookies) and return its page."""
    contexts = []

    def make(**kw):
        context = browser.new_context(base_url=live_server.url, **kw)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> str:
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"{name}.png")
    page.screenshot(path=path, full_page=True)
    return path


def live_user(live_server, username: str, role: str = "provider", password: str = PASSWORD, **kw):
    with live_server.app.app_context():
        user = create_user(username, role, kw.pop("name", "Ana Rivera"), f"{username}@example.test", password, **kw)
        db.session.commit()
        return user.id


def decode_qr(page, selector: str = "svg.qr") -> str:
    """Read the QR code the page shows, as a phone camera would: screenshot it and decode it."""
    import io

    import zxingcpp
    from PIL import Image

    png = page.locator(selector).screenshot()
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code could be read from the page"
    return results[0].text
