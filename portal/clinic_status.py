"""What the front desk sees of each provider: EPCS readiness as status only (never a seed, a code or
a PIN), the dashboard's columns and their CSV, and the set-up sheet's missing steps in the
articles' words."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from . import accounts, pin_factor
from .extensions import db
from .models import Device, EpcsPermission, HardwareToken, Location, User

# (key, heading) in the order of the dashboard and its CSV (UI.md)
COLUMNS = (
    ("provider", "Provider"), ("identity", "Identity verified"), ("permission", "EPCS permission"),
    ("pin", "EPCS PIN"), ("code_generator", "Code generator"), ("push", "Push"), ("text", "Text/Call"),
    ("hardware", "Hardware token"), ("primary", "Primary"), ("backup", "Backup"), ("locked", "Locked"),
    ("last_sign_in", "Last sign-in"),
)
COLUMN_KEYS = tuple(key for key, _ in COLUMNS)
KIND_COLUMNS = {"code_generator": ("totp",), "push": ("push",), "text": ("sms", "voice"), "hardware": ("hardware",)}
SHOW = {
    "all": "All providers",
    "attention": "Needs attention",
    "ready": "Ready to sign",
    "no_backup": "No backup device",
    "locked": "Locked",
}


@dataclass
class ProviderStatus:
    user: User
    permissions: list[tuple[str, str]]  # (location name, requested/pending/active)
    devices: list[Device]  # active and suspended
    tokens: list[HardwareToken]
    locks: list[accounts.Lock]
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> list[Device]:
        return [d for d in self.devices if d.status == "active"]

    @property
    def suspended(self) -> list[Device]:
        return [d for d in self.devices if d.status == "suspended"]

    @property
    def pin_state(self) -> str:
        if self.user.pin_hash is None:
            return "Not set"
        return "Locked" if self.user.pin_failures >= pin_factor.lock_after() else "Set"

    @property
    def has_permission(self) -> bool:
        return any(status == "active" for _, status in self.permissions)

    @property
    def ready(self) -> bool:
        return (self.user.identity_verified_at is not None and bool(self.active) and self.pin_state == "Set"
                and self.has_permission and not any(lock.key == "codes" for lock in self.locks))

    def missing(self) -> list[tuple[str, str]]:
        """The provider's missing steps, as (heading, what to do in the articles' words)."""
        steps = []
        if any(lock.key in ("codes", "needs_recovery") for lock in self.locks):
            steps.append(("Your second factor is locked",
                          "Ask your practice admin to unlock it, or on the sign-in page choose Lost your device? and "
                          "follow the e-mail: verify your identity, scan the QR code or enter the secret key, enter "
                          "the 6-digit code, name your device and enter your portal password."))
        if not self.devices:
            steps.append(("Set up a code generator",
                          "Sign in under your own login. On Sign In & Security, under Code Generator, choose Set Up, "
                          "then Continue. Scan the QR code with your authenticator app (or choose Can't scan? and "
                          "enter the secret key), then Confirm your device: enter the 6-digit code. Name your device "
                          "(ex. My iPhone) and Continue."))
        elif len(self.active) == 1:
            steps.append(("Set up at least one backup option",
                          "Associate more than one token (both a soft and a hard token): with only one device, losing "
                          "it locks you out of prescribing. On Sign In & Security choose Add under another method, "
                          "or add a hardware token."))
        if self.suspended:
            names = ", ".join(d.name for d in self.suspended)
            steps.append(("Review your suspended devices",
                          f"After your recovery these devices are Suspended: {names}. On Sign In & Security choose "
                          "Keep for each one you still have, and Remove for each one you do not."))
        if self.user.identity_verified_at is None:
            steps.append(("Verify your identity",
                          "Bring a government-issued photo ID to your practice admin, who verifies your identity in "
                          "person."))
        if self.user.pin_hash is None:
            steps.append(("Create EPCS PIN",
                          "On the EPCS page choose Create EPCS PIN. Validate Passcode: Select your phone signature "
                          "option, choose Select Setup, Enter 2FA Code and Submit 2FA Code. Then enter a New 4-digit "
                          "PIN and Confirm New 4-digit PIN, and Save."))
        elif self.pin_state == "Locked":
            steps.append(("Reset EPCS PIN",
                          "Your EPCS PIN is locked. On the EPCS page choose Reset EPCS PIN: Validate Passcode with "
                          "your 2FA Code, then a New 4-digit PIN, Confirm New 4-digit PIN, and Save."))
        if not self.has_permission:
            steps.append(("EPCS permission",
                          "Two people with admin rights grant and approve your EPCS permission; ask your practice "
                          "admin."))
        if not self.tokens and self.devices:
            steps.append(("Optional: a hardware token",
                          "Under your own login open EPCS Device Management. Manage Phones: Authenticate. Manage "
                          "Token: Add Token, enter the Serial number, One-Time Password 1 and One-Time Password 2, "
                          "and Submit once; Token Status shows Active."))
        return steps


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def _count(devices: list[Device], kinds: tuple[str, ...]) -> str:
    active = sum(1 for d in devices if d.kind in kinds and d.status == "active")
    suspended = sum(1 for d in devices if d.kind in kinds and d.status == "suspended")
    text = str(active) if active else "None"
    return text + (f" ({suspended} suspended)" if suspended else "")


def _cells(status: ProviderStatus) -> dict[str, str]:
    user = status.user
    active = status.active
    primary = next((d.name for d in active if d.is_primary), "")
    tokens = "; ".join(f"{t.serial} {t.status.capitalize()}" for t in status.tokens)
    if not active:
        backup = "No device"
    elif len(active) == 1:
        backup = "Only one device"
    else:
        backup = "Yes"
    cells = {
        "provider": f"{user.name} ({user.username})",
        "identity": _when(user.identity_verified_at) or "No",
        "permission": "; ".join(f"{where}: {state.capitalize()}" for where, state in status.permissions) or "None",
        "pin": status.pin_state,
        "hardware": tokens or "None",
        "primary": primary or "None",
        "backup": backup,
        "locked": "; ".join(lock.label for lock in status.locks) or "No",
        "last_sign_in": _when(user.last_sign_in_at) or "Never",
    }
    for key, kinds in KIND_COLUMNS.items():
        if key != "hardware":
            cells[key] = _count(status.devices, kinds)
    return cells


def providers() -> list[ProviderStatus]:
    """Every provider (active accounts) with their status, by name."""
    users = list(db.session.scalars(select(User).where(User.role == "provider", User.is_active_user)
                                    .order_by(User.name, User.id)))
    ids = [u.id for u in users]
    devices = defaultdict(list)
    for device in db.session.scalars(select(Device).where(Device.user_id.in_(ids),
                                                          Device.status.in_(("active", "suspended")))
                                     .order_by(Device.added_at, Device.id)):
        devices[device.user_id].append(device)
    tokens = defaultdict(list)
    for token in db.session.scalars(select(HardwareToken).where(HardwareToken.user_id.in_(ids))
                                    .order_by(HardwareToken.serial)):
        tokens[token.user_id].append(token)
    permissions = defaultdict(list)
    for provider_id, where, state in db.session.execute(
            select(EpcsPermission.provider_id, Location.name, EpcsPermission.status)
            .join(Location, Location.id == EpcsPermission.location_id)
            .where(EpcsPermission.provider_id.in_(ids), EpcsPermission.status != "revoked")
            .order_by(Location.id)):
        permissions[provider_id].append((where, state))
    rows = []
    for user in users:
        status = ProviderStatus(user, permissions[user.id], devices[user.id], tokens[user.id], accounts.locks(user))
        status.cells = _cells(status)
        rows.append(status)
    return rows


def one(user_id: int) -> ProviderStatus | None:
    return next((s for s in providers() if s.user.id == user_id), None)


def matches(status: ProviderStatus, query: str, show: str) -> bool:
    if query and query.casefold() not in f"{status.user.name} {status.user.username}".casefold():
        return False
    if show == "ready":
        return status.ready
    if show == "attention":
        return not status.ready or len(status.active) < 2 or bool(status.locks) or bool(status.suspended)
    if show == "no_backup":
        return len(status.active) < 2
    if show == "locked":
        return bool(status.locks)
    return True


def sort_key(column: str):
    """Sort by a column: dates by time (never first), counts as numbers, the rest as text."""
    if column == "last_sign_in":
        return lambda s: s.user.last_sign_in_at or datetime.min
    if column == "identity":
        return lambda s: s.user.identity_verified_at or datetime.min
    if column in ("code_generator", "push", "text"):
        kinds = KIND_COLUMNS[column]
        return lambda s: sum(1 for d in s.active if d.kind in kinds)
    if column == "provider":
        return lambda s: (s.user.name.casefold(), s.user.username)
    return lambda s: s.cells[column].casefold()


def listing(query: str = "", show: str = "all", sort: str = "provider", descending: bool = False) -> list:
    rows = [s for s in providers() if matches(s, query, show if show in SHOW else "all")]
    return sorted(rows, key=sort_key(sort if sort in COLUMN_KEYS else "provider"), reverse=descending)
