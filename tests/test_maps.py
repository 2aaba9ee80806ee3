"""Tests for parkplan.maps: offline, escaped, bilingual park maps."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from parkplan import maps
from parkplan.maps import assets, external_references, park_map, save_offline
from parkplan.maps.elements import DataLayer
from parkplan.maps.geometry import column, simplify_districts
from parkplan.services.maps import load_plan
from tests.browser import chromium_page, screenshot, settle

REPO = Path(__file__).resolve().parents[1]
ILLUSTRATIVE = "示意数据 illustrative"
XSS_NAME = '<script>alert(1)</script><img src=x onerror="window.__ppXss=1">'


def _dense_box(x0: float, y0: float, x1: float, y1: float, n: int = 200) -> Polygon:
    """A rectangle with ``n`` vertices per side, like a detailed survey boundary."""
    xs = [x0 + (x1 - x0) * i / n for i in range(n)]
    ys = [y0 + (y1 - y0) * i / n for i in range(n)]
    ring = (
        [(x, y0) for x in xs]
        + [(x1, y) for y in ys]
        + [(x1 - (x - x0), y1) for x in xs]
        + [(x0, y1 - (y - y0)) for y in ys]
    )
    return Polygon(ring)


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    """Two adjacent districts, two parks and a few points in Shanghai (EPSG:4326)."""
    districts = gpd.GeoDataFrame(
        {
            "adcode": ["310115", "310104"],
            "name_zh": ["浦东新区", "徐汇区"],
            "name_en": ["Pudong New Area", "Xuhui District"],
        },
        geometry=[
            MultiPolygon([_dense_box(121.50, 31.10, 121.70, 31.30)]),
            MultiPolygon([_dense_box(121.40, 31.10, 121.50, 31.30)]),
        ],
        crs=4326,
    )
    parks = gpd.GeoDataFrame(
        {
            "park_id": ["P01", "P02"],
            "name_zh": ["张江检测认证园", "漕河泾检测园"],
            "name_en": ["Zhangjiang TIC Park", "Caohejing Testing Park"],
            "district_adcode": ["310115", "310104"],
            "source": [ILLUSTRATIVE, ILLUSTRATIVE],
        },
        geometry=[
            Polygon([(121.58, 31.19), (121.61, 31.19), (121.61, 31.21), (121.58, 31.21)]),
            Polygon([(121.40, 31.16), (121.42, 31.16), (121.42, 31.18), (121.40, 31.18)]),
        ],
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2"],
            "park_id": ["P01", "P02"],
            "name_zh": ["张江一号楼", XSS_NAME],
            "name_en": ["Zhangjiang Building 1", "Escaping check"],
            "available_from": [2026, 2027],
            "fitout_cost": [1250.0, 800.5],
            "office_m2": [3000, 1200],
            "lab_m2": [2500, None],
            "heavy_lab_m2": [800, 0],
            "hazard_lab_m2": [300, 0],
            "source": [ILLUSTRATIVE, ILLUSTRATIVE],
        },
        geometry=[Point(121.123456789, 31.2), Point(121.41, 31.17)],
        crs=4326,
    )
    institutions = gpd.GeoDataFrame(
        {
            "inst_id": ["I1"],
            "name_zh": ["上海市质量监督检验技术研究院"],
            "name_en": ["Shanghai Institute of Quality Inspection"],
            "inst_type": ["公共检测 public"],
            "sectors": ["EMC;MED"],
            "accreditation": ["CNAS;CMA"],
            "headcount": [420],
            "source": [ILLUSTRATIVE],
        },
        geometry=[Point(121.45, 31.2)],
        crs=4326,
    )
    clusters = gpd.GeoDataFrame(
        {
            "cluster_id": ["C1", "C2"],
            "name_zh": ["集成电路集群", "生物医药集群"],
            "name_en": ["IC cluster", "Biomedicine cluster"],
            "sector": ["IC", "BIO"],
            "weight": [1.0, 0.25],
            "source": [ILLUSTRATIVE, ILLUSTRATIVE],
        },
        geometry=[Point(121.6, 31.22), Point(121.55, 31.15)],
        crs=4326,
    )
    return {
        "districts": districts,
        "parks": parks,
        "sites": sites,
        "institutions": institutions,
        "clusters": clusters,
    }


def _render(m: folium.Map) -> str:
    return m.get_root().render()


def test_returns_folium_map(layers):
    assert isinstance(park_map(layers), folium.Map)


def test_html_has_no_external_references(layers):
    doc = _render(park_map(layers, title="检测认证园区 TIC parks"))
    assert external_references(doc) == []
    # No CDN leftovers anywhere in the text either: the only http(s) strings left are
    # Leaflet's licence comment, a comment in its CSS and the SVG namespace URI.
    hosts = set(re.findall(r"https?://([^/\"'\s<>)]+)", doc))
    assert hosts <= {"leafletjs.com", "bugzilla.mozilla.org", "www.w3.org"}, hosts
    assert "<script src=" not in doc and "<link " not in doc
    assert re.search(r"Leaflet \d+\.\d+\.\d+, a JS library", doc)  # inlined


def test_external_references_detects_cdn_links():
    doc = (
        '<html><head><script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="//cdn.example/x.css">'
        "<style>a{background:url('http://img.example/a.png')}"
        "b{background:url(data:image/png;base64,AAAA)}</style></head>"
        '<body><img src="data:image/png;base64,AAAA"><a href="#x">x</a></body></html>'
    )
    assert external_references(doc) == [
        "https://cdn.example/x.js",
        "//cdn.example/x.css",
        "http://img.example/a.png",
    ]


def test_leaflet_version_matches_folium():
    expected = dict(folium.folium._default_js)["leaflet"]
    version = re.search(r"leaflet@([\d.]+)/", expected).group(1)
    assert f"Leaflet {version}," in assets.leaflet_js()
    assert "url(images/" not in assets.leaflet_css()
    assert "url(data:image/png;base64," in assets.leaflet_css()


def test_folium_defaults_untouched(layers):
    before = list(folium.Map.default_js)
    park_map(layers)
    assert folium.Map.default_js == before
    assert "jquery" in " ".join(url for _, url in folium.Map.default_js)


def test_names_are_escaped_and_bilingual(layers):
    doc = _render(park_map(layers))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "<script>alert" not in doc
    assert 'onerror="window' not in doc
    for name in [
        "浦东新区",
        "徐汇区",
        "张江检测认证园",
        "上海市质量监督检验技术研究院",
        "集成电路集群",
    ]:
        assert name in doc
    assert "Pudong New Area" in doc
    # Chinese first by default, English first on request.
    assert "浦东新区 / Pudong New Area" in doc
    doc_en = _render(park_map(layers, language="en"))
    assert "Pudong New Area / 浦东新区" in doc_en
    assert "Parks 园区" in doc_en  # legend


def test_popup_contents(layers):
    doc = _render(park_map(layers))
    # Site popup: park name, year, cost in 万元, capacities in m²; missing lab is "—".
    for text in [
        "张江检测认证园 / Zhangjiang TIC Park",
        "2026",
        "1,250 万元",
        "800.5 万元",
        "3,000 m²",
        "危化品实验室",
        "—",
        "CNAS, CMA",
        "EMC, MED",
        "420",
        "浦东新区 / Pudong New Area",  # park's district resolved from adcode
    ]:
        assert text in doc, text


def test_banner_and_legend(layers):
    doc = _render(park_map(layers))
    assert "示意数据 · Illustrative data" in doc
    assert "pp-legend" in doc
    real = {
        k: v.assign(source="上海市统计局 2025") if "source" in v else v for k, v in layers.items()
    }
    assert "示意数据 · Illustrative data" not in _render(park_map(real))


def test_coordinates_rounded(layers):
    doc = _render(park_map(layers))
    assert "121.123457" in doc
    assert "121.123456789" not in doc


def test_districts_simplified(layers):
    n_in = sum(len(g.exterior.coords) for mp in layers["districts"].geometry for g in mp.geoms)
    simplified = simplify_districts(layers["districts"].geometry)
    n_out = sum(len(p.exterior.coords) for g in simplified for p in getattr(g, "geoms", [g]))
    assert n_out < n_in / 20
    # Shared boundary stays shared: no gap opens between the two districts.
    a, b = simplified
    assert a.intersection(b).length == pytest.approx(0.2, abs=1e-9)


@pytest.mark.parametrize(
    "drop", [[], ["districts"], ["districts", "parks", "sites"], list(maps.LAYER_KEYS)]
)
def test_missing_or_empty_layers(layers, drop):
    partial = {k: v for k, v in layers.items() if k not in drop}
    if "parks" in drop:
        partial["parks"] = layers["parks"].iloc[0:0]  # empty, not just missing
    doc = _render(park_map(partial))
    assert "leaflet" in doc.lower()
    assert external_references(doc) == []


def test_reprojects_and_rejects_bad_language(layers):
    projected = dict(layers, parks=layers["parks"].to_crs(32651))
    assert "121.58" in _render(park_map(projected))
    with pytest.raises(ValueError, match="language"):
        park_map(layers, language="fr")


def test_basemap_is_opt_in(layers):
    assert "L.tileLayer" not in _render(park_map(layers))
    doc = _render(park_map(layers, basemap="OpenStreetMap"))
    assert "L.tileLayer" in doc  # online by choice; documented as such


def test_save_offline_writes_one_file(layers, tmp_path):
    out = save_offline(park_map(layers, title="测试 Test"), tmp_path / "sub" / "map.html")
    assert out.exists()
    assert list(out.parent.iterdir()) == [out]
    size = out.stat().st_size
    assert size < 300_000, size  # Leaflet is ~160 kB of it


def test_save_offline_refuses_cdn_elements(layers, tmp_path):
    from folium.plugins import MiniMap

    m = park_map(layers)
    MiniMap().add_to(m)
    with pytest.raises(ValueError, match="not self-contained"):
        save_offline(m, tmp_path / "map.html")
    assert not (tmp_path / "map.html").exists()


@pytest.mark.browser
def test_opens_offline_in_chromium(layers, tmp_path):
    path = save_offline(park_map(layers, title="检测认证园区 TIC parks"), tmp_path / "map.html")
    with chromium_page() as (page, requests, errors):
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector(".leaflet-container")
        page.wait_for_selector(".pp-label")
        settle(page)

        assert page.evaluate("typeof window.L") == "object"
        assert page.evaluate("document.querySelectorAll('.leaflet-container').length") == 1
        text = page.inner_text("body")
        assert "浦东新区" in text
        assert "示意数据 · Illustrative data" in text
        assert page.evaluate("document.fonts.check('16px sans-serif', '浦东新区')")
        # Vector layers drawn: 2 districts + 2 parks + 5 points.
        assert page.evaluate("document.querySelectorAll('path.leaflet-interactive').length") == 9
        # No links out of the page, not even in the attribution.
        assert page.evaluate("document.querySelectorAll('a[href^=\"http\"]').length") == 0

        screenshot(page, "map.png")

        # The hostile name renders as text in its popup and runs nothing.
        popup_text = page.evaluate(
            """() => {
                const key = Object.keys(window).find(k => k.startsWith('map_'));
                let hit = null;
                window[key].eachLayer(l => {
                    const p = l.getPopup && l.getPopup();
                    if (p && String(p.getContent()).includes('Escaping check')) hit = l;
                });
                hit.openPopup();
                return document.querySelector('.leaflet-popup-content').innerText;
            }"""
        )
        assert "<script>alert(1)</script>" in popup_text
        settle(page)
        assert page.evaluate("window.__ppXss") is None

    assert errors == []
    assert requests, "no request recorded at all"
    offending = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert offending == []


# --------------------------------------------------------------------------- plans, basemaps

HOSTILE_CAND = '<img src=x onerror="window.__ppXss2=1">$x^2$'


@pytest.fixture
def candidates():
    import pandas as pd

    return pd.DataFrame(
        {
            "cand_id": ["C1", "C2", "C3"],
            "name_zh": ["甲检测公司（示意）", HOSTILE_CAND, "丙认证中心（示意）"],
            "name_en": ["Alpha Testing Co.", "Hostile name", "Gamma Certification Centre"],
            "tier": ["international_major", "startup", "national_qi_centre"],
            "office_m2": [1500.0, 500.0, 1000.0],
            "lab_m2": [1000.0, 0.0, 0.0],
            "heavy_lab_m2": [0.0, 0.0, 0.0],
            "hazard_lab_m2": [0.0, 0.0, 0.0],
        }
    )


PLAN = [("C1", "S1", 2026), ("C2", "S1", 2027), ("C3", "S2", 2028)]


def _groups(m: folium.Map) -> dict[str, list]:
    """Feature groups of a map by name, each with its data layers' (data, options)."""
    out = {}
    for child in m._children.values():
        if isinstance(child, folium.map.FeatureGroup):
            out[child.layer_name] = [
                (c.data, c.options) for c in child._children.values() if isinstance(c, DataLayer)
            ]
    return out


