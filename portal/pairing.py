"""Pairing a phone for push, and recognising a paired phone by its credential.

The set-up wizard makes a one-time pairing link (valid PORTAL_PAIRING_MINUTES, used once; only
the SHA-256 of its token is stored). Pairing gives the phone a long random credential, of which
the server keeps only the SHA-256; the phone sends it back with every request (a cookie scoped to
/phone, or a Bearer header for a native app). Until the wizard ends the credential belongs to the
pairing (it can answer only the set-up's confirmation request); then it belongs to the device.
"""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_login import current_user
from sqlalchemy import select, update

from . import audit, sessions
from .challenges import Refused, describe_browser
from .clock import now
from .extensions import db
from .models import Device, LoginSession, PushPairing, User

LINK_UNKNOWN = ("This pairing link is not valid. On your computer, start Set Up Push Notification again "
                "for a new QR code.")
LINK_USED = ("This pairing link was already used: each QR code pairs one phone, once. To pair again, start "
             "the set-up again on your computer.")
LINK_EXPIRED = ("This pairing link has expired. Start the set-up again on your computer for a new QR code.")
SIGNED_IN_HERE = ("This browser is signed in to the EPCS Portal as a prescriber. Your authenticator must be a "
                  "different device from the one you prescribe with: open the link on your phone (in training, "
                  "in another browser profile).")
ALREADY_PAIRED = ("This phone is already paired with the EPCS Portal. To pair it again, first remove its "
                  "device on Sign In & Security.")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_link(user: User, ls: LoginSession) -> tuple[PushPairing, str]:
    """A fresh pairing link for this sign-in session; an unused earlier one stops working."""
    moment = now()
    db.session.execute(update(PushPairing).where(
        PushPairing.login_session_id == ls.id, PushPairing.paired_at.is_(None), PushPairing.expires_at > moment)
        .values(expires_at=moment).execution_options(synchronize_session=False))
    token = secrets.token_urlsafe(24)
    row = PushPairing(user_id=user.id, login_session_id=ls.id, token_hash=_hash(token), created_at=moment,
                      expires_at=moment + timedelta(minutes=current_app.config["PORTAL_PAIRING_MINUTES"]))
    db.session.add(row)
    db.session.flush()
    return row, token


def link_state(pairing: PushPairing) -> str:
    """waiting, paired or expired."""
    if pairing.paired_at is not None:
        return "paired"
    return "expired" if pairing.expires_at <= now() else "waiting"


def find_link(token: str) -> PushPairing | None:
    return db.session.scalar(select(PushPairing).where(PushPairing.token_hash == _hash(token)))


def link_problem(pairing: PushPairing | None) -> str | None:
    if pairing is None:
        return LINK_UNKNOWN
    return {"paired": LINK_USED, "expired": LINK_EXPIRED}.get(link_state(pairing))


def refusal_for_this_browser(credential: str | None) -> str | None:
    """Pairing is refused in a browser signed in to the portal as a prescriber (or half-way
    through a prescriber's sign-in), and in a browser that is already a paired phone."""
    pending = None if current_user.is_authenticated else sessions.pending()
    user = current_user if current_user.is_authenticated else (pending.user if pending else None)
    if user is not None and user.role == "provider":
        return SIGNED_IN_HERE
    if credential and identify(credential) is not None:
        return ALREADY_PAIRED
    return None


def pair(token: str, user_agent: str | None) -> str:
    """Use the link once: returns the phone's new credential, or raises Refused."""
    pairing = find_link(token)
    problem = link_problem(pairing)
    if problem:
        raise Refused(problem)
    credential = secrets.token_urlsafe(32)
    moment = now()
    won = db.session.execute(
        update(PushPairing).where(PushPairing.id == pairing.id, PushPairing.paired_at.is_(None),
                                  PushPairing.expires_at > moment)
        .values(paired_at=moment, credential_hash=_hash(credential), phone_agent=(user_agent or "")[:200])
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
        raise Refused(LINK_USED)
    audit.record(db.session, "push_paired", at=moment, actor_id=pairing.user_id, subject_id=pairing.user_id,
                 ip=sessions.client_ip(), detail=f"a phone ({describe_browser(user_agent)}) opened the pairing link")
    db.session.commit()
    return credential


def identify(credential: str | None) -> Device | PushPairing | None:
    """The active push device this credential belongs to, or the pairing of a set-up still under
    way, or None."""
    if not credential or len(credential) > 200:
        return None
    digest = _hash(credential)
    device = db.session.scalar(select(Device).where(Device.credential_hash == digest, Device.kind == "push",
                                                    Device.status == "active"))
    if device is not None:
        return device
    wizard_window = timedelta(minutes=current_app.config["PORTAL_WIZARD_MINUTES"])
    return db.session.scalar(select(PushPairing).where(
        PushPairing.credential_hash == digest, PushPairing.device_id.is_(None),
        PushPairing.paired_at > now() - wizard_window))
