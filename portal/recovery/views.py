"""Lost your device?, the recovery link, and the recovery wizard:

Confirm your e-mail (the link) → Verify your identity → Scan QR code → Confirm your device →
Name your device → Enter your password. The link signs the browser in as a *recovering* session,
which opens only these pages (access.py); the wizard keeps its state like every other wizard, and
its Scan, Confirm and Name steps are the code generator's own (devices/steps.py).
"""

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import access, audit, device_actions, links, mfa_recovery, otp, sessions
from ..clock import now
from ..devices.steps import SCAN_STEPS, confirm_step, name_step, pending_secret, scan_step
from ..extensions import db
from ..forms import EmptyForm
from ..passwords import authenticate
from ..prescription import parse_dob
from ..wizard import Step, Wizard
from . import bp
from .forms import EmailForm, IdentityForm, PasswordForm

RECOVERY = Wizard("recovery", [
    Step("recovery.link", "Confirm your e-mail"),
    Step("recovery.identity", "Verify your identity"),
    Step("recovery.scan", "Scan QR code", sealed=True),
    Step("recovery.confirm", "Confirm your device"),
    Step("recovery.name", "Name your device"),
    Step("recovery.password", "Enter your password"),
], start_over="recovery.start", not_started="Your recovery has expired. Ask for a new link to start again.")
SCAN_STEPS["recovery.scan"] = RECOVERY
WRONG_PASSWORD = "That password is not right."
DONE_KEY = "recovered"  # the Flask session's note, after the end, that this browser just recovered


def _end_recovering_session() -> None:
    """Sign out a recovery in progress in this browser (a new one starts, or it is abandoned)."""
    if current_user.is_authenticated:
        sessions.revoke(current_user.login_session)


@bp.route("/login/lost", methods=["GET", "POST"])
def start():
    """Lost your device?: the e-mail address. Cases: not an address (message on the field, kept);
    otherwise the same answer whether or not the address is ours."""
    form = EmailForm()
    if form.validate_on_submit():
        if current_user.is_authenticated and current_user.login_session.stage == access.RECOVERING:
            _end_recovering_session()
        mfa_recovery.request_link(form.email.data)
        return redirect(url_for("recovery.sent"))
    return render_template("recovery/start.html", form=form)


@bp.route("/login/lost/sent")
def sent():
    return render_template("recovery/sent.html", message=mfa_recovery.SAME_ANSWER.format(
        minutes=current_app.config["PORTAL_RECOVERY_LINK_MINUTES"]))


@bp.route("/recover/<token>", methods=["GET", "POST"])
def link(token: str):
    """Confirm your e-mail. Opening the link changes nothing (mail scanners open links); Continue
    uses it. Cases: unknown, expired or used (say so, and offer a new link); recovery locked (say
    until when); otherwise the link is used up, this browser becomes a recovering session for its
    account (any sign-in here ends), and the wizard starts."""
    found = links.find(token, mfa_recovery.LINK)
    if links.state(found) != "ok":
        return render_template("recovery/link_invalid.html"), 410 if found is not None else 404
    user = found.user
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("recovery/link.html", form=form, progress=RECOVERY.preview("recovery.link"))
    if not links.use(found):
        db.session.rollback()
        return render_template("recovery/link_invalid.html"), 410
    until = mfa_recovery.locked_until(user)
    if until is not None or not user.is_active_user:
        db.session.commit()
        return render_template("recovery/locked.html", until=until), 403
    _end_recovering_session()
    ls, session_token = sessions.start(user, access.RECOVERING)
    audit.record(db.session, "recovery_link_used", at=now(), actor_id=user.id, subject_id=user.id,
                 ip=sessions.client_ip(), detail="e-mail confirmed; recovery started")
    db.session.commit()
    session.clear()
    user.session_token = session_token
    user.login_session = ls
    login_user(user)
    state = RECOVERY.begin(has_primary=False)
    return redirect(state.done("recovery.link"))


@bp.route("/recover")
def resume():
    """Where a recovering session stands (the guard sends it here from any other page)."""
    if not current_user.is_authenticated or current_user.login_session.stage != access.RECOVERING:
        return redirect(url_for("recovery.start"))
    state = RECOVERY.current()
    if state is None or "finished" in state.data:
        _end_recovering_session()
        flash(RECOVERY.not_started, "info")
        return redirect(url_for("recovery.start"))
    steps = state.steps
    return redirect(url_for(steps[min(state.row.step, len(steps) - 1)].endpoint))


