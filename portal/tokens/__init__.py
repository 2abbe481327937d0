"""Hardware OATH tokens: EPCS Device Management (/tokens) and the token inventory (/admin/tokens).

Importing this package plugs the hardware token into the shared seams: its matcher for
second_factor.check_code, its Set Up / Add link on Sign In & Security, and what removing its
device does (the token goes back to the inventory).
"""

from flask import Blueprint

bp = Blueprint("tokens", __name__, url_prefix="/tokens")
admin_bp = Blueprint("tokens_admin", __name__, url_prefix="/admin/tokens")

from .. import device_actions, second_factor, sessions  # noqa: E402
from ..devices.views import SETUP_ENDPOINTS  # noqa: E402
from . import admin_views, service, views  # noqa: E402,F401

second_factor.MATCHERS["hardware"] = service.HardwareMatcher()
SETUP_ENDPOINTS["hardware-token"] = "tokens.index"
# a new provider may make a hardware token their first device (Add Token, see views._first_device)
sessions.ENROLLING_ENDPOINTS.update({"tokens.index", "tokens.add", "tokens.status"})
device_actions.ON_REMOVE["hardware"] = service.release
device_actions.ON_LOST["hardware"] = service.revoke_lost
