"""Faults at start: an instance folder that cannot be written, a server without keys. (A worker
killed mid-wizard is in tests/test_workers.py.)"""

import os

from portal import create_app


def test_init_db_with_an_instance_folder_it_cannot_write_says_so(tmp_path, keys, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the instance folder should be")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_VAULT_KEY", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    app.instance_path = str(blocker / "instance")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code != 0
    assert "Cannot write" in result.output and "Traceback" not in result.output


def test_wsgi_without_keys_refuses_with_a_message_not_a_traceback(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    out = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=os.path.dirname(os.path.dirname(__file__)),
                         env={**env, "PORTAL_INSTANCE_PATH": str(tmp_path)}, capture_output=True, text=True)
    assert out.returncode != 0
    assert "init-db" in out.stderr and "Traceback" not in out.stderr
