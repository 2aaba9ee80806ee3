"""Hostile input: every bad file gets a clear error naming file, row, column and reason,
the command exits non-zero, and the workspace is unchanged (bytes on GeoPackage, content on
PostGIS). Runs on both stores."""

from __future__ import annotations

import json
import os

import geopandas as gpd
import pytest
import shapely
from parkplan.data import data_path, districts_path
from typer.testing import CliRunner

from parkplan import crs as pcrs
from parkplan.cli import app
from parkplan.store import Workspace
from tests.conftest import snapshot

runner = CliRunner()

SITE_HEADER = (
    "site_id,park_id,name_zh,name_en,available_from,fitout_cost,office_m2,lab_m2,"
    "heavy_lab_m2,hazard_lab_m2,source,lon,lat"
)
GOOD_SITE = "S9001,P01,新楼,New building,2027,500,1000,1000,0,0,test,121.601,31.204"


def _sites_csv(tmp_path, *rows, header=SITE_HEADER, name="sites.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


def _parks_geojson(tmp_path, features, name="parks.geojson"):
    path = tmp_path / name
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def _park(park_id, geometry, adcode="310115"):
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "park_id": park_id,
            "name_zh": "测试园",
            "name_en": "Test park",
            "district_adcode": adcode,
            "source": "test",
        },
    }


SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[121.60, 31.20], [121.61, 31.20], [121.61, 31.21], [121.60, 31.21], [121.60, 31.20]]
    ],
}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[121.60, 31.20], [121.61, 31.21], [121.61, 31.20], [121.60, 31.21], [121.60, 31.20]]
    ],
}


def _import(location, layer, path, *extra):
    return runner.invoke(app, ["import", layer, str(path), "--workspace", location, *extra])


def assert_refused(location, layer, path, *fragments, extra=()):
    before = snapshot(location)
    result = _import(location, layer, path, *extra)
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in result.output
    assert snapshot(location) == before, "a refused import changed the workspace"
    return message


def test_self_intersecting_polygon(demo_location, tmp_path):
    path = _parks_geojson(tmp_path, [_park("P90", SQUARE), _park("P91", BOWTIE)])
    assert_refused(
        demo_location,
        "parks",
        path,
        "row 2",
        "column 'geometry'",
        "geometry is invalid: Self-intersection",
    )


def test_empty_and_missing_geometry(demo_location, tmp_path):
    empty = {"type": "Polygon", "coordinates": []}
    path = _parks_geojson(tmp_path, [_park("P90", empty), _park("P91", None)])
    assert_refused(
        demo_location,
        "parks",
        path,
        "row 1, column 'geometry': geometry is empty",
        "row 2, column 'geometry': geometry is missing",
    )


def test_missing_required_column(demo_location, tmp_path):
    header = SITE_HEADER.replace("fitout_cost,", "")
    row = GOOD_SITE.replace(",500,", ",", 1)
    path = _sites_csv(tmp_path, row, header=header)
    assert_refused(demo_location, "sites", path, "column 'fitout_cost': required column is missing")


def test_wrong_type(demo_location, tmp_path):
    path = _sites_csv(
        tmp_path,
        GOOD_SITE,
        GOOD_SITE.replace("S9001", "S9002").replace(",1000,1000,", ",lots,1000,"),
    )
    assert_refused(
        demo_location, "sites", path, "row 2, column 'office_m2': expected a number, got 'lots'"
    )


def test_duplicate_ids(demo_location, tmp_path):
    path = _sites_csv(tmp_path, GOOD_SITE, GOOD_SITE)
    assert_refused(demo_location, "sites", path, "row 2, column 'site_id': duplicate value 'S9001'")


def test_duplicate_id_on_append(demo_location, tmp_path):
    path = _sites_csv(tmp_path, GOOD_SITE.replace("S9001", "S0001"))
    assert_refused(
        demo_location,
        "sites",
        path,
        "row 1, column 'site_id': 'S0001' is already in the sites layer",
        extra=("--append",),
    )


def test_negative_area(demo_location, tmp_path):
    path = _sites_csv(tmp_path, GOOD_SITE.replace(",1000,1000,0,0,", ",1000,-50,0,0,"))
    assert_refused(demo_location, "sites", path, "row 1, column 'lab_m2': value -50.0 must be ≥ 0")


def test_unknown_district(demo_location, tmp_path):
    path = _parks_geojson(tmp_path, [_park("P90", SQUARE, adcode="310199")])
    assert_refused(
        demo_location, "parks", path, "row 1, column 'district_adcode': unknown district '310199'"
    )


def test_unknown_park(demo_location, tmp_path):
    path = _sites_csv(tmp_path, GOOD_SITE.replace(",P01,", ",P77,"))
    assert_refused(demo_location, "sites", path, "row 1, column 'park_id': unknown park 'P77'")


def test_replacing_parents_may_not_orphan_children(demo_location, tmp_path):
    path = _parks_geojson(tmp_path, [_park("P01", SQUARE)])
    assert_refused(demo_location, "parks", path, "records of the sites layer refer to", "'P02'")


def test_swapped_coordinates(demo_location, tmp_path):
    header = SITE_HEADER.replace("lon,lat", "lat,lon")
    path = _sites_csv(
        tmp_path, GOOD_SITE.replace("121.601,31.204", "121.601,31.204"), header=header
    )
    assert_refused(
        demo_location, "sites", path, "row 1", "column 'geometry'", "latitude/longitude swapped"
    )


