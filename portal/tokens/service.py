"""Hardware OATH tokens applied to rows: using a token's code (the "hardware" matcher that
second_factor.check_code calls), syncing a token with two consecutive codes (Add Token, Resync
token), and giving a token back to the inventory when its device is removed.

The searches are otp.py's; this module applies them to hardware_token rows. The token row holds the
replay state: HOTP `counter` (the counter value the next accepted code has), TOTP `last_step` and
`drift`. Every acceptance is one conditional UPDATE, so two workers racing with the same code (or the
same pair) cannot both win.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, or_, select, update

from .. import audit, device_actions, otp, second_factor
from ..clock import now
from ..extensions import db
from ..models import Device, HardwareToken, User
from ..sessions import client_ip

LOOK_AHEAD = 10  # counter values a sign-in code may be ahead of the server
SYNC_WINDOW = 10_000  # counter values a sync searches
LOOK_BEHIND = 10  # only to tell a replayed code from a wrong one
MAX_DRIFT_SECONDS = 24 * 3600  # how far a TOTP token's clock may be off when syncing

UNKNOWN_SERIAL = ("We do not recognise that serial number. Check the largest identifier on the back of your "
                  "token: letters and digits, like GALH12345678.")
NO_MATCH = ("These passwords do not match this token. Press the button for password 1, wait until the number "
            "disappears, press it again for password 2, and Submit.")
NOT_CONSECUTIVE = ("These passwords are not consecutive. Press the button once for password 1, wait until the "
                   "number disappears, then press it once more for password 2.")
REPLAYED = "These passwords were already used. Press the button for two new passwords."
NOT_USABLE = "That token cannot be used. Choose another method or ask your practice admin."


def digits_message(digits: int) -> str:
    return f"Your token shows {digits}-digit passwords: enter all {digits} digits."


def _key(token: HardwareToken) -> bytes:
    return current_app.extensions["vault"].open(token.seed)


def token_by_serial(serial: str) -> HardwareToken | None:
    """The token, read afresh (another worker may have moved its counter since it was loaded)."""
    return db.session.scalar(select(HardwareToken).where(HardwareToken.serial == serial)
                             .execution_options(populate_existing=True))


def token_of(device: Device) -> HardwareToken | None:
    """The active token behind a hardware device of its owner, or None."""
    token = token_by_serial(device.token_serial or "")
    if token is None or token.status != "active" or token.user_id != device.user_id:
        return None
    return token


def max_drift_steps(token: HardwareToken) -> int:
    return MAX_DRIFT_SECONDS // token.period


# ---- using a token: the "hardware" matcher ----

class HardwareMatcher:
    """HOTP: look-ahead 10, each counter value once. TOTP: the stored drift, ±1 step, each step once
    (and the drift follows the step that matched, so a slowly drifting clock stays in the window)."""

    def digits(self, device: Device) -> int:
        token = token_of(device)
        return token.digits if token else 6

    def consume(self, device: Device, code: str, purpose: str) -> str:
        token = token_of(device)
        if token is None or not otp.is_well_formed(code, token.digits):
            return "wrong"
        key = _key(token)
        if token.kind == "hotp":
            return self._hotp(device, token, key, code)
        return self._totp(device, token, key, code)

    def _hotp(self, device: Device, token: HardwareToken, key: bytes, code: str) -> str:
        counter = otp.match_hotp(key, code, token.counter, look_ahead=LOOK_AHEAD, digits=token.digits)
        if counter is None:
            behind = max(0, token.counter - LOOK_BEHIND)
            if otp.match_hotp(key, code, behind, look_ahead=token.counter - behind, digits=token.digits) is not None:
                return "replayed"
            if otp.match_hotp(key, code, token.counter + LOOK_AHEAD, look_ahead=SYNC_WINDOW - LOOK_AHEAD,
                              digits=token.digits) is not None:
                return "out_of_step"
            return "wrong"
        return _claim(device, token, HardwareToken.counter <= counter, counter=counter + 1)

    def _totp(self, device: Device, token: HardwareToken, key: bytes, code: str) -> str:
        step = otp.time_step(now(), token.period)
        matched = otp.match_totp(key, code, step, drift=token.drift, digits=token.digits)
        if matched is None:
            far = otp.match_totp(key, code, step, window=max_drift_steps(token), digits=token.digits)
            return "out_of_step" if far is not None else "wrong"
        return _claim(device, token, or_(HardwareToken.last_step.is_(None), HardwareToken.last_step < matched),
                      last_step=matched, drift=matched - step)


def _claim(device: Device, token: HardwareToken, unused, **values) -> str:
    """One conditional UPDATE: the code's counter value or step is still unused, and the token still
    the device owner's; of two workers racing with one code, one wins."""
    won = db.session.execute(
        update(HardwareToken)
        .where(HardwareToken.id == token.id, HardwareToken.status == "active",
               HardwareToken.user_id == device.user_id, unused)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        return "replayed"
    db.session.execute(update(Device).where(Device.id == device.id).values(last_used_at=now())
                       .execution_options(synchronize_session=False))
    return "ok"


# ---- syncing a token with two consecutive codes ----

@dataclass(frozen=True)
class SyncOutcome:
    ok: bool
    message: str = ""
    field: str = ""  # the form field the message belongs on: "serial", "first", "second" or "" (the form)
    device: Device | None = None
    repeated: bool = False  # a second click: the pair that last synced this user's token, nothing changed


@dataclass(frozen=True)
class _Found:
    unused: object  # the SQL condition that the pair's counter values or steps are still unused
    values: dict  # what the token row becomes


def sync(user: User, serial: str, first: str, second: str, *, purpose: str, repeat_is_done: bool) -> SyncOutcome:
    """Sync the token `serial` (normalised) with two consecutive codes and make it the user's.

    Cases: the user's factor is waiting or locked (refused, unchecked, uncounted); unknown serial, a
    token of another account or a revoked one (one message, no hint, uncounted: no secret was used);
    codes of the wrong length, no matching pair, codes not consecutive, a pair already used (refused
    and counted like any wrong code); with `repeat_is_done`, the very pair that last synced this
    user's token (a second click of Submit: answered as done, nothing changes); otherwise the token's
    counter (or drift) is set after the pair, it is assigned to the user, and it gets a device row
    (named after its serial) unless it has one.
    """
    g = second_factor.gate(user)
    if g.state != "open":
        return SyncOutcome(False, second_factor.refusal(g))
    token = token_by_serial(serial)
    if token is None or token.status == "revoked" or token.user_id not in (None, user.id):
        return SyncOutcome(False, UNKNOWN_SERIAL, "serial")
    what = f"hardware token {serial}"
    if len(first) != token.digits:
        return _refused(user, what, purpose, "malformed", digits_message(token.digits), "first")
    if len(second) != token.digits:
        return _refused(user, what, purpose, "malformed", digits_message(token.digits), "second")
    key = _key(token)
    if repeat_is_done and (done := _repeat(user, token, key, first, second)):
        return done
    found = _search(token, key, first, second)
    if found is None:
        reason, message = _diagnose(token, key, first, second)
        return _refused(user, what, purpose, reason, message)
    moment = now()
    won = db.session.execute(
        update(HardwareToken)
        .where(HardwareToken.id == token.id, HardwareToken.status != "revoked",
               or_(HardwareToken.user_id.is_(None), HardwareToken.user_id == user.id), found.unused)
        .values(status="active", user_id=user.id, assigned_at=func.coalesce(HardwareToken.assigned_at, moment),
                **found.values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:  # another worker used these codes first: the other click of a double click, or a replay
        token = token_by_serial(serial)
        if repeat_is_done and token is not None and (done := _repeat(user, token, key, first, second)):
            return done
        return _refused(user, what, purpose, "replayed", REPLAYED)
    device = _device(user, serial)
    assigned = device is None
    if assigned:
        device = device_actions.add(user, "hardware", _free_name(user, serial), make_primary=False,
                                    token_serial=serial)
    audit.record(db.session, "token_synced", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                 detail=f"{purpose}: {token.kind} token {serial} " + ("assigned" if assigned else "resynced"))
    second_factor.reset_failures(user)
    db.session.commit()
    return SyncOutcome(True, device=device)


def resync(user: User, device: Device, first: str, second: str, *, purpose: str,
           repeat_is_done: bool = False) -> SyncOutcome:
    """Resync the token behind one of the user's hardware devices (at sign-in, step-up or on /tokens)."""
    if device.user_id != user.id or device.kind != "hardware" or token_of(device) is None:
        g = second_factor.gate(user)
        if g.state != "open":
            return SyncOutcome(False, second_factor.refusal(g))
        return _refused(user, f"device {device.name!r}", purpose, "not usable", NOT_USABLE)
    return sync(user, device.token_serial, first, second, purpose=purpose, repeat_is_done=repeat_is_done)


def _refused(user: User, what: str, purpose: str, reason: str, message: str, field: str = "") -> SyncOutcome:
    outcome = second_factor.count_failure(user, what, purpose, reason, message)
    return SyncOutcome(False, outcome.message, field)


def _search(token: HardwareToken, key: bytes, first: str, second: str) -> _Found | None:
    if token.kind == "hotp":
        counter = otp.resync_hotp(key, first, second, token.counter, window=SYNC_WINDOW, digits=token.digits)
        if counter is None:
            return None
        # the pair is counter and counter + 1: both unused while the stored counter is at most `counter`
        return _Found(HardwareToken.counter <= counter, {"counter": counter + 2})
    step = otp.time_step(now(), token.period)
    drift = otp.resync_totp(key, first, second, step, max_drift=max_drift_steps(token), digits=token.digits)
    if drift is None:
        return None
    last = step + drift  # the second code's step; the first is the one before it
    return _Found(or_(HardwareToken.last_step.is_(None), HardwareToken.last_step < last - 1),
                  {"last_step": last, "drift": drift})


def _diagnose(token: HardwareToken, key: bytes, first: str, second: str) -> tuple[str, str]:
    """Why no pair was found, for the message: already used, not consecutive, or no match at all."""
    if token.kind == "hotp":
        behind = max(0, token.counter - LOOK_BEHIND - 1)
        if otp.resync_hotp(key, first, second, behind, window=token.counter - behind, digits=token.digits) is not None:
            return "replayed", REPLAYED

        def matches(code: str) -> bool:
            return otp.match_hotp(key, code, token.counter, look_ahead=SYNC_WINDOW, digits=token.digits) is not None
    else:
        step = otp.time_step(now(), token.period)

        def matches(code: str) -> bool:
            return otp.match_totp(key, code, step, window=max_drift_steps(token), digits=token.digits) is not None
    if matches(first) and matches(second):
        return "not consecutive", NOT_CONSECUTIVE
    return "wrong", NO_MATCH


def _repeat(user: User, token: HardwareToken, key: bytes, first: str, second: str) -> SyncOutcome | None:
    """Done already, if this is the user's active token, the pair is the last one it accepted, and
    its device is there: what a second click of Submit sends."""
    if token.status != "active" or token.user_id != user.id:
        return None
    # the counter value (HOTP) or step (TOTP) of the last accepted code; the pair ends there
    last = token.counter - 1 if token.kind == "hotp" else token.last_step
    same = (last is not None and last >= 1 and otp.hotp(key, last - 1, token.digits) == first
            and otp.hotp(key, last, token.digits) == second)
    device = _device(user, token.serial) if same else None
    return SyncOutcome(True, device=device, repeated=True) if device is not None else None


def _device(user: User, serial: str) -> Device | None:
    return db.session.scalar(select(Device).where(
        Device.user_id == user.id, Device.kind == "hardware", Device.token_serial == serial,
        Device.status != "removed").order_by(Device.id.desc()).limit(1))


def _free_name(user: User, serial: str) -> str:
    """The serial, unless the user already named another device so."""
    name, number = serial, 1
    while device_actions.name_taken(user, name):
        number += 1
        name = f"{serial} ({number})"
    return name


# ---- a device reported lost: its token is revoked, never handed out again ----

def revoke_lost(device: Device) -> None:
    """device_actions.report_lost calls this for a hardware device: the token is revoked in the
    inventory (which removes the device)."""
    from .inventory import revoke

    token = db.session.scalar(select(HardwareToken).where(HardwareToken.serial == device.token_serial))
    user = db.session.get(User, device.user_id)
    if token is None or not revoke(token, user, "reported lost by its holder"):
        device_actions.remove(device, reason="reported lost")


# ---- a removed device gives its token back ----

def release(device: Device) -> None:
    """device_actions.remove calls this for a hardware device: the token returns to the inventory
    (unassigned), keeping its counter, so whoever syncs it next starts after every code it made."""
    released = db.session.execute(
        update(HardwareToken)
        .where(HardwareToken.serial == device.token_serial, HardwareToken.user_id == device.user_id,
               HardwareToken.status == "active")
        .values(status="unassigned", user_id=None, assigned_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if released:
        audit.record(db.session, "token_released", at=now(), actor_id=device.user_id, subject_id=device.user_id,
                     ip=client_ip(), detail=f"hardware token {device.token_serial} back to the inventory")
