"""The OGC GeoPackage encoding: file bootstrap, geometry blobs, layer registration.

parkplan writes GeoPackage through SQLite itself (not through GDAL) so that a layer write
and the tracker's tables share one SQLite transaction: an import lands whole or not at
all. The file is a conforming GeoPackage 1.3 that GDAL, QGIS and ``ogrinfo`` open.
"""

from __future__ import annotations

import struct

import shapely
from sqlalchemy import Connection, text

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0
SRS_ID = 4326

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

_BOOTSTRAP = [
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {USER_VERSION}",
    """CREATE TABLE gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
        definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
]


def bootstrap(conn: Connection) -> None:
    """Create the GeoPackage's mandatory tables in an empty SQLite database.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection, inside a transaction, to an empty SQLite database.
    """
    for statement in _BOOTSTRAP:
        conn.exec_driver_sql(statement)
    conn.execute(
        text("INSERT INTO gpkg_spatial_ref_sys VALUES (:name, :id, :org, :code, :wkt, :desc)"),
        [
            {
                "name": "Undefined cartesian SRS",
                "id": -1,
                "org": "NONE",
                "code": -1,
                "wkt": "undefined",
                "desc": "undefined cartesian coordinate reference system",
            },
            {
                "name": "Undefined geographic SRS",
                "id": 0,
                "org": "NONE",
                "code": 0,
                "wkt": "undefined",
                "desc": "undefined geographic coordinate reference system",
            },
            {
                "name": "WGS 84 geodetic",
                "id": SRS_ID,
                "org": "EPSG",
                "code": 4326,
                "wkt": _WGS84_WKT,
                "desc": "longitude/latitude coordinates in decimal degrees",
            },
        ],
    )


def is_geopackage(conn: Connection) -> bool:
    """Tell whether the SQLite database behind ``conn`` is a GeoPackage."""
    return conn.exec_driver_sql("PRAGMA application_id").scalar() == APPLICATION_ID


def register(
    conn: Connection,
    table: str,
    geometry_type: str | None,
    title: str,
    bounds: tuple[float, float, float, float] | None,
) -> None:
    """Register (or re-register) ``table`` in ``gpkg_contents`` and its geometry column.

    Parameters
    ----------
    conn : sqlalchemy.Connection
    table : str
    geometry_type : str or None
        GeoPackage geometry type name (``POINT``, ``MULTIPOLYGON``), or ``None`` for an
        attribute table.
    title : str
        Human-readable identifier shown by GIS software.
    bounds : tuple of float or None
        ``(min_x, min_y, max_x, max_y)`` of the layer, if known.
    """
    unregister(conn, table)
    min_x, min_y, max_x, max_y = bounds if bounds is not None else (None,) * 4
    conn.execute(
        text(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, "
            "max_x, max_y, srs_id) VALUES (:t, :kind, :ident, :a, :b, :c, :d, :srs)"
        ),
        {
            "t": table,
            "kind": "features" if geometry_type else "attributes",
            "ident": title,
            "a": min_x,
            "b": min_y,
            "c": max_x,
            "d": max_y,
            "srs": SRS_ID if geometry_type else None,
        },
    )
    if geometry_type:
        conn.execute(
            text("INSERT INTO gpkg_geometry_columns VALUES (:t, 'geometry', :g, :srs, 0, 0)"),
            {"t": table, "g": geometry_type, "srs": SRS_ID},
        )


def unregister(conn: Connection, table: str) -> None:
    """Remove ``table`` from the GeoPackage's registry (the table itself stays)."""
    conn.execute(text("DELETE FROM gpkg_geometry_columns WHERE table_name = :t"), {"t": table})
    conn.execute(text("DELETE FROM gpkg_contents WHERE table_name = :t"), {"t": table})


_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def encode(geom: shapely.Geometry | None, srs_id: int = SRS_ID) -> bytes | None:
    """Encode a shapely geometry as a GeoPackage geometry blob (little-endian, XY envelope).

    Points carry no envelope (the spec allows it; the point is its own envelope).
    """
    if geom is None:
        return None
    empty = geom.is_empty
    envelope = 0 if empty or geom.geom_type == "Point" else 1
    flags = 0x01 | (envelope << 1) | (0x10 if empty else 0)
    header = b"GP" + struct.pack("<BBi", 0, flags, srs_id)
    if envelope:
        min_x, min_y, max_x, max_y = geom.bounds
        header += struct.pack("<4d", min_x, max_x, min_y, max_y)
    return header + shapely.to_wkb(geom, byte_order=1, flavor="iso")


def decode(blob: bytes | None) -> shapely.Geometry | None:
    """Decode a GeoPackage geometry blob into a shapely geometry."""
    if blob is None:
        return None
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    envelope = (blob[3] >> 1) & 0x07
    return shapely.from_wkb(bytes(blob[8 + _ENVELOPE_BYTES[envelope] :]))
