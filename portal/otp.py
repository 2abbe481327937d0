"""One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), replay, drift, resync, failure waits.

Pure: no Flask, no database. Codes are computed here with hmac directly (checked against the RFCs'
test vectors in tests/test_otp.py) because the resync search walks 10,000 counters and must not
re-decode a base32 key each time; pyotp makes the secrets and the otpauth:// URI.
"""

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

ASCII_DIGITS = frozenset("0123456789")
DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
EPOCH = datetime(1970, 1, 1)


def is_well_formed(code: str, digits: int = 6) -> bool:
    """Exactly `digits` ASCII digits. Checked before anything else: pyotp would NFKC-normalise
    full-width digits, and str.isdigit() accepts any script's digits."""
    return isinstance(code, str) and len(code) == digits and set(code) <= ASCII_DIGITS


def hotp(key: bytes, counter: int, digits: int = 6, digest: str = "sha1") -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), DIGESTS[digest]).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: datetime, period: int = 30) -> int:
    """The RFC 6238 time step T for a naive-UTC datetime."""
    return int((at - EPOCH).total_seconds()) // period


def totp(key: bytes, step: int, digits: int = 6, digest: str = "sha1") -> str:
    return hotp(key, step, digits, digest)


def match_totp(key: bytes, code: str, step: int, *, window: int = 1, drift: int = 0,
               digits: int = 6) -> int | None:
    """The time step (current first, then earlier, then later) whose code is `code`, or None."""
    if not is_well_formed(code, digits):
        return None
    centre = step + drift
    for candidate in sorted(range(centre - window, centre + window + 1), key=lambda s: (abs(s - centre), s)):
        if hmac.compare_digest(totp(key, candidate, digits), code):
            return candidate
    return None


def match_hotp(key: bytes, code: str, counter: int, *, look_ahead: int = 10, digits: int = 6) -> int | None:
    """The counter value in [counter, counter + look_ahead) whose code is `code`, or None.
    `counter` is the value the token's next code is made with."""
    if not is_well_formed(code, digits):
        return None
    for candidate in range(counter, counter + look_ahead):
        if hmac.compare_digest(hotp(key, candidate, digits), code):
            return candidate
    return None


def resync_hotp(key: bytes, first: str, second: str, counter: int = 0, *, window: int = 10_000,
                digits: int = 6) -> int | None:
    """The counter value c in [counter, counter + window) with hotp(c) == first and
    hotp(c + 1) == second, or None. The caller stores c + 2 as the next counter."""
    if not (is_well_formed(first, digits) and is_well_formed(second, digits)) or first == second:
        return None
    mac = hmac.new(key, digestmod=hashlib.sha1)
    pack = struct.Struct(">Q").pack
    modulus = 10**digits
    wanted_first, wanted_second = int(first), int(second)

    def code_at(c: int) -> int:
        h = mac.copy()
        h.update(pack(c))
        d = h.digest()
        o = d[-1] & 0x0F
        return (int.from_bytes(d[o : o + 4], "big") & 0x7FFFFFFF) % modulus

    previous = code_at(counter)
    for c in range(counter, counter + window):
        following = code_at(c + 1)
        if previous == wanted_first and following == wanted_second:
            return c
        previous = following
    return None


def resync_totp(key: bytes, first: str, second: str, step: int, *, max_drift: int = 2880,
                digits: int = 6) -> int | None:
    """The drift d (in steps, |d| <= max_drift, nearest first) with totp(step+d-1) == first and
    totp(step+d) == second: two consecutive codes, the second the newer. None if there is none."""
    if not (is_well_formed(first, digits) and is_well_formed(second, digits)) or first == second:
        return None
    for magnitude in range(max_drift + 1):
        for d in (magnitude, -magnitude) if magnitude else (0,):
            if totp(key, step + d, digits) == second and totp(key, step + d - 1, digits) == first:
                return d
    return None


def new_secret() -> bytes:
    """A fresh 160-bit seed, the size RFC 4226 recommends."""
    return secrets.token_bytes(20)


def secret_to_base32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def secret_from_base32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def secret_groups(secret: bytes) -> str:
    """The key as people type it: groups of four."""
    text = secret_to_base32(secret)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def provisioning_uri(secret: bytes, username: str, issuer: str) -> str:
    """otpauth://totp/<issuer>:<username>?secret=…&issuer=… (SHA-1, 6 digits, 30 s)."""
    return pyotp.TOTP(secret_to_base32(secret)).provisioning_uri(name=username, issuer_name=issuer)


@dataclass(frozen=True)
class FailurePolicy:
    """After `wait_after` consecutive failures each try waits (`wait_seconds`, doubling, at most
    `max_wait_seconds`); after `lock_after` the factor is locked."""

    wait_after: int = 5
    wait_seconds: int = 30
    max_wait_seconds: int = 900
    lock_after: int = 20

    def wait_for(self, failures: int) -> int:
        if failures < self.wait_after:
            return 0
        return min(self.wait_seconds * 2 ** (failures - self.wait_after), self.max_wait_seconds)

    def is_locked(self, failures: int) -> bool:
        return failures >= self.lock_after


@dataclass(frozen=True)
class Gate:
    state: str  # "open", "wait" or "locked"
    retry_in: int = 0  # seconds, when waiting


def gate(policy: FailurePolicy, failures: int, last_failure_at: datetime | None, now: datetime) -> Gate:
    """May a code be checked now? A try during a wait is refused without being checked or counted."""
    if policy.is_locked(failures):
        return Gate("locked")
    wait = policy.wait_for(failures)
    if wait and last_failure_at is not None:
        until = last_failure_at + timedelta(seconds=wait)
        if now < until:
            return Gate("wait", max(1, int((until - now).total_seconds() + 0.999)))
    return Gate("open")
