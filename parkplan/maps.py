"""Offline, bilingual park maps for leaders' briefings.

:func:`park_map` turns the planning layers (districts, parks, sites, institutions and
industry clusters) and, optionally, a siting plan into a :class:`folium.Map`;
:func:`save_offline` writes it as one self-contained HTML file that opens from
``file://`` with no network at all.

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

Basemaps and GCJ-02
-------------------
``basemap="osm"``, ``"tianditu"`` (天地图, needs a key) or ``"amap"`` (高德) draws web
tiles under the layers; the browser then fetches tiles over the network, by choice.
AMap's tiles are drawn in GCJ-02, the obfuscated system Chinese web maps must use, which
is offset from WGS-84 by several hundred metres in Shanghai; with that basemap every
layer is shifted to GCJ-02 (:func:`parkplan.crs.from_wgs84`) as it is drawn, so that
sites sit on the buildings of the basemap. OpenStreetMap and Tianditu (CGCS2000, within
centimetres of WGS-84) and the default vector base take the stored WGS-84 unchanged.

Large layers
------------
Point layers travel as columns, not as GeoJSON features: coordinates in two arrays
rounded to 1e-6 degree, popup cells HTML-escaped once in Python and dictionary-encoded
when values repeat (parks, years, units), popup and tooltip HTML assembled in the
browser. Above :data:`CANVAS_MIN_POINTS` points the map draws its vectors on Leaflet's
canvas renderer instead of one SVG element per feature. ``benchmarks/maps.py`` measures
10,000 sites against :meth:`geopandas.GeoDataFrame.explore`; the figures are in
``docs/decisions/0007-maps.md``.

Text safety
-----------
Every value taken from the data is HTML-escaped before it reaches a popup, tooltip or
label, so a name such as ``<script>...`` is shown as text. Labels come from the
translation catalogue (``parkplan/i18n/maps.yaml``).
"""

from __future__ import annotations

import base64
import bisect
import functools
import html
import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure
from folium.map import FeatureGroup, FitBounds, LayerControl
from folium.template import Template

from parkplan import crs as pp_crs
from parkplan.i18n import both
from parkplan.i18n import t as label
from parkplan.layers import SPACE_CLASSES, TIERS

if TYPE_CHECKING:
    from parkplan.store import Workspace
    from parkplan.store.ledger import RunRecord

__all__ = [
    "BASEMAPS",
    "CANVAS_MIN_POINTS",
    "LAYER_KEYS",
    "UTILISATION_BINS",
    "UTILISATION_COLOURS",
    "Basemap",
    "Plan",
    "external_references",
    "load_plan",
    "park_map",
    "save_offline",
    "site_utilisation",
    "utilisation_class",
]

#: Layer keys :func:`park_map` draws, bottom to top in this order.
LAYER_KEYS = ("districts", "parks", "sites", "institutions", "clusters")
#: Layer keys :func:`park_map` reads but does not draw (a plan's space needs).
DATA_KEYS = ("candidates",)

#: Coordinates are written with this many decimals: 1e-6 degree is about 0.1 m,
#: far below anything a park map shows, and it keeps the HTML small.
COORD_DECIMALS = 6

#: Display tolerance for district outlines, in degrees (about 50 m at Shanghai's
#: latitude). District boundaries come from survey data with a vertex every few
#: metres, which would make the HTML megabytes big; at the zooms districts are read
#: at (city to district, zoom 9-13, 20-150 m per pixel) a 50 m deviation is at most a
#: pixel or two. Parks and points are never simplified.
DISTRICT_SIMPLIFY_TOLERANCE = 0.0005

#: With more points than this (all point layers together) vectors are drawn on a
#: canvas: one SVG element per feature makes panning and zooming sluggish from a few
#: thousand features on, while the canvas redraws 10,000 circles within a frame or two.
#: Smaller maps keep SVG (crisp when printed, one DOM element per feature for tests).
CANVAS_MIN_POINTS = 1000

#: Utilisation classes: upper edges of the first four classes (share of a site's
#: floor space the plan's organisations take); the fifth is 90 % and more.
UTILISATION_BINS = (0.25, 0.50, 0.75, 0.90)
#: Fill colours of the utilisation classes, light to dark (ColorBrewer Oranges).
UTILISATION_COLOURS = ("#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603")
#: Fill and outline of a site the plan does not use.
UNUSED_FILL, UNUSED_LINE = "#ffffff", "#8c8c8c"

#: Where the map opens when there is no data at all (People's Square, Shanghai).
SHANGHAI_CENTRE = (31.2304, 121.4737)

#: Environment variable holding the Tianditu (天地图) key when none is passed.
TIANDITU_KEY_ENV = "PARKPLAN_TIANDITU_KEY"

_FIT_MAX_ZOOM = 15
_COLOURS = {
    "districts": "#6b6b6b",
    "parks": "#1f78b4",
    "sites": "#e6550d",
    "institutions": "#6a51a3",
    "clusters": "#31a354",
    "allocations": "#08306b",
}
_FONT_STACK = (
    '"Helvetica Neue", Arial, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif'
)
_MISSING = "—"
_DISTRICT_FILL = "#d9d4c7"
_SQM = " m²"


