"""The workspace store: one API over GeoPackage and PostgreSQL/PostGIS."""

from parkplan.store.workspace import LayerInfo, Workspace, is_database_url, resolve_location

__all__ = ["LayerInfo", "Workspace", "is_database_url", "resolve_location"]
