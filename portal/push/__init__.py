from flask import Blueprint

bp = Blueprint("push", __name__)

from . import views  # noqa: E402,F401
