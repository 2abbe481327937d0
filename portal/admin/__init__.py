"""Admin pages (/admin): for the practice admin role and for users with admin rights."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import audit_views, users, views  # noqa: E402,F401
