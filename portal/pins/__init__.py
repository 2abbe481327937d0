"""Create / Reset EPCS PIN (/pin). The package is "pins" because portal/pin.py holds the rules."""

from flask import Blueprint

bp = Blueprint("pin", __name__, url_prefix="/pin")

from . import views  # noqa: E402,F401
