"""The Portal Authenticator: the phone's own pages under /phone, mobile-first, working without JS.

- Requests (/phone): a paired phone's push requests — what for, from which browser and IP, when —
  each with three numbers and Deny ("This wasn't me").
- Pairing (/phone/pair/<token>): opening the link shows Pair this phone; only the POST pairs.
- Codes and Messages (demo mode only): the training phone's code generators and its texts and calls.

The phone's credential lives in an HttpOnly cookie scoped to /phone, so no script ever reads it.
"""

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from .. import training_phone
from ..challenges import PURPOSES, Refused, answer_push, pending_for_phone
from ..extensions import db
from ..models import Challenge, Device, PushPairing, User
from ..pairing import find_link, identify, link_problem, pair, refusal_for_this_browser
from ..phone_number import pretty
from . import bp
from .forms import AnswerForm, PairForm

COOKIE = "portal_phone"  # the device credential
TRAINING_COOKIE = "portal_training_phone"  # the training phone's link token (demo mode)
COOKIE_SECONDS = 400 * 24 * 3600  # as long as browsers keep a cookie


def set_phone_cookie(response, name: str, value: str) -> None:
    response.set_cookie(name, value, max_age=COOKIE_SECONDS, path="/phone", httponly=True, samesite="Lax",
                        secure=current_app.config["PORTAL_HTTPS"])


def identity_from_cookie() -> Device | PushPairing | None:
    return identify(request.cookies.get(COOKIE))


def requests_for(identity: Device | PushPairing) -> list[Challenge]:
    if isinstance(identity, Device):
        return pending_for_phone(device=identity)
    return pending_for_phone(pairing_id=identity.id)


def own_challenge(identity: Device | PushPairing, challenge_id: int) -> Challenge:
    """One of this phone's push requests; anything else (another phone's, another user's) is 404."""
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or challenge.channel != "push":
        abort(404)
    if isinstance(identity, Device):
        mine = challenge.device_id == identity.id
    else:
        mine = challenge.pairing_id == identity.id and challenge.device_id is None
    if not mine:
        abort(404)
    return challenge


def account_of(identity: Device | PushPairing) -> User:
    return db.session.get(User, identity.user_id)


@bp.route("")
def requests_tab():
    identity = identity_from_cookie()
    items = requests_for(identity) if identity is not None else []
    return render_template("phone/requests.html", tab="requests", identity=identity, items=items,
                           account=account_of(identity) if identity is not None else None,
                           is_device=isinstance(identity, Device), purposes=PURPOSES, form=AnswerForm())


@bp.route("/requests/<int:challenge_id>", methods=["POST"])
def answer(challenge_id: int):
    """Cases: not a paired phone (message); not this phone's request (404); a number tapped (the
    right one approves, any other denies); Deny; already answered or expired (message)."""
    identity = identity_from_cookie()
    if identity is None:
        flash("This phone is not paired with the EPCS Portal.", "error")
        return redirect(url_for("phone.requests_tab"))
    challenge = own_challenge(identity, challenge_id)
    form = AnswerForm()
    number = request.form.get("number", "")
    if form.validate_on_submit() and (form.deny.data or number):
        try:
            status = answer_push(challenge, None if form.deny.data else number)
        except Refused as exc:
            flash(exc.message, "error")
        else:
            if status == "approved":
                flash("Approved. You can go back to your computer.", "success")
            elif form.deny.data:
                flash("Denied. The request was refused, and your next sign-in will show a warning about it.",
                      "success")
            else:
                flash("That was not the number on your computer, so the request was denied. If it was you, "
                      "start again on your computer.", "error")
    return redirect(url_for("phone.requests_tab"))


@bp.route("/pair/<token>", methods=["GET", "POST"])
def pair_page(token: str):
    """Cases: a browser signed in to the portal as a prescriber, or already a paired phone
    (refused, 403); an unknown link (404), a used or expired one (410); otherwise the page shows
    Pair this phone, and only its POST pairs (the credential goes into this browser's cookie)."""
    refusal = refusal_for_this_browser(request.cookies.get(COOKIE))
    if refusal:
        return render_template("phone/pair.html", tab=None, problem=refusal), 403
    link = find_link(token)
    problem = link_problem(link)
    if problem:
        return render_template("phone/pair.html", tab=None, problem=problem), 404 if link is None else 410
    form = PairForm()
    if form.validate_on_submit():
        try:
            credential = pair(token, request.user_agent.string)
        except Refused as exc:
            return render_template("phone/pair.html", tab=None, problem=exc.message), 410
        flash("This phone is paired. Go back to your computer to confirm it.", "success")
        response = redirect(url_for("phone.requests_tab"))
        set_phone_cookie(response, COOKIE, credential)
        return response
    return render_template("phone/pair.html", tab=None, form=form, user=db.session.get(User, link.user_id))


# ---- the training phone (demo mode) ----

def _demo_only() -> None:
    if not current_app.config["PORTAL_DEMO"]:
        abort(404)


def _training_phone():
    return training_phone.from_token(request.cookies.get(TRAINING_COOKIE))


@bp.route("/training/<token>")
def open_training_phone(token: str):
    """The link the portal shows for a user's training phone: this browser becomes that phone."""
    _demo_only()
    if training_phone.from_token(token) is None:
        abort(404)
    response = redirect(url_for("phone.codes"))
    set_phone_cookie(response, TRAINING_COOKIE, token)
    return response


@bp.route("/codes")
def codes():
    _demo_only()
    phone = _training_phone()
    return render_template("phone/codes.html", tab="codes", phone=phone,
                           number=pretty(phone.number) if phone else None,
                           accounts=training_phone.codes(phone) if phone else [])


@bp.route("/messages")
def messages():
    _demo_only()
    phone = _training_phone()
    return render_template("phone/messages.html", tab="messages", phone=phone,
                           number=pretty(phone.number) if phone else None,
                           messages=training_phone.messages(phone) if phone else [])

