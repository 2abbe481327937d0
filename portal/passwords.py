"""Passwords: bcrypt hashing, and sign-in with its failure count and lock.

bcrypt 5 refuses secrets over 72 bytes; such a password is simply wrong here (never a 500), and an
unknown username costs the same bcrypt time as a known one, so timing tells nothing either way.
"""

from datetime import timedelta
from functools import cache

import bcrypt
from flask import current_app
from sqlalchemy import func, select, update

from . import audit
from .clock import now
from .extensions import db
from .models import User
from .sessions import client_ip

BCRYPT_MAX_BYTES = 72


def hash_secret(secret: str, rounds: int | None = None) -> bytes:
    rounds = rounds or current_app.config["PORTAL_BCRYPT_ROUNDS"]
    return bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds))


def check_secret(secret: str, hashed: bytes | None) -> bool:
    encoded = secret.encode()
    if hashed is None or len(encoded) > BCRYPT_MAX_BYTES:
        bcrypt.checkpw(b"x", _dummy_hash(current_app.config["PORTAL_BCRYPT_ROUNDS"]))
        return False
    return bcrypt.checkpw(encoded, hashed)


@cache
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds))


def password_problem(password: str) -> str | None:
    if len(password) < 12:
        return "Use at least 12 characters."
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        return "Use at most 72 bytes (fewer characters, or fewer accented ones)."
    return None


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def authenticate(username: str, password: str) -> User | None:
    """The user if the password is right and sign-in is not locked; None otherwise, for every
    reason alike. Failures are counted atomically; the tenth in a row locks sign-in."""
    user = find_user(username)
    hashed = user.password_hash if user is not None and user.is_active_user else None
    locked = user is not None and user.password_locked_until is not None and user.password_locked_until > now()
    user_id = user.id if user is not None else None
    db.session.commit()  # bcrypt takes a while: hold no database lock meanwhile
    right = check_secret(password, hashed)
    if user_id is None:
        return None
    moment = now()
    if locked:
        audit.record(db.session, "sign_in_refused", at=moment, subject_id=user_id, ip=client_ip(),
                     detail="password sign-in is locked")
        db.session.commit()
        return None
    if right:
        db.session.execute(update(User).where(User.id == user_id).values(password_failures=0))
        db.session.commit()
        return db.session.get(User, user_id)
    failures = db.session.execute(
        update(User).where(User.id == user_id).values(password_failures=User.password_failures + 1)
        .returning(User.password_failures)).scalar_one()
    audit.record(db.session, "password_failed", at=moment, subject_id=user_id, ip=client_ip(),
                 detail=f"wrong password (failure {failures})")
    limit = current_app.config["PORTAL_PASSWORD_LOCK_AFTER"]
    if failures >= limit:
        minutes = current_app.config["PORTAL_PASSWORD_LOCK_MINUTES"]
        db.session.execute(update(User).where(User.id == user_id).values(
            password_failures=0, password_locked_until=moment + timedelta(minutes=minutes)))
        audit.record(db.session, "password_locked", at=moment, subject_id=user_id, ip=client_ip(),
                     detail=f"sign-in locked for {minutes} minutes after {failures} wrong passwords")
    db.session.commit()
    return None
