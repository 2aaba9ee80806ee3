"""A real ``parkplan serve`` for tests and benchmarks: start it, call it over HTTP, stop it.

:func:`serve` runs the command in its own process group on a free 127.0.0.1 port and
yields a :class:`Server` once ``/liveness`` answers; :func:`request` sends one request with
the standard library's ``http.client`` and decodes JSON answers; :func:`basic` makes an
HTTP Basic header for a demo account. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parkplan.data import data_path
from parkplan.identity.credentials import demo_password

#: Seconds any one request may take.
REQUEST_TIMEOUT = 30.0
#: The cookie secret the served app signs with (tests only: it is public).
TEST_COOKIE_SECRET = "load-test-cookie-secret-" + "x" * 32


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic(user: str, password: str | None = None) -> str:
    """Return an ``Authorization`` header value for ``user`` (default: the demo password).

    Parameters
    ----------
    user : str
    password : str, optional

    Returns
    -------
    str
    """
    raw = f"{user}:{password if password is not None else demo_password(user)}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


@dataclass
class Server:
    """A running ``parkplan serve`` (its own process group), its URL and log file."""

    proc: subprocess.Popen
    url: str
    port: int
    log_file: Path
    output: Path

    def stop(self, timeout: float = 20) -> None:
        """Stop every process of the server (SIGTERM to the group, then SIGKILL).

        Parameters
        ----------
        timeout : float
            Seconds to wait for the processes to end before killing them.
        """
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # forked children may outlive the parent by a moment
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def _command(location: str, port: int, procs: int, credentials: Path, log_file: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from parkplan.cli import app; app()",
        "serve",
        "--workspace",
        location,
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--credentials",
        str(credentials),
        "--num-procs",
        str(procs),
        "--log-file",
        str(log_file),
    ]


@contextlib.contextmanager
def serve(
    location: str,
    workdir: Path,
    *,
    procs: int = 1,
    credentials: Path | None = None,
    extra: tuple[str, ...] = (),
    startup_timeout: float = 90,
) -> Iterator[Server]:
    """Start ``parkplan serve`` on ``location``; yield a :class:`Server`; stop it.

    Parameters
    ----------
    location : str
        Workspace path or URL.
    workdir : Path
        Where the server's log and output go (made if missing).
    procs : int
        ``--num-procs``.
    credentials : Path, optional
        The credentials file (default the demo's, ``data/demo-credentials.json``).
    extra : tuple of str
        More options for ``parkplan serve``.
    startup_timeout : float
        Seconds to wait for ``/liveness`` to answer.

    Yields
    ------
    Server

    Raises
    ------
    RuntimeError
        If the server exits or does not answer in time (with its output).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_file = workdir / "parkplan-serve.log"
    output = workdir / "parkplan-serve.out"
    if credentials is None:
        credentials = data_path("demo-credentials.json")
    # the child's environment only: the server itself is configured by its options
    env = {**os.environ, "PARKPLAN_COOKIE_SECRET": TEST_COOKIE_SECRET}
    with open(output, "w") as out:
        proc = subprocess.Popen(
            [*_command(location, port, procs, credentials, log_file), *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", port, log_file, output)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                status, _, _ = request(server.url, "GET", "/liveness", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + output.read_text())
            time.sleep(0.3)
        yield server
    finally:
        server.stop()


def request(
    url: str,
    method: str,
    path: str,
    body: dict | None = None,
    auth: str | None = None,
    timeout: float = REQUEST_TIMEOUT,
    conn: http.client.HTTPConnection | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, Any]:
    """Send one request; return ``(status, decoded JSON or text, headers)``.

    Parameters
    ----------
    url : str
        The server's ``http://host:port``.
    method, path : str
    body : dict, optional
        Sent as JSON.
    auth : str, optional
        The ``Authorization`` header (see :func:`basic`).
    timeout : float
    conn : http.client.HTTPConnection, optional
        A keep-alive connection to reuse (default: a new one, closed afterwards).
    headers : dict, optional
        More request headers.

    Returns
    -------
    (int, object, http.client.HTTPMessage)
        The status, the JSON-decoded body (or its text) and the case-insensitive headers.
    """
    own = conn is None
    if own:
        host = url.split("://", 1)[1]
        conn = http.client.HTTPConnection(host, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            decoded = raw.decode("utf-8", "replace")
        return resp.status, decoded, resp.headers
    finally:
        if own:
            conn.close()


__all__ = ["REQUEST_TIMEOUT", "Server", "basic", "free_port", "request", "serve"]
