"""E-mails about credential events, in one place: every audit event whose action is listed here is
e-mailed once it is committed — to its subject user ("Was this you?") for a device, token, PIN,
permission or recovery change, and to the practice admins for the events they must hear about (a
device reported lost, recovery locked).

How: `audit.record` notes each event it appends in the session (`audit.WRITTEN`); after the
request, this module reads those events back from the database — an event that was rolled back is
simply not there — and sends one e-mail per recipient. Changes made from the command line send no
e-mail. A mail server that is down costs the notice (logged), never the change.
"""

import logging
from collections import defaultdict

from flask import Flask, current_app, url_for
from sqlalchemy import select

from . import audit
from .extensions import begin_write, db
from .messaging import SendError, send_mail
from .models import AuditEvent, User

log = logging.getLogger(__name__)

# action -> what happened, in the user's words
USER_NOTICES = {
    "device_added": "A device was added",
    "device_renamed": "A device was renamed",
    "device_removed": "A device was removed",
    "device_primary": "Your primary device changed",
    "device_suspended": "A device was suspended for your review",
    "device_kept": "A suspended device was kept and is active again",
    "device_reported_lost": "A device was reported lost",
    "token_synced": "A hardware token was added or synced",
    "token_released": "A hardware token was returned to the inventory",
    "token_revoked": "A hardware token was revoked",
    "pin_created": "Your EPCS PIN was created",
    "pin_reset": "Your EPCS PIN was reset",
    "identity_attested": "Your identity was attested for EPCS",
    "permission_requested": "EPCS credentials were copied to another location",
    "permission_granted": "EPCS permission was granted",
    "permission_approved": "EPCS permission was approved",
    "permission_revoked": "EPCS permission was revoked",
    "password_set": "Your password was set",
    "unlocked": "A lock on your account was lifted",
    "recovery_completed": "Your account was recovered with a new device",
    "recovery_locked": "Lost-device recovery was locked after too many wrong answers",
}
# action -> what the admins are told
ADMIN_ALERTS = {
    "device_reported_lost": "A device was reported lost",
    "recovery_locked": "Lost-device recovery was locked after too many wrong answers",
}


def admins() -> list[User]:
    """Everyone who acts as a practice admin: the admin role, or admin rights."""
    return list(db.session.scalars(select(User).where(
        User.is_active_user, (User.role == "admin") | User.has_admin_rights).order_by(User.id)))


def _line(event: AuditEvent, what: str) -> str:
    ip = f" from {event.ip}" if event.ip else ""
    detail = f" ({event.detail})" if event.detail else ""
    return f"- {event.at:%Y-%m-%d %H:%M} UTC: {what}{detail}{ip}."


def _user_body(user: User, lines: list[str]) -> str:
    security = url_for("devices.security", _external=True)
    recover = url_for("recovery.start", _external=True)
    return (f"Hello {user.first_name},\n\nThese changes were just made to your EPCS Portal account:\n\n"
            + "\n".join(lines)
            + "\n\nWas this you? If it was, there is nothing to do.\n\nIf it was not you, tell your practice admin "
              f"at once. If one of your devices is lost, report it on Sign In & Security ({security}); if you "
              f"cannot sign in, use \"Lost your device?\" on the sign-in page ({recover}).\n")


def _admin_body(lines: list[str]) -> str:
    return ("For the practice admins of the EPCS Portal:\n\n" + "\n".join(lines)
            + "\n\nReview the user on Users and the Audit log.\n")


def _send(to: str, subject: str, body: str, user_id: int | None) -> None:
    try:
        send_mail(to, subject, body, user_id=user_id)
    except SendError:
        log.warning("a security notice could not be e-mailed (%s)", subject)


def send_for_committed() -> None:
    """E-mail what the events this request committed call for (see the module docstring)."""
    listed = set(USER_NOTICES) | set(ADMIN_ALERTS)
    ids = {event_id: hashed for event_id, hashed, action in db.session.info.pop(audit.WRITTEN, ())
           if action in listed}
    if not ids:
        return
    db.session.rollback()  # whatever the request left open is not ours to send for
    begin_write()  # the outbox writes, even after a GET
    events = [e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids))
                                            .order_by(AuditEvent.id))
              if ids[e.id] == e.hash]
    if not events:
        return
    per_user: dict[int, list[str]] = defaultdict(list)
    alerts: list[str] = []
    for event in events:
        if event.action in USER_NOTICES and event.subject_id is not None:
            per_user[event.subject_id].append(_line(event, USER_NOTICES[event.action]))
        if event.action in ADMIN_ALERTS:
            subject = db.session.get(User, event.subject_id) if event.subject_id else None
            who = f"{subject.name} ({subject.username}): " if subject else ""
            alerts.append(_line(event, who + ADMIN_ALERTS[event.action]))
    for user_id, lines in per_user.items():
        user = db.session.get(User, user_id)
        if user is not None:
            _send(user.email, "Was this you? A change to your EPCS Portal account", _user_body(user, lines), user.id)
    if alerts:
        for admin in admins():
            _send(admin.email, "EPCS Portal: a security event for the admins", _admin_body(alerts), admin.id)
    db.session.commit()


def init_app(app: Flask) -> None:
    @app.before_request
    def forget_earlier_events():
        db.session.info.pop(audit.WRITTEN, None)

    @app.after_request
    def send_notices(response):
        if current_app.config["PORTAL_READY"]:
            send_for_committed()
        return response
