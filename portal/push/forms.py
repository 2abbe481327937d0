from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField
from wtforms.validators import ValidationError


class PushForm(FlaskForm):
    """The push page's buttons: Check again (the request shown), or Send a new request (to the
    device chosen, primary preselected, when there are several)."""

    device = RadioField("Device", validate_choice=False)
    check = SubmitField("Check again")
    new = SubmitField("Send a new request")

    def __init__(self, devices=(), **kwargs):
        super().__init__(**kwargs)
        self.device.choices = [(str(d.id), d.name) for d in devices]
        if not self.device.data and devices:
            self.device.data = str(devices[0].id)

    def validate_device(self, field):
        if self.device.choices and field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose one of your devices.")
