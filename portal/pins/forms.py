from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField
from wtforms.validators import ValidationError

from ..forms import NOT_YOUR_DEVICE, CodeField, offer_devices, offered_device
from ..pin import pin_problem

PIN_INPUT = {"inputmode": "numeric", "autocomplete": "new-password", "spellcheck": "false"}


class NewPinRules:
    """The new PIN itself: the first of pin.py's rules it breaks speaks on this field."""

    def __call__(self, form, field):
        problem = pin_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class ConfirmsNewPin:
    """The confirmation: once the PIN passes its own rules, pin.py's next two in their order
    (the two PINs match; the new one is not the current one) speak on this field."""

    def __init__(self, pin_field: str):
        self.pin_field = pin_field

    def __call__(self, form, field):
        pin = form[self.pin_field]
        if pin.errors:
            return
        problem = pin_problem(pin.data or "", field.data or "", form.current_pin_check)
        if problem:
            raise ValidationError(problem)


class DeviceChoiceForm(FlaskForm):
    """Step 1's device choice, sent with GET (Select Setup): it changes nothing."""

    class Meta:
        csrf = False

    device = SelectField("Select your phone signature option", validate_choice=False, validators=[offered_device])

    def __init__(self, devices, **kwargs):
        super().__init__(**kwargs)
        offer_devices(self.device, devices)


class PasscodeForm(FlaskForm):
    """Step 1's code for the chosen device."""

    device = HiddenField()
    code = CodeField("Enter 2FA Code")

    def __init__(self, devices, **kwargs):
        super().__init__(**kwargs)
        self.allowed = {str(d.id) for d in devices}

    def validate_device(self, field):
        if field.data not in self.allowed:
            raise ValidationError(NOT_YOUR_DEVICE)


class NewPinForm(FlaskForm):
    pin = PasswordField("New 4-digit PIN", validators=[NewPinRules()], render_kw=PIN_INPUT)
    confirm = PasswordField("Confirm New 4-digit PIN", validators=[ConfirmsNewPin("pin")], render_kw=PIN_INPUT)

    def __init__(self, current_pin_check, **kwargs):
        super().__init__(**kwargs)
        self.current_pin_check = current_pin_check
