"""EPCS readiness and logical access control (21 CFR 1311.125): identity attested by an admin,
EPCS permission granted by one person with admin rights and approved by a second, different one,
at least one of the two a DEA registrant. Each change is one conditional statement, so a second
click (or a second admin at the same moment) changes nothing, and each is audited.

EPCS permission is per practice location. A provider who prescribes at another location copies
their EPCS credentials there (with a fresh second factor): that requests the location's
permission, which then goes through the same two-person rule. Functions that take a `location`
mean the main location when given None.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import audit, locations, pin_factor
from .clock import now
from .extensions import db
from .models import EpcsPermission, Location, User
from .second_factor import SIGNING, active_devices, allowed_kinds
from .sessions import client_ip

NOT_A_PROVIDER = "Only providers can be given EPCS permission."
NOT_YOURSELF = "Someone else must do this for you: nobody attests, grants or approves their own EPCS access."
NEEDS_DEA = "This provider has no DEA number on file, so cannot sign controlled-substance prescriptions."
NEEDS_IDENTITY = "Attest the provider's identity first."
ALREADY_GRANTED = "EPCS permission is already granted (pending or active) for this provider."
GRANTER_CANNOT_APPROVE = "You granted this permission, so another person with admin rights must approve it."
NEEDS_REGISTRANT = ("One of the two people who grant and approve EPCS permission must be a DEA registrant "
                    "(a provider with a DEA number and admin rights).")
NOT_PENDING = "This permission is no longer waiting for approval."
NOT_LIVE = "This permission is already revoked."
ALREADY_ATTESTED = "This provider's identity is already attested."
NOTHING_TO_COPY = ("Copy your EPCS credentials from a location where you are ready to sign: your identity "
                   "verified, an EPCS PIN and EPCS permission there.")
ALREADY_AT_LOCATION = "You already have EPCS permission at this location, or it is waiting for approval."


class AccessError(Exception):
    """A refused change; the message says why, for the admin."""


def is_registrant(user: User) -> bool:
    """A DEA registrant who may act on the access list: a provider with a DEA number and admin rights."""
    return user.role == "provider" and bool(user.dea_number) and user.has_admin_rights


def _location_id(location: Location | None) -> int | None:
    if location is not None:
        return location.id
    main = locations.main()
    return main.id if main is not None else None


def live_permission(provider: User, location: Location | None = None) -> EpcsPermission | None:
    """The provider's requested, pending or active permission at the location, if any."""
    return db.session.scalar(select(EpcsPermission).where(
        EpcsPermission.provider_id == provider.id, EpcsPermission.location_id == _location_id(location),
        EpcsPermission.status != "revoked"))


def live_permissions(provider: User) -> list[EpcsPermission]:
    """Every live permission of the provider, by location."""
    return list(db.session.scalars(select(EpcsPermission).where(
        EpcsPermission.provider_id == provider.id, EpcsPermission.status != "revoked")
        .order_by(EpcsPermission.location_id)))


@dataclass(frozen=True)
class Item:
    key: str  # identity, device, pin, permission
    label: str
    done: bool
    detail: str


def _date(moment: datetime) -> str:
    return moment.strftime("%b %-d, %Y")