# --------------------------------------------------------------------------- basemaps


@dataclass(frozen=True)
class Basemap:
    """A web basemap: tile URL templates, attribution and the coordinates it is drawn in.

    Parameters
    ----------
    name : str
        Key in :data:`BASEMAPS`.
    tiles : tuple of str
        Leaflet URL templates, bottom first (Tianditu: streets, then annotations).
        ``{key}`` is replaced by the access key.
    attribution : str
        Catalogue key of the attribution text.
    crs : {"wgs84", "gcj02"}
        The coordinates the tiles are drawn in; ``"gcj02"`` shifts every layer.
    subdomains : str
        Values of ``{s}``.
    max_zoom : int
        Deepest zoom the tiles exist for.
    needs_key : bool
        Whether the tiles need an access key.
    """

    name: str
    tiles: tuple[str, ...]
    attribution: str
    crs: str = "wgs84"
    subdomains: str = "abc"
    max_zoom: int = 18
    needs_key: bool = False


_TIANDITU = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}"
    "&TILEROW={{y}}&TILECOL={{x}}&tk={{key}}"
)

#: The basemaps :func:`park_map` knows, by name.
BASEMAPS: dict[str, Basemap] = {
    "osm": Basemap(
        "osm", ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",), "map.basemap.osm", max_zoom=19
    ),
    "tianditu": Basemap(
        "tianditu",
        (_TIANDITU.format(layer="vec"), _TIANDITU.format(layer="cva")),
        "map.basemap.tianditu",
        subdomains="01234567",
        needs_key=True,
    ),
    "amap": Basemap(
        "amap",
        (
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1"
            "&scale=1&style=8&x={x}&y={y}&z={z}",
        ),
        "map.basemap.amap",
        crs="gcj02",
        subdomains="1234",
    ),
}
_BASEMAP_ALIASES = {"openstreetmap": "osm", "gaode": "amap", "tdt": "tianditu"}


def _basemap(name: str | Basemap | folium.TileLayer | None) -> Basemap | folium.TileLayer | None:
    if name is None or isinstance(name, (Basemap, folium.TileLayer)):
        return name
    key = str(name).strip().lower()
    if key in ("", "none"):
        return None
    key = _BASEMAP_ALIASES.get(key, key)
    if key not in BASEMAPS:
        raise ValueError(f"unknown basemap {name!r}; choose none, " + ", ".join(BASEMAPS))
    return BASEMAPS[key]


def _tile_layers(spec: Basemap, key: str | None, language: str) -> list[folium.TileLayer]:
    if spec.needs_key:
        key = key or os.environ.get(TIANDITU_KEY_ENV)
        if not key:
            raise ValueError(
                f"the {spec.name} basemap needs an access key: pass it or set {TIANDITU_KEY_ENV}"
            )
        if not re.fullmatch(r"[A-Za-z0-9]{8,64}", key):
            raise ValueError(f"{spec.name} key must be 8-64 letters and digits")
    attribution = html.escape(_Text(language).label(spec.attribution))
    return [
        folium.TileLayer(
            tiles=url.replace("{key}", key or ""),
            attr=attribution,
            name=spec.name,
            max_zoom=spec.max_zoom,
            max_native_zoom=spec.max_zoom,
            subdomains=spec.subdomains,
            overlay=i > 0,
            control=False,
        )
        for i, url in enumerate(spec.tiles)
    ]


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Plan:
    """A siting plan to draw: who goes to which site in which year.

    Parameters
    ----------
    allocation : tuple of (cand_id, site_id, year)
    name : str
        Scenario name, shown in the legend.
    run_id : str, optional
        Ledger id of the run it comes from.
    adopted : bool
        Whether it is the adopted plan.
    """

    allocation: tuple[tuple[str, str, int], ...]
    name: str = ""
    run_id: str | None = None
    adopted: bool = False

    @classmethod
    def from_run(cls, run: RunRecord) -> Plan:
        """Return the plan of a stored siting run (:mod:`parkplan.store.ledger`)."""
        alloc = tuple(
            (str(a["cand_id"]), str(a["site_id"]), int(a["year"]))
            for a in run.result.get("allocation", [])
        )
        return cls(alloc, run.scenario_name, run.run_id, bool(run.adopted))

    def label(self, language: str = "zh", *, bilingual: bool = True) -> str:
        """Return name, run id and state, e.g. ``"baseline · 2026… (已采纳 adopted)"``.

        ``language`` comes first; with ``bilingual=False`` the state is in it alone.
        """
        text = " · ".join(p for p in (self.name, self.run_id) if p)
        if not self.run_id:  # not from the ledger: neither adopted nor latest
            return text
        key = "map.plan.adopted" if self.adopted else "map.plan.latest"
        state = _Text(language).label(key) if bilingual else label(key, language)
        return f"{text} ({state})"