def _cell(column, i):
    return column["d"][column["i"][i]] if isinstance(column, dict) else column[i]


def test_site_utilisation(layers, candidates):
    util = maps.site_utilisation(layers["sites"], candidates, PLAN)
    assert list(util.index) == ["S1", "S2"]
    # S1: capacity 3000 + 2500 + 800 + 300; C1 and C2 need 2500 + 500.
    assert util.loc["S1", "capacity_m2"] == pytest.approx(6600)
    assert util.loc["S1", "used_m2"] == pytest.approx(3000)
    assert util.loc["S1", "used_office_m2"] == pytest.approx(2000)
    assert util.loc["S1", "placed"] == 2
    assert util.loc["S1", "utilisation"] == pytest.approx(3000 / 6600)
    # S2: 1200 m² office, no lab (missing counts as none); C3 needs 1000.
    assert util.loc["S2", "utilisation"] == pytest.approx(1000 / 1200)
    empty = maps.site_utilisation(layers["sites"], candidates, [])
    assert (empty["placed"] == 0).all() and (empty["used_m2"] == 0).all()
    with pytest.warns(UserWarning, match="C9→S1"):
        maps.site_utilisation(layers["sites"], candidates, [*PLAN, ("C9", "S1", 2026)])


@pytest.mark.parametrize(
    ("u", "placed", "cls"),
    [
        (0.0, 0, 0),
        (0.5, 0, 0),
        (float("nan"), 1, 0),
        (None, 1, 0),
        (0.1, 1, 1),
        (0.25, 1, 2),
        (0.6, 2, 3),
        (0.75, 1, 4),
        (0.9, 1, 5),
        (1.0, 1, 5),
    ],
)
def test_utilisation_class(u, placed, cls):
    assert maps.utilisation_class(u, placed) == cls


