"""Push Notification: the set-up wizard (pair a phone by QR code, approve once, name it), the
push page of sign-in and step-up, and the request status that the computer's page polls."""

from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import update

from .. import device_actions, sessions
from ..auth.views import METHOD_VIEWS, SIGN_IN_WARNINGS, Verification
from ..challenges import (
    Refused,
    consume_approval,
    denial_warnings,
    latest_push,
    push_state,
    request_session,
    session_push_request,
    start_push,
)
from ..devices.steps import name_step, primary_step
from ..devices.views import SETUP_ENDPOINTS
from ..extensions import db
from ..forms import EmptyForm
from ..models import Challenge, LoginSession, PushPairing
from ..pairing import link_state, new_link
from ..qr import qr_svg
from ..wizard import Step, Wizard
from . import bp
from .forms import PushForm

PUSH = Wizard("push", [
    Step("push.intro", "Set up push notifications"),
    Step("push.scan", "Scan QR code", sealed=True),
    Step("push.confirm", "Confirm your device"),
    Step("push.name", "Name your device"),
    Step("push.primary", "Primary device", optional="has_primary"),
], start_over="push.intro")

NOT_PAIRED_YET = ("Your phone is not paired yet. Scan the QR code with your phone's camera, open the link and "
                  "tap Pair this phone, then Continue.")
QR_EXPIRED = "This QR code has expired. Start over for a new one."

SETUP_ENDPOINTS["push"] = "push.intro"
# a new provider may make push their first device (the request status is what its pages poll)
sessions.ENROLLING_ENDPOINTS.update({"push.intro", "push.scan", "push.scan_status", "push.confirm", "push.name",
                                     "push.primary", "push.request_status"})
SIGN_IN_WARNINGS.append(denial_warnings)


# ---- the set-up wizard ----