def load_plan(workspace: Workspace, run_id: str | None = None) -> Plan | None:
    """Return the plan of a stored run: ``run_id``, else the adopted one, else the latest.

    Parameters
    ----------
    workspace : Workspace
    run_id : str, optional
        A run id, a unique prefix of one, or a scenario name (:func:`ledger.get_run`).

    Returns
    -------
    Plan or None
        ``None`` when no ``run_id`` is given and no stored run has a plan.

    Raises
    ------
    parkplan.errors.ParkplanError
        If ``run_id`` matches no run, or the run has no plan (e.g. it was infeasible).
    """
    from parkplan.errors import ParkplanError
    from parkplan.store import ledger

    if run_id is not None:
        run = ledger.get_run(workspace, run_id)
        if run.status not in ("optimal", "feasible"):
            raise ParkplanError(f"run {run.run_id} has no plan (status {run.status})")
        return Plan.from_run(run)
    runs = [r for r in ledger.list_runs(workspace) if r.status in ("optimal", "feasible")]
    adopted = [r for r in runs if r.adopted]
    chosen = adopted[0] if adopted else runs[0] if runs else None
    return Plan.from_run(chosen) if chosen is not None else None


def _numeric(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        values = frame[col] if col in frame.columns else pd.Series(np.nan, index=frame.index)
        out[col] = pd.to_numeric(values, errors="coerce").fillna(0.0).astype(float)
    return out


def site_utilisation(
    sites: pd.DataFrame, candidates: pd.DataFrame, allocation: Iterable[tuple[str, str, int]]
) -> pd.DataFrame:
    """Share of each site's floor space a plan uses, by the end of the horizon.

    Occupancy is cumulative (who moved in stays), so the plan's year does not matter:
    a site's use is the sum of the space needs of every organisation placed there.

    Parameters
    ----------
    sites : DataFrame
        ``site_id`` and the capacity columns (:data:`parkplan.layers.SPACE_CLASSES`).
    candidates : DataFrame
        ``cand_id`` and the need columns.
    allocation : iterable of (cand_id, site_id, year)

    Returns
    -------
    DataFrame
        Indexed by ``site_id`` (every site, in order): ``placed`` (organisations),
        ``used_<class>`` per space class, ``used_m2``, ``capacity_m2`` and
        ``utilisation`` (``used_m2 / capacity_m2``; NaN for a site without space).

    Warns
    -----
    UserWarning
        For allocations naming a site or candidate the layers lack (a run stored before
        the layers changed); they are left out.
    """
    alloc = pd.DataFrame(
        [tuple(a)[:3] for a in allocation], columns=["cand_id", "site_id", "year"]
    ).astype({"cand_id": str, "site_id": str})
    cap = _numeric(sites.set_axis(sites["site_id"].astype(str)), SPACE_CLASSES)
    need = _numeric(candidates.set_axis(candidates["cand_id"].astype(str)), SPACE_CLASSES)
    known = alloc["cand_id"].isin(need.index) & alloc["site_id"].isin(cap.index)
    if not known.all():
        missing = alloc.loc[~known, ["cand_id", "site_id"]].astype(str).agg("→".join, axis=1)
        warnings.warn(
            f"plan allocations left out, site or candidate not in the layers: "
            f"{', '.join(missing.head(5))}" + (" …" if len(missing) > 5 else ""),
            stacklevel=2,
        )
        alloc = alloc[known]
    used = need.loc[alloc["cand_id"]].set_axis(alloc["site_id"]).groupby(level=0).sum()
    used = used.reindex(cap.index, fill_value=0.0)
    out = pd.DataFrame(
        {"placed": alloc.groupby("site_id").size().reindex(cap.index, fill_value=0).astype(int)},
        index=cap.index,
    )
    for cls in SPACE_CLASSES:
        out[f"used_{cls}"] = used[cls]
    out["used_m2"] = used.sum(axis=1)
    out["capacity_m2"] = cap.sum(axis=1)
    out["utilisation"] = out["used_m2"] / out["capacity_m2"].where(out["capacity_m2"] > 0)
    out.index.name = "site_id"
    return out


def utilisation_class(utilisation: float | None, placed: int = 1) -> int:
    """Colour class of a site: 0 when the plan does not use it, else 1-5 (see the bins)."""
    if (
        not placed
        or utilisation is None
        or (isinstance(utilisation, float) and math.isnan(utilisation))
    ):
        return 0
    return 1 + bisect.bisect_right(UTILISATION_BINS, float(utilisation))


def _percent(x: float) -> str:
    return f"{x * 100:.0f}%"


def _bin_labels() -> list[str]:
    edges = (0.0, *UTILISATION_BINS)
    labels = [
        f"{_percent(lo)}–{_percent(hi)}" for lo, hi in zip(edges, UTILISATION_BINS, strict=False)
    ]
    return [*labels, f"≥ {_percent(UTILISATION_BINS[-1])}"]


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


# Shared by all layers. parkplanLayer builds Leaflet layers from a compact GeoJSON whose
# properties carry already-escaped HTML: p = popup, t = tooltip, l = label (DivIcon),
# b = badge (interactive DivIcon), r = radius. parkplanPoints builds circle markers from
# columns (see _point_payload): x/y coordinates, c = escaped cells (names first), h = the
# popup's row headings, e = extra popup HTML, k = style class, r = radius; a column is a
# list or, dictionary-encoded, {d: distinct values, i: index per point}.
_HELPER_JS = """
function parkplanLayer(group, data, o) {
  L.geoJSON(data, {
    pane: o.pane,
    style: function () { return o.style; },
    pointToLayer: function (f, ll) {
      var p = f.properties;
      if (p.l) {
        return L.marker(ll, {pane: o.labelPane, interactive: false, keyboard: false,
          icon: L.divIcon({className: 'pp-label', html: p.l, iconSize: null})});
      }
      if (p.b) {
        return L.marker(ll, {pane: o.pane, keyboard: false,
          icon: L.divIcon({className: 'pp-badge', html: p.b, iconSize: null})});
      }
      return L.circleMarker(ll, L.extend({pane: o.pane, radius: p.r || o.radius}, o.style));
    },
    onEachFeature: function (f, layer) {
      if (f.properties.p) { layer.bindPopup(f.properties.p, {maxWidth: o.popupWidth || 340}); }
      if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true}); }
    }
  }).addTo(group);
}
function ppCell(c, i) { return c.d ? c.d[c.i[i]] : c[i]; }
function parkplanPoints(group, d, o) {
  var n = d.x.length, c = d.c, h = d.h;
  for (var i = 0; i < n; i++) {
    var style = d.k ? o.styles[ppCell(d.k, i)] : o.style;
    var m = L.circleMarker([d.y[i], d.x[i]],
      L.extend({pane: o.pane, radius: d.r ? ppCell(d.r, i) : o.radius}, style));
    var first = ppCell(c[0], i), second = ppCell(c[1], i);
    var html = '<div class="pp-popup"><div class="pp-name">' + first + '</div>' +
      (second ? '<div class="pp-alt">' + second + '</div>' : '') + '<table>';
    for (var j = 0; j < h.length; j++) {
      html += '<tr><th>' + h[j] + '</th><td>' + ppCell(c[j + 2], i) + '</td></tr>';
    }
    m.bindPopup(html + '</table>' + (d.e ? ppCell(d.e, i) : '') + '</div>', {maxWidth: 340});
    m.bindTooltip(second ? first + ' / ' + second : first, {sticky: true});
    group.addLayer(m);
  }
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
.pp-badge {{ background: none; border: none; }}
.pp-badge div {{ transform: translate(3px, -125%); min-width: 8px; padding: 0 4px;
  background: {_COLOURS["allocations"]}; color: #fff; border: 1px solid #fff;
  border-radius: 8px; font-size: 11px; font-weight: bold; line-height: 14px;
  text-align: center; white-space: nowrap; box-shadow: 0 1px 2px rgba(0,0,0,.4); }}
.pp-popup {{ font-size: 13px; line-height: 1.5; }}
.pp-popup .pp-name {{ font-weight: bold; font-size: 14px; }}
.pp-popup .pp-alt {{ color: #555; }}
.pp-popup table {{ border-collapse: collapse; margin-top: 4px; }}
.pp-popup th {{ text-align: left; font-weight: normal; color: #555; padding: 0 8px 0 0; }}
.pp-popup td {{ text-align: right; }}
.pp-popup table.pp-list th {{ font-size: 12px; border-bottom: 1px solid #ccc;
  vertical-align: bottom; padding-right: 8px; }}
.pp-popup table.pp-list td {{ text-align: left; padding: 2px 8px 2px 0;
  border-bottom: 1px solid #eee; vertical-align: top; }}
.pp-popup table.pp-list td.pp-num {{ text-align: right; white-space: nowrap; }}
.pp-popup small {{ color: #555; }}
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
.pp-legend .pp-head {{ font-weight: bold; }}
.pp-legend .pp-badge-key {{ display: inline-block; padding: 0 4px; margin-right: 6px;
  background: {_COLOURS["allocations"]}; color: #fff; border-radius: 8px; font-size: 11px;
  font-weight: bold; line-height: 14px; }}
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
    panes = (
        ("ppDistricts", 350),
        ("ppParks", 400),
        ("ppLabels", 420),
        ("ppClusters", 440),
        ("ppPoints", 450),
        ("ppSites", 460),
        ("ppBadges", 620),
    )

    def render(self, **kwargs: Any) -> None:
        self.get_root().script.add_child(
            Element(self._template.render(this=self, kwargs=kwargs)), name=self.get_name()
        )


class _DataLayer(Element):
    """Adds data to its parent FeatureGroup via a helper (``parkplanLayer`` or ``…Points``)."""

    def __init__(self, data: dict, options: dict, helper: str = "parkplanLayer"):
        super().__init__()
        self._name = "DataLayer"
        self.data = data
        self.options = options
        self.helper = helper

    def render(self, **kwargs: Any) -> None:
        js = (
            f"{self.helper}({self._parent.get_name()}, "
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
            text = html.escape(both("illustrative_banner"))
            parts.append(f'<div class="pp-banner" role="note">{text}</div>')
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
    if gdf is None or len(gdf) == 0 or not isinstance(gdf, gpd.GeoDataFrame):
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
        self.language = language
        self.zh_first = language == "zh"

    def pair(self, zh: str, en: str, sep: str = " ") -> str:
        return f"{zh}{sep}{en}" if self.zh_first else f"{en}{sep}{zh}"

    def label(self, key: str, sep: str = " ", **values: Any) -> str:
        """Return a catalogue label in both languages (not escaped: the catalogue is trusted)."""
        return self.pair(label(key, "zh", **values), label(key, "en", **values), sep)

    def html(self, key: str, sep: str = " ", **values: Any) -> str:
        """Return a catalogue label in both languages, HTML-escaped."""
        return html.escape(self.label(key, sep, **values))

    def stacked(self, key: str) -> str:
        """Return a catalogue label as escaped HTML, the second language small below."""
        first, second = label(key, "zh"), label(key, "en")
        if not self.zh_first:
            first, second = second, first
        return f"{html.escape(first)}<br><small>{html.escape(second)}</small>"

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

    def table(self, rows: list[tuple[str, str]]) -> str:
        cells = "".join(f"<tr><th>{self.html(key)}</th><td>{v}</td></tr>" for key, v in rows)
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


def _column(values: list) -> list | dict:
    """Return a payload column, dictionary-encoded (``{d, i}``) when that is smaller."""
    distinct = dict.fromkeys(values)
    if len(distinct) * 2 > len(values):
        return values
    index = {v: i for i, v in enumerate(distinct)}
    return {"d": list(distinct), "i": [index[v] for v in values]}


def _records(gdf: gpd.GeoDataFrame) -> list[dict]:
    return gdf.drop(columns=gdf.geometry.name).to_dict("records")


def _is_illustrative(gdf: gpd.GeoDataFrame | None) -> bool:
    if gdf is None or "source" not in gdf.columns:
        return False
    src = gdf["source"].dropna().astype(str).str.lower()
    return bool((src.str.contains("illustrative") | src.str.contains("示意")).any())


# --------------------------------------------------------------------------- public


def park_map(
    layers: Mapping[str, pd.DataFrame | None],
    *,
    title: str | None = None,
    basemap: str | Basemap | folium.TileLayer | None = None,
    language: str = "zh",
    plan: Plan | Iterable[tuple[str, str, int] | Mapping[str, Any]] | None = None,
    tianditu_key: str | None = None,
    canvas: bool | None = None,
) -> folium.Map:
    """Draw districts, parks, sites, institutions, clusters and a plan on one offline map.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Any of ``"districts"``, ``"parks"``, ``"sites"``, ``"institutions"`` and
        ``"clusters"`` (see :data:`LAYER_KEYS`); a layer may be missing, ``None`` or
        empty. Frames in another CRS are reprojected to EPSG:4326; frames without a
        CRS are taken to be EPSG:4326. Missing attribute columns show as "—". With a
        ``plan``, also ``"candidates"`` (a plain frame: names, tiers, space needs).
    title : str, optional
        Shown at the top of the map and as the page title.
    basemap : {None, "osm", "tianditu", "amap"} or Basemap or folium.TileLayer, optional
        Web tiles under the data (see :data:`BASEMAPS`; ``"none"`` means ``None``). The
        default draws no tiles: the district outlines are the base and the map is fully
        offline. **A basemap fetches tiles over the network.** With ``"amap"`` (GCJ-02
        tiles) every layer is shifted to GCJ-02 as it is drawn; with the others the
        stored WGS-84 coordinates are drawn as they are. A :class:`folium.TileLayer` is
        taken to be in WGS-84.
    language : {"zh", "en"}, default "zh"
        Which language comes first in bilingual text; both are always shown.
    plan : Plan or iterable of (cand_id, site_id, year), optional
        A siting plan (e.g. :func:`load_plan`; dicts with those keys are accepted too).
        Sites are coloured by the share of their space the plan uses
        (:func:`site_utilisation`, classes :data:`UTILISATION_BINS`) and a layer of
        badges lists the organisations placed at each site.
    tianditu_key : str, optional
        Tianditu access key; default ``$PARKPLAN_TIANDITU_KEY``.
    canvas : bool, optional
        Draw vectors on a canvas instead of SVG; default: from :data:`CANVAS_MIN_POINTS`
        points on.

    Returns
    -------
    folium.Map
        Renders (``.save``, :func:`save_offline`, ``_repr_html_``) to one HTML document
        with Leaflet inlined and no external script, stylesheet, image or link.

    Raises
    ------
    ValueError
        If ``language`` is not ``"zh"`` or ``"en"``, the basemap is unknown, Tianditu
        has no key, or a plan comes without the ``candidates`` layer.

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
    unknown = sorted(set(layers) - set(LAYER_KEYS) - set(DATA_KEYS))
    if unknown:
        warnings.warn(
            f"park_map ignores unknown layer(s) {unknown}; known: {list(LAYER_KEYS)}",
            stacklevel=2,
        )
    t = _Text(language)
    spec = _basemap(basemap)
    if isinstance(spec, Basemap):
        tiles = _tile_layers(spec, tianditu_key, language)
    else:
        tiles = [spec] if spec is not None else []
    data = {key: _prepare(layers.get(key)) for key in LAYER_KEYS}
    if isinstance(spec, Basemap) and spec.crs == "gcj02":
        data = {k: None if g is None else pp_crs.from_wgs84(g, "gcj02") for k, g in data.items()}

    plan = _as_plan(plan)
    util = None
    if plan is not None and data["sites"] is not None:
        cands = layers.get("candidates")
        if cands is None:
            raise ValueError("a plan needs the 'candidates' layer (space needs and names)")
        util = site_utilisation(data["sites"], cands, plan.allocation)

    n_points = sum(
        len(data[k]) for k in ("sites", "institutions", "clusters") if data[k] is not None
    )
    m = folium.Map(
        location=SHANGHAI_CENTRE,
        zoom_start=9,
        tiles=None,
        font_size="14px",
        prefer_canvas=bool(n_points >= CANVAS_MIN_POINTS if canvas is None else canvas),
    )
    # Leaflet's own zoom limits (folium's min_zoom/max_zoom only reach tile layers).
    m.options.update(min_zoom=3, max_zoom=19)
    # Offline: no CDN links for this map (instance attributes, so folium's shared
    # class-level lists are left alone); Leaflet comes inlined with _OfflineFigure.
    m.default_js = []
    m.default_css = []
    _OfflineFigure(title=title).add_child(m)
    m.add_child(_MapSetup(), name="parkplan_setup")
    for tile in tiles:
        tile.control = False
        m.add_child(tile)

    names = {key: t.label(f"map.layer.{key}") for key in (*LAYER_KEYS, "allocations")}
    recs = {key: _records(gdf) for key, gdf in data.items() if gdf is not None}
    district_names = _name_index(recs.get("districts", []), "adcode", t)
    park_names = _name_index(recs.get("parks", []), "park_id", t)
    legend_rows: list[str] = []

    if (gdf := data["districts"]) is not None:
        m.add_child(
            _district_group(
                gdf,
                recs["districts"],
                names["districts"],
                t,
                fill_opacity=0.25 if not tiles else 0.06,
            )
        )
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
        m.add_child(_site_group(gdf, recs["sites"], names["sites"], t, park_names, util))
        if util is None:
            legend_rows.append(_dot(_COLOURS["sites"], names["sites"]))
        else:
            legend_rows.append(_utilisation_legend(t, plan))
            if (util["placed"] > 0).any():
                m.add_child(
                    _allocation_group(
                        gdf,
                        recs["sites"],
                        names["allocations"],
                        t,
                        plan,
                        util,
                        layers["candidates"],
                    )
                )
                legend_rows.append(f'<span class="pp-badge-key">n</span>{names["allocations"]}')
    if (gdf := data["institutions"]) is not None:
        m.add_child(
            _point_group(
                gdf,
                recs["institutions"],
                names["institutions"],
                t,
                _institution_cells,
                _COLOURS["institutions"],
                6,
                pane="ppPoints",
            )
        )
        legend_rows.append(_dot(_COLOURS["institutions"], names["institutions"]))
    if (gdf := data["clusters"]) is not None:
        m.add_child(
            _point_group(
                gdf,
                recs["clusters"],
                names["clusters"],
                t,
                _cluster_cells,
                _COLOURS["clusters"],
                8,
                radii=_cluster_radii(recs["clusters"]),
                pane="ppClusters",
                opacity=0.6,
            )
        )
        note = t.html("map.note.cluster_size", ", ")
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


def _as_plan(plan: Any) -> Plan | None:
    if plan is None or isinstance(plan, Plan):
        return plan
    rows = []
    for a in plan:
        if isinstance(a, Mapping):
            rows.append((str(a["cand_id"]), str(a["site_id"]), int(a["year"])))
        else:
            c, s, y = tuple(a)[:3]
            rows.append((str(c), str(s), int(y)))
    return Plan(tuple(rows))


# --------------------------------------------------------------------------- layers


def _name_index(recs: list[dict], key: str, t: _Text) -> dict[str, str]:
    """``{str(record[key]): "中文名 / English name"}`` (escaped) for lookups in popups."""
    return {str(r[key]): t.name_inline(r) for r in recs if not _is_missing(r.get(key))}


def _lookup(index: Mapping[str, str], key: Any) -> str:
    return _MISSING if _is_missing(key) else index.get(str(key), html.escape(str(key)))


def _popup(r: Mapping, t: _Text, rows: list[tuple[str, str]]) -> dict:
    return {
        "p": f'<div class="pp-popup">{t.header(r)}{t.table(rows)}</div>',
        "t": t.name_inline(r),
    }


def _district_group(
    gdf: gpd.GeoDataFrame, recs: list[dict], name: str, t: _Text, fill_opacity: float = 0.25
) -> FeatureGroup:
    style = {
        "color": _COLOURS["districts"],
        "weight": 1,
        "opacity": 0.8,
        "fillColor": _DISTRICT_FILL,
        "fillOpacity": fill_opacity,
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
            ("map.field.park_id", _esc(r.get("park_id"))),
            ("map.field.district", _lookup(district_names, r.get("district_adcode"))),
        ],
    )


