from flask import Blueprint

bp = Blueprint("devices", __name__, url_prefix="/security")

from . import lost, views  # noqa: E402,F401
