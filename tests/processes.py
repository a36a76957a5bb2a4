"""Run the app's real processes (commands, gunicorn) against the test database.

The crash tests kill and restart real processes, so those processes must see the rows the
test writes and the test must see theirs: they get DATABASE_URL pointing at the test
database (on the same server, over its Unix socket) and the test's MEDIA_ROOT. Tests using
them need committed data: `pytest.mark.django_db(transaction=True)`.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "crash-test-" + "Zq8!vL3#pW6@nR1$" * 4


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that uses the test database and media folder."""
    db = connection.settings_dict
    host = quote(db["HOST"], safe="")  # a socket folder: percent-encoded, as libpq URLs want
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    url = f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{db['NAME']}"
    return dict(os.environ, DATABASE_URL=url, MEDIA_ROOT=str(settings.MEDIA_ROOT), **extra)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """The production server (DEBUG off, gunicorn) in its own process group."""

    def __init__(self, log: Path, workers: int = 2, threads: int = 4, pages: bool = False,
                 **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = child_env(
            DEBUG="false", SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false", BIND=f"127.0.0.1:{self.port}",
            WEB_WORKERS=str(workers), WEB_THREADS=str(threads),
            RATE_LIMIT_EVENTS="1000000/min", RATE_LIMIT_SEARCH="1000000/min",
            STATIC_ROOT=str(log.parent / "static"), **env)
        self.log = log
        if pages:  # they name their CSS and JavaScript through collectstatic's manifest
            subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v",
                            "0"], cwd=ROOT, env=environment, check=True, timeout=300)
        with open(log, "w") as output:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "frontend.wsgi:application",
                 "-c", "frontend/gunicorn.conf.py", "--access-logfile", "-"],
                cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)  # one process group: master and workers die together

    def wait_ready(self, path: str, seconds: float = 90) -> None:
        """Wait until every worker answers `path` (any HTTP status)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log.read_text()}"
            try:
                self.get(path, timeout=5)
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"gunicorn did not answer within {seconds} s:\n"
                             f"{self.log.read_text()}")

    def request(self, method: str, path: str, body: dict | None = None,
                timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """Send one request; return status, headers and body, whatever the status."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, timeout=timeout)

    def kill(self) -> None:
        """kill -9 the master and every worker at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
