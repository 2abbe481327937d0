"""The tables (SQLAlchemy 2.0 typed mappings). Times are naive UTC."""

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

ROLES = ("provider", "staff", "admin", "trainer")
DEVICE_KINDS = ("sms", "voice", "push", "totp", "hardware")  # the order the sign-in page offers them
DEVICE_STATUSES = ("pending", "active", "suspended", "removed")


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    is_active_user: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    password_hash: Mapped[bytes] = mapped_column(LargeBinary(80))
    password_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_locked_until: Mapped[datetime | None]
    otp_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    otp_last_failure_at: Mapped[datetime | None]
    pin_hash: Mapped[bytes | None] = mapped_column(LargeBinary(80))
    pin_set_at: Mapped[datetime | None]
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    identity_verified_at: Mapped[datetime | None]
    identity_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    dea_number: Mapped[str | None] = mapped_column(String(9))
    has_admin_rights: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    dob_hash: Mapped[str | None] = mapped_column(String(64))
    ssn_last4_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime | None]
    # lost-device recovery: wrong identity answers in a row, and the lock they lead to
    recovery_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recovery_locked_until: Mapped[datetime | None]
    # set when the last device was reported lost: a sign-in with the password alone no longer sets up
    # a new device; only a recovery (or an admin's unlock) does
    recovery_required_at: Mapped[datetime | None]

    devices: Mapped[list["Device"]] = relationship(back_populates="user", order_by="Device.added_at")
    identity_verified_by: Mapped["User | None"] = relationship(remote_side=[id],
                                                               foreign_keys=[identity_verified_by_id])

    # Flask-Login reads these; get_id is the *login session's* token, never the user id, so the
    # cookie carries only that opaque value and signing out (revoking the row) kills the cookie.
    is_authenticated = True
    is_anonymous = False
    session_token = None  # set by the user loader: str
    login_session = None  # set by the user loader: LoginSession

    @property
    def is_active(self) -> bool:
        return self.is_active_user

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" or self.has_admin_rights

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else ""


# sign-in finds a user by lower(username): without this index it reads the whole user table
Index("ix_user_username_lower", func.lower(User.username))


class Device(db.Model):
    """A second factor. A device row exists only once confirmed: the set-up wizards keep the
    pending seed in wizard_state, so nothing can ever use an unconfirmed device."""

    __table_args__ = (
        # names are unique per user ignoring case, among devices not removed
        Index("uq_device_name", "user_id", "name_key", unique=True,
              sqlite_where=text("status != 'removed'"), postgresql_where=text("status != 'removed'")),
        # at most one primary per user
        Index("uq_device_primary", "user_id", unique=True,
              sqlite_where=text("is_primary"), postgresql_where=text("is_primary")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str | None] = mapped_column(Text)  # vault-sealed seed
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164, sms/voice
    token_serial: Mapped[str | None] = mapped_column(String(32))  # hardware
    credential_hash: Mapped[str | None] = mapped_column(String(64))  # push: hash of the phone's credential
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    added_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    last_step: Mapped[int | None]  # TOTP: the last accepted time step (replay rule)
    counter: Mapped[int | None]  # HOTP: the counter value the next code is made with
    drift: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # TOTP steps

    user: Mapped[User] = relationship(back_populates="devices")

    @property
    def is_usable(self) -> bool:
        return self.status == "active"


class HardwareToken(db.Model):
    """Inventory from the vendor's seed file. The token row, not its device row, holds the replay
    state (counter, last_step) and the drift: a hardware device is a link to its token by serial."""

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    seed: Mapped[str] = mapped_column(Text)  # vault-sealed
    kind: Mapped[str] = mapped_column(String(8), default="hotp")
    digits: Mapped[int] = mapped_column(Integer, default=6)
    period: Mapped[int] = mapped_column(Integer, default=30)
    counter: Mapped[int] = mapped_column(Integer, default=0)  # HOTP: the counter value the next accepted code has
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="unassigned")  # unassigned, active, revoked
    imported_at: Mapped[datetime]
    drift: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # TOTP: steps the token's clock is off
    last_step: Mapped[int | None]  # TOTP: the last accepted time step (replay rule)
    # the simulator's token (flask tokens simulate): the counter its next button press makes a code
    # with; like a real token's own counter it runs ahead of `counter` by every press never entered
    simulator_counter: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    assigned_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginSession(db.Model):
    """One sign-in. The cookie holds a random token; the table holds only its SHA-256."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # "password" (code pending), "enrolling", "full"
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    second_factor_at: Mapped[datetime | None]  # step-up freshness
    second_factor_device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))  # prescribing here; None: the main one

    user: Mapped[User] = relationship()


class WizardState(db.Model):
    """Where one wizard of one sign-in session stands; its payload (e.g. a pending seed) is sealed."""

    __table_args__ = (UniqueConstraint("login_session_id", "wizard"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login_session_id: Mapped[int] = mapped_column(ForeignKey("login_session.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    wizard: Mapped[str] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(Integer, default=0)  # the furthest step reached
    payload: Mapped[str] = mapped_column(Text)  # vault-sealed JSON
    expires_at: Mapped[datetime]


class AuditEvent(db.Model):
    """Append-only and hash-chained: each row's hash covers its fields and the previous hash. The
    unique prev_hash makes two workers appending at once collide instead of forking the chain."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(48), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class OutboundMessage(db.Model):
    """The outbox: texts, calls and e-mails the portal sent (or would have sent)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms, voice, email
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Location(db.Model):
    """A practice location that providers prescribe from. The first one (lowest id) is the main one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]


