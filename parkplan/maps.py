"""Offline, bilingual park maps for leaders' briefings.

:func:`park_map` turns the planning layers (districts, parks, sites, institutions and
industry clusters) into a :class:`folium.Map`; :func:`save_offline` writes it as one
self-contained HTML file that opens from ``file://`` with no network at all.

Offline by construction
-----------------------
folium's :class:`~folium.Map` links Leaflet, jQuery, Bootstrap and Font Awesome from
CDNs. Here the map's ``default_js`` / ``default_css`` are emptied and the vendored
Leaflet (``parkplan/static/leaflet``, the version folium expects) is inlined into the
document header, with the images its CSS references rewritten to ``data:`` URIs.
Only core Leaflet is used: popups, tooltips and labels are bound by a small inline
helper (folium's :class:`~folium.Popup` needs jQuery, its GeoJSON popups/tooltips do
not escape values). No basemap is drawn by default: the district outlines are the
base. Leaflet's attribution prefix is plain text, so the map contains no links either.

Text safety
-----------
Every value taken from the data is HTML-escaped before it reaches a popup, tooltip or
label, so a name such as ``<script>...`` is shown as text.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import re
import warnings
from collections.abc import Mapping
from html.parser import HTMLParser
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element, Figure
from folium.map import FeatureGroup, FitBounds, LayerControl
from folium.template import Template

__all__ = ["park_map", "save_offline", "external_references", "LAYER_KEYS"]

#: Layer keys :func:`park_map` understands, drawn bottom to top in this order.
LAYER_KEYS = ("districts", "parks", "sites", "institutions", "clusters")

#: Coordinates are written with this many decimals: 1e-6 degree is about 0.1 m,
#: far below anything a park map shows, and it keeps the HTML small.
COORD_DECIMALS = 6

#: Display tolerance for district outlines, in degrees (about 50 m at Shanghai's
#: latitude). District boundaries come from survey data with a vertex every few
#: metres, which would make the HTML megabytes big; at the zooms districts are read
#: at (city to district, zoom 9-13, 20-150 m per pixel) a 50 m deviation is at most a
#: pixel or two. Parks and points are never simplified.
DISTRICT_SIMPLIFY_TOLERANCE = 0.0005

#: Where the map opens when there is no data at all (People's Square, Shanghai).
SHANGHAI_CENTRE = (31.2304, 121.4737)

_FIT_MAX_ZOOM = 15
_COLOURS = {
    "districts": "#6b6b6b",
    "parks": "#1f78b4",
    "sites": "#e6550d",
    "institutions": "#6a51a3",
    "clusters": "#31a354",
}
_FONT_STACK = (
    '"Helvetica Neue", Arial, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif'
)
_MISSING = "—"
_DISTRICT_FILL = "#d9d4c7"

# Layer names, legend entries and field labels: (Chinese, English).
_LAYER_NAMES = {
    "districts": ("行政区", "Districts"),
    "parks": ("园区", "Parks"),
    "sites": ("可用载体", "Available sites"),
    "institutions": ("检验检测认证机构", "TIC institutions"),
    "clusters": ("产业集群", "Industry clusters"),
}
_BANNER = "示意数据 · Illustrative data"
_CAPACITY_FIELDS = (
    ("office_m2", "办公", "Office"),
    ("lab_m2", "实验室", "Lab"),
    ("heavy_lab_m2", "重型实验室", "Heavy lab"),
    ("hazard_lab_m2", "危化品实验室", "Hazardous-materials lab"),
)


# --------------------------------------------------------------------------- assets


def _static(name: str) -> Any:
    return resources.files("parkplan").joinpath("static", "leaflet", name)


@functools.lru_cache(maxsize=1)
def _leaflet_js() -> str:
    return _static("leaflet.js").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _leaflet_css() -> str:
    """Leaflet's CSS with its ``url(images/...)`` references inlined as data URIs."""

    def inline(match: re.Match[str]) -> str:
        ref = match.group(2)
        if not ref.startswith("images/"):  # e.g. url(#default#VML) for old IE
            return match.group(0)
        data = _static(ref).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    css = _static("leaflet.css").read_text(encoding="utf-8")
    return re.sub(r"""url\((['"]?)([^'")]+)\1\)""", inline, css)


