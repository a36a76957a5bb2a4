"""Start local Celery worker processes and wait until each can take tasks.

For the distributed indexing benchmark and tests; in production workers are started by
the service manager (`celery -A frontend.celery worker`, see docs/scaling.md).
"""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from search.tasks import index_products

REPO = Path(__file__).resolve().parent.parent


class WorkersNotReady(RuntimeError):
    """A worker exited or did not take its first task in time."""


def database_url(settings_dict: dict) -> str:
    """Return a DATABASE_URL for the server and database of a connection's settings.

    Worker processes get it in their environment, so they write where this process reads
    (the embedded server's Unix socket, or a test database).
    """
    host = quote(str(settings_dict["HOST"] or ""), safe="")
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    password = f":{quote(settings_dict['PASSWORD'], safe='')}" if settings_dict["PASSWORD"] else ""
    return (f"postgres://{quote(settings_dict['USER'], safe='')}{password}@{host}{port}/"
            f"{settings_dict['NAME']}")


def redis_start(timeout: float = 10) -> tuple[subprocess.Popen, str]:
    """Start Debian's redis-server, memory only, on a free local port; return it and its URL."""
    server = shutil.which("redis-server")
    if server is None:
        raise FileNotFoundError("redis-server is not installed (make redis installs it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"redis://127.0.0.1:{port}/0"
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.1)


def worker_start(name: str, env: dict, log: Path) -> subprocess.Popen:
    """Start worker `name@local`: one task at a time, from the shared queue and its own queue."""
    command = [sys.executable, "-m", "celery", "-A", "frontend.celery", "worker",
               "--concurrency", "1", "--hostname", f"{name}@local", "--queues", f"celery,{name}",
               "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    with open(log, "wb") as output:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=output,
                                stderr=subprocess.STDOUT)


def workers_ready(names: list[str], processes: list[subprocess.Popen], *,
                  timeout: float = 120) -> list[str]:
    """Wait until every worker has run an empty batch from its own queue; return their names.

    A worker answers pings before its pool process has loaded the models, so only a task
    that came back proves the worker can index.
    """
    warmups = [index_products.apply_async(([],), queue=name) for name in names]
    deadline = time.monotonic() + timeout
    for warmup in warmups:
        while not warmup.ready():
            exited = [process.args for process in processes if process.poll() is not None]
            if exited:
                raise WorkersNotReady(f"worker exited: {exited}")
            if time.monotonic() > deadline:
                raise WorkersNotReady(f"workers not ready after {timeout:.0f} s")
            time.sleep(0.2)
    return [warmup.get()["worker"] for warmup in warmups]


def workers_stop(processes: list[subprocess.Popen], *, timeout: float = 15) -> None:
    """Stop workers gracefully (finishing their current task), killing any that hang."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
