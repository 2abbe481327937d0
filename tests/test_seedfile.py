"""Unit tests for portal.seedfile: vendor seed files as CSV and as PSKC (RFC 6030)."""

import ast
import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from portal import seedfile
from portal.seedfile import ParseResult, Rejected, SeedFileError, SeedRecord, normalise_serial, parse_seed_file

DATA = Path(__file__).parent / "data"
RFC4226_SEED = b"12345678901234567890"
SEED_HEX = RFC4226_SEED.hex()
RFC6030_PSK = bytes.fromhex("12345678901234567890123456789012")
PSKC_NS = "urn:ietf:params:xml:ns:keyprov:pskc"


def _csv(text: str) -> ParseResult:
    return parse_seed_file(text.encode(), filename="tokens.csv")


def _only_rejection(result: ParseResult) -> Rejected:
    assert len(result.rejected) == 1, result.rejected
    return result.rejected[0]


def test_module_stays_free_of_flask_and_sqlalchemy() -> None:
    tree = ast.parse(Path(seedfile.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name.split(".")[0] for name in imported} & {"flask", "flask_sqlalchemy", "sqlalchemy"}


# --- normalise_serial ---------------------------------------------------------------------------


def test_normalise_serial_upper_cases_and_drops_spaces() -> None:
    assert normalise_serial("galh 1234 5678") == "GALH12345678"
    assert normalise_serial(" 987654321 ") == "987654321"


@pytest.mark.parametrize("text", ["", "   ", "GALH-1234", "GALH_1", "ab\t12", "ßerial", "１２３", "x" * 33])
def test_normalise_serial_refuses_anything_but_ascii_letters_digits_spaces(text: str) -> None:
    with pytest.raises(ValueError):
        normalise_serial(text)


# --- CSV --------------------------------------------------------------------------------------------


def test_csv_data_file_with_header() -> None:
    result = parse_seed_file((DATA / "tokens.csv").read_bytes(), filename="tokens.csv")
    assert result.rejected == []
    assert result.records == [
        SeedRecord("GALH00000001", RFC4226_SEED, "hotp", 6, 30, 0),
        SeedRecord("GALH00000002", b"12345678901234567890123456789012", "totp", 8, 30, 0),
        SeedRecord("GALH00000003", bytes.fromhex("8f1c2a6d3b9e4f7051a2c3d4e5f60718293a4b5c"), "totp", 6, 60, 0),
    ]


def test_csv_without_header_uses_defaults_and_ignores_blank_lines() -> None:
    result = _csv(f"\ngalh 0000 0001,{SEED_HEX}\n\n  GALH00000002 , {SEED_HEX.upper()} \n")
    assert result.rejected == []
    assert result.records == [
        SeedRecord("GALH00000001", RFC4226_SEED, "hotp", 6, 30, 0),
        SeedRecord("GALH00000002", RFC4226_SEED, "hotp", 6, 30, 0),
    ]


def test_csv_totp_rows() -> None:
    result = _csv(f"T1,{SEED_HEX},totp,8,60\nT2,{SEED_HEX},TOTP\nT3,{SEED_HEX},totp,6,\n")
    assert result.rejected == []
    assert [(r.serial, r.kind, r.digits, r.period) for r in result.records] == [
        ("T1", "totp", 8, 60),
        ("T2", "totp", 6, 30),
        ("T3", "totp", 6, 30),
    ]


def test_csv_hotp_row_ignores_its_period_column() -> None:
    result = _csv(f"H1,{SEED_HEX},hotp,8,whatever\n")
    assert result.rejected == []
    assert result.records == [SeedRecord("H1", RFC4226_SEED, "hotp", 8, 30, 0)]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("BAD1," + "g" * 40, "not hex digits"),
        ("BAD1," + "3" * 41, "odd number of hex digits"),
        ("BAD1," + "31" * 15, "16 to 64 bytes"),
        ("BAD1," + "31" * 65, "16 to 64 bytes"),
        ("BAD1,", "16 to 64 bytes"),
        (f"BAD1,{SEED_HEX},sha1", "type must be hotp or totp"),
        (f"BAD1,{SEED_HEX},hotp,7", "digits must be 6 or 8"),
        (f"BAD1,{SEED_HEX},totp,6,0", "period must be at least 1"),
        (f"BAD1,{SEED_HEX},totp,6,30s", "period must be a whole number"),
        (f"GALH-1,{SEED_HEX}", "letters and digits"),
        (f",{SEED_HEX}", "letters and digits"),
        ("BAD1", "2 to 5 columns"),
        (f"BAD1,{SEED_HEX},totp,6,30,extra", "2 to 5 columns"),
    ],
)
def test_csv_bad_row_is_rejected_with_its_line(row: str, reason: str) -> None:
    result = _csv(f"serial,seed\nGOOD1,{SEED_HEX}\n{row}\n")
    assert [r.serial for r in result.records] == ["GOOD1"]
    rejected = _only_rejection(result)
    assert rejected.row == "line 3"
    assert reason in rejected.reason


