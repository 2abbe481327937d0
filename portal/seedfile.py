"""Vendor seed files for hardware OATH tokens: CSV and PSKC (RFC 6030), plain or pre-shared-key encrypted.

Pure: no Flask, no database. The format is recognised by content, not by file name. A token that
cannot be used becomes a ``Rejected`` entry naming its row, so the caller can show every problem and
decide whether to import anything; ``SeedFileError`` means the file as a whole cannot be trusted or
read (not CSV or PSKC, bad XML, a DTD, missing or wrong pre-shared key, a MAC that does not match).
"""

import base64
import binascii
import csv
import hmac
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MIN_SEED_BYTES = 16
MAX_SEED_BYTES = 64
MAX_SERIAL_LENGTH = 32  # the width of HardwareToken.serial
DEFAULT_DIGITS = 6
DEFAULT_PERIOD = 30

_PSKC = "urn:ietf:params:xml:ns:keyprov:pskc"
_NS = {"pskc": _PSKC, "ds": "http://www.w3.org/2000/09/xmldsig#", "xenc": "http://www.w3.org/2001/04/xmlenc#"}
_KINDS = {f"{_PSKC}:hotp": "hotp", f"{_PSKC}:totp": "totp"}
_CIPHER_KEY_BYTES = {
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc": 16,
    "http://www.w3.org/2001/04/xmlenc#aes192-cbc": 24,
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc": 32,
}
_MAC_DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1": "sha1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256": "sha256",
}

# Entity expansion ("billion laughs") and external entities both need a DTD, and PSKC never has one.
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Explicit ASCII classes: \d and str.isdigit() accept other scripts' digits.
_SERIAL_TEXT = re.compile(r"[A-Za-z0-9 ]+")
_HEX = re.compile(r"[0-9A-Fa-f]*")
_WHOLE_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class SeedRecord:
    serial: str  # normalised: upper-case, spaces removed; letters and digits only
    seed: bytes  # raw secret
    kind: str  # "hotp" or "totp"
    digits: int  # 6 or 8
    period: int  # seconds; meaningful for totp only (hotp keeps the default)
    counter: int  # hotp: the counter value the token's next code is made with
    row: str = field(default="", compare=False)  # where it is in the file, as Rejected.row names it


@dataclass(frozen=True)
class Rejected:
    row: str  # "line 3" for CSV, "KeyPackage 2 (serial X)" for PSKC
    reason: str


@dataclass(frozen=True)
class ParseResult:
    records: list[SeedRecord]
    rejected: list[Rejected]


class SeedFileError(ValueError):
    """The whole file is unreadable or untrustworthy; nothing in it should be imported."""


def normalise_serial(text: str) -> str:
    """``"galh 1234 5678"`` -> ``"GALH12345678"``; ValueError unless only ASCII letters, digits and spaces."""
    # Checked before upper-casing: "ß".upper() is "SS", so a non-ASCII serial could pass afterwards.
    if not _SERIAL_TEXT.fullmatch(text) or not text.strip():
        raise ValueError(f"serial {text!r} must be letters and digits (spaces are allowed and removed)")
    serial = text.replace(" ", "").upper()
    if len(serial) > MAX_SERIAL_LENGTH:
        raise ValueError(f"serial {serial} is longer than {MAX_SERIAL_LENGTH} characters")
    return serial


def parse_seed_file(data: bytes, *, filename: str = "", psk: bytes | None = None) -> ParseResult:
    """Parse a vendor seed file; ``psk`` is the raw pre-shared key for an encrypted PSKC file."""
    name = filename or "the file"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeedFileError(f"{name} is not a CSV or PSKC seed file (it is not UTF-8 text)") from exc
    if not text.strip():
        raise SeedFileError(f"{name} is empty")
    if _CONTROL_CHARS.search(text):
        raise SeedFileError(f"{name} is not a CSV or PSKC seed file (it contains binary data)")
    if text.lstrip().startswith("<"):
        return _parse_pskc(_pskc_root(text, name), psk, name)
    if "," not in text:
        raise SeedFileError(f"{name} is not a CSV or PSKC seed file (no comma-separated rows)")
    return _parse_csv(text)