def _recovering():
    """A detour for anyone here without a recovery under way."""
    if not current_user.is_authenticated or current_user.login_session.stage != access.RECOVERING:
        flash("Open the link in your recovery e-mail to continue.", "info")
        return redirect(url_for("recovery.start"))
    return None


@bp.route("/recover/identity", methods=["GET", "POST"])
def identity():
    """Verify your identity. Cases: an answer in the wrong form (message on its field, nothing
    counted); the answers do not match (one message for all, counted); recovery locks (the session
    ends); they match (a new code generator secret, and on to scanning it)."""
    detour = _recovering()
    if detour:
        return detour
    state = RECOVERY.at("recovery.identity")
    form = IdentityForm()
    error = None
    if form.validate_on_submit():
        outcome = mfa_recovery.check_identity(current_user, form.first_name.data, form.last_name.data,
                                              parse_dob(form.dob.data), form.ssn_last4.data)
        if outcome.ok:
            state.data["secret"] = otp.secret_to_base32(otp.new_secret())
            return redirect(state.done("recovery.identity"))
        if outcome.locked:
            until = mfa_recovery.locked_until(current_user)
            _end_recovering_session()
            return render_template("recovery/locked.html", until=until), 403
        error = outcome.message
    return render_template("recovery/identity.html", form=form, error=error,
                           progress=state.progress("recovery.identity"))


@bp.route("/recover/scan", methods=["GET", "POST"])
def scan():
    return _recovering() or scan_step(RECOVERY, "recovery.scan")


@bp.route("/recover/confirm", methods=["GET", "POST"])
def confirm():
    return _recovering() or confirm_step(RECOVERY, "recovery.confirm", url_for("recovery.restart"))


@bp.route("/recover/restart", methods=["POST"])
def restart():
    """Start over with a new QR code: the identity check stays passed, the secret is new."""
    detour = _recovering()
    if detour:
        return detour
    RECOVERY.at("recovery.confirm")
    if EmptyForm().validate_on_submit():
        state = RECOVERY.begin(has_primary=False, secret=otp.secret_to_base32(otp.new_secret()))
        state.done("recovery.link")
        return redirect(state.done("recovery.identity"))
    return redirect(url_for("recovery.resume"))


@bp.route("/recover/name", methods=["GET", "POST"])
def name():
    def on_to_password(state, name: str, *, make_primary: bool):
        return redirect(state.done("recovery.name", name=name))

    return _recovering() or name_step(RECOVERY, "recovery.name", on_to_password)


@bp.route("/recover/password", methods=["GET", "POST"])
def password():
    """Enter your EPCS Portal password, then Activate. Cases: wrong (message; it counts as a wrong
    password at sign-in, with its lock); a second click while the first is handled (to the
    result); right (the new device is active, the others are suspended, every sign-in ends, and
    the user signs in with the new device)."""
    if session.get(DONE_KEY):  # a second click of Activate, after the first one ended the recovery
        return redirect(url_for("recovery.done"))
    detour = _recovering()
    if detour:
        return detour
    state = RECOVERY.at("recovery.password")
    device_name = state.value("recovery.name", "name")
    form = PasswordForm()
    if form.validate_on_submit():
        user = authenticate(current_user.username, form.password.data)
        if user is None:
            form.password.errors.append(WRONG_PASSWORD)
        elif not RECOVERY.claim(state):
            return redirect(url_for("recovery.done"))
        else:
            step = state.value("recovery.confirm", "step")
            if step is None or not device_name or device_actions.name_taken(user, device_name):
                RECOVERY.release(state)
                return redirect(url_for("recovery.name"))
            sealed = current_app.extensions["vault"].seal(pending_secret(state))
            mfa_recovery.complete(user, device_name, sealed, step)
            db.session.commit()
            RECOVERY.finish(state, url_for("recovery.done"))
            logout_user()
            session.clear()
            session[DONE_KEY] = True
            flash(f"{device_name} is active and is your primary device. Sign in with it now.", "success")
            return redirect(url_for("recovery.done"))
    return render_template("recovery/password.html", form=form, device_name=device_name,
                           progress=state.progress("recovery.password"))


@bp.route("/recover/done")
def done():
    """The end of a recovery (the browser is signed out: the user signs in with the new device)."""
    if not session.get(DONE_KEY):
        return redirect(url_for("auth.login"))
    return render_template("recovery/done.html")
