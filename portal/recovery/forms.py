from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from ..prescription import parse_dob


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EmailForm(FlaskForm):
    email = StringField("E-mail address", filters=[_strip],
                        validators=[InputRequired("Enter the e-mail address of your account."), Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "email", "spellcheck": "false"})

    def validate_email(self, field):
        local, at, domain = field.data.partition("@")
        if not (local and at and "." in domain) or any(ch.isspace() for ch in field.data):
            raise ValidationError("Enter an e-mail address like name@example.com.")


class IdentityForm(FlaskForm):
    """First and last name, date of birth, last four of the SSN. Only the form of each answer is
    checked here; whether they match is one answer for all four (no hint which was wrong). The SSN
    digits are never written back into the page."""

    first_name = StringField("First name", filters=[_strip],
                             validators=[InputRequired("Enter your first name."), Length(max=120)],
                             render_kw={"autocomplete": "given-name"})
    last_name = StringField("Last name", filters=[_strip],
                            validators=[InputRequired("Enter your last name."), Length(max=120)],
                            render_kw={"autocomplete": "family-name"})
    dob = StringField("Date of birth", filters=[_strip],
                      validators=[InputRequired("Enter your date of birth.")],
                      render_kw={"type": "date", "autocomplete": "bday"})
    ssn_last4 = PasswordField("Last four digits of your Social Security number",
                              validators=[InputRequired("Enter the last four digits of your SSN.")],
                              render_kw={"inputmode": "numeric", "maxlength": "4", "autocomplete": "off"})

    def validate_dob(self, field):
        if parse_dob(field.data) is None:
            raise ValidationError("Enter the date as YYYY-MM-DD (for example 1978-04-12).")

    def validate_ssn_last4(self, field):
        if not (len(field.data) == 4 and field.data.isascii() and field.data.isdigit()):
            raise ValidationError("Enter exactly four digits.")


class PasswordForm(FlaskForm):
    password = PasswordField("Password", validators=[InputRequired("Enter your EPCS Portal password.")],
                             render_kw={"autocomplete": "current-password"})
