"""What a backup file is: its kind, told by its first bytes, and how it is put in place.

A backup is written beside its final name and moved there with ``os.replace`` after it is
flushed to disk, so a crash leaves either the old file or the whole new one.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from parkplan.errors import WorkspaceError
from parkplan.i18n import t

#: First bytes of an SQLite database file (a GeoPackage backup).
SQLITE_MAGIC = b"SQLite format 3\x00"
#: First bytes of a ``pg_dump --format=custom`` archive (a PostgreSQL backup).
PGDUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class BackupInfo:
    """What a backup or a restore did.

    Parameters
    ----------
    kind : str
        ``"geopackage"`` or ``"postgis"``.
    path : Path
        The backup file.
    location : str
        The workspace backed up or restored to (a URL with its password hidden).
    size : int
        Bytes of the backup file.
    revision : str or None
        The workspace's schema revision (Alembic) in the backup.
    schema : str or None
        PostgreSQL: the schema dumped, or restored to.
    """

    kind: str
    path: Path
    location: str
    size: int
    revision: str | None
    schema: str | None = None

    @property
    def current(self) -> bool:
        """Whether the workspace's schema is this parkplan's (else ``parkplan db upgrade``)."""
        from parkplan.store import migrate

        return self.revision == migrate.head_revision()


def backup_kind(path: str | os.PathLike) -> str:
    """Tell what a backup file holds from its first bytes.

    Returns
    -------
    str
        ``"geopackage"`` or ``"postgis"``.

    Raises
    ------
    WorkspaceError
        If the file is missing or is neither kind of backup.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise WorkspaceError(
            t("store.backup.unreadable", "en", path=path, reason=err.strerror)
        ) from None
    if head.startswith(SQLITE_MAGIC):
        return "geopackage"
    if head.startswith(PGDUMP_MAGIC):
        return "postgis"
    raise WorkspaceError(t("store.backup.not_a_backup", "en", path=path))


def temp_beside(target: Path) -> Path:
    """Create an empty temporary file beside ``target`` (same folder, same file system)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(name)


def fsync_file(path: Path) -> None:
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (where the platform allows), so a rename lasts."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def move_into_place(tmp: Path, target: Path) -> None:
    """Flush ``tmp`` and rename it to ``target`` atomically, then flush the folder."""
    fsync_file(tmp)
    os.replace(tmp, target)
    fsync_dir(target.parent)


__all__ = [
    "PGDUMP_MAGIC",
    "SQLITE_MAGIC",
    "BackupInfo",
    "backup_kind",
    "fsync_dir",
    "fsync_file",
    "move_into_place",
    "temp_beside",
]
