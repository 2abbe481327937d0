"""flask --app app init-db · demo · users create · unlock · audit verify · audit report"""

import os
import secrets
import sys
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from . import SECRET_KEY_FILE, VAULT_KEY_FILE, _load_keys, accounts, audit, demo, incidents
from .accounts import create_user
from .clock import now
from .dea import dea_problem
from .extensions import db
from .models import ROLES, User
from .passwords import password_problem


def _write_key(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")


def init_db() -> None:
    app = current_app._get_current_object()
    instance = Path(app.instance_path)
    from .vault import new_key

    try:
        instance.mkdir(parents=True, exist_ok=True)
        for name, setting, make in ((SECRET_KEY_FILE, "PORTAL_SECRET_KEY", lambda: secrets.token_hex(32)),
                                    (VAULT_KEY_FILE, "PORTAL_VAULT_KEY", new_key)):
            path = instance / name
            if not app.config.get(setting) and not path.exists():
                _write_key(path, make())
                click.echo(f"Generated {path}")
    except OSError as exc:
        raise click.ClickException(
            f"Cannot write the instance folder {instance}: {exc.strerror}. Check that it is a folder, "
            "that the portal's user may write it, and that the disk is not full "
            "(or set PORTAL_SECRET_KEY and PORTAL_VAULT_KEY).") from exc
    _load_keys(app, instance)
    try:
        upgrade(directory=app.extensions["migrate"].directory)
    except OperationalError as exc:
        raise click.ClickException(f"Cannot create or upgrade the database: {exc.orig}.") from exc
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


def register(app: Flask) -> None:
    from .tokens.cli import register as register_tokens

    register_tokens(app)

    @app.cli.command("init-db")
    def init_db_command():
        """Create or upgrade the database; generate the instance keys if missing."""
        init_db()

    @app.cli.command("demo")
    def demo_command():
        """Seed the demo clinic (once) and print its sign-ins."""
        demo.seed()
        db.session.commit()
        click.echo("Demo sign-ins (the first sign-in is password only, then: Set up your first device):")
        for username, role, name, *_ in demo.DEMO_USERS:
            click.echo(f"  {role:<9} {name:<13} username {username:<10} password {demo.demo_password(username)}")

    users = AppGroup("users", help="Manage portal users.")
    app.cli.add_command(users)

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--name", required=True)
    @click.option("--email", required=True)
    @click.option("--password", help="Prompted for when left out.")
    @click.option("--dob", help="Date of birth YYYY-MM-DD (kept as a keyed hash, for lost-phone recovery).")
    @click.option("--ssn-last4", help="Last four of the SSN (kept as a keyed hash).")
    @click.option("--dea", help="DEA registration number (providers).")
    @click.option("--admin", "admin_rights", is_flag=True, help="Give admin rights (e.g. a registrant admin).")
    def users_create(username, role, name, email, password, dob, ssn_last4, dea, admin_rights):
        """Create a user."""
        if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
            raise click.ClickException(f"A user named {username} already exists.")
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problems = [p for p in (
            password_problem(password),
            dea_problem(dea) if dea else None,
            "--dob must be YYYY-MM-DD" if dob and not _is_date(dob) else None,
            "--ssn-last4 must be 4 digits" if ssn_last4 and not (len(ssn_last4) == 4 and ssn_last4.isascii()
                                                                  and ssn_last4.isdigit()) else None,
        ) if p]
        if problems:
            raise click.ClickException(" ".join(problems))
        create_user(username, role, name, email, password, dob=dob, ssn_last4=ssn_last4, dea=dea,
                    admin_rights=admin_rights)
        db.session.commit()
        click.echo(f"Created {role} {username.lower()}.")

    @app.cli.command("unlock")
    @click.argument("username")
    @click.option("--reason", required=True, help="Why (written to the audit log).")
    def unlock_command(username, reason):
        """Lift every lock on a user (password, codes, PIN, recovery)."""
        user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None:
            raise click.ClickException(f"No user named {username}.")
        if not reason.strip():
            raise click.ClickException(accounts.NO_REASON)
        lifted = accounts.unlock(user, reason, actor=None, via="CLI")
        db.session.commit()
        what = ", ".join(lock.label for lock in lifted) or "nothing was locked"
        click.echo(f"Unlocked {user.username}: {what}.")

    audit_group = AppGroup("audit", help="The audit trail.")
    app.cli.add_command(audit_group)

    @audit_group.command("verify")
    def audit_verify():
        """Recompute the hash chain; exit 1 if it is broken."""
        report = audit.verify(db.session)
        if report.ok:
            click.echo(f"Audit chain intact: {report.events} events.")
            return
        click.echo(f"Audit chain BROKEN at event {report.first_bad_id}: {report.reason}.", err=True)
        for event_id, reason in report.problems[1:]:
            click.echo(f"  also event {event_id}: {reason}.", err=True)
        sys.exit(1)

    @audit_group.command("report")
    @click.option("--day", help="YYYY-MM-DD (UTC); today when left out.")
    def audit_report(day):
        """The day's incident report: failures, locks, denied pushes, refused staff access,
        permission changes, recoveries."""
        if day is not None and not _is_date(day):
            raise click.ClickException("--day must be YYYY-MM-DD")
        when = date.fromisoformat(day) if day else now().date()
        click.echo(incidents.as_text(incidents.daily(db.session, when)))


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
