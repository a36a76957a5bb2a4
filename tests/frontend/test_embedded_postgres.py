"""The embedded server is shared, stopped by its last user, and recovered after kill -9."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from frontend.embedded_postgres import handle_pids_prune

START_SERVER = """
import sys, time
from pathlib import Path
from frontend.embedded_postgres import embedded_postgres_start
print(embedded_postgres_start(Path(sys.argv[1])), flush=True)
if sys.argv[2] == "stay":
    time.sleep(600)
"""
ROOT = Path(__file__).resolve().parents[2]


def server_user(pgdata: Path, mode: str) -> subprocess.Popen:
    """Start a Python process that attaches to the embedded server in `pgdata`."""
    process = subprocess.Popen([sys.executable, "-c", START_SERVER, str(pgdata), mode],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    assert process.stdout.readline().strip(), "the server did not start"
    return process


def postmaster(pgdata: Path) -> psutil.Process:
    return psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))


def wait_gone(process: psutil.Process, seconds: float = 20) -> bool:
    try:
        process.wait(seconds)
    except psutil.TimeoutExpired:
        return False
    return True


@pytest.fixture
def pgdata(tmp_path):
    path = tmp_path / "pgdata"
    yield path
    if (path / "postmaster.pid").exists():  # never leave a server behind a failed test
        try:
            server = postmaster(path)
            server.terminate()
            wait_gone(server, 10)
        except psutil.NoSuchProcess:
            pass


def test_server_outlives_users_until_the_last_one_exits(pgdata):
    staying = server_user(pgdata, "stay")
    server = postmaster(pgdata)

    server_user(pgdata, "exit").wait(30)
    assert server.is_running(), "a second user's exit must not stop a server still in use"

    staying.send_signal(signal.SIGINT)  # Ctrl-C: Python exits through its atexit hooks
    staying.wait(30)
    assert wait_gone(server), "the last user's exit stops the server"


def test_server_orphaned_by_kill_9_is_adopted_and_stopped(pgdata):
    killed = server_user(pgdata, "stay")
    server = postmaster(pgdata)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(10)
    time.sleep(0.5)
    assert server.is_running(), "kill -9 leaves the server running"

    server_user(pgdata, "exit").wait(30)

    assert wait_gone(server), "the next user adopts the orphan and stops it on exit"


def test_the_last_user_stops_the_server_although_another_was_killed(pgdata):
    owner = server_user(pgdata, "stay")
    server = postmaster(pgdata)
    killed = server_user(pgdata, "stay")
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(10)

    owner.send_signal(signal.SIGINT)
    owner.wait(30)

    assert wait_gone(server), "a killed user's stale handle must not keep the server alive"


def test_the_last_user_stops_a_server_that_was_restarted_with_pg_ctl(pgdata):
    from embedded_postgres._commands import pg_ctl

    owner = server_user(pgdata, "stay")
    before = postmaster(pgdata)
    # As an operator (or tests/frontend/test_database_restart.py) would.
    pg_ctl(["restart", "-w", "-t", "60", "-m", "fast", "-l", str(pgdata / "restart.log")],
           pgdata=pgdata, user="embedded_postgres" if os.geteuid() == 0 else None,
           timeout=90)
    server = postmaster(pgdata)
    assert server.pid != before.pid
    # The old postmaster can linger a moment after the restart; while it does, the package
    # still stops the server on exit, so wait until it has really gone.
    assert wait_gone(before, 10)

    owner.send_signal(signal.SIGINT)
    owner.wait(30)

    assert wait_gone(server), "the restarted server must stop with its last user"


def test_prune_keeps_live_pids_and_drops_dead_ones(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".handle_pids.json").write_text(f"[{os.getpid()}, {dead.pid}]")

    assert handle_pids_prune(tmp_path) == [dead.pid]
    assert (tmp_path / ".handle_pids.json").read_text() == f"[{os.getpid()}]"


def test_prune_survives_a_corrupt_handle_file(tmp_path):
    (tmp_path / ".handle_pids.json").write_text("{not json")

    assert handle_pids_prune(tmp_path) == []
    assert not (tmp_path / ".handle_pids.json").exists()


def test_server_settings_are_stored_once_and_survive_a_restart(pgdata):
    """A search server needs more than PostgreSQL's defaults (128 MB of shared buffers did
    not hold the vector indexes of a 20k-product catalog)."""
    import psycopg

    from frontend.embedded_postgres import SERVER_SETTINGS, server_settings_apply

    def started(mode: str) -> tuple[subprocess.Popen, str]:
        process = subprocess.Popen([sys.executable, "-c", START_SERVER, str(pgdata), mode],
                                   cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        return process, process.stdout.readline().strip()

    first, _ = started("exit")  # a new server: the settings are stored, pending a restart
    first.wait(timeout=60)
    second, socket_dir = started("stay")
    try:
        with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres") as db:
            for name, value in SERVER_SETTINGS.items():
                assert db.execute(f"SHOW {name}").fetchone()[0] == value
        assert server_settings_apply(Path(socket_dir), SERVER_SETTINGS) == []
    finally:
        second.terminate()
        second.wait(timeout=60)