# Shared by all layers: builds Leaflet layers from a compact GeoJSON whose properties
# carry already-escaped HTML: p = popup, t = tooltip, l = label (DivIcon), r = radius.
_HELPER_JS = """
function parkplanLayer(group, data, o) {
  L.geoJSON(data, {
    pane: o.pane,
    style: function () { return o.style; },
    pointToLayer: function (f, ll) {
      if (f.properties.l) {
        return L.marker(ll, {pane: o.labelPane, interactive: false, keyboard: false,
          icon: L.divIcon({className: 'pp-label', html: f.properties.l, iconSize: null})});
      }
      return L.circleMarker(ll, L.extend({pane: o.pane, radius: f.properties.r || o.radius},
                                         o.style));
    },
    onEachFeature: function (f, layer) {
      if (f.properties.p) { layer.bindPopup(f.properties.p, {maxWidth: 340}); }
      if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true}); }
    }
  }).addTo(group);
}
"""

_PAGE_CSS = f"""
.leaflet-container, .pp-overlay {{ font-family: {_FONT_STACK}; }}
.leaflet-container {{ background: #f7f7f4; }}
.pp-label {{ background: none; border: none; }}
.pp-label div {{ transform: translate(-50%, -50%); white-space: nowrap;
  text-align: center; color: #333; line-height: 1.2;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }}
.pp-label b {{ font-size: 14px; }}
.pp-label small {{ font-size: 11px; color: #555; }}
.pp-popup {{ font-size: 13px; line-height: 1.5; }}
.pp-popup .pp-name {{ font-weight: bold; font-size: 14px; }}
.pp-popup .pp-alt {{ color: #555; }}
.pp-popup table {{ border-collapse: collapse; margin-top: 4px; }}
.pp-popup th {{ text-align: left; font-weight: normal; color: #555; padding: 0 8px 0 0; }}
.pp-popup td {{ text-align: right; }}
.pp-overlay {{ position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
  z-index: 1001; display: flex; flex-direction: column; align-items: center; gap: 4px;
  pointer-events: none; }}
.pp-title {{ background: rgba(255,255,255,.92); padding: 4px 14px; border-radius: 4px;
  font-size: 18px; font-weight: bold; box-shadow: 0 1px 4px rgba(0,0,0,.3); }}
.pp-banner {{ background: #fff3cd; color: #664d03; border: 1px solid #e0b000;
  padding: 3px 12px; border-radius: 4px; font-size: 14px; font-weight: bold; }}
.pp-legend {{ background: rgba(255,255,255,.92); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 12px; line-height: 1.7; }}
.pp-legend i {{ display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  vertical-align: -1px; border: 2px solid; box-sizing: border-box; }}
.pp-legend i.pp-dot {{ border-radius: 50%; }}
"""


class _OfflineFigure(Figure):
    """A :class:`~branca.element.Figure` with Leaflet inlined and ``lang="zh-CN"``.

    ``lang`` makes browsers pick Simplified Chinese glyph variants for CJK text.
    """

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}"
        "    {{this.header.render(**kwargs)}}\n"
        "</head>\n"
        "<body>\n"
        "    {{this.html.render(**kwargs)}}\n"
        "</body>\n"
        "<script>\n"
        "    {{this.script.render(**kwargs)}}\n"
        "</script>\n"
        "</html>\n",
    )

    def __init__(self, title: str | None = None):
        super().__init__(title=title)
        self.header.add_child(Element(f"<style>{_leaflet_css()}</style>"), name="leaflet_css")
        self.header.add_child(Element(f"<script>{_leaflet_js()}</script>"), name="leaflet_js")
        self.header.add_child(
            Element(f"<style>{_PAGE_CSS}</style><script>{_HELPER_JS}</script>"),
            name="parkplan_css_js",
        )