def test_csv_duplicate_serial_rejects_the_second_occurrence() -> None:
    result = _csv(f"GALH1,{SEED_HEX}\n\ngalh 1,{SEED_HEX}\n")
    assert [r.serial for r in result.records] == ["GALH1"]
    assert _only_rejection(result) == Rejected("line 3", "serial GALH1 appears twice in this file (first at line 1)")


def test_csv_reports_every_bad_row() -> None:
    result = _csv(f"A,{SEED_HEX},totp,7\nB,{SEED_HEX}\nC,00\nD,{SEED_HEX},push\n")
    assert [r.serial for r in result.records] == ["B"]
    assert [r.row for r in result.rejected] == ["line 1", "line 3", "line 4"]


def test_csv_is_recognised_by_content_not_extension() -> None:
    result = parse_seed_file(f"GALH1,{SEED_HEX}\n".encode(), filename="tokens.pskcxml")
    assert [r.serial for r in result.records] == ["GALH1"]


# --- PSKC, plain ----------------------------------------------------------------------------------


def _container(*packages: str, head: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<KeyContainer Version="1.0" xmlns="{PSKC_NS}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
        f'xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">{head}{"".join(packages)}</KeyContainer>'
    ).encode()


def _package(
    serial: str | None,
    algorithm: str = "hotp",
    *,
    data: str = "",
    length: str | None = "6",
    secret: bytes = RFC4226_SEED,
) -> str:
    device = f"<DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>" if serial is not None else ""
    response = f'<AlgorithmParameters><ResponseFormat Length="{length}" Encoding="DECIMAL"/></AlgorithmParameters>'
    return (
        f'<KeyPackage>{device}<Key Id="k" Algorithm="{PSKC_NS}:{algorithm}">{response if length else ""}'
        f"<Data><Secret><PlainValue>{base64.b64encode(secret).decode()}</PlainValue></Secret>{data}</Data>"
        "</Key></KeyPackage>"
    )


def test_pskc_rfc6030_figure3_plain_hotp() -> None:
    result = parse_seed_file((DATA / "rfc6030_plain.pskcxml").read_bytes(), filename="rfc6030_plain.pskcxml")
    assert result.rejected == []
    assert result.records == [SeedRecord("987654321", b"12345678901234567890", "hotp", 8, 30, 0)]


def test_pskc_hotp_and_totp_packages() -> None:
    data = _container(
        _package("hw 0001", data="<Counter><PlainValue>42</PlainValue></Counter>"),
        _package("HW0002", "totp", length="8", data="<TimeInterval><PlainValue>30</PlainValue></TimeInterval>"),
        _package("HW0003", "totp", data="<TimeInterval><PlainValue>60</PlainValue></TimeInterval>"),
        _package("HW0004", "totp", length=None),
    )
    result = parse_seed_file(data, filename="vendor.xml")
    assert result.rejected == []
    assert result.records == [
        SeedRecord("HW0001", RFC4226_SEED, "hotp", 6, 30, 42),
        SeedRecord("HW0002", RFC4226_SEED, "totp", 8, 30, 0),
        SeedRecord("HW0003", RFC4226_SEED, "totp", 6, 60, 0),
        SeedRecord("HW0004", RFC4226_SEED, "totp", 6, 30, 0),
    ]


def test_pskc_is_recognised_by_content_not_extension() -> None:
    result = parse_seed_file((DATA / "rfc6030_plain.pskcxml").read_bytes(), filename="tokens.csv")
    assert [r.serial for r in result.records] == ["987654321"]


