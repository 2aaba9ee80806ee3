import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Point, Polygon

from parkplan.crs import (
    LAT_MAX,
    LAT_MIN,
    LON_MAX,
    LON_MIN,
    METRIC_CRS,
    STORAGE_CRS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_in_shanghai,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from parkplan.errors import InputError

# A dense grid over the whole Shanghai box.
LON, LAT = np.meshgrid(np.linspace(LON_MIN, LON_MAX, 151), np.linspace(LAT_MIN, LAT_MAX, 136))
LON, LAT = LON.ravel(), LAT.ravel()

TO_METRIC = pyproj.Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)


def _max_err(a, b, c, d):
    return max(np.abs(a - c).max(), np.abs(b - d).max())


@pytest.mark.parametrize(
    "forward,inverse",
    [
        (wgs84_to_gcj02, gcj02_to_wgs84),
        (wgs84_to_bd09, bd09_to_wgs84),
        (gcj02_to_bd09, bd09_to_gcj02),
    ],
)
def test_round_trip_across_shanghai(forward, inverse):
    x, y = inverse(*forward(LON, LAT))
    assert _max_err(x, y, LON, LAT) < 1e-7
    # The other way round too: the inverse's image maps back onto its input.
    x, y = forward(*inverse(LON, LAT))
    assert _max_err(x, y, LON, LAT) < 1e-7


def test_bd_composes_gcj():
    x, y = wgs84_to_bd09(LON, LAT)
    x2, y2 = gcj02_to_bd09(*wgs84_to_gcj02(LON, LAT))
    assert _max_err(x, y, x2, y2) < 1e-12
    x, y = bd09_to_wgs84(LON, LAT)
    x2, y2 = gcj02_to_wgs84(*bd09_to_gcj02(LON, LAT))
    assert _max_err(x, y, x2, y2) < 1e-7


def test_published_gcj02_vectors():
    # Test vectors of the eviltransform project (googollee/eviltransform, test.py):
    # (wgs lat, wgs lng, gcj lat, gcj lng) for Shanghai, Shenzhen and Beijing.
    vectors = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
    ]
    for wlat, wlng, glat, glng in vectors:
        x, y = wgs84_to_gcj02(wlng, wlat)
        assert abs(x - glng) < 1e-9 and abs(y - glat) < 1e-9
        x, y = gcj02_to_wgs84(glng, glat)
        assert abs(x - wlng) < 1e-7 and abs(y - wlat) < 1e-7


def test_published_bd09_vector():
    # The example printed by the widely used coordTransform implementations.
    x, y = gcj02_to_bd09(116.404, 39.915)
    assert abs(x - 116.41036949371029) < 1e-9
    assert abs(y - 39.92133699351021) < 1e-9


@pytest.mark.parametrize("forward", [wgs84_to_gcj02, wgs84_to_bd09])
def test_offset_magnitude_in_metres(forward):
    x, y = forward(LON, LAT)
    e0, n0 = TO_METRIC.transform(LON, LAT)
    e1, n1 = TO_METRIC.transform(x, y)
    shift = np.hypot(e1 - e0, n1 - n0)
    if forward is wgs84_to_gcj02:
        assert shift.min() > 300 and shift.max() < 700
        # In Shanghai GCJ-02 lies east and a little south of WGS-84.
        assert np.all(x > LON) and np.all(y < LAT)
    else:
        # BD-09 adds another ~0.0065°/0.006° (~800 m) on top.
        assert shift.min() > 700 and shift.max() < 1800


def test_scalar_in_scalar_out():
    x, y = wgs84_to_gcj02(121.5, 31.2)
    assert np.ndim(x) == 0 and np.ndim(y) == 0
    x, y = gcj02_to_wgs84([121.5], [31.2])
    assert x.shape == (1,)


