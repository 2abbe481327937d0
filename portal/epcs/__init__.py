"""EPCS readiness, Compose Rx -> Transmit (sign with PIN + code), signed prescriptions (/epcs)."""

from flask import Blueprint

bp = Blueprint("epcs", __name__, url_prefix="/epcs")

from . import locations, views  # noqa: E402,F401
