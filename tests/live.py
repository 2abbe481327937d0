"""A real portal under gunicorn (several worker processes) for the multi-worker and fault tests,
and a small browser-like HTTP client that reads CSRF tokens and secret keys off the pages."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PASSWORD = "correct horse battery"


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, env: dict, workers: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.workers = workers
        self.proc = None

    def start(self) -> "Gunicorn":
        # the log goes to a file: a pipe nobody reads until the end fills up and blocks the workers
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 — open for the server's life, closed in stop()
        self.proc = subprocess.Popen(
            [GUNICORN, "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "30",
             "--graceful-timeout", "2", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.output()}")
            try:
                if requests.get(self.url + "/login", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        output = self.output()
        self.log.close()
        return output


class Browser:
    """One person's browser: its own cookies; forms posted with the page's CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **kw) -> requests.Response:
        r = self.http.get(self.base + path, allow_redirects=kw.pop("allow_redirects", True), timeout=30, **kw)
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', r.text) or re.search(
            r'name="csrf_token" value="([^"]+)"', r.text)
        if found:
            self.token = found.group(1)
        return r

    def post(self, path: str, data: dict | None = None, **kw) -> requests.Response:
        return self.http.post(self.base + path, data={"csrf_token": self.token, **(data or {})},
                              allow_redirects=kw.pop("allow_redirects", False), timeout=30, **kw)

    def sign_in(self, username: str, password: str = PASSWORD) -> requests.Response:
        self.get("/login")
        return self.post("/login", {"username": username, "password": password})

    def secret_key(self) -> str:
        page = self.get("/security/code-generator/scan").text
        return re.search(r'class="secret-key"[^>]*><code>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