def readiness(user: User, location: Location | None = None) -> list[Item]:
    """The four things a provider needs before signing at a location, each done or not, with what
    is known."""
    items = []
    if user.identity_verified_at is not None:
        items.append(Item("identity", "Identity verified", True,
                          f"Verified on {_date(user.identity_verified_at)} by {user.identity_verified_by.name}."))
    else:
        items.append(Item("identity", "Identity verified", False,
                          "Your practice admin verifies your identity in person with a government-issued photo ID."))
    devices = active_devices(user, allowed_kinds(SIGNING))  # one that can sign (text/call only if allowed)
    items.append(Item("device", "A device for your second factor", bool(devices),
                      f"{len(devices)} active: " + ", ".join(d.name for d in devices) + "."
                      if devices else "Set up a code generator, push notification or hardware token on "
                                      "Sign In & Security."))
    if user.pin_hash is None:
        items.append(Item("pin", "EPCS PIN", False, "Create the 4-digit PIN you will sign prescriptions with."))
    elif pin_factor.is_locked(user):
        items.append(Item("pin", "EPCS PIN", False,
                          f"Locked after {pin_factor.lock_after()} wrong PINs. Reset it to sign again."))
    else:
        items.append(Item("pin", "EPCS PIN", True, f"Set on {_date(user.pin_set_at)}."))
    permission = live_permission(user, location)
    where = _where(location)
    if permission is not None and permission.status == "active":
        items.append(Item("permission", "EPCS permission", True,
                          f"Granted{where} by {permission.granted_by.name} and approved by "
                          f"{permission.approved_by.name} on {_date(permission.approved_at)}."))
    elif permission is not None and permission.status == "pending":
        items.append(Item("permission", "EPCS permission", False,
                          f"Granted{where} by {permission.granted_by.name} on {_date(permission.granted_at)}; "
                          "waiting for a second person with admin rights to approve it."))
    elif permission is not None:
        items.append(Item("permission", "EPCS permission", False,
                          f"You copied your EPCS credentials{where} on {_date(permission.requested_at)}; two people "
                          "with admin rights grant and approve the permission there."))
    else:
        items.append(Item("permission", "EPCS permission", False,
                          f"Two people with admin rights grant and approve it{where}; ask your practice admin."))
    return items


def _where(location: Location | None) -> str:
    """" at <location>" when the practice has more than one location, else nothing."""
    if len(locations.all_locations()) < 2:
        return ""
    location = location or locations.main()
    return f" at {location.name}"


def is_ready(user: User, location: Location | None = None) -> bool:
    return user.role == "provider" and all(item.done for item in readiness(user, location))


def _subject_problem(admin: User, provider: User) -> str | None:
    if provider.role != "provider":
        return NOT_A_PROVIDER
    if provider.id == admin.id:
        return NOT_YOURSELF
    return None


