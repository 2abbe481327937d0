"""The audit log (/admin/audit): filter by user, action and date, export CSV, the state of the hash
chain with every broken row flagged, and the daily incident report."""

from datetime import datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased
from wtforms import SelectChoice

from .. import audit, incidents
from ..clock import now
from ..export import csv_response
from ..extensions import db
from ..models import AuditEvent, User
from ..prescription import parse_dob
from . import bp
from .forms import AuditFilterForm

PAGE_ROWS = 200


def _filters() -> tuple[AuditFilterForm, list]:
    """The filter form (from the query string) and the conditions it makes; a bad date is a
    message on its field and no condition."""
    form = AuditFilterForm(request.args)
    users = list(db.session.scalars(select(User).order_by(User.name, User.id)))
    form.user.choices = [SelectChoice("", "Anyone")] + [SelectChoice(str(u.id), f"{u.name} ({u.username})")
                                                         for u in users]
    actions = sorted(db.session.scalars(select(AuditEvent.action).distinct()))
    form.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(a, a.replace("_", " ")) for a in actions]
    form.validate()
    conditions = []
    if form.user.data and form.user.data.isdigit():
        user_id = int(form.user.data)
        conditions.append(or_(AuditEvent.subject_id == user_id, AuditEvent.actor_id == user_id))
    if form.action.data:
        conditions.append(AuditEvent.action == form.action.data)
    since = parse_dob(form.since.data or "")
    if since is not None:
        conditions.append(AuditEvent.at >= datetime.combine(since, time.min))
    until = parse_dob(form.until.data or "")
    if until is not None:
        conditions.append(AuditEvent.at < datetime.combine(until + timedelta(days=1), time.min))
    return form, conditions


def _query(conditions):
    subject, actor = aliased(User), aliased(User)
    return (select(AuditEvent, subject, actor)
            .outerjoin(subject, subject.id == AuditEvent.subject_id)
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
            .where(*conditions))


@bp.route("/audit", endpoint="audit")
def audit_log():
    """Newest first, PAGE_ROWS a page (?before=<id> for older ones), with the chain's state."""
    form, conditions = _filters()
    before = request.args.get("before", type=int)
    query = _query(conditions)
    if before:
        query = query.where(AuditEvent.id < before)
    rows = db.session.execute(query.order_by(AuditEvent.id.desc()).limit(PAGE_ROWS + 1)).all()
    older = rows[PAGE_ROWS][0].id + 1 if len(rows) > PAGE_ROWS else None
    chain = audit.verify(db.session)
    return render_template("admin/audit.html", form=form, rows=rows[:PAGE_ROWS], older=older, chain=chain,
                           flagged=dict(chain.problems), today=now().date().isoformat(),
                           export_args={k: v for k, v in request.args.items() if k != "before" and v})


@bp.route("/audit/export.csv")
def audit_export():
    """Every event the filters select, oldest first, with its hashes (to check elsewhere)."""
    _, conditions = _filters()
    rows = db.session.execute(_query(conditions).order_by(AuditEvent.id))
    return csv_response(
        f"audit-log-{now():%Y-%m-%d}.csv",
        ["id", "at (UTC)", "action", "subject", "actor", "ip", "detail", "prev_hash", "hash"],
        ([e.id, e.at.isoformat(sep=" ", timespec="seconds"), e.action, s.username if s else "",
          a.username if a else "", e.ip or "", e.detail, e.prev_hash, e.hash] for e, s, a in rows))


@bp.route("/audit/report")
def incident_report():
    """The day's incident report (?day=YYYY-MM-DD, today by default)."""
    asked = request.args.get("day", "")
    day = parse_dob(asked) or now().date()
    report = incidents.daily(db.session, day)
    return render_template("admin/report.html", report=report, day=day, previous=day - timedelta(days=1),
                           following=day + timedelta(days=1) if day < now().date() else None,
                           bad_day=bool(asked) and parse_dob(asked) is None)
