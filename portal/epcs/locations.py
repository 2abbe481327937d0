"""Change your prescribing location, and Copy EPCS credentials to an additional location."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from .. import epcs_access, locations, sessions
from ..extensions import db
from ..forms import EmptyForm
from . import bp
from .forms import LocationForm


def _places_with_permissions():
    """[(Location, live EpcsPermission or None)] for the signed-in provider."""
    live = {p.location_id: p for p in epcs_access.live_permissions(current_user)}
    return [(place, live.get(place.id)) for place in locations.all_locations()]


@bp.route("/location", methods=["GET", "POST"])
@login_required
def location():
    """Change your prescribing location. Cases: the practice has no locations yet (back to EPCS);
    a choice that is not one of its locations (message on the field); chosen (for the rest of
    this sign-in, and back to EPCS)."""
    places = locations.all_locations()
    if not places:
        flash("Your practice has not set up its locations yet: you prescribe from the practice.", "info")
        return redirect(url_for("epcs.index"))
    current = locations.current(current_user.login_session)
    form = LocationForm(places, current)
    if form.validate_on_submit():
        place = locations.get(int(form.location.data))
        locations.choose(current_user, current_user.login_session, place)
        db.session.commit()
        flash(f"You now prescribe from {place.name}.", "success")
        return redirect(url_for("epcs.index"))
    ready_somewhere = any(p is not None and p.status == "active" for _, p in _places_with_permissions())
    return render_template("epcs/location.html", form=form, current=current, rows=_places_with_permissions(),
                           ready_somewhere=ready_somewhere)


@bp.route("/location/<int:location_id>/copy", methods=["GET", "POST"])
@login_required
@sessions.fresh_second_factor
def copy(location_id: int):
    """Copy EPCS credentials to an additional location (a fresh second factor first). Cases: no
    such location (404); nothing to copy yet, or already there (the reason, on the location
    page); copied (EPCS permission there is requested; two people with admin rights grant and
    approve it). A second click finds the request there and says so."""
    place = locations.get(location_id)
    if place is None:
        abort(404)
    form = EmptyForm()
    if form.validate_on_submit():
        existing = epcs_access.live_permission(current_user, place)
        if existing is not None and existing.status == "requested":
            flash(f"Your EPCS credentials are copied to {place.name}.", "success")
            return redirect(url_for("epcs.location"))
        try:
            epcs_access.copy_credentials(current_user, place)
        except epcs_access.AccessError as refused:
            flash(str(refused), "error")
        else:
            db.session.commit()
            flash(f"Your EPCS credentials are copied to {place.name}. Two people with admin rights now grant and "
                  "approve your EPCS permission there.", "success")
        return redirect(url_for("epcs.location"))
    return render_template("epcs/copy.html", form=form, place=place)


@bp.app_context_processor
def prescribing_location():
    """For the header: where a signed-in provider prescribes from (None: no locations, or not a
    provider's full sign-in)."""

    def current_location():
        if (not current_user.is_authenticated or current_user.role != "provider"
                or current_user.login_session.stage != "full"):
            return None
        return locations.current(current_user.login_session)

    return {"prescribing_location": current_location}
