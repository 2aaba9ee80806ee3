"""The workspace store on both backends: layers, transactions, schema revisions, GPKG."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from parkplan import layers
from parkplan.errors import WorkspaceError
from parkplan.services.demo import create_workspace
from parkplan.store import Workspace
from tests.conftest import snapshot

DEMO_COUNTS = {
    "districts": 16,
    "parks": 12,
    "sites": 72,
    "institutions": 46,
    "clusters": 23,
    "transport": 19,
    "candidates": 120,
}


def test_demo_workspace_holds_every_layer(demo_location):
    with Workspace.open(demo_location) as ws:
        infos = {i.name: i for i in ws.describe()}
        assert {n: i.features for n, i in infos.items()} == DEMO_COUNTS
        assert 7900 <= infos["districts"].area_km2 <= 8100
        assert "示意" in ws.get_meta("illustrative")
        sites = ws.read_layer("sites")
    assert isinstance(sites, gpd.GeoDataFrame) and sites.crs.to_epsg() == 4326
    assert list(sites.columns) == [c.name for c in layers.columns("sites")] + ["geometry"]
    assert (sites["source"].str.contains("illustrative")).all()


def test_layer_round_trip_is_exact(empty_location):
    parks = layers.validate(
        "parks",
        gpd.GeoDataFrame(
            {
                "park_id": ["P1", "P2"],
                "name_zh": ["张江园", "临港园"],
                "name_en": ["Zhangjiang", ""],
                "district_adcode": ["310115", "310115"],
                "source": ["", "x"],
            },
            geometry=[
                shapely.box(121.58, 31.19, 121.6, 31.21),
                shapely.MultiPolygon(
                    [
                        shapely.box(121.9, 30.9, 121.91, 30.91),
                        shapely.box(121.92, 30.9, 121.93, 30.91),
                    ]
                ),
            ],
            crs="EPSG:4326",
        ),
    )
    with create_workspace(empty_location) as ws:
        ws.write_layers({"parks": parks})
        back = ws.read_layer("parks")
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")), pd.DataFrame(parks.drop(columns="geometry"))
    )
    assert back.geometry.geom_equals_exact(parks.geometry, tolerance=0).all()


def test_failed_write_rolls_back_every_layer(demo_location):
    before = snapshot(demo_location)
    with Workspace.open(demo_location) as ws:
        parks = ws.read_layer("parks")
        sites = ws.read_layer("sites")
        # Bypass validation: the database's unique constraint fails on the second layer,
        # after the first has been dropped and rewritten inside the same transaction.
        sites.loc[1, "site_id"] = sites.loc[0, "site_id"]
        with pytest.raises(Exception, match="(?i)unique"):
            ws.write_layers({"parks": parks.iloc[:3], "sites": sites})
    assert snapshot(demo_location) == before


def test_absent_layer_reads_empty(empty_location):
    with create_workspace(empty_location) as ws:
        frame = ws.read_layer("sites")
        assert len(frame) == 0 and "site_id" in frame.columns
        assert [i.name for i in ws.describe()] == ["districts"]


def test_create_refuses_existing(empty_location):
    create_workspace(empty_location).close()
    with pytest.raises(WorkspaceError, match="already"):
        create_workspace(empty_location)


def test_open_missing_or_foreign_file(tmp_path):
    with pytest.raises(WorkspaceError, match="no workspace at .*parkplan init"):
        Workspace.open(tmp_path / "nope.gpkg")
    other = tmp_path / "other.gpkg"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(WorkspaceError, match="not a GeoPackage"):
        Workspace.open(other)


def test_bad_database_url_is_a_clear_error():
    with pytest.raises(WorkspaceError, match="cannot connect"):
        Workspace.open("postgresql://nobody@127.0.0.1:1/nothing")


def test_outdated_schema_is_refused_then_upgraded(demo_location):
    with Workspace.open(demo_location) as ws, ws.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'base0'")
    with pytest.raises(WorkspaceError, match="newer parkplan"):
        Workspace.open(demo_location)
    with Workspace.open(demo_location, check_schema=False) as ws, ws.begin() as conn:
        conn.exec_driver_sql("DELETE FROM alembic_version")
    with pytest.raises(WorkspaceError, match="not a parkplan workspace"):
        Workspace.open(demo_location)


def test_geopackage_is_registered_for_gis(demo_gpkg):
    con = sqlite3.connect(demo_gpkg)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    expected = {
        name: ("attributes" if name == "candidates" else "features") for name in DEMO_COUNTS
    }
    assert contents == {**expected, "scenario_allocations": "features"}
    geometry_types = dict(
        con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns")
    )
    assert geometry_types["sites"] == "POINT" and geometry_types["parks"] == "MULTIPOLYGON"
    listed = {str(name) for name, _ in pyogrio.list_layers(demo_gpkg)}
    assert set(DEMO_COUNTS) <= listed
    read = pyogrio.read_dataframe(demo_gpkg, layer="districts")
    assert len(read) == 16 and read.crs.to_epsg() == 4326 and read.is_valid.all()


@pytest.mark.skipif(
    shutil.which("ogrinfo") is None,
    reason="GDAL's ogrinfo is not installed (.ci/run installs Debian's gdal-bin)",
)
def test_ogrinfo_lists_every_layer(demo_gpkg):
    out = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(demo_gpkg)], capture_output=True, text=True, check=True
    ).stdout
    for name in DEMO_COUNTS:
        assert f": {name} (" in out or f": {name}\n" in out, out
    sites = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(demo_gpkg), "sites"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Feature Count: 72" in sites and "Geometry: Point" in sites
