from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField

from ..forms import offer_devices, offered_device


class PushForm(FlaskForm):
    """The push page's buttons: Check again (the request shown), or Send a new request (to the
    device chosen, primary preselected, when there are several)."""

    device = RadioField("Device", validate_choice=False)
    check = SubmitField("Check again")
    new = SubmitField("Send a new request")

    def __init__(self, devices=(), **kwargs):
        super().__init__(**kwargs)
        offer_devices(self.device, devices)

    def validate_device(self, field):
        if field.choices:  # Check again needs no choice
            offered_device(self, field)
