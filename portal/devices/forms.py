from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import ValidationError

from ..device_actions import NAME_TAKEN, name_taken
from ..forms import CodeField, device_name_problem


class ConfirmCodeForm(FlaskForm):
    code = CodeField()


class DeviceNameForm(FlaskForm):
    """Name a new device, or rename one (`device` given): required, at most 40 characters,
    unique among the user's devices ignoring case."""

    name = StringField("Device name", render_kw={"placeholder": "ex. My iPhone", "maxlength": "40",
                                                 "autocomplete": "off"})

    def __init__(self, user, device=None, label: str = "Device name", **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.device = device
        self.name.label.text = label

    def validate_name(self, field):
        field.data = (field.data or "").strip()
        problem = device_name_problem(field.data)
        if problem:
            raise ValidationError(problem)
        if name_taken(self.user, field.data, self.device.id if self.device else None):
            raise ValidationError(NAME_TAKEN)


class PrimaryChoiceForm(FlaskForm):
    make_primary = SubmitField("Select as the primary device")
    keep_current = SubmitField("Keep my current primary device")
