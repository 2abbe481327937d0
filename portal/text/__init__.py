from flask import Blueprint

bp = Blueprint("text", __name__)

from . import views  # noqa: E402,F401
