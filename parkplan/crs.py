"""Coordinate reference systems and the Chinese web-map offsets.

The workspace stores every geometry in WGS-84 longitude/latitude
(:data:`STORAGE_CRS`, EPSG:4326). Lengths and areas are measured in
:data:`METRIC_CRS`, a Transverse Mercator centred on Shanghai.

Coordinates copied from AMap (高德), Tencent or Baidu maps are not WGS-84: they are
in the obfuscated GCJ-02 system (AMap, Tencent) or in BD-09 (Baidu), which differ
from WGS-84 by several hundred metres in Shanghai. No EPSG code describes either,
so they are named by the strings ``"gcj02"`` and ``"bd09"`` wherever parkplan
accepts a CRS.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError

from parkplan.errors import InputError, Problem

__all__ = [
    "LAT_MAX",
    "LAT_MIN",
    "LON_MAX",
    "LON_MIN",
    "METRIC_CRS",
    "STORAGE_CRS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_in_shanghai",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

STORAGE_CRS = pyproj.CRS.from_epsg(4326)

# A Transverse Mercator on Shanghai's own meridian keeps the scale error below
# 1e-4 across the whole city (it is ~75 km to the furthest edge), so lengths and
# areas need no correction. CGCS2000 is the datum Chinese survey data come in.
METRIC_CRS = pyproj.CRS.from_wkt(
    """PROJCRS["CGCS2000 / Shanghai TM 121.5E (parkplan)",
    BASEGEOGCRS["China Geodetic Coordinate System 2000",
        DATUM["China 2000",
            ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],
        PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],
        ID["EPSG",4490]],
    CONVERSION["Shanghai TM 121.5E",
        METHOD["Transverse Mercator",ID["EPSG",9807]],
        PARAMETER["Latitude of natural origin",0,
            ANGLEUNIT["degree",0.0174532925199433],ID["EPSG",8801]],
        PARAMETER["Longitude of natural origin",121.5,
            ANGLEUNIT["degree",0.0174532925199433],ID["EPSG",8802]],
        PARAMETER["Scale factor at natural origin",1,
            SCALEUNIT["unity",1],ID["EPSG",8805]],
        PARAMETER["False easting",500000,LENGTHUNIT["metre",1],ID["EPSG",8806]],
        PARAMETER["False northing",0,LENGTHUNIT["metre",1],ID["EPSG",8807]]],
    CS[Cartesian,2],
        AXIS["easting (E)",east,ORDER[1],LENGTHUNIT["metre",1]],
        AXIS["northing (N)",north,ORDER[2],LENGTHUNIT["metre",1]],
    USAGE[
        SCOPE["Lengths and areas in parkplan."],
        AREA["China - Shanghai."],
        BBOX[30.6,120.8,31.95,122.3]]]"""
)

# Shanghai's extent (Chongming, Changxing and Hengsha islands included) is about
# lon 120.86–122.12, lat 30.68–31.87; the box adds a few kilometres of margin so
# that features on the boundary and GCJ-02/WGS-84 confusion (~0.005°) still pass,
# while a wrong CRS or swapped axes are caught.
LON_MIN, LON_MAX = 120.80, 122.30
LAT_MIN, LAT_MAX = 30.60, 31.95

# Parameters of the published GCJ-02 algorithm (Krasovsky 1940 ellipsoid).
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# BD-09 rotates and shifts GCJ-02 with these published constants.
_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# The inverses stop once the forward image is this close to the target; the
# offsets' Jacobians are near the identity, so that bounds the round-trip error
# well under 1e-7 degrees (~1 cm).
_INVERSE_TOL = 1e-9
_INVERSE_MAX_ITER = 50


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return np.broadcast_arrays(lon, lat)


def _unwrap(a: np.ndarray) -> np.ndarray | np.float64:
    # Scalars in, numpy scalars out; arrays in, arrays out.
    return a[()] if a.ndim == 0 else a


def _gcj_dlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _gcj_dlon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat = _gcj_dlat(lon - 105.0, lat - 35.0)
    dlon = _gcj_dlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def _gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _wgs84_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _gcj02_to_bd09(*_wgs84_to_gcj02(lon, lat))


def _invert(forward, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration.

    Each offset is a small, slowly varying shift, so its Jacobian is within ~1e-3 of
    the identity and the iteration ``p <- p - (forward(p) - target)`` contracts by
    that factor per step: it reaches 1e-9 degrees in four or five steps.
    """
    x, y = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x -= ex
        y -= ey
        err = np.maximum(np.abs(ex), np.abs(ey))
        # NaN coordinates (e.g. of empty points) stay NaN and must not stall the loop.
        if err.size == 0 or not np.any(err >= _INVERSE_TOL):
            break
    return x, y


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 longitude/latitude to GCJ-02 (AMap, Tencent).

    This is the published GCJ-02 algorithm (offsets on the Krasovsky ellipsoid,
    ``a = 6378245.0``, ``ee = 0.00669342162296594323``). It is applied to every
    point: the usual "outside China, return unchanged" shortcut is deliberately
    omitted, because parkplan only handles Shanghai and a bounding-box test there
    could only hide a wrong input.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees; broadcast against each other.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in degrees (numpy scalars for scalar input).
    """
    x, y = _wgs84_to_gcj02(*_as_arrays(lon, lat))
    return _unwrap(x), _unwrap(y)


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitude/latitude (AMap, Tencent) to WGS-84.

    GCJ-02 has no closed-form inverse; this solves :func:`wgs84_to_gcj02` by
    fixed-point iteration until its image matches the input to under 1e-9 degrees
    (at most 50 iterations), so the round trip is exact to well under 1e-7 degrees.
    As in the forward direction, no "outside China" shortcut is applied.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees; broadcast against each other.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 longitude and latitude in degrees.
    """
    x, y = _invert(_wgs84_to_gcj02, *_as_arrays(lon, lat))
    return _unwrap(x), _unwrap(y)


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    The published BD-09 formula: a small rotation and scaling about the origin
    (``x_pi = π·3000/180``) followed by a shift of 0.0065° in longitude and 0.006°
    in latitude.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude in degrees.
    """
    x, y = _gcj02_to_bd09(*_as_arrays(lon, lat))
    return _unwrap(x), _unwrap(y)


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 longitude/latitude (Baidu) to GCJ-02.

    Solves :func:`gcj02_to_bd09` by fixed-point iteration to under 1e-9 degrees,
    rather than using the common approximate inverse, which is off by up to ~1e-6°.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in degrees.
    """
    x, y = _invert(_gcj02_to_bd09, *_as_arrays(lon, lat))
    return _unwrap(x), _unwrap(y)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 longitude/latitude to BD-09 (Baidu), via GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude in degrees.
    """
    x, y = _wgs84_to_bd09(*_as_arrays(lon, lat))
    return _unwrap(x), _unwrap(y)


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 longitude/latitude (Baidu) to WGS-84.

    Inverts the composite WGS-84 → GCJ-02 → BD-09 map in one fixed-point
    iteration, to under 1e-9 degrees.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 longitude and latitude in degrees.
    """
    x, y = _invert(_wgs84_to_bd09, *_as_arrays(lon, lat))
    return _unwrap(x), _unwrap(y)


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _offset_name(crs: Any) -> str | None:
    """Return ``"gcj02"`` or ``"bd09"`` if *crs* names one, else ``None``."""
    if isinstance(crs, str):
        key = crs.strip().lower().replace("-", "").replace("_", "")
        if key in _TO_WGS84:
            return key
    return None


