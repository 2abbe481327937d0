"""Push approvals and text/call codes: the `challenge` rows behind them.

A push challenge carries a 2-digit number; the phone offers three and only the right one
approves — any other answer, or "This wasn't me", denies. A text/call challenge carries the keyed
hash of a 6-digit code sent to the phone. Either is answered or used once: every change of
`status` is one conditional UPDATE (`WHERE status = 'pending'`, rowcount 1), so two workers or two
taps cannot both win. Expiry is not written: a pending challenge past `expires_at` is expired.

Other flows (PIN reset, signing) use the same calls: `start_push` / `push_state` /
`consume_approval`, and `send_code` followed by `second_factor.check_code`.
"""

import hmac
import secrets
from datetime import timedelta

from flask import current_app, request
from flask_login import current_user
from sqlalchemy import func, select, update

from . import audit, messaging, sessions
from .clock import now
from .extensions import begin_write, db
from .models import Challenge, Device, LoginSession, User
from .phone_number import mask
from .second_factor import LOCKED, MATCHERS, gate

PURPOSES = {"sign_in": "Sign in", "step_up": "Confirm it is you", "setup": "Set up this phone",
            "pin_create": "Create EPCS PIN", "pin_reset": "Reset EPCS PIN",
            "signing": "Sign a controlled-substance prescription", "manage_tokens": "Add a hardware token"}
MAX_PENDING_PUSH = 3
RESEND_SECONDS = 30
SENDS_PER_HOUR = 5
CODE_ATTEMPTS = 5  # wrong tries on one code before it stops working (the user's own counter counts too)
CODE_CHANNELS = ("sms", "voice")

TOO_MANY_PUSH = (f"You already have {MAX_PENDING_PUSH} push requests waiting. Answer or deny them on your phone, "
                 "or wait for them to expire, then try again.")
ANSWERED = "This request was already answered or has expired."


