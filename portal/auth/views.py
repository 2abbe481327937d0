"""Sign in (password, then a second factor), step-up, sign out."""

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from .. import audit, sessions
from ..clock import now
from ..extensions import db
from ..forms import EmptyForm
from ..models import Device, LoginSession, User
from ..passwords import authenticate
from ..second_factor import (
    CODE_METHODS,
    METHODS_BY_SLUG,
    Method,
    active_devices,
    available_methods,
    check_code,
    digits_for,
)
from . import bp
from .forms import CodeForm, LoginForm

WRONG_SIGN_IN = "The username or password is not right."
NEEDS_RECOVERY = ("Your last device was reported lost. Choose Lost your device? below to set up a new one, or ask "
                  "your practice admin.")
ENDPOINTS = {"sign_in": ("auth.choose_method", "auth.verify_code"),
             "step_up": ("auth.step_up", "auth.step_up_code")}


@bp.route("/")
def index():
    return redirect(url_for("devices.security") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Password first. Cases: already signed in (go on); wrong or locked (one message for
    all); no active device because the last one was reported lost (to recovery); no active
    device yet (signed in to set one up); otherwise on to the second factor."""
    if current_user.is_authenticated:
        return redirect(url_for("devices.security"))
    form = LoginForm()
    if request.method == "GET" and request.args.get("next"):
        session[sessions.NEXT_KEY] = sessions.safe_next(request.args["next"])
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            form.password.errors.append(WRONG_SIGN_IN)
            return render_template("auth/login.html", form=form), 200
        if sessions.has_active_device(user):
            _, token = sessions.start(user, "password")
            db.session.commit()
            after = session.get(sessions.NEXT_KEY)
            session.clear()
            session[sessions.PENDING_KEY] = token
            if after:
                session[sessions.NEXT_KEY] = after
            return redirect(url_for("auth.choose_method"))
        if user.recovery_required_at is not None:
            form.password.errors.append(NEEDS_RECOVERY)
            return render_template("auth/login.html", form=form), 200
        ls, _ = sessions.start(user, "enrolling")
        audit.record(db.session, "sign_in", at=now(), actor_id=user.id, subject_id=user.id, ip=sessions.client_ip(),
                     detail="password only: no device set up yet")
        sessions.complete_sign_in(ls, "enrolling", None)
        flash("Welcome. Before anything else, set up a device for your second factor.", "info")
        return redirect(url_for("devices.first_device"))
    return render_template("auth/login.html", form=form)


def _context(purpose: str):
    """(user, login session) for this verification, or a redirect."""
    if purpose == "sign_in":
        if current_user.is_authenticated:
            return None, None, redirect(_destination())
        ls = sessions.pending()
        if ls is None:
            flash("Please sign in.", "info")
            return None, None, redirect(url_for("auth.login"))
        return ls.user, ls, None
    if not current_user.is_authenticated:
        return None, None, redirect(url_for("auth.login", next=request.full_path))
    return current_user, current_user.login_session, None


def _destination() -> str:
    return session.pop(sessions.NEXT_KEY, None) or url_for("devices.security")


def choose_method(purpose: str):
    """"Complete your sign in": one choice per method the user has active."""
    user, ls, detour = _context(purpose)
    if detour:
        return detour
    methods = available_methods(user)
    code_endpoint = ENDPOINTS[purpose][1]
    return render_template("auth/choose_method.html", methods=methods, purpose=purpose, code_endpoint=code_endpoint,
                           next=sessions.safe_next(request.args.get("next")),
                           only_device=request.args.get("device", type=int))


@dataclass(frozen=True)
class Verification:
    """One second-factor check under way (sign-in or step-up): whose, for which login session,
    with which method, and where to go after. Views of other methods (METHOD_VIEWS) get one."""

    purpose: str
    user: User
    ls: LoginSession
    method: Method
    next_path: str | None
    only_device: int | None

    def devices(self) -> list[Device]:
        devices = active_devices(self.user, self.method.kinds)
        if self.only_device is not None:
            devices = [d for d in devices if d.id == self.only_device]
        return devices

    def url(self, **params) -> str:
        """This method's page again (for a redirect after a POST)."""
        return url_for(ENDPOINTS[self.purpose][1], method=self.method.slug, next=self.next_path,
                       device=self.only_device, **params)

    @property
    def back(self) -> str:
        return url_for(ENDPOINTS[self.purpose][0], next=self.next_path)

    def passed(self, device: Device):
        """The second factor was verified with `device`: the sign-in completes (opening on any
        warnings, e.g. a denied push request), or the step-up is marked fresh."""
        if self.purpose == "sign_in":
            warnings = [message for check in SIGN_IN_WARNINGS for message in check(self.user)]
            audit.record(db.session, "sign_in", at=now(), actor_id=self.user.id, subject_id=self.user.id,
                         ip=sessions.client_ip(), detail=f"{self.method.label}: {device.name}")
            sessions.complete_sign_in(self.ls, "full", device)
            for message in warnings:
                flash(message, "warning")
            flash(f"Signed in with {device.name}.", "success")
            return redirect(_destination())
        audit.record(db.session, "step_up", at=now(), actor_id=self.user.id, subject_id=self.user.id,
                     ip=sessions.client_ip(), detail=f"{self.method.label}: {device.name}")
        sessions.mark_second_factor(self.ls, device)
        return redirect(self.next_path or url_for("devices.security"))


    def repeated(self):
        """For a second click of a button that already passed: a step-up still fresh goes where the
        first click went; None otherwise."""
        if self.purpose == "step_up" and sessions.is_fresh(self.ls):
            return redirect(self.next_path or url_for("devices.security"))
        return None


# method slug -> view(verification, devices) for the methods that are not "type the code your
# device shows" (text/call, push); registered by their own blueprints
METHOD_VIEWS: dict = {}
# callables user -> [message], read just before a sign-in completes; shown as warnings after it
SIGN_IN_WARNINGS: list = []


def verify_code(purpose: str, method: str):
    """Device (primary preselected) and code. Cases: unknown method (404); a method with its own
    view (METHOD_VIEWS); wrong, malformed, replayed or waiting (message on the field, counted as
    the rules say); right: sign-in completes, or the step-up is marked fresh, and on to where the
    user was going."""
    user, ls, detour = _context(purpose)
    if detour:
        return detour
    m = METHODS_BY_SLUG.get(method)
    if m is None or (m.slug not in CODE_METHODS and m.slug not in METHOD_VIEWS):
        return render_template("errors/error.html", code=404, title="Not Found",
                               message="There is no such sign-in method."), 404
    verification = Verification(purpose, user, ls, m, sessions.safe_next(request.args.get("next")),
                                request.args.get("device", type=int))
    devices = verification.devices()
    if not devices:
        flash(f"You have no {m.label} set up. Choose another method.", "info")
        return redirect(url_for(ENDPOINTS[purpose][0]))
    if m.slug in METHOD_VIEWS:
        return METHOD_VIEWS[m.slug](verification, devices)
    digits = max(digits_for(d) for d in devices)
    form = CodeForm(devices, digits)
    if form.validate_on_submit():
        device = next(d for d in devices if str(d.id) == form.device.data)
        outcome = check_code(user, device, form.code.data, purpose)
        if outcome.ok:
            return verification.passed(device)
        form.code.errors.append(outcome.message)
    return render_template("auth/verify_code.html", form=form, method=m, purpose=purpose, devices=devices,
                           back=verification.back, next=verification.next_path)


bp.add_url_rule("/login/verify", "choose_method", choose_method, defaults={"purpose": "sign_in"})
bp.add_url_rule("/login/verify/<method>", "verify_code", verify_code, defaults={"purpose": "sign_in"},
                methods=["GET", "POST"])
bp.add_url_rule("/verify", "step_up", login_required(choose_method), defaults={"purpose": "step_up"})
bp.add_url_rule("/verify/<method>", "step_up_code", login_required(verify_code), defaults={"purpose": "step_up"},
                methods=["GET", "POST"])


@bp.route("/logout", methods=["POST"])
def logout():
    form = EmptyForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        audit.record(db.session, "sign_out", at=now(), actor_id=current_user.id, subject_id=current_user.id,
                     ip=sessions.client_ip())
        db.session.commit()
        sessions.revoke(current_user.login_session)
    elif sessions.pending() is not None:
        sessions.revoke(sessions.pending())
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
