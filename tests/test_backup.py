"""Backup and restore on both stores: a round trip keeps every table, row and journal entry;
a backup taken while the workspace is written is one committed state; refusals are clear and
change nothing; a restore that fails half-way leaves the target as it was."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.errors import WorkspaceError
from parkplan.services import planning
from parkplan.services.demo import create_workspace
from parkplan.siting.scenario import parse_scenario
from parkplan.store import Workspace
from parkplan.store import backup as bk
from parkplan.store.backup import tools as pg_tools
from parkplan.store.schemas import fresh_schema, schema_url
from parkplan.tracker import Tracker
from parkplan.tracker.journal import history
from tests.conftest import _engine_url, snapshot

runner = CliRunner()

SMALL = {
    "name": "small",
    "horizon": [2026, 2028],
    "budget": 9000,
    "quotas": {"tier": {"national_qi_centre": 1}},
    "solver": {"name": "highs", "time_limit": 30, "gap": 0.0},
}


# ------------------------------------------------------------------ helpers
def _is_url(location: str) -> bool:
    return location.startswith("postgresql")


def table_contents(location: str) -> dict[str, list]:
    """Every table's rows (sorted), plus the schema objects, of a workspace.

    Store-specific text: compare a workspace only with another on the same store. On
    PostgreSQL, names qualified with the workspace's schema are written unqualified, so that
    a workspace restored under another schema name compares equal.
    """
    if not _is_url(location):
        conn = sqlite3.connect(Path(location).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            out = {
                "__schema__": sorted(
                    conn.execute(
                        "SELECT type, name, tbl_name, sql FROM sqlite_master "
                        "WHERE name NOT LIKE 'sqlite_autoindex%'"
                    ).fetchall(),
                    key=repr,
                )
            }
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for table in tables:
                out[table] = sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            return out
        finally:
            conn.close()
    with Workspace.open(location, check_schema=False) as ws, ws.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()

        def rows(sql: str) -> list:
            found = conn.execute(sa.text(sql), {"s": schema}).all()
            return sorted(
                (tuple(str(v).replace(f"{schema}.", "") for v in r) for r in found), key=repr
            )

        out = {
            "__columns__": rows(
                "SELECT table_name, column_name, data_type, is_nullable, "
                "column_default FROM information_schema.columns "
                "WHERE table_schema = :s"
            ),
            "__indexes__": rows(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s"
            ),
            "__triggers__": rows(
                "SELECT event_object_table, trigger_name, "
                "event_manipulation, action_statement "
                "FROM information_schema.triggers WHERE trigger_schema = :s"
            ),
            "__sequences__": rows(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :s"
            ),
        }
        tables = conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            ),
            {"s": schema},
        ).scalars()
        for table in list(tables):
            out[table] = sorted(
                conn.exec_driver_sql(f'SELECT t::text FROM "{table}" t').scalars().all()
            )
    return out


def journal_entries(location: str) -> list:
    with Workspace.open(location, check_schema=False) as ws, ws.connect() as conn:
        return history(conn)


def integrity(path: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def other_pg_url(pg_url):
    """Another fresh schema of the test database (dropped afterwards)."""
    with fresh_schema(pg_url, prefix="r") as url:
        yield url


@pytest.fixture
def pg_demo(pg_schema_url) -> str:
    """A demo workspace on PostgreSQL (for tests of PostgreSQL only)."""
    create_workspace(pg_schema_url, demo=True).close()
    return pg_schema_url


@pytest.fixture
def fresh_location(store, tmp_path, request) -> str:
    """An empty place to restore to, on the store under test."""
    if store == "geopackage":
        return str(tmp_path / "restored.gpkg")
    return request.getfixturevalue("other_pg_url")


def clock(day: str = "2026-11-26", hm: str = "10:00"):
    return lambda: datetime.fromisoformat(f"{day}T{hm}")


def make_changes(location: str) -> None:
    """Tracker changes and a recorded siting run, on top of the demo."""
    with Workspace.open(location) as ws:
        owner8 = Tracker(ws, "owner8", clock=clock())
        owner8.update_milestone("M8-2", owner8.milestone("M8-2").version, percent=55)
        office = Tracker(ws, "office", clock=clock(hm="11:00"))
        office.add_risk(
            task=2,
            title_zh="备份测试风险",
            cause="测试",
            effect="测试",
            likelihood=2,
            impact=3,
            owner="office",
        )
        office.add_kpi_actual("K2-2", "2026-11-25", 300, note="backup test")
        planning.run_scenario(ws, parse_scenario(SMALL), options=None, user="office")


# ------------------------------------------------------------- round trip
def test_round_trip_keeps_every_table_and_the_journal(demo_location, fresh_location, tmp_path):
    make_changes(demo_location)
    before = table_contents(demo_location)
    assert before["scenario_runs"] and before["scenario_allocations"]
    journal_before = journal_entries(demo_location)
    assert any(e.entity == "risk" and e.action == "create" for e in journal_before)

    out = tmp_path / "ws.backup"
    result = cli("backup", "--out", out, "--workspace", demo_location)
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output and out.is_file()
    # The backup did not change the workspace.
    assert table_contents(demo_location) == before

    result = cli("restore", out, "--workspace", fresh_location)
    assert result.exit_code == 0, result.output

    after = table_contents(fresh_location)
    assert sorted(after) == sorted(before)
    for table in before:
        assert after[table] == before[table], table
    assert journal_entries(fresh_location) == journal_before
    if _is_url(demo_location):
        assert snapshot(fresh_location) == snapshot(demo_location)
    else:
        # A page-for-page copy: only the file header's change counters differ.
        original, restored = (Path(p).read_bytes() for p in (demo_location, fresh_location))
        assert len(original) == len(restored) and original[100:] == restored[100:]
        assert integrity(fresh_location) == ["ok"]

    listed = [
        cli("layers", "--format", "json", "--workspace", loc)
        for loc in (demo_location, fresh_location)
    ]
    assert all(r.exit_code == 0 for r in listed), [r.output for r in listed]
    layers = [json.loads(r.stdout)["layers"] for r in listed]
    assert layers[0] == layers[1] and len(layers[1]) == 7

    # The restored workspace goes on working: ids continue after the restored ones.
    with Workspace.open(fresh_location) as ws:
        office = Tracker(ws, "office", clock=clock(hm="12:00"))
        office.add_kpi_actual("K2-2", "2026-11-26", 301)
        with ws.connect() as conn:
            entries = history(conn)
    assert len(entries) == len(journal_before) + 1
    assert entries[-1].id == max(e.id for e in journal_before) + 1


def test_postgis_restore_into_another_database_and_schema(pg_url, pg_demo, tmp_path):
    out = tmp_path / "ws.dump"
    bk.backup(pg_demo, out)
    admin = sa.create_engine(_engine_url(pg_url), isolation_level="AUTOCOMMIT")
    db = f"parkplan_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    try:
        base = sa.engine.make_url(_engine_url(pg_url)).set(database=db, query={})
        other = base.render_as_string(hide_password=False).replace("+psycopg", "")
        engine = sa.create_engine(base)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION postgis")
        engine.dispose()
        target = schema_url(other, "restored_ws")  # a schema that does not exist yet
        info = bk.restore(out, target)
        assert info.schema == "restored_ws" and info.current
        assert table_contents(target) == table_contents(pg_demo)
        assert snapshot(target) == snapshot(pg_demo)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{db}" WITH (FORCE)')
        admin.dispose()


# ------------------------------------------------------- while it is written
def _writer(location: str, stop: threading.Event, errors: list) -> None:
    """Change a milestone and add a KPI actual, both in one transaction, until stopped."""
    try:
        with Workspace.open(location) as ws:
            office = Tracker(ws, "office", clock=clock())
            k = 0
            while not stop.is_set():
                with office.transaction():
                    m = office.milestone("M2-1")
                    office.update_milestone("M2-1", m.version, percent=k % 100)
                    office.add_kpi_actual("K2-2", date(2027, 1, 1) + timedelta(days=k), k)
                k += 1
    except Exception as err:  # pragma: no cover - reported by the test
        errors.append(err)


def _consistent(location: str) -> int:
    """Check the writer's invariant in a workspace; return how many rounds it holds."""
    with Workspace.open(location) as ws:
        tr = Tracker(ws, "office")
        m = tr.milestone("M2-1")
        with ws.connect() as conn:
            entries = history(conn, entity="milestone", entity_id="M2-1")
            actuals = conn.exec_driver_sql(
                "SELECT count(*) FROM kpi_actuals WHERE on_date >= '2027-01-01'"
            ).scalar()
    # Every stored version has its journal entry, and the last entry is the stored row.
    assert entries[-1].after["version"] == m.version
    assert entries[-1].after["percent"] == m.percent
    rounds = sum(1 for e in entries if e.actor == "office" and e.at == clock()())
    assert rounds == actuals
    return rounds


