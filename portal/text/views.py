"""Text Message or Phone Call: the set-up wizard (number, code, name, primary) and the text/call
page of sign-in and step-up."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import device_actions, otp, sessions, training_phone
from ..auth.views import METHOD_VIEWS, Verification
from ..challenges import (
    Refused,
    check_setup_code,
    code_state,
    latest_code,
    next_send_in,
    send_code,
)
from ..devices.forms import ConfirmCodeForm
from ..devices.steps import name_step, primary_step
from ..devices.views import SETUP_ENDPOINTS
from ..forms import EmptyForm
from ..phone_number import mask, pretty
from ..second_factor import check_code
from ..wizard import Step, Wizard
from . import bp
from .forms import PhoneForm, SendCodeForm, number_problem

TEXT_CALL = Wizard("text_call", [
    Step("text.intro", "Phone number"),
    Step("text.confirm", "Confirm your device"),
    Step("text.name", "Name your device"),
    Step("text.primary", "Primary device", optional="has_primary"),
], start_over="text.intro")

SETUP_CODE_MESSAGES = {
    "wrong": "That code is not right. Check the message and try again.",
    "expired": "This code has expired or was tried too many times. Choose Send it again for a new one.",
    "replayed": "That code was already used. Choose Send it again for a new one.",
}

SETUP_ENDPOINTS["text"] = "text.intro"
# a new provider may make a text/call phone their first device
sessions.ENROLLING_ENDPOINTS.update({"text.intro", "text.confirm", "text.resend", "text.name", "text.primary"})


@bp.app_template_filter("masked_phone")
def masked_phone(e164: str) -> str:
    return mask(e164)


# ---- the set-up wizard ----

@bp.route("/security/text", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def intro():
    """Step 1: the number and Text me / Call me. Cases: a bad number (message on the field, what
    was typed kept); a limit reached or the sender failed (message, nothing started); sent (on to
    the code)."""
    has_primary = sessions.has_active_device(current_user)
    form = PhoneForm(current_user)
    if form.validate_on_submit():
        channel = "voice" if form.call_me.data else "sms"
        try:
            send_code(current_user, channel, form.e164, "setup", current_user.login_session)
        except Refused as exc:
            form.phone.errors.append(exc.message)
        else:
            state = TEXT_CALL.begin(phone=form.e164, channel=channel, has_primary=has_primary)
            return redirect(state.done("text.intro"))
    training = training_phone.for_user(current_user) if current_app.config["PORTAL_DEMO"] else None
    return render_template("text/intro.html", form=form,
                           progress=TEXT_CALL.preview("text.intro", has_primary=has_primary),
                           training_number=pretty(training.number) if training else None)


@bp.route("/security/text/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    """The code sent in step 1. Cases: wrong (counted on the code, which stops after 5), expired
    or used (Send it again); right (on to naming)."""
    state = TEXT_CALL.at("text.confirm")
    ls = current_user.login_session
    challenge = latest_code(ls, purpose="setup", phone=state.data["phone"])
    form = ConfirmCodeForm()
    if form.validate_on_submit():
        code = form.code.data
        if not otp.is_well_formed(code):
            form.code.errors.append("Enter the 6-digit code, digits only.")
        else:
            result = check_setup_code(challenge, code) if challenge else "expired"
            if result == "ok":
                return redirect(state.done("text.confirm", challenge=challenge.id))
            form.code.errors.append(SETUP_CODE_MESSAGES[result])
    return render_template("text/confirm.html", form=form, resend=EmptyForm(), progress=state.progress("text.confirm"),
                           masked=mask(state.data["phone"]), channel=challenge.channel if challenge else "sms",
                           expired=challenge is None or code_state(challenge) == "expired",
                           wait=next_send_in(current_user.login_session))


@bp.route("/security/text/resend", methods=["POST"])
@login_required
def resend():
    """Send it again, the same way, to the same number (at most once every 30 seconds, 5 an hour)."""
    state = TEXT_CALL.at("text.confirm")
    if EmptyForm().validate_on_submit():
        try:
            send_code(current_user, state.data["channel"], state.data["phone"], "setup", current_user.login_session)
        except Refused as exc:
            flash(exc.message, "error")
        else:
            flash("We sent you a new code. Only the newest code works.", "success")
    return redirect(url_for("text.confirm"))


@bp.route("/security/text/name", methods=["GET", "POST"])
@login_required
def name():
    return name_step(TEXT_CALL, "text.name", _finish)


@bp.route("/security/text/primary", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def primary():
    return primary_step(TEXT_CALL, "text.primary", "text.name", _finish)


def _finish(state, device_name: str, *, make_primary: bool):
    """The last step re-checks everything (the number may have been taken meanwhile), then writes
    the device."""
    phone = state.data["phone"]
    if state.value("text.confirm", "challenge") is None or not device_name \
            or device_actions.name_taken(current_user, device_name):
        return redirect(url_for("text.name"))
    problem = number_problem(current_user, phone)
    if problem:
        TEXT_CALL.discard()
        flash(problem, "error")
        return redirect(url_for("text.intro"))
    device = device_actions.add(current_user, state.data["channel"], device_name, make_primary=make_primary,
                                phone=phone)
    done = url_for("devices.cg_done", device_id=device.id)
    TEXT_CALL.finish(state, done)
    return redirect(done)


# ---- text/call at sign-in and step-up ----

def verify(v: Verification, devices):
    """Text/call at sign-in and step-up. Cases: nothing sent yet in this session, or ?change=1
    (choose the phone, Text me or Call me); a code sent (enter it; Send it again after 30
    seconds, at most 5 an hour); a wrong, expired or used code (message, counted by check_code);
    the right code (signed in, or step-up fresh); a limit or a sender failure (message)."""
    ids = [d.id for d in devices]
    latest = latest_code(v.ls, purpose=v.purpose, device_ids=ids)
    choice = SendCodeForm(devices)
    form = ConfirmCodeForm()
    action = request.form.get("send")
    if request.method == "POST" and action is not None:
        if choice.validate_on_submit():
            again = action == "again" and latest is not None
            device = latest.device if again else next(d for d in devices if str(d.id) == choice.device.data)
            channel = latest.channel if again else ("voice" if action == "voice" else "sms")
            try:
                send_code(v.user, channel, device.phone, v.purpose, v.ls, device=device)
            except Refused as exc:
                flash(exc.message, "error")
            else:
                if again:
                    flash("We sent you a new code. Only the newest code works.", "success")
            return redirect(v.url())
    elif form.validate_on_submit():
        if latest is None or code_state(latest) == "used":  # no code outstanding: a stale or repeated form
            return v.repeated() or redirect(v.url())
        outcome = check_code(v.user, latest.device, form.code.data, v.purpose)
        if outcome.ok:
            return v.passed(latest.device)
        form.code.errors.append(outcome.message)
    showing_code = latest is not None and code_state(latest) != "used" and not request.args.get("change")
    return render_template("text/verify.html", v=v, devices=devices, choice=choice, form=form,
                           showing_code=showing_code, challenge=latest,
                           masked=mask(latest.phone) if latest else mask(devices[0].phone),
                           expired=latest is not None and code_state(latest) == "expired",
                           wait=next_send_in(v.ls))


METHOD_VIEWS["text"] = verify