def attest_identity(admin: User, provider: User) -> None:
    """Record that `admin` verified the provider's identity, with the time; once."""
    problem = _subject_problem(admin, provider)
    if problem:
        raise AccessError(problem)
    moment = now()
    won = db.session.execute(
        update(User).where(User.id == provider.id, User.identity_verified_at.is_(None))
        .values(identity_verified_at=moment, identity_verified_by_id=admin.id)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
        raise AccessError(ALREADY_ATTESTED)
    audit.record(db.session, "identity_attested", at=moment, actor_id=admin.id, subject_id=provider.id,
                 ip=client_ip(), detail=f"identity of {provider.username} attested by {admin.username}")
    db.session.commit()


def grant(admin: User, provider: User, location: Location | None = None) -> EpcsPermission:
    """First person: a pending permission at the location (the main one when None), or the
    provider's request there (Copy EPCS credentials) turned pending. The unique index on live
    permissions makes a second grant (a double click, or two admins at once) fail instead of
    adding a row; a request is turned by one conditional UPDATE."""
    problem = _subject_problem(admin, provider)
    if problem is None and not provider.dea_number:
        problem = NEEDS_DEA
    if problem is None and provider.identity_verified_at is None:
        problem = NEEDS_IDENTITY
    if problem:
        raise AccessError(problem)
    moment = now()
    fields = {"location_id": location.id} if location is not None else {}
    requested = live_permission(provider, location)
    if requested is not None and requested.status == "requested":
        won = db.session.execute(
            update(EpcsPermission).where(EpcsPermission.id == requested.id, EpcsPermission.status == "requested")
            .values(status="pending", granted_by_id=admin.id, granted_at=moment)
            .execution_options(synchronize_session=False)).rowcount == 1
        if not won:
            db.session.rollback()
            raise AccessError(ALREADY_GRANTED)
        permission = requested
    else:
        permission = EpcsPermission(provider_id=provider.id, status="pending", granted_by_id=admin.id,
                                    granted_at=moment, **fields)
        try:
            with db.session.begin_nested():
                db.session.add(permission)
        except IntegrityError:
            db.session.rollback()
            raise AccessError(ALREADY_GRANTED) from None
    db.session.refresh(permission)
    audit.record(db.session, "permission_granted", at=moment, actor_id=admin.id, subject_id=provider.id,
                 ip=client_ip(), detail=f"EPCS permission at {permission.location.name} granted by {admin.username}; "
                                        "pending a second approver")
    db.session.commit()
    return permission


def copy_credentials(provider: User, location: Location) -> EpcsPermission:
    """Copy EPCS credentials to an additional location: the provider, ready to sign somewhere (and
    having just proved their second factor: the view asks for it), requests EPCS permission at
    `location`, which two people with admin rights then grant and approve. The caller commits."""
    ready_somewhere = any(p.status == "active" for p in live_permissions(provider)) and all(
        item.done for item in readiness(provider) if item.key != "permission")
    if provider.role != "provider" or not ready_somewhere:
        raise AccessError(NOTHING_TO_COPY)
    moment = now()
    permission = EpcsPermission(provider_id=provider.id, location_id=location.id, status="requested",
                                requested_at=moment)
    try:
        with db.session.begin_nested():
            db.session.add(permission)
    except IntegrityError:
        db.session.rollback()
        raise AccessError(ALREADY_AT_LOCATION) from None
    audit.record(db.session, "permission_requested", at=moment, actor_id=provider.id, subject_id=provider.id,
                 ip=client_ip(), detail=f"EPCS credentials copied to {location.name}; EPCS permission there "
                                        "waits for two people with admin rights")
    return permission


def approve(admin: User, permission: EpcsPermission) -> None:
    """Second person: pending -> active, refused for the granter, the provider, and when neither
    of the two is a DEA registrant."""
    if permission.granted_by_id is None:  # a provider's request: granting comes first
        raise AccessError(NOT_PENDING)
    problem = _subject_problem(admin, permission.provider)
    if problem is None and permission.granted_by_id == admin.id:
        problem = GRANTER_CANNOT_APPROVE
    if problem is None and not (is_registrant(admin) or is_registrant(permission.granted_by)):
        problem = NEEDS_REGISTRANT
    if problem:
        audit.record(db.session, "permission_approval_refused", at=now(), actor_id=admin.id,
                     subject_id=permission.provider_id, ip=client_ip(), detail=problem)
        db.session.commit()
        raise AccessError(problem)
    moment = now()
    won = db.session.execute(
        update(EpcsPermission)
        .where(EpcsPermission.id == permission.id, EpcsPermission.status == "pending")
        .values(status="active", approved_by_id=admin.id, approved_at=moment)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
        raise AccessError(NOT_PENDING)
    audit.record(db.session, "permission_approved", at=moment, actor_id=admin.id, subject_id=permission.provider_id,
                 ip=client_ip(), detail=f"EPCS permission at {permission.location.name} granted by "
                                        f"{permission.granted_by.username} approved by {admin.username}; active")
    db.session.commit()


def revoke(admin: User, permission: EpcsPermission) -> None:
    """Pending or active -> revoked, at any time, by anyone with admin rights."""
    moment = now()
    won = db.session.execute(
        update(EpcsPermission)
        .where(EpcsPermission.id == permission.id, EpcsPermission.status != "revoked")
        .values(status="revoked", revoked_by_id=admin.id, revoked_at=moment)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
        raise AccessError(NOT_LIVE)
    audit.record(db.session, "permission_revoked", at=moment, actor_id=admin.id, subject_id=permission.provider_id,
                 ip=client_ip(), detail=f"EPCS permission at {permission.location.name} revoked by {admin.username}")
    db.session.commit()