def test_backup_while_another_thread_writes_is_one_committed_state(demo_location, tmp_path):
    stop, errors = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(demo_location, stop, errors))
    writer.start()
    seen = []
    try:
        for i in range(4):
            out = tmp_path / f"b{i}.backup"
            bk.backup(demo_location, out)
            copy = str(tmp_path / f"c{i}")
            if not _is_url(demo_location):
                copy += ".gpkg"
                assert integrity(str(out)) == ["ok"]
                bk.restore(out, copy)
            else:
                copy = schema_url(demo_location.split("?")[0], f"c_{uuid.uuid4().hex[:10]}")
                bk.restore(out, copy)
            try:
                seen.append(_consistent(copy))
            finally:
                if _is_url(copy):
                    _drop_schema(copy)
    finally:
        stop.set()
        writer.join(60)
    assert not errors
    assert seen == sorted(seen) and seen[-1] > 0  # the writer was running meanwhile
    _consistent(demo_location)


def _drop_schema(url: str) -> None:
    schema = bk.url_schema(url)
    engine = sa.create_engine(_engine_url(url.split("?")[0]))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


# --------------------------------------------------------------- refusals
def test_restore_refuses_an_existing_workspace_without_force(demo_location, tmp_path):
    out = tmp_path / "ws.backup"
    bk.backup(demo_location, out)
    make_changes(demo_location)
    changed = snapshot(demo_location)
    result = cli("restore", out, "--workspace", demo_location)
    assert result.exit_code == 2
    assert "--force" in result.output and "Traceback" not in result.output
    assert snapshot(demo_location) == changed

    result = cli("restore", out, "--force", "--workspace", demo_location)
    assert result.exit_code == 0, result.output
    restored = table_contents(demo_location)
    assert restored["scenario_runs"] == []  # back to the state of the backup
    with Workspace.open(demo_location) as ws:
        assert ws.describe()


