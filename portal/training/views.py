"""The training sandbox's phone and outbox (demo mode only; 404 otherwise): Send to my training
phone from the code generator's Scan step, the user's training phone, the trainer's Message outbox."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import otp, sessions, training_phone
from ..devices.steps import SCAN_STEPS
from ..extensions import db
from ..forms import EmptyForm
from ..models import OutboundMessage
from ..phone_number import pretty
from ..qr import qr_svg
from . import bp

OUTBOX_ROWS = 200

# a new provider's first device may be set up with the training phone
sessions.ENROLLING_ENDPOINTS.update({"training.send_code_generator", "training.my_phone"})


@bp.before_request
def demo_only():
    if not current_app.config["PORTAL_DEMO"]:
        abort(404)


@bp.app_context_processor
def training_links():
    """For the code generator's Scan step: the link that opens the user's training phone."""

    def training_phone_url() -> str:
        phone = training_phone.for_user(current_user)
        return url_for("phone.open_training_phone", token=training_phone.link_token(phone))

    return {"training_phone_url": training_phone_url}


@bp.route("/phone/code-generator", methods=["POST"])
@login_required
def send_code_generator():
    """Send to my training phone: the code generator being set up (by the code-generator wizard or
    a lost-device recovery: the form names its scan step) becomes an account on the user's
    training phone, which shows its codes (never the seed)."""
    step = request.form.get("step", "devices.cg_scan")
    if step not in SCAN_STEPS:
        abort(404)
    state = SCAN_STEPS[step].at(step)
    if EmptyForm().validate_on_submit():
        phone = training_phone.for_user(current_user)
        label = f"{current_app.config['PORTAL_ISSUER']} ({current_user.username})"
        training_phone.add_account(phone, label, otp.secret_from_base32(state.data["secret"]))
        flash(f"Sent to your training phone {pretty(phone.number)}. Open it to read the code, then Continue.",
              "success")
    return redirect(url_for(step))


@bp.route("/phone")
@login_required
def my_phone():
    """The user's training phone: its number, and its link (and QR code, for a real phone)."""
    phone = training_phone.for_user(current_user)
    link = url_for("phone.open_training_phone", token=training_phone.link_token(phone), _external=True)
    return render_template("training/phone.html", number=pretty(phone.number), link=link,
                           qr=qr_svg(link, "QR code that opens your training phone"))


@bp.route("/outbox")
@login_required
@sessions.roles_required("trainer")
def outbox():
    """Message outbox: every text, call and e-mail the portal sent, newest first."""
    messages = list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(OUTBOX_ROWS)))
    return render_template("training/outbox.html", messages=messages, limit=OUTBOX_ROWS)