class Refused(Exception):
    """The request cannot go ahead; the message says why, for the page."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def request_session() -> LoginSession | None:
    """The sign-in session of this request: the signed-in one, or a sign-in waiting for its factor."""
    if current_user.is_authenticated:
        return current_user.login_session
    return sessions.pending()


BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Chromium/", "Chromium"), ("Safari/", "Safari"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_browser(user_agent: str | None) -> str:
    """"Chrome on Windows": what the phone shows about where a request came from."""
    agent = user_agent or ""
    browser = next((name for mark, name in BROWSERS if mark in agent), "A browser")
    system = next((name for mark, name in SYSTEMS if mark in agent), None)
    return f"{browser} on {system}" if system else browser


def _new(user: User, channel: str, purpose: str, ls: LoginSession | None, lifetime: timedelta,
         **fields) -> Challenge:
    moment = now()
    return Challenge(user_id=user.id, channel=channel, purpose=purpose, login_session_id=ls.id if ls else None,
                     status="pending", attempts=0, created_at=moment, expires_at=moment + lifetime,
                     browser=describe_browser(request.user_agent.string), ip=sessions.client_ip(), **fields)


def _lock_user(user_id: int) -> None:
    """Serialise this user's challenge writes (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE
    already serialises), so that two workers cannot both pass a cap."""
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


def _refuse_if_locked(user: User) -> None:
    """A second factor locked after too many wrong codes is locked for push and texts too."""
    if gate(user).state == "locked":
        db.session.rollback()
        raise Refused(LOCKED)


# ---- push ----

def push_lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["PORTAL_PUSH_SECONDS"])


def push_state(challenge: Challenge) -> str:
    """pending, approved, denied, expired or used."""
    if challenge.status == "pending" and challenge.expires_at <= now():
        return "expired"
    return challenge.status


def latest_push(ls: LoginSession, *, purpose: str, device_ids=None, pairing_id: int | None = None) -> Challenge | None:
    query = select(Challenge).where(Challenge.login_session_id == ls.id, Challenge.channel == "push",
                                    Challenge.purpose == purpose)
    if pairing_id is not None:
        query = query.where(Challenge.pairing_id == pairing_id)
    if device_ids is not None:
        query = query.where(Challenge.device_id.in_(list(device_ids)))
    return db.session.scalar(query.order_by(Challenge.id.desc()).limit(1))


def start_push(user: User, purpose: str, ls: LoginSession, *, device: Device | None = None,
               pairing_id: int | None = None) -> Challenge:
    """A push request to `device` (or, at set-up, to the phone of `pairing_id`) for this sign-in
    session. A request of this session still pending is reused; a fourth pending one is refused."""
    current = latest_push(ls, purpose=purpose, device_ids=[device.id] if device else None, pairing_id=pairing_id)
    if current is not None and push_state(current) == "pending":
        return current
    begin_write()  # the push pages send a request on GET
    _refuse_if_locked(user)
    _lock_user(user.id)
    waiting = db.session.scalar(select(func.count(Challenge.id)).where(
        Challenge.user_id == user.id, Challenge.channel == "push", Challenge.status == "pending",
        Challenge.expires_at > now()))
    if waiting >= MAX_PENDING_PUSH:
        db.session.rollback()
        raise Refused(TOO_MANY_PUSH)
    number = 10 + secrets.randbelow(90)
    choices = {number}
    while len(choices) < 3:
        choices.add(10 + secrets.randbelow(90))
    offered = list(choices)
    secrets.SystemRandom().shuffle(offered)
    challenge = _new(user, "push", purpose, ls, push_lifetime(), device_id=device.id if device else None,
                     pairing_id=pairing_id, number=str(number), choices=",".join(map(str, offered)))
    db.session.add(challenge)
    db.session.commit()
    return challenge


def session_push_request(raw_id, ls: LoginSession) -> Challenge | None:
    """A push request of this sign-in session, by the id a page posted; None for anything else
    (an id that is not a row id at all, however large, is nobody's)."""
    try:
        challenge_id = int(raw_id)
    except (TypeError, ValueError):
        return None
    if not 0 < challenge_id < 2**31:
        return None
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or challenge.login_session_id != ls.id or challenge.channel != "push":
        return None
    return challenge


def pending_for_phone(*, device: Device | None = None, pairing_id: int | None = None) -> list[Challenge]:
    """What a phone lists: its live requests, oldest first."""
    query = select(Challenge).where(Challenge.channel == "push", Challenge.status == "pending",
                                    Challenge.expires_at > now())
    if device is not None:
        query = query.where(Challenge.device_id == device.id)
    else:
        query = query.where(Challenge.pairing_id == pairing_id, Challenge.device_id.is_(None))
    return list(db.session.scalars(query.order_by(Challenge.id)))


def answer_push(challenge: Challenge, number: str | None) -> str:
    """The phone's answer: the number tapped, or None for "This wasn't me". Returns "approved" or
    "denied"; raises Refused when the request is no longer pending."""
    moment = now()
    if number is not None and hmac.compare_digest(str(number), challenge.number or ""):
        status, reason = "approved", "approved on the phone"
    elif number is None:
        status, reason = "denied", "denied on the phone (This wasn't me)"
    else:
        status, reason = "denied", "the wrong number was chosen on the phone"
    won = db.session.execute(
        update(Challenge).where(Challenge.id == challenge.id, Challenge.status == "pending",
                                Challenge.expires_at > moment)
        .values(status=status, answered_at=moment).execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
        raise Refused(ANSWERED)
    audit.record(db.session, "push_approved" if status == "approved" else "push_denied", at=moment,
                 actor_id=challenge.user_id, subject_id=challenge.user_id, ip=sessions.client_ip(),
                 detail=f"{PURPOSES.get(challenge.purpose, challenge.purpose)} request from {challenge.browser}, "
                        f"{challenge.ip or 'unknown IP'}: {reason}")
    db.session.commit()
    return status


def consume_approval(challenge: Challenge | None, ls: LoginSession, *, purpose: str) -> bool:
    """Use an approval once, for the sign-in session and the purpose it was asked for (one
    conditional UPDATE): the phone showed what it approves, so an approval to reset a PIN never
    signs a prescription."""
    if challenge is None:
        return False
    moment = now()
    won = db.session.execute(
        update(Challenge).where(Challenge.id == challenge.id, Challenge.login_session_id == ls.id,
                                Challenge.purpose == purpose, Challenge.status == "approved",
                                Challenge.expires_at > moment - push_lifetime())
        .values(status="used").execution_options(synchronize_session=False)).rowcount == 1
    if won and challenge.device_id is not None:
        db.session.execute(update(Device).where(Device.id == challenge.device_id).values(last_used_at=moment))
    db.session.commit()
    return won


def denial_warnings(user: User) -> list[str]:
    """Push requests denied since the user's last sign-in: the next sign-in opens on a warning."""
    query = select(Challenge).where(Challenge.user_id == user.id, Challenge.channel == "push",
                                    Challenge.status == "denied")
    if user.last_sign_in_at is not None:
        query = query.where(Challenge.answered_at > user.last_sign_in_at)
    return [f"Warning: a push request ({PURPOSES.get(c.purpose, c.purpose).lower()}, from {c.browser}, "
            f"{c.ip or 'unknown IP'}, {c.created_at:%b %-d at %H:%M} UTC) was denied on your phone. If that was "
            "not you, someone knows your password: change it and tell your practice admin."
            for c in db.session.scalars(query.order_by(Challenge.id))]


# ---- text and call codes ----

def code_hash(challenge_id: int, code: str) -> str:
    return current_app.extensions["vault"].keyed_hash(f"code:{challenge_id}:{code}")


def code_message(channel: str, code: str) -> str:
    issuer = current_app.config["PORTAL_ISSUER"]
    minutes = current_app.config["PORTAL_SMS_CODE_MINUTES"]
    if channel == "voice":
        spoken = ", ".join(code)
        return (f"Hello. This is {issuer}. Your code is {spoken}. Again, your code is {spoken}. "
                f"It expires in {minutes} minutes.")
    return f"{issuer}: your code is {code}. It expires in {minutes} minutes. Do not share it with anyone."


def next_send_in(ls: LoginSession) -> int:
    """Seconds until this sign-in session may ask for another code (0: now)."""
    last = db.session.scalar(select(func.max(Challenge.created_at)).where(
        Challenge.login_session_id == ls.id, Challenge.channel.in_(CODE_CHANNELS), Challenge.status != "failed"))
    if last is None:
        return 0
    left = (last + timedelta(seconds=RESEND_SECONDS) - now()).total_seconds()
    return max(0, int(left + 0.999))


def send_code(user: User, channel: str, phone: str, purpose: str, ls: LoginSession, *,
              device: Device | None = None) -> Challenge:
    """Text or call a new 6-digit code. At most one send every 30 seconds per sign-in session, and 5
    an hour per user; a code sent earlier in this session to the same phone stops working once the
    new one is sent. If the sender fails, nothing is left half-done: the new code never works and
    the old one still does."""
    if channel not in CODE_CHANNELS:
        raise Refused("Choose Text me or Call me.")
    _refuse_if_locked(user)
    _lock_user(user.id)
    wait = next_send_in(ls)
    if wait:
        db.session.rollback()
        raise Refused(f"We just sent you a code. You can ask for a new one in {wait} seconds.")
    sent = db.session.scalar(select(func.count(Challenge.id)).where(
        Challenge.user_id == user.id, Challenge.channel.in_(CODE_CHANNELS), Challenge.status != "failed",
        Challenge.created_at > now() - timedelta(hours=1)))
    if sent >= SENDS_PER_HOUR:
        db.session.rollback()
        raise Refused(f"You have asked for {SENDS_PER_HOUR} codes in the last hour. Wait a while, or choose "
                      "another method.")
    code = f"{secrets.randbelow(10**6):06d}"
    challenge = _new(user, channel, purpose, ls, timedelta(minutes=current_app.config["PORTAL_SMS_CODE_MINUTES"]),
                     device_id=device.id if device else None, phone=phone, code_hash="")
    db.session.add(challenge)
    db.session.flush()
    challenge.code_hash = code_hash(challenge.id, code)
    db.session.commit()  # reserved before the (slow) send, so the limits hold across workers
    try:
        (messaging.send_call if channel == "voice" else messaging.send_text)(phone, code_message(channel, code),
                                                                            user_id=user.id)
    except messaging.SendError as exc:
        db.session.rollback()
        db.session.execute(update(Challenge).where(Challenge.id == challenge.id).values(status="failed"))
        audit.record(db.session, "code_not_sent", at=now(), actor_id=user.id, subject_id=user.id,
                     ip=sessions.client_ip(), detail=f"{channel} to {mask(phone)} for {purpose}: the sender failed")
        db.session.commit()
        verb = "call" if channel == "voice" else "text"
        raise Refused(f"We could not {verb} {mask(phone)} just now. Try again in a moment, or choose another "
                      "method.") from exc
    db.session.execute(
        update(Challenge).where(Challenge.login_session_id == ls.id, Challenge.id != challenge.id,
                                Challenge.channel.in_(CODE_CHANNELS), Challenge.phone == phone,
                                Challenge.status == "pending")
        .values(status="expired").execution_options(synchronize_session=False))
    audit.record(db.session, "code_sent", at=now(), actor_id=user.id, subject_id=user.id, ip=sessions.client_ip(),
                 detail=f"{'call' if channel == 'voice' else 'text'} to {mask(phone)} for {purpose}")
    db.session.commit()
    return challenge


def latest_code(ls: LoginSession, *, purpose: str, device_ids=None, phone: str | None = None) -> Challenge | None:
    """The code most recently sent in this session (to one of `device_ids`, or to `phone`)."""
    query = select(Challenge).where(Challenge.login_session_id == ls.id, Challenge.channel.in_(CODE_CHANNELS),
                                    Challenge.purpose == purpose, Challenge.status != "failed")
    if device_ids is not None:
        query = query.where(Challenge.device_id.in_(list(device_ids)))
    if phone is not None:
        query = query.where(Challenge.phone == phone)
    return db.session.scalar(query.order_by(Challenge.id.desc()).limit(1))


def code_state(challenge: Challenge) -> str:
    """pending, used, expired (also when too many wrong tries used it up)."""
    if challenge.status == "pending" and (challenge.expires_at <= now() or challenge.attempts >= CODE_ATTEMPTS):
        return "expired"
    return challenge.status


def _use(challenge: Challenge) -> bool:
    moment = now()
    return db.session.execute(
        update(Challenge).where(Challenge.id == challenge.id, Challenge.status == "pending",
                                Challenge.expires_at > moment, Challenge.attempts < CODE_ATTEMPTS)
        .values(status="used", answered_at=moment).execution_options(synchronize_session=False)).rowcount == 1


def _miss(challenge: Challenge) -> None:
    db.session.execute(update(Challenge).where(Challenge.id == challenge.id)
                       .values(attempts=Challenge.attempts + 1).execution_options(synchronize_session=False))


def check_setup_code(challenge: Challenge, code: str) -> str:
    """The set-up's confirmation code (no device yet, so the user's failure counter is not
    touched; the code itself stops after 5 wrong tries). ok, wrong, expired or replayed."""
    state = code_state(challenge)
    if state != "pending":
        return "replayed" if state == "used" else "expired"
    if not hmac.compare_digest(challenge.code_hash or "", code_hash(challenge.id, code)):
        _miss(challenge)
        db.session.commit()
        return "wrong"
    won = _use(challenge)
    db.session.commit()
    return "ok" if won else "replayed"


class CodeMatcher:
    """Text/call devices for second_factor.check_code: the code must be one sent to this device in
    this sign-in session for this purpose, not expired, not used; check_code counts the failures."""

    def digits(self, device: Device) -> int:
        return 6

    def consume(self, device: Device, code: str, purpose: str) -> str:
        ls = request_session()
        if ls is None:
            return "wrong"
        sent = list(db.session.scalars(
            select(Challenge).where(Challenge.device_id == device.id, Challenge.login_session_id == ls.id,
                                    Challenge.purpose == purpose, Challenge.channel.in_(CODE_CHANNELS),
                                    Challenge.status.in_(("pending", "used")))
            .order_by(Challenge.id.desc()).limit(20)))
        for challenge in sent:
            if not hmac.compare_digest(challenge.code_hash or "", code_hash(challenge.id, code)):
                continue
            if challenge.status == "used":
                return "replayed"
            if code_state(challenge) != "pending":
                return "wrong"
            if not _use(challenge):
                return "replayed"
            db.session.execute(update(Device).where(Device.id == device.id).values(last_used_at=now()))
            return "ok"
        live = next((c for c in sent if code_state(c) == "pending"), None)
        if live is not None:
            _miss(live)
        return "wrong"


MATCHERS["sms"] = MATCHERS["voice"] = CodeMatcher()
