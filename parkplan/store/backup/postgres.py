"""PostgreSQL backups: ``pg_dump --format=custom`` of the workspace schema, restored whole.

``pg_dump`` reads in one repeatable-read snapshot, so the dump is consistent while the
application writes; ``pg_restore --list`` checks the archive before it is kept. A restore runs
in one transaction (``psql``, fed by ``pg_restore``): the target schema holds either its old
content or the backup's, never a mixture, and may have another name than the backed-up one.
"""

from __future__ import annotations

import logging
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from parkplan.errors import WorkspaceError
from parkplan.i18n import t
from parkplan.store.backup import tools
from parkplan.store.backup.archive import BackupInfo, move_into_place, temp_beside
from parkplan.store.workspace import Workspace, postgres_engine, redact_url

log = logging.getLogger(__name__)


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = postgres_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _server_major(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def backup_postgis(url: str, out: Path) -> BackupInfo:
    """Dump the URL's schema with ``pg_dump --format=custom`` to ``out``, checked."""
    from parkplan.store import migrate

    pg_dump = tools.find_tool("pg_dump")
    with _engine(url) as engine, engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        revision = migrate.current_revision(conn)
        server = _server_major(conn)
    if schema is None or revision is None:
        raise WorkspaceError(t("store.pg.no_workspace", "en", location=redact_url(url)))
    tool = tools.tool_major(pg_dump)
    if tool < server:
        raise WorkspaceError(t("store.pg.dump_too_old", "en", tool=tool, server=server))
    dbname, env = tools.libpq_connection(url)
    env.setdefault("PGAPPNAME", "parkplan-backup")
    tmp = temp_beside(out)
    try:
        # A double-quoted pattern matches the name literally (pg_dump's pattern rules).
        pattern = '"' + schema.replace('"', '""') + '"'
        tools.run_tool(
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
                t(
                    "store.pg.dump_wrong_schema",
                    "en",
                    location=redact_url(url),
                    got=repr(listed.schema),
                    schema=repr(schema),
                )
            )
        move_into_place(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    info = BackupInfo("postgis", out, redact_url(url), out.stat().st_size, revision, schema)
    log.info("backed up schema %s of %s to %s", schema, redact_url(url), out)
    return info


@dataclass(frozen=True)
class _Listing:
    schema: str
    dump_major: int | None
    server_major: int | None
    lines: list[str]


def _archive_listing(path: Path, env: dict[str, str]) -> _Listing:
    """Read a custom-format archive's table of contents (checks that it is readable)."""
    pg_restore = tools.find_tool("pg_restore")
    text = tools.run_tool([pg_restore, "--list", str(path)], env, f"pg_restore --list {path}")
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
        raise WorkspaceError(t("store.pg.many_schemas", "en", path=path, count=len(schemas)))

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


def restore_postgis(backup_file: Path, url: str, force: bool) -> BackupInfo:
    """Restore a ``pg_dump`` archive into the URL's schema in one transaction (see the package)."""
    from parkplan.store import migrate

    pg_restore, psql = tools.find_tool("pg_restore"), tools.find_tool("psql")
    dbname, env = tools.libpq_connection(url)
    env.setdefault("PGAPPNAME", "parkplan-restore")
    listing = _archive_listing(backup_file, env)
    restore_major = tools.tool_major(pg_restore)
    if listing.dump_major is not None and listing.dump_major > restore_major:
        raise WorkspaceError(
            t(
                "store.pg.restore_too_old",
                "en",
                path=backup_file,
                dump=listing.dump_major,
                restore=restore_major,
            )
        )
    with _engine(url) as engine, engine.connect() as conn:
        server = _server_major(conn)
        target = tools.url_schema(url) or conn.exec_driver_sql("SELECT current_schema()").scalar()
        if target is None:
            raise WorkspaceError(t("store.pg.no_schema", "en", location=redact_url(url)))
        if not conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").first():
            raise WorkspaceError(t("store.ws.no_postgis", "en", location=redact_url(url)))
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
            t(
                "store.pg.server_too_old",
                "en",
                path=backup_file,
                source=listing.server_major,
                server=server,
            )
        )
    if objects and not force:
        raise WorkspaceError(
            t(
                "store.pg.target_not_empty",
                "en",
                schema=target,
                location=redact_url(url),
                objects=objects,
            )
        )
    if source_has_extension:
        raise WorkspaceError(t("store.pg.source_has_extensions", "en", schema=repr(listing.schema)))

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
        tools.pipe_restore(
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
        raise WorkspaceError(t("store.pg.restored_unopenable", "en", reason=err)) from None
    info = BackupInfo(
        "postgis", backup_file, redact_url(url), backup_file.stat().st_size, revision, target
    )
    log.info("restored schema %s of %s from %s", target, redact_url(url), backup_file)
    return info


def _count_objects(conn: sa.Connection, schema: str) -> int:
    # Local to the caller's read transaction, which is rolled back.
    conn.execute(sa.text("SELECT set_config('parkplan.restore_target', :s, true)"), {"s": schema})
    return int(
        conn.execute(
            sa.text("SELECT count(*) FROM (" + _OWN_OBJECTS.replace("{which}", "target") + ") o")
        ).scalar()
    )


__all__ = ["backup_postgis", "restore_postgis"]