def test_coordinates_in_a_projected_crs_declared_as_wgs84(demo_location, tmp_path):
    path = _sites_csv(tmp_path, GOOD_SITE.replace("121.601,31.204", "458000.5,3452000.2"))
    assert_refused(
        demo_location, "sites", path, "row 1", "outside the Shanghai region", "is the CRS right?"
    )


def test_gcj02_districts_declared_as_wgs84_are_detected(demo_location, tmp_path):
    districts = gpd.read_file(districts_path())
    shifted = pcrs.from_wgs84(districts, "gcj02").set_crs(4326, allow_override=True)
    path = tmp_path / "districts_gcj.geojson"
    shifted.to_file(path)
    assert_refused(demo_location, "districts", path, "GCJ-02", "--crs gcj02")
    # Declared correctly, the same file imports and lands on the known boundaries.
    result = _import(demo_location, "districts", path, "--crs", "gcj02")
    assert result.exit_code == 0, result.output


def test_gcj02_points_declared_as_wgs84_cannot_be_detected(demo_location, tmp_path):
    """Documented limit (docs/decisions/0002): a point 500 m off is still a plausible point."""
    x, y = pcrs.wgs84_to_gcj02(121.601, 31.204)
    path = _sites_csv(tmp_path, GOOD_SITE.replace("121.601,31.204", f"{x:.7f},{y:.7f}"))
    assert _import(demo_location, "sites", path, "--append").exit_code == 0
    with Workspace.open(demo_location) as ws:
        got = ws.read_layer("sites").set_index("site_id").geometry["S9001"]
    assert got.distance(shapely.Point(121.601, 31.204)) > 0.003  # ~500 m off, undetected


def test_gbk_csv_without_declaration_is_read_as_gbk(demo_location, tmp_path):
    path = _sites_csv(tmp_path, GOOD_SITE.replace("新楼", "检测大楼"), encoding="gbk")
    result = _import(demo_location, "sites", path, "--append")
    assert result.exit_code == 0, result.output
    with Workspace.open(demo_location) as ws:
        names = ws.read_layer("sites").set_index("site_id")["name_zh"]
    assert names["S9001"] == "检测大楼"


def test_undecodable_csv(demo_location, tmp_path):
    path = tmp_path / "sites.csv"
    path.write_bytes((SITE_HEADER + "\n").encode() + b"S9001,P01,\xff\xfe\xff,x\n")
    assert_refused(demo_location, "sites", path, "row 1", "neither UTF-8 nor GBK")


def test_empty_file(demo_location, tmp_path):
    path = tmp_path / "sites.csv"
    path.write_bytes(b"")
    assert_refused(demo_location, "sites", path, "the file is empty")


def test_header_only_file(demo_location, tmp_path):
    path = _sites_csv(tmp_path)
    assert_refused(demo_location, "sites", path, "no records")


def test_huge_file_is_refused_before_reading(demo_location, tmp_path):
    path = tmp_path / "sites.csv"
    with open(path, "wb") as f:  # sparse: 300 MiB of size, no disk used
        f.truncate(300 * 2**20)
    assert_refused(demo_location, "sites", path, "300 MiB", "import limit of 256 MiB")


def test_unsupported_file_type(demo_location, tmp_path):
    path = tmp_path / "sites.txt"
    path.write_text("x")
    assert_refused(demo_location, "sites", path, "unsupported file type '.txt'")


def test_html_in_names_is_kept_as_text(demo_location, tmp_path):
    """A name is data, not markup: stored as written, escaped wherever shown (test_maps)."""
    hostile = "<script>alert('x')</script>实验楼"
    path = _sites_csv(tmp_path, GOOD_SITE.replace("新楼", hostile.replace("'", "")))
    assert _import(demo_location, "sites", path, "--append").exit_code == 0
    out = tmp_path / "map.html"
    result = runner.invoke(app, ["map", "--out", str(out), "--workspace", demo_location])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(x)</script>" not in html
    assert "&lt;script&gt;alert(x)&lt;/script&gt;实验楼" in html


def test_every_problem_is_reported_at_once(demo_location, tmp_path):
    path = _sites_csv(
        tmp_path,
        GOOD_SITE.replace(",2027,", ",soon,"),
        GOOD_SITE.replace("S9001", "S9002").replace(",500,", ",-1,"),
        GOOD_SITE.replace("S9001", "S9003").replace("121.601,31.204", "116.4,39.9"),
    )
    message = assert_refused(demo_location, "sites", path)
    assert "row 1, column 'available_from'" in message
    assert "row 2, column 'fitout_cost'" in message
    assert "row 3, column 'geometry'" in message


def test_demo_fixtures_import_cleanly_on_their_own(demo_location):
    for layer in ("sites", "candidates"):
        result = _import(demo_location, layer, data_path(f"demo/{layer}.csv"))
        assert result.exit_code == 0, result.output


@pytest.mark.skipif(os.name != "posix", reason="file permissions")
def test_unreadable_workspace_path_is_clear(tmp_path):
    result = runner.invoke(app, ["layers", "--workspace", str(tmp_path / "missing.gpkg")])
    assert result.exit_code == 2
    assert "no workspace at" in result.stderr