@bp.route("/security/push", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def intro():
    """Step 1 explains; Continue makes the one-time pairing link (once per wizard run)."""
    has_primary = sessions.has_active_device(current_user)
    form = EmptyForm()
    if form.validate_on_submit():
        pairing, token = new_link(current_user, current_user.login_session)
        state = PUSH.begin(pairing_id=pairing.id, token=token, has_primary=has_primary)
        return redirect(state.done("push.intro"))
    return render_template("push/intro.html", form=form, minutes=current_app.config["PORTAL_PAIRING_MINUTES"],
                           progress=PUSH.preview("push.intro", has_primary=has_primary))


def _pairing(state) -> PushPairing:
    return db.session.get(PushPairing, state.data["pairing_id"])


@bp.route("/security/push/scan", methods=["GET", "POST"])
@login_required
def scan():
    """The QR code of the pairing link. Cases: the phone has paired (Continue moves on, and the
    link is never shown again); not yet (message); the link expired (start over)."""
    state = PUSH.at("push.scan")
    pairing = _pairing(state)
    status = link_state(pairing)
    form = EmptyForm()
    error = None
    if form.validate_on_submit():
        if status == "paired":
            state.data.pop("token", None)
            return redirect(state.done("push.scan"))
        error = NOT_PAIRED_YET if status == "waiting" else QR_EXPIRED
    link = url_for("phone.pair_page", token=state.data["token"], _external=True)
    return render_template("push/scan.html", form=form, restart=EmptyForm(), status=status, error=error,
                           progress=state.progress("push.scan"), link=link,
                           qr=qr_svg(link, "QR code that pairs your phone") if status == "waiting" else None,
                           minutes=current_app.config["PORTAL_PAIRING_MINUTES"])


@bp.route("/security/push/scan/status")
@login_required
def scan_status():
    """JSON for the scan page's polling: waiting, paired or expired."""
    state = PUSH.current()
    if state is None or "pairing_id" not in state.data:
        return jsonify(error="There is no pairing under way."), 404
    return jsonify(status=link_state(_pairing(state)))


@bp.route("/security/push/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    """The first approval: the paired phone answers a request. Cases: approved (used once, on to
    naming); pending (Check again); denied or expired (Send a new request); too many waiting."""
    state = PUSH.at("push.confirm")
    pairing = _pairing(state)
    ls = current_user.login_session
    form = PushForm()
    challenge = error = None
    if form.validate_on_submit():
        if form.new.data:
            challenge, error = _send(current_user, "setup", ls, pairing_id=pairing.id)
            if not error:
                return redirect(url_for("push.confirm"))
        else:
            challenge = session_push_request(request.form.get("challenge"), ls)
            if challenge is not None and challenge.pairing_id == pairing.id \
                    and consume_approval(challenge, ls, purpose="setup"):
                return redirect(state.done("push.confirm", challenge=challenge.id))
            return redirect(url_for("push.confirm", result=1))
    else:
        latest = latest_push(ls, purpose="setup", pairing_id=pairing.id)
        challenge, error = (latest, None) if _still_showing(latest) else _send(current_user, "setup", ls,
                                                                              pairing_id=pairing.id)
    return render_template("push/confirm.html", form=form, progress=state.progress("push.confirm"),
                           challenge=challenge, state=push_state(challenge) if challenge else None, error=error,
                           device_name="your phone")


@bp.route("/security/push/name", methods=["GET", "POST"])
@login_required
def name():
    return name_step(PUSH, "push.name", _finish)


@bp.route("/security/push/primary", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def primary():
    return primary_step(PUSH, "push.primary", "push.name", _finish)


def _finish(state, device_name: str, *, make_primary: bool):
    """The last step re-checks everything, writes the device with the phone's credential hash,
    and hands the credential from the pairing to the device (once: a conditional UPDATE)."""
    pairing = _pairing(state)
    if (state.value("push.confirm", "challenge") is None or not device_name or pairing.credential_hash is None
            or device_actions.name_taken(current_user, device_name)):
        return redirect(url_for("push.name"))
    device = device_actions.add(current_user, "push", device_name, make_primary=make_primary,
                                credential_hash=pairing.credential_hash)
    claimed = db.session.execute(
        update(PushPairing).where(PushPairing.id == pairing.id, PushPairing.device_id.is_(None))
        .values(device_id=device.id).execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:  # the same wizard finished in another tab a moment ago
        db.session.rollback()
        return redirect(url_for("devices.security"))
    done = url_for("devices.cg_done", device_id=device.id)
    PUSH.finish(state, done)
    return redirect(done)


# ---- push at sign-in and step-up ----

def _still_showing(challenge: Challenge | None) -> bool:
    """Show the latest request (not send a new one) while it is live, or when this is the page
    shown after an answer (?result=1)."""
    if challenge is None:
        return False
    return push_state(challenge) in ("pending", "approved") or bool(request.args.get("result"))


def _send(user, purpose: str, ls: LoginSession, **target):
    """Start (or reuse) a push request; (challenge, None) or (None, why not)."""
    try:
        return start_push(user, purpose, ls, **target), None
    except Refused as exc:
        return None, exc.message


def verify(v: Verification, devices):
    """Push at sign-in and step-up. Cases: several devices and nothing sent yet (choose one,
    primary preselected); a request pending (its number, Check again, polling); approved (used
    once: signed in, or step-up fresh); denied or expired (Send a new request); too many waiting."""
    form = PushForm(devices)
    ids = {d.id for d in devices}
    challenge = error = None
    choosing = False
    if form.validate_on_submit():
        if form.new.data:
            device = next(d for d in devices if str(d.id) == form.device.data)
            challenge, error = _send(v.user, v.purpose, v.ls, device=device)
            if not error:
                return redirect(v.url())
        else:
            challenge = session_push_request(request.form.get("challenge"), v.ls)
            if challenge is not None and challenge.device_id in ids \
                    and consume_approval(challenge, v.ls, purpose=v.purpose):
                return v.passed(challenge.device)
            if challenge is not None and push_state(challenge) == "used":
                return v.repeated() or redirect(v.url(result=1))
            return redirect(v.url(result=1))
    else:
        latest = latest_push(v.ls, purpose=v.purpose, device_ids=ids)
        if _still_showing(latest):
            challenge = latest
        elif len(devices) > 1:
            choosing = True
        else:
            challenge, error = _send(v.user, v.purpose, v.ls, device=devices[0])
    return render_template("push/verify.html", form=form, v=v, devices=devices, choosing=choosing,
                           challenge=challenge, state=push_state(challenge) if challenge else None, error=error,
                           device_name=challenge.device.name if challenge else "")


METHOD_VIEWS["push"] = verify


@bp.route("/push/requests/<int:challenge_id>/status")
def request_status(challenge_id: int):
    """JSON for the polling of a push page: the state of a request of this browser's sign-in."""
    ls = request_session()
    challenge = session_push_request(challenge_id, ls) if ls is not None else None
    if challenge is None:
        return jsonify(error="There is no such request."), 404
    return jsonify(status=push_state(challenge))