def _points_xy(gdf: gpd.GeoDataFrame) -> tuple[list[float], list[float]]:
    geoms = gdf.geometry
    if not (geoms.geom_type == "Point").all():
        geoms = geoms.representative_point()
    x = np.round(shapely.get_x(geoms.to_numpy()), COORD_DECIMALS)
    y = np.round(shapely.get_y(geoms.to_numpy()), COORD_DECIMALS)
    return x.tolist(), y.tolist()


def _point_payload(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    t: _Text,
    heads: list[str],
    cells: list[list[str]],
    *,
    extra: list[str] | None = None,
    klass: list[int] | None = None,
    radius: list[float] | None = None,
) -> dict:
    """Columns for ``parkplanPoints``: coordinates, names, popup cells (all escaped)."""
    x, y = _points_xy(gdf)
    names = [t.names(r) for r in recs]
    columns = [[n[0] for n in names], [n[1] for n in names]]
    columns += [list(col) for col in zip(*cells, strict=True)] if cells else []
    payload: dict[str, Any] = {
        "x": x,
        "y": y,
        "h": [t.html(k) for k in heads],
        "c": [_column(col) for col in columns],
    }
    if extra is not None:
        payload["e"] = _column(extra)
    if klass is not None:
        payload["k"] = _column(klass)
    if radius is not None:
        payload["r"] = _column(radius)
    return payload


