from flask import Blueprint

from .. import sessions

bp = Blueprint("phone", __name__, url_prefix="/phone")

from . import api, views  # noqa: E402,F401

# the phone's pages are not governed by a sign-in in the same browser (a trainer's, say)
sessions.ENROLLING_ENDPOINTS.update(f"phone.{name}" for name in (
    "requests_tab", "answer", "pair_page", "open_training_phone", "codes", "messages",
    "api_pair", "api_challenges", "api_answer"))
