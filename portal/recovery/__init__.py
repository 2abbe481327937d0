"""Lost-device recovery: Lost your device? on the sign-in page, the e-mailed link, and the wizard
it opens (identity, code generator, name, password). The rules are in mfa_recovery.py."""

from flask import Blueprint

from .. import access

bp = Blueprint("recovery", __name__)

from . import views  # noqa: E402,F401

# a recovering session opens these pages (and the phone's, which have a credential of their own)
access.RECOVERY_BLUEPRINTS.update({"recovery", "phone"})
access.RECOVERY_ENDPOINTS.add("training.send_code_generator")