def test_polygon_to_wgs84_from_gcj02_and_back():
    ring = [(121.40, 31.10), (121.60, 31.10), (121.60, 31.30), (121.40, 31.30)]
    gcj = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[Polygon(ring), Point(121.47, 31.23)],
        crs="EPSG:4326",  # mislabelled, as GCJ-02 files often are
    )
    wgs = to_wgs84(gcj, "GCJ02")
    assert wgs.crs.equals(STORAGE_CRS)
    assert list(wgs["name"]) == ["a", "b"]
    # The input is untouched.
    assert shapely.equals_exact(gcj.geometry.iloc[0], Polygon(ring), tolerance=0)
    got = shapely.get_coordinates(wgs.geometry.array)
    want = np.column_stack(gcj02_to_wgs84(*shapely.get_coordinates(gcj.geometry.array).T))
    assert np.abs(got - want).max() < 1e-12
    assert wgs.geometry.iloc[0].is_valid

    back = from_wgs84(wgs, "gcj02")
    assert back.crs is None
    err = np.abs(
        shapely.get_coordinates(back.geometry.array) - shapely.get_coordinates(gcj.geometry.array)
    )
    assert err.max() < 1e-7


def test_geoseries_bd09():
    s = gpd.GeoSeries([Point(121.48, 31.24)], name="geom")
    out = to_wgs84(s, "bd09")
    assert isinstance(out, gpd.GeoSeries) and out.crs.equals(STORAGE_CRS)
    x, y = bd09_to_wgs84(121.48, 31.24)
    assert abs(out.iloc[0].x - x) < 1e-12 and abs(out.iloc[0].y - y) < 1e-12
    back = from_wgs84(out, "BD09")
    assert abs(back.iloc[0].x - 121.48) < 1e-7 and abs(back.iloc[0].y - 31.24) < 1e-7


def test_z_values_survive():
    s = gpd.GeoSeries([Point(121.48, 31.24, 7.5)])
    out = to_wgs84(s, "gcj02")
    if tuple(int(v) for v in shapely.__version__.split(".")[:2]) >= (2, 1):
        assert out.iloc[0].has_z and out.iloc[0].z == 7.5


def test_cgcs2000_input_is_near_identity():
    g = gpd.GeoDataFrame(geometry=[Point(121.5, 31.2)])
    out = to_wgs84(g, "EPSG:4490")
    assert out.crs.equals(STORAGE_CRS)
    assert abs(out.geometry.iloc[0].x - 121.5) < 1e-6
    assert abs(out.geometry.iloc[0].y - 31.2) < 1e-6


def test_utm51_input():
    e, n = pyproj.Transformer.from_crs(4326, 32651, always_xy=True).transform(121.5, 31.2)
    g = gpd.GeoDataFrame(geometry=[Point(e, n)], crs="EPSG:4326")  # wrong label overridden
    out = to_wgs84(g, 32651)
    assert abs(out.geometry.iloc[0].x - 121.5) < 1e-9
    assert abs(out.geometry.iloc[0].y - 31.2) < 1e-9
    out = to_wgs84(g, "EPSG:32651")
    assert abs(out.geometry.iloc[0].x - 121.5) < 1e-9


def test_from_wgs84_to_metric():
    g = gpd.GeoDataFrame(geometry=[Point(121.5, 0.0)])
    out = from_wgs84(g, METRIC_CRS)
    assert out.crs.equals(METRIC_CRS)
    assert abs(out.geometry.iloc[0].x - 500000) < 1e-6
    assert abs(out.geometry.iloc[0].y) < 1e-6


@pytest.mark.parametrize("spec", ["xyz", "EPSG:999999", "gcj03"])
def test_unknown_crs(spec):
    g = gpd.GeoDataFrame(geometry=[Point(121.5, 31.2)])
    with pytest.raises(InputError) as info:
        to_wgs84(g, spec)
    (problem,) = info.value.problems
    assert problem.file == "<crs>" and problem.row is None and problem.column is None
    assert problem.reason.startswith(f"unknown coordinate reference system {spec!r}: ")
    with pytest.raises(InputError):
        from_wgs84(g, spec)


