"""portal.otp against RFC 4226 Appendix D and RFC 6238 Appendix B, and the test's own reference."""

import hashlib
from datetime import datetime, timedelta

import pytest

from portal import otp
from tests.otp_reference import rfc4226_hotp, rfc6238_step

RFC4226_KEY = b"12345678901234567890"
# RFC 4226 Appendix D: counter -> HOTP value
RFC4226_HOTP = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

RFC6238_KEYS = {"sha1": b"12345678901234567890", "sha256": b"12345678901234567890123456789012",
                "sha512": b"1234567890123456789012345678901234567890123456789012345678901234"}
# RFC 6238 Appendix B: Unix time -> {algorithm: 8-digit TOTP}
RFC6238_TOTP = [
    (59, {"sha1": "94287082", "sha256": "46119246", "sha512": "90693936"}),
    (1111111109, {"sha1": "07081804", "sha256": "68084774", "sha512": "25091201"}),
    (1111111111, {"sha1": "14050471", "sha256": "67062674", "sha512": "99943326"}),
    (1234567890, {"sha1": "89005924", "sha256": "91819424", "sha512": "93441116"}),
    (2000000000, {"sha1": "69279037", "sha256": "90698825", "sha512": "38618901"}),
    (20000000000, {"sha1": "65353130", "sha256": "77737706", "sha512": "47863826"}),
]


@pytest.mark.parametrize("counter,expected", list(enumerate(RFC4226_HOTP)))
def test_hotp_matches_rfc4226_appendix_d(counter, expected):
    assert otp.hotp(RFC4226_KEY, counter) == expected
    assert rfc4226_hotp(RFC4226_KEY, counter) == expected


@pytest.mark.parametrize("unix,codes", RFC6238_TOTP)
@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_totp_matches_rfc6238_appendix_b(unix, codes, algorithm):
    moment = datetime(1970, 1, 1) + timedelta(seconds=unix)
    step = otp.time_step(moment)
    assert step == rfc6238_step(unix)
    assert otp.totp(RFC6238_KEYS[algorithm], step, digits=8, digest=algorithm) == codes[algorithm]
    assert rfc4226_hotp(RFC6238_KEYS[algorithm], step, 8, getattr(hashlib, algorithm)) == codes[algorithm]


@pytest.mark.parametrize("code", [
    "１２３４５６",  # full-width digits: pyotp's NFKC would turn these into 123456
    "١٢٣٤٥٦",  # Arabic-Indic digits
    "12345", "1234567", "12345a", " 123456", "123456 ", "123456\n", "", "12 456", "+12345", "-12345", "12.456",
])
def test_only_six_ascii_digits_are_well_formed(code):
    assert not otp.is_well_formed(code)


def test_full_width_digits_never_match_even_when_they_would_normalise_to_the_right_code():
    step = 1000
    right = otp.totp(RFC4226_KEY, step)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in right)
    assert otp.match_totp(RFC4226_KEY, right, step) == step
    assert otp.match_totp(RFC4226_KEY, full_width, step) is None


def test_totp_window_is_one_step_each_way_and_prefers_the_current_step():
    step = 5000
    for offset in (-1, 0, 1):
        assert otp.match_totp(RFC4226_KEY, otp.totp(RFC4226_KEY, step + offset), step) == step + offset
    for offset in (-2, 2):
        assert otp.match_totp(RFC4226_KEY, otp.totp(RFC4226_KEY, step + offset), step) is None


def test_totp_drift_moves_the_window():
    step = 5000
    code = otp.totp(RFC4226_KEY, step + 7)
    assert otp.match_totp(RFC4226_KEY, code, step) is None
    assert otp.match_totp(RFC4226_KEY, code, step, drift=7) == step + 7


def test_hotp_look_ahead_is_ten():
    assert otp.match_hotp(RFC4226_KEY, RFC4226_HOTP[9], 0) == 9
    assert otp.match_hotp(RFC4226_KEY, RFC4226_HOTP[9], 0, look_ahead=9) is None
    assert otp.match_hotp(RFC4226_KEY, RFC4226_HOTP[3], 4) is None  # behind the counter: already used


def test_resync_finds_two_consecutive_codes_at_counter_500():
    first, second = rfc4226_hotp(RFC4226_KEY, 500), rfc4226_hotp(RFC4226_KEY, 501)
    assert otp.resync_hotp(RFC4226_KEY, first, second, 0) == 500
    assert otp.resync_hotp(RFC4226_KEY, second, first, 0) is None  # out of order
    assert otp.resync_hotp(RFC4226_KEY, first, rfc4226_hotp(RFC4226_KEY, 502), 0) is None  # not consecutive
    assert otp.resync_hotp(RFC4226_KEY, first, first, 0) is None


def test_resync_window_is_ten_thousand_counters():
    c = 9_998
    first, second = rfc4226_hotp(RFC4226_KEY, c), rfc4226_hotp(RFC4226_KEY, c + 1)
    assert otp.resync_hotp(RFC4226_KEY, first, second, 0) == c
    c = 10_000
    first, second = rfc4226_hotp(RFC4226_KEY, c), rfc4226_hotp(RFC4226_KEY, c + 1)
    assert otp.resync_hotp(RFC4226_KEY, first, second, 0) is None
    assert otp.resync_hotp(RFC4226_KEY, first, second, 1) == c


def test_totp_resync_finds_drift_within_a_day():
    step = 60_000
    d = -1234
    first, second = otp.totp(RFC4226_KEY, step + d - 1), otp.totp(RFC4226_KEY, step + d)
    assert otp.resync_totp(RFC4226_KEY, first, second, step) == d


def test_secret_and_uri():
    secret = otp.new_secret()
    assert len(secret) == 20
    assert otp.secret_from_base32(otp.secret_to_base32(secret)) == secret
    groups = otp.secret_groups(secret)
    assert all(len(g) == 4 for g in groups.split(" "))
    uri = otp.provisioning_uri(secret, "dr.rivera", "EPCS Portal")
    assert uri.startswith("otpauth://totp/EPCS%20Portal:dr.rivera?")
    assert f"secret={otp.secret_to_base32(secret)}" in uri and "issuer=EPCS%20Portal" in uri


def test_failure_policy_waits_double_then_lock():
    p = otp.FailurePolicy()
    assert [p.wait_for(n) for n in range(4, 12)] == [0, 30, 60, 120, 240, 480, 900, 900]
    assert not p.is_locked(19) and p.is_locked(20)
    t0 = datetime(2026, 1, 1)
    assert otp.gate(p, 4, t0, t0).state == "open"
    assert otp.gate(p, 5, t0, t0 + timedelta(seconds=29)) == otp.Gate("wait", 1)
    assert otp.gate(p, 5, t0, t0 + timedelta(seconds=30)).state == "open"
    assert otp.gate(p, 20, t0, t0 + timedelta(days=1)).state == "locked"


def test_totp_resync_refuses_the_same_code_twice():
    step = 60_000
    code = otp.totp(RFC4226_KEY, step)
    assert otp.resync_totp(RFC4226_KEY, code, code, step) is None
