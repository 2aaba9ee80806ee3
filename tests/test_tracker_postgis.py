"""PostgreSQL only: concurrent writers lose no update, and the database keeps the journal
append-only."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa

from parkplan.services.demo import create_workspace
from parkplan.store import Workspace
from parkplan.tracker import StaleVersion, Tracker, access
from parkplan.tracker.seed import seed_demo

pytestmark = pytest.mark.postgis


@pytest.fixture
def pg_loc(pg_schema_url) -> str:
    with create_workspace(pg_schema_url, demo=True) as ws:
        with ws.connect() as conn:
            seeded = conn.exec_driver_sql("SELECT COUNT(*) FROM tasks").scalar()
        if not seeded:
            seed_demo(ws)
    return pg_schema_url


def _tracker(loc: str, name: str, hm: str) -> tuple[Workspace, Tracker]:
    ws = Workspace.open(loc)  # its own engine: its own connections
    return ws, Tracker(ws, name, clock=lambda: datetime.fromisoformat(f"2026-11-26T{hm}"))


def test_concurrent_writers_from_the_same_version_exactly_one_wins(pg_loc):
    writers = [
        ("office", "10:00"),
        ("convenor", "10:01"),
        ("owner3", "10:02"),
        ("office", "10:03"),
        ("convenor", "10:04"),
        ("owner3", "10:05"),
    ]
    opened = [_tracker(pg_loc, name, hm) for name, hm in writers]
    version = opened[0][1].milestone("M3-2").version
    barrier = threading.Barrier(len(writers))
    outcomes: list[tuple[str, object]] = [None] * len(writers)

    def write(i: int) -> None:
        tracker = opened[i][1]
        barrier.wait()
        try:
            m = tracker.update_milestone("M3-2", version, percent=60 + i)
            outcomes[i] = ("won", m)
        except StaleVersion as err:
            outcomes[i] = ("stale", str(err))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        winners = [i for i, (kind, _) in enumerate(outcomes) if kind == "won"]
        assert len(winners) == 1, outcomes
        winner = winners[0]
        who = writers[winner][0]
        final = opened[0][1].milestone("M3-2")
        assert final.version == version + 1 and final.percent == 60 + winner
        for i, (kind, message) in enumerate(outcomes):
            if i != winner:
                assert kind == "stale"
                assert (
                    f"it is now version {version + 1}; {who} changed it at "
                    f"2026-11-26 {writers[winner][1]}:00" in message
                )
                assert f"percent 50 → {60 + winner}" in message
        entries = opened[0][1].journal("milestone", "M3-2")
        assert [e.actor for e in entries if e.after and e.after["version"] == version + 1] == [who]
    finally:
        for ws, _ in opened:
            ws.close()


def test_the_database_guard_catches_a_writer_that_read_before_the_other_committed(
    pg_loc, monkeypatch
):
    """Interleave deterministically: A reads version v, B commits v+1, A writes from v."""
    ws_a, slow = _tracker(pg_loc, "owner3", "11:00")
    ws_b, fast = _tracker(pg_loc, "office", "11:05")
    version = fast.milestone("M3-2").version
    a_has_read, b_done = threading.Event(), threading.Event()
    real_check = access.check_write

    def paused_check(user, action, record, **kw):
        real_check(user, action, record, **kw)
        if threading.current_thread().name == "A" and not a_has_read.is_set():
            a_has_read.set()
            assert b_done.wait(30)

    monkeypatch.setattr(access, "check_write", paused_check)
    result: dict[str, object] = {}

    def run_a():
        try:
            result["a"] = slow.update_milestone("M3-2", version, percent=70)
        except StaleVersion as err:
            result["a"] = err

    thread = threading.Thread(target=run_a, name="A")
    thread.start()
    try:
        assert a_has_read.wait(30)
        fast.update_milestone("M3-2", version, percent=90)  # B commits in between
        b_done.set()
        thread.join(30)
        assert isinstance(result["a"], StaleVersion)
        assert "office changed it at 2026-11-26 11:05:00 (percent 50 → 90)" in str(result["a"])
        assert fast.milestone("M3-2").percent == 90
    finally:
        b_done.set()
        thread.join(30)
        ws_a.close()
        ws_b.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal SET actor = 'mallory'",
        "DELETE FROM journal",
        "DELETE FROM journal WHERE id = (SELECT MAX(id) FROM journal)",
        "TRUNCATE journal",
    ],
)
def test_the_database_refuses_to_change_the_journal(pg_loc, statement):
    with Workspace.open(pg_loc) as ws:
        with ws.connect() as conn:
            before = conn.exec_driver_sql(
                "SELECT COUNT(*), MAX(id), string_agg(actor, ',') FROM journal"
            ).first()
        with pytest.raises(sa.exc.DBAPIError, match="the journal is append-only"):
            with ws.begin() as conn:
                conn.exec_driver_sql(statement)
        with ws.connect() as conn:
            after = conn.exec_driver_sql(
                "SELECT COUNT(*), MAX(id), string_agg(actor, ',') FROM journal"
            ).first()
        assert after == before and before[0] > 0
        # appending still works
        Tracker(ws, "office").update_milestone("M3-3", 1, percent=5)
        with ws.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM journal").scalar() == before[0] + 1