def test_sites_coloured_by_utilisation(layers, candidates):
    m = park_map({**layers, "candidates": candidates}, plan=PLAN)
    ((data, options),) = _groups(m)["可用载体 Available sites"]
    # S1 is 45 % used (class 2: 25-50 %), S2 83 % (class 4: 75-90 %).
    assert [_cell(data["k"], i) for i in range(2)] == [2, 4]
    fills = [s["fillColor"] for s in options["styles"]]
    assert fills == [maps.UNUSED_FILL, *maps.UTILISATION_COLOURS]
    # Popup cells: utilisation, space used and count, after site id and park.
    heads = data["h"]
    assert heads[2:5] == [
        "利用率 Utilisation",
        "已用面积 Space used",
        "安置机构 Organisations placed",
    ]
    assert [_cell(data["c"][4], i) for i in range(2)] == ["45%", "83%"]
    assert _cell(data["c"][5], 0) == "3,000 / 6,600 m²"
    doc = _render(m)
    assert "载体利用率 Site utilisation" in doc
    for text in ("0%–25%", "75%–90%", "≥ 90%", "方案未使用 Not used by the plan"):
        assert text in doc, text
    # Without a plan sites keep one colour and no utilisation rows.
    ((data, options),) = _groups(park_map(layers))["可用载体 Available sites"]
    assert "k" not in data and "利用率 Utilisation" not in data["h"]