# --------------------------------------------------------------------------- elements


class _MapSetup(Element):
    """Panes (fixed stacking order), a metric scale and a link-free attribution prefix."""

    _template = Template(
        """
        {%- set m = this._parent.get_name() %}
        {%- for name, z in this.panes %}
        {{ m }}.createPane({{ name|tojson }}).style.zIndex = {{ z }};
        {%- endfor %}
        {{ m }}.getPane("ppLabels").style.pointerEvents = "none";
        L.control.scale({imperial: false}).addTo({{ m }});
        if ({{ m }}.attributionControl) { {{ m }}.attributionControl.setPrefix("Leaflet"); }
        """
    )

    # Panes keep districts under parks under points even after a layer is switched
    # off and on again (Leaflet would otherwise redraw it on top of the others).
    panes = (("ppDistricts", 350), ("ppParks", 400), ("ppLabels", 420), ("ppPoints", 450))

    def render(self, **kwargs: Any) -> None:
        self.get_root().script.add_child(
            Element(self._template.render(this=self, kwargs=kwargs)), name=self.get_name()
        )


class _DataLayer(Element):
    """Adds a compact GeoJSON to its parent FeatureGroup via ``parkplanLayer``."""

    def __init__(self, data: dict, options: dict):
        super().__init__()
        self._name = "DataLayer"
        self.data = data
        self.options = options

    def render(self, **kwargs: Any) -> None:
        js = (
            f"parkplanLayer({self._parent.get_name()}, "
            f"{_js_json(self.data)}, {_js_json(self.options)});"
        )
        self.get_root().script.add_child(Element(js), name=self.get_name())


class _Legend(Element):
    """Legend as a Leaflet control (bottom left)."""

    def __init__(self, html_content: str):
        super().__init__()
        self._name = "Legend"
        self.html_content = html_content

    def render(self, **kwargs: Any) -> None:
        m = self._parent.get_name()
        js = (
            "(function () { var c = L.control({position: 'bottomleft'});"
            " c.onAdd = function () { var d = L.DomUtil.create('div', 'pp-legend');"
            f" d.innerHTML = {_js_json(self.html_content)};"
            " L.DomEvent.disableClickPropagation(d); return d; };"
            f" c.addTo({m}); }})();"
        )
        self.get_root().script.add_child(Element(js), name=self.get_name())


class _Overlay(Element):
    """Title and the illustrative-data banner, centred at the top of the page."""

    def __init__(self, title: str | None, banner: bool):
        super().__init__()
        self._name = "Overlay"
        self.title = title
        self.banner = banner

    def render(self, **kwargs: Any) -> None:
        parts = []
        if self.title:
            parts.append(f'<div class="pp-title">{html.escape(self.title)}</div>')
        if self.banner:
            parts.append(f'<div class="pp-banner" role="note">{_BANNER}</div>')
        if parts:
            self.get_root().html.add_child(
                Element(f'<div class="pp-overlay">{"".join(parts)}</div>'),
                name=self.get_name(),
            )


# --------------------------------------------------------------------------- helpers


