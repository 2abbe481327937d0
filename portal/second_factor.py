"""Checking a second factor against the database: the failure gate, the code's form, the match,
the replay rule (one conditional UPDATE), and failure counting — the same for sign-in, step-up,
and every later use. The rules themselves are in otp.py; this module applies them to rows.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from . import audit, otp
from .clock import now
from .extensions import db
from .models import Device, User
from .sessions import client_ip


@dataclass(frozen=True)
class Method:
    slug: str
    label: str
    kinds: tuple[str, ...]
    description: str


METHODS = (
    Method("text", "Text Message or Phone Call", ("sms", "voice"),
           "Get a 6-digit code by text message or phone call."),
    Method("push", "Push Notification", ("push",),
           "Approve sign-ins via push notifications sent to the Portal Authenticator on your phone."),
    Method("code-generator", "Code Generator Application", ("totp",),
           "Generate verification codes via code generator apps like Google Authenticator or Authy."),
    Method("hardware-token", "Hardware Token", ("hardware",),
           "Use the one-time password shown on your hardware token."),
)
METHODS_BY_SLUG = {m.slug: m for m in METHODS}
CODE_METHODS = ("code-generator", "hardware-token")
SIGNING = "signing"  # the purpose of signing a controlled-substance prescription
TEXT_KINDS = ("sms", "voice")
NOT_FOR_SIGNING = ("Text message and phone call codes cannot be used to sign controlled-substance prescriptions. "
                   "Choose another device.")


def allowed_kinds(purpose: str) -> tuple[str, ...]:
    """The device kinds that may give the second factor for `purpose`. Text and call codes are not
    accepted for signing controlled-substance prescriptions (NIST SP 800-63B restricts them) unless
    PORTAL_EPCS_ALLOW_SMS is on."""
    kinds = tuple(kind for m in METHODS for kind in m.kinds)
    if purpose == SIGNING and not current_app.config["PORTAL_EPCS_ALLOW_SMS"]:
        return tuple(kind for kind in kinds if kind not in TEXT_KINDS)
    return kinds


def method_of(device: Device) -> Method:
    return next(m for m in METHODS if device.kind in m.kinds)


def active_devices(user: User, kinds: tuple[str, ...] | None = None) -> list[Device]:
    """The user's usable devices, primary first, then oldest first."""
    query = select(Device).where(Device.user_id == user.id, Device.status == "active")
    if kinds:
        query = query.where(Device.kind.in_(kinds))
    return list(db.session.scalars(query.order_by(Device.is_primary.desc(), Device.added_at, Device.id)))


def available_methods(user: User, purpose: str | None = None) -> list[Method]:
    kinds = {d.kind for d in active_devices(user)}
    if purpose is not None:
        kinds &= set(allowed_kinds(purpose))
    return [m for m in METHODS if kinds & set(m.kinds)]


def policy() -> otp.FailurePolicy:
    c = current_app.config
    return otp.FailurePolicy(c["PORTAL_OTP_WAIT_AFTER"], c["PORTAL_OTP_WAIT_SECONDS"],
                             c["PORTAL_OTP_MAX_WAIT_SECONDS"], c["PORTAL_OTP_LOCK_AFTER"])


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str = ""


LOCKED = ("Your second factor is locked after too many wrong codes. Ask your practice admin to "
          "unlock it, or use “Lost your device?” on the sign-in page.")


def gate(user: User) -> otp.Gate:
    """Read the failure state with the user's row locked (PostgreSQL: FOR UPDATE; SQLite already
    holds the write lock): one user's tries are checked one at a time, so a burst of concurrent
    guesses cannot all slip past the wait, and every lock is taken in the same order (user row
    first, then device, then the audit chain), so racing workers cannot deadlock."""
    failures, last = db.session.execute(
        select(User.otp_failures, User.otp_last_failure_at).where(User.id == user.id).with_for_update()).one()
    return otp.gate(policy(), failures, last, now())


def refusal(g: otp.Gate) -> str:
    if g.state == "locked":
        return LOCKED
    return f"Too many wrong codes. Wait {g.retry_in} seconds, then try again."


def digits_for(device: Device) -> int:
    matcher = MATCHERS.get(device.kind)
    return matcher.digits(device) if matcher else 6