def test_unused_sites_and_plan_objects(layers, candidates):
    plan = maps.Plan((("C3", "S2", 2028),), name="baseline", run_id="20260101-x", adopted=True)
    m = park_map({**layers, "candidates": candidates}, plan=plan)
    ((data, _),) = _groups(m)["可用载体 Available sites"]
    assert [_cell(data["k"], i) for i in range(2)] == [0, 4]
    assert _cell(data["c"][4], 0) == "未使用 not used"
    doc = _render(m)
    assert "baseline · 20260101-x (已采纳 adopted)" in doc
    assert plan.label("en", bilingual=False) == "baseline · 20260101-x (adopted)"
    with pytest.raises(ValueError, match="candidates"):
        park_map(layers, plan=PLAN)


def test_plan_allocations_in_popups(layers, candidates):
    m = park_map({**layers, "candidates": candidates}, plan=PLAN)
    ((data, options),) = _groups(m)["方案安置 Plan allocations"]
    assert options["pane"] == "ppBadges"
    by_count = {f["properties"]["b"]: f["properties"] for f in data["features"]}
    assert set(by_count) == {"<div>2</div>", "<div>1</div>"}
    popup = by_count["<div>2</div>"]["p"]
    # Site name, then the organisations by year: Chinese name, English below; tier; year.
    assert (
        popup.index("张江一号楼")
        < popup.index("甲检测公司（示意）")
        < popup.index("Alpha Testing Co.")
    )
    assert "国际顶尖检测认证机构" in popup and "Top international TIC organisation" in popup
    assert "2026" in popup and "2,500 m²" in popup
    assert popup.index("2026") < popup.index("2027")
    # The hostile candidate name is escaped; math-like text kept verbatim.
    assert "&lt;img src=x onerror=&quot;window.__ppXss2=1&quot;&gt;$x^2$" in popup
    assert "<img src=x" not in _render(m)
    assert by_count["<div>2</div>"]["t"].endswith("2 家机构 · 2 organisations")
    # English first on request.
    m_en = park_map({**layers, "candidates": candidates}, plan=PLAN, language="en")
    ((data, _),) = _groups(m_en)["Plan allocations 方案安置"]
    popup = next(
        f["properties"]["p"] for f in data["features"] if f["properties"]["b"] == "<div>2</div>"
    )
    assert popup.index("Alpha Testing Co.") < popup.index("甲检测公司（示意）")


