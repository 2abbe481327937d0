from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from ..dea import dea_problem
from ..extensions import db
from ..models import ROLES, User
from ..prescription import parse_dob

ROLE_LABELS = {"provider": "Provider (prescriber)", "staff": "Front desk staff", "admin": "Practice admin",
               "trainer": "Trainer"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CreateUserForm(FlaskForm):
    """A new account. Its password is chosen by the user, through a one-time link we e-mail.
    Date of birth and SSN last four are kept only as keyed hashes, for lost-device recovery."""

    name = StringField("Full name", filters=[_strip], validators=[InputRequired("Enter the person's name."),
                                                                   Length(max=120)],
                       render_kw={"autocomplete": "off", "placeholder": "First Last"})
    username = StringField("Username", filters=[_strip], validators=[InputRequired("Choose a username."),
                                                                      Length(max=64)],
                           render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})
    email = StringField("E-mail address", filters=[_strip],
                        validators=[InputRequired("Enter the person's e-mail address."), Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "off"})
    role = SelectField("Role", choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES])
    admin_rights = BooleanField("Admin rights (a DEA registrant who approves EPCS permission)")
    dea = StringField("DEA number", filters=[_strip], render_kw={"autocomplete": "off", "maxlength": "9"})
    dob = StringField("Date of birth", filters=[_strip], render_kw={"type": "date", "autocomplete": "off"})
    ssn_last4 = PasswordField("Last four digits of the SSN",
                              render_kw={"inputmode": "numeric", "maxlength": "4", "autocomplete": "off"})

    def validate_username(self, field):
        if any(ch.isspace() for ch in field.data) or not field.data.isprintable():
            raise ValidationError("Use letters, digits, dots and dashes, without spaces.")
        if db.session.scalar(select(User.id).where(func.lower(User.username) == field.data.lower())):
            raise ValidationError("This username is taken.")

    def validate_email(self, field):
        local, at, domain = field.data.partition("@")
        if not (local and at and "." in domain) or any(ch.isspace() for ch in field.data):
            raise ValidationError("Enter an e-mail address like name@example.com.")

    def validate_dea(self, field):
        if field.data and self.role.data != "provider":
            raise ValidationError("Only providers have a DEA number.")
        if field.data and dea_problem(field.data):
            raise ValidationError(dea_problem(field.data))

    def validate_dob(self, field):
        if field.data and parse_dob(field.data) is None:
            raise ValidationError("Enter the date as YYYY-MM-DD.")

    def validate_ssn_last4(self, field):
        if field.data and not (len(field.data) == 4 and field.data.isascii() and field.data.isdigit()):
            raise ValidationError("Enter exactly four digits.")
        if bool(field.data) != bool(self.dob.data):
            raise ValidationError("Enter both the date of birth and the SSN's last four (for lost-device "
                                  "recovery), or neither.")


class UnlockForm(FlaskForm):
    reason = TextAreaField("Reason", filters=[_strip], validators=[Length(max=500)],
                           render_kw={"rows": "3", "maxlength": "500"})

    def validate_reason(self, field):
        if not field.data:
            raise ValidationError("Write why you unlock this account: it goes into the audit log.")


class AuditFilterForm(FlaskForm):
    """The audit log's filters (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    user = SelectField("User", validate_choice=False)
    action = SelectField("Action", validate_choice=False)
    since = StringField("From", filters=[_strip], render_kw={"type": "date"})
    until = StringField("To", filters=[_strip], render_kw={"type": "date"})

    def validate_since(self, field):
        if field.data and parse_dob(field.data) is None:
            raise ValidationError("Enter the date as YYYY-MM-DD.")

    def validate_until(self, field):
        if field.data and parse_dob(field.data) is None:
            raise ValidationError("Enter the date as YYYY-MM-DD.")
