"""flask tokens import / simulate: the inventory from the vendor's seed file, and the token simulator.
Codes are checked against the RFC 4226 Appendix D table, tests/otp_reference.py and Debian's oathtool."""

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, HardwareToken
from tests.otp_reference import rfc4226_hotp, rfc6238_step

DATA = Path(__file__).parent / "data"
RFC4226_SEED = b"12345678901234567890"
# RFC 4226 Appendix D: HOTP values of the test seed for counters 0 to 9 (the 6-digit codes are the last six)
APPENDIX_D = ["1284755224", "1094287082", "137359152", "1726969429", "1640338314",
              "868254676", "1918287922", "82162583", "673399871", "645520489"]
RFC6030_PSK_HEX = "12345678901234567890123456789012"


def tokens(app) -> dict[str, HardwareToken]:
    with app.app_context():
        rows = db.session.scalars(select(HardwareToken)).all()
        db.session.expunge_all()
        return {t.serial: t for t in rows}


def import_file(runner, path, *extra):
    return runner.invoke(args=["tokens", "import", str(path), *extra])


def oathtool(*args: str) -> list[str]:
    if shutil.which("oathtool") is None:
        pytest.skip("oathtool is not installed (make test installs it)")
    return subprocess.run(["oathtool", *args], check=True, capture_output=True, text=True).stdout.split()


def test_csv_import_seals_the_seeds_and_reports(app, runner):
    r = import_file(runner, DATA / "tokens.csv")
    assert r.exit_code == 0, r.output
    assert "Imported: 3 tokens from tokens.csv." in r.output
    found = tokens(app)
    assert set(found) == {"GALH00000001", "GALH00000002", "GALH00000003"}
    first = found["GALH00000001"]
    assert (first.kind, first.digits, first.counter, first.status, first.user_id) == ("hotp", 6, 0, "unassigned", None)
    assert (found["GALH00000002"].kind, found["GALH00000002"].digits) == ("totp", 8)
    assert found["GALH00000003"].period == 60
    # encrypted at rest: neither the raw nor the hex seed is in the column, and the vault opens it
    assert RFC4226_SEED.hex() not in first.seed and "12345678901234567890" not in first.seed
    with app.app_context():
        assert app.extensions["vault"].open(first.seed) == RFC4226_SEED
        assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "tokens_imported")) \
            == "3 tokens from tokens.csv"


def test_importing_the_same_file_again_reports_duplicates_and_changes_nothing(app, runner):
    import_file(runner, DATA / "tokens.csv")
    r = import_file(runner, DATA / "tokens.csv")
    assert r.exit_code == 0, r.output
    assert "Imported: 0 tokens" in r.output
    assert "Duplicates: 3 already in the inventory, skipped: GALH00000001, GALH00000002, GALH00000003" in r.output
    assert len(tokens(app)) == 3


def test_pskc_plain_and_pre_shared_key_files(app, runner):
    r = import_file(runner, DATA / "gal_tokens.pskcxml")
    assert r.exit_code == 0 and "Imported: 2 tokens" in r.output, r.output
    r = import_file(runner, DATA / "rfc6030_psk.pskcxml")
    assert r.exit_code == 1
    assert "supply that key" in r.output and "Nothing was imported" in r.output
    r = import_file(runner, DATA / "rfc6030_psk.pskcxml", "--psk", "00" * 16)
    assert r.exit_code == 1 and "Nothing was imported" in r.output
    r = import_file(runner, DATA / "rfc6030_psk.pskcxml", "--psk", "not hex")
    assert r.exit_code == 1 and "hexadecimal" in r.output
    assert "987654321" not in tokens(app)
    r = import_file(runner, DATA / "rfc6030_psk.pskcxml", "--psk", RFC6030_PSK_HEX)
    assert r.exit_code == 0 and "Imported: 1 tokens" in r.output, r.output
    token = tokens(app)["987654321"]
    assert (token.kind, token.digits, token.counter) == ("hotp", 8, 0)
    with app.app_context():
        assert app.extensions["vault"].open(token.seed) == RFC4226_SEED
    # the plain RFC 6030 file holds the same token: a duplicate, not a conflict
    r = import_file(runner, DATA / "rfc6030_plain.pskcxml")
    assert r.exit_code == 0 and "Duplicates: 1" in r.output