def _xy_in(doc: str, x: float, y: float) -> bool:
    return json.dumps(round(x, 6)) in doc and json.dumps(round(y, 6)) in doc


@pytest.mark.parametrize("basemap", [None, "none", "osm", "tianditu", "amap"])
def test_gcj02_shift_only_for_amap(layers, basemap, monkeypatch):
    from parkplan.crs import wgs84_to_gcj02

    monkeypatch.setenv("PARKPLAN_TIANDITU_KEY", "0123456789abcdef0123456789abcdef")
    doc = _render(park_map(layers, basemap=basemap))
    x, y = 121.123456789, 31.2  # site S1
    gx, gy = (float(v) for v in wgs84_to_gcj02(x, y))
    # The GCJ-02 offset in Shanghai is several hundred metres (mostly eastward).
    assert 300 < math.hypot((gx - x) * 95_000, (gy - y) * 111_000) < 800
    district_corner = (121.5, 31.1)
    g_corner = tuple(float(v) for v in wgs84_to_gcj02(*district_corner))
    if basemap == "amap":
        assert _xy_in(doc, gx, gy) and _xy_in(doc, *g_corner)
        assert "121.123457" not in doc
        assert "autonavi.com" in doc
    else:
        assert "121.123457" in doc and _xy_in(doc, *district_corner)
        assert json.dumps(round(gx, 6)) not in doc


