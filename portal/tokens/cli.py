"""flask --app app tokens import FILE [--psk HEX] · tokens simulate SERIAL [--press N]"""

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .inventory import MAX_PRESSES, SimulatorError, import_seed_file, parse_psk, simulate

tokens = AppGroup("tokens", help="Hardware OATH tokens: the inventory and the simulator.")


@tokens.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--psk", metavar="HEX", help="The pre-shared AES key of an encrypted PSKC file, in hex.")
def import_command(file: Path, psk: str | None):
    """Import a vendor seed file: CSV (serial,seed_hex[,type,digits,period]) or PSKC XML (RFC 6030).
    All or nothing: any rejected row imports nothing (exit status 1)."""
    try:
        key = parse_psk(psk)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    report = import_seed_file(file.read_bytes(), filename=file.name, psk=key)
    if report.error:
        raise click.ClickException(f"{report.error}. Nothing was imported.")
    if report.rejected:
        click.echo(f"Rejected: {len(report.rejected)} rows of {file.name}; nothing was imported.", err=True)
        for row in report.rejected:
            click.echo(f"  {row.row}: {row.reason}", err=True)
        sys.exit(1)
    click.echo(f"Imported: {len(report.imported)} tokens from {file.name}.")
    if report.duplicates:
        click.echo(f"Duplicates: {len(report.duplicates)} already in the inventory, skipped: "
                   + ", ".join(report.duplicates))


@tokens.command("simulate")
@click.argument("serial")
@click.option("--press", "presses", default=1, show_default=True, type=click.IntRange(1, MAX_PRESSES),
              help="How many times to press the button.")
def simulate_command(serial: str, presses: int):
    """Print the codes the token shows for N presses of its button, one a line. The server's counter
    does not move; the simulated token's own counter does, as a real token's would."""
    try:
        codes = simulate(serial, presses)
    except SimulatorError as exc:
        raise click.ClickException(str(exc)) from None
    for code in codes:
        click.echo(code)


def register(app: Flask) -> None:
    app.cli.add_command(tokens)