def _js_json(obj: Any) -> str:
    """JSON for a ``<script>`` block: UTF-8 kept (compact Chinese), ``</`` neutralised."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("</", "<\\/")
        .replace("<!--", "<\\!--")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _esc(value: Any) -> str:
    return _MISSING if _is_missing(value) or str(value).strip() == "" else html.escape(str(value))


def _num(value: Any, unit: str = "") -> str:
    if _is_missing(value):
        return _MISSING
    try:
        x = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    text = f"{x:,.0f}" if x == int(x) else f"{x:,.1f}"
    return f"{text}{unit}"


def _year(value: Any) -> str:
    if _is_missing(value):
        return _MISSING
    try:
        return str(int(float(value)))
    except (TypeError, ValueError):
        return html.escape(str(value))


def _codes(value: Any) -> str:
    """Render a ``;``-list as ``"A, B, C"``, escaped."""
    if _is_missing(value):
        return _MISSING
    parts = [p.strip() for p in str(value).split(";") if p.strip()]
    return html.escape(", ".join(parts)) if parts else _MISSING


def _round_coords(coords: Any) -> Any:
    if len(coords) and isinstance(coords[0], (int, float)):
        return [round(float(c), COORD_DECIMALS) for c in coords[:2]]  # drop any Z
    return [_round_coords(c) for c in coords]


def _geometry(geom: Any) -> dict:
    mapping = shapely.geometry.mapping(geom)
    return {"type": mapping["type"], "coordinates": _round_coords(mapping["coordinates"])}


def _prepare(gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """EPSG:4326, rows with a usable geometry only; ``None`` when nothing is left."""
    if gdf is None or len(gdf) == 0:
        return None
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    keep = gdf.geometry.notna() & ~gdf.geometry.is_empty
    gdf = gdf[keep]
    return gdf if len(gdf) else None


def _simplify_districts(geoms: gpd.GeoSeries) -> list:
    """Simplify district outlines for display (see DISTRICT_SIMPLIFY_TOLERANCE).

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


class _Text:
    """Bilingual text helper honouring the ``language`` order."""

    def __init__(self, language: str):
        self.zh_first = language == "zh"

    def pair(self, zh: str, en: str, sep: str = " ") -> str:
        return f"{zh}{sep}{en}" if self.zh_first else f"{en}{sep}{zh}"

    def names(self, row: Mapping) -> tuple[str, str]:
        """(primary, secondary) escaped names of a record."""
        zh, en = row.get("name_zh"), row.get("name_en")
        first, second = (zh, en) if self.zh_first else (en, zh)
        if _is_missing(first) or not str(first).strip():
            first, second = second, None
        return _esc(first), ("" if _is_missing(second) else _esc(second))

    def name_inline(self, row: Mapping) -> str:
        first, second = self.names(row)
        return f"{first} / {second}" if second else first

    def header(self, row: Mapping) -> str:
        first, second = self.names(row)
        out = f'<div class="pp-name">{first}</div>'
        if second:
            out += f'<div class="pp-alt">{second}</div>'
        return out

    def table(self, rows: list[tuple[str, str, str]]) -> str:
        cells = "".join(f"<tr><th>{self.pair(zh, en)}</th><td>{v}</td></tr>" for zh, en, v in rows)
        return f"<table>{cells}</table>"


def _features(gdf: gpd.GeoDataFrame, props: list[dict], geoms: list | None = None) -> dict:
    geoms = list(gdf.geometry) if geoms is None else geoms
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": _geometry(g), "properties": p}
            for g, p in zip(geoms, props, strict=True)
            if g is not None and not g.is_empty
        ],
    }


def _records(gdf: gpd.GeoDataFrame) -> list[dict]:
    return gdf.drop(columns=gdf.geometry.name).to_dict("records")


def _is_illustrative(gdf: gpd.GeoDataFrame | None) -> bool:
    if gdf is None or "source" not in gdf.columns:
        return False
    src = gdf["source"].dropna().astype(str).str.lower()
    return bool((src.str.contains("illustrative") | src.str.contains("示意")).any())


# --------------------------------------------------------------------------- public