def test_pskc_bad_packages_are_rejected_by_number_and_serial() -> None:
    data = _container(
        _package("OK1"),
        _package("PIN1", "pin"),
        _package(None),
        _package("SEVEN", length="7"),
        _package("SHORT", secret=b"1234"),
        _package("BAD-SERIAL"),
        _package("T0", "totp", data="<TimeInterval><PlainValue>0</PlainValue></TimeInterval>"),
        _package("C1", data="<Counter><PlainValue>-1</PlainValue></Counter>"),
        _package("ok 1"),
    )
    result = parse_seed_file(data)
    assert [r.serial for r in result.records] == ["OK1"]
    rows = {r.row: r.reason for r in result.rejected}
    assert list(rows) == [
        "KeyPackage 2 (serial PIN1)",
        "KeyPackage 3",
        "KeyPackage 4 (serial SEVEN)",
        "KeyPackage 5 (serial SHORT)",
        "KeyPackage 6 (serial BAD-SERIAL)",
        "KeyPackage 7 (serial T0)",
        "KeyPackage 8 (serial C1)",
        "KeyPackage 9 (serial ok 1)",
    ]
    assert "not HOTP or TOTP" in rows["KeyPackage 2 (serial PIN1)"]
    assert "SerialNo" in rows["KeyPackage 3"]
    assert "digits must be 6 or 8" in rows["KeyPackage 4 (serial SEVEN)"]
    assert "secret must be 16 to 64 bytes, not 4" in rows["KeyPackage 5 (serial SHORT)"]
    assert "letters and digits" in rows["KeyPackage 6 (serial BAD-SERIAL)"]
    assert "TimeInterval" in rows["KeyPackage 7 (serial T0)"]
    assert "Counter must be a whole number" in rows["KeyPackage 8 (serial C1)"]
    assert rows["KeyPackage 9 (serial ok 1)"] == (
        "serial OK1 appears twice in this file (first at KeyPackage 1 (serial OK1))"
    )


# --- PSKC, encrypted with a pre-shared key (RFC 6030 section 6.1) --------------------------------


def _rfc_psk_file() -> str:
    return (DATA / "rfc6030_psk.pskcxml").read_text()


def test_pskc_rfc6030_figure6_decrypts_with_the_right_key() -> None:
    result = parse_seed_file(_rfc_psk_file().encode(), filename="rfc6030_psk.pskcxml", psk=RFC6030_PSK)
    assert result.rejected == []
    assert result.records == [SeedRecord("987654321", b"12345678901234567890", "hotp", 8, 30, 0)]


def test_pskc_encrypted_without_a_key_asks_for_it() -> None:
    with pytest.raises(SeedFileError, match="pre-shared key 'Pre-shared-key'; supply that key"):
        parse_seed_file(_rfc_psk_file().encode(), filename="vendor.pskcxml")


@pytest.mark.parametrize(
    ("psk", "message"),
    [
        (bytes(16), "could not decrypt the MAC key: wrong pre-shared key\\?"),
        (bytes.fromhex("12345678901234567890123456789013"), "could not decrypt the MAC key"),
        # With this key the MAC key's padding happens to survive (about 1 key in 256 does), so the
        # garbage MAC key is caught by the ValueMAC check instead.
        ((282).to_bytes(16, "big"), "MAC check failed .* the pre-shared key is wrong"),
    ],
    ids=["zeros", "one-bit-off", "padding-survives"],
)
def test_pskc_wrong_key_is_refused(psk: bytes, message: str) -> None:
    with pytest.raises(SeedFileError, match=message):
        parse_seed_file(_rfc_psk_file().encode(), psk=psk)


def test_pskc_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(SeedFileError, match="must be 16 bytes for aes128-cbc, not 32"):
        parse_seed_file(_rfc_psk_file().encode(), psk=RFC6030_PSK * 2)


