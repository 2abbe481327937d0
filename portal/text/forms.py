from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, StringField, SubmitField
from wtforms.validators import ValidationError

from ..extensions import db
from ..models import Device
from ..phone_number import mask, parse

OTHER_USER = "This number is set up on another account. Use your own mobile number."
ALREADY_YOURS = "You already have this number set up. Use another number, or keep the one you have."


def number_problem(user, e164: str) -> str | None:
    """A number belongs to one account, once."""
    owners = set(db.session.scalars(select(Device.user_id).where(
        Device.phone == e164, Device.kind.in_(("sms", "voice")), Device.status.in_(("active", "suspended")))))
    if user.id in owners:
        return ALREADY_YOURS
    return OTHER_USER if owners else None


class PhoneForm(FlaskForm):
    """Set-up step 1: the number (US or E.164; kept as typed when refused) and Text me / Call me."""

    phone = StringField("Phone number", render_kw={"autocomplete": "tel", "inputmode": "tel", "maxlength": "30",
                                                   "placeholder": "(201) 555-0123"})
    text_me = SubmitField("Text me")
    call_me = SubmitField("Call me")

    def __init__(self, user, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.e164 = None

    def validate_phone(self, field):
        e164, problem = parse(field.data or "")
        problem = problem or number_problem(self.user, e164)
        if problem:
            raise ValidationError(problem)
        self.e164 = e164


class SendCodeForm(FlaskForm):
    """Sign-in: which phone (primary preselected, shown masked); Text me / Call me / Send it again
    are buttons named `send`."""

    device = RadioField("Device", validate_choice=False)

    def __init__(self, devices, **kwargs):
        super().__init__(**kwargs)
        self.device.choices = [(str(d.id), f"{d.name} — {mask(d.phone)}") for d in devices]
        if not self.device.data and devices:
            self.device.data = str(devices[0].id)

    def validate_device(self, field):
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose one of your phones.")