def test_basemap_tiles_and_keys(layers, monkeypatch):
    monkeypatch.delenv("PARKPLAN_TIANDITU_KEY", raising=False)
    assert "tile.openstreetmap.org" in _render(park_map(layers, basemap="osm"))
    (tile,) = [
        c
        for c in park_map(layers, basemap="osm")._children.values()
        if isinstance(c, folium.TileLayer)
    ]
    assert tile.options["attribution"] == "© OpenStreetMap 贡献者 © OpenStreetMap contributors"
    with pytest.raises(ValueError, match="PARKPLAN_TIANDITU_KEY"):
        park_map(layers, basemap="tianditu")
    with pytest.raises(ValueError, match="letters and digits"):
        park_map(layers, basemap="tianditu", tianditu_key='x"><script>')
    doc = _render(park_map(layers, basemap="tianditu", tianditu_key="abcdef0123456789"))
    assert "tianditu.gov.cn/vec_w/wmts" in doc and "tianditu.gov.cn/cva_w/wmts" in doc
    assert "tk=abcdef0123456789" in doc
    monkeypatch.setenv("PARKPLAN_TIANDITU_KEY", "fromenv12345678")
    assert "tk=fromenv12345678" in _render(park_map(layers, basemap="tianditu"))
    with pytest.raises(ValueError, match="unknown basemap"):
        park_map(layers, basemap="google")
    # Tiles are a choice; the document's own assets are still inlined.
    assert external_references(_render(park_map(layers, basemap="amap"))) == []


def test_canvas_only_for_large_layers(layers):
    assert 'preferCanvas": false' in _render(park_map(layers)) or "preferCanvas: false" in _render(
        park_map(layers)
    )
    assert re.search(r"preferCanvas\"?: true", _render(park_map(layers, canvas=True)))


def test_columns_dictionary_encoded():
    assert column(["a", "b", "c"]) == ["a", "b", "c"]
    assert column(["a", "a", "a", "b"]) == {"d": ["a", "b"], "i": [0, 0, 0, 1]}


# --------------------------------------------------------------------------- workspace, CLI


def _record_plan(
    ws,
    allocation,
    *,
    name="test",
    run_id=None,
    adopted=False,
    created="2026-01-01T00:00:00+00:00",
    status="optimal",
):
    """Store a siting run with ``allocation`` in the ledger without solving anything."""
    from parkplan.store import ledger

    run_id = run_id or f"20260101-000000-{name}"
    sites = ws.read_layer("sites").set_index("site_id")
    row = dict.fromkeys(ledger._RUN_COLUMNS) | {
        "run_id": run_id,
        "scenario_name": name,
        "scenario_hash": "h",
        "scenario_yaml": "",
        "layers_hash": "",
        "solver": "test",
        "status": status,
        "objective": 1.0,
        "seconds_build": 0.0,
        "seconds_solve": 0.0,
        "seconds_total": 0.0,
        "created_at": created,
        "created_by": "test",
        "adopted": False,
        "result_json": json.dumps(
            {"allocation": [{"cand_id": c, "site_id": s, "year": y} for c, s, y in allocation]}
        ),
    }
    rows = [
        {
            "cand_id": c,
            "site_id": s,
            "park_id": sites.at[s, "park_id"],
            "year": y,
            "value": 1.0,
            "geometry": sites.at[s, "geometry"],
        }
        for c, s, y in allocation
    ]
    with ws.begin() as conn:
        ledger.record_run(ws, conn, row, rows)
        if adopted:
            ledger.set_adopted(ws, run_id, conn)
    return run_id


