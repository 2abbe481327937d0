from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from ..forms import CodeField, offer_devices, offered_device
from ..passwords import password_problem


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired("Enter your username."), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")],
                             render_kw={"autocomplete": "current-password"})


class CodeForm(FlaskForm):
    """Device choice (primary preselected) and the code, checked against that device."""

    device = RadioField("Device", validate_choice=False, validators=[offered_device])
    code = CodeField()

    def __init__(self, devices, digits: int = 6, **kwargs):
        super().__init__(**kwargs)
        offer_devices(self.device, devices)
        if digits != 6:
            self.code.label.text = f"Enter the {digits}-digit code"


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[InputRequired("Choose a password.")],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Confirm new password", validators=[InputRequired("Enter the password again.")],
                            render_kw={"autocomplete": "new-password"})

    def validate_password(self, field):
        problem = password_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_confirm(self, field):
        if field.data != self.password.data:
            raise ValidationError("The two passwords differ. Type the same password twice.")
