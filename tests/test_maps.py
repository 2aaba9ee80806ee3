"""Tests for parkplan.maps: offline, escaped, bilingual park maps."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from parkplan import maps
from parkplan.maps import external_references, park_map, save_offline
from tests.browser import chromium_page, screenshot

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
    assert f"Leaflet {version}," in maps._leaflet_js()
    assert "url(images/" not in maps._leaflet_css()
    assert "url(data:image/png;base64," in maps._leaflet_css()


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
    simplified = maps._simplify_districts(layers["districts"].geometry)
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
        page.wait_for_timeout(300)

        assert page.evaluate("typeof window.L") == "object"
        assert page.evaluate("document.querySelectorAll('.leaflet-container').length") == 1
        text = page.inner_text("body")
        assert "浦东新区" in text
        assert "示意数据 · Illustrative data" in text
        assert page.evaluate("document.fonts.check('16px sans-serif', '浦东新区')")
        # Vector layers drawn: 2 districts + 2 parks + 5 points.
        assert (
            page.evaluate("document.querySelectorAll('path.leaflet-interactive').length") == 9
        )
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
        page.wait_for_timeout(200)
        assert page.evaluate("window.__ppXss") is None

    assert errors == []
    assert requests, "no request recorded at all"
    offending = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert offending == []
