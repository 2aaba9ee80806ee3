"""Schema migrations of the workspace's tables, with Alembic.

Layers are created from their schemas when written; every other table (workspace
settings, and the tracker's and the scenario ledger's tables) is created and changed by the
revisions in ``parkplan/store/migrations/versions``. The same revisions run on GeoPackage
(SQLite) and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from parkplan.errors import WorkspaceError

_HERE = Path(__file__).parent / "migrations"


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """Return the newest revision this version of parkplan knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """Return the revision the workspace behind ``conn`` is at, or ``None``."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` inside the caller's transaction."""
    command.upgrade(_config(conn), revision)


def check_current(conn: Connection, location: str) -> None:
    """Raise unless the workspace is at this parkplan's head revision.

    Raises
    ------
    WorkspaceError
        Naming the command that brings the workspace up to date.
    """
    current = current_revision(conn)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise WorkspaceError(
            f"{location} is not a parkplan workspace "
            "(no schema revision); create one with 'parkplan init'"
        )
    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current not in known:
        raise WorkspaceError(
            f"{location} was written by a newer parkplan (schema {current}); upgrade parkplan"
        )
    raise WorkspaceError(
        f"{location} has schema {current}, this parkplan needs {head}: "
        f"run 'parkplan db upgrade --workspace {location}'"
    )
