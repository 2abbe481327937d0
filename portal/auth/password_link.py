"""Choose your password: the one-time link an admin's Create user or Reset password e-mails."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from .. import accounts, links, sessions
from ..extensions import db
from . import bp
from .forms import NewPasswordForm


@bp.route("/password/<token>", methods=["GET", "POST"])
def password_link(token: str):
    """Cases: unknown, expired or used link (say so); a password breaking a rule, or two that
    differ (message on the field); saved (the link is used up, every sign-in of the account ends,
    and this browser goes to the sign-in page)."""
    found = links.find(token, accounts.PASSWORD_LINK)
    if links.state(found) != "ok" or not found.user.is_active_user:
        return render_template("auth/password_link_invalid.html"), 410 if found is not None else 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        if not links.use(found):
            db.session.rollback()
            return render_template("auth/password_link_invalid.html"), 410
        accounts.set_password(found.user, form.password.data)
        db.session.commit()
        if current_user.is_authenticated:
            sessions.revoke(current_user.login_session)
        flash("Your password is saved. Sign in with it.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/password_link.html", form=form, user=found.user)