_SITE_HEADS = [
    "map.field.site_id",
    "map.field.park",
    "map.field.available_from",
    "map.field.fitout_cost",
    *(f"map.field.{c}" for c in SPACE_CLASSES),
]
_PLAN_HEADS = ["map.field.utilisation", "map.field.space_used", "map.field.placed"]


def _site_group(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    name: str,
    t: _Text,
    park_names: Mapping[str, str],
    util: pd.DataFrame | None,
) -> FeatureGroup:
    cost_unit = " " + t.html("map.unit.cost", " (") + ")"
    cells = []
    for r in recs:
        row = [
            _esc(r.get("site_id")),
            _lookup(park_names, r.get("park_id")),
            _year(r.get("available_from")),
            _num(r.get("fitout_cost"), cost_unit),
        ]
        row += [_num(r.get(col), _SQM) for col in SPACE_CLASSES]
        cells.append(row)
    heads = list(_SITE_HEADS)
    klass = None
    if util is not None:
        heads[2:2] = _PLAN_HEADS
        not_used = t.html("map.note.not_used")
        klass = []
        for r, row in zip(recs, cells, strict=True):
            u = util.loc[str(r.get("site_id"))]
            k = utilisation_class(u["utilisation"], int(u["placed"]))
            klass.append(k)
            if k == 0:
                plan_cells = [not_used, f"0 / {_num(u['capacity_m2'], _SQM)}", "0"]
            else:
                plan_cells = [
                    _percent(u["utilisation"]),
                    f"{_num(u['used_m2'])} / {_num(u['capacity_m2'], _SQM)}",
                    str(int(u["placed"])),
                ]
            row[2:2] = plan_cells
    payload = _point_payload(gdf, recs, t, heads, cells, klass=klass)
    options = {"pane": "ppSites", "radius": 7, "style": _point_style(_COLOURS["sites"])}
    if klass is not None:
        options["styles"] = _utilisation_styles()
    fg = FeatureGroup(name=name)
    fg.add_child(_DataLayer(payload, options, helper="parkplanPoints"))
    return fg