def park_map(
    layers: Mapping[str, gpd.GeoDataFrame | None],
    *,
    title: str | None = None,
    basemap: str | folium.TileLayer | None = None,
    language: str = "zh",
) -> folium.Map:
    """Draw districts, parks, sites, institutions and clusters on one offline map.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Any of ``"districts"``, ``"parks"``, ``"sites"``, ``"institutions"`` and
        ``"clusters"`` (see :data:`LAYER_KEYS`); a layer may be missing, ``None`` or
        empty. Frames in another CRS are reprojected to EPSG:4326; frames without a
        CRS are taken to be EPSG:4326. Missing attribute columns show as "—".
    title : str, optional
        Shown at the top of the map and as the page title.
    basemap : str or folium.TileLayer, optional
        A tile layer under the data: a provider name known to folium (e.g.
        ``"OpenStreetMap"``) or a :class:`folium.TileLayer`. The default, ``None``,
        draws no tiles; the district outlines are the base. **A basemap fetches tiles
        over the network**, so the map is then no longer offline.
    language : {"zh", "en"}, default "zh"
        Which language comes first in bilingual text; both are always shown.

    Returns
    -------
    folium.Map
        Renders (``.save``, :func:`save_offline`, ``_repr_html_``) to one HTML document
        with Leaflet inlined and no external script, stylesheet, image or link.

    Raises
    ------
    ValueError
        If ``language`` is not ``"zh"`` or ``"en"``.

    Notes
    -----
    A "示意数据 · Illustrative data" banner is shown whenever any drawn record's
    ``source`` contains "illustrative" (or "示意"). Coordinates are rounded to 6
    decimals (about 0.1 m); district outlines are simplified for display.

    Examples
    --------
    >>> m = park_map({"districts": districts, "parks": parks}, title="检测认证园区")
    >>> save_offline(m, "parks.html")  # doctest: +SKIP
    """
    if language not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', not {language!r}")
    unknown = sorted(set(layers) - set(LAYER_KEYS))
    if unknown:
        warnings.warn(
            f"park_map ignores unknown layer(s) {unknown}; known: {list(LAYER_KEYS)}",
            stacklevel=2,
        )
    t = _Text(language)
    data = {key: _prepare(layers.get(key)) for key in LAYER_KEYS}

    m = folium.Map(
        location=SHANGHAI_CENTRE,
        zoom_start=9,
        tiles=None,
        font_size="14px",
    )
    # Leaflet's own zoom limits (folium's min_zoom/max_zoom only reach tile layers).
    m.options.update(min_zoom=3, max_zoom=19)
    # Offline: no CDN links for this map (instance attributes, so folium's shared
    # class-level lists are left alone); Leaflet comes inlined with _OfflineFigure.
    m.default_js = []
    m.default_css = []
    _OfflineFigure(title=title).add_child(m)
    m.add_child(_MapSetup(), name="parkplan_setup")

    if basemap is not None:
        tile = basemap if isinstance(basemap, folium.TileLayer) else folium.TileLayer(basemap)
        tile.control = False
        m.add_child(tile)

    names = {key: t.pair(*_LAYER_NAMES[key]) for key in LAYER_KEYS}
    recs = {key: _records(gdf) for key, gdf in data.items() if gdf is not None}
    district_names = _name_index(recs.get("districts", []), "adcode", t)
    park_names = _name_index(recs.get("parks", []), "park_id", t)
    legend_rows: list[str] = []

    if (gdf := data["districts"]) is not None:
        m.add_child(_district_group(gdf, recs["districts"], names["districts"], t))
        legend_rows.append(_swatch(_COLOURS["districts"], _DISTRICT_FILL, names["districts"]))
    if (gdf := data["parks"]) is not None:
        props = [_park_props(r, t, district_names) for r in recs["parks"]]
        colour = _COLOURS["parks"]
        style = {"color": colour, "weight": 2, "fillOpacity": 0.2}
        fg = FeatureGroup(name=names["parks"])
        fg.add_child(_DataLayer(_features(gdf, props), {"pane": "ppParks", "style": style}))
        m.add_child(fg)
        legend_rows.append(_swatch(colour, colour, names["parks"]))
    if (gdf := data["sites"]) is not None:
        props = [_site_props(r, t, park_names) for r in recs["sites"]]
        m.add_child(_point_group(gdf, props, names["sites"], _COLOURS["sites"], 7))
        legend_rows.append(_dot(_COLOURS["sites"], names["sites"]))
    if (gdf := data["institutions"]) is not None:
        props = [_institution_props(r, t) for r in recs["institutions"]]
        m.add_child(_point_group(gdf, props, names["institutions"], _COLOURS["institutions"], 6))
        legend_rows.append(_dot(_COLOURS["institutions"], names["institutions"]))
    if (gdf := data["clusters"]) is not None:
        props = _cluster_props(recs["clusters"], t)
        m.add_child(_point_group(gdf, props, names["clusters"], _COLOURS["clusters"], 8))
        note = t.pair("圆越大权重越高", "size ∝ weight", ", ")
        legend_rows.append(
            _dot(_COLOURS["clusters"], names["clusters"]) + f" <small>({note})</small>"
        )

    if legend_rows:
        m.add_child(_Legend("<br>".join(legend_rows)), name="parkplan_legend")
    banner = any(_is_illustrative(data[key]) for key in LAYER_KEYS)
    m.add_child(_Overlay(title, banner), name="parkplan_overlay")
    if any(data[key] is not None for key in LAYER_KEYS):
        m.add_child(LayerControl(collapsed=False), name="parkplan_layers")
        m.add_child(FitBounds(_bounds(data), max_zoom=_FIT_MAX_ZOOM, padding=(20, 20)))
    return m