class _Collector:
    """Gathers records and rejections, rejecting the second of two records with one serial."""

    def __init__(self) -> None:
        self.records: list[SeedRecord] = []
        self.rejected: list[Rejected] = []
        self._row_of_serial: dict[str, str] = {}

    def accept(self, row: str, record: SeedRecord) -> None:
        first = self._row_of_serial.setdefault(record.serial, row)
        if first != row:
            self.reject(row, f"serial {record.serial} appears twice in this file (first at {first})")
        else:
            self.records.append(replace(record, row=row))

    def reject(self, row: str, reason: str) -> None:
        self.rejected.append(Rejected(row, reason))

    def result(self) -> ParseResult:
        return ParseResult(self.records, self.rejected)


def _seed_length_checked(seed: bytes, what: str) -> bytes:
    if not MIN_SEED_BYTES <= len(seed) <= MAX_SEED_BYTES:
        raise ValueError(f"{what} must be {MIN_SEED_BYTES} to {MAX_SEED_BYTES} bytes, not {len(seed)}")
    return seed


def _digits(text: str) -> int:
    if text not in ("6", "8"):
        raise ValueError(f"digits must be 6 or 8, not {text!r}")
    return int(text)


def _whole_number(text: str, what: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError(f"{what} must be a whole number, not {text!r}")
    return int(text)


def _period(text: str) -> int:
    period = _whole_number(text, "period")
    if period == 0:
        raise ValueError("period must be at least 1 second")
    return period


# --- CSV: serial,seed_hex[,type,digits,period] ---------------------------------------------------


def _parse_csv(text: str) -> ParseResult:
    collector = _Collector()
    reader = csv.reader(io.StringIO(text))
    may_be_header = True
    for raw_cells in reader:
        cells = [cell.strip() for cell in raw_cells]
        if not any(cells):
            continue
        # A hex seed never starts with "s", so a word like "seed" in that column marks a header.
        is_header = may_be_header and len(cells) > 1 and cells[1].lower().startswith(("seed", "secret"))
        may_be_header = False
        if is_header:
            continue
        row = f"line {reader.line_num}"
        try:
            collector.accept(row, _csv_record(cells))
        except ValueError as exc:
            collector.reject(row, str(exc))
    return collector.result()


def _csv_record(cells: list[str]) -> SeedRecord:
    if not 2 <= len(cells) <= 5:
        raise ValueError(f"expected serial,seed_hex[,type,digits,period] (2 to 5 columns), found {len(cells)}")
    serial_text, seed_text, kind, digits, period = cells + [""] * (5 - len(cells))
    serial = normalise_serial(serial_text)
    if not _HEX.fullmatch(seed_text):
        raise ValueError("seed must be 16 to 64 bytes of hex; it contains characters that are not hex digits")
    if len(seed_text) % 2:
        raise ValueError("seed must be 16 to 64 bytes of hex; it has an odd number of hex digits")
    seed = _seed_length_checked(bytes.fromhex(seed_text), "seed (hex)")
    kind = kind.lower() or "hotp"
    if kind not in ("hotp", "totp"):
        raise ValueError(f"type must be hotp or totp, not {kind!r}")
    return SeedRecord(
        serial=serial,
        seed=seed,
        kind=kind,
        digits=_digits(digits) if digits else DEFAULT_DIGITS,
        # An HOTP token has no period, so whatever the column holds is ignored.
        period=_period(period) if kind == "totp" and period else DEFAULT_PERIOD,
        counter=0,
    )


# --- PSKC (RFC 6030) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keys:
    """What section 6.1 needs to open encrypted values: the pre-shared key and the decrypted MAC key."""

    psk: bytes
    mac_key: bytes
    mac_digest: str


def _pskc_root(text: str, name: str) -> ET.Element:
    if _DTD.search(text):
        raise SeedFileError(f"{name} contains a DOCTYPE or ENTITY declaration, which seed files never need")
    try:
        # Safe with the stdlib parser: the DTD check above leaves no entities to expand, and a str is
        # parsed as UTF-8 whatever the XML declaration says, so expat sees exactly the text checked.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise SeedFileError(f"{name} is not well-formed XML ({exc})") from exc
    if root.tag != f"{{{_PSKC}}}KeyContainer":
        raise SeedFileError(f"{name} is XML but not a PSKC KeyContainer (RFC 6030)")
    return root


def _parse_pskc(root: ET.Element, psk: bytes | None, name: str) -> ParseResult:
    keys = _unlock(root, psk, name)
    collector = _Collector()
    for number, package in enumerate(root.findall("pskc:KeyPackage", _NS), start=1):
        serial_text = package.findtext("pskc:DeviceInfo/pskc:SerialNo", "", _NS).strip()
        row = f"KeyPackage {number} (serial {serial_text})" if serial_text else f"KeyPackage {number}"
        try:
            collector.accept(row, _pskc_record(package, serial_text, keys, row))
        except SeedFileError:
            raise
        except ValueError as exc:
            collector.reject(row, str(exc))
    return collector.result()


def _unlock(root: ET.Element, psk: bytes | None, name: str) -> _Keys | None:
    """The keys for an encrypted container, None for a plain one."""
    encryption_key = root.find("pskc:EncryptionKey", _NS)
    if encryption_key is None:
        return None
    key_name = encryption_key.findtext("ds:KeyName", None, _NS)
    if key_name is None:
        raise SeedFileError(
            f"{name} is encrypted with a password or certificate; only pre-shared-key files "
            "(RFC 6030 section 6.1) can be imported"
        )
    if psk is None:
        raise SeedFileError(f"{name} is encrypted with the pre-shared key {key_name.strip()!r}; supply that key")
    # Without a MAC, AES-CBC ciphertext can be altered undetected, so an encrypted file must carry one.
    method = root.find("pskc:MACMethod", _NS)
    if method is None:
        raise SeedFileError(f"{name} is encrypted but has no MACMethod, so its contents cannot be verified")
    algorithm = method.get("Algorithm", "")
    if algorithm not in _MAC_DIGESTS:
        raise SeedFileError(f"{name} uses an unsupported MAC algorithm {algorithm!r}")
    mac_key = method.find("pskc:MACKey", _NS)
    if mac_key is None:
        raise SeedFileError(f"{name} has a MACMethod without a MACKey")
    return _Keys(psk, _decrypt(_cipher_value(mac_key, psk, "the MAC key"), psk, "the MAC key"), _MAC_DIGESTS[algorithm])


def _pskc_record(package: ET.Element, serial_text: str, keys: _Keys | None, row: str) -> SeedRecord:
    if not serial_text:
        raise ValueError("it has no DeviceInfo/SerialNo")
    serial = normalise_serial(serial_text)
    key = package.find("pskc:Key", _NS)
    if key is None:
        raise ValueError("it has no Key")
    algorithm = key.get("Algorithm", "")
    if algorithm not in _KINDS:
        raise ValueError(f"its algorithm {algorithm!r} is not HOTP or TOTP")
    kind = _KINDS[algorithm]
    response = key.find("pskc:AlgorithmParameters/pskc:ResponseFormat", _NS)
    digits = DEFAULT_DIGITS
    if response is not None:
        if response.get("Encoding", "DECIMAL") != "DECIMAL":
            raise ValueError(f"its codes are {response.get('Encoding')}, not DECIMAL")
        digits = _digits(response.get("Length", ""))
    period, counter = DEFAULT_PERIOD, 0
    if kind == "totp":
        period = _plain_int(key, "TimeInterval", DEFAULT_PERIOD)
        if period == 0:
            raise ValueError("its TimeInterval must be at least 1 second")
    else:
        counter = _plain_int(key, "Counter", 0)
    seed = _seed_length_checked(_secret(key, keys, row), "secret")
    return SeedRecord(serial=serial, seed=seed, kind=kind, digits=digits, period=period, counter=counter)


def _plain_int(key: ET.Element, field: str, default: int) -> int:
    element = key.find(f"pskc:Data/pskc:{field}", _NS)
    if element is None:
        return default
    text = element.findtext("pskc:PlainValue", None, _NS)
    if text is None:
        raise ValueError(f"its {field} is not a PlainValue (an encrypted {field} is not supported)")
    return _whole_number(text.strip(), field)


def _secret(key: ET.Element, keys: _Keys | None, row: str) -> bytes:
    secret = key.find("pskc:Data/pskc:Secret", _NS)
    if secret is None:
        raise ValueError("it has no Data/Secret")
    plain = secret.findtext("pskc:PlainValue", None, _NS)
    if plain is not None:
        return _base64(plain, "its Secret PlainValue")
    encrypted = secret.find("pskc:EncryptedValue", _NS)
    if encrypted is None:
        raise ValueError("its Secret has neither a PlainValue nor an EncryptedValue")
    if keys is None:
        raise SeedFileError(f"{row} has an encrypted secret but the file names no EncryptionKey")
    ciphertext = _cipher_value(encrypted, keys.psk, f"the secret of {row}")
    value_mac = secret.findtext("pskc:ValueMAC", None, _NS)
    if value_mac is None:
        raise SeedFileError(f"the encrypted secret of {row} has no ValueMAC")
    try:
        expected = _base64(value_mac, f"the ValueMAC of {row}")
    except ValueError as exc:
        raise SeedFileError(str(exc)) from exc
    # The MAC covers IV || ciphertext and is checked before decrypting anything (encrypt-then-MAC).
    actual = hmac.new(keys.mac_key, ciphertext, keys.mac_digest).digest()
    if not hmac.compare_digest(actual, expected):
        raise SeedFileError(f"MAC check failed for {row}: the file was altered or the pre-shared key is wrong")
    return _decrypt(ciphertext, keys.psk, f"the secret of {row}")


def _cipher_value(encrypted: ET.Element, psk: bytes, what: str) -> bytes:
    """IV || ciphertext from an xenc EncryptionMethod + CipherData pair, after checking the cipher and key."""
    method = encrypted.find("xenc:EncryptionMethod", _NS)
    algorithm = "" if method is None else method.get("Algorithm", "")
    if algorithm not in _CIPHER_KEY_BYTES:
        raise SeedFileError(f"{what} uses an unsupported encryption method {algorithm!r}")
    if len(psk) != _CIPHER_KEY_BYTES[algorithm]:
        raise SeedFileError(
            f"the pre-shared key must be {_CIPHER_KEY_BYTES[algorithm]} bytes for {algorithm.rsplit('#', 1)[-1]}, "
            f"not {len(psk)}"
        )
    try:
        ciphertext = _base64(encrypted.findtext("xenc:CipherData/xenc:CipherValue", "", _NS), what)
    except ValueError as exc:
        raise SeedFileError(str(exc)) from exc
    # One block of IV and at least one block of padded ciphertext.
    if len(ciphertext) < 32 or len(ciphertext) % 16:
        raise SeedFileError(f"{what} is not a whole number of AES blocks after its IV")
    return ciphertext


def _decrypt(ciphertext: bytes, psk: bytes, what: str) -> bytes:
    iv, body = ciphertext[:16], ciphertext[16:]
    decryptor = Cipher(algorithms.AES(psk), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(decryptor.update(body) + decryptor.finalize()) + unpadder.finalize()
    except ValueError as exc:
        raise SeedFileError(f"could not decrypt {what}: wrong pre-shared key?") from exc


def _base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{what} is not valid base64") from exc