def _parse_crs(crs: Any) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(crs)
    except (CRSError, TypeError, ValueError) as exc:
        raise InputError(
            [
                Problem(
                    file="<crs>",
                    row=None,
                    column=None,
                    reason=f"unknown coordinate reference system {crs!r}: {exc}",
                )
            ]
        ) from None


def _shift(data: gpd.GeoDataFrame | gpd.GeoSeries, convert) -> gpd.GeoDataFrame | gpd.GeoSeries:
    def apply(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0], out[:, 1] = convert(coords[:, 0], coords[:, 1])
        return out

    # include_z=None keeps any z values and hands them to ``apply`` untouched
    # (shapely >= 2.1; older shapely treats it as False and drops them).
    geoms = shapely.transform(np.asarray(data.geometry.array), apply, include_z=None)
    out = data.copy()
    if isinstance(out, gpd.GeoDataFrame):
        out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index)
    else:
        out = gpd.GeoSeries(geoms, index=out.index, name=out.name)
    return out


def to_wgs84(data: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Return a copy of *data* with its coordinates converted to WGS-84 (EPSG:4326).

    Parameters
    ----------
    data : geopandas.GeoDataFrame or geopandas.GeoSeries
        The features to convert.
    crs : str or pyproj.CRS or int
        The CRS *data*'s coordinates are really in: ``"gcj02"`` (AMap, Tencent) or
        ``"bd09"`` (Baidu), case-insensitive, or anything
        :meth:`pyproj.CRS.from_user_input` accepts (``"EPSG:4490"``, ``32651``,
        WKT, ...). It overrides any CRS recorded on *data*, because files exported
        from Chinese map platforms routinely label GCJ-02 coordinates as EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame or geopandas.GeoSeries
        A copy in EPSG:4326.

    Raises
    ------
    parkplan.errors.InputError
        If *crs* is not a CRS pyproj knows.
    """
    name = _offset_name(crs)
    if name is not None:
        out = _shift(data, _TO_WGS84[name])
        return out.set_crs(STORAGE_CRS, allow_override=True)
    source = _parse_crs(crs)
    return data.set_crs(source, allow_override=True).to_crs(STORAGE_CRS)


def from_wgs84(
    data: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Return a copy of WGS-84 *data* converted to *crs*, e.g. for a Chinese basemap.

    Parameters
    ----------
    data : geopandas.GeoDataFrame or geopandas.GeoSeries
        Features in WGS-84. A CRS recorded on *data* other than EPSG:4326 is
        converted from first; none recorded means EPSG:4326.
    crs : str or pyproj.CRS or int
        ``"gcj02"``, ``"bd09"`` (case-insensitive) or anything
        :meth:`pyproj.CRS.from_user_input` accepts.

    Returns
    -------
    geopandas.GeoDataFrame or geopandas.GeoSeries
        A copy in *crs*. For ``"gcj02"`` and ``"bd09"`` the result carries no CRS
        (``crs is None``): no CRS code describes them, and labelling the shifted
        coordinates EPSG:4326 would let them be mistaken for WGS-84.

    Raises
    ------
    parkplan.errors.InputError
        If *crs* is not a CRS pyproj knows.
    """
    if data.crs is None:
        data = data.set_crs(STORAGE_CRS)
    elif not data.crs.equals(STORAGE_CRS):
        data = data.to_crs(STORAGE_CRS)
    name = _offset_name(crs)
    if name is not None:
        out = _shift(data, _FROM_WGS84[name])
        return out.set_crs(None, allow_override=True)
    return data.to_crs(_parse_crs(crs))


def _fmt(v: float) -> str:
    return np.format_float_positional(round(float(v), 6), trim="-")


def check_in_shanghai(data: gpd.GeoDataFrame | gpd.GeoSeries, file: str) -> None:
    """Check that every feature lies in the Shanghai region.

    The region is the box lon ``LON_MIN``–``LON_MAX``, lat ``LAT_MIN``–``LAT_MAX``
    (Shanghai with its islands and a margin). Coordinates are read as WGS-84
    longitude, latitude, whatever CRS *data* records. Missing and empty geometries
    are skipped: whether they are allowed is the caller's business.

    Parameters
    ----------
    data : geopandas.GeoDataFrame or geopandas.GeoSeries
        The features to check, in longitude/latitude.
    file : str
        The file name to report problems against.

    Raises
    ------
    parkplan.errors.InputError
        With one :class:`~parkplan.errors.Problem` per feature with any coordinate
        outside the box (``row`` is the 1-based position, ``column="geometry"``),
        at most 50. When the feature would lie inside with its two coordinates
        swapped, the reason says they look like latitude/longitude swapped.
    """
    geoms = np.asarray(data.geometry.array)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if coords.size == 0:
        return
    x, y = coords[:, 0], coords[:, 1]
    outside = ~((x >= LON_MIN) & (x <= LON_MAX) & (y >= LAT_MIN) & (y <= LAT_MAX))
    if not outside.any():
        return
    swapped_out = ~((y >= LON_MIN) & (y <= LON_MAX) & (x >= LAT_MIN) & (x <= LAT_MAX))
    # A feature counts as swapped only if all of its points would be inside swapped.
    swapped_ok = np.bincount(index, weights=swapped_out, minlength=len(geoms)) == 0
    # First offending coordinate of each offending feature, in feature order.
    bad_features, first = np.unique(index[outside], return_index=True)
    bad_coords = coords[outside][first]

    problems = []
    for pos, (cx, cy) in zip(bad_features[:50], bad_coords[:50], strict=False):
        where = f"coordinates ({_fmt(cx)}, {_fmt(cy)})"
        if swapped_ok[pos]:
            reason = (
                f"{where} lie outside Shanghai; they look like latitude/longitude "
                "swapped — put longitude first"
            )
        else:
            reason = (
                f"{where} lie outside the Shanghai region (lon {LON_MIN:.2f}–{LON_MAX:.2f}, "
                f"lat {LAT_MIN:.2f}–{LAT_MAX:.2f}); is the CRS right?"
            )
        problems.append(Problem(file=file, row=int(pos) + 1, column="geometry", reason=reason))
    raise InputError(problems)
