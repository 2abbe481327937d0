"""The load script in a short form: simulated providers sign in, set up a code generator and
browse, against gunicorn; no request may fail with a 5xx (speed is reported by make load, never
asserted here)."""


import pytest

from bench.load import run
from tests.conftest import BACKENDS, make_database


@pytest.mark.parametrize("kind", BACKENDS)
def test_short_load_has_no_server_errors(kind, tmp_path_factory):
    url, drop = make_database(kind, tmp_path_factory)
    try:
        rec = run(providers=8, seconds=4, database_url=url, workers=4 if kind == "postgresql" else 2)
    finally:
        drop()
    assert rec.server_errors == 0, dict(rec.errors)
    assert not rec.errors, dict(rec.errors)
    assert len(rec.times["GET /security"]) >= 8  # every provider got through the wizard to the page
    assert "Traceback" not in rec.server_log and "database is locked" not in rec.server_log