def check_code(user: User, device: Device, code: str, purpose: str) -> Outcome:
    """Check one submitted code for one of the user's active devices, and commit the result.
    A try while waiting is refused unchecked and uncounted; any other code that is not accepted
    (malformed, wrong, replayed) counts once. A device kind not accepted for `purpose` is refused
    unchecked."""
    if device.kind not in allowed_kinds(purpose):
        return Outcome(False, NOT_FOR_SIGNING)
    g = gate(user)
    if g.state != "open":
        return Outcome(False, refusal(g))
    digits = digits_for(device)
    if device.status != "active" or device.user_id != user.id or device.kind not in MATCHERS:
        return _failed(user, device, purpose, "not usable", "That device cannot be used.")
    if not otp.is_well_formed(code, digits):
        return _failed(user, device, purpose, "malformed", f"Enter the {digits}-digit code, digits only.")
    result = MATCHERS[device.kind].consume(device, code, purpose)
    if result == "replayed":
        return _failed(user, device, purpose, "replayed",
                       "That code was already used. Wait for the next code and enter it.")
    if result == "out_of_step":
        return _failed(user, device, purpose, "out of step", OUT_OF_STEP)
    if result != "ok":
        return _failed(user, device, purpose, "wrong", "That code is not right. Check your device and try again.")
    reset_failures(user)
    db.session.commit()
    return Outcome(True)


# a matcher's "out_of_step": the code is the device's, but further ahead than a sign-in looks
OUT_OF_STEP = ("Your token is ahead of the portal: its button was pressed many times. Choose Resync token and "
               "enter two consecutive codes from it.")


def reset_failures(user: User) -> None:
    db.session.execute(update(User).where(User.id == user.id).values(otp_failures=0, otp_last_failure_at=None))


def _failed(user: User, device: Device, purpose: str, reason: str, message: str) -> Outcome:
    return count_failure(user, f"device {device.name!r}", purpose, reason, message)


def count_failure(user: User, what: str, purpose: str, reason: str, message: str) -> Outcome:
    """Count one refused code (or pair of codes) for `what` against the user's second factor, audit it,
    commit, and say what the user sees (with the wait or the lock once they begin)."""
    moment = now()
    failures = db.session.execute(
        update(User).where(User.id == user.id)
        .values(otp_failures=User.otp_failures + 1, otp_last_failure_at=moment)
        .returning(User.otp_failures)).scalar_one()
    audit.record(db.session, "code_refused", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                 detail=f"{purpose}: {reason} code for {what} (failure {failures})")
    p = policy()
    if failures == p.lock_after:
        audit.record(db.session, "factor_locked", at=moment, actor_id=user.id, subject_id=user.id,
                     ip=client_ip(), detail=f"second factor locked after {failures} failures")
    elif failures == p.wait_after:
        audit.record(db.session, "factor_waits", at=moment, actor_id=user.id, subject_id=user.id,
                     ip=client_ip(), detail=f"waits start after {failures} failures")
    db.session.commit()
    if p.is_locked(failures):
        return Outcome(False, LOCKED)
    if p.wait_for(failures):
        wait = p.wait_for(failures)
        return Outcome(False, f"{message} Too many wrong codes: wait {wait} seconds before the next try.")
    return Outcome(False, message)


class TotpMatcher:
    """Code generator: SHA-1, 6 digits, 30 s, ±1 step; each time step accepted once."""

    def digits(self, device: Device) -> int:
        return 6

    def consume(self, device: Device, code: str, purpose: str) -> str:
        secret = current_app.extensions["vault"].open(device.secret)
        step = otp.match_totp(secret, code, otp.time_step(now()), drift=device.drift)
        if step is None:
            return "wrong"
        # one conditional UPDATE: of two workers racing with the same code, one wins
        won = db.session.execute(
            update(Device)
            .where(Device.id == device.id, Device.status == "active",
                   (Device.last_step.is_(None)) | (Device.last_step < step))
            .values(last_step=step, last_used_at=now())
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        return "ok" if won else "replayed"


# device kind -> matcher: digits(device), and consume(device, code, purpose) -> "ok", "wrong", "replayed"
# or "out_of_step" (a token's own code beyond the sign-in look-ahead); a code that was sent for one
# purpose (text/call) is good for that purpose only. The hardware-token and text/call flows add theirs
MATCHERS: dict = {"totp": TotpMatcher()}
