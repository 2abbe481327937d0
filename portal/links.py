"""One-time links sent by e-mail (lost-device recovery, choosing a password): a random token in
the link, only its SHA-256 in the database, a lifetime, and one use, taken by one conditional
UPDATE so that two clicks (or two workers) cannot both use it."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from .clock import now
from .extensions import db
from .models import OneTimeLink, User
from .sessions import client_ip

TOKEN_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, purpose: str, minutes: int, *, created_by: User | None = None) -> str:
    """A new link's token (the caller commits and sends it). Earlier unused links of the same
    purpose stop working: only the newest e-mail counts."""
    moment = now()
    db.session.execute(update(OneTimeLink).where(OneTimeLink.user_id == user.id, OneTimeLink.purpose == purpose,
                                                 OneTimeLink.used_at.is_(None))
                       .values(expires_at=moment).execution_options(synchronize_session=False))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(OneTimeLink(user_id=user.id, purpose=purpose, token_hash=_hash(token), created_at=moment,
                               expires_at=moment + timedelta(minutes=minutes),
                               created_by_id=created_by.id if created_by else None, ip=client_ip()))
    db.session.flush()
    return token


def find(token: str | None, purpose: str) -> OneTimeLink | None:
    """The link for a token, used or not, expired or not (`state` says which); None if unknown."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(OneTimeLink).where(OneTimeLink.token_hash == _hash(token),
                                                       OneTimeLink.purpose == purpose))


def state(link: OneTimeLink | None) -> str:
    """"ok", "used", "expired" or "unknown"."""
    if link is None:
        return "unknown"
    if link.used_at is not None:
        return "used"
    if link.expires_at <= now():
        return "expired"
    return "ok"


def use(link: OneTimeLink) -> bool:
    """Use the link up: True for the one request that did, False if it was used or had expired."""
    moment = now()
    return db.session.execute(
        update(OneTimeLink).where(OneTimeLink.id == link.id, OneTimeLink.used_at.is_(None),
                                  OneTimeLink.expires_at > moment)
        .values(used_at=moment).execution_options(synchronize_session=False)).rowcount == 1
