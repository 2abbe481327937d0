"""Steps that several device wizards share.

- Scan QR code and Confirm your device, for a code generator: the code-generator wizard and
  lost-device recovery. The wizard's payload holds the pending seed as base32 under "secret";
  the confirm step records the accepted time step as "step".
- Name your device, then Primary device (a step only when the user already has a primary), for
  every device wizard. Each wizard passes its own `finish(state, name, make_primary=...)`, which
  re-checks everything and writes the device (or, in recovery, moves on).
"""

from flask import current_app, redirect, render_template, request
from flask_login import current_user

from .. import otp
from ..clock import now
from ..forms import EmptyForm
from ..qr import qr_svg
from ..wizard import Wizard
from .forms import ConfirmCodeForm, DeviceNameForm, PrimaryChoiceForm

# scan step endpoint -> its wizard, for the training phone's Send to my training phone
SCAN_STEPS: dict[str, Wizard] = {}


def pending_secret(state) -> bytes:
    return otp.secret_from_base32(state.data["secret"])


def scan_step(wizard: Wizard, endpoint: str):
    """The QR code and the secret key in groups of four; Continue moves on (and the key is never
    shown again: the step is sealed)."""
    state = wizard.at(endpoint)
    form = EmptyForm()
    if form.validate_on_submit():
        return redirect(state.done(endpoint))
    secret = pending_secret(state)
    uri = otp.provisioning_uri(secret, current_user.username, current_app.config["PORTAL_ISSUER"])
    return render_template("devices/cg_scan.html", form=form, progress=state.progress(endpoint),
                           qr=qr_svg(uri, "QR code for your code generator app"),
                           key_groups=otp.secret_groups(secret), scan_step=endpoint)


def confirm_step(wizard: Wizard, endpoint: str, restart_url: str):
    """The first code proves the app holds the seed. Wrong codes are not counted against the
    user's factor: this seed protects nothing yet."""
    state = wizard.at(endpoint)
    form = ConfirmCodeForm()
    if form.validate_on_submit():
        code = form.code.data
        step = otp.match_totp(pending_secret(state), code, otp.time_step(now())) if otp.is_well_formed(code) else None
        if step is None:
            form.code.errors.append("That code is not right. Enter the 6-digit code your app shows now."
                                    if otp.is_well_formed(code) else "Enter the 6-digit code, digits only.")
        else:
            return redirect(state.done(endpoint, step=step))
    return render_template("devices/cg_confirm.html", form=form, restart=EmptyForm(), restart_url=restart_url,
                           progress=state.progress(endpoint))


def name_step(wizard: Wizard, endpoint: str, finish):
    state = wizard.at(endpoint)
    form = DeviceNameForm(current_user)
    if request.method == "GET":
        form.name.data = state.value(endpoint, "name", "")
    if form.validate_on_submit():
        if not state.data["has_primary"]:
            return finish(state, form.name.data, make_primary=True)
        return redirect(state.done(endpoint, name=form.name.data))
    return render_template("devices/cg_name.html", form=form, progress=state.progress(endpoint))


def primary_step(wizard: Wizard, endpoint: str, name_endpoint: str, finish):
    state = wizard.at(endpoint)
    form = PrimaryChoiceForm()
    name = state.value(name_endpoint, "name")
    if form.validate_on_submit():
        return finish(state, name, make_primary=bool(form.make_primary.data))
    return render_template("devices/cg_primary.html", form=form, name=name, progress=state.progress(endpoint))
