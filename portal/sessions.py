"""Server-side sign-in sessions, step-up freshness and the guards every view uses.

The Flask cookie carries one opaque token (Flask-Login's user id is the login session's token);
the login_session row holds its SHA-256, its stage and its times. Revoking the row — sign-out,
timeout — makes a copied cookie worthless.
"""

import hashlib
import secrets
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, has_request_context, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from .clock import now
from .extensions import begin_write, db, login_manager
from .models import Device, LoginSession, User

PENDING_KEY = "pending_login"  # the token of a sign-in whose second factor is still to come
NEXT_KEY = "after_sign_in"
SEEN_EVERY = timedelta(seconds=60)  # last_seen is written at most this often

# what a provider who has no device yet may reach: choosing and setting up the first one, and
# signing out (blueprints add theirs: their set-up pages, and the phone pages, which sign-in does
# not govern)
ENROLLING_ENDPOINTS = {
    "devices.first_device", "devices.cg_intro", "devices.cg_scan", "devices.cg_confirm", "devices.cg_name",
    "devices.cg_primary", "devices.cg_done", "auth.logout", "static",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, stage: str) -> tuple[LoginSession, str]:
    """A new login session (a new token at every sign-in) and its token."""
    token = secrets.token_urlsafe(32)
    moment = now()
    ls = LoginSession(token_hash=_hash(token), user_id=user.id, stage=stage, created_at=moment,
                      last_seen_at=moment, ip=client_ip(), user_agent=(request.user_agent.string or "")[:200])
    db.session.add(ls)
    db.session.flush()
    return ls, token


def find(token: str | None, stages: tuple[str, ...]) -> LoginSession | None:
    """The live session for a token, or None; a timed-out session is revoked on the way."""
    if not token:
        return None
    ls = db.session.scalar(select(LoginSession).options(joinedload(LoginSession.user))
                           .where(LoginSession.token_hash == _hash(token)))
    if ls is None or ls.revoked_at is not None or ls.stage not in stages:
        return None
    config = current_app.config
    moment = now()
    idle = moment - ls.last_seen_at > timedelta(minutes=config["PORTAL_IDLE_MINUTES"])
    expired = moment - ls.created_at > timedelta(hours=config["PORTAL_SESSION_HOURS"])
    if idle or expired:
        begin_write()
        ls.revoked_at = moment
        db.session.commit()
        flash(f"You were signed out after {config['PORTAL_IDLE_MINUTES']} minutes without activity."
              if idle else "Your sign-in has expired. Please sign in again.", "info")
        return None
    if moment - ls.last_seen_at >= SEEN_EVERY:
        begin_write()
        ls.last_seen_at = moment
        db.session.commit()
    return ls


@login_manager.user_loader
def load_user(token: str) -> User | None:
    # "recovering": a lost-device recovery, which access.py confines to the recovery pages
    ls = find(token, ("full", "enrolling", "recovering"))
    if ls is None:
        return None
    user = ls.user
    if not user.is_active_user:
        return None
    user.session_token = token
    user.login_session = ls
    return user


def pending() -> LoginSession | None:
    """The sign-in waiting for its second factor, if this browser has one."""
    return find(session.get(PENDING_KEY), ("password",))


def complete_sign_in(ls: LoginSession, stage: str, device: Device | None) -> None:
    """Turn a checked sign-in into a full (or first-device) session with a fresh token."""
    token = secrets.token_urlsafe(32)
    moment = now()
    ls.token_hash = _hash(token)
    ls.stage = stage
    ls.last_seen_at = moment
    if device is not None:
        ls.second_factor_at = moment
        ls.second_factor_device_id = device.id
    ls.user.last_sign_in_at = moment
    db.session.commit()
    after = session.get(NEXT_KEY)
    session.clear()
    user = ls.user
    user.session_token = token
    user.login_session = ls
    login_user(user)
    if after:
        session[NEXT_KEY] = after


def mark_second_factor(ls: LoginSession, device: Device) -> None:
    ls.second_factor_at = now()
    ls.second_factor_device_id = device.id
    db.session.commit()


def revoke(ls: LoginSession | None) -> None:
    if ls is not None and ls.revoked_at is None:
        ls.revoked_at = now()
        db.session.commit()
    logout_user()
    session.clear()


def revoke_all(user_id: int) -> None:
    db.session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                                  LoginSession.revoked_at.is_(None))
                       .values(revoked_at=now()))


def is_fresh(ls: LoginSession, device_id: int | None = None) -> bool:
    """Was a second factor verified in this session within the step-up window (with that device)?"""
    if ls.second_factor_at is None:
        return False
    if device_id is not None and ls.second_factor_device_id != device_id:
        return False
    window = timedelta(minutes=current_app.config["PORTAL_STEP_UP_MINUTES"])
    return now() - ls.second_factor_at <= window


def has_active_device(user: User) -> bool:
    return db.session.scalar(
        select(Device.id).where(Device.user_id == user.id, Device.status == "active").limit(1)
    ) is not None


def fresh_second_factor(view):
    """Step-up: device changes need a second factor from the last few minutes. A user with no
    active device is exempt (their first device has nothing to prove it with)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        ls = current_user.login_session
        if not is_fresh(ls) and has_active_device(current_user):
            flash("Confirm it is you with your second factor to continue.", "info")
            back = request.full_path.rstrip("?") if request.method == "GET" else request.path
            return redirect(url_for("auth.step_up", next=back))
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None) -> str | None:
    """A local path of one of our own GET pages, or None. Anything else — other hosts,
    scheme-relative or backslash tricks, unknown paths — is dropped."""
    if not target or len(target) > 512 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None
    if endpoint == "static":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def client_ip() -> str | None:
    """The client's address; None outside a request (a CLI command)."""
    return request.remote_addr if has_request_context() else None


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session row is the protection

    @app.before_request
    def first_device_only():
        """A provider without a device can do nothing but set up a first one."""
        if not current_user.is_authenticated or request.endpoint in ENROLLING_ENDPOINTS:
            return None
        if current_user.login_session.stage == "enrolling":
            if has_active_device(current_user):
                return None
            return redirect(url_for("devices.first_device"))
        return None
