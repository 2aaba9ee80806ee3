"""The command line on a demo workspace: init, layers, export/import round trips, map."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from parkplan import crs as pcrs
from parkplan import layers
from parkplan.cli import app
from parkplan.store import Workspace
from tests.browser import chromium_page, screenshot

runner = CliRunner()


def run(*args, env=None):
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_init_demo_then_layers_json(empty_location):
    out = run("init", "--demo", empty_location)
    assert "示意" in out
    info = json.loads(run("layers", "--format", "json", "--workspace", empty_location))
    by_name = {layer["name"]: layer for layer in info["layers"]}
    assert by_name["districts"]["features"] == 16
    assert 7900 <= by_name["districts"]["area_km2"] <= 8100
    assert by_name["districts"]["crs"] == "EPSG:4326"
    assert by_name["parks"]["features"] >= 10
    assert by_name["sites"]["features"] >= 60
    assert by_name["candidates"]["features"] >= 100
    assert "Illustrative" in info["illustrative"]
    lon0, lat0, lon1, lat1 = by_name["districts"]["bounds"]
    assert 120.8 < lon0 < lon1 < 122.3 and 30.6 < lat0 < lat1 < 31.95


def test_workspace_from_environment(demo_gpkg, tmp_path, monkeypatch):
    path = tmp_path / "env.gpkg"
    shutil.copy(demo_gpkg, path)
    out = run("layers", env={"PARKPLAN_WORKSPACE": str(path)})
    assert "districts" in out and "示意" in out
    monkeypatch.chdir(tmp_path)
    shutil.copy(demo_gpkg, tmp_path / "parkplan.gpkg")
    assert "sites" in run("layers", env={"PARKPLAN_WORKSPACE": ""})


# Every layer on the GeoPackage store; on PostGIS, whose reading and writing of layers
# tests/test_store.py covers, a point and a polygon layer.
@pytest.mark.parametrize(
    "store, layer",
    [("geopackage", name) for name in layers.LAYERS] + [("postgis", "sites"), ("postgis", "parks")],
    indirect=["store"],
)
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".geojson", ".gpkg", ".shp"])
def test_export_import_round_trip(demo_location, tmp_path, layer, suffix):
    if layer == "districts" and suffix == ".xlsx":
        result = runner.invoke(
            app, ["export", layer, str(tmp_path / "x.xlsx"), "--workspace", demo_location]
        )
        assert result.exit_code == 2 and "more than a spreadsheet cell holds" in result.stderr
        assert not (tmp_path / "x.xlsx").exists()
        return
    if layers.geometry_type(layer) is None and suffix not in (".csv", ".xlsx"):
        result = runner.invoke(
            app, ["export", layer, str(tmp_path / f"x{suffix}"), "--workspace", demo_location]
        )
        assert result.exit_code == 2 and "has no geometry" in result.stderr
        return
    with Workspace.open(demo_location) as ws:
        before = ws.read_layer(layer)
    path = tmp_path / f"{layer}{suffix}"
    run("export", layer, path, "--workspace", demo_location)
    if suffix == ".csv" and layer == "sites":
        assert pd.read_csv(path).columns[-2:].tolist() == ["lon", "lat"]
    run("import", layer, path, "--workspace", demo_location)
    with Workspace.open(demo_location) as ws:
        after = ws.read_layer(layer)
    pd.testing.assert_frame_equal(
        pd.DataFrame(after).drop(columns="geometry", errors="ignore"),
        pd.DataFrame(before).drop(columns="geometry", errors="ignore"),
    )
    if "geometry" in before:
        # Shapefiles store outer rings clockwise: the same polygons, their rings reversed.
        assert (
            after.geometry.normalize()
            .geom_equals_exact(before.geometry.normalize(), tolerance=1e-7)
            .all()
        )


def test_export_into_a_geopackage_keeps_its_other_layers(demo_gpkg, tmp_path):
    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, ws_path)
    out = tmp_path / "layers.gpkg"
    run("export", "sites", out, "--workspace", ws_path)
    run("export", "parks", out, "--workspace", ws_path)
    run("export", "sites", out, "--workspace", ws_path)  # replaces its namesake only
    assert sorted(str(n) for n, _ in pyogrio.list_layers(out)) == ["parks", "sites"]
    with Workspace.open(ws_path) as ws:
        assert len(pyogrio.read_dataframe(out, layer="sites")) == len(ws.read_layer("sites"))


def test_export_into_a_workspace_is_refused_and_changes_nothing(demo_gpkg, tmp_path):
    ws_path, other = tmp_path / "ws.gpkg", tmp_path / "other.gpkg"
    shutil.copy(demo_gpkg, ws_path)
    shutil.copy(demo_gpkg, other)
    for target in (ws_path, other):
        before = target.read_bytes()
        result = runner.invoke(
            app, ["export", "districts", str(target), "--workspace", str(ws_path)]
        )
        assert result.exit_code == 2 and "is a parkplan workspace" in result.stderr
        assert target.read_bytes() == before
    garbage = tmp_path / "notes.gpkg"
    garbage.write_text("not a GeoPackage", encoding="utf-8")
    result = runner.invoke(app, ["export", "sites", str(garbage), "--workspace", str(ws_path)])
    assert result.exit_code == 2 and "not a GeoPackage" in result.stderr
    assert garbage.read_text(encoding="utf-8") == "not a GeoPackage"


def test_gbk_shapefile_honours_cpg(demo_gpkg, tmp_path):
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    with Workspace.open(path) as ws:
        sites = ws.read_layer("sites").head(3)
    sites["name_zh"] = ["一号检测楼", "二号检测楼", "三号检测楼"]
    shp = tmp_path / "gbk.shp"
    pyogrio.write_dataframe(sites, shp, encoding="GBK")
    assert (tmp_path / "gbk.cpg").read_text().strip().upper() in ("GBK", "CP936", "936")
    assert "一号".encode("gbk") in (tmp_path / "gbk.dbf").read_bytes()
    run("import", "sites", shp, "--workspace", path)
    with Workspace.open(path) as ws:
        assert ws.read_layer("sites")["name_zh"].tolist() == sites["name_zh"].tolist()


@pytest.mark.parametrize("declared", ["gcj02", "bd09", "EPSG:4490", "EPSG:32651"])
def test_import_converts_declared_crs(demo_gpkg, tmp_path, declared):
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    with Workspace.open(path) as ws:
        truth = ws.read_layer("sites")
    converted = (
        pcrs.from_wgs84(truth, declared)
        if declared in ("gcj02", "bd09")
        else truth.to_crs(declared)
    )
    file = tmp_path / "sites.geojson"
    gpd.GeoDataFrame(converted, crs=None).to_file(file)
    run("import", "sites", file, "--crs", declared, "--workspace", path)
    with Workspace.open(path) as ws:
        got = ws.read_layer("sites")
    # Inverse conversion by iteration, and GeoJSON's 7 decimals: well under 1e-6°.
    assert (got.geometry.distance(truth.geometry) < 1e-6).all()


def test_unknown_crs_and_layer_are_clear_errors(demo_gpkg, tmp_path):
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    result = runner.invoke(
        app, ["import", "sites", "x.csv", "--crs", "nonsense", "--workspace", str(path)]
    )
    assert result.exit_code == 2
    result = runner.invoke(app, ["import", "roads", "x.csv", "--workspace", str(path)])
    assert result.exit_code == 2 and "unknown layer 'roads'" in result.stderr


def test_db_upgrade_is_idempotent(demo_gpkg, tmp_path):
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    assert "0004 -> 0004" in run("db", "upgrade", "--workspace", path)


@pytest.mark.browser
def test_map_of_demo_renders_offline_in_chromium(demo_gpkg, tmp_path):
    out = tmp_path / "park.html"
    run("map", "--out", out, "--workspace", demo_gpkg)
    with chromium_page() as (page, requests, errors):
        page.goto(out.as_uri(), wait_until="load")
        page.wait_for_selector(".leaflet-container")
        text = page.inner_text("body")
        assert "浦东新区" in text and "崇明区" in text
        assert page.evaluate("document.fonts.check('16px sans-serif', '浦东新区')")
        screenshot(page, "demo-map.png")
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