def test_a_bad_row_imports_nothing_and_names_the_row(app, runner, tmp_path):
    bad = tmp_path / "vendor.csv"
    bad.write_text(f"serial,seed\nGALH1,{RFC4226_SEED.hex()}\nGALH2,abcd\nGALH3,{RFC4226_SEED.hex()},hotp,7\n"
                   f"GALH1,{RFC4226_SEED.hex()}\n")
    r = import_file(runner, bad)
    assert r.exit_code == 1
    assert "Rejected: 3 rows of vendor.csv; nothing was imported." in r.output
    assert "line 3: seed (hex) must be 16 to 64 bytes, not 2" in r.output
    assert "line 4: digits must be 6 or 8" in r.output
    assert "line 5: serial GALH1 appears twice in this file (first at line 2)" in r.output
    assert tokens(app) == {}


def test_a_known_serial_with_another_seed_is_rejected(app, runner, tmp_path):
    import_file(runner, DATA / "tokens.csv")
    other = tmp_path / "more.csv"
    other.write_text(f"GALH00000009,{'ab' * 20}\nGALH00000001,{'cd' * 20}\n")
    r = import_file(runner, other)
    assert r.exit_code == 1
    assert "line 2: serial GALH00000001 is already in the inventory with another seed or type" in r.output
    assert "GALH00000009" not in tokens(app)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"just some words", "not a CSV or PSKC seed file"),
    (b"<KeyContainer><oops></KeyContainer>", "not well-formed XML"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><KeyContainer/>', "DOCTYPE or ENTITY"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV or PSKC seed file"),
])
def test_unreadable_files_import_nothing(app, runner, tmp_path, content, message):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    r = import_file(runner, path)
    assert r.exit_code == 1 and message in r.output and "Nothing was imported" in r.output
    assert tokens(app) == {}


def test_simulate_prints_the_next_codes_and_moves_only_the_simulated_token(app, runner):
    import_file(runner, DATA / "tokens.csv")
    r = runner.invoke(args=["tokens", "simulate", "galh 0000 0001", "--press", "3"])
    assert r.exit_code == 0, r.output
    assert r.output.split() == [v[-6:] for v in APPENDIX_D[:3]]
    r = runner.invoke(args=["tokens", "simulate", "GALH00000001"])
    assert r.output.split() == [APPENDIX_D[3][-6:]]
    token = tokens(app)["GALH00000001"]
    assert token.counter == 0 and token.simulator_counter == 4  # the server has seen none of them


def test_simulate_agrees_with_oathtool(app, runner):
    import_file(runner, DATA / "tokens.csv")
    runner.invoke(args=["tokens", "simulate", "GALH00000001", "--press", "500"])
    r = runner.invoke(args=["tokens", "simulate", "GALH00000001", "--press", "2"])
    assert r.output.split() == oathtool("--hotp", "-c", "500", "-w", "1", RFC4226_SEED.hex())
    assert r.output.split() == [rfc4226_hotp(RFC4226_SEED, 500), rfc4226_hotp(RFC4226_SEED, 501)]


def test_simulate_totp_token_shows_the_codes_of_now_and_the_next_steps(app, runner, clock):
    import_file(runner, DATA / "tokens.csv")
    seed = b"12345678901234567890123456789012"
    r = runner.invoke(args=["tokens", "simulate", "GALH00000002", "--press", "2"])
    step = rfc6238_step(clock.now)
    assert r.output.split() == [rfc4226_hotp(seed, step, 8), rfc4226_hotp(seed, step + 1, 8)]
    epoch = int((clock.now - datetime(1970, 1, 1)).total_seconds())
    assert r.output.split()[0] == oathtool("--totp", "-d", "8", "-N", f"@{epoch}", seed.hex())[0]


def test_simulate_refuses_unknown_revoked_and_silly_presses(app, runner):
    import_file(runner, DATA / "tokens.csv")
    assert "No token NOPE1 in the inventory" in runner.invoke(args=["tokens", "simulate", "nope1"]).output
    assert runner.invoke(args=["tokens", "simulate", "GALH00000001", "--press", "0"]).exit_code != 0
    with app.app_context():
        db.session.execute(HardwareToken.__table__.update().values(status="revoked"))
        db.session.commit()
        assert db.session.scalar(select(func.count(HardwareToken.id))) == 3
    assert "is revoked" in runner.invoke(args=["tokens", "simulate", "GALH00000001"]).output
