"""Create EPCS PIN and Reset EPCS PIN: the same two steps, as the article describes.

1. Validate Passcode: choose a device (Select Setup), enter its code (Submit 2FA Code); the code
   is checked as at sign-in and passing begins this wizard in this sign-in session.
2. New PIN: New 4-digit PIN + Confirm New 4-digit PIN (Save), checked by pin.py's rules. Only
   within PORTAL_STEP_UP_MINUTES of step 1, and once: saving uses the passed step 1 up.
Then the success message. Saving clears a PIN lock.

Every kind of device validates a passcode here, through the shared factor step
(factor_prompt.Prompt): a code generator's or token's code, a code sent by Text me / Call me, or
a push approval on the phone (purpose "pin_create" / "pin_reset"); passing calls
`passcode_validated(mode, device)`, which begins the wizard.
"""

from datetime import datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import pin_factor
from ..clock import now
from ..extensions import db
from ..factor_prompt import Prompt
from ..sessions import roles_required
from ..signing import passcode_devices
from ..wizard import Step, Wizard
from . import bp
from .forms import DeviceChoiceForm, NewPinForm, PasscodeForm

WIZARDS = {
    mode: Wizard(f"pin_{mode}", [
        Step(f"pin.{mode}", "Validate Passcode"),
        Step(f"pin.{mode}_new", "New PIN"),
    ], start_over=f"pin.{mode}", not_started="Validate your passcode first.")
    for mode in ("create", "reset")
}
TITLES = {"create": "Create EPCS PIN", "reset": "Reset EPCS PIN"}
DONE = {
    "create": "Your 4-digit PIN has been successfully created and is now able to be used to electronically "
              "sign for controlled substance prescriptions.",
    "reset": "Your 4-digit PIN has been successfully reset and is now able to be used to electronically "
             "sign for controlled substance prescriptions.",
}


def passcode_validated(mode: str, device) -> str:
    """Step 1 passed with `device`: begin the wizard (any earlier run of it is discarded) and
    return the URL of the new-PIN step."""
    state = WIZARDS[mode].begin(device_id=device.id, validated_at=now().isoformat())
    return state.done(f"pin.{mode}")


def _passed_with(mode: str, device) -> bool:
    """Step 1 was passed in this sign-in session with `device`, and no PIN was saved since."""
    state = WIZARDS[mode].current()
    return state is not None and state.data.get("device_id") == device.id


def _wrong_mode(mode: str):
    """Create when there is a PIN already goes to Reset, and Reset without one goes to Create."""
    has_pin = current_user.pin_hash is not None
    if mode == "create" and has_pin:
        flash("You already have an EPCS PIN. To change it, reset it.", "info")
        return redirect(url_for("pin.reset"))
    if mode == "reset" and not has_pin:
        flash("You have no EPCS PIN yet. Create one.", "info")
        return redirect(url_for("pin.create"))
    return None


def _validate_passcode(mode: str):
    """Cases: the wrong one of create/reset (sent to the other); no device at all (sent to set one
    up); GET: the device choice, and after Select Setup (?device=) the step for it — a code field,
    Text me / Call me then a code field, or Send push notification then the request — or a message
    when the device is not one of the user's; POST: the step's own buttons (sending; nothing is
    checked), Check again for push (approved: on to the new PIN; otherwise the request's state),
    or the code, wrong (message on the field, counted as at sign-in) or right (on to the new PIN)."""
    detour = _wrong_mode(mode)
    if detour:
        return detour
    devices = passcode_devices(current_user)
    if not devices:
        flash("Set up a device first: you validate your passcode with it.", "info")
        return redirect(url_for("devices.security"))
    code_form = PasscodeForm(devices)
    if request.method == "POST":
        choice = DeviceChoiceForm(devices, formdata=None, data={"device": code_form.device.data})
        chosen = choice.validate()
        device = next((d for d in devices if chosen and str(d.id) == choice.device.data), None)
        prompt = Prompt.here(f"pin_{mode}", device) if device is not None else None
        if prompt is not None and prompt.act():
            return redirect(url_for(f"pin.{mode}", device=device.id))
        if prompt is not None and prompt.way == "push":  # Check again, or the page's polling
            if prompt.verify().ok:
                return redirect(passcode_validated(mode, device))
            if prompt.repeated() and _passed_with(mode, device):  # a second click: step 1 stands
                return redirect(url_for(f"pin.{mode}_new"))
            return redirect(url_for(f"pin.{mode}", device=device.id, result=1))
        if prompt is not None and code_form.validate_on_submit():
            outcome = prompt.verify(code_form.code.data)
            if outcome.ok:
                return redirect(passcode_validated(mode, device))
            code_form.code.errors.append(outcome.message)
    else:
        choice = DeviceChoiceForm(devices, formdata=request.args)
        chosen = "device" in request.args and choice.validate()
        code_form.device.data = choice.device.data
        device = next((d for d in devices if chosen and str(d.id) == choice.device.data), None)
        prompt = Prompt.here(f"pin_{mode}", device) if device is not None else None
    return render_template("pin/validate.html", mode=mode, title=TITLES[mode], choice=choice,
                           code_form=code_form, device=device, prompt=prompt.view() if prompt else None,
                           progress=WIZARDS[mode].preview(f"pin.{mode}"))


def _new_pin(mode: str):
    """Cases: step 1 not passed in this wizard and session (sent back to it); passed more than
    PORTAL_STEP_UP_MINUTES ago (wizard discarded, back to step 1); a PIN that breaks a rule
    (message on its field); a second Save while the first is being saved, or after (the result);
    otherwise the PIN is stored, any lock cleared, and step 1 used up."""
    wizard = WIZARDS[mode]
    endpoint = f"pin.{mode}_new"
    state = wizard.at(endpoint)
    minutes = current_app.config["PORTAL_STEP_UP_MINUTES"]
    if now() - datetime.fromisoformat(state.data["validated_at"]) > timedelta(minutes=minutes):
        wizard.discard()
        flash(f"More than {minutes} minutes passed since you validated your passcode. Please validate it again.",
              "info")
        return redirect(url_for(f"pin.{mode}"))
    form = NewPinForm(pin_factor.matches_current(current_user))
    if form.validate_on_submit():
        done = url_for(f"pin.{mode}_done")
        if wizard.claim(state):
            pin_factor.set_pin(current_user, form.pin.data, created=mode == "create")
            db.session.commit()
            wizard.finish(state, done)
        return redirect(done)
    return render_template("pin/new.html", mode=mode, title=TITLES[mode], form=form,
                           progress=state.progress(endpoint))


def _done(mode: str):
    state = WIZARDS[mode].current()
    if state is None or "finished" not in state.data:
        return redirect(url_for("epcs.index"))
    return render_template("pin/done.html", title=TITLES[mode], message=DONE[mode])


@bp.route("/create", methods=["GET", "POST"])
@login_required
@roles_required("provider")
def create():
    return _validate_passcode("create")


@bp.route("/create/new", methods=["GET", "POST"])
@login_required
@roles_required("provider")
def create_new():
    return _new_pin("create")


@bp.route("/create/done")
@login_required
@roles_required("provider")
def create_done():
    return _done("create")


@bp.route("/reset", methods=["GET", "POST"])
@login_required
@roles_required("provider")
def reset():
    return _validate_passcode("reset")


@bp.route("/reset/new", methods=["GET", "POST"])
@login_required
@roles_required("provider")
def reset_new():
    return _new_pin("reset")


@bp.route("/reset/done")
@login_required
@roles_required("provider")
def reset_done():
    return _done("reset")
