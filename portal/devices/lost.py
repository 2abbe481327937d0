"""Sign In & Security after a loss: Report lost device, and Keep for a device a recovery suspended."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import update

from .. import device_actions, sessions
from ..clock import now
from ..extensions import db
from ..forms import EmptyForm
from ..models import User
from . import bp
from .views import own_device


@bp.route("/devices/<int:device_id>/lost", methods=["GET", "POST"])
@login_required
def report_lost(device_id: int):
    """Report lost device: no step-up (it only takes rights away). Cases: already gone (a second
    click: say so); another device remains (this one stops working at once, the admins are told
    by e-mail); it was the last one (every sign-in of the account ends, and only a recovery sets
    up a new device: the page points there)."""
    device = own_device(device_id, removed_too=True)
    if device.status == "removed":
        flash(f"{device.name} no longer works.", "success")
        return redirect(url_for("devices.security"))
    form = EmptyForm()
    if form.validate_on_submit():
        name = device.name
        device_actions.report_lost(device)
        if sessions.has_active_device(current_user):
            db.session.commit()
            flash(f"{name} is reported lost and no longer works. Your practice admins were told.", "success")
            return redirect(url_for("devices.security"))
        db.session.execute(update(User).where(User.id == current_user.id).values(recovery_required_at=now()))
        sessions.revoke_all(current_user.id)
        db.session.commit()
        sessions.revoke(current_user.login_session)
        return render_template("devices/lost_last.html", name=name)
    return render_template("devices/lost.html", form=form, device=device,
                           last=not any(d.status == "active" and d.id != device.id for d in current_user.devices))


@bp.route("/devices/<int:device_id>/keep", methods=["POST"])
@login_required
@sessions.fresh_second_factor
def keep(device_id: int):
    """Keep a suspended device (you still have it): active again. Needs a fresh second factor,
    from the device the recovery set up or another active one."""
    device = own_device(device_id)
    if EmptyForm().validate_on_submit() and device_actions.keep(device):
        db.session.commit()
    if device.status == "active":
        flash(f"{device.name} is active again.", "success")
    return redirect(url_for("devices.security"))
