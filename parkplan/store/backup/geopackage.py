"""GeoPackage backups: SQLite's online backup API, checked, moved into place.

The copy is taken under one read lock on the source, so it is one committed state even while
the application writes; it is checked with ``PRAGMA integrity_check`` and is itself a
workspace. A restore copies the backup beside the target, checks the copy and replaces the
target under SQLite's exclusive lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from parkplan.errors import WorkspaceError
from parkplan.i18n import t
from parkplan.store import gpkg
from parkplan.store.backup.archive import (
    BackupInfo,
    fsync_dir,
    fsync_file,
    move_into_place,
    temp_beside,
)

log = logging.getLogger(__name__)


@contextmanager
def _sqlite(path: Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    uri = path.resolve().as_uri() + ("?mode=ro" if readonly else "")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error as err:
        raise WorkspaceError(t("store.gpkg.cannot_open", "en", path=path, reason=err)) from None
    try:
        yield conn
    finally:
        conn.close()


def _check_geopackage(conn: sqlite3.Connection, name: str) -> str:
    """Check an SQLite file as a parkplan GeoPackage; return its schema revision."""
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise WorkspaceError(
                t("store.gpkg.integrity", "en", name=name, problems="; ".join(problems[:5]))
            )
        if conn.execute("PRAGMA application_id").fetchone()[0] != gpkg.APPLICATION_ID:
            raise WorkspaceError(t("store.ws.not_gpkg", "en", name=name))
        row = None
        if conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone():
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as err:
        raise WorkspaceError(t("store.gpkg.unreadable", "en", name=name, reason=err)) from None
    if row is None:
        raise WorkspaceError(t("store.gpkg.not_workspace", "en", name=name))
    return row[0]


def _copy_sqlite(source: sqlite3.Connection, target: Path) -> None:
    with _sqlite(target) as dest:
        # One step (pages=-1): the whole copy is taken under one read lock on the source, so
        # it is one committed state; writers wait for it (busy timeout) instead of
        # restarting it.
        source.backup(dest, pages=-1)


def backup_geopackage(source: Path, out: Path) -> BackupInfo:
    """Copy the GeoPackage ``source`` to ``out`` in one consistent snapshot (see the package)."""
    if not source.is_file():
        raise WorkspaceError(t("store.backup.no_workspace", "en", path=source))
    if out.exists() and out.resolve() == source.resolve():
        raise WorkspaceError(t("store.backup.is_workspace", "en", out=out))
    tmp = temp_beside(out)
    try:
        with _sqlite(source) as src:
            try:
                _check_geopackage_header(src, str(source))
                _copy_sqlite(src, tmp)
            except sqlite3.DatabaseError as err:
                raise WorkspaceError(
                    t("store.backup.failed", "en", source=source, reason=err)
                ) from None
        with _sqlite(tmp) as copy:
            revision = _check_geopackage(copy, t("store.backup.the_backup_of", "en", path=source))
        move_into_place(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    info = BackupInfo("geopackage", out, str(source), out.stat().st_size, revision)
    log.info("backed up %s to %s (%d bytes)", source, out, info.size)
    return info


def _check_geopackage_header(conn: sqlite3.Connection, name: str) -> None:
    if conn.execute("PRAGMA application_id").fetchone()[0] != gpkg.APPLICATION_ID:
        raise WorkspaceError(t("store.ws.not_gpkg", "en", name=name))


def restore_geopackage(backup_file: Path, target: Path, force: bool) -> BackupInfo:
    """Replace ``target`` whole with a checked copy of the GeoPackage backup (see the package)."""
    if target.is_dir():
        raise WorkspaceError(t("store.restore.target_is_folder", "en", target=target))
    if not target.parent.is_dir():
        raise WorkspaceError(t("store.ws.no_folder", "en", folder=target.parent))
    if target.exists() and not force:
        raise WorkspaceError(t("store.restore.target_exists", "en", target=target))
    if target.exists() and target.resolve() == backup_file.resolve():
        raise WorkspaceError(t("store.restore.is_backup", "en", target=target))
    with _sqlite(backup_file, readonly=True) as src:
        _check_geopackage(src, str(backup_file))
        tmp = temp_beside(target)
        try:
            try:
                _copy_sqlite(src, tmp)
            except sqlite3.DatabaseError as err:
                raise WorkspaceError(
                    t("store.backup.unreadable", "en", path=backup_file, reason=err)
                ) from None
            with _sqlite(tmp) as copy:
                revision = _check_geopackage(
                    copy, t("store.backup.the_copy_of", "en", path=backup_file)
                )
            fsync_file(tmp)
            with _exclusive(target):
                os.replace(tmp, target)
                # A rollback journal left beside the old file would be "hot" for the new
                # one and corrupt it; under the exclusive lock there is none in use.
                Path(f"{target}-journal").unlink(missing_ok=True)
                fsync_dir(target.parent)
        finally:
            tmp.unlink(missing_ok=True)
    info = BackupInfo("geopackage", backup_file, str(target), backup_file.stat().st_size, revision)
    log.info("restored %s from %s", target, backup_file)
    return info


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold SQLite's exclusive lock on an existing workspace while it is replaced.

    Waiting for the lock lets a write in progress finish; taking it rolls back a crashed
    writer's hot journal first. Not a workspace (``force`` over another file): no lock.
    """
    if not target.exists():
        yield
        return
    try:
        conn = sqlite3.connect(target, timeout=30, isolation_level=None)
    except sqlite3.Error:
        yield
        return
    try:
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise WorkspaceError(t("store.restore.busy", "en", target=target)) from None
            log.debug("%s: not locked before replacing: %s", target, err)
        except sqlite3.DatabaseError as err:  # not a database: nothing to protect
            log.debug("%s: not locked before replacing: %s", target, err)
        yield
    finally:
        if conn.in_transaction:
            conn.rollback()
        conn.close()


__all__ = ["backup_geopackage", "restore_geopackage"]
