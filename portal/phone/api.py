"""The phone's JSON API (documented in docs/phone-api.yaml): pair, list requests, answer.

A native app sends its credential as `Authorization: Bearer <credential>`; the phone pages send the
/phone cookie instead, and then an answer must also carry the CSRF token (X-CSRFToken), as a form
would. Another phone's or another user's request is 404, whatever the id.
"""

from flask import current_app, jsonify, request
from werkzeug.exceptions import NotFound

from ..challenges import PURPOSES, Refused, answer_push
from ..clock import now
from ..extensions import csrf, db
from ..models import Challenge, Device, User
from ..pairing import find_link, identify, link_problem, pair, refusal_for_this_browser
from . import bp
from .views import COOKIE, account_of, own_challenge, requests_for


def _error(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="phone"'
    return response


def _caller():
    """(identity or None, whether it came as a Bearer credential)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return identify(header[len("Bearer "):].strip()), True
    return identify(request.cookies.get(COOKIE)), False


def _iso(moment) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def challenge_json(challenge: Challenge) -> dict:
    return {"id": challenge.id, "purpose": challenge.purpose,
            "for": PURPOSES.get(challenge.purpose, challenge.purpose),
            "browser": challenge.browser, "ip": challenge.ip,
            "created_at": _iso(challenge.created_at), "expires_at": _iso(challenge.expires_at),
            "expires_in": max(0, int((challenge.expires_at - now()).total_seconds())),
            "choices": (challenge.choices or "").split(",")}


@bp.route("/api/pair", methods=["POST"])
@csrf.exempt  # nothing to forge: it needs the one-time token, and only a JSON body is read
def api_pair():
    """{"token": "..."} -> 201 {"credential": "...", ...}; 404 unknown link, 410 used or expired."""
    body = request.get_json(silent=True) if request.is_json else None
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return _error(400, 'Send a JSON body {"token": "<the token at the end of the pairing link>"}.')
    refusal = refusal_for_this_browser(request.cookies.get(COOKIE))
    if refusal:
        return _error(403, refusal)
    link = find_link(token)
    problem = link_problem(link)
    if problem:
        return _error(404 if link is None else 410, problem)
    try:
        credential = pair(token, request.user_agent.string)
    except Refused as exc:
        return _error(410, exc.message)
    user = db.session.get(User, link.user_id)
    return jsonify(credential=credential, username=user.username, name=user.name,
                   issuer=current_app.config["PORTAL_ISSUER"]), 201


@bp.route("/api/challenges")
def api_challenges():
    """This phone's pending push requests, oldest first."""
    identity, _ = _caller()
    if identity is None:
        return _error(401, "This phone is not paired, or its device was removed.")
    user = account_of(identity)
    return jsonify(username=user.username,
                   device=identity.name if isinstance(identity, Device) else None,
                   challenges=[challenge_json(c) for c in requests_for(identity)])


@bp.route("/api/challenges/<int:challenge_id>/answer", methods=["POST"])
@csrf.exempt  # checked below when the credential came as a cookie
def api_answer(challenge_id: int):
    """{"number": "42"} approves if it is the number shown on the computer (any other number
    denies); {"answer": "deny"} denies. -> {"status": "approved" | "denied"}; 409 when the request
    was already answered or has expired."""
    identity, bearer = _caller()
    if identity is None:
        return _error(401, "This phone is not paired, or its device was removed.")
    if not bearer:
        csrf.protect()
    body = request.get_json(silent=True) if request.is_json else None
    body = body if isinstance(body, dict) else {}
    number = body.get("number")
    deny = body.get("answer") == "deny"
    if not deny and (isinstance(number, bool) or not isinstance(number, str | int)):
        return _error(400, 'Send a JSON body {"number": "42"} or {"answer": "deny"}.')
    try:
        challenge = own_challenge(identity, challenge_id)
    except NotFound:
        return _error(404, "There is no such request for this phone.")
    try:
        status = answer_push(challenge, None if deny else str(number))
    except Refused as exc:
        return _error(409, exc.message)
    return jsonify(status=status)
