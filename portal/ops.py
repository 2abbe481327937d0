"""Operations commands: flask --app app backup FILE · keys new · keys rotate"""

import sqlite3
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .models import Device, HardwareToken, WizardState
from .vault import new_key

# every column that holds a vault-sealed value; `keys rotate` re-encrypts them all
SEALED_COLUMNS = [(Device, "secret"), (HardwareToken, "seed"), (WizardState, "payload")]
BATCH = 500


def backup_sqlite(target: Path) -> int:
    """A consistent copy of the live SQLite database (the online backup API: readers and writers
    carry on meanwhile). Returns the number of pages copied."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException("backup copies the SQLite database; for PostgreSQL use pg_dump (see README).")
    if target.exists():
        raise click.ClickException(f"{target} exists; choose a new file name.")
    source = sqlite3.connect(url.database)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
            return dest.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dest.close()
    finally:
        source.close()


def rotate_sealed() -> int:
    """Re-encrypt every sealed value with the first key of PORTAL_VAULT_KEY, in batches, each batch
    its own transaction; hosts that already know the new key keep serving meanwhile."""
    vault = current_app.extensions["vault"]
    count = 0
    for model, column in SEALED_COLUMNS:
        attr = getattr(model, column)
        last_id = 0
        while True:
            rows = db.session.scalars(select(model).where(model.id > last_id, attr.is_not(None))
                                      .order_by(model.id).limit(BATCH)).all()
            if not rows:
                break
            for row in rows:
                setattr(row, column, vault.rotate(getattr(row, column)))
                count += 1
            last_id = rows[-1].id
            db.session.commit()
    return count


def register(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(file: Path):
        """Copy the SQLite database consistently while the portal runs."""
        pages = backup_sqlite(file)
        click.echo(f"Backed up {pages} pages to {file}.")

    keys = AppGroup("keys", help="The seed-encryption (vault) key.")
    app.cli.add_command(keys)

    @keys.command("new")
    def keys_new():
        """Print a new vault key (to put first in PORTAL_VAULT_KEY)."""
        click.echo(new_key())

    @keys.command("rotate")
    def keys_rotate():
        """Re-encrypt every seed with the first key in PORTAL_VAULT_KEY."""
        click.echo(f"Re-encrypted {rotate_sealed()} sealed values with the first vault key.")
