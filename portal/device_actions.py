"""Device changes with their invariants: names unique per user ignoring case; exactly one primary
while any device is active; removing the primary promotes the most recently added remaining
device. Every change is audited. Views call these after their own checks (ownership, step-up)."""

from collections.abc import Callable

from sqlalchemy import func, select, update

from . import audit
from .clock import now
from .extensions import db
from .models import Device, User
from .sessions import client_ip

NAME_TAKEN = "You already have a device with this name. Name your devices differently so you can tell them apart."

# device kind -> what else a removal does (a hardware token goes back to the inventory); the flows
# that own a kind register here
ON_REMOVE: dict[str, Callable[[Device], None]] = {}
# device kind -> how a device reported lost is taken away, when removing it is not enough (a lost
# hardware token is revoked in the inventory, never handed out again); it must remove the device
ON_LOST: dict[str, Callable[[Device], None]] = {}


def name_taken(user: User, name: str, except_id: int | None = None) -> bool:
    query = select(Device.id).where(Device.user_id == user.id, Device.status != "removed",
                                    Device.name_key == name.strip().casefold()[:64])
    if except_id is not None:
        query = query.where(Device.id != except_id)
    return db.session.scalar(query.limit(1)) is not None


def _primary(user: User) -> Device | None:
    return db.session.scalar(select(Device).where(Device.user_id == user.id, Device.is_primary))


def add(user: User, kind: str, name: str, *, make_primary: bool, **fields) -> Device:
    """A confirmed device. The first active device is primary whatever was asked."""
    name = name.strip()
    moment = now()
    has_active = db.session.scalar(select(func.count(Device.id)).where(
        Device.user_id == user.id, Device.status == "active")) > 0
    primary = make_primary or not has_active
    if primary:
        db.session.execute(update(Device).where(Device.user_id == user.id).values(is_primary=False))
    device = Device(user_id=user.id, kind=kind, name=name, name_key=name.casefold()[:64], status="active",
                    is_primary=primary, added_at=moment, **fields)
    db.session.add(device)
    db.session.flush()
    audit.record(db.session, "device_added", at=moment, actor_id=user.id, subject_id=user.id, ip=client_ip(),
                 detail=f"{kind} device {name!r}" + (" (primary)" if primary else ""))
    return device


def rename(device: Device, name: str) -> None:
    old = device.name
    device.name = name.strip()
    device.name_key = device.name.casefold()[:64]
    audit.record(db.session, "device_renamed", at=now(), actor_id=device.user_id, subject_id=device.user_id,
                 ip=client_ip(), detail=f"{old!r} renamed to {device.name!r}")


def set_primary(device: Device) -> None:
    # two statements: the unique index on the primary allows no moment with two
    db.session.execute(update(Device).where(Device.user_id == device.user_id, Device.id != device.id)
                       .values(is_primary=False))
    db.session.execute(update(Device).where(Device.id == device.id).values(is_primary=True))
    db.session.refresh(device)
    audit.record(db.session, "device_primary", at=now(), actor_id=device.user_id, subject_id=device.user_id,
                 ip=client_ip(), detail=f"{device.name!r} is now the primary device")


def remove(device: Device, *, reason: str = "removed by the user") -> Device | None:
    """Remove a device; returns the device that became primary in its place, if any."""
    was_primary = device.is_primary
    device.status = "removed"
    device.is_primary = False
    db.session.flush()
    if device.kind in ON_REMOVE:
        ON_REMOVE[device.kind](device)
    moment = now()
    audit.record(db.session, "device_removed", at=moment, actor_id=device.user_id, subject_id=device.user_id,
                 ip=client_ip(), detail=f"{device.kind} device {device.name!r}: {reason}")
    if not was_primary:
        return None
    successor = db.session.scalar(select(Device).where(
        Device.user_id == device.user_id, Device.status == "active")
        .order_by(Device.added_at.desc(), Device.id.desc()).limit(1))
    if successor is not None:
        set_primary(successor)
    return successor


def keep(device: Device) -> bool:
    """Keep a device suspended by a recovery: it is active again (not primary). False if it was
    not suspended (a second click)."""
    won = db.session.execute(update(Device).where(Device.id == device.id, Device.status == "suspended")
                             .values(status="active").execution_options(synchronize_session=False)).rowcount == 1
    if won:
        audit.record(db.session, "device_kept", at=now(), actor_id=device.user_id, subject_id=device.user_id,
                     ip=client_ip(), detail=f"{device.kind} device {device.name!r}: kept after review; active again")
    db.session.refresh(device)
    return won


def report_lost(device: Device) -> None:
    """Report lost device: audited, then taken away at once — removed, or as its kind says
    (ON_LOST). The primary moves to another device as on any removal. The caller commits."""
    audit.record(db.session, "device_reported_lost", at=now(), actor_id=device.user_id, subject_id=device.user_id,
                 ip=client_ip(), detail=f"{device.kind} device {device.name!r} reported lost; it no longer works")
    if device.kind in ON_LOST:
        ON_LOST[device.kind](device)
    else:
        remove(device, reason="reported lost")