def greedy_allocation(ws, n: int = 30) -> list[tuple[str, str, int]]:
    """Place the first ``n`` demo candidates that fit, first fit by site, for test plans."""
    from parkplan.layers import SPACE_CLASSES

    sites = ws.read_layer("sites")
    cands = ws.read_layer("candidates").head(n)
    free = {r.site_id: [float(getattr(r, k)) for k in SPACE_CLASSES] for r in sites.itertuples()}
    out = []
    for c in cands.itertuples():
        need = [float(getattr(c, k)) for k in SPACE_CLASSES]
        for s, cap in free.items():
            if all(nd <= cp for nd, cp in zip(need, cap, strict=True)):
                free[s] = [cp - nd for nd, cp in zip(need, cap, strict=True)]
                out.append((c.cand_id, s, int(c.ready_year)))
                break
    return out


@pytest.fixture
def planned_gpkg(demo_gpkg, tmp_path):
    """A demo workspace with two stored runs: 'early' (adopted) and 'late' (newest)."""
    import shutil

    from parkplan.store import Workspace

    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    with Workspace.open(path) as ws:
        alloc = greedy_allocation(ws)
        _record_plan(ws, alloc, name="early", adopted=True)
        _record_plan(ws, alloc[:5], name="late", created="2026-02-01T00:00:00+00:00")
        _record_plan(
            ws, [], name="broken", status="infeasible", created="2026-03-01T00:00:00+00:00"
        )
    return path


def test_load_plan(planned_gpkg, demo_gpkg):
    from parkplan.errors import ParkplanError
    from parkplan.store import Workspace, ledger

    with Workspace.open(planned_gpkg) as ws:
        adopted = load_plan(ws)
        assert adopted.name == "early" and adopted.adopted and len(adopted.allocation) >= 10
        late = load_plan(ws, "late")
        assert late.run_id == "20260101-000000-late" and len(late.allocation) == 5
        with pytest.raises(ParkplanError, match="no plan"):
            load_plan(ws, "broken")
        with pytest.raises(ParkplanError, match="no stored run"):
            load_plan(ws, "nosuchrun")
        with ws.begin() as conn:  # nothing adopted: the newest plan
            conn.execute(ledger._tables(ws)[0].update().values(adopted=False))
        assert load_plan(ws).name == "late"
    with Workspace.open(demo_gpkg) as ws:
        assert load_plan(ws) is None


def _cli(*args, env=None):
    from typer.testing import CliRunner

    from parkplan.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def test_cli_map_with_run_and_basemaps(planned_gpkg, tmp_path):
    out = tmp_path / "park.html"
    result = _cli("map", "--out", out, "--workspace", planned_gpkg)
    assert result.exit_code == 0, result.output
    assert "plan early" in result.stdout
    doc = out.read_text(encoding="utf-8")
    assert "方案安置 Plan allocations" in doc and "已采纳 adopted" in doc
    assert external_references(doc) == []
    result = _cli(
        "map", "--out", out, "--run", "late", "--basemap", "amap", "--workspace", planned_gpkg
    )
    assert result.exit_code == 0, result.output
    assert "tiles from the network" in result.stdout
    doc = out.read_text(encoding="utf-8")
    assert "autonavi.com" in doc and "最新 latest" in doc
    result = _cli("map", "--out", out, "--no-plan", "--workspace", planned_gpkg)
    assert result.exit_code == 0 and "no plan" in result.stdout
    assert "方案安置" not in out.read_text(encoding="utf-8")
    bad = _cli(
        "map",
        "--out",
        tmp_path / "t.html",
        "--basemap",
        "tianditu",
        "--workspace",
        planned_gpkg,
        env={"PARKPLAN_TIANDITU_KEY": ""},
    )
    assert bad.exit_code == 2 and "PARKPLAN_TIANDITU_KEY" in bad.stderr
    assert not (tmp_path / "t.html").exists()
    bad = _cli("map", "--out", out, "--run", "broken", "--workspace", planned_gpkg)
    assert bad.exit_code == 2 and "has no plan" in bad.stderr


