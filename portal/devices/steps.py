"""The two last steps every device wizard shares: Name your device, then Primary device (a step
only when the user already has a primary). Each wizard passes its own `finish(state, name,
make_primary=...)`, which re-checks everything and writes the device."""

from flask import redirect, render_template, request
from flask_login import current_user

from ..wizard import Wizard
from .forms import DeviceNameForm, PrimaryChoiceForm


def name_step(wizard: Wizard, endpoint: str, finish):
    state = wizard.at(endpoint)
    form = DeviceNameForm(current_user)
    if request.method == "GET":
        form.name.data = state.value(endpoint, "name", "")
    if form.validate_on_submit():
        if not state.data["has_primary"]:
            return finish(state, form.name.data, make_primary=True)
        return redirect(state.done(endpoint, name=form.name.data))
    return render_template("devices/cg_name.html", form=form, progress=state.progress(endpoint))


def primary_step(wizard: Wizard, endpoint: str, name_endpoint: str, finish):
    state = wizard.at(endpoint)
    form = PrimaryChoiceForm()
    name = state.value(name_endpoint, "name")
    if form.validate_on_submit():
        return finish(state, name, make_primary=bool(form.make_primary.data))
    return render_template("devices/cg_primary.html", form=form, name=name, progress=state.progress(endpoint))