MAIN_LOCATION = "Main office"


def main_location_id(context) -> int:
    """The default location of an EPCS permission written without one: the practice's main
    location, made (as "Main office") when the practice has none yet. It runs inside the flush,
    on the flush's own connection."""
    from .clock import now

    table = Location.__table__
    found = context.connection.execute(select(table.c.id).order_by(table.c.id).limit(1)).scalar()
    if found is None:
        found = context.connection.execute(
            table.insert().values(name=MAIN_LOCATION, created_at=now())).inserted_primary_key[0]
    return found


class EpcsPermission(db.Model):
    """Logical access control for signing controlled-substance prescriptions (21 CFR 1311), per
    provider and practice location: requested by the provider (Copy EPCS credentials to an
    additional location), granted by one person with admin rights (pending), approved by a second,
    different one (active), revoked at any time. Rows are never deleted: the history is the access
    record."""

    __table_args__ = (
        # at most one live (requested, pending or active) permission per provider and location
        Index("uq_epcs_permission_live", "provider_id", "location_id", unique=True,
              sqlite_where=text("status != 'revoked'"), postgresql_where=text("status != 'revoked'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True, default=main_location_id)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # requested, pending, active, revoked
    requested_at: Mapped[datetime | None]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    granted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None]

    provider: Mapped[User] = relationship(foreign_keys=[provider_id])
    location: Mapped[Location] = relationship()
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])


class Prescription(db.Model):
    """A signed controlled-substance prescription. `canonical` is the exact text that was signed
    (the order, the prescriber, the time and the device) and `digest` its SHA-256; the other
    columns repeat the order for lists and searches. A database trigger refuses every UPDATE:
    a signed prescription is never edited. `order_key` is the order's id from Compose Rx, unique,
    so one order can never become two prescriptions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_key: Mapped[str] = mapped_column(String(32), unique=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    patient_name: Mapped[str] = mapped_column(String(120))
    patient_dob: Mapped[date] = mapped_column(Date)
    drug: Mapped[str] = mapped_column(String(120))
    strength: Mapped[str] = mapped_column(String(40))
    schedule: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int]
    directions: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    device_name: Mapped[str] = mapped_column(String(64))
    canonical: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))

    prescriber: Mapped[User] = relationship()


# A signed prescription can never be edited: the database itself refuses an UPDATE (the same
# statements are in the migration that creates the table).
PRESCRIPTION_IMMUTABLE = {
    "sqlite": ["CREATE TRIGGER prescription_immutable BEFORE UPDATE ON prescription "
               "BEGIN SELECT RAISE(ABORT, 'a signed prescription cannot be changed'); END"],
    "postgresql": ["CREATE FUNCTION prescription_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'a signed prescription cannot be changed'; END $$",
                   "CREATE TRIGGER prescription_immutable BEFORE UPDATE ON prescription "
                   "FOR EACH ROW EXECUTE FUNCTION prescription_immutable()"],
}
for _dialect, _statements in PRESCRIPTION_IMMUTABLE.items():
    for _statement in _statements:
        event.listen(Prescription.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


CHALLENGE_STATUSES = ("pending", "approved", "denied", "expired", "used", "failed")


class PushPairing(db.Model):
    """The one-time pairing link of the push set-up wizard. The link's token and the phone's
    credential are kept only as SHA-256 hashes; the device row is written when the wizard ends."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    login_session_id: Mapped[int] = mapped_column(ForeignKey("login_session.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    paired_at: Mapped[datetime | None]
    credential_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_agent: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))


class Challenge(db.Model):
    """One push approval or one text/call code, for one sign-in session.

    Push: the number to match and the three choices the phone offers. Text/call: the keyed hash of
    the code (never the code) and where it was sent. Answered or consumed once, by one conditional
    UPDATE on `status`. A set-up challenge has no device yet: a push one names its pairing, a
    text/call one its phone number."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"), index=True)
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("push_pairing.id"))
    login_session_id: Mapped[int | None] = mapped_column(ForeignKey("login_session.id", ondelete="CASCADE"),
                                                         index=True)
    channel: Mapped[str] = mapped_column(String(8))  # push, sms, voice
    purpose: Mapped[str] = mapped_column(String(16))  # sign_in, step_up, setup, pin_reset, signing
    phone: Mapped[str | None] = mapped_column(String(20))  # sms/voice: E.164
    number: Mapped[str | None] = mapped_column(String(2))  # push: the number to match
    choices: Mapped[str | None] = mapped_column(String(16))  # push: the three numbers offered, "17,42,88"
    code_hash: Mapped[str | None] = mapped_column(String(64))  # sms/voice
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    browser: Mapped[str | None] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(45))

    device: Mapped[Device | None] = relationship()


class TrainingPhone(db.Model):
    """Demo mode: a user's simulated phone, with a fictional 555-01xx number of its own."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime]


class TrainingAccount(db.Model):
    """Demo mode: a code generator sent to a training phone. The seed stays sealed on the server;
    the phone page shows only the codes computed from it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    training_phone_id: Mapped[int] = mapped_column(ForeignKey("training_phone.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    secret: Mapped[str] = mapped_column(Text)  # vault-sealed seed
    secret_hash: Mapped[str] = mapped_column(String(64))  # keyed hash: the same seed is sent once
    created_at: Mapped[datetime]


class OneTimeLink(db.Model):
    """A link e-mailed to a user: lost-device recovery ("recovery") or choosing a password
    ("password"). Only the SHA-256 of its token is kept; it is used once, by one conditional
    UPDATE of `used_at`, before `expires_at`."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # an admin; None: the user asked
    ip: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
