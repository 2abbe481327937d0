"""Who may open which page: one guard, run before every request, instead of a decorator on each view.

- Provider pages (the blueprints in PROVIDER_BLUEPRINTS: EPCS, the PIN) are for providers only.
  Anyone else signed in (front desk staff, admins, trainers) gets 403, and the refusal is audited
  ("access_refused"): the daily incident report lists them.
- A recovering session (lost-device recovery, signed in by an e-mailed link and nothing else)
  opens only the pages in RECOVERY_ENDPOINTS; anything else sends it back to its recovery.

Blueprints that own pages of either kind register them here; templates ask `can_open(endpoint)`
so that a link is drawn only where it leads somewhere.
"""

from flask import abort, redirect, request, url_for
from flask_login import current_user

from . import audit
from .clock import now
from .extensions import begin_write, db
from .sessions import client_ip

PROVIDER_BLUEPRINTS = {"epcs", "pin"}
PROVIDER_ROLES = ("provider",)
RECOVERING = "recovering"  # the login-session stage of a lost-device recovery
# what a recovering session may open (the recovery blueprint adds its pages)
RECOVERY_ENDPOINTS = {"auth.logout", "static"}
RECOVERY_BLUEPRINTS: set[str] = set()
RECOVERY_HOME = "recovery.resume"


def is_provider_page(endpoint: str | None) -> bool:
    return bool(endpoint) and endpoint.partition(".")[0] in PROVIDER_BLUEPRINTS


def can_open(endpoint: str) -> bool:
    """For templates: would the signed-in user get this page (not a 403)?"""
    if not current_user.is_authenticated:
        return False
    return not is_provider_page(endpoint) or current_user.role in PROVIDER_ROLES


def _refuse() -> None:
    begin_write()
    audit.record(db.session, "access_refused", at=now(), actor_id=current_user.id, subject_id=current_user.id,
                 ip=client_ip(), detail=f"{current_user.role} refused a provider page: {request.method} {request.path}")
    db.session.commit()
    abort(403)


def init_app(app) -> None:
    app.jinja_env.globals["can_open"] = can_open

    @app.before_request
    def guard():
        if request.endpoint is None or not current_user.is_authenticated:
            return None
        if current_user.login_session.stage == RECOVERING:
            if request.endpoint in RECOVERY_ENDPOINTS or request.blueprint in RECOVERY_BLUEPRINTS:
                return None
            return redirect(url_for(RECOVERY_HOME))
        if is_provider_page(request.endpoint) and current_user.role not in PROVIDER_ROLES:
            _refuse()
        return None
