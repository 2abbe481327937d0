"""Token inventory (/admin/tokens): import the vendor's seed file, list tokens by status, revoke one."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .. import sessions
from ..extensions import db, login_manager
from ..models import HardwareToken, User
from . import admin_bp
from .forms import ImportForm, RevokeForm
from .inventory import ImportReport, import_seed_file, parse_psk, revoke

STATUSES = ("unassigned", "active", "revoked")
PAGE_ROWS = 500


@admin_bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


def _listing(status: str | None) -> dict:
    counts = {status: n for status, n in db.session.execute(
        select(HardwareToken.status, func.count(HardwareToken.id)).group_by(HardwareToken.status))}
    query = (select(HardwareToken, User).outerjoin(User, User.id == HardwareToken.user_id)
             .order_by(HardwareToken.serial).limit(PAGE_ROWS))
    if status:
        query = query.where(HardwareToken.status == status)
    return {"status": status, "statuses": STATUSES, "counts": counts, "total": sum(counts.values()),
            "rows": db.session.execute(query).all(), "page_rows": PAGE_ROWS}


@admin_bp.route("")
@login_required
def index():
    status = request.args.get("status")
    if status not in STATUSES:
        status = None
    return render_template("tokens/admin/index.html", form=ImportForm(), report=None, **_listing(status))


@admin_bp.route("/import", methods=["POST"])
@login_required
def import_file():
    """Cases: no file or a bad key (message on the field); the file cannot be read, or a row is
    bad (nothing imported, every reason shown); imported (with duplicates skipped). The report is
    the answer; importing the same file again imports nothing and lists every token as a duplicate."""
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        try:
            psk = parse_psk(form.psk.data)
        except ValueError as exc:
            form.psk.errors.append(str(exc))
        else:
            upload = form.seed_file.data
            report: ImportReport = import_seed_file(upload.read(), filename=upload.filename or "the file", psk=psk,
                                                    actor_id=current_user.id)
    return render_template("tokens/admin/index.html", form=form, report=report, **_listing(None))


@admin_bp.route("/<serial>/revoke", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def revoke_token(serial: str):
    token = db.session.scalar(select(HardwareToken).where(HardwareToken.serial == serial))
    if token is None:
        abort(404)
    if token.status == "revoked":
        flash(f"Token {token.serial} is revoked.", "success")
        return redirect(url_for("tokens_admin.index", status="revoked"))
    holder = db.session.get(User, token.user_id) if token.user_id else None
    form = RevokeForm()
    if form.validate_on_submit():
        revoke(token, current_user, form.reason.data.strip())
        flash(f"Token {token.serial} is revoked.", "success")
        return redirect(url_for("tokens_admin.index", status="revoked"))
    return render_template("tokens/admin/revoke.html", form=form, token=token, holder=holder)