def test_backup_refuses_to_overwrite_a_file(demo_location, tmp_path):
    out = tmp_path / "ws.backup"
    out.write_text("keep me")
    result = cli("backup", "--out", out, "--workspace", demo_location)
    assert result.exit_code == 2 and "already exists" in result.output
    assert out.read_text() == "keep me"
    assert cli("backup", "--out", out, "--force", "--workspace", demo_location).exit_code == 0
    assert bk.backup_kind(out) in ("geopackage", "postgis")


def test_a_backup_is_restored_only_to_its_own_kind(demo_location, tmp_path, request, store):
    out = tmp_path / "ws.backup"
    bk.backup(demo_location, out)
    other = (
        request.getfixturevalue("pg_url") + "?options=-csearch_path%3Dnowhere"
        if store == "geopackage"
        else str(tmp_path / "x.gpkg")
    )
    with pytest.raises(WorkspaceError, match="backup; restore it to"):
        bk.restore(out, other)


def test_garbage_is_not_a_backup(tmp_path, demo_gpkg):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"hello, not a backup" * 10)
    with pytest.raises(WorkspaceError, match="not a parkplan backup"):
        bk.restore(junk, tmp_path / "x.gpkg")
    with pytest.raises(WorkspaceError, match="cannot read the backup"):
        bk.restore(tmp_path / "missing.backup", tmp_path / "x.gpkg")
    plain = tmp_path / "plain.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(WorkspaceError, match="not a GeoPackage"):
        bk.restore(plain, tmp_path / "x.gpkg")
    assert not (tmp_path / "x.gpkg").exists()
    with pytest.raises(WorkspaceError, match="no workspace"):
        bk.backup(tmp_path / "absent.gpkg", tmp_path / "b.backup")
    with pytest.raises(WorkspaceError, match="the workspace itself"):
        bk.backup(demo_gpkg, demo_gpkg, force=True)


def test_a_damaged_backup_changes_nothing(demo_location, tmp_path):
    out = tmp_path / "ws.backup"
    bk.backup(demo_location, out)
    make_changes(demo_location)
    before = snapshot(demo_location)
    data = out.read_bytes()
    damaged = tmp_path / "damaged.backup"
    # Cut the file: a dump keeps its table of contents (it lists fine) but loses data
    # half-way through the restore; a GeoPackage loses pages.
    damaged.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(WorkspaceError):
        bk.restore(damaged, demo_location, force=True)
    assert snapshot(demo_location) == before
    if not _is_url(demo_location):
        assert integrity(demo_location) == ["ok"]
        assert not list(tmp_path.glob(".ws.gpkg.*"))  # no temporary file left behind