@pytest.mark.parametrize(
    ("original", "tampered"),
    [
        # The ValueMAC itself. (Not its last character: "c" and "d" differ only in bits that base64
        # discards there, so "...Exd=" decodes to the very same MAC.)
        ("Su+NvtQfmvfJzF6bmQiJqoLRExc=", "Tu+NvtQfmvfJzF6bmQiJqoLRExc="),
        ("AAECAwQFBgcICQoLDA0OD+cI", "AAECAwQFBgcICQoLDA0OD+cJ"),  # one bit of ciphertext
        ("AAECAwQFBgcICQoLDA0OD+cI", "AQECAwQFBgcICQoLDA0OD+cI"),  # one bit of IV
    ],
)
def test_pskc_tampering_fails_the_mac(original: str, tampered: str) -> None:
    text = _rfc_psk_file()
    assert original in text
    with pytest.raises(SeedFileError, match="MAC check failed for KeyPackage 1 \\(serial 987654321\\)"):
        parse_seed_file(text.replace(original, tampered).encode(), psk=RFC6030_PSK)


def test_pskc_encrypted_secret_without_value_mac_is_refused() -> None:
    text = _rfc_psk_file()
    start, end = text.index("<ValueMAC>"), text.index("</ValueMAC>") + len("</ValueMAC>")
    with pytest.raises(SeedFileError, match="has no ValueMAC"):
        parse_seed_file((text[:start] + text[end:]).encode(), psk=RFC6030_PSK)


def _encrypt(key: bytes, iv: bytes, plain: bytes) -> bytes:
    """IV || AES-CBC(PKCS#7(plain)), the CipherValue layout RFC 6030 uses."""
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()


def _encrypted_value(tag: str, cipher: str, ciphertext: bytes) -> str:
    return (
        f'<{tag}><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#{cipher}"/><xenc:CipherData>'
        f"<xenc:CipherValue>{base64.b64encode(ciphertext).decode()}</xenc:CipherValue></xenc:CipherData></{tag}>"
    )


def test_pskc_aes256_with_hmac_sha256_round_trip() -> None:
    psk, mac_key = bytes(range(32)), b"m" * 32
    secret = _encrypt(psk, bytes(range(16, 32)), RFC4226_SEED)
    value_mac = base64.b64encode(hmac.new(mac_key, secret, hashlib.sha256).digest()).decode()
    head = (
        "<EncryptionKey><ds:KeyName>vendor</ds:KeyName></EncryptionKey>"
        '<MACMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256">'
        f"{_encrypted_value('MACKey', 'aes256-cbc', _encrypt(psk, bytes(16), mac_key))}</MACMethod>"
    )
    package = (
        f'<KeyPackage><DeviceInfo><SerialNo>GALH9</SerialNo></DeviceInfo><Key Algorithm="{PSKC_NS}:totp"><Data>'
        f"<Secret>{_encrypted_value('EncryptedValue', 'aes256-cbc', secret)}<ValueMAC>{value_mac}</ValueMAC></Secret>"
        "<TimeInterval><PlainValue>30</PlainValue></TimeInterval></Data></Key></KeyPackage>"
    )
    result = parse_seed_file(_container(package, head=head), psk=psk)
    assert result.rejected == []
    assert result.records == [SeedRecord("GALH9", RFC4226_SEED, "totp", 6, 30, 0)]


def test_pskc_password_encrypted_file_is_refused() -> None:
    head = "<EncryptionKey><DerivedKey/></EncryptionKey>"
    with pytest.raises(SeedFileError, match="only pre-shared-key files"):
        parse_seed_file(_container(_package("X1"), head=head), psk=RFC6030_PSK)


# --- whole-file refusals --------------------------------------------------------------------------


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE KeyContainer [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">&lol3;</KeyContainer>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!doctype KeyContainer [<!entity seed SYSTEM "file:///etc/passwd">]>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">&seed;</KeyContainer>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["entity-expansion", "external-entity"])
def test_dtd_and_entities_are_refused_before_parsing(data: bytes) -> None:
    with pytest.raises(SeedFileError, match="DOCTYPE or ENTITY"):
        parse_seed_file(data, filename="evil.pskcxml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        (bytes(range(128)), "binary data"),
        (b"", "is empty"),
        (b" \n\n", "is empty"),
        (b"just some notes\nabout tokens\n", "no comma-separated rows"),
        (b"<KeyContainer><KeyPackage>", "not well-formed XML"),
        (b'<Tokens><Token serial="1"/></Tokens>', "not a PSKC KeyContainer"),
        (b'<KeyContainer Version="1.0"/>', "not a PSKC KeyContainer"),
    ],
)
def test_unreadable_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SeedFileError, match=message):
        parse_seed_file(data, filename="upload.bin")