# --------------------------------------------------------------------------- layers


def _name_index(recs: list[dict], key: str, t: _Text) -> dict[str, str]:
    """``{str(record[key]): "中文名 / English name"}`` (escaped) for lookups in popups."""
    return {str(r[key]): t.name_inline(r) for r in recs if not _is_missing(r.get(key))}


def _lookup(index: Mapping[str, str], key: Any) -> str:
    return _MISSING if _is_missing(key) else index.get(str(key), html.escape(str(key)))


def _popup(r: Mapping, t: _Text, rows: list[tuple[str, str, str]]) -> dict:
    return {
        "p": f'<div class="pp-popup">{t.header(r)}{t.table(rows)}</div>',
        "t": t.name_inline(r),
    }


def _district_group(gdf: gpd.GeoDataFrame, recs: list[dict], name: str, t: _Text) -> FeatureGroup:
    style = {
        "color": _COLOURS["districts"],
        "weight": 1,
        "opacity": 0.8,
        "fillColor": _DISTRICT_FILL,
        "fillOpacity": 0.25,
    }
    outlines = _features(
        gdf, [{"t": t.name_inline(r)} for r in recs], _simplify_districts(gdf.geometry)
    )
    # District names as text on the map, at a point guaranteed inside each polygon.
    labels = []
    for r in recs:
        first, second = t.names(r)
        small = f"<br><small>{second}</small>" if second else ""
        labels.append({"l": f"<div><b>{first}</b>{small}</div>"})
    points = list(gdf.geometry.representative_point())
    fg = FeatureGroup(name=name)
    fg.add_child(_DataLayer(outlines, {"pane": "ppDistricts", "style": style}))
    fg.add_child(_DataLayer(_features(gdf, labels, points), {"labelPane": "ppLabels"}))
    return fg


def _park_props(r: Mapping, t: _Text, district_names: Mapping[str, str]) -> dict:
    return _popup(
        r,
        t,
        [
            ("园区编号", "Park ID", _esc(r.get("park_id"))),
            ("所在区", "District", _lookup(district_names, r.get("district_adcode"))),
        ],
    )


def _site_props(r: Mapping, t: _Text, park_names: Mapping[str, str]) -> dict:
    rows = [
        ("所属园区", "Park", _lookup(park_names, r.get("park_id"))),
        ("可入驻年份", "Available from", _year(r.get("available_from"))),
        ("装修费用", "Fit-out cost", _num(r.get("fitout_cost"), " 万元 (CNY 10k)")),
    ]
    rows += [(zh, en, _num(r.get(col), " m²")) for col, zh, en in _CAPACITY_FIELDS]
    return _popup(r, t, rows)


