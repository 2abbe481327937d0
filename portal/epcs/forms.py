from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, ValidationError

from .. import prescription
from ..clock import now
from ..forms import CodeField, offer_devices, offered_device


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label: str, **kwargs) -> StringField:
    return StringField(label, filters=[_strip], **kwargs)


class ComposeForm(FlaskForm):
    """Compose Rx: one controlled-substance order for one patient; each rule is in prescription.py."""

    patient_name = _text("Patient name", render_kw={"autocomplete": "off", "maxlength": "120"})
    patient_dob = _text("Date of birth", render_kw={"type": "date", "autocomplete": "off"})
    drug = _text("Drug", render_kw={"autocomplete": "off", "maxlength": "120"})
    strength = _text("Strength", render_kw={"autocomplete": "off", "maxlength": "40"})
    schedule = SelectField("Schedule", validate_choice=False,
                           choices=[SelectChoice("", "Choose a schedule")]
                           + [SelectChoice(s, f"Schedule {s}") for s in prescription.SCHEDULES])
    quantity = _text("Quantity", render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": "7"})
    directions = TextAreaField("Directions", filters=[_strip], render_kw={"rows": "3", "maxlength": "500"})

    def validate_patient_name(self, field):
        self._check(prescription.text_problem("patient_name", field.data or ""))

    def validate_patient_dob(self, field):
        self._check(prescription.dob_problem(field.data or "", now().date()))

    def validate_drug(self, field):
        self._check(prescription.text_problem("drug", field.data or ""))

    def validate_strength(self, field):
        self._check(prescription.text_problem("strength", field.data or ""))

    def validate_schedule(self, field):
        self._check(prescription.schedule_problem(field.data or ""))

    def validate_quantity(self, field):
        self._check(prescription.quantity_problem(field.data or ""))

    def validate_directions(self, field):
        self._check(prescription.text_problem("directions", field.data or ""))

    @staticmethod
    def _check(problem: str | None) -> None:
        if problem:
            raise ValidationError(problem)

    def order(self) -> dict:
        """The order as the wizard keeps it and the signature covers it."""
        return {"patient_name": self.patient_name.data, "patient_dob": self.patient_dob.data,
                "drug": self.drug.data, "strength": self.strength.data, "schedule": self.schedule.data,
                "quantity": int(self.quantity.data), "directions": self.directions.data}


class SigningDeviceForm(FlaskForm):
    """Transmit's Device choice (primary preselected), sent with GET (Use this device): it changes nothing."""

    class Meta:
        csrf = False

    device = RadioField("Device", validate_choice=False, validators=[offered_device])

    def __init__(self, devices, **kwargs):
        super().__init__(**kwargs)
        offer_devices(self.device, devices)


class TransmitForm(FlaskForm):
    """EPCS PIN and, unless the device approves by push, its code: Sign and Send."""

    pin = PasswordField("EPCS PIN", validators=[InputRequired("Enter your EPCS PIN.")],
                        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"})
    code = CodeField("Enter 2FA Code")

    def __init__(self, *, with_code: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not with_code:
            del self.code


class LocationForm(FlaskForm):
    """Change your prescribing location: one of the practice's locations."""

    location = RadioField("Prescribing location", validate_choice=False)

    def __init__(self, places, current, **kwargs):
        super().__init__(**kwargs)
        self.location.choices = [(str(p.id), p.name) for p in places]
        if not self.location.data and current is not None:
            self.location.data = str(current.id)

    def validate_location(self, field):
        if field.data not in {value for value, _ in self.location.choices}:
            raise ValidationError("Choose one of the practice's locations.")
