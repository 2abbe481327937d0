"""The daily incident report: one day's security events from the audit log, by kind — the daily
review of the audit trail that 21 CFR 1311.150 asks for. No Flask here: `flask audit report`
and the audit page both call `daily`."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from .models import AuditEvent, User

# (heading, actions), in the report's order
SECTIONS = (
    ("Failures", ("password_failed", "sign_in_refused", "code_refused", "code_not_sent", "pin_refused",
                  "prescription_refused", "permission_approval_refused", "recovery_identity_failed",
                  "recovery_refused")),
    ("Locks and unlocks", ("password_locked", "factor_waits", "factor_locked", "pin_locked", "recovery_locked",
                           "unlocked")),
    ("Denied pushes", ("push_denied",)),
    ("Refused staff access", ("access_refused",)),
    ("Permission changes", ("identity_attested", "permission_requested", "permission_granted", "permission_approved",
                            "permission_revoked", "user_created", "user_deactivated", "user_reactivated",
                            "password_link_sent", "password_set", "token_revoked", "tokens_imported")),
    ("Recoveries and lost devices", ("recovery_requested", "recovery_link_used", "recovery_identity_verified",
                                     "recovery_completed", "device_suspended", "device_kept",
                                     "device_reported_lost")),
)


@dataclass(frozen=True)
class Line:
    at: datetime
    action: str
    subject: str
    actor: str
    ip: str
    detail: str


@dataclass(frozen=True)
class Report:
    day: date
    sections: list[tuple[str, list[Line]]]

    @property
    def total(self) -> int:
        return sum(len(lines) for _, lines in self.sections)


def _who(user: User | None) -> str:
    return user.username if user is not None else ""


def daily(session: Session, day: date) -> Report:
    """The events of `day` (UTC) in each section, oldest first."""
    start = datetime.combine(day, time.min)
    subject, actor = aliased(User), aliased(User)
    wanted = {action for _, actions in SECTIONS for action in actions}
    rows = session.execute(
        select(AuditEvent, subject, actor)
        .outerjoin(subject, subject.id == AuditEvent.subject_id)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .where(AuditEvent.at >= start, AuditEvent.at < start + timedelta(days=1), AuditEvent.action.in_(wanted))
        .order_by(AuditEvent.at, AuditEvent.id)).all()
    lines = {action: [] for action in wanted}
    for event, who, by in rows:
        lines[event.action].append(Line(event.at, event.action, _who(who), _who(by), event.ip or "", event.detail))
    sections = []
    for heading, actions in SECTIONS:
        found = sorted((line for action in actions for line in lines[action]), key=lambda line: line.at)
        sections.append((heading, found))
    return Report(day, sections)


def as_text(report: Report) -> str:
    """The report for a terminal or an e-mail."""
    out = [f"Incident report for {report.day.isoformat()} (UTC): {report.total} events"]
    for heading, lines in report.sections:
        out.append("")
        out.append(f"{heading} ({len(lines)})")
        if not lines:
            out.append("  none")
        for line in lines:
            who = line.subject + (f" by {line.actor}" if line.actor and line.actor != line.subject else "")
            out.append(f"  {line.at:%H:%M:%S}  {line.action:<26} {who:<24} {line.ip:<15} {line.detail}")
    return "\n".join(out)
