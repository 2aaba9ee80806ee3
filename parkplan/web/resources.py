"""What a running server owns: per process, its open workspaces and its thread pool.

:func:`parkplan.web.server.serve` makes one :class:`ServerResources` and hands it to the
API's handlers and to every page it builds, so that a server process opens each workspace
once and shares it between the app's sessions and the API. Everything is keyed by process
id too: ``--num-procs`` forks the server after the object is made, and forked processes
must never share an engine (or its connections) or a pool made before the fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from parkplan.store import Workspace

if TYPE_CHECKING:
    from parkplan.ui.state import Services

#: Exceptions that mean "the database cannot be reached right now".
DB_DOWN_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)


def is_db_unavailable(err: BaseException | None) -> bool:
    """Whether ``err`` (or what caused it) says the database cannot be reached.

    Parameters
    ----------
    err : BaseException or None

    Returns
    -------
    bool
    """
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, DB_DOWN_ERRORS):
            return True
        if isinstance(err, sa.exc.DBAPIError) and err.connection_invalidated:
            return True
        err = err.__cause__ or err.__context__
        seen += 1
    return False


class ServerResources:
    """A server's workspaces, the app's shared services and the blocking-work pool.

    Parameters
    ----------
    max_workers : int
        Threads of each process's pool for blocking work (hashing, database).
    """

    def __init__(self, max_workers: int = 8) -> None:
        self.max_workers = max_workers
        self._lock = threading.Lock()
        self._workspaces: dict[tuple[int, str], Workspace] = {}
        self._executors: dict[int, ThreadPoolExecutor] = {}
        self._services: dict[tuple[int, str], Services] = {}

    def workspace(self, location: str) -> Workspace:
        """Return this process's workspace for ``location``, opening it on first use.

        Parameters
        ----------
        location : str
            Workspace path or URL.

        Returns
        -------
        Workspace
        """
        key = (os.getpid(), location)
        with self._lock:
            ws = self._workspaces.get(key)
            if ws is None:
                ws = self._workspaces[key] = Workspace.open(location)
            return ws

    def executor(self) -> ThreadPoolExecutor:
        """Return this process's thread pool for blocking work (made after any fork)."""
        pid = os.getpid()
        with self._lock:
            pool = self._executors.get(pid)
            if pool is None:
                pool = self._executors[pid] = ThreadPoolExecutor(
                    max_workers=self.max_workers, thread_name_prefix="parkplan-api"
                )
            return pool

    def services(self, location: str, clock: Callable[[], datetime] | None = None) -> Services:
        """Return this process's app services on ``location`` (shared by its sessions).

        Parameters
        ----------
        location : str
            Workspace path or URL.
        clock : callable, optional
            The app's "now" (default the real clock).

        Returns
        -------
        parkplan.ui.state.Services
        """
        from parkplan.ui.state import Services

        workspace = self.workspace(location)
        key = (os.getpid(), location)
        with self._lock:
            svc = self._services.get(key)
            if svc is None:
                extra = {} if clock is None else {"clock": clock}
                svc = self._services[key] = Services(workspace, **extra)
            return svc


__all__ = ["DB_DOWN_ERRORS", "ServerResources", "is_db_unavailable"]
