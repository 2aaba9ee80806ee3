"""Kill -9 during a write: the workspace opens, is intact, and holds either exactly the state
before the write or exactly the complete state after it — never part of it. Both stores.

The processes are the real ``parkplan import``, ``parkplan solve`` and ``parkplan report
stocktake`` commands and a loop of tracker transactions, run through a small driver that slows
every write statement and the commit down (a slow disk, in effect) and writes a mark to a file
as it reaches each one. The test waits for a mark, checks from outside that the process is
inside a write transaction (SQLite: another connection cannot take the write lock; PostgreSQL:
the backend holds a transaction id), waits a random moment and sends SIGKILL.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from parkplan.data import data_path

from parkplan.io.files import read_layer_file
from parkplan.store import Workspace
from parkplan.store.ledger import list_runs
from parkplan.tracker import Tracker
from parkplan.tracker.journal import history
from tests.conftest import _engine_url, snapshot
from tests.test_backup import SMALL, integrity, table_contents

SEED = int(os.environ.get("PARKPLAN_FAULT_SEED", time.time_ns() % 100_000))
SITES = 20_000
LOOP_CLOCK = datetime(2026, 11, 26, 10, 0)  # the tracker loop's clock, as in DRIVER

DRIVER = r'''
"""Run parkplan with slowed, marked writes (see tests/test_faults.py)."""
import os, sys, time
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event

MARKS = os.environ["FAULT_MARKS"]
DELAY = float(os.environ.get("FAULT_DELAY", "0"))
COMMIT_DELAY = float(os.environ.get("FAULT_COMMIT_DELAY", "0"))
WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER")


def mark(word):
    with open(MARKS, "a") as fh:
        fh.write(word + "\n")


@event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _write(conn, cursor, statement, params, context, executemany):
    if statement.lstrip().upper().startswith(WRITES):
        mark("write")
        time.sleep(DELAY)


@event.listens_for(sa.engine.Engine, "commit")
def _commit(conn):
    mark("commit")
    time.sleep(COMMIT_DELAY)


_replace = os.replace


def _marked_replace(src, dst, **kwargs):
    # A report file is written whole to a temporary name, then renamed into place.
    mark("replace " + os.path.basename(dst))
    time.sleep(DELAY)
    _replace(src, dst, **kwargs)


os.replace = _marked_replace


def tracker_loop(location, start, rounds):
    from parkplan.store import Workspace
    from parkplan.tracker import Tracker

    with Workspace.open(location) as ws:
        office = Tracker(ws, "office", clock=lambda: datetime(2026, 11, 26, 10, 0))
        for k in range(start, start + rounds):
            with office.transaction():
                m = office.milestone("M2-1")
                office.update_milestone("M2-1", m.version, percent=k % 100)
                office.add_kpi_actual("K2-2", date(2027, 1, 1) + timedelta(days=k), k)
            mark(f"done {k}")


if __name__ == "__main__":
    # Import everything first, then wait for the arguments on standard input: the test
    # starts the next process while it checks the last one.
    import json

    import parkplan.services.imports  # noqa: F401
    import parkplan.services.planning  # noqa: F401
    import parkplan.reports  # noqa: F401
    import parkplan.tracker  # noqa: F401
    from parkplan.cli import app

    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    args = json.loads(line)
    if args[0] == "tracker":
        tracker_loop(args[1], int(args[2]), int(args[3]))
    else:
        app(args, prog_name="parkplan")
'''


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "driver.py"
    path.write_text(DRIVER, encoding="utf-8")
    return path


def _big_sites(path: Path, prefix: str, seed: int) -> Path:
    """The demo's 72 sites (their ids are referred to) and generated ones, 20,000 in all."""
    with open(data_path("demo/sites.csv"), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng = random.Random(seed)
    out = list(rows)
    while len(out) < SITES:
        row = dict(rows[len(out) % len(rows)])
        row["site_id"] = f"{prefix}{len(out):05d}"
        row["lon"] = f"{float(row['lon']) + rng.uniform(-0.002, 0.002):.6f}"
        row["lat"] = f"{float(row['lat']) + rng.uniform(-0.002, 0.002):.6f}"
        out.append(row)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(out)
    return path


@pytest.fixture(scope="module")
def big_sites(tmp_path_factory) -> list[tuple[Path, object]]:
    """Two 20,000-site files that differ, each with its validated frame."""
    folder = tmp_path_factory.mktemp("big")
    files = [_big_sites(folder / f"sites_{p}.csv", p, n) for n, p in enumerate("XY")]
    return [(f, read_layer_file(f, "sites")) for f in files]


@pytest.fixture
def killers(driver, demo_location, tmp_path):
    """Make :class:`Killer` s on the workspace under test; their spare processes end after."""
    made = []

    def make(delay: float, commit_delay: float) -> Killer:
        """``delay`` s before each write statement, ``commit_delay`` s before COMMIT."""
        killer = Killer(driver, demo_location, tmp_path, delay, commit_delay).__enter__()
        made.append(killer)
        return killer

    yield make
    for killer in made:
        killer.__exit__(None, None, None)


# ------------------------------------------------------------------- helpers
class Killer:
    """Run the driver, wait for a mark, check we are inside a transaction, kill -9.

    Use as a context manager: it keeps the next driver process started and waiting.
    """

    def __init__(
        self, driver: Path, location: str, tmp_path: Path, delay: float, commit_delay: float
    ):
        self.driver, self.location, self.tmp_path = driver, location, tmp_path
        self.delay, self.commit_delay = delay, commit_delay
        self.spawned = 0
        self._next = None

    def __enter__(self) -> Killer:
        self._next = self._spawn()
        return self

    def __exit__(self, *exc) -> None:
        proc = self._next[0]
        proc.kill()
        proc.wait(30)
        self._next[2].close()

    def _spawn(self):
        self.spawned += 1
        marks = self.tmp_path / f"marks{self.spawned}"
        err = (self.tmp_path / f"stderr{self.spawned}").open("w")
        app = f"parkplan-fault-{os.getpid()}-{self.spawned}"
        env = {
            **os.environ,
            "FAULT_MARKS": str(marks),
            "FAULT_DELAY": str(self.delay),
            "FAULT_COMMIT_DELAY": str(self.commit_delay),
            "PGAPPNAME": app,
        }
        proc = subprocess.Popen(
            [sys.executable, str(self.driver)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        return proc, marks, err, app

    def start(self, *args: str) -> subprocess.Popen:
        proc, self.marks, self.err, self.app = self._next
        proc.stdin.write((json.dumps(args) + "\n").encode())
        proc.stdin.close()
        self._next = self._spawn()
        return proc

    def marks_seen(self) -> list[str]:
        try:
            return self.marks.read_text().split("\n")[:-1]
        except FileNotFoundError:
            return []

    def wait_for(
        self, proc: subprocess.Popen, word: str, count: int = 1, timeout: float = 30
    ) -> bool:
        """Wait until ``word`` has been marked ``count`` times; False if the process ended."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if sum(1 for m in self.marks_seen() if m.startswith(word)) >= count:
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.005)
        raise AssertionError(f"no {word!r} mark in {timeout} s: {self.marks_seen()}")

    def in_write_transaction(self) -> bool:
        if self.location.startswith("postgresql"):
            with _Admin(self.location) as conn:
                return bool(
                    conn.execute(
                        sa.text(
                            "SELECT bool_or(backend_xid IS NOT NULL) FROM pg_stat_activity "
                            "WHERE application_name = :a"
                        ),
                        {"a": self.app},
                    ).scalar()
                )
        probe = sqlite3.connect(self.location, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as err:
            assert "locked" in str(err)
            return True
        finally:
            probe.close()

    def kill(self, proc: subprocess.Popen) -> int | None:
        """SIGKILL the process (if still running); return its exit status if it had ended."""
        ended = proc.poll()
        if ended is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        self.err.close()
        if ended not in (None, 0):  # it failed on its own: the test would prove nothing
            raise AssertionError(
                f"the driver failed ({ended}): " + Path(self.err.name).read_text()[-2000:]
            )
        if self.location.startswith("postgresql"):
            _wait_backend_gone(self.location, self.app)
        return ended


class _Admin:
    """A short connection to the test server, outside any workspace."""

    def __init__(self, location: str):
        self.engine = sa.create_engine(
            _engine_url(location.split("?")[0]), poolclass=sa.pool.NullPool
        )

    def __enter__(self):
        self.conn = self.engine.connect()
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()
        self.engine.dispose()


def _wait_backend_gone(location: str, app: str, timeout: float = 10) -> None:
    """The server ends a dead client's session (rolling back) when it next reads from it."""
    end = time.monotonic() + timeout
    with _Admin(location) as conn:
        while time.monotonic() < end:
            n = conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": app},
            ).scalar()
            if n == 0:
                return
            time.sleep(0.02)
    raise AssertionError(f"the killed client's session {app} is still on the server")


def opens_intact(location: str) -> None:
    """The workspace opens (schema current); a GeoPackage passes SQLite's integrity check."""
    Workspace.open(location).close()
    if not location.startswith("postgresql"):
        assert integrity(location) == ["ok"]


def changed(before: dict, after: dict) -> set[str]:
    return {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}


def contents(location: str) -> dict[str, list]:
    """Every table and schema object, less PostgreSQL's sequence positions.

    A PostgreSQL sequence is not transactional: an insert that is rolled back has still
    used its ids. That leaves gaps, not data.
    """
    out = table_contents(location)
    out.pop("__sequences__", None)
    return out


def pause(proc: subprocess.Popen, seconds: float) -> None:
    """Wait ``seconds``, or less if the process ends first."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass


def kill_at(
    killer: Killer, proc: subprocess.Popen, word: str | None, count: int, extra: float
) -> tuple[int | None, bool | None]:
    """Kill ``proc`` ``extra`` s after its ``count``-th ``word`` mark (``None``: ``extra`` s
    after it started); check the workspace opens intact.

    Returns the exit status if it had ended first, and whether it held a write transaction
    at the mark (``None`` without one).
    """
    inside = None
    if word is None:
        pause(proc, extra)
    elif killer.wait_for(proc, word, count):
        inside = killer.in_write_transaction()
        time.sleep(extra)
    status = killer.kill(proc)
    opens_intact(killer.location)
    return status, inside


# --------------------------------------------------------------------- import
def test_kill_during_an_import_leaves_before_or_complete_after(
    demo_location, killers, big_sites, tmp_path
):
    rng = random.Random(SEED)
    killer = killers(0.05, 0.4)
    # (mark to wait for, how many, extra wait). A mark is written before its statement
    # runs: after the 2nd the old layer has been dropped; after the 5th the 20,000 records
    # have been inserted (and the layer's registration is under way); "commit" comes after
    # the last statement, before COMMIT is sent. The last kill lands at a random moment of
    # the whole run: before, inside or after the transaction.
    plan = [
        ("write", 2, rng.uniform(0, 0.04)),
        ("write", 5, rng.uniform(0, 0.04)),
        ("commit", 1, rng.uniform(0, 0.04)),
        (None, 0, rng.uniform(0.5, 2.5)),
    ]
    outcomes, current = [], None
    for word, count, extra in plan:
        path, frame = big_sites[1] if current == 0 else big_sites[0]
        before_snap, before = snapshot(demo_location), contents(demo_location)
        proc = killer.start("import", "sites", str(path), "--workspace", demo_location)
        status, inside = kill_at(killer, proc, word, count, extra)
        if snapshot(demo_location) == before_snap:
            outcome = "before"
        else:
            outcome = "after"
            after = contents(demo_location)
            assert changed(before, after) <= {"sites", "gpkg_contents", "parkplan_meta"}
            with Workspace.open(demo_location) as ws:
                sites = ws.read_layer("sites")
            assert len(sites) == SITES
            pd.testing.assert_frame_equal(
                pd.DataFrame(sites.drop(columns="geometry")),
                pd.DataFrame(frame.drop(columns="geometry")),
                check_dtype=False,
            )
            assert sites.geometry.geom_equals_exact(frame.geometry, 1e-9).all()
            current = 0 if path == big_sites[0][0] else 1
        if word is not None and status is None:
            # Killed inside the transaction, before COMMIT was sent: nothing may remain.
            assert inside, f"seed {SEED}: {word} {count} was not inside a transaction"
            assert outcome == "before", f"seed {SEED}: killed at {word} {count}"
        outcomes.append(outcome)
    assert outcomes[:3] == ["before"] * 3


# ---------------------------------------------------------------------- solve
def test_kill_during_a_solve_leaves_before_or_complete_after(demo_location, killers, tmp_path):
    rng = random.Random(SEED + 1)
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL), encoding="utf-8")
    killer = killers(0.05, 0.4)
    plan = [
        ("write", 2, rng.uniform(0, 0.04)),
        ("commit", 1, rng.uniform(0, 0.04)),
        (None, 0, rng.uniform(0.5, 3.0)),
    ]
    inside_kills = 0
    for word, count, extra in plan:
        before_snap, before = snapshot(demo_location), contents(demo_location)
        with Workspace.open(demo_location) as ws:
            runs_before = {r.run_id for r in list_runs(ws)}
        proc = killer.start(
            "solve", str(scenario), "--no-explain", "--as", "office", "--workspace", demo_location
        )
        status, inside = kill_at(killer, proc, word, count, extra)
        if snapshot(demo_location) == before_snap:
            outcome = "before"
        else:
            outcome = "after"
            after = contents(demo_location)
            assert changed(before, after) <= {
                "scenario_runs",
                "scenario_allocations",
                "gpkg_contents",
            }
            with Workspace.open(demo_location) as ws:
                runs = list_runs(ws)
                with ws.connect() as conn:
                    counts = dict(
                        conn.exec_driver_sql(
                            "SELECT run_id, count(*) FROM scenario_allocations GROUP BY run_id"
                        ).all()
                    )
            new = [r for r in runs if r.run_id not in runs_before]
            assert len(new) == 1 and len(runs) == len(runs_before) + 1
            assert new[0].status == "optimal"
            assert counts.get(new[0].run_id, 0) == len(new[0].result["allocation"]) > 0
        if word is not None and status is None:
            assert inside, f"seed {SEED}: {word} {count} was not inside a transaction"
            assert outcome == "before", f"seed {SEED}: killed at {word} {count}"
            inside_kills += 1
    assert inside_kills >= 1


# -------------------------------------------------------------------- tracker
def _rounds_done(location: str, before: dict, v0: int) -> int:
    """Check the tracker loop's state is that after k whole rounds; return k."""
    after = contents(location)
    assert changed(before, after) <= {"milestones", "kpi_actuals", "journal"}
    with Workspace.open(location) as ws:
        m = Tracker(ws, "office").milestone("M2-1")
        with ws.connect() as conn:
            entries = [e for e in history(conn) if e.at == LOOP_CLOCK]
            values = (
                conn.exec_driver_sql(
                    "SELECT value FROM kpi_actuals WHERE on_date >= '2027-01-01' ORDER BY on_date"
                )
                .scalars()
                .all()
            )
    k = m.version - v0
    assert [float(v) for v in values] == list(range(k))
    assert [(e.entity, e.action) for e in entries] == [
        ("milestone", "update"),
        ("kpi_actual", "create"),
    ] * k
    if k:
        assert entries[-2].after["version"] == m.version
        assert entries[-2].after["percent"] == m.percent == (k - 1) % 100
    return k


def test_kill_during_tracker_writes_leaves_whole_transactions(demo_location, killers, tmp_path):
    rng = random.Random(SEED + 2)
    killer = killers(0.01, 0.2)
    before = contents(demo_location)
    with Workspace.open(demo_location) as ws:
        v0 = Tracker(ws, "office").milestone("M2-1").version
    done = 0
    # Kill a little after the n-th round ended (anywhere in the next one), then while the
    # n-th round waits to send COMMIT.
    for word, count in (("done", rng.randint(1, 4)), ("commit", rng.randint(2, 4))):
        proc = killer.start("tracker", demo_location, str(done), "200")
        assert killer.wait_for(proc, word, count)
        inside = killer.in_write_transaction() if word == "commit" else None
        time.sleep(rng.uniform(0, 0.03) if word == "done" else 0)
        assert killer.kill(proc) is None
        opens_intact(demo_location)
        marked = sum(1 for m in killer.marks_seen() if m.startswith("done"))
        k = _rounds_done(demo_location, before, v0)
        # Every round marked done is there; at most the one in flight besides.
        assert marked <= k - done <= marked + 1, f"seed {SEED}"
        if word == "commit":
            assert inside, f"seed {SEED}: not inside a transaction at the commit mark"
            assert k - done == marked, f"seed {SEED}: a round killed before COMMIT remained"
        done = k
    assert done >= 1


# --------------------------------------------------------------------- report
def _whole_report_files(folder: Path, stem: str) -> set[str]:
    """The report files under their final names, each checked complete; return their names."""
    html, pdf = folder / f"{stem}.html", folder / f"{stem}.pdf"
    if html.exists():
        assert html.read_text(encoding="utf-8").rstrip().endswith("</html>"), "half an HTML"
    if pdf.exists():
        assert pdf.read_bytes()[-32:].rstrip().endswith(b"%%EOF"), "half a PDF"
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert "盘点" in text
    return {p.name for p in (html, pdf) if p.exists()}


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs pdftotext (poppler-utils)")
def test_kill_during_a_report_leaves_whole_files_and_before_or_complete_after(
    demo_location, killers, tmp_path
):
    rng = random.Random(SEED + 3)
    killer = killers(0.2, 0.3)
    stem = "stocktake-2026-W48"
    # Before the HTML is renamed into place, before the PDF is, inside the baseline's
    # transaction (written after both files), and at a random moment of the whole run.
    plan = [
        ("replace", 1, 0.0),
        ("replace", 2, 0.0),
        ("write", 1, rng.uniform(0, 0.1)),
        (None, 0, rng.uniform(0.5, 6.0)),
    ]
    expected_files = [set(), {f"{stem}.html"}, {f"{stem}.html", f"{stem}.pdf"}, None]
    for n, ((word, count, extra), files) in enumerate(zip(plan, expected_files, strict=True)):
        out = tmp_path / f"out{n}"
        before_snap, before = snapshot(demo_location), contents(demo_location)
        proc = killer.start(
            "report",
            "stocktake",
            "--week",
            "2026-W48",
            "--as-of",
            "2026-11-27",
            "--out-dir",
            str(out),
            "--save-baseline",
            "--as",
            "office",
            "--workspace",
            demo_location,
        )
        if word is None:
            pause(proc, extra)
        else:
            assert killer.wait_for(proc, word, count, timeout=120)
            time.sleep(extra)
        status = killer.kill(proc)
        opens_intact(demo_location)
        seen = _whole_report_files(out, stem)
        if files is not None:
            assert status is None and seen == files, f"seed {SEED}: killed at {word} {count}"
        if snapshot(demo_location) != before_snap:
            assert word is None, f"seed {SEED}: killed at {word} {count}, yet written"
            after = contents(demo_location)
            assert changed(before, after) <= {"baselines", "journal"}
            with Workspace.open(demo_location) as ws:
                assert Tracker(ws, "office").compare_baseline(stem).baseline == stem
            return
