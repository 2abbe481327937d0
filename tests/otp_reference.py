"""An independent HOTP/TOTP, written from RFC 4226 section 5.3 and RFC 6238 section 4 for the tests
(it shares no code with portal.otp and is itself checked against the RFCs' vectors)."""

import base64
import hashlib
import hmac
from datetime import datetime


def rfc4226_hotp(key: bytes, counter: int, digits: int = 6, algorithm=hashlib.sha1) -> str:
    hs = hmac.new(key, counter.to_bytes(8, "big"), algorithm).digest()
    offset = hs[len(hs) - 1] & 0xF
    snum = ((hs[offset] & 0x7F) << 24) | (hs[offset + 1] << 16) | (hs[offset + 2] << 8) | hs[offset + 3]
    return f"{snum % (10 ** digits):0{digits}d}"


def rfc6238_step(moment: datetime | float, period: int = 30) -> int:
    seconds = moment if isinstance(moment, int | float) else (moment - datetime(1970, 1, 1)).total_seconds()
    return int(seconds // period)


def totp_now(secret_b32: str, moment: datetime, offset_steps: int = 0) -> str:
    key = base64.b32decode(secret_b32.replace(" ", "") + "=" * (-len(secret_b32.replace(" ", "")) % 8))
    return rfc4226_hotp(key, rfc6238_step(moment) + offset_steps)
