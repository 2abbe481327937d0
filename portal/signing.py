"""Signing a controlled-substance prescription with two factors (21 CFR 1311.140): the EPCS PIN
(something the prescriber knows) and a fresh second factor from one of their devices (something
they have): a code, or a push approval on the phone. Both are checked on every try, each failure
counts against its own factor, a valid code or approval is used up even when the PIN was wrong,
and nothing is recorded unless both pass.

Which devices may sign: every kind second_factor.allowed_kinds("signing") accepts — code
generators, hardware tokens and push; text and call phones only when PORTAL_EPCS_ALLOW_SMS is on.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from . import audit, pin_factor
from .clock import now
from .extensions import db
from .models import Device, Prescription, User
from .prescription import canonical, digest
from .second_factor import SIGNING, Outcome, active_devices, allowed_kinds
from .sessions import client_ip

USED_UP = {
    "code": "That code was right but is now used up. Enter the next code your device shows.",
    "text": "That code was right but is now used up. Choose Send it again for a new one.",
    "push": "Your phone's approval is now used up. Send a new request and approve it.",
}


def passcode_devices(user: User) -> list[Device]:
    """The devices that can validate a passcode (the PIN wizard's step 1), primary first."""
    return active_devices(user, allowed_kinds("pin_reset"))


def signing_devices(user: User) -> list[Device]:
    """The devices that can sign, primary first."""
    return active_devices(user, allowed_kinds(SIGNING))


@dataclass(frozen=True)
class Signed:
    prescription: Prescription | None
    pin_error: str = ""
    code_error: str = ""


def sign(user: User, device: Device, pin: str, order: dict, verify: Callable[[], Outcome], way: str = "code") -> Signed:
    """Check both factors, then record the prescription (the caller commits nothing more).
    `verify` checks and uses up the device's factor (factor_prompt.Prompt.verify: the code, or the
    push approval); `way` is how the device gives it. A locked PIN refuses the try before anything
    is checked, so no code or approval is used up for nothing."""
    if pin_factor.is_locked(user):
        _refused(user, "EPCS PIN locked")
        return Signed(None, pin_error=pin_factor.locked_message())
    code_outcome = verify()
    pin_outcome = pin_factor.check_pin(user, pin, "signing")
    if not (code_outcome.ok and pin_outcome.ok):
        factor = "approval" if way == "push" else "code"
        reasons = [reason for ok, reason in ((pin_outcome.ok, "wrong or locked EPCS PIN"),
                                             (code_outcome.ok, f"{factor} not accepted")) if not ok]
        _refused(user, "; ".join(reasons) + f" (device {device.name!r})")
        return Signed(None, pin_error=pin_outcome.message,
                      code_error=code_outcome.message if not code_outcome.ok else USED_UP[way])
    return Signed(_record(user, device, order))


def _refused(user: User, why: str) -> None:
    audit.record(db.session, "prescription_refused", at=now(), actor_id=user.id, subject_id=user.id,
                 ip=client_ip(), detail=f"signing refused: {why}")
    db.session.commit()


def _record(user: User, device: Device, order: dict) -> Prescription:
    moment = now()
    text = canonical(order, signed_at=moment,
                     prescriber={"id": user.id, "name": user.name, "dea_number": user.dea_number},
                     device={"id": device.id, "name": device.name, "kind": device.kind})
    fields = {key: order[key] for key in ("order_key", "patient_name", "drug", "strength", "schedule", "quantity",
                                          "directions")}
    rx = Prescription(**fields, patient_dob=date.fromisoformat(order["patient_dob"]), prescriber_id=user.id,
                      signed_at=moment, device_id=device.id, device_name=device.name,
                      canonical=text, digest=digest(text))
    db.session.add(rx)
    db.session.flush()
    audit.record(db.session, "prescription_signed", at=moment, actor_id=user.id, subject_id=user.id,
                 ip=client_ip(), detail=f"prescription #{rx.id} (schedule {rx.schedule}) signed with EPCS PIN and "
                                        f"device {device.name!r}; SHA-256 {rx.digest}")
    db.session.commit()
    return rx