def _institution_props(r: Mapping, t: _Text) -> dict:
    return _popup(
        r,
        t,
        [
            ("类型", "Type", _esc(r.get("inst_type"))),
            ("领域", "Sectors", _codes(r.get("sectors"))),
            ("资质", "Accreditation", _codes(r.get("accreditation"))),
            ("人员", "Headcount", _num(r.get("headcount"))),
        ],
    )


def _cluster_props(recs: list[dict], t: _Text) -> list[dict]:
    weights = pd.to_numeric(
        pd.Series([r.get("weight") for r in recs], dtype=object), errors="coerce"
    )
    wmax = weights.max() if weights.notna().any() and weights.max() > 0 else None
    out = []
    for r, w in zip(recs, weights, strict=True):
        p = _popup(
            r,
            t,
            [("产业", "Sector", _esc(r.get("sector"))), ("权重", "Weight", _esc(r.get("weight")))],
        )
        if wmax is not None and not math.isnan(w) and w > 0:
            p["r"] = round(5 + 9 * math.sqrt(w / wmax), 1)  # area ∝ weight, radius 5-14 px
        out.append(p)
    return out


def _point_group(
    gdf: gpd.GeoDataFrame, props: list[dict], name: str, colour: str, radius: int
) -> FeatureGroup:
    fg = FeatureGroup(name=name)
    style = {"color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.9}
    fg.add_child(
        _DataLayer(_features(gdf, props), {"pane": "ppPoints", "radius": radius, "style": style})
    )
    return fg


def _swatch(colour: str, fill: str, label: str) -> str:
    return f'<i style="border-color:{colour};background:{fill}40"></i>{label}'


def _dot(colour: str, label: str) -> str:
    return f'<i class="pp-dot" style="border-color:#fff;background:{colour}"></i>{label}'


def _bounds(data: Mapping[str, gpd.GeoDataFrame | None]) -> list[list[float]]:
    boxes = [gdf.total_bounds for gdf in data.values() if gdf is not None]
    minx = min(b[0] for b in boxes)
    miny = min(b[1] for b in boxes)
    maxx = max(b[2] for b in boxes)
    maxy = max(b[3] for b in boxes)
    r = COORD_DECIMALS
    return [[round(miny, r), round(minx, r)], [round(maxy, r), round(maxx, r)]]


class _RefCollector(HTMLParser):
    _URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "background"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value and name in self._URL_ATTRS:
                self.refs.append(value.strip())
            elif value and name == "style":
                self.refs.extend(_css_urls(value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.refs.extend(_css_urls(data))


def _css_urls(css: str) -> list[str]:
    urls = [m.group(2).strip() for m in re.finditer(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", css)]
    urls += [m.group(2) for m in re.finditer(r"""@import\s+(['"])([^'"]+)\1""", css)]
    return urls


def external_references(document: str) -> list[str]:
    """URLs in an HTML document's markup that the browser would fetch or follow.

    Looks at ``src``/``href``-like attributes and at CSS ``url(...)``/``@import`` in
    ``<style>`` blocks and ``style`` attributes; returns those that are not ``data:``,
    fragment (``#...``) or relative-to-nothing references, i.e. anything with a scheme
    or ``//`` host. Text inside scripts (e.g. Leaflet's licence comment) is not markup
    and is not reported.
    """
    parser = _RefCollector()
    parser.feed(document)
    parser.close()
    return [
        ref
        for ref in parser.refs
        if not ref.startswith(("data:", "#"))
        and (re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ref) or ref.startswith("//"))
    ]


def save_offline(m: folium.Map, path: str | PathLike[str]) -> Path:
    """Write ``m`` as one self-contained HTML file (UTF-8) that works from ``file://``.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`park_map` (possibly with more core-Leaflet elements added).
    path : str or path-like
        Where to write; parent directories are created.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If the document would load or link anything from outside the file (for
        instance a folium plugin that pulls its script from a CDN); nothing is written.
    """
    document = m.get_root().render()
    external = external_references(document)
    if external:
        raise ValueError(
            "map is not self-contained; it references: " + ", ".join(sorted(set(external)))
        )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    return out
