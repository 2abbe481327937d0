"""Lost-device recovery (article 004, "MFA recovery process"), the rules:

1. Lost your device? asks for the e-mail address and always gives the same answer. An account
   with that address gets a one-time link (PORTAL_RECOVERY_LINK_MINUTES, single use, only its
   hash stored) — or, when recovery cannot go on (locked, no identity details on file), an e-mail
   that says why.
2. The identity check: first and last name (the first and last word of the account's name, any
   case), date of birth and the last four of the SSN, compared with their keyed hashes. A wrong
   answer counts, with no hint which field was wrong; PORTAL_RECOVERY_LOCK_AFTER in a row lock
   recovery for PORTAL_RECOVERY_LOCK_HOURS (and the admins are told: notices.py).
3. The end: a new code generator becomes the primary device, every other device is suspended
   for the user to review, the second-factor locks lift, and every other sign-in ends.
Each step is audited; the views (recovery/views.py) run the wizard around these.
"""

import hmac
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, url_for
from sqlalchemy import func, select, update

from . import audit, device_actions, links, sessions
from .clock import now
from .extensions import db
from .messaging import SendError, send_mail
from .models import Device, User
from .sessions import client_ip

log = logging.getLogger(__name__)

LINK = "recovery"
SAME_ANSWER = ("If that address is ours, we sent a link to it. Check your e-mail and open the link within "
               "{minutes} minutes.")
WRONG = "These details do not match our records. Check each one and try again."
LOCKED = ("Recovery is locked for your account after too many tries. Try again after {until} UTC, or ask your "
          "practice admin to help you.")


def lock_after() -> int:
    return current_app.config["PORTAL_RECOVERY_LOCK_AFTER"]


def locked_until(user: User):
    """When the recovery lock ends, or None when recovery is open."""
    until = user.recovery_locked_until
    return until if until is not None and until > now() else None


def has_identity_details(user: User) -> bool:
    return bool(user.dob_hash and user.ssn_last4_hash)


def _mail(user: User, subject: str, body: str) -> None:
    try:
        send_mail(user.email, subject, body, user_id=user.id)
    except SendError:
        log.warning("a recovery e-mail could not be sent")


def request_link(email: str) -> None:
    """Lost your device?: e-mail each active account with this address its link, or why recovery
    cannot go on. The caller shows SAME_ANSWER whatever happened here."""
    address = email.strip().lower()
    users = list(db.session.scalars(select(User).where(func.lower(User.email) == address, User.is_active_user)
                                    .order_by(User.id)))
    minutes = current_app.config["PORTAL_RECOVERY_LINK_MINUTES"]
    for user in users:
        until = locked_until(user)
        if until is not None or not has_identity_details(user):
            why = "recovery is locked" if until is not None else "no identity details on file"
            audit.record(db.session, "recovery_refused", at=now(), subject_id=user.id, ip=client_ip(),
                         detail=f"recovery link asked for; not sent: {why}")
            db.session.commit()
            reason = (f"recovery is locked after too many wrong answers until {until:%Y-%m-%d %H:%M} UTC"
                      if until is not None else
                      "your practice has not recorded the identity details that recovery checks")
            _mail(user, "Your EPCS Portal recovery request",
                  f"Hello {user.first_name},\n\nSomeone asked to recover your EPCS Portal account, but {reason}. "
                  "Ask your practice admin to help you.\n\nIf this was not you, tell your practice admin.\n")
            continue
        token = links.issue(user, LINK, minutes)
        audit.record(db.session, "recovery_requested", at=now(), subject_id=user.id, ip=client_ip(),
                     detail=f"recovery link e-mailed, valid {minutes} minutes")
        db.session.commit()
        link = url_for("recovery.link", token=token, _external=True)
        _mail(user, "Confirm your e-mail to recover your EPCS Portal account",
              f"Hello {user.first_name},\n\nTo update your multi-factor authentication, confirm your e-mail address "
              f"by opening this link within {minutes} minutes. It works once.\n\n{link}\n\n"
              "Then verify your identity, pair a code generator app, name it and enter your EPCS Portal "
              "password. If you did not ask for this, ignore this e-mail and tell your practice admin.\n")


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _answers_match(user: User, first: str, last: str, dob: date, ssn_last4: str) -> bool:
    words = user.name.split()
    if not words or not has_identity_details(user):
        return False
    vault = current_app.extensions["vault"]
    checks = [
        _same(first, words[0]),
        _same(last, words[-1]),
        hmac.compare_digest(vault.keyed_hash(dob.isoformat()), user.dob_hash),
        hmac.compare_digest(vault.keyed_hash(ssn_last4), user.ssn_last4_hash),
    ]
    return all(checks)


