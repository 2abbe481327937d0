from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from .. import otp
from ..forms import CodeField, offer_devices, offered_device
from ..seedfile import normalise_serial

SAME_TWICE = "One-Time Password 2 must be a NEW number: press the button again and enter the new number."
CODE_FORM = "Enter the 6 or 8 digits your token shows, digits only."


class TokenCodesForm(FlaskForm):
    """Two consecutive codes from one token: 6 or 8 ASCII digits each, and not the same number twice."""

    first = CodeField("One-Time Password 1")
    second = CodeField("One-Time Password 2")

    def validate_first(self, field):
        if not (otp.is_well_formed(field.data or "", 6) or otp.is_well_formed(field.data or "", 8)):
            raise ValidationError(CODE_FORM)

    def validate_second(self, field):
        self.validate_first(field)
        if field.data == self.first.data:
            raise ValidationError(SAME_TWICE)


class AddTokenForm(TokenCodesForm):
    """Serial number (letters and digits; spaces and case forgiven) and two consecutive codes."""

    serial = StringField("Serial number", render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                                     "spellcheck": "false", "maxlength": "40"})

    def validate_serial(self, field):
        if not (field.data or "").strip():
            raise ValidationError("Enter the serial number from the back of your token.")
        try:
            self.normalised_serial = normalise_serial(field.data.strip())
        except ValueError:
            raise ValidationError("Use the letters and digits of the serial number, like GALH12345678.") from None


class ResyncForm(TokenCodesForm):
    """Resync at sign-in or step-up: which hardware token (when there are several), then two codes."""

    device = RadioField("Device", validate_choice=False, validators=[offered_device])

    def __init__(self, devices, **kwargs):
        super().__init__(**kwargs)
        offer_devices(self.device, devices)


class AuthenticateChoiceForm(FlaskForm):
    """Manage Phones → Authenticate: how to get the one-time password."""

    option = RadioField("How would you like to get your one-time password?", validate_choice=False)

    def __init__(self, options, **kwargs):
        super().__init__(**kwargs)
        self.option.choices = options
        if not self.option.data and options:
            self.option.data = options[0][0]

    def validate_option(self, field):
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose how to get your one-time password.")


class OneTimePasswordForm(FlaskForm):
    code = CodeField("One-Time Password Code")


class ImportForm(FlaskForm):
    """The admin's upload: a seed file and, for an encrypted PSKC file, its pre-shared key."""

    seed_file = FileField("Seed file (CSV or PSKC XML)", validators=[FileRequired("Choose the vendor's seed file.")])
    psk = PasswordField("Pre-shared key (hex), for an encrypted PSKC file",
                        render_kw={"autocomplete": "off", "spellcheck": "false"})


class RevokeForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[InputRequired("Say why the token is revoked (lost, broken...)."),
                                                 Length(max=200, message="Use at most 200 characters.")])