def _point_style(colour: str) -> dict:
    return {"color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.9}


def _utilisation_styles() -> list[dict]:
    unused = {"color": UNUSED_LINE, "weight": 1.5, "fillColor": UNUSED_FILL, "fillOpacity": 0.9}
    return [
        unused,
        *(dict(_point_style(c), color="#7f2704", weight=1) for c in UTILISATION_COLOURS),
    ]


def _allocation_group(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    name: str,
    t: _Text,
    plan: Plan,
    util: pd.DataFrame,
    candidates: pd.DataFrame,
) -> FeatureGroup:
    """Return a layer of badges, one per site the plan uses, listing who is placed there."""
    cands = {str(r["cand_id"]): r for r in candidates.to_dict("records")}
    by_site: dict[str, list[tuple[int, str]]] = {}
    for c, s, year in plan.allocation:
        if c in cands:
            by_site.setdefault(s, []).append((year, c))
    heads = "".join(
        f"<th>{t.stacked(k)}</th>"
        for k in (
            "map.field.organisation",
            "map.field.tier",
            "map.field.move_in",
            "map.field.space_need",
        )
    )
    plan_line = f"<small>{_plan_line(t, plan)}</small>" if plan.label() else ""
    features = []
    for r, geom in zip(recs, gdf.geometry, strict=True):
        placed = sorted(by_site.get(str(r.get("site_id")), []))
        if not placed:
            continue
        rows = []
        for year, c in placed:
            cr = cands[c]
            first, second = t.names(cr)
            tier = TIERS.get(str(cr.get("tier")))
            if tier:
                tier_first, tier_second = tier if t.zh_first else tier[::-1]
                tier_html = (
                    f"{html.escape(tier_first)}<br><small>{html.escape(tier_second)}</small>"
                )
            else:
                tier_html = _esc(cr.get("tier"))
            need = sum(float(cr[k]) for k in SPACE_CLASSES if not _is_missing(cr.get(k)))
            rows.append(
                f"<tr><td>{first}"
                + (f"<br><small>{second}</small>" if second else "")
                + f'</td><td>{tier_html}</td><td class="pp-num">{year}</td>'
                f'<td class="pp-num">{_num(need, _SQM)}</td></tr>'
            )
        count = t.html("map.note.organisations", " · ", n=len(placed))
        features.append(
            {
                "type": "Feature",
                "geometry": _geometry(geom),
                "properties": {
                    "b": f"<div>{len(placed)}</div>",
                    "t": f"{t.name_inline(r)}: {count}",
                    "p": (
                        f'<div class="pp-popup">{t.header(r)}{plan_line}'
                        f'<table class="pp-list"><tr>{heads}</tr>{"".join(rows)}</table></div>'
                    ),
                },
            }
        )
    fg = FeatureGroup(name=name)
    fg.add_child(
        _DataLayer(
            {"type": "FeatureCollection", "features": features},
            {"pane": "ppBadges", "popupWidth": 460},
        )
    )
    return fg


def _institution_cells(r: Mapping) -> list[str]:
    return [
        _esc(r.get("inst_type")),
        _codes(r.get("sectors")),
        _codes(r.get("accreditation")),
        _num(r.get("headcount")),
    ]


_institution_cells.heads = [
    "map.field.inst_type",
    "map.field.sectors",  # type: ignore[attr-defined]
    "map.field.accreditation",
    "map.field.headcount",
]


def _cluster_cells(r: Mapping) -> list[str]:
    return [_esc(r.get("sector")), _esc(r.get("weight"))]


_cluster_cells.heads = ["map.field.sector", "map.field.weight"]  # type: ignore[attr-defined]


def _cluster_radii(recs: list[dict]) -> list[float] | None:
    """Radius 5-14 px with area ∝ weight; ``None`` when no weight is usable."""
    weights = pd.to_numeric(
        pd.Series([r.get("weight") for r in recs], dtype=object), errors="coerce"
    )
    if not weights.notna().any() or not weights.max() > 0:
        return None
    wmax = weights.max()
    return [
        round(5 + 9 * math.sqrt(w / wmax), 1) if not math.isnan(w) and w > 0 else 8 for w in weights
    ]


def _point_group(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    name: str,
    t: _Text,
    cells_of: Any,
    colour: str,
    size: int,
    *,
    pane: str,
    radii: list[float] | None = None,
    opacity: float = 0.9,
) -> FeatureGroup:
    payload = _point_payload(
        gdf, recs, t, cells_of.heads, [cells_of(r) for r in recs], radius=radii
    )
    fg = FeatureGroup(name=name)
    style = dict(_point_style(colour), fillOpacity=opacity)
    fg.add_child(
        _DataLayer(payload, {"pane": pane, "radius": size, "style": style}, helper="parkplanPoints")
    )
    return fg


def _swatch(colour: str, fill: str, label_html: str) -> str:
    return f'<i style="border-color:{colour};background:{fill}40"></i>{label_html}'


def _dot(colour: str, label_html: str, line: str = "#fff") -> str:
    return f'<i class="pp-dot" style="border-color:{line};background:{colour}"></i>{label_html}'


def _plan_line(t: _Text, plan: Plan) -> str:
    return f"{t.html('map.legend.plan')}: {html.escape(plan.label(t.language))}"


def _utilisation_legend(t: _Text, plan: Plan) -> str:
    head = f'<span class="pp-head">{t.html("map.legend.utilisation")}</span>'
    rows = [head] + ([f"<small>{_plan_line(t, plan)}</small>"] if plan.label() else [])
    rows += [
        _dot(c, lab, "#7f2704") for c, lab in zip(UTILISATION_COLOURS, _bin_labels(), strict=True)
    ]
    rows.append(_dot(UNUSED_FILL, t.html("map.legend.not_used"), UNUSED_LINE))
    return "<br>".join(rows)


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
