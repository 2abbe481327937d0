"""EPCS readiness and logical access control (21 CFR 1311.125): identity attested by an admin,
EPCS permission granted by one person with admin rights and approved by a second, different one,
at least one of the two a DEA registrant. Each change is one conditional statement, so a second
click (or a second admin at the same moment) changes nothing, and each is audited.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import audit, pin_factor
from .clock import now
from .extensions import db
from .models import EpcsPermission, User
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


class AccessError(Exception):
    """A refused change; the message says why, for the admin."""


def is_registrant(user: User) -> bool:
    """A DEA registrant who may act on the access list: a provider with a DEA number and admin rights."""
    return user.role == "provider" and bool(user.dea_number) and user.has_admin_rights


def live_permission(provider: User) -> EpcsPermission | None:
    """The provider's pending or active permission, if any."""
    return db.session.scalar(select(EpcsPermission).where(
        EpcsPermission.provider_id == provider.id, EpcsPermission.status != "revoked"))


@dataclass(frozen=True)
class Item:
    key: str  # identity, device, pin, permission
    label: str
    done: bool
    detail: str


def _date(moment: datetime) -> str:
    return moment.strftime("%b %-d, %Y")


def readiness(user: User) -> list[Item]:
    """The four things a provider needs before signing, each done or not, with what is known."""
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
    permission = live_permission(user)
    if permission is not None and permission.status == "active":
        items.append(Item("permission", "EPCS permission", True,
                          f"Granted by {permission.granted_by.name} and approved by {permission.approved_by.name} "
                          f"on {_date(permission.approved_at)}."))
    elif permission is not None:
        items.append(Item("permission", "EPCS permission", False,
                          f"Granted by {permission.granted_by.name} on {_date(permission.granted_at)}; "
                          "waiting for a second person with admin rights to approve it."))
    else:
        items.append(Item("permission", "EPCS permission", False,
                          "Two people with admin rights grant and approve it; ask your practice admin."))
    return items


def is_ready(user: User) -> bool:
    return user.role == "provider" and all(item.done for item in readiness(user))


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


def grant(admin: User, provider: User) -> EpcsPermission:
    """First person: a pending permission. The unique index on live permissions makes a second
    grant (a double click, or two admins at once) fail instead of adding a row."""
    problem = _subject_problem(admin, provider)
    if problem is None and not provider.dea_number:
        problem = NEEDS_DEA
    if problem is None and provider.identity_verified_at is None:
        problem = NEEDS_IDENTITY
    if problem:
        raise AccessError(problem)
    moment = now()
    permission = EpcsPermission(provider_id=provider.id, status="pending", granted_by_id=admin.id, granted_at=moment)
    try:
        with db.session.begin_nested():
            db.session.add(permission)
    except IntegrityError:
        db.session.rollback()
        raise AccessError(ALREADY_GRANTED) from None
    audit.record(db.session, "permission_granted", at=moment, actor_id=admin.id, subject_id=provider.id,
                 ip=client_ip(), detail=f"EPCS permission granted by {admin.username}; pending a second approver")
    db.session.commit()
    return permission


def approve(admin: User, permission: EpcsPermission) -> None:
    """Second person: pending -> active, refused for the granter, the provider, and when neither
    of the two is a DEA registrant."""
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
                 ip=client_ip(), detail=f"EPCS permission granted by {permission.granted_by.username} "
                                        f"approved by {admin.username}; active")
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
                 ip=client_ip(), detail=f"EPCS permission revoked by {admin.username}")
    db.session.commit()
