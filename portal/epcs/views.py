"""EPCS readiness, Compose Rx -> Transmit (Sign and Send), and the signed prescriptions."""

import json
import secrets
import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import epcs_access, locations, signing
from ..extensions import db
from ..factor_prompt import Prompt
from ..models import Prescription
from ..prescription import SCHEDULES, digest
from ..second_factor import SIGNING
from ..sessions import roles_required
from ..wizard import Step, Wizard
from . import bp
from .forms import ComposeForm, SigningDeviceForm, TransmitForm

RX = Wizard("prescription", [
    Step("epcs.compose", "Compose Rx"),
    Step("epcs.transmit", "Transmit"),
], start_over="epcs.compose", not_started="Compose the prescription and review it before you sign it.")

NOT_READY = "Finish the EPCS checklist below before you sign controlled-substance prescriptions."
# 21 CFR 1311.140(a)(3): shown while the two factors are asked for
LEGAL_STATEMENT = (
    "By completing the two-factor authentication protocol at this time, you are legally signing the "
    "prescription(s) and authorizing the transmission of the above information to the pharmacy for dispensing. "
    "The two-factor authentication protocol may only be completed by the practitioner whose name and DEA "
    "registration number appear above."
)
OTHER_CLICK_WAIT_SECONDS = 5
APPROVED_THEN = "Now enter your EPCS PIN and choose Sign and Send."


def here():
    """The prescribing location of this sign-in (None when the practice has no locations)."""
    return locations.current(current_user.login_session)


@bp.route("")
@login_required
@roles_required("provider")
def index():
    """The readiness checklist, each item done or with its way to finish it."""
    location = here()
    items = epcs_access.readiness(current_user, location)
    return render_template("epcs/index.html", items=items, ready=all(i.done for i in items), location=location,
                           places=locations.all_locations())


@bp.route("/compose", methods=["GET", "POST"])
@login_required
@roles_required("provider")
def compose():
    """Cases: not ready (to the checklist); GET (the form, filled in again when coming back from
    Transmit to edit); a field breaking its rule (message on it, the rest kept); Review (a new
    order with its own key, and on to Transmit)."""
    if not epcs_access.is_ready(current_user, here()):
        flash(NOT_READY, "info")
        return redirect(url_for("epcs.index"))
    state = RX.current()
    earlier = state.data.get("order") if state is not None else None
    form = ComposeForm(data={**earlier, "quantity": str(earlier["quantity"])} if earlier else None)
    if form.validate_on_submit():
        state = RX.begin(order={**form.order(), "order_key": secrets.token_hex(16)})
        return redirect(state.done("epcs.compose"))
    return render_template("epcs/compose.html", form=form, progress=RX.preview("epcs.compose"))


@bp.route("/transmit", methods=["GET", "POST"])
@login_required
@roles_required("provider")
def transmit():
    """Cases: nothing composed (to Compose Rx); already signed (to the prescription); not ready
    (to the checklist, nothing checked); a device that is not one of the user's signing devices
    (message on the Device choice, nothing checked); the factor step's own buttons for a text or
    push device (Text me / Call me / Send it again, Send push notification, Check again: nothing
    checked); PIN or second factor not accepted (messages on their fields — for push, flashed, the
    approval used up — each counted against its own factor, nothing recorded); a second click
    while the first is being signed (waits for it, then shows its result); otherwise the
    prescription is signed and recorded."""
    state = RX.at("epcs.transmit")
    if not epcs_access.is_ready(current_user, here()):
        flash(NOT_READY, "info")
        return redirect(url_for("epcs.index"))
    devices = signing.signing_devices(current_user)
    given = request.form if request.method == "POST" else request.args
    choice = SigningDeviceForm(devices, formdata=given if "device" in given else None)
    device = next((d for d in devices if str(d.id) == choice.device.data), None) if choice.validate() else None
    prompt = Prompt.here(SIGNING, device) if device is not None else None
    form = TransmitForm(with_code=prompt is None or prompt.way != "push")
    order = state.data["order"]
    if prompt is not None and request.method == "POST":
        if prompt.act():
            return redirect(url_for("epcs.transmit", device=device.id))
        if prompt.way == "push" and "pin" not in request.form:  # Check again, or the page's polling
            return redirect(url_for("epcs.transmit", device=device.id, result=1))
    if prompt is not None and form.validate_on_submit():
        if not RX.claim(state):
            return _after_other_click()
        code = form.code.data if "code" in form else None
        signed = signing.sign(current_user, device, form.pin.data, order, lambda: prompt.verify(code), prompt.way)
        if signed.prescription is not None:
            url = url_for("epcs.prescription", rx_id=signed.prescription.id)
            RX.finish(state, url)
            flash("Signed and sent.", "success")
            return redirect(url)
        RX.release(state)
        if prompt.way == "push":  # the approval is gone: the page goes back to Send push notification
            for message in (signed.pin_error, signed.code_error):
                if message:
                    flash(message, "error")
            return redirect(url_for("epcs.transmit", device=device.id))
        if signed.pin_error:
            form.pin.errors.append(signed.pin_error)
        if signed.code_error:
            form.code.errors.append(signed.code_error)
    return render_template("epcs/transmit.html", form=form, choice=choice, devices=devices, device=device,
                           prompt=prompt.view(approved_then=APPROVED_THEN) if prompt else None, order=order,
                           schedule_label=_schedule_label, statement=LEGAL_STATEMENT,
                           progress=state.progress("epcs.transmit"))


def _after_other_click():
    """Another request holds this order's Sign and Send: wait briefly for it to end, then show
    its prescription, or the Transmit page again if it was refused."""
    for _ in range(OTHER_CLICK_WAIT_SECONDS * 10):
        state = RX.current()
        db.session.commit()  # hold no database lock while waiting, and read afresh next time
        if state is None or "finished" in state.data:
            break
        time.sleep(0.1)
    if state is not None and "finished" in state.data:
        flash("This prescription was signed and sent once; the second click did nothing.", "info")
        return redirect(state.data["finished"])
    flash("Your first click was still being handled. Enter your EPCS PIN and a new code again.", "info")
    return redirect(url_for("epcs.transmit"))


def _schedule_label(schedule: str) -> str:
    return f"C-{schedule}" if schedule in SCHEDULES else schedule


@bp.route("/prescriptions")
@login_required
@roles_required("provider")
def prescriptions():
    """The provider's signed prescriptions, newest first."""
    rows = list(db.session.scalars(select(Prescription).where(Prescription.prescriber_id == current_user.id)
                                   .order_by(Prescription.signed_at.desc(), Prescription.id.desc())))
    return render_template("epcs/prescriptions.html", prescriptions=rows, schedule_label=_schedule_label)


@bp.route("/prescriptions/<int:rx_id>")
@login_required
@roles_required("provider")
def prescription(rx_id: int):
    """One signed prescription: who signed, when, with which device, and its digest, checked."""
    rx = db.session.get(Prescription, rx_id)
    if rx is None or rx.prescriber_id != current_user.id:
        abort(404)
    intact = digest(rx.canonical) == rx.digest
    signer = json.loads(rx.canonical)["prescriber"]  # as signed, whatever the user record says today
    return render_template("epcs/prescription.html", rx=rx, intact=intact, signer=signer,
                           schedule_label=_schedule_label)
