"""Demo mode's training phone: one simulated phone per user, with a fictional 555-01xx number of its
own, the code generators sent to it (seeds sealed on the server: only their codes leave it) and the
outbox texts and calls for its number. The phone page is opened by a link that names the phone
and carries a keyed hash of its id, so that nobody reads another trainee's codes by guessing."""

import hmac

from flask import current_app
from sqlalchemy import select

from . import otp
from .clock import now
from .extensions import db
from .models import OutboundMessage, TrainingAccount, TrainingPhone, User

# area codes for the fictional 555-0100..0199 lines: first digit 2-9, no N11, no premium codes
AREA_CODES = [a for a in range(201, 1000) if a % 100 != 11 and a not in (900, 976)]


def number_for(phone_id: int) -> str:
    area = AREA_CODES[(phone_id - 1) // 100 % len(AREA_CODES)]
    return f"+1{area}5550{100 + (phone_id - 1) % 100}"


def for_user(user: User) -> TrainingPhone:
    """The user's training phone, made on first use."""
    phone = db.session.scalar(select(TrainingPhone).where(TrainingPhone.user_id == user.id))
    if phone is None:
        phone = TrainingPhone(user_id=user.id, created_at=now())
        db.session.add(phone)
        db.session.flush()
        phone.number = number_for(phone.id)
        db.session.commit()
    return phone


def _mac(phone_id: int) -> str:
    return current_app.extensions["vault"].keyed_hash(f"training-phone:{phone_id}")[:32]


def link_token(phone: TrainingPhone) -> str:
    return f"{phone.id}.{_mac(phone.id)}"


def from_token(token: str | None) -> TrainingPhone | None:
    phone_id, _, mac = (token or "").partition(".")
    if not phone_id.isascii() or not phone_id.isdigit() or len(phone_id) > 12:
        return None
    if not hmac.compare_digest(mac, _mac(int(phone_id))):
        return None
    return db.session.get(TrainingPhone, int(phone_id))


def add_account(phone: TrainingPhone, label: str, secret: bytes) -> bool:
    """Put a code generator on the phone; False if this very seed is there already."""
    vault = current_app.extensions["vault"]
    fingerprint = vault.keyed_hash("training-seed:" + otp.secret_to_base32(secret))
    if db.session.scalar(select(TrainingAccount.id).where(TrainingAccount.training_phone_id == phone.id,
                                                          TrainingAccount.secret_hash == fingerprint)):
        return False
    db.session.add(TrainingAccount(training_phone_id=phone.id, label=label, secret=vault.seal(secret),
                                   secret_hash=fingerprint, created_at=now()))
    db.session.commit()
    return True


def codes(phone: TrainingPhone) -> list[dict]:
    """Each account's current 6-digit code and the seconds it has left, newest account first."""
    vault = current_app.extensions["vault"]
    moment = now()
    step = otp.time_step(moment)
    left = 30 - int((moment - otp.EPOCH).total_seconds()) % 30
    accounts = db.session.scalars(select(TrainingAccount).where(TrainingAccount.training_phone_id == phone.id)
                                  .order_by(TrainingAccount.id.desc()))
    return [{"label": a.label, "added_at": a.created_at, "code": otp.totp(vault.open(a.secret), step),
             "seconds_left": left} for a in accounts]


def messages(phone: TrainingPhone, limit: int = 50) -> list[OutboundMessage]:
    return list(db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.recipient == phone.number,
                                      OutboundMessage.channel.in_(("sms", "voice")))
        .order_by(OutboundMessage.id.desc()).limit(limit)))
