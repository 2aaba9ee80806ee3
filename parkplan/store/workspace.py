"""One workspace API over a GeoPackage file (default) and PostgreSQL/PostGIS (shared).

A workspace is named by a *location*: a file path (a GeoPackage) or a
``postgresql://`` URL (a PostGIS database; select a schema with libpq's
``options=-csearch_path%3Dmyschema,public``). Layers are tables with a geometry column
(or attribute tables), created from the schemas in :mod:`parkplan.layers`; every other
table is created by Alembic migrations (:mod:`parkplan.store.migrate`).

Every write happens in one database transaction, so a layer import lands whole or not
at all, and a crash leaves the workspace as it was before the write.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, event

from parkplan.errors import WorkspaceError
from parkplan.i18n import t
from parkplan.store import gpkg

if TYPE_CHECKING:
    import pandas as pd

# The layer schemas (pandera), pandas and geopandas are imported by the methods that read or
# write layers: opening a workspace for the tracker's tables alone (``parkplan tasks list``)
# then takes no second of imports.

ENV_VAR = "PARKPLAN_WORKSPACE"
DEFAULT_LOCATION = "parkplan.gpkg"


def resolve_location(location: str | os.PathLike | None) -> str:
    """Return the workspace location to use.

    Parameters
    ----------
    location : str, path or None
        Explicit location; when ``None``, the ``PARKPLAN_WORKSPACE`` environment variable,
        then ``./parkplan.gpkg``.
    """
    if location:
        return str(location)
    return os.environ.get(ENV_VAR) or DEFAULT_LOCATION


def is_database_url(location: str) -> bool:
    """Tell whether ``location`` names a PostgreSQL database rather than a file."""
    return location.startswith(("postgresql:", "postgresql+", "postgres:"))


def _sqlalchemy_url(location: str) -> str:
    scheme, rest = location.split(":", 1)
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    return f"{scheme}:{rest}"


def postgres_engine(location: str, **options: Any) -> Engine:
    """Make an engine for a PostgreSQL URL and check that it connects.

    Parameters
    ----------
    location : str
        A ``postgresql://`` URL.
    **options
        Passed to :func:`sqlalchemy.create_engine` (pooling).

    Raises
    ------
    WorkspaceError
        If the server cannot be reached; the message carries the URL without its password.
    """
    engine = sa.create_engine(_sqlalchemy_url(location), **options)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as err:
        engine.dispose()
        raise WorkspaceError(
            t(
                "store.ws.cannot_connect",
                "en",
                location=redact_url(location),
                reason=str(err.orig).strip(),
            )
        ) from None
    return engine


def _sqlite_engine(path: Path) -> Engine:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)

    # pysqlite's own transaction handling commits DDL implicitly; take control so that a
    # DROP/CREATE/INSERT sequence is one atomic transaction (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA busy_timeout = 30000")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # IMMEDIATE takes the write lock up front, so two writers queue instead of failing
        # half-way with SQLITE_BUSY on lock upgrade.
        mode = "IMMEDIATE" if conn.get_execution_options().get("parkplan_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@dataclass(frozen=True)
class LayerInfo:
    """What a workspace holds for one layer."""

    name: str
    features: int
    geometry_type: str | None
    crs: str | None
    bounds: tuple[float, float, float, float] | None
    area_km2: float | None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "features": self.features,
            "geometry_type": self.geometry_type,
            "crs": self.crs,
            "bounds": list(self.bounds) if self.bounds else None,
            "area_km2": self.area_km2,
        }


class Workspace:
    """A parkplan workspace: layers and tables in a GeoPackage or a PostGIS database.

    Use :meth:`open` or :meth:`create`; close with :meth:`close` or a ``with`` block.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    location : str
        What the user named it by (shown in messages).
    """

    def __init__(self, engine: Engine, location: str):
        self.engine = engine
        self.location = location
        self._metadata = sa.MetaData()

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, location: str | os.PathLike | None = None, *, check_schema: bool = True
    ) -> Workspace:
        """Open an existing workspace, checking that its schema is current.

        Parameters
        ----------
        location : str, path or None
            See :func:`resolve_location`.
        check_schema : bool
            Refuse a workspace whose schema is not this parkplan's (only
            :meth:`upgrade` opens one without the check).

        Raises
        ------
        WorkspaceError
            If there is no workspace there, it is not a GeoPackage, or its schema needs
            ``parkplan db upgrade``.
        """
        from parkplan.store import migrate

        location = resolve_location(location)
        ws = cls._connect(location, must_exist=True)
        try:
            with ws.connect() as conn:
                if ws.kind == "geopackage" and not gpkg.is_geopackage(conn):
                    raise WorkspaceError(t("store.ws.not_gpkg", "en", name=location))
                if check_schema:
                    migrate.check_current(conn, location)
        except BaseException:
            ws.close()
            raise
        return ws

    @classmethod
    def create(cls, location: str | os.PathLike, populate=None) -> Workspace:
        """Create a new workspace and apply every migration.

        A GeoPackage is built in a temporary file beside the target and moved into place
        at the end, so that a crash never leaves a half-made workspace.

        Parameters
        ----------
        location : str or path
            A file path that must not exist yet, or a PostgreSQL URL whose schema holds no
            workspace yet.
        populate : callable, optional
            ``populate(workspace)`` fills the new workspace before it is moved into place
            (the demo uses it).

        Raises
        ------
        WorkspaceError
            If something already exists there, or PostGIS is missing.
        """
        from parkplan.store import migrate

        location = str(location)
        if is_database_url(location):
            ws = cls._connect(location, must_exist=False)
            try:
                with ws.begin() as conn:
                    if not conn.exec_driver_sql(
                        "SELECT 1 FROM pg_extension WHERE extname = 'postgis'"
                    ).first():
                        raise WorkspaceError(
                            t("store.ws.no_postgis", "en", location=redact_url(location))
                        )
                    if migrate.current_revision(conn) is not None:
                        raise WorkspaceError(
                            t("store.ws.taken", "en", location=redact_url(location))
                        )
                    migrate.upgrade(conn)
                if populate is not None:
                    populate(ws)
            except BaseException:
                ws.close()
                raise
            return ws

        target = Path(location)
        if target.exists():
            raise WorkspaceError(t("store.ws.exists", "en", target=target))
        if not target.parent.exists():
            raise WorkspaceError(t("store.ws.no_folder", "en", folder=target.parent))
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()
        try:
            ws = cls(_sqlite_engine(tmp), str(tmp))
            with ws.begin() as conn:
                gpkg.bootstrap(conn)
                migrate.upgrade(conn)
            if populate is not None:
                populate(ws)
            ws.close()
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return cls.open(target)

    @classmethod
    def _connect(cls, location: str, *, must_exist: bool) -> Workspace:
        if is_database_url(location):
            return cls(postgres_engine(location, pool_pre_ping=True), location)
        path = Path(location)
        if must_exist and not path.is_file():
            raise WorkspaceError(t("store.ws.missing", "en", path=path))
        return cls(_sqlite_engine(path), location)

    def upgrade(self) -> tuple[str | None, str]:
        """Apply every pending migration in one transaction.

        Returns
        -------
        tuple
            The revisions before and after.
        """
        from parkplan.store import migrate

        with self.begin() as conn:
            before = migrate.current_revision(conn)
            migrate.upgrade(conn)
            return before, migrate.head_revision()

    def close(self) -> None:
        """Release the workspace's connections."""
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def kind(self) -> str:
        """``"geopackage"`` or ``"postgis"``."""
        return "postgis" if self.engine.dialect.name == "postgresql" else "geopackage"

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """Open a write transaction: committed on success, rolled back on any error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(parkplan_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """Open a read-only use of the workspace (a transaction that is rolled back)."""
        with self.engine.connect() as conn:
            yield conn

    # ------------------------------------------------------------------ layers
    def layer_table(self, name: str) -> sa.Table:
        """Return the SQLAlchemy table of layer ``name`` for this workspace's database."""
        from parkplan import layers
        from parkplan.store.geometry import GpkgGeometry, PostgisGeometry

        if name in self._metadata.tables:
            return self._metadata.tables[name]
        kinds = {"str": sa.Text, "int": sa.Integer, "float": sa.Float}
        cols: list[sa.Column] = [sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True)]
        id_col = layers.id_column(name)
        for spec in layers.columns(name):
            cols.append(
                sa.Column(
                    spec.name,
                    kinds[spec.kind],
                    nullable=spec.nullable,
                    unique=spec.name == id_col,
                    comment=spec.description,
                )
            )
        gtype = layers.geometry_type(name)
        if gtype:
            geom = PostgisGeometry(gtype) if self.kind == "postgis" else GpkgGeometry(gtype)
            cols.append(sa.Column("geometry", geom, nullable=False))
        return sa.Table(name, self._metadata, *cols)

    def has_layer(self, name: str, conn: Connection | None = None) -> bool:
        """Tell whether layer ``name`` has been written to this workspace."""
        with _use(self, conn) as c:
            return sa.inspect(c).has_table(name)

    def read_layer(self, name: str, conn: Connection | None = None) -> pd.DataFrame:
        """Read layer ``name``; an absent layer reads as an empty, typed frame.

        Returns
        -------
        GeoDataFrame or DataFrame
            Columns as in the layer's schema; a GeoDataFrame in EPSG:4326 for spatial
            layers.
        """
        import geopandas as gpd
        import pandas as pd

        from parkplan import layers

        layers.layer_model(name)
        with _use(self, conn) as c:
            if not self.has_layer(name, c):
                return layers.empty_frame(name)
            table = self.layer_table(name)
            rows = c.execute(sa.select(table).order_by(table.c.fid)).mappings().all()
        if not rows:
            return layers.empty_frame(name)
        frame = pd.DataFrame([dict(r) for r in rows]).drop(columns="fid")
        for spec in layers.columns(name):
            if spec.kind == "str":
                frame[spec.name] = (
                    frame[spec.name].astype("object").where(frame[spec.name].notna(), "")
                )
        if layers.geometry_type(name) is None:
            return frame
        return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")

    def write_layers(
        self,
        frames: dict[str, pd.DataFrame],
        *,
        append: bool = False,
        conn: Connection | None = None,
    ) -> None:
        """Write validated layer frames in one transaction.

        Parameters
        ----------
        frames : dict of str to DataFrame
            Layer name to frame, already validated (:func:`parkplan.layers.validate`).
        append : bool
            Add to the existing records instead of replacing the layer.
        conn : sqlalchemy.Connection, optional
            A transaction to write in; by default a new one is opened and committed.
        """
        if conn is None:
            with self.begin() as new_conn:
                self.write_layers(frames, append=append, conn=new_conn)
            return
        for name, frame in frames.items():
            self._write_layer(conn, name, frame, append)
        self.set_meta("layers_changed_at", datetime.now(UTC).isoformat(), conn)

    def _write_layer(self, conn: Connection, name: str, frame: pd.DataFrame, append: bool) -> None:
        from parkplan import layers

        table = self.layer_table(name)
        gtype = layers.geometry_type(name)
        exists = self.has_layer(name, conn)
        old_bounds = None
        if exists and append and gtype and self.kind == "geopackage":
            old_bounds = conn.execute(
                sa.text(
                    "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = :t"
                ),
                {"t": name},
            ).first()
        if exists and not append:
            table.drop(conn)
            exists = False
        if not exists:
            table.create(conn)
            if gtype and self.kind == "postgis":
                conn.execute(
                    sa.text(f'CREATE INDEX "{name}_geometry_idx" ON "{name}" USING GIST (geometry)')
                )
        records = _records(frame, name)
        if records:
            conn.execute(table.insert(), records)
        if self.kind == "geopackage":
            bounds = None
            if gtype and len(frame):
                bounds = tuple(float(v) for v in frame.total_bounds)
                if old_bounds and old_bounds[0] is not None:
                    bounds = (
                        min(bounds[0], old_bounds[0]),
                        min(bounds[1], old_bounds[1]),
                        max(bounds[2], old_bounds[2]),
                        max(bounds[3], old_bounds[3]),
                    )
            zh, en = layers.layer_model(name).__config__.metadata["title"]
            gpkg.register(conn, name, gtype, f"{zh} {en}", bounds)

    def describe(self) -> list[LayerInfo]:
        """Summarise every layer present: feature count, CRS, bounds and polygon area.

        Area is measured in :data:`parkplan.crs.METRIC_CRS`.
        """
        from parkplan import layers
        from parkplan.crs import METRIC_CRS

        infos = []
        with self.connect() as conn:
            for name in layers.LAYERS:
                if not self.has_layer(name, conn):
                    continue
                frame = self.read_layer(name, conn)
                gtype = layers.geometry_type(name)
                bounds = area = None
                if gtype and len(frame):
                    bounds = tuple(round(float(v), 6) for v in frame.total_bounds)
                if gtype == "MULTIPOLYGON" and len(frame):
                    area = round(float(frame.to_crs(METRIC_CRS).area.sum()) / 1e6, 1)
                infos.append(
                    LayerInfo(name, len(frame), gtype, "EPSG:4326" if gtype else None, bounds, area)
                )
        return infos

    # -------------------------------------------------------------- metadata
    def get_meta(self, key: str, conn: Connection | None = None) -> str | None:
        """Return a workspace setting (``parkplan_meta``), or ``None``."""
        with _use(self, conn) as c:
            return c.execute(
                sa.text("SELECT value FROM parkplan_meta WHERE key = :k"), {"k": key}
            ).scalar()

    def set_meta(self, key: str, value: str, conn: Connection) -> None:
        """Set a workspace setting inside the caller's transaction."""
        conn.execute(sa.text("DELETE FROM parkplan_meta WHERE key = :k"), {"k": key})
        conn.execute(
            sa.text("INSERT INTO parkplan_meta (key, value) VALUES (:k, :v)"),
            {"k": key, "v": value},
        )


@contextlib.contextmanager
def _use(ws: Workspace, conn: Connection | None) -> Iterator[Connection]:
    if conn is not None:
        yield conn
    else:
        with ws.connect() as new_conn:
            yield new_conn


def _records(frame: pd.DataFrame, name: str) -> list[dict]:
    import numpy as np
    import pandas as pd

    from parkplan import layers

    names = [c.name for c in layers.columns(name)]
    data = pd.DataFrame(frame[names]).astype(object)
    data = data.where(pd.notna(data), None)
    records = data.to_dict(orient="records")
    if layers.geometry_type(name):
        geoms = np.asarray(frame.geometry.values)
        for record, geom in zip(records, geoms, strict=True):
            record["geometry"] = geom
    for record in records:
        for key, value in record.items():
            if isinstance(value, np.generic):
                record[key] = value.item()
    return records


def redact_url(url: str) -> str:
    """Return ``url`` with its password hidden, to show to users (a path comes back as it is)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


__all__ = [
    "LayerInfo",
    "Workspace",
    "is_database_url",
    "postgres_engine",
    "redact_url",
    "resolve_location",
]
