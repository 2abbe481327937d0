"""Users (/admin/users): create (the password is chosen through an e-mailed one-time link),
deactivate and reactivate, Reset password (a one-time link), Unlock with a written reason.
Actions that give something (create, reactivate, a password link, unlock) need a fresh second
factor; deactivating only takes away, so it never waits."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import accounts
from ..extensions import db
from ..forms import EmptyForm
from ..messaging import SendError, send_mail
from ..models import User
from ..sessions import is_fresh
from . import bp
from .forms import ROLE_LABELS, CreateUserForm, UnlockForm


def _fresh(back: str):
    """None when a second factor was given in the last few minutes, else a detour to give one."""
    if is_fresh(current_user.login_session):
        return None
    flash("Confirm it is you with your second factor, then click again.", "info")
    return redirect(url_for("auth.step_up", next=back))


def _someone_else(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _mail_password_link(user: User, token: str, *, welcome: bool) -> bool:
    minutes = current_app.config["PORTAL_PASSWORD_LINK_MINUTES"]
    link = url_for("auth.password_link", token=token, _external=True)
    opening = ("Your practice created an EPCS Portal account for you" if welcome
               else "Your practice admin sent you a link to choose a new EPCS Portal password")
    try:
        send_mail(user.email, "Choose your EPCS Portal password",
                  f"Hello {user.first_name},\n\n{opening} (username {user.username}). Open this link within "
                  f"{minutes} minutes to choose your password; it works once.\n\n{link}\n\n"
                  "If you did not expect this, tell your practice admin.\n", user_id=user.id)
    except SendError:
        return False
    return True


@bp.route("/users")
def users():
    rows = [(user, accounts.locks(user)) for user in db.session.scalars(select(User).order_by(User.name, User.id))]
    return render_template("admin/users.html", rows=rows, form=EmptyForm(), roles=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
def create_user():
    """Cases: no fresh second factor (give one first, then the form); a field breaking its rule
    (message on it, the rest kept; never the SSN digits); created (and the link e-mailed)."""
    detour = _fresh(url_for("admin.create_user"))
    if detour:
        return detour
    form = CreateUserForm()
    if form.validate_on_submit():
        user, token = accounts.create(username=form.username.data, role=form.role.data, name=form.name.data,
                                      email=form.email.data, actor=current_user, dob=form.dob.data or None,
                                      ssn_last4=form.ssn_last4.data or None, dea=form.dea.data or None,
                                      admin_rights=form.admin_rights.data)
        db.session.commit()
        if _mail_password_link(user, token, welcome=True):
            flash(f"{user.name} can now choose a password: we e-mailed a link to {_masked(user.email)}.", "success")
        else:
            flash(f"{user.name}'s account is created, but the e-mail did not go out. Use Reset password to send "
                  "the link again.", "error")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    user = _someone_else(user_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("admin.users"))
    if user.id == current_user.id:
        flash(accounts.NOT_YOURSELF, "error")
        return redirect(url_for("admin.users"))
    detour = _fresh(url_for("admin.users"))
    if detour:
        return detour
    token = accounts.password_link(user, current_user)
    db.session.commit()
    if _mail_password_link(user, token, welcome=False):
        flash(f"We e-mailed {user.name} a one-time link to choose a new password ({_masked(user.email)}).", "success")
    else:
        flash("The e-mail did not go out. Check the mail settings and try again.", "error")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    user = _someone_else(user_id)
    if EmptyForm().validate_on_submit():
        if user.id == current_user.id:
            flash(accounts.NOT_YOURSELF, "error")
        else:
            accounts.deactivate(user, current_user)
            db.session.commit()
            flash(f"{user.name} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    user = _someone_else(user_id)
    if EmptyForm().validate_on_submit():
        detour = _fresh(url_for("admin.users"))
        if detour:
            return detour
        accounts.reactivate(user, current_user)
        db.session.commit()
        flash(f"{user.name} can sign in again.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/unlock", methods=["GET", "POST"])
def unlock(user_id: int):
    """Unlock: what is locked, and the reason. Cases: yourself (another admin does it); no fresh
    second factor (give one first, then the form); no reason (message on the field, nothing
    changed); otherwise every lock lifts and the audit log says why."""
    user = _someone_else(user_id)
    if user.id == current_user.id:
        flash(accounts.NOT_YOURSELF, "error")
        return redirect(url_for("admin.users"))
    detour = _fresh(url_for("admin.unlock", user_id=user.id))
    if detour:
        return detour
    form = UnlockForm()
    if form.validate_on_submit():
        lifted = accounts.unlock(user, form.reason.data, actor=current_user, via=f"admin {current_user.username}")
        db.session.commit()
        what = ", ".join(lock.label for lock in lifted) or "nothing was locked"
        flash(f"{user.name} is unlocked ({what}).", "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/unlock.html", form=form, user=user, locks=accounts.locks(user))