def test_postgis_restore_refuses_a_target_that_is_not_empty(pg_demo, tmp_path, other_pg_url):
    out = tmp_path / "ws.dump"
    bk.backup(pg_demo, out)
    engine = sa.create_engine(_engine_url(other_pg_url))
    schema = bk.url_schema(other_pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE TABLE "{schema}".notes (x int)')
    engine.dispose()
    with pytest.raises(WorkspaceError, match="not empty .1 objects.*--force"):
        bk.restore(out, other_pg_url)
    info = bk.restore(out, other_pg_url, force=True)
    assert info.schema == schema
    assert "notes" not in table_contents(other_pg_url)
    assert table_contents(other_pg_url) == table_contents(pg_demo)


def test_missing_or_old_pg_dump_is_a_clear_error(pg_demo, tmp_path, monkeypatch):
    monkeypatch.setattr(pg_tools, "tool_major", lambda path: 9)
    with pytest.raises(WorkspaceError, match="pg_dump 9 is older than the server"):
        bk.backup(pg_demo, tmp_path / "a.dump")
    monkeypatch.setattr(pg_tools.shutil, "which", lambda name: None)
    with pytest.raises(WorkspaceError, match="pg_dump is not installed"):
        bk.backup(pg_demo, tmp_path / "b.dump")
    assert not list(tmp_path.iterdir())


def test_the_password_never_reaches_a_command_line(pg_demo, tmp_path, monkeypatch):
    # A server that trusts local users takes any password; one that asks for the test
    # role's takes that. Either way it must only travel in the tools' environment.
    parsed = sa.engine.make_url(pg_demo)
    secret = parsed.password or "s3cr3t-Pa55"
    url = parsed.set(password=secret).render_as_string(hide_password=False)
    assert secret in url
    calls = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(args, **kwargs):
        calls.append((list(args), kwargs.get("env") or {}))
        return real_run(args, **kwargs)

    def popen(args, **kwargs):
        calls.append((list(args), kwargs.get("env") or {}))
        return real_popen(args, **kwargs)

    monkeypatch.setattr(pg_tools.subprocess, "run", run)
    monkeypatch.setattr(pg_tools.subprocess, "Popen", popen)
    bk.backup(url, tmp_path / "ws.dump")
    bk.restore(tmp_path / "ws.dump", url, force=True)
    assert {Path(args[0]).name for args, _ in calls} >= {"pg_dump", "pg_restore", "psql"}
    for args, env in calls:
        assert not any(secret in a for a in args), args
        if any(a.startswith("--dbname=") for a in args):
            assert env.get("PGPASSWORD") == secret


@pytest.mark.parametrize(
    "url, dbname, password",
    [
        (
            "postgresql://u:p%40ss@h:5433/db?options=-csearch_path%3Ds,public",
            "postgresql://u@h:5433/db?options=-csearch_path%3Ds,public",
            "p@ss",
        ),
        ("postgresql+psycopg://u@h/db", "postgresql://u@h/db", None),
        ("postgresql://h/db?password=x&sslmode=require", "postgresql://h/db?sslmode=require", "x"),
    ],
)
def test_libpq_connection_keeps_the_password_out_of_the_uri(url, dbname, password, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    got, env = bk.libpq_connection(url)
    assert got == dbname
    assert env.get("PGPASSWORD") == password


@pytest.mark.parametrize(
    "url, schema",
    [
        ("postgresql://h/db?options=-csearch_path%3Dws_a,public", "ws_a"),
        ("postgresql://h/db?options=-c%20search_path%3DWs,public", "ws"),
        ("postgresql://h/db?options=-csearch_path%3D%22My%5C%20Ws%22,public", "My Ws"),
        ("postgresql://h/db?options=-csearch_path%3D%22a%2Cb%22,public", "a,b"),
        ("postgresql://h/db?options=-csearch_path%3D%24user,public", None),
        ("postgresql://h/db", None),
    ],
)
def test_url_schema(url, schema):
    assert bk.url_schema(url) == schema


def test_restore_to_a_missing_folder_or_onto_the_backup(tmp_path, demo_gpkg):
    out = tmp_path / "ws.backup"
    bk.backup(demo_gpkg, out)
    with pytest.raises(WorkspaceError, match="does not exist"):
        bk.restore(out, tmp_path / "nowhere" / "ws.gpkg")
    with pytest.raises(WorkspaceError, match="the backup itself"):
        bk.restore(out, out, force=True)
    assert bk.backup_kind(out) == "geopackage"
    # The backup is itself a workspace that opens.
    with Workspace.open(out) as ws:
        assert {i.name for i in ws.describe()} >= {"sites", "parks"}
