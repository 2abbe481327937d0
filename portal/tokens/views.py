"""EPCS Device Management (/tokens): Manage Phones → Authenticate, Manage Token → Add Token →
Token Status: Active; Resync token there, and at sign-in or step-up when a token ran ahead."""

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import audit, sessions
from ..clock import now
from ..devices.views import own_device
from ..extensions import db
from ..models import Device, HardwareToken
from ..second_factor import CODE_METHODS, MATCHERS, active_devices, check_code, method_of
from . import bp, service
from .forms import AddTokenForm, AuthenticateChoiceForm, OneTimePasswordForm, ResyncForm, TokenCodesForm

# Text/call flows plug in here: device kind -> send(device, channel) that sends a one-time password
# to that phone by "sms" or "voice". Authenticate then offers "Phone call" and "SMS text message" for
# each such device and checks the code with check_code, as for any other device.
PHONE_SENDERS: dict[str, Callable[[Device, str], None]] = {}
PHONE_CHANNELS = (("voice", "Phone call"), ("sms", "SMS text message"))

ADD_TOKEN_STEPS = ("Authenticate", "Add Token", "Token Status")
PURPOSE_ENDPOINTS = {"sign_in": "auth.choose_method", "step_up": "auth.step_up"}


def _progress(number: int) -> dict:
    return {"number": number, "total": len(ADD_TOKEN_STEPS), "title": ADD_TOKEN_STEPS[number - 1],
            "titles": list(ADD_TOKEN_STEPS)}


def _tokens_of(user) -> list[tuple[Device, HardwareToken]]:
    return list(db.session.execute(
        select(Device, HardwareToken).join(HardwareToken, HardwareToken.serial == Device.token_serial)
        .where(Device.user_id == user.id, Device.kind == "hardware", Device.status.in_(("active", "suspended")),
               HardwareToken.user_id == user.id)
        .order_by(Device.added_at, Device.id)).all())


def _hardware_device(device_id: int) -> Device:
    device = own_device(device_id)
    if device.kind != "hardware":
        abort(404)
    return device


@bp.route("")
@login_required
def index():
    ls = current_user.login_session
    return render_template("tokens/index.html", tokens=_tokens_of(current_user),
                           authenticated=sessions.is_fresh(ls))


# ---- Manage Phones: Authenticate ----

def _masked(phone: str | None) -> str:
    return f"(***) ***-*{(phone or '')[-3:]}"


def _authenticate_options(user) -> list[tuple[str, str]]:
    """(value, label): each phone by call and by text, and each other device that shows a code."""
    options = []
    for device in active_devices(user):
        if device.kind in PHONE_SENDERS:
            options += [(f"{device.id}:{channel}", f"{label} to {_masked(device.phone)}")
                        for channel, label in PHONE_CHANNELS]
        elif device.kind in MATCHERS and method_of(device).slug in CODE_METHODS:
            options.append((str(device.id), f"{device.name} ({method_of(device).label})"))
    return options


@bp.route("/authenticate", methods=["GET", "POST"])
@login_required
def authenticate():
    """Cases: one device that shows codes (straight to its code); a choice (phone call, text,
    or a device); a phone chosen (the code is sent first)."""
    options = _authenticate_options(current_user)
    if len(options) == 1 and ":" not in options[0][0]:
        return redirect(url_for("tokens.authenticate_code", device_id=int(options[0][0])))
    form = AuthenticateChoiceForm(options)
    if form.validate_on_submit():
        device_id, _, channel = form.option.data.partition(":")
        device = own_device(int(device_id))
        if channel:
            PHONE_SENDERS[device.kind](device, channel)
        return redirect(url_for("tokens.authenticate_code", device_id=device.id, sent=channel or None))
    return render_template("tokens/authenticate.html", form=form, progress=_progress(1))


@bp.route("/authenticate/<int:device_id>", methods=["GET", "POST"])
@login_required
def authenticate_code(device_id: int):
    """One-Time Password Code: right (this sign-in is authenticated for the step-up window, back
    to EPCS Device Management) or refused (the message on the field, counted)."""
    device = own_device(device_id)
    if device.status != "active" or (device.kind not in PHONE_SENDERS and device.kind not in MATCHERS):
        abort(404)
    form = OneTimePasswordForm()
    if form.validate_on_submit():
        outcome = check_code(current_user, device, form.code.data, "tokens_authenticate")
        if outcome.ok:
            audit.record(db.session, "step_up", at=now(), actor_id=current_user.id, subject_id=current_user.id,
                         ip=sessions.client_ip(), detail=f"EPCS Device Management: {device.name}")
            sessions.mark_second_factor(current_user.login_session, device)
            flash("You are authenticated. You can now add a token.", "success")
            return redirect(url_for("tokens.index"))
        form.code.errors.append(outcome.message)
    return render_template("tokens/authenticate_code.html", form=form, device=device, progress=_progress(1),
                           sent=request.args.get("sent"), masked=_masked(device.phone))


