"""Sign In & Security: the device list, the code-generator wizard, rename, primary, remove."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import device_actions, otp, sessions
from ..clock import now
from ..extensions import db
from ..forms import EmptyForm
from ..models import AuditEvent, Device
from ..second_factor import METHODS, SIGNING, allowed_kinds, method_of
from ..wizard import Step, Wizard
from . import bp
from .forms import DeviceNameForm
from .steps import SCAN_STEPS, confirm_step, name_step, pending_secret, primary_step, scan_step

CODE_GENERATOR = Wizard("code_generator", [
    Step("devices.cg_intro", "Set up a code generator"),
    Step("devices.cg_scan", "Scan QR code", sealed=True),
    Step("devices.cg_confirm", "Confirm your device"),
    Step("devices.cg_name", "Name your device"),
    Step("devices.cg_primary", "Primary device", optional="has_primary"),
], start_over="devices.cg_intro")


SCAN_STEPS["devices.cg_scan"] = CODE_GENERATOR

# method slug -> the endpoint that sets up (Set Up / Add) a device of that method
SETUP_ENDPOINTS = {"code-generator": "devices.cg_intro"}


def own_device(device_id: int, *, removed_too: bool = False) -> Device:
    """The signed-in user's device; anything else is 404, never 403, so that ids tell nothing
    about other accounts."""
    device = db.session.get(Device, device_id)
    if device is None or device.user_id != current_user.id or (device.status == "removed" and not removed_too):
        abort(404)
    return device


@bp.route("")
@login_required
def security():
    devices = list(db.session.scalars(
        select(Device).where(Device.user_id == current_user.id, Device.status.in_(("active", "suspended")))
        .order_by(Device.added_at, Device.id)))
    sections = [(m, [d for d in devices if d.kind in m.kinds]) for m in METHODS]
    activity = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == current_user.id)
        .order_by(AuditEvent.id.desc()).limit(10)))
    active = sum(1 for d in devices if d.status == "active")
    return render_template("devices/security.html", sections=sections, active_count=active,
                           activity=activity, form=EmptyForm(), setup_endpoints=SETUP_ENDPOINTS)


@bp.route("/first-device")
@login_required
def first_device():
    """"Set up your first device": a user with no active device chooses the method of their first
    one (the only thing they can reach until it is set up); anyone else goes to Sign In & Security."""
    if sessions.has_active_device(current_user):
        return redirect(url_for("devices.security"))
    methods = [(m, SETUP_ENDPOINTS[m.slug]) for m in METHODS if m.slug in SETUP_ENDPOINTS]
    return render_template("devices/first_device.html", methods=methods,
                           can_sign=set(allowed_kinds(SIGNING)))


# ---- the code-generator wizard (Set Up / Add) ----

@bp.route("/code-generator", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def cg_intro():
    """Step 1 explains; Continue makes the secret (once per wizard run) and moves on."""
    has_primary = sessions.has_active_device(current_user)
    form = EmptyForm()
    if form.validate_on_submit():
        state = CODE_GENERATOR.begin(secret=otp.secret_to_base32(otp.new_secret()), has_primary=has_primary)
        return redirect(state.done("devices.cg_intro"))
    return render_template("devices/cg_intro.html", form=form,
                           progress=CODE_GENERATOR.preview("devices.cg_intro", has_primary=has_primary))


@bp.route("/code-generator/scan", methods=["GET", "POST"])
@login_required
def cg_scan():
    return scan_step(CODE_GENERATOR, "devices.cg_scan")


@bp.route("/code-generator/confirm", methods=["GET", "POST"])
@login_required
def cg_confirm():
    return confirm_step(CODE_GENERATOR, "devices.cg_confirm", url_for("devices.cg_intro"))


@bp.route("/code-generator/name", methods=["GET", "POST"])
@login_required
def cg_name():
    return name_step(CODE_GENERATOR, "devices.cg_name", _finish)


@bp.route("/code-generator/primary", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def cg_primary():
    return primary_step(CODE_GENERATOR, "devices.cg_primary", "devices.cg_name", _finish)


def _finish(state, name: str, *, make_primary: bool):
    """The last step re-checks everything, writes the device, and wipes the seed from the state."""
    step = state.value("devices.cg_confirm", "step")
    if step is None or not name or device_actions.name_taken(current_user, name):
        return redirect(url_for("devices.cg_name"))
    device = device_actions.add(current_user, "totp", name, make_primary=make_primary,
                                secret=current_app.extensions["vault"].seal(pending_secret(state)), last_step=step)
    ls = current_user.login_session
    if ls.stage == "enrolling":
        ls.stage = "full"
        ls.second_factor_at = now()
        ls.second_factor_device_id = device.id
    done = url_for("devices.cg_done", device_id=device.id)
    CODE_GENERATOR.finish(state, done)
    return redirect(done)


@bp.route("/code-generator/done/<int:device_id>")
@login_required
def cg_done(device_id: int):
    device = own_device(device_id)
    return render_template("devices/cg_done.html", device=device)


# ---- device actions ----

@bp.route("/devices/<int:device_id>/rename", methods=["GET", "POST"])
@login_required
def rename(device_id: int):
    device = own_device(device_id)
    form = DeviceNameForm(current_user, device, label="Name")
    if request.method == "GET":
        form.name.data = device.name
    if form.validate_on_submit():
        if form.name.data != device.name:
            device_actions.rename(device, form.name.data)
            db.session.commit()
        flash(f"Your device is now named {device.name}.", "success")
        return redirect(url_for("devices.security"))
    return render_template("devices/rename.html", form=form, device=device)


@bp.route("/devices/<int:device_id>/primary", methods=["POST"])
@login_required
@sessions.fresh_second_factor
def make_primary(device_id: int):
    device = own_device(device_id)
    form = EmptyForm()
    if form.validate_on_submit() and device.status == "active" and not device.is_primary:
        device_actions.set_primary(device)
        db.session.commit()
    if device.is_primary:
        flash(f"{device.name} is your primary device.", "success")
    return redirect(url_for("devices.security"))


@bp.route("/devices/<int:device_id>/remove", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def remove(device_id: int):
    """Cases: another device remains (a fresh second factor suffices); this is the last active
    device (the fresh second factor must have come from this very device)."""
    device = own_device(device_id, removed_too=True)
    if device.status == "removed":  # a second click of Remove device
        flash(f"{device.name} was removed.", "success")
        return redirect(url_for("devices.security"))
    others = db.session.scalar(select(Device.id).where(
        Device.user_id == current_user.id, Device.status == "active", Device.id != device.id).limit(1))
    if others is None and not sessions.is_fresh(current_user.login_session, device.id):
        flash(f"{device.name} is your last device. Prove you have it: enter a code from it.", "info")
        return redirect(url_for("auth.step_up_code", method=method_of(device).slug, device=device.id,
                                next=url_for("devices.remove", device_id=device.id)))
    form = EmptyForm()
    if form.validate_on_submit():
        successor = device_actions.remove(device)
        db.session.commit()
        flash(f"{device.name} was removed.", "success")
        if successor is not None:
            flash(f"{successor.name} is now your primary device.", "info")
        return redirect(url_for("devices.security"))
    return render_template("devices/remove.html", form=form, device=device, last=others is None)
