"""Fields and forms shared by every blueprint."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice, StringField
from wtforms.validators import InputRequired, ValidationError

from . import otp


class EmptyForm(FlaskForm):
    """A bare button (set primary, remove, sign out): carries only the CSRF token."""


class CodeField(StringField):
    """A one-time code. Never written back into the page: a code is a secret for its 30 seconds."""

    def __init__(self, label="Enter the 6-digit code", digits: int = 6, **kwargs):
        render_kw = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*",
                     "maxlength": "8", "spellcheck": "false"}
        render_kw.update(kwargs.pop("render_kw", {}))
        super().__init__(label, validators=[InputRequired("Enter the code from your device.")],
                         render_kw=render_kw, **kwargs)
        self.digits = digits

    def _value(self) -> str:
        return ""


def well_formed_code(digits: int = 6):
    def check(form, field):
        if not otp.is_well_formed(field.data or "", digits):
            raise ValidationError(f"Enter the {digits}-digit code, digits only.")

    return check


def device_name_problem(name: str) -> str | None:
    if not name:
        return "Enter a name for your device."
    if len(name) > 40:
        return "Use at most 40 characters."
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in name):
        return "Use letters, digits, spaces and punctuation only."
    return None


NOT_YOUR_DEVICE = "Choose one of your devices."


def offer_devices(field, devices) -> None:
    """Fill a device choice (select or radios): names as labels, the first one (the primary,
    as second_factor.active_devices orders them) chosen unless the form already says."""
    field.choices = [SelectChoice(str(d.id), d.name) for d in devices]
    if not field.data and devices:
        field.data = str(devices[0].id)


def offered_device(form, field) -> None:
    """Validator for a device choice filled by offer_devices: one of the offered devices."""
    if field.data not in {choice.value for choice in field.choices}:
        raise ValidationError(NOT_YOUR_DEVICE)
