"""The admin's EPCS page: attest identity, Grant EPCS, Approve (a second person), Revoke.
Every POST here carries the CSRF token that CSRFProtect checks for the whole app."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import epcs_access, locations
from ..extensions import db
from ..forms import EmptyForm
from ..models import EpcsPermission, User
from ..sessions import is_fresh
from . import bp


@bp.before_request
@login_required
def admins_only():
    """Every admin page: the admin role, or a user with admin rights (a registrant provider)."""
    if not current_user.is_admin:
        abort(403)


def _location():
    """The location the EPCS page is about (?location=): a practice location, else the main one."""
    return locations.get(request.args.get("location", type=int)) or locations.main()


def _back():
    location = _location()
    return url_for("admin.epcs", location=location.id if location else None)


def _step_up():
    """Attesting, granting and approving need a second factor from the last few minutes."""
    if is_fresh(current_user.login_session):
        return None
    flash("Confirm it is you with your second factor, then click again.", "info")
    return redirect(url_for("auth.step_up", next=_back()))


def _provider(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role != "provider":
        abort(404)
    return user


def _permission(permission_id: int) -> EpcsPermission:
    permission = db.session.get(EpcsPermission, permission_id)
    if permission is None:
        abort(404)
    return permission


def _act(change, *args, done: str):
    """Run one access change; its refusal, if any, is the message."""
    try:
        change(current_user, *args)
    except epcs_access.AccessError as refused:
        flash(str(refused), "error")
    else:
        flash(done, "success")
    return redirect(_back())


@bp.route("/epcs")
def epcs():
    """Providers with their identity and their EPCS permission at one location (?location=, the
    main one by default; the page offers the others)."""
    location = _location()
    providers = list(db.session.scalars(select(User).where(User.role == "provider").order_by(User.name, User.id)))
    live = {p.provider_id: p for p in db.session.scalars(
        select(EpcsPermission).where(EpcsPermission.status != "revoked",
                                     EpcsPermission.location_id == (location.id if location else None)))}
    rows = [(p, live.get(p.id)) for p in providers]
    return render_template("admin/epcs.html", rows=rows, form=EmptyForm(), location=location,
                           places=locations.all_locations(), me_registrant=epcs_access.is_registrant(current_user))


@bp.route("/epcs/<int:user_id>/attest", methods=["POST"])
def attest(user_id: int):
    provider = _provider(user_id)
    return _step_up() or _act(epcs_access.attest_identity, provider,
                              done=f"You attested {provider.name}'s identity.")


@bp.route("/epcs/<int:user_id>/grant", methods=["POST"])
def grant(user_id: int):
    provider = _provider(user_id)
    return _step_up() or _act(epcs_access.grant, provider, _location(),
                              done=f"EPCS permission for {provider.name} is granted and waits for a second "
                                   "person with admin rights to approve it.")


@bp.route("/epcs/permissions/<int:permission_id>/approve", methods=["POST"])
def approve(permission_id: int):
    permission = _permission(permission_id)
    return _step_up() or _act(epcs_access.approve, permission,
                              done=f"EPCS permission for {permission.provider.name} is approved and active.")


@bp.route("/epcs/permissions/<int:permission_id>/revoke", methods=["POST"])
def revoke(permission_id: int):
    """Revoking needs no step-up: taking access away is always allowed at once."""
    permission = _permission(permission_id)
    return _act(epcs_access.revoke, permission, done=f"EPCS permission for {permission.provider.name} is revoked.")
