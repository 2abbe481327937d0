"""The token inventory: importing the vendor's seed file, revoking a token, and the simulator.

Used by the CLI (`flask --app app tokens import|simulate`) and the admin page (/admin/tokens). The
file format is seedfile.py's; this module decides what enters the database: all of a file or none.
"""

from dataclasses import dataclass, field

from flask import current_app, has_request_context
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import audit, device_actions, otp
from ..clock import now
from ..extensions import db
from ..models import Device, HardwareToken, User
from ..seedfile import Rejected, SeedFileError, SeedRecord, normalise_serial, parse_seed_file
from ..sessions import client_ip
from .service import SYNC_WINDOW

# the counter column is a 32-bit integer, and a sync searches SYNC_WINDOW values past it
MAX_COUNTER = 2**31 - 1 - 2 * SYNC_WINDOW
MAX_PRESSES = 1000


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)  # serials added
    duplicates: list[str] = field(default_factory=list)  # serials already in the inventory with the same seed
    rejected: list[Rejected] = field(default_factory=list)  # rows that stopped the import, with reasons
    error: str = ""  # the file as a whole could not be used

    @property
    def ok(self) -> bool:
        return not self.error and not self.rejected


def parse_psk(text: str | None) -> bytes | None:
    """The pre-shared key as typed (hex, spaces allowed); ValueError when it is not hex."""
    if not text or not text.strip():
        return None
    cleaned = "".join(text.split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError("The pre-shared key must be hexadecimal, e.g. 12345678901234567890123456789012.") from None


def import_seed_file(data: bytes, *, filename: str, psk: bytes | None = None,
                     actor_id: int | None = None) -> ImportReport:
    """Import every token of the file, or none. A serial already in the inventory with the same seed
    and type is a duplicate (skipped, so importing one file twice is harmless); with another seed or
    type it is a rejected row. Any rejected row, or a file that cannot be read, imports nothing."""
    try:
        parsed = parse_seed_file(data, filename=filename, psk=psk)
    except SeedFileError as exc:
        return ImportReport(error=str(exc))
    report = ImportReport(rejected=list(parsed.rejected))
    vault = current_app.extensions["vault"]
    existing = {t.serial: t for t in db.session.scalars(
        select(HardwareToken).where(HardwareToken.serial.in_([r.serial for r in parsed.records])))}
    new: list[SeedRecord] = []
    for record in parsed.records:
        known = existing.get(record.serial)
        if record.counter > MAX_COUNTER:
            report.rejected.append(Rejected(record.row, f"counter {record.counter} is too large"))
        elif known is None:
            new.append(record)
        elif _same_token(known, record, vault.open(known.seed)):
            report.duplicates.append(record.serial)
        else:
            report.rejected.append(Rejected(
                record.row, f"serial {record.serial} is already in the inventory with another seed or type"))
    if not report.ok:
        return report
    if not new and not report.duplicates:
        return ImportReport(error=f"{filename or 'the file'} holds no tokens")
    moment = now()
    for record in new:
        db.session.add(HardwareToken(
            serial=record.serial, seed=vault.seal(record.seed), kind=record.kind, digits=record.digits,
            period=record.period, counter=record.counter, simulator_counter=record.counter, status="unassigned",
            imported_at=moment))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return ImportReport(error="Another import added some of these serials at the same moment. "
                                  "Nothing was imported; run the import again.")
    report.imported = [r.serial for r in new]
    if new:
        audit.record(db.session, "tokens_imported", at=moment, actor_id=actor_id, ip=_ip(),
                     detail=f"{len(new)} tokens from {filename}"
                            + (f" ({len(report.duplicates)} duplicates skipped)" if report.duplicates else ""))
    db.session.commit()
    return report


def _same_token(token: HardwareToken, record: SeedRecord, seed: bytes) -> bool:
    return (seed == record.seed and token.kind == record.kind and token.digits == record.digits
            and (record.kind == "hotp" or token.period == record.period))


def _ip() -> str | None:
    return client_ip() if has_request_context() else None


def revoke(token: HardwareToken, actor: User, reason: str) -> bool:
    """Revoke a token (lost, stolen, broken): its codes stop working at once and its device is removed.
    False if it was revoked already (a second click)."""
    moment = now()
    revoked = db.session.execute(
        update(HardwareToken).where(HardwareToken.id == token.id, HardwareToken.status != "revoked")
        .values(status="revoked", revoked_at=moment).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not revoked:
        return False
    audit.record(db.session, "token_revoked", at=moment, actor_id=actor.id, subject_id=token.user_id, ip=_ip(),
                 detail=f"hardware token {token.serial}: {reason}")
    for device in db.session.scalars(select(Device).where(
            Device.kind == "hardware", Device.token_serial == token.serial, Device.status != "removed")):
        device_actions.remove(device, reason=f"token revoked by {actor.username}")
    db.session.commit()
    return True


class SimulatorError(ValueError):
    pass


def simulate(serial_text: str, presses: int = 1) -> list[str]:
    """The codes `presses` presses of the token's button show, as the token itself would make them.

    HOTP: the simulated token keeps its own counter (simulator_counter), which every press moves on
    whether or not the code is ever entered; the server's counter is never touched. TOTP: the code
    of the current time step and those of the following steps (one press each period)."""
    try:
        serial = normalise_serial(serial_text)
    except ValueError as exc:
        raise SimulatorError(str(exc)) from None
    if not 1 <= presses <= MAX_PRESSES:
        raise SimulatorError(f"--press must be 1 to {MAX_PRESSES}")
    token = db.session.scalar(select(HardwareToken).where(HardwareToken.serial == serial))
    if token is None:
        raise SimulatorError(f"No token {serial} in the inventory.")
    if token.status == "revoked":
        raise SimulatorError(f"Token {serial} is revoked.")
    key = current_app.extensions["vault"].open(token.seed)
    if token.kind == "totp":
        step = otp.time_step(now(), token.period)
        return [otp.totp(key, s, token.digits) for s in range(step, step + presses)]
    after = db.session.execute(
        update(HardwareToken).where(HardwareToken.id == token.id)
        .values(simulator_counter=HardwareToken.simulator_counter + presses)
        .returning(HardwareToken.simulator_counter)).scalar_one()
    db.session.commit()
    return [otp.hotp(key, c, token.digits) for c in range(after - presses, after)]
