from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import password_link, views  # noqa: E402,F401