@dataclass(frozen=True)
class IdentityOutcome:
    ok: bool
    locked: bool = False
    message: str = ""


def check_identity(user: User, first: str, last: str, dob: date, ssn_last4: str) -> IdentityOutcome:
    """Compare the answers (already well formed) and commit the result. Locked: refused unchecked.
    Wrong: counted atomically; the count reaching the limit locks recovery and ends the count."""
    failures, until = db.session.execute(
        select(User.recovery_failures, User.recovery_locked_until).where(User.id == user.id)
        .with_for_update()).one()
    moment = now()
    if until is not None and until > moment:
        db.session.commit()
        return IdentityOutcome(False, True, LOCKED.format(until=f"{until:%Y-%m-%d %H:%M}"))
    if _answers_match(user, first, last, dob, ssn_last4):
        db.session.execute(update(User).where(User.id == user.id).values(recovery_failures=0))
        audit.record(db.session, "recovery_identity_verified", at=moment, actor_id=user.id, subject_id=user.id,
                     ip=client_ip(), detail="name, date of birth and SSN last four matched")
        db.session.commit()
        return IdentityOutcome(True)
    failures = db.session.execute(
        update(User).where(User.id == user.id).values(recovery_failures=User.recovery_failures + 1)
        .returning(User.recovery_failures)).scalar_one()
    audit.record(db.session, "recovery_identity_failed", at=moment, actor_id=user.id, subject_id=user.id,
                 ip=client_ip(), detail=f"identity answers did not match (failure {failures})")
    if failures >= lock_after():
        hours = current_app.config["PORTAL_RECOVERY_LOCK_HOURS"]
        until = moment + timedelta(hours=hours)
        db.session.execute(update(User).where(User.id == user.id).values(recovery_failures=0,
                                                                         recovery_locked_until=until))
        audit.record(db.session, "recovery_locked", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                     detail=f"recovery locked for {hours} hours after {failures} wrong identity answers")
        db.session.commit()
        return IdentityOutcome(False, True, LOCKED.format(until=f"{until:%Y-%m-%d %H:%M}"))
    db.session.commit()
    return IdentityOutcome(False, False, WRONG)


def complete(user: User, name: str, sealed_secret: str, step: int) -> Device:
    """The new code generator is active and primary; every other active device is suspended for
    review; the second-factor lock and the recovery state lift; every sign-in of the user ends
    (the caller's own recovering session included). The caller commits."""
    device = device_actions.add(user, "totp", name, make_primary=True, secret=sealed_secret, last_step=step)
    others = list(db.session.scalars(select(Device).where(Device.user_id == user.id, Device.status == "active",
                                                          Device.id != device.id).order_by(Device.id)))
    moment = now()
    for other in others:
        other.status = "suspended"
        other.is_primary = False
        audit.record(db.session, "device_suspended", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                     detail=f"{other.kind} device {other.name!r}: suspended by a recovery, for review")
    db.session.execute(update(User).where(User.id == user.id).values(
        otp_failures=0, otp_last_failure_at=None, recovery_failures=0, recovery_required_at=None))
    sessions.revoke_all(user.id)
    audit.record(db.session, "recovery_completed", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                 detail=f"new code generator {name!r} is primary; {len(others)} other device(s) suspended for review")
    return device
