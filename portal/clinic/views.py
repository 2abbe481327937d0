"""The front desk's dashboard and its CSV, the printable set-up sheet, and Hand to the doctor.
For staff and admins; status only — no seed, code or PIN, and no action on anyone's devices."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit, clinic_status, sessions
from ..clock import now
from ..export import csv_response
from ..extensions import db, login_manager
from ..forms import EmptyForm
from . import bp


@bp.before_request
def front_desk_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role != "staff" and not current_user.is_admin:
        abort(403)
    return None


def _choices() -> dict:
    """The filters and the sort from the query string, each checked against what exists."""
    sort = request.args.get("sort", "provider")
    show = request.args.get("show", "all")
    return {"query": request.args.get("q", "").strip()[:120],
            "show": show if show in clinic_status.SHOW else "all",
            "sort": sort if sort in clinic_status.COLUMN_KEYS else "provider",
            "descending": request.args.get("dir") == "desc"}


@bp.route("")
def index():
    """Every provider's readiness, filtered (?q= name, ?show=) and sorted (?sort=&dir=)."""
    choices = _choices()
    rows = clinic_status.listing(**choices)
    return render_template("clinic/index.html", rows=rows, columns=clinic_status.COLUMNS, shows=clinic_status.SHOW,
                           form=EmptyForm(), **choices)


@bp.route("/export.csv")
def export():
    """The dashboard as CSV, with the same filters and sort."""
    rows = clinic_status.listing(**_choices())
    return csv_response(f"epcs-readiness-{now():%Y-%m-%d}.csv", [title for _, title in clinic_status.COLUMNS],
                        ([status.cells[key] for key in clinic_status.COLUMN_KEYS] for status in rows))


@bp.route("/providers/<int:user_id>/sheet")
def sheet(user_id: int):
    """Print set-up sheet: one provider's status and missing steps, on paper."""
    status = clinic_status.one(user_id)
    if status is None:
        abort(404)
    return render_template("clinic/sheet.html", status=status, steps=status.missing(),
                           columns=clinic_status.COLUMNS, printed_at=now())


@bp.route("/hand-to-doctor", methods=["POST"])
def hand_to_doctor():
    """Hand to the doctor: the staff member is signed out, and the sign-in page opens for the
    doctor, who acts under their own login."""
    if EmptyForm().validate_on_submit():
        audit.record(db.session, "sign_out", at=now(), actor_id=current_user.id, subject_id=current_user.id,
                     ip=sessions.client_ip(), detail="handed the keyboard to the doctor")
        db.session.commit()
        sessions.revoke(current_user.login_session)
        flash("You are signed out. Doctor, sign in with your own username and password.", "info")
        return redirect(url_for("auth.login"))
    return redirect(url_for("clinic.index"))
