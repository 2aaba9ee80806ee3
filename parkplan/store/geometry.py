"""SQLAlchemy column types that carry shapely geometries in each store."""

from __future__ import annotations

import shapely
import sqlalchemy as sa
from sqlalchemy.types import UserDefinedType

from parkplan.store import gpkg


class GpkgGeometry(UserDefinedType):
    """A GeoPackage geometry column: declared by its type name, stored as a GPKG blob."""

    cache_ok = True

    def __init__(self, geometry_type: str):
        self.geometry_type = geometry_type

    def get_col_spec(self, **kw) -> str:
        """Return the declared SQLite type, which GeoPackage requires to be the type name."""
        return self.geometry_type

    def bind_processor(self, dialect):
        """Encode shapely geometries as GeoPackage blobs."""
        return gpkg.encode

    def result_processor(self, dialect, coltype):
        """Decode GeoPackage blobs into shapely geometries."""
        return gpkg.decode


class PostgisGeometry(UserDefinedType):
    """A PostGIS ``geometry(TYPE, 4326)`` column exchanged as WKB."""

    cache_ok = True

    def __init__(self, geometry_type: str):
        self.geometry_type = geometry_type

    def get_col_spec(self, **kw) -> str:
        """Return the PostGIS column type."""
        return f"geometry({self.geometry_type}, {gpkg.SRS_ID})"

    def bind_expression(self, bindvalue):
        """Build the geometry from WKB on the server."""
        return sa.func.ST_GeomFromWKB(bindvalue, gpkg.SRS_ID, type_=self)

    def column_expression(self, col):
        """Select the geometry as WKB."""
        return sa.func.ST_AsBinary(col, type_=self)

    def bind_processor(self, dialect):
        """Encode shapely geometries as WKB."""

        def process(value):
            return None if value is None else shapely.to_wkb(value)

        return process

    def result_processor(self, dialect, coltype):
        """Decode WKB into shapely geometries."""

        def process(value):
            return None if value is None else shapely.from_wkb(bytes(value))

        return process
