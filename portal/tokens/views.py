"""EPCS Device Management (/tokens): Manage Phones → Authenticate, Manage Token → Add Token →
Token Status: Active; Resync token there, and at sign-in or step-up when a token ran ahead."""

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import audit, sessions
from ..clock import now
from ..devices.views import own_device
from ..extensions import db
from ..factor_prompt import Prompt, way_of
from ..models import Device, HardwareToken
from ..phone_number import mask
from ..second_factor import active_devices, allowed_kinds, method_of
from . import bp, service
from .forms import AddTokenForm, AuthenticateChoiceForm, OneTimePasswordForm, ResyncForm, TokenCodesForm

PHONE_CHANNELS = (("voice", "Phone call"), ("sms", "SMS text message"))
PURPOSE = "manage_tokens"  # what the phone shows for a push request or a code asked for here: Add a hardware token

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
                           authenticated=sessions.is_fresh(ls), first_device=_first_device())


def _first_device() -> bool:
    """A user with no active device adds a token without Authenticate (there is nothing to
    authenticate with): the sync's two consecutive codes from an unassigned token of the
    practice's inventory prove possession, as a first code generator's confirmation code does."""
    return not sessions.has_active_device(current_user)


# ---- Manage Phones: Authenticate ----

def _authenticate_options(user) -> list[tuple[str, str]]:
    """(value, label): each text/call phone by call and by text ("id:voice", "id:sms"), then each
    other device — a code generator or token (its code) or a push phone (an approval)."""
    devices = [d for d in active_devices(user) if d.kind in allowed_kinds(PURPOSE)]
    phones = [(f"{d.id}:{channel}", f"{label} to {mask(d.phone)}")
              for d in devices if way_of(d) == "text" for channel, label in PHONE_CHANNELS]
    return phones + [(str(d.id), f"{d.name} ({method_of(d).label})") for d in devices if way_of(d) != "text"]


@bp.route("/authenticate", methods=["GET", "POST"])
@login_required
def authenticate():
    """Cases: one device that shows codes (straight to its code); a choice (phone call, text,
    or a device); a phone chosen (the code is sent first) or a push phone (the request is sent
    first), or why not (a limit, a failing sender: the message on the choice)."""
    options = _authenticate_options(current_user)
    if len(options) == 1 and ":" not in options[0][0] and way_of(own_device(int(options[0][0]))) == "code":
        return redirect(url_for("tokens.authenticate_code", device_id=int(options[0][0])))
    form = AuthenticateChoiceForm(options)
    if form.validate_on_submit():
        device_id, _, channel = form.option.data.partition(":")
        device = own_device(int(device_id))
        prompt = Prompt.here(PURPOSE, device)
        error = None
        if channel:
            error = prompt.send(channel)
        elif prompt.way == "push":
            _, error = prompt.push()
        if error is None:
            return redirect(url_for("tokens.authenticate_code", device_id=device.id))
        form.option.errors.append(error)
    return render_template("tokens/authenticate.html", form=form, progress=_progress(1))


@bp.route("/authenticate/<int:device_id>", methods=["GET", "POST"])
@login_required
def authenticate_code(device_id: int):
    """One-Time Password Code (or, for a push phone, its approval): right (this sign-in is
    authenticated for the step-up window, back to EPCS Device Management) or refused (the
    message on the field, counted); the factor step's own buttons (Send it again, Send a new
    request) and Check again change nothing else."""
    device = own_device(device_id)
    if device.status != "active" or device.kind not in allowed_kinds(PURPOSE):
        abort(404)
    prompt = Prompt.here(PURPOSE, device)
    form = OneTimePasswordForm()
    if request.method == "POST":
        if prompt.act():
            return redirect(url_for("tokens.authenticate_code", device_id=device.id))
        if prompt.way == "push":  # Check again, or the page's polling
            if prompt.verify().ok:
                return _authenticated(device)
            if prompt.repeated() and sessions.is_fresh(current_user.login_session, device.id):  # a second click
                return redirect(url_for("tokens.index"))
            return redirect(url_for("tokens.authenticate_code", device_id=device.id, result=1))
    if form.validate_on_submit():
        outcome = prompt.verify(form.code.data)
        if outcome.ok:
            return _authenticated(device)
        form.code.errors.append(outcome.message)
    return render_template("tokens/authenticate_code.html", form=form, device=device, prompt=prompt.view(),
                           progress=_progress(1))


def _authenticated(device: Device):
    audit.record(db.session, "step_up", at=now(), actor_id=current_user.id, subject_id=current_user.id,
                 ip=sessions.client_ip(), detail=f"EPCS Device Management: {device.name}")
    sessions.mark_second_factor(current_user.login_session, device)
    flash("You are authenticated. You can now add a token.", "success")
    return redirect(url_for("tokens.index"))


# ---- Manage Token: Add Token, Token Status, Resync token ----

@bp.route("/add", methods=["GET", "POST"])
@login_required
def add():
    """Cases: not authenticated within the step-up window, unless this is the user's first device
    (to Authenticate); bad serial or codes (message on the field, the serial kept, codes never
    re-shown); synced (or the same Submit again): Token Status."""
    if not sessions.is_fresh(current_user.login_session) and not _first_device():
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
