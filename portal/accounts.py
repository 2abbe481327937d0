"""User accounts as the practice admin manages them: which locks a user has, Unlock (with a
written reason), create, deactivate and reactivate, and the one-time link that sets a password.
Every change is audited; views and the CLI call these after their own checks."""

import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from . import audit, links, pin_factor, second_factor, sessions
from .clock import now
from .dea import normalise_dea
from .extensions import db
from .models import User
from .passwords import hash_secret
from .sessions import client_ip

PASSWORD_LINK = "password"
NO_REASON = "Write why you unlock this account: it goes into the audit log."
NOT_YOURSELF = "Another admin does this for you."


@dataclass(frozen=True)
class Lock:
    key: str  # password, codes, pin, recovery, needs_recovery
    label: str


def locks(user: User) -> list[Lock]:
    """What is locked on the account now, in the words of the dashboard."""
    moment = now()
    found = []
    if user.password_locked_until is not None and user.password_locked_until > moment:
        found.append(Lock("password", f"Sign-in until {user.password_locked_until:%H:%M} UTC"))
    if second_factor.policy().is_locked(user.otp_failures):
        found.append(Lock("codes", "Second factor"))
    if user.pin_hash is not None and user.pin_failures >= pin_factor.lock_after():
        found.append(Lock("pin", "EPCS PIN"))
    if user.recovery_locked_until is not None and user.recovery_locked_until > moment:
        found.append(Lock("recovery", f"Recovery until {user.recovery_locked_until:%Y-%m-%d %H:%M} UTC"))
    if user.recovery_required_at is not None:
        found.append(Lock("needs_recovery", "Needs recovery (last device reported lost)"))
    return found


def unlock(user: User, reason: str, *, actor: User | None, via: str) -> list[Lock]:
    """Lift every lock (sign-in, second factor, PIN, recovery, and the recovery a lost last device
    calls for); audit who, why and what was lifted. Returns what was locked. The caller commits.
    `reason` must not be empty: the views and the CLI refuse that before calling."""
    if not reason.strip():
        raise ValueError(NO_REASON)
    lifted = locks(user)
    db.session.execute(update(User).where(User.id == user.id).values(
        password_failures=0, password_locked_until=None, otp_failures=0, otp_last_failure_at=None,
        pin_failures=0, recovery_failures=0, recovery_locked_until=None, recovery_required_at=None))
    what = ", ".join(lock.label for lock in lifted) or "nothing was locked"
    audit.record(db.session, "unlocked", at=now(), actor_id=actor.id if actor else None, subject_id=user.id,
                 ip=client_ip(), detail=f"{via}: {reason.strip()} (lifted: {what})")
    db.session.refresh(user)
    return lifted


def create_user(username: str, role: str, name: str, email: str, password: str, *, dob: str | None = None,
                ssn_last4: str | None = None, dea: str | None = None, admin_rights: bool = False,
                actor: User | None = None) -> User:
    vault = current_app.extensions["vault"]
    user = User(username=username.strip().lower(), role=role, name=name.strip(), email=email.strip(),
                password_hash=hash_secret(password), created_at=now(), has_admin_rights=admin_rights,
                dea_number=normalise_dea(dea) if dea else None,
                dob_hash=vault.keyed_hash(dob) if dob else None,
                ssn_last4_hash=vault.keyed_hash(ssn_last4) if ssn_last4 else None)
    db.session.add(user)
    db.session.flush()
    how = f"by {actor.username}" if actor is not None else "(CLI)"
    audit.record(db.session, "user_created", at=now(), actor_id=actor.id if actor is not None else None,
                 subject_id=user.id, detail=f"{role} {user.username} {how}")
    return user


def create(*, username: str, role: str, name: str, email: str, actor: User, dob: str | None = None,
           ssn_last4: str | None = None, dea: str | None = None, admin_rights: bool = False) -> tuple[User, str]:
    """A new account with no usable password, and the token of its Choose your password link
    (the caller commits and e-mails it)."""
    user = create_user(username, role, name, email, secrets.token_urlsafe(32), dob=dob, ssn_last4=ssn_last4,
                       dea=dea, admin_rights=admin_rights, actor=actor)
    token = links.issue(user, PASSWORD_LINK, current_app.config["PORTAL_PASSWORD_LINK_MINUTES"], created_by=actor)
    return user, token


def password_link(user: User, actor: User) -> str:
    """Reset password: a new one-time link (the caller commits and e-mails it). The current
    password keeps working until the link is used."""
    token = links.issue(user, PASSWORD_LINK, current_app.config["PORTAL_PASSWORD_LINK_MINUTES"], created_by=actor)
    audit.record(db.session, "password_link_sent", at=now(), actor_id=actor.id, subject_id=user.id, ip=client_ip(),
                 detail=f"one-time password link sent by {actor.username}")
    return token


def set_password(user: User, password: str) -> None:
    """The new password from a one-time link (already checked against the rules): every sign-in
    of the user ends, and the sign-in lock lifts. The caller commits."""
    db.session.execute(update(User).where(User.id == user.id).values(
        password_hash=hash_secret(password), password_failures=0, password_locked_until=None))
    sessions.revoke_all(user.id)
    audit.record(db.session, "password_set", at=now(), actor_id=user.id, subject_id=user.id, ip=client_ip(),
                 detail="password set with a one-time link; every sign-in ended")


def deactivate(user: User, actor: User) -> bool:
    """Deactivate: no sign-in from now on, every session ends. False if already inactive."""
    won = db.session.execute(update(User).where(User.id == user.id, User.is_active_user)
                             .values(is_active_user=False).execution_options(synchronize_session=False)).rowcount == 1
    if won:
        sessions.revoke_all(user.id)
        audit.record(db.session, "user_deactivated", at=now(), actor_id=actor.id, subject_id=user.id, ip=client_ip(),
                     detail=f"deactivated by {actor.username}")
    db.session.refresh(user)
    return won


def reactivate(user: User, actor: User) -> bool:
    won = db.session.execute(update(User).where(User.id == user.id, User.is_active_user.is_(False))
                             .values(is_active_user=True).execution_options(synchronize_session=False)).rowcount == 1
    if won:
        audit.record(db.session, "user_reactivated", at=now(), actor_id=actor.id, subject_id=user.id, ip=client_ip(),
                     detail=f"reactivated by {actor.username}")
    db.session.refresh(user)
    return won
