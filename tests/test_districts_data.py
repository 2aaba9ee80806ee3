import hashlib
import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from parkplan.crs import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN, METRIC_CRS, check_in_shanghai

DATA = Path(__file__).resolve().parents[1] / "data"
GEOJSON = DATA / "shanghai_districts.geojson"
README = DATA / "README.md"


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return gpd.read_file(GEOJSON)


def test_sixteen_districts(districts):
    assert len(districts) == 16
    assert list(districts.columns) == ["adcode", "name_zh", "name_en", "geometry"]
    assert districts.crs.to_epsg() == 4326


def test_adcodes(districts):
    codes = list(districts["adcode"])
    assert all(isinstance(c, str) and re.fullmatch(r"3101\d\d", c) for c in codes)
    assert len(set(codes)) == 16
    assert "310100" not in codes  # the city as a whole is not a district
    assert codes == sorted(codes)


def test_names(districts):
    for zh, en in zip(districts["name_zh"], districts["name_en"], strict=True):
        assert isinstance(zh, str) and zh.strip() and zh.endswith("区")
        assert isinstance(en, str) and en.strip()
    by_code = dict(zip(districts["adcode"], districts["name_en"], strict=True))
    assert by_code["310115"] == "Pudong New Area"
    assert by_code["310106"] == "Jing'an"
    assert dict(zip(districts["adcode"], districts["name_zh"], strict=True))["310115"] == "浦东新区"


def test_valid_polygons(districts):
    assert set(districts.geom_type) == {"MultiPolygon"}
    assert districts.is_valid.all()
    assert not districts.is_empty.any()


def test_total_area(districts):
    metric = districts.to_crs(METRIC_CRS)
    total = metric.area.sum() / 1e6
    assert 7_900 < total < 8_100
    # Districts tile the city: no overlap between them.
    union = shapely.union_all(metric.geometry.values)
    assert abs(union.area / 1e6 - total) < 1.0


def test_within_shanghai_bbox(districts):
    minx, miny, maxx, maxy = districts.total_bounds
    assert LON_MIN <= minx and maxx <= LON_MAX
    assert LAT_MIN <= miny and maxy <= LAT_MAX
    check_in_shanghai(districts, GEOJSON.name)


def test_sha256_matches_readme():
    match = re.search(
        r"SHA-256 of `shanghai_districts\.geojson`:\s*`([0-9a-f]{64})`", README.read_text("utf-8")
    )
    assert match, "data/README.md must state the file's SHA-256"
    assert hashlib.sha256(GEOJSON.read_bytes()).hexdigest() == match.group(1)
