"""The front desk (/clinic): every provider's EPCS readiness, the set-up sheet, Hand to the doctor."""

from flask import Blueprint

bp = Blueprint("clinic", __name__, url_prefix="/clinic")

from . import views  # noqa: E402,F401
