from flask_wtf import FlaskForm
from wtforms import SubmitField


class PairForm(FlaskForm):
    pair = SubmitField("Pair this phone")


class AnswerForm(FlaskForm):
    """One request's buttons: the three numbers (posted as `number`) and Deny."""

    deny = SubmitField("Deny")