# ---- Manage Token: Add Token, Token Status, Resync token ----

@bp.route("/add", methods=["GET", "POST"])
@login_required
def add():
    """Cases: not authenticated within the step-up window (to Authenticate); bad serial or codes
    (message on the field, the serial kept, codes never re-shown); synced (or the same Submit
    again): Token Status."""
    if not sessions.is_fresh(current_user.login_session):
        flash("Authenticate first: get a one-time password, then add your token.", "info")
        return redirect(url_for("tokens.authenticate"))
    form = AddTokenForm()
    if form.validate_on_submit():
        outcome = service.sync(current_user, form.normalised_serial, form.first.data, form.second.data,
                               purpose="add_token", repeat_is_done=True)
        if outcome.ok:
            return redirect(url_for("tokens.status", device_id=outcome.device.id))
        _show(form, outcome)
    return render_template("tokens/add.html", form=form, progress=_progress(2))


def _show(form, outcome: service.SyncOutcome) -> None:
    field = getattr(form, outcome.field, None) if outcome.field else None
    (field or form.first).errors.append(outcome.message)


@bp.route("/<int:device_id>")
@login_required
def status(device_id: int):
    device = _hardware_device(device_id)
    return render_template("tokens/status.html", device=device, progress=_progress(3))


@bp.route("/<int:device_id>/resync", methods=["GET", "POST"])
@login_required
def resync(device_id: int):
    """Two consecutive codes resync the token; the same two again (a second click) show the status."""
    device = _hardware_device(device_id)
    form = TokenCodesForm()
    if form.validate_on_submit():
        outcome = service.resync(current_user, device, form.first.data, form.second.data, purpose="resync",
                                 repeat_is_done=True)
        if outcome.ok:
            flash(f"{device.name} is in step again.", "success")
            return redirect(url_for("tokens.status", device_id=device.id))
        _show(form, outcome)
    return render_template("tokens/resync.html", form=form, device=device, devices=[device], purpose=None,
                           back=url_for("tokens.index"))


# ---- Resync token at sign-in and step-up ----

def _context(purpose: str):
    """(user, login session, None) for this verification, or (None, None, a redirect)."""
    if purpose == "sign_in":
        if current_user.is_authenticated:
            return None, None, redirect(url_for("devices.security"))
        ls = sessions.pending()
        if ls is None:
            flash("Please sign in.", "info")
            return None, None, redirect(url_for("auth.login"))
        return ls.user, ls, None
    return current_user, current_user.login_session, None


def resync_and_verify(purpose: str):
    """Resync token as the second factor. Cases: no active hardware token (back to the methods);
    refused (message on the field, counted); resynced: the sign-in completes, or the step-up is
    marked fresh, and on to where the user was going. A replayed pair never passes here."""
    user, ls, detour = _context(purpose)
    if detour:
        return detour
    devices = active_devices(user, ("hardware",))
    only = request.args.get("device", type=int)
    if only is not None:
        devices = [d for d in devices if d.id == only]
    if not devices:
        flash("You have no Hardware Token set up. Choose another method.", "info")
        return redirect(url_for(PURPOSE_ENDPOINTS[purpose]))
    form = ResyncForm(devices)
    next_path = sessions.safe_next(request.args.get("next"))
    if form.validate_on_submit():
        device = next(d for d in devices if str(d.id) == form.device.data)
        outcome = service.resync(user, device, form.first.data, form.second.data, purpose=purpose)
        if not outcome.ok:
            _show(form, outcome)
        elif purpose == "sign_in":
            audit.record(db.session, "sign_in", at=now(), actor_id=user.id, subject_id=user.id,
                         ip=sessions.client_ip(), detail=f"Hardware Token: {device.name} (resynced)")
            sessions.complete_sign_in(ls, "full", device)
            flash(f"Your token is in step again. Signed in with {device.name}.", "success")
            return redirect(session.pop(sessions.NEXT_KEY, None) or url_for("devices.security"))
        else:
            audit.record(db.session, "step_up", at=now(), actor_id=user.id, subject_id=user.id,
                         ip=sessions.client_ip(), detail=f"Hardware Token: {device.name} (resynced)")
            sessions.mark_second_factor(ls, device)
            flash("Your token is in step again.", "success")
            return redirect(next_path or url_for("devices.security"))
    back_endpoint = "auth.verify_code" if purpose == "sign_in" else "auth.step_up_code"
    return render_template("tokens/resync.html", form=form, devices=devices, device=None, purpose=purpose,
                           back=url_for(back_endpoint, method="hardware-token", next=next_path, device=only))


bp.add_url_rule("/sign-in/resync", "resync_sign_in", resync_and_verify, defaults={"purpose": "sign_in"},
                methods=["GET", "POST"])
bp.add_url_rule("/verify/resync", "resync_step_up", login_required(resync_and_verify),
                defaults={"purpose": "step_up"}, methods=["GET", "POST"])
