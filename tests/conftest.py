"""Shared fixtures: workspaces on both stores, and a way to tell whether one changed.

PostGIS tests take the server from ``PARKPLAN_TEST_PG_URL`` (a database with the postgis
extension; ``.ci/run`` creates one) and skip with a reason when it is unset. Each test gets
its own schema, dropped afterwards.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from parkplan.services.demo import create_workspace
from parkplan.store import Workspace
from parkplan.store.backup import backup, restore
from parkplan.store.schemas import fresh_schema

PG_ENV = "PARKPLAN_TEST_PG_URL"
STORES = ["geopackage", "postgis"]


def _engine_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"{PG_ENV} is not set: PostGIS store tests need a PostgreSQL database "
            "with the postgis extension (.ci/run creates one and sets it)"
        )
    return url


@pytest.fixture
def pg_schema_url(pg_url):
    """A workspace URL on a fresh, private schema of the test database."""
    with fresh_schema(pg_url, prefix="t") as url:
        yield url


@pytest.fixture(scope="session")
def demo_gpkg(tmp_path_factory) -> Path:
    """A demo workspace built once per session; copy it before changing it."""
    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    create_workspace(path, demo=True).close()
    return path


@pytest.fixture(params=STORES)
def store(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def pg_demo_backup(pg_url, tmp_path_factory) -> Path:
    """A backup of a demo workspace built once per session on PostgreSQL.

    Restoring it (under a test's own schema) takes a third of the time of building the
    demo again, and the PostgreSQL tests are many.
    """
    path = tmp_path_factory.mktemp("pg-demo") / "demo.dump"
    with fresh_schema(pg_url, prefix="t") as url:
        create_workspace(url, demo=True).close()
        backup(url, path)
    return path


@pytest.fixture
def demo_location(store, tmp_path, demo_gpkg, request) -> str:
    """A fresh demo workspace on the store under test: a path or a URL."""
    if store == "geopackage":
        path = tmp_path / "ws.gpkg"
        shutil.copy(demo_gpkg, path)
        return str(path)
    url = request.getfixturevalue("pg_schema_url")
    restore(request.getfixturevalue("pg_demo_backup"), url)
    return url


@pytest.fixture
def empty_location(store, tmp_path, request) -> str:
    """Where a new workspace can be created on the store under test."""
    if store == "geopackage":
        return str(tmp_path / "new.gpkg")
    return request.getfixturevalue("pg_schema_url")


def snapshot(location: str) -> str:
    """Fingerprint a workspace: the file's bytes, or every table's content on PostGIS."""
    if not location.startswith("postgresql"):
        return hashlib.sha256(Path(location).read_bytes()).hexdigest()
    digest = hashlib.sha256()
    with Workspace.open(location, check_schema=False) as ws, ws.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        tables = (
            conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                    "ORDER BY table_name"
                ),
                {"s": schema},
            )
            .scalars()
            .all()
        )
        for table in tables:
            rows = (
                conn.exec_driver_sql(f'SELECT t::text FROM "{table}" t ORDER BY t::text')
                .scalars()
                .all()
            )
            digest.update(f"{table}:{len(rows)}\n".encode())
            for row in rows:
                digest.update(row.encode() + b"\n")
    return digest.hexdigest()
