"""The deployment, for real on the local PostgreSQL: several processes, logs, load, an outage.

* ``parkplan serve --num-procs 2`` on a PostGIS workspace serves the API from both
  processes and writes its log file; ``--secure-cookies`` marks the sign-in cookie Secure.
* A quick load test (5 users × 5 s): no errors but stale-version refusals, every accepted
  edit stored and journaled exactly once.
* PostgreSQL stopped under a running server: the API answers 503 with a clear message and
  the app's page says the database is unavailable (no traceback); started again, both
  work without restarting the server. The server stopped is a throwaway one the test starts
  for itself (``initdb``), so the shared one, and the tests using it, carry on.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from parkplan.services.demo import create_workspace
from parkplan.store.schemas import fresh_schema
from parkplan.web.api import DB_UNAVAILABLE
from parkplan.web.testing import basic, free_port, request, serve

pytestmark = pytest.mark.postgis
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg_demo(pg_schema_url) -> str:
    create_workspace(pg_schema_url, demo=True).close()
    return pg_schema_url


def _login(url: str, user: str) -> SimpleCookie:
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    try:
        conn.request(
            "POST",
            "/login",
            body=urlencode({"username": user, "password": f"{user}-demo"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        resp = conn.getresponse()
        resp.read()
        jar = SimpleCookie()
        for value in resp.headers.get_all("Set-Cookie") or []:
            jar.load(value)
        return jar
    finally:
        conn.close()


def _pids_in_log(log_file: Path) -> set[str]:
    pids = set()
    for line in log_file.read_text(encoding="utf-8").splitlines():
        if "tornado.access" in line and "/api/" in line:
            pids.add(line.split()[2])
    return pids


def test_serve_with_two_processes_on_postgresql(pg_demo, tmp_path):
    with serve(pg_demo, tmp_path, procs=2, extra=("--secure-cookies",)) as server:
        statuses = []

        def hit(_):
            status, body, _ = request(
                server.url, "GET", "/api/milestones?task=3", auth=basic("office")
            )
            return status

        seen: set[str] = set()
        with ThreadPoolExecutor(8) as pool:
            for _ in range(10):  # bounded: at most 10 × 16 requests
                statuses += list(pool.map(hit, range(16)))
                for h in server.log_file.parent.glob("*.log"):
                    seen = _pids_in_log(h)
                if len(seen) >= 2:
                    break
        assert statuses and set(statuses) == {200}
        assert len(seen) == 2, f"requests were served by processes {seen}"
        user = _login(server.url, "owner3")["user"]
        assert user["secure"] and user["httponly"] and user["samesite"].lower() == "lax"
    text = server.log_file.read_text(encoding="utf-8")
    assert "GET /api/milestones?task=3" in text and "/liveness" in text


def test_quick_load(pg_url, tmp_path):
    # Until 20 edits are accepted (the 300 s only bound a hung server): the test checks that
    # concurrent edits are kept exactly once, and leaves speed to the load benchmark. The
    # benchmark's own command line: tests import nothing from benchmarks/.
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--url", pg_url, "--users", "5"]
        + ["--seconds", "300", "--edits", "20", "--procs", "2", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.exists(), done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["errors"] == 0, report["error_samples"]
    assert report["verification"]["accepted_edits"] >= 20
    assert set(report["statuses"]) <= {"200", "409"}
    v = report["verification"]
    assert v["ok"], v["problems"]
    assert v["accepted_edits"] > 0 and v["journal_entries_matched"] == v["accepted_edits"]


# ------------------------------------------------------------------ outage
class PrivateServer:
    """A throwaway PostgreSQL server of the test's own, on a free loopback port.

    The outage test stops and starts it; the shared server (and every other test using
    it) never notices. Made with the installed ``initdb``/``pg_ctl``; as root they run as
    the ``postgres`` user, who owns the data folder.
    """

    def __init__(self, folder: Path):
        self.bin = _pg_bindir()
        self.data = folder / "data"
        self.port = free_port()
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            self.as_owner = ["runuser", "-u", "postgres", "--"]
            folder.chmod(0o755)
            self.data.mkdir(mode=0o700)
            shutil.chown(self.data, "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_owner, str(self.bin / tool), *args],
            check=True,
            timeout=120,
            capture_output=True,
            cwd="/",
        )

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.data / "log"),
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")


def _pg_bindir() -> Path | None:
    """Where PostgreSQL's server programs are: on PATH, Debian's newest, or pg_config's."""
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).resolve().parent
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    return None


