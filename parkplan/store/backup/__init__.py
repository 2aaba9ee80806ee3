"""Back up a workspace to one file and restore it: GeoPackage and PostgreSQL/PostGIS.

A backup is one file whose format says what it is (docs/decisions/0009-backup.md):

- a **GeoPackage** workspace is copied with SQLite's online backup API into a new
  GeoPackage — a consistent snapshot even while the application writes (the copy is taken
  under one read lock) — checked with ``PRAGMA integrity_check``. The backup is itself a
  workspace that GIS software and ``parkplan --workspace`` open.
- a **PostgreSQL** workspace (one schema) is dumped with ``pg_dump --format=custom``, which
  reads in one repeatable-read snapshot, so the dump is consistent while the application
  writes. ``pg_restore --list`` checks the archive before it is kept.

Restoring a GeoPackage writes a temporary file beside the target, checks it, flushes it to
disk and moves it into place with ``os.replace``. Restoring a PostgreSQL dump runs in one
transaction (``psql``, fed by ``pg_restore``): the target schema holds either its old content
or the backup's, never a mixture. Neither replaces an existing workspace without ``force``.

Database passwords never appear on a command line: the tools get the URL without its
password, and the password through ``PGPASSWORD`` in their environment.
"""

from __future__ import annotations

import os
from pathlib import Path

from parkplan.errors import WorkspaceError
from parkplan.i18n import t
from parkplan.store.backup.archive import BackupInfo, backup_kind
from parkplan.store.backup.geopackage import backup_geopackage, restore_geopackage
from parkplan.store.backup.postgres import backup_postgis, restore_postgis
from parkplan.store.backup.tools import libpq_connection, url_schema
from parkplan.store.workspace import Workspace, is_database_url, redact_url, resolve_location


def backup(
    workspace_or_location: Workspace | str | os.PathLike | None,
    out_path: str | os.PathLike,
    *,
    force: bool = False,
) -> BackupInfo:
    """Write a consistent backup of a workspace to ``out_path``.

    The workspace may be in use: the backup is a snapshot of one committed state. Its
    schema need not be current (back up before ``parkplan db upgrade``).

    Parameters
    ----------
    workspace_or_location : Workspace, str, path or None
        An open workspace, or a location (see :func:`parkplan.store.resolve_location`).
    out_path : str or path
        The backup file to write; it is written beside itself and moved into place.
    force : bool
        Replace an existing file at ``out_path``.

    Returns
    -------
    BackupInfo

    Raises
    ------
    WorkspaceError
        If there is no workspace, ``out_path`` exists (without ``force``), the copy fails its
        integrity check, or ``pg_dump`` is missing, too old for the server, or fails.
    """
    if isinstance(workspace_or_location, Workspace):
        location = workspace_or_location.location
    else:
        location = resolve_location(workspace_or_location)
    out = Path(out_path)
    if out.is_dir():
        raise WorkspaceError(t("store.backup.out_is_folder", "en", out=out))
    if not out.parent.is_dir():
        raise WorkspaceError(t("store.ws.no_folder", "en", folder=out.parent))
    if out.exists() and not force:
        raise WorkspaceError(t("store.backup.out_exists", "en", out=out))
    if is_database_url(location):
        return backup_postgis(location, out)
    return backup_geopackage(Path(location), out)


def restore(
    backup_path: str | os.PathLike, location: str | os.PathLike | None, force: bool = False
) -> BackupInfo:
    """Restore a backup into a workspace location, replacing it whole.

    Parameters
    ----------
    backup_path : str or path
        A file written by :func:`backup`.
    location : str, path or None
        A GeoPackage path for a GeoPackage backup, a PostgreSQL URL for a PostgreSQL one (see
        :func:`parkplan.store.resolve_location`). On PostgreSQL the schema is the first of the
        URL's ``search_path`` (else the server's current schema); it may differ from the
        backed-up one.
    force : bool
        Replace a workspace (or anything) already there. Without it, restoring requires a
        new file, or an absent or empty schema.

    Returns
    -------
    BackupInfo
        Its ``current`` tells whether the restored workspace needs ``parkplan db upgrade``.

    Raises
    ------
    WorkspaceError
        If the backup is unreadable or damaged, the target is taken (without ``force``), the
        backup's kind does not match the location's, or a PostgreSQL tool fails. A failed
        restore leaves the target as it was.
    """
    path = Path(backup_path)
    kind = backup_kind(path)
    location = resolve_location(location)
    wanted = "postgis" if is_database_url(location) else "geopackage"
    if kind != wanted:
        # The kind of the backup says where it restores to.
        key = {
            "geopackage": "store.restore.to_geopackage_backup",
            "postgis": "store.restore.to_postgis_backup",
        }[kind]
        raise WorkspaceError(t(key, "en", path=path, location=redact_url(location)))
    if kind == "postgis":
        return restore_postgis(path, location, force)
    return restore_geopackage(path, Path(location), force)


__all__ = ["BackupInfo", "backup", "backup_kind", "libpq_connection", "restore", "url_schema"]