# --------------------------------------------------------------------------- browser


@pytest.mark.browser
def test_plan_map_in_chromium(layers, candidates, tmp_path):
    m = park_map({**layers, "candidates": candidates}, plan=PLAN, title="方案 Plan")
    path = save_offline(m, tmp_path / "plan.html")
    with chromium_page() as (page, requests, errors):
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector(".pp-badge")
        assert page.evaluate("document.querySelectorAll('.pp-badge').length") == 2
        # Two-organisation badge: its popup lists both, the hostile name as text.
        page.evaluate(
            """() => {
                const key = Object.keys(window).find(k => k.startsWith('map_'));
                window[key].eachLayer(l => {
                    const p = l.getPopup && l.getPopup();
                    if (p && String(p.getContent()).includes('pp-list')
                          && String(p.getContent()).includes('Alpha')) l.openPopup();
                });
            }"""
        )
        text = page.inner_text(".leaflet-popup-content")
        assert "甲检测公司（示意）" in text and "Alpha Testing Co." in text
        assert HOSTILE_CAND in text
        settle(page)
        assert page.evaluate("window.__ppXss2") is None
        screenshot(page, "map-plan.png")
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []


@pytest.mark.browser
def test_ten_thousand_sites_render_in_chromium(tmp_path):
    from parkplan.data import districts_path

    from parkplan.services.demo import random_sites

    districts = gpd.read_file(districts_path())
    sites = random_sites(10_000, districts, seed=1)
    sites.loc[0, "name_zh"] = XSS_NAME
    path = save_offline(park_map({"districts": districts, "sites": sites}), tmp_path / "10k.html")
    assert path.stat().st_size < 2_500_000
    with chromium_page() as (page, requests, errors):
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector(".leaflet-container canvas")
        counts = page.evaluate(
            """() => {
                const key = Object.keys(window).find(k => k.startsWith('map_'));
                const m = window[key];
                let markers = 0, svg = document.querySelectorAll('path.leaflet-interactive').length;
                m.eachLayer(l => { if (l instanceof L.CircleMarker) markers++; });
                return {markers, svg, canvases: document.querySelectorAll('canvas').length};
            }"""
        )
        assert counts["markers"] == 10_000
        assert counts["svg"] == 0 and counts["canvases"] >= 1  # drawn on canvas
        # Usable: zoom to the hostile site, hover and click it with the mouse.
        x, y = page.evaluate(
            """() => {
                const key = Object.keys(window).find(k => k.startsWith('map_'));
                const m = window[key];
                let hit = null;
                m.eachLayer(l => {
                    const p = l.getPopup && l.getPopup();
                    if (p && String(p.getContent()).includes('S00001')) hit = l;
                });
                m.setView(hit.getLatLng(), 15, {animate: false});
                const c = m.latLngToContainerPoint(hit.getLatLng());
                return [c.x, c.y];
            }"""
        )
        settle(page)
        page.mouse.move(x, y)
        page.wait_for_selector(".leaflet-tooltip")
        assert "Building 1 (illustrative)" in page.inner_text(".leaflet-tooltip")
        page.mouse.click(x, y)
        page.wait_for_selector(".leaflet-popup-content")
        assert "<script>alert(1)</script>" in page.inner_text(".leaflet-popup-content")
        settle(page)
        assert page.evaluate("window.__ppXss") is None
        screenshot(page, "map-10k.png")
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
