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

import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import sqlalchemy as sa

from parkplan.errors import WorkspaceError
from parkplan.store import gpkg
from parkplan.store.workspace import (
    Workspace,
    _redact,
    is_database_url,
    postgres_engine,
    resolve_location,
)

log = logging.getLogger(__name__)

#: First bytes of an SQLite database file (a GeoPackage backup).
SQLITE_MAGIC = b"SQLite format 3\x00"
#: First bytes of a ``pg_dump --format=custom`` archive (a PostgreSQL backup).
PGDUMP_MAGIC = b"PGDMP"

#: Seconds the external PostgreSQL tools may run before they are stopped.
TOOL_TIMEOUT = 6 * 3600


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
        raise WorkspaceError(f"cannot read the backup {path}: {err.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "geopackage"
    if head.startswith(PGDUMP_MAGIC):
        return "postgis"
    raise WorkspaceError(
        f"{path} is not a parkplan backup (neither a GeoPackage nor a pg_dump archive)"
    )


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
        raise WorkspaceError(f"{out} is a folder; give a file name for the backup")
    if not out.parent.is_dir():
        raise WorkspaceError(f"folder {out.parent} does not exist")
    if out.exists() and not force:
        raise WorkspaceError(f"{out} already exists; choose a new name or use --force")
    if is_database_url(location):
        return _backup_postgis(location, out)
    return _backup_geopackage(Path(location), out)


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
        names = {"geopackage": "a GeoPackage file path", "postgis": "a postgresql:// URL"}
        raise WorkspaceError(
            f"{path} is a {_KIND_NAMES[kind]} backup; restore it to "
            f"{names[kind]}, not to {_redact(location)}"
        )
    if kind == "postgis":
        return _restore_postgis(path, location, force)
    return _restore_geopackage(path, Path(location), force)


_KIND_NAMES = {"geopackage": "GeoPackage", "postgis": "PostgreSQL"}


# ---------------------------------------------------------------------- files
def _temp_beside(target: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(name)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
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


def _move_into_place(tmp: Path, target: Path) -> None:
    _fsync_file(tmp)
    os.replace(tmp, target)
    _fsync_dir(target.parent)


# ----------------------------------------------------------------- GeoPackage
@contextmanager
def _sqlite(path: Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    uri = path.resolve().as_uri() + ("?mode=ro" if readonly else "")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error as err:
        raise WorkspaceError(f"cannot open {path}: {err}") from None
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
                f"{name} fails SQLite's integrity check: " + "; ".join(problems[:5])
            )
        if conn.execute("PRAGMA application_id").fetchone()[0] != gpkg.APPLICATION_ID:
            raise WorkspaceError(f"{name} is not a GeoPackage")
        row = None
        if conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone():
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as err:
        raise WorkspaceError(f"{name} is not a readable GeoPackage: {err}") from None
    if row is None:
        raise WorkspaceError(
            f"{name} is a GeoPackage but not a parkplan workspace (no schema revision)"
        )
    return row[0]


def _copy_sqlite(source: sqlite3.Connection, target: Path) -> None:
    with _sqlite(target) as dest:
        # One step (pages=-1): the whole copy is taken under one read lock on the source, so
        # it is one committed state; writers wait for it (busy timeout) instead of
        # restarting it.
        source.backup(dest, pages=-1)


def _backup_geopackage(source: Path, out: Path) -> BackupInfo:
    if not source.is_file():
        raise WorkspaceError(f"no workspace at {source}")
    if out.exists() and out.resolve() == source.resolve():
        raise WorkspaceError(f"{out} is the workspace itself; write the backup elsewhere")
    tmp = _temp_beside(out)
    try:
        with _sqlite(source) as src:
            try:
                _check_geopackage_header(src, str(source))
                _copy_sqlite(src, tmp)
            except sqlite3.DatabaseError as err:
                raise WorkspaceError(f"cannot back up {source}: {err}") from None
        with _sqlite(tmp) as copy:
            revision = _check_geopackage(copy, f"the backup of {source}")
        _move_into_place(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    info = BackupInfo("geopackage", out, str(source), out.stat().st_size, revision)
    log.info("backed up %s to %s (%d bytes)", source, out, info.size)
    return info


def _check_geopackage_header(conn: sqlite3.Connection, name: str) -> None:
    if conn.execute("PRAGMA application_id").fetchone()[0] != gpkg.APPLICATION_ID:
        raise WorkspaceError(f"{name} is not a GeoPackage")


def _restore_geopackage(backup_file: Path, target: Path, force: bool) -> BackupInfo:
    if target.is_dir():
        raise WorkspaceError(f"{target} is a folder; give the workspace's file name")
    if not target.parent.is_dir():
        raise WorkspaceError(f"folder {target.parent} does not exist")
    if target.exists() and not force:
        raise WorkspaceError(
            f"{target} already exists; restore to a new path, or use --force "
            "to replace it with the backup"
        )
    if target.exists() and target.resolve() == backup_file.resolve():
        raise WorkspaceError(f"{target} is the backup itself")
    with _sqlite(backup_file, readonly=True) as src:
        _check_geopackage(src, str(backup_file))
        tmp = _temp_beside(target)
        try:
            try:
                _copy_sqlite(src, tmp)
            except sqlite3.DatabaseError as err:
                raise WorkspaceError(f"cannot read the backup {backup_file}: {err}") from None
            with _sqlite(tmp) as copy:
                revision = _check_geopackage(copy, f"the copy of {backup_file}")
            _fsync_file(tmp)
            with _exclusive(target):
                os.replace(tmp, target)
                # A rollback journal left beside the old file would be "hot" for the new
                # one and corrupt it; under the exclusive lock there is none in use.
                Path(f"{target}-journal").unlink(missing_ok=True)
                _fsync_dir(target.parent)
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
                raise WorkspaceError(
                    f"{target} is busy (a write has held it for 30 s); try again when it is idle"
                ) from None
            log.debug("%s: not locked before replacing: %s", target, err)
        except sqlite3.DatabaseError as err:  # not a database: nothing to protect
            log.debug("%s: not locked before replacing: %s", target, err)
        yield
    finally:
        if conn.in_transaction:
            conn.rollback()
        conn.close()


# ----------------------------------------------------------------- PostgreSQL
def libpq_connection(url: str) -> tuple[str, dict[str, str]]:
    """Split a workspace URL into a password-free ``--dbname`` URI and an environment.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/db?options=…`` (``postgresql+psycopg`` too).

    Returns
    -------
    tuple of (str, dict)
        The URI to pass as ``--dbname`` (no password in it), and the environment for the
        tool: the caller's, with ``PGPASSWORD`` set when the URL holds a password.
    """
    parts = urlsplit(url)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    elif "PGPASSWORD" in os.environ:
        env["PGPASSWORD"] = os.environ["PGPASSWORD"]
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2:
        userinfo = netloc[0].split(":", 1)[0]
        host = f"{userinfo}@{netloc[1]}"
    else:
        host = netloc[0]
    query = parse_qs(parts.query)
    if "password" in query:  # libpq also takes ?password=; move it to the environment
        env["PGPASSWORD"] = query["password"][-1]
        kept = [p for p in parts.query.split("&") if not p.startswith("password=")]
        parts = parts._replace(query="&".join(kept))
    return urlunsplit(("postgresql", host, parts.path, parts.query, "")), env


def url_schema(url: str) -> str | None:
    """Return the first schema of the URL's ``search_path`` option, or ``None``.

    An unquoted name is folded to lower case, as PostgreSQL does; ``$user`` gives ``None``.
    """
    options = " ".join(parse_qs(urlsplit(url).query).get("options", []))
    # libpq splits options at spaces; a backslash keeps the next character.
    match = re.search(r"search_path\s*=\s*((?:\\.|\S)+)", options)
    if not match:
        return None
    value = re.sub(r"\\(.)", r"\1", match.group(1))
    first = re.match(r'\s*("(?:[^"]|"")*"|[^,]*)', value).group(1).strip()
    if first.startswith('"') and first.endswith('"') and len(first) >= 2:
        return first[1:-1].replace('""', '"') or None
    if not first or first == "$user":
        return None
    return first.lower()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise WorkspaceError(
            f"{name} is not installed (or not on PATH); install the "
            "PostgreSQL client tools of the server's major version"
        )
    return found


def _tool_major(path: str) -> int:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if out.returncode != 0 or not match:
        raise WorkspaceError(f"cannot tell the version of {path}: {out.stderr.strip()}")
    return int(match.group(1))


def _run(args: list[str], env: dict[str, str], what: str, **kwargs) -> str:
    try:
        proc = subprocess.run(
            args,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=TOOL_TIMEOUT,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        raise WorkspaceError(f"{what} did not finish in {TOOL_TIMEOUT} s") from None
    if proc.returncode != 0:
        raise WorkspaceError(f"{what} failed: {_tool_message(proc.stderr)}")
    return proc.stdout


def _tool_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return "; ".join(lines[-5:]) or "no message"


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = postgres_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _server_major(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def _backup_postgis(url: str, out: Path) -> BackupInfo:
    from parkplan.store import migrate

    pg_dump = _tool("pg_dump")
    with _engine(url) as engine, engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        revision = migrate.current_revision(conn)
        server = _server_major(conn)
    if schema is None or revision is None:
        raise WorkspaceError(f"{_redact(url)} holds no parkplan workspace to back up")
    tool = _tool_major(pg_dump)
    if tool < server:
        raise WorkspaceError(
            f"pg_dump {tool} is older than the server (PostgreSQL {server}) "
            f"and cannot dump it; install pg_dump {server} or later"
        )
    dbname, env = libpq_connection(url)
    env.setdefault("PGAPPNAME", "parkplan-backup")
    tmp = _temp_beside(out)
    try:
        # A double-quoted pattern matches the name literally (pg_dump's pattern rules).
        pattern = '"' + schema.replace('"', '""') + '"'
        _run(
            [
                pg_dump,
                "--format=custom",
                f"--schema={pattern}",
                f"--file={tmp}",
                f"--dbname={dbname}",
            ],
            env,
            "pg_dump",
        )
        listed = _archive_listing(tmp, env)
        if listed.schema != schema:
            raise WorkspaceError(
                f"the dump of {_redact(url)} holds schema {listed.schema!r}, not {schema!r}"
            )
        _move_into_place(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    info = BackupInfo("postgis", out, _redact(url), out.stat().st_size, revision, schema)
    log.info("backed up schema %s of %s to %s", schema, _redact(url), out)
    return info


@dataclass(frozen=True)
class _Listing:
    schema: str
    dump_major: int | None
    server_major: int | None
    lines: list[str]


def _archive_listing(path: Path, env: dict[str, str]) -> _Listing:
    """Read a custom-format archive's table of contents (checks that it is readable)."""
    pg_restore = _tool("pg_restore")
    text = _run([pg_restore, "--list", str(path)], env, f"pg_restore --list {path}")
    lines = text.splitlines()
    schemas = set()
    for line in lines:
        match = re.match(r"^\d+; \d+ \d+ SCHEMA - (.+) (\S+)$", line)
        if match:
            schemas.add(match.group(1))
    if not schemas:  # no SCHEMA entry: take the schema of the tables
        schemas = {
            m.group(1) for line in lines if (m := re.match(r"^\d+; \d+ \d+ TABLE (\S+) ", line))
        }
    if len(schemas) != 1:
        raise WorkspaceError(
            f"{path} holds {len(schemas)} schemas; a parkplan backup holds one workspace schema"
        )

    def major(label: str) -> int | None:
        found = re.search(rf"^;\s+{label}:\s*(\d+)", text, re.MULTILINE)
        return int(found.group(1)) if found else None

    return _Listing(
        schemas.pop(),
        major("Dumped by pg_dump version"),
        major("Dumped from database version"),
        lines,
    )


# SQL run around the restored objects, in the restore's one transaction. Values reach it as
# psql variables (:'name' and :"name" quote them), never spliced into the text here.
_PRELUDE = r"""
\set ON_ERROR_STOP on
BEGIN;
SELECT set_config('parkplan.restore_target', :'target', true),
       set_config('parkplan.restore_source', :'source', true);
CREATE SCHEMA IF NOT EXISTS :"target";
"""

# Objects of a schema that belong to it (not to an extension such as PostGIS).
_OWN_OBJECTS = r"""
    SELECT format('%s %I.%I', CASE c.relkind WHEN 'v' THEN 'VIEW'
                   WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                   WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname) AS obj,
           CASE c.relkind WHEN 'S' THEN 2 ELSE 1 END AS pass
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_setting('parkplan.restore_{which}')
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                       AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ROUTINE %s', p.oid::regprocedure), 3
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = current_setting('parkplan.restore_{which}')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                       AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('TYPE %s', t.oid::regtype), 4
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = current_setting('parkplan.restore_{which}')
       AND (t.typtype IN ('e', 'd', 'r', 'm')
            OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                       AND d.objid = t.oid AND d.deptype = 'e')
"""

_REFUSE_NONEMPTY = (
    r"""
DO $parkplan$
DECLARE n integer;
BEGIN
  SELECT count(*) INTO n FROM ("""
    + _OWN_OBJECTS.replace("{which}", "target")
    + r""") o;
  IF n > 0 THEN
    RAISE EXCEPTION 'parkplan: schema % holds % objects; restore with --force to replace them',
      current_setting('parkplan.restore_target'), n;
  END IF;
END $parkplan$;
"""
)

# Empty the target schema but keep it (its owner, grants and default privileges stay).
_EMPTY_TARGET = (
    r"""
DO $parkplan$
DECLARE r record;
BEGIN
  FOR r IN SELECT obj, pass FROM ("""
    + _OWN_OBJECTS.replace("{which}", "target")
    + r""") o
           ORDER BY pass LOOP
    BEGIN
      EXECUTE format('DROP %s CASCADE', r.obj);
    EXCEPTION WHEN undefined_table OR undefined_object OR undefined_function THEN
      NULL;  -- already dropped by an earlier CASCADE
    END;
  END LOOP;
END $parkplan$;
"""
)

_PARK_SOURCE = r"""
ALTER SCHEMA :"source" RENAME TO :"parked";
"""

_UNPARK_SOURCE = r"""
ALTER SCHEMA :"parked" RENAME TO :"source";
"""

_CREATE_SOURCE = r"""
CREATE SCHEMA :"source";
"""

# Move every restored object from the backup's schema name to the target's.
_MOVE_TO_TARGET = (
    r"""
DO $parkplan$
DECLARE r record;
BEGIN
  FOR r IN SELECT obj, pass FROM ("""
    + _OWN_OBJECTS.replace("{which}", "source")
    + r""") o
           ORDER BY pass LOOP
    BEGIN
      EXECUTE format('ALTER %s SET SCHEMA %I', r.obj,
                     current_setting('parkplan.restore_target'));
    EXCEPTION WHEN undefined_table OR undefined_object OR undefined_function THEN
      NULL;  -- moved along with its table (an owned sequence)
    END;
  END LOOP;
END $parkplan$;
DROP SCHEMA :"source";
"""
)

_COMMIT = "\nCOMMIT;\n"


def _restore_postgis(backup_file: Path, url: str, force: bool) -> BackupInfo:
    from parkplan.store import migrate

    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    dbname, env = libpq_connection(url)
    env.setdefault("PGAPPNAME", "parkplan-restore")
    listing = _archive_listing(backup_file, env)
    restore_major = _tool_major(pg_restore)
    if listing.dump_major is not None and listing.dump_major > restore_major:
        raise WorkspaceError(
            f"{backup_file} was written by pg_dump {listing.dump_major}; "
            f"pg_restore {restore_major} cannot read it: install "
            f"pg_restore {listing.dump_major} or later"
        )
    with _engine(url) as engine, engine.connect() as conn:
        server = _server_major(conn)
        target = url_schema(url) or conn.exec_driver_sql("SELECT current_schema()").scalar()
        if target is None:
            raise WorkspaceError(
                f"{_redact(url)} names no schema; add "
                "options=-csearch_path%3DSCHEMA,public to the URL"
            )
        if not conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").first():
            raise WorkspaceError(
                f"{_redact(url)}: the PostGIS extension is not installed; "
                "run CREATE EXTENSION postgis as a superuser"
            )
        exists = (
            conn.execute(
                sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": target}
            ).first()
            is not None
        )
        objects = 0
        if exists:
            objects = _count_objects(conn, target)
        # The dump creates its objects in the schema it was taken from. Restoring under
        # another name, that schema is made for the restore and its objects are moved to
        # the target; if a schema of that name exists here (a copy within one database),
        # it is renamed aside for the transaction and back before it commits, so that no
        # other session ever sees it change.
        source_exists = (
            listing.schema != target
            and conn.execute(
                sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": listing.schema}
            ).first()
            is not None
        )
        source_has_extension = (
            source_exists
            and conn.execute(
                sa.text(
                    "SELECT 1 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE n.nspname = :s"
                ),
                {"s": listing.schema},
            ).first()
            is not None
        )
    if listing.server_major is not None and listing.server_major > server:
        raise WorkspaceError(
            f"{backup_file} comes from PostgreSQL {listing.server_major}; "
            f"the target runs PostgreSQL {server}: restore to "
            f"{listing.server_major} or later"
        )
    if objects and not force:
        raise WorkspaceError(
            f"schema {target} of {_redact(url)} is not empty ({objects} "
            "objects); restore to an empty schema, or use --force to "
            "replace its content with the backup"
        )
    if source_has_extension:
        raise WorkspaceError(
            f"the backup holds schema {listing.schema!r}, which holds extensions in this "
            f"database; restore it into schema {listing.schema!r} or into another database"
        )

    # The archive's own CREATE SCHEMA (and its comment) are left out: the script makes the
    # schemas, so an existing, empty target schema keeps its owner and grants.
    kept = [
        line
        for line in listing.lines
        if not re.match(r"^\d+; \d+ \d+ (SCHEMA|COMMENT - SCHEMA|ACL - SCHEMA) ", line)
    ]
    prelude = _PRELUDE + (_EMPTY_TARGET if force else _REFUSE_NONEMPTY)
    postlude = _COMMIT
    if listing.schema != target:
        prelude += (_PARK_SOURCE if source_exists else "") + _CREATE_SOURCE
        postlude = _MOVE_TO_TARGET + (_UNPARK_SOURCE if source_exists else "") + _COMMIT
    parked = f"parkplan_restore_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="parkplan-restore-") as work:
        list_file = Path(work) / "toc.list"
        list_file.write_text("\n".join(kept) + "\n", encoding="utf-8")
        _pipe_restore(
            [
                pg_restore,
                "--file=-",
                "--no-owner",
                "--no-acl",
                f"--use-list={list_file}",
                str(backup_file),
            ],
            [
                psql,
                "-X",
                "-q",
                "--no-password",
                "-v",
                f"target={target}",
                "-v",
                f"source={listing.schema}",
                "-v",
                f"parked={parked}",
                "-f",
                "-",
                f"--dbname={dbname}",
            ],
            env,
            prelude,
            postlude,
            Path(work),
        )
    try:
        with Workspace.open(url, check_schema=False) as ws, ws.connect() as conn:
            revision = migrate.current_revision(conn)
    except WorkspaceError as err:
        raise WorkspaceError(f"the restored schema does not open: {err}") from None
    info = BackupInfo(
        "postgis", backup_file, _redact(url), backup_file.stat().st_size, revision, target
    )
    log.info("restored schema %s of %s from %s", target, _redact(url), backup_file)
    return info


def _count_objects(conn: sa.Connection, schema: str) -> int:
    # Local to the caller's read transaction, which is rolled back.
    conn.execute(sa.text("SELECT set_config('parkplan.restore_target', :s, true)"), {"s": schema})
    return int(
        conn.execute(
            sa.text("SELECT count(*) FROM (" + _OWN_OBJECTS.replace("{which}", "target") + ") o")
        ).scalar()
    )


def _pipe_restore(
    restore_args: list[str],
    psql_args: list[str],
    env: dict[str, str],
    prelude: str,
    postlude: str,
    work: Path,
) -> None:
    """Run ``pg_restore … | psql`` with our prelude and postlude, in one transaction.

    The prelude opens the transaction and the postlude commits it; the postlude is sent
    only when pg_restore succeeded, so a damaged archive or any SQL error (psql stops at
    the first) ends the connection without ``COMMIT`` and the server rolls everything back.
    """
    restore_err = (work / "pg_restore.err").open("w+b")
    psql_err = (work / "psql.err").open("w+b")
    with restore_err, psql_err:
        producer = subprocess.Popen(
            restore_args, env=env, stdout=subprocess.PIPE, stderr=restore_err
        )
        consumer = subprocess.Popen(
            psql_args, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err
        )
        committed = False
        try:
            try:
                consumer.stdin.write(prelude.encode())
                shutil.copyfileobj(producer.stdout, consumer.stdin, 1 << 20)
                restore_rc = producer.wait(timeout=TOOL_TIMEOUT)
                if restore_rc == 0:
                    consumer.stdin.write(postlude.encode())
                    committed = True
            except BrokenPipeError:
                producer.kill()
                restore_rc = producer.wait()
            if not committed:
                # End psql without COMMIT: it must not run to the end of its input.
                consumer.kill()
            else:
                consumer.stdin.close()
            psql_rc = consumer.wait(timeout=TOOL_TIMEOUT)
        except BaseException:
            producer.kill()
            consumer.kill()
            producer.wait()
            consumer.wait()
            raise
        finally:
            producer.stdout.close()
            if not consumer.stdin.closed:
                try:
                    consumer.stdin.close()
                except BrokenPipeError:
                    pass
        restore_err.seek(0)
        psql_err.seek(0)
        restore_msg = restore_err.read().decode(errors="replace")
        psql_msg = psql_err.read().decode(errors="replace")
    if committed and psql_rc == 0:
        return
    if restore_rc != 0 and "ERROR:" not in psql_msg:
        raise WorkspaceError(
            f"pg_restore failed, nothing was restored: {_tool_message(restore_msg)}"
        )
    message = _tool_message(psql_msg)
    match = re.search(r"ERROR:\s+parkplan: (.*)", psql_msg)
    if match:
        message = match.group(1).strip()
    raise WorkspaceError(f"the restore failed, nothing was changed: {message}")


__all__ = ["BackupInfo", "backup", "backup_kind", "libpq_connection", "restore", "url_schema"]
