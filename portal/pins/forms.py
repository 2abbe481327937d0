from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectChoice, SelectField
from wtforms.validators import ValidationError

from ..forms import CodeField
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

    device = SelectField("Select your phone signature option", validate_choice=False)

    def __init__(self, devices, **kwargs):
        super().__init__(**kwargs)
        self.device.choices = [SelectChoice(str(d.id), d.name) for d in devices]
        if not self.device.data and devices:
            self.device.data = str(devices[0].id)

    def validate_device(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose one of your devices.")


class PasscodeForm(FlaskForm):
    """Step 1's code for the chosen device."""

    device = HiddenField()
    code = CodeField("Enter 2FA Code")

    def __init__(self, devices, **kwargs):
        super().__init__(**kwargs)
        self.allowed = {str(d.id) for d in devices}

    def validate_device(self, field):
        if field.data not in self.allowed:
            raise ValidationError("Choose one of your devices.")


class NewPinForm(FlaskForm):
    pin = PasswordField("New 4-digit PIN", validators=[NewPinRules()], render_kw=PIN_INPUT)
    confirm = PasswordField("Confirm New 4-digit PIN", validators=[ConfirmsNewPin("pin")], render_kw=PIN_INPUT)

    def __init__(self, current_pin_check, **kwargs):
        super().__init__(**kwargs)
        self.current_pin_check = current_pin_check