@pytest.fixture
def private_pg(pg_url) -> PrivateServer:
    if _pg_bindir() is None:
        pytest.skip(
            "PostgreSQL's initdb is not installed: the outage test starts a server "
            "of its own (Debian: postgresql-15)"
        )
    # Not under pytest's own temporary folder: as root that is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="parkplan-pg-"))
    server = PrivateServer(folder)
    server.start()
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(server.url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION postgis")
        engine.dispose()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _page(url: str, cookie: str) -> tuple[int, str]:
    status, body, _ = request(url, "GET", "/", headers={"Cookie": cookie}, timeout=60)
    return status, body if isinstance(body, str) else str(body)


def test_postgresql_outage_gives_a_clear_error_then_recovers(private_pg, tmp_path):
    # its own schema, dropped by an engine that survives the restart
    with fresh_schema(private_pg.url) as location:
        create_workspace(location, demo=True).close()
        _outage(location, private_pg, tmp_path)


def _outage(location: str, pg: PrivateServer, tmp_path: Path) -> None:
    with serve(location, tmp_path, procs=1) as server:
        auth = basic("office")
        status, _, _ = request(server.url, "GET", "/api/tasks", auth=auth)
        assert status == 200
        jar = _login(server.url, "owner3")
        cookie = f"user={jar['user'].value}"
        status, page = _page(server.url, cookie)
        assert status == 200 and "database is unavailable" not in page
        try:
            pg.stop()
            status, body, headers = request(server.url, "GET", "/api/tasks", auth=auth)
            assert status == 503, body
            assert body == {"error": "database_unavailable", "message": DB_UNAVAILABLE}
            assert headers["Retry-After"]
            status, body, _ = request(
                server.url,
                "PATCH",
                "/api/milestones/M3-2",
                {"version": 1, "note": "during the outage"},
                auth=basic("owner3"),
            )
            assert status == 503
            status, page = _page(server.url, cookie)
            assert status == 200
            assert "database is unavailable" in page and "Traceback" not in page
            assert server.proc.poll() is None
        finally:
            pg.start()
        # back without a restart of the server (bounded retries: the first may see a
        # connection the server has not yet found dead)
        deadline = time.monotonic() + 20
        while True:
            status, body, _ = request(server.url, "GET", "/api/tasks", auth=auth)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status == 200, body
        while True:  # a new page, likewise within the deadline
            status, page = _page(server.url, cookie)
            if "parkplan-db-down" not in page or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status == 200 and "database is unavailable" not in page
        assert "parkplan-db-down" not in page and "上海" in page  # the app itself
        status, m, _ = request(server.url, "GET", "/api/milestones/M3-2", auth=auth)
        status, body, _ = request(
            server.url,
            "PATCH",
            "/api/milestones/M3-2",
            {"version": m["version"], "note": "after the outage"},
            auth=basic("owner3"),
        )
        assert status == 200, body
        assert server.proc.poll() is None
    log = server.log_file.read_text(encoding="utf-8")
    assert "database" in log and "unavailable" in log


# ---------------------------------------------------------------- security
def test_evidence_is_limited_in_type_and_size(demo_gpkg, tmp_path, monkeypatch):
    from parkplan.errors import InputError
    from parkplan.store import Workspace
    from parkplan.tracker.commands import evidence
    from parkplan.tracker.service import Tracker

    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, ws_path)
    with Workspace.open(ws_path) as ws:
        owner3 = Tracker(ws, "owner3")
        before = len(owner3.evidence("M3-2"))
        ok = {
            "方案.pdf": b"%PDF-1.7\n...",
            "照片.PNG": b"\x89PNG\r\n\x1a\n....",
            "附件.ofd": b"PK\x03\x04....",
            "表.xlsx": b"PK\x03\x04....",
            "说明.txt": "说明文字\n".encode(),
        }
        for name, content in ok.items():
            ev = owner3.add_evidence("M3-2", content, filename=name)
            assert ev.id is not None and ev.filename == name
        refused = {
            "payload.exe": b"MZ\x90\x00",
            "page.html": b"<script>alert(1)</script>",
            "fake.pdf": b"<html><script>",
            "fake.png": b"MZ\x90\x00",
            "binary.txt": b"\x00\x01\x02",
            "noext": b"%PDF-1.4",
            "page.pdf.html": b"%PDF-1.4",
        }
        for name, content in refused.items():
            with pytest.raises(InputError):
                owner3.add_evidence("M3-2", content, filename=name)
        monkeypatch.setattr(evidence, "MAX_EVIDENCE_BYTES", 1024)
        with pytest.raises(InputError, match="larger than"):
            owner3.add_evidence("M3-2", b"%PDF-" + b"x" * 2000, filename="big.pdf")
        # stored under generated ids, whatever the file was called
        evs = owner3.evidence("M3-2")
        assert len(evs) == before + len(ok)
        assert all(isinstance(e.id, int) for e in evs)