def test_metric_crs_definition():
    assert METRIC_CRS.name == "CGCS2000 / Shanghai TM 121.5E (parkplan)"
    assert METRIC_CRS.is_projected
    assert METRIC_CRS.geodetic_crs.equals(pyproj.CRS.from_epsg(4490))
    assert METRIC_CRS.axis_info[0].unit_name == "metre"
    params = {p.name: p.value for p in METRIC_CRS.coordinate_operation.params}
    assert params["Longitude of natural origin"] == 121.5
    assert params["Scale factor at natural origin"] == 1
    assert params["False easting"] == 500000
    assert params["False northing"] == 0
    assert STORAGE_CRS.equals(pyproj.CRS.from_epsg(4326))


@pytest.mark.parametrize(
    "lon,lat,az",
    [
        (121.47, 31.23, 90.0),  # People's Square, eastwards
        (120.90, 30.75, 45.0),  # far south-west corner
        (122.10, 31.80, 0.0),  # Chongming's east end, northwards
        (121.90, 30.85, 135.0),  # Lingang
    ],
)
def test_metric_crs_scale(lon, lat, az):
    geod = pyproj.Geod(ellps="GRS80")
    lon2, lat2, _ = geod.fwd(lon, lat, az, 10_000.0)
    e, n = TO_METRIC.transform([lon, lon2], [lat, lat2])
    planar = np.hypot(e[1] - e[0], n[1] - n[0])
    assert abs(planar - 10_000.0) / 10_000.0 < 1e-4


def _gdf(points):
    return gpd.GeoDataFrame(geometry=[Point(p) if p is not None else None for p in points])


def test_check_in_shanghai_inside():
    g = gpd.GeoDataFrame(
        geometry=[
            Point(121.47, 31.23),
            Polygon([(121.4, 31.1), (121.6, 31.1), (121.6, 31.3)]),
            None,
            Point(),
            Polygon(),
        ]
    )
    check_in_shanghai(g, "parks.csv")
    check_in_shanghai(g.geometry, "parks.csv")
    check_in_shanghai(gpd.GeoDataFrame(geometry=[]), "empty.csv")


def test_check_in_shanghai_outside():
    g = _gdf([(121.47, 31.23), (116.40, 39.90), None, (121.47, 31.23)])
    with pytest.raises(InputError) as info:
        check_in_shanghai(g, "parks.csv")
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column) == ("parks.csv", 2, "geometry")
    assert "(116.4, 39.9)" in problem.reason
    assert "outside the Shanghai region" in problem.reason
    assert "is the CRS right?" in problem.reason
    assert "swapped" not in problem.reason


def test_check_in_shanghai_swapped():
    g = _gdf([(121.47, 31.23), (31.2, 121.5)])
    with pytest.raises(InputError) as info:
        check_in_shanghai(g, "parks.csv")
    (problem,) = info.value.problems
    assert problem.row == 2
    assert "(31.2, 121.5)" in problem.reason
    assert "latitude/longitude swapped" in problem.reason


def test_check_in_shanghai_partly_outside_polygon():
    poly = Polygon([(121.4, 31.1), (123.0, 31.1), (121.4, 31.3)])
    g = gpd.GeoDataFrame(geometry=[poly])
    with pytest.raises(InputError) as info:
        check_in_shanghai(g, "zones.geojson")
    (problem,) = info.value.problems
    assert "(123, 31.1)" in problem.reason and "swapped" not in problem.reason


def test_check_in_shanghai_lists_at_most_50():
    g = _gdf([(116.4, 39.9)] * 80)
    with pytest.raises(InputError) as info:
        check_in_shanghai(g, "many.csv")
    rows = [p.row for p in info.value.problems]
    assert rows == list(range(1, 51))
