"""Geometry and payloads of the park map: rounding, simplifying, GeoJSON, columns."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from parkplan.maps.style import COORD_DECIMALS, DISTRICT_SIMPLIFY_TOLERANCE

__all__ = [
    "bounds",
    "column",
    "features",
    "geometry",
    "is_illustrative",
    "points_xy",
    "prepare",
    "records",
    "simplify_districts",
]


def _round_coords(coords: Any) -> Any:
    if len(coords) and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DECIMALS) for c in coords[:2]]  # drop any Z
    return [_round_coords(c) for c in coords]


def geometry(geom: Any) -> dict:
    """Return a GeoJSON geometry with coordinates rounded to :data:`COORD_DECIMALS`."""
    mapping = shapely.geometry.mapping(geom)
    return {"type": mapping["type"], "coordinates": _round_coords(mapping["coordinates"])}


def prepare(gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """EPSG:4326, rows with a usable geometry only; ``None`` when nothing is left."""
    if gdf is None or len(gdf) == 0 or not isinstance(gdf, gpd.GeoDataFrame):
        return None
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    keep = gdf.geometry.notna() & ~gdf.geometry.is_empty
    gdf = gdf[keep]
    return gdf if len(gdf) else None


def simplify_districts(geoms: gpd.GeoSeries) -> list:
    """Simplify district outlines for display (see :data:`DISTRICT_SIMPLIFY_TOLERANCE`).

    Neighbouring districts share boundaries; simplifying each polygon on its own would
    open slivers between them, so a valid coverage is simplified as a whole (shared
    edges stay shared). Anything else falls back to per-polygon simplification.
    """
    arr = geoms.to_numpy()
    try:
        if shapely.coverage_is_valid(arr):
            return list(shapely.coverage_simplify(arr, DISTRICT_SIMPLIFY_TOLERANCE))
    except Exception:  # GEOS refuses odd input (e.g. points); use the plain path
        pass
    return list(shapely.simplify(arr, DISTRICT_SIMPLIFY_TOLERANCE, preserve_topology=True))


def features(gdf: gpd.GeoDataFrame, props: list[dict], geoms: list | None = None) -> dict:
    """Return a FeatureCollection of ``gdf``'s (or ``geoms``) geometries with ``props``."""
    geoms = list(gdf.geometry) if geoms is None else geoms
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": geometry(g), "properties": p}
            for g, p in zip(geoms, props, strict=True)
            if g is not None and not g.is_empty
        ],
    }


def points_xy(gdf: gpd.GeoDataFrame) -> tuple[list[float], list[float]]:
    """Return rounded x and y of each row (a point inside any non-point geometry)."""
    geoms = gdf.geometry
    if not (geoms.geom_type == "Point").all():
        geoms = geoms.representative_point()
    x = np.round(shapely.get_x(geoms.to_numpy()), COORD_DECIMALS)
    y = np.round(shapely.get_y(geoms.to_numpy()), COORD_DECIMALS)
    return x.tolist(), y.tolist()


def bounds(frames: list[gpd.GeoDataFrame]) -> list[list[float]]:
    """Return ``[[south, west], [north, east]]`` around every frame, rounded."""
    boxes = [gdf.total_bounds for gdf in frames]
    minx = min(b[0] for b in boxes)
    miny = min(b[1] for b in boxes)
    maxx = max(b[2] for b in boxes)
    maxy = max(b[3] for b in boxes)
    r = COORD_DECIMALS
    return [[round(miny, r), round(minx, r)], [round(maxy, r), round(maxx, r)]]


def column(values: list) -> list | dict:
    """Return a payload column, dictionary-encoded (``{d, i}``) when that is smaller."""
    distinct = dict.fromkeys(values)
    if len(distinct) * 2 > len(values):
        return values
    index = {v: i for i, v in enumerate(distinct)}
    return {"d": list(distinct), "i": [index[v] for v in values]}


def records(gdf: gpd.GeoDataFrame) -> list[dict]:
    """Return the attribute rows of ``gdf`` (without the geometry)."""
    return gdf.drop(columns=gdf.geometry.name).to_dict("records")


def is_illustrative(gdf: gpd.GeoDataFrame | None) -> bool:
    """Whether any record's ``source`` says the data is illustrative (示意)."""
    if gdf is None or "source" not in gdf.columns:
        return False
    src = gdf["source"].dropna().astype(str).str.lower()
    return bool((src.str.contains("illustrative") | src.str.contains("示意")).any())
