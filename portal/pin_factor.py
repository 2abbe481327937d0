"""The EPCS PIN against the database: set it (bcrypt), check it with atomic failure counting, and
the lock after PORTAL_PIN_LOCK_AFTER wrong PINs, which only a PIN reset lifts (or an admin's
unlock). The rules a new PIN must follow are in pin.py; this module applies PINs to rows, as
second_factor.py does for codes.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from . import audit
from .clock import now
from .extensions import db
from .models import User
from .passwords import check_secret, hash_secret
from .sessions import client_ip

NO_PIN = "You have no EPCS PIN yet. Create one on the EPCS page first."
WRONG = "That EPCS PIN is not right."


@dataclass(frozen=True)
class PinOutcome:
    ok: bool
    message: str = ""
    locked: bool = False


def lock_after() -> int:
    return current_app.config["PORTAL_PIN_LOCK_AFTER"]


def locked_message() -> str:
    return (f"Your EPCS PIN is locked after {lock_after()} wrong PINs. "
            "Reset it with Reset EPCS PIN (on the EPCS page), then sign again.")


def is_locked(user: User) -> bool:
    failures = db.session.scalar(select(User.pin_failures).where(User.id == user.id))
    return failures >= lock_after()


def matches_current(user: User) -> Callable[[str], bool]:
    """For pin.pin_problem's "not the current PIN" rule."""
    return lambda candidate: user.pin_hash is not None and check_secret(candidate, user.pin_hash)


def set_pin(user: User, pin: str, *, created: bool) -> None:
    """Store a new PIN (already checked against the rules) and clear any PIN lock; the caller
    commits. The audit says created or reset, never the PIN."""
    moment = now()
    db.session.execute(update(User).where(User.id == user.id).values(
        pin_hash=hash_secret(pin), pin_set_at=moment, pin_failures=0))
    detail = "EPCS PIN created" if created else "EPCS PIN reset; any PIN lock cleared"
    audit.record(db.session, "pin_created" if created else "pin_reset", at=moment, actor_id=user.id,
                 subject_id=user.id, ip=client_ip(), detail=detail)


def check_pin(user: User, pin: str, purpose: str) -> PinOutcome:
    """Check a submitted PIN and commit the result. A locked PIN is refused unchecked; any other
    PIN that is not right counts once (atomically), and the count reaching the limit locks it."""
    failures, hashed = db.session.execute(
        select(User.pin_failures, User.pin_hash).where(User.id == user.id)).one()
    db.session.commit()  # bcrypt takes a while: hold no database lock meanwhile
    if hashed is None:
        return PinOutcome(False, NO_PIN)
    limit = lock_after()
    if failures >= limit:
        return PinOutcome(False, locked_message(), locked=True)
    if check_secret(pin or "", hashed):
        # conditional: a lock that another request set meanwhile stands
        cleared = db.session.execute(
            update(User).where(User.id == user.id, User.pin_failures < limit).values(pin_failures=0)
            .execution_options(synchronize_session=False)).rowcount == 1
        db.session.commit()
        return PinOutcome(True) if cleared else PinOutcome(False, locked_message(), locked=True)
    moment = now()
    failures = db.session.execute(
        update(User).where(User.id == user.id).values(pin_failures=User.pin_failures + 1)
        .returning(User.pin_failures).execution_options(synchronize_session=False)).scalar_one()
    audit.record(db.session, "pin_refused", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                 detail=f"{purpose}: wrong EPCS PIN (failure {failures})")
    if failures == limit:
        audit.record(db.session, "pin_locked", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                     detail=f"EPCS PIN locked after {failures} wrong PINs")
    db.session.commit()
    if failures >= limit:
        return PinOutcome(False, locked_message(), locked=True)
    left = limit - failures
    return PinOutcome(False, f"{WRONG} {left} {'try' if left == 1 else 'tries'} left before it locks.")
