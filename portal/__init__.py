"""EPCS MFA Portal: the application factory."""

import os
from contextlib import suppress
from pathlib import Path

from flask import Flask, g, has_request_context, render_template, request
from sqlalchemy import event
from sqlalchemy.exc import InterfaceError, OperationalError, PendingRollbackError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .config import from_environment, utcnow
from .extensions import READ_METHODS, csrf, db, login_manager, migrate
from .vault import Vault

SECRET_KEY_FILE = "secret_key"
VAULT_KEY_FILE = "vault_key"


class NotInitialised(RuntimeError):
    """The instance has no keys yet: `flask --app app init-db` generates them."""


class RowIdConverter(IntegerConverter):
    """`<int:…>` in a URL is a row id: a number past PostgreSQL's integer (2**31 - 1) names no row,
    so it is a 404 like any unknown id, not a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    # PORTAL_INSTANCE_PATH: where the keys and the SQLite file live (default: ./instance)
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None)
    app.url_map.converters["int"] = RowIdConverter
    instance = Path(app.instance_path)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'portal.sqlite3'}",
        CLOCK=utcnow,
        WTF_CSRF_TIME_LIMIT=None,  # the session's own timeouts bound a form's life
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="portal_session",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        # a connection that died (database restarted) is noticed and replaced, not used
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    app.config.update(from_environment())
    if config:
        app.config.update(config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # fail fast (a clear 503) rather than hang while the database is unreachable
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"connect_timeout": 3})
    if app.config["PORTAL_HTTPS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")

    _load_keys(app, instance)
    if app.config["PORTAL_PROXIES"]:
        hops = app.config["PORTAL_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)

    from . import access, notices, sessions, wizard
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .cli import register as register_cli
    from .clinic import bp as clinic_bp
    from .devices import bp as devices_bp
    from .epcs import bp as epcs_bp
    from .ops import register as register_ops
    from .phone import bp as phone_bp
    from .pins import bp as pin_bp
    from .push import bp as push_bp
    from .recovery import bp as recovery_bp
    from .text import bp as text_bp
    from .tokens import admin_bp as tokens_admin_bp
    from .tokens import bp as tokens_bp
    from .training import bp as training_bp

    sessions.init_app(app)
    access.init_app(app)
    notices.init_app(app)
    wizard.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(devices_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(tokens_admin_bp)
    app.register_blueprint(pin_bp)
    app.register_blueprint(epcs_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(push_bp)
    app.register_blueprint(phone_bp)
    app.register_blueprint(text_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(clinic_bp)
    app.register_blueprint(recovery_bp)
    register_cli(app)
    register_ops(app)
    _register_pages(app)
    return app


def _load_keys(app: Flask, instance: Path) -> None:
    """Keys come from the environment or from files that `init-db` wrote; never made here, where
    two workers starting together would each make a different one."""
    secret = app.config.get("PORTAL_SECRET_KEY") or _read(instance / SECRET_KEY_FILE)
    vault_key = app.config.get("PORTAL_VAULT_KEY") or _read(instance / VAULT_KEY_FILE)
    app.config["SECRET_KEY"] = secret or None
    app.extensions["vault"] = Vault(vault_key) if vault_key else None
    app.config["PORTAL_READY"] = bool(secret and vault_key)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def require_ready(app: Flask) -> Flask:
    """Refuse to serve without keys (wsgi.py calls this; tests pass their own keys)."""
    if not app.config["PORTAL_READY"]:
        raise NotInitialised(
            "The portal has no secret key or vault key. Run `flask --app app init-db` once "
            f"(it writes them into {app.instance_path}) or set PORTAL_SECRET_KEY and PORTAL_VAULT_KEY."
        )
    return app


def _tune_sqlite(engine) -> None:
    """WAL, a busy timeout and foreign keys. A transaction that may write takes the write lock at
    once (BEGIN IMMEDIATE), so a read-then-write never fails with "database is locked" when another
    worker wrote in between; GET requests read in a deferred transaction (WAL readers never wait)
    and call `extensions.begin_write()` before they write. pysqlite's own BEGIN handling is off."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        reading = has_request_context() and request.method in READ_METHODS and not g.get("sqlite_write")
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _register_pages(app: Flask) -> None:
    @app.before_request
    def refuse_when_not_initialised():
        if not app.config["PORTAL_READY"] and request.endpoint != "static":
            return render_template("errors/error.html", code=503,
                                   title="The portal is not set up yet",
                                   message="Run flask --app app init-db, then start it again."), 503
        return None

    @app.teardown_appcontext
    def close_session_quietly(_exc):
        """Runs before Flask-SQLAlchemy's own teardown (teardowns run in reverse): closing a
        session whose connection died with the database must not turn a sent page into a 500."""
        with suppress(Exception):
            db.session.remove()

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
        if app.config["PORTAL_HTTPS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_template("errors/error.html", code=exc.code, title=exc.name,
                               message=ERROR_MESSAGES.get(exc.code, exc.description)), exc.code

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PendingRollbackError)
    def database_unavailable(exc: Exception):
        app.logger.error("database unavailable on %s %s: %s", request.method, request.path,
                         getattr(exc, "orig", None) or exc)
        _rollback_quietly()
        g._login_user = login_manager.anonymous_user()  # the page must not ask the database who is signed in
        return render_template("errors/error.html", code=503, title="Please try again",
                               message=ERROR_MESSAGES[503]), 503

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        _rollback_quietly()
        return render_template("errors/error.html", code=500, title="Something went wrong",
                               message=ERROR_MESSAGES[500]), 500


def _rollback_quietly() -> None:
    """Nothing half-done survives an error; a connection that is gone cannot roll back, and that
    is fine: the database already discarded its transaction."""
    with suppress(Exception):
        db.session.rollback()


ERROR_MESSAGES = {
    400: "The form could not be used. Go back, reload the page and try again.",
    403: "You do not have access to this page.",
    404: "There is no such page, or it is not yours.",
    405: "That action is not available here.",
    413: "That file is too large.",
    429: "Too many tries. Wait a moment and try again.",
    500: "Something went wrong on our side. Nothing was changed; please try again.",
    503: "The portal is busy or briefly unavailable. Please try again in a moment.",
}

