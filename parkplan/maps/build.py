"""Building the park map: :func:`park_map` puts the layers, a plan and a legend together."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from folium.map import FitBounds, LayerControl
from markupsafe import Markup

from parkplan import crs as pp_crs
from parkplan.i18n import t
from parkplan.maps.basemaps import Basemap, resolve_basemap, tile_layers
from parkplan.maps.elements import Legend, MapSetup, OfflineFigure, Overlay
from parkplan.maps.geometry import bounds, is_illustrative, prepare, records
from parkplan.maps.groups import (
    allocation_group,
    cluster_group,
    district_group,
    institution_group,
    name_index,
    park_group,
    plan_text,
    site_group,
)
from parkplan.maps.plan import Plan, as_plan, bin_labels, site_utilisation
from parkplan.maps.style import (
    CANVAS_MIN_POINTS,
    COLOURS,
    DATA_KEYS,
    DISTRICT_FILL,
    FIT_MAX_ZOOM,
    LAYER_KEYS,
    SHANGHAI_CENTRE,
    UNUSED_FILL,
    UNUSED_LINE,
    UTILISATION_COLOURS,
    UTILISATION_LINE,
)
from parkplan.maps.text import Text, snippets

__all__ = ["park_map"]


@dataclass
class _Drawing:
    """What the layers are drawn from and onto, and the legend rows they add."""

    m: folium.Map
    t: Text
    data: dict[str, gpd.GeoDataFrame | None]
    candidates: pd.DataFrame | None
    plan: Plan | None
    util: pd.DataFrame | None
    on_tiles: bool
    legend: list[Markup] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = {k: self.t.label(f"map.layer.{k}") for k in (*LAYER_KEYS, "allocations")}
        self.recs = {k: records(g) for k, g in self.data.items() if g is not None}


def _districts(d: _Drawing, gdf: gpd.GeoDataFrame) -> None:
    fill = 0.06 if d.on_tiles else 0.25  # faint over a basemap, so its streets show
    d.m.add_child(district_group(gdf, d.recs["districts"], d.names["districts"], d.t, fill))
    d.legend.append(snippets().swatch(COLOURS["districts"], DISTRICT_FILL, d.names["districts"]))


def _parks(d: _Drawing, gdf: gpd.GeoDataFrame) -> None:
    districts = name_index(d.recs.get("districts", []), "adcode", d.t)
    d.m.add_child(park_group(gdf, d.recs["parks"], d.names["parks"], d.t, districts))
    d.legend.append(snippets().swatch(COLOURS["parks"], COLOURS["parks"], d.names["parks"]))


def _utilisation_legend(t: Text, plan: Plan) -> Markup:
    s = snippets()
    rows = [s.head(t.label("map.legend.utilisation"))]
    if plan.label():
        rows.append(s.note(plan_text(t, plan)))
    rows += [
        s.dot(c, lab, UTILISATION_LINE)
        for c, lab in zip(UTILISATION_COLOURS, bin_labels(), strict=True)
    ]
    rows.append(s.dot(UNUSED_FILL, t.label("map.legend.not_used"), UNUSED_LINE))
    return Markup("<br>").join(rows)


def _sites(d: _Drawing, gdf: gpd.GeoDataFrame) -> None:
    parks = name_index(d.recs.get("parks", []), "park_id", d.t)
    d.m.add_child(site_group(gdf, d.recs["sites"], d.names["sites"], d.t, parks, d.util))
    if d.util is None or d.plan is None:
        d.legend.append(snippets().dot(COLOURS["sites"], d.names["sites"]))
        return
    d.legend.append(_utilisation_legend(d.t, d.plan))
    if (d.util["placed"] > 0).any():
        name = d.names["allocations"]
        d.m.add_child(allocation_group(gdf, d.recs["sites"], name, d.t, d.plan, d.candidates))
        d.legend.append(snippets().badge_key(name))


def _institutions(d: _Drawing, gdf: gpd.GeoDataFrame) -> None:
    name = d.names["institutions"]
    d.m.add_child(institution_group(gdf, d.recs["institutions"], name, d.t))
    d.legend.append(snippets().dot(COLOURS["institutions"], name))


def _clusters(d: _Drawing, gdf: gpd.GeoDataFrame) -> None:
    name = d.names["clusters"]
    d.m.add_child(cluster_group(gdf, d.recs["clusters"], name, d.t))
    note = snippets().note("(" + d.t.label("map.note.cluster_size", ", ") + ")")
    d.legend.append(snippets().dot(COLOURS["clusters"], name) + " " + note)


_DRAW = {
    "districts": _districts,
    "parks": _parks,
    "sites": _sites,
    "institutions": _institutions,
    "clusters": _clusters,
}


def _base_map(title: str | None, tiles: list[folium.TileLayer], prefer_canvas: bool) -> folium.Map:
    m = folium.Map(
        location=SHANGHAI_CENTRE,
        zoom_start=9,
        tiles=None,
        font_size="14px",
        prefer_canvas=prefer_canvas,
    )
    # Leaflet's own zoom limits (folium's min_zoom/max_zoom only reach tile layers).
    m.options.update(min_zoom=3, max_zoom=19)
    # Offline: no CDN links for this map (instance attributes, so folium's shared
    # class-level lists are left alone); Leaflet comes inlined with OfflineFigure.
    m.default_js = []
    m.default_css = []
    OfflineFigure(title=title).add_child(m)
    m.add_child(MapSetup(), name="parkplan_setup")
    for tile in tiles:
        tile.control = False
        m.add_child(tile)
    return m


def _tiles(
    spec: Basemap | folium.TileLayer | None, key: str | None, language: str
) -> list[folium.TileLayer]:
    if isinstance(spec, Basemap):
        return tile_layers(spec, key, language)
    return [spec] if spec is not None else []


def _check_arguments(layers: Mapping[str, Any], language: str) -> None:
    if language not in ("zh", "en"):
        raise ValueError(t("map.error.language", "en", value=repr(language)))
    unknown = sorted(set(layers) - set(LAYER_KEYS) - set(DATA_KEYS))
    if unknown:
        warnings.warn(
            t("map.warn.unknown_layers", "en", unknown=unknown, known=list(LAYER_KEYS)),
            stacklevel=3,
        )


def _utilisation(
    data: Mapping[str, gpd.GeoDataFrame | None], candidates: Any, plan: Plan | None
) -> pd.DataFrame | None:
    if plan is None or data["sites"] is None:
        return None
    if candidates is None:
        raise ValueError(t("map.error.needs_candidates", "en"))
    return site_utilisation(data["sites"], candidates, plan.allocation)


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
        A siting plan (e.g. :func:`parkplan.services.maps.load_plan`; dicts with those
        keys are accepted too). Sites are coloured by the share of their space the plan uses
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
    _check_arguments(layers, language)
    spec = resolve_basemap(basemap)
    tiles = _tiles(spec, tianditu_key, language)
    data = {key: prepare(layers.get(key)) for key in LAYER_KEYS}
    if isinstance(spec, Basemap) and spec.crs == "gcj02":
        data = {k: None if g is None else pp_crs.from_wgs84(g, "gcj02") for k, g in data.items()}
    plan = as_plan(plan)
    util = _utilisation(data, layers.get("candidates"), plan)
    drawn = [gdf for gdf in data.values() if gdf is not None]
    if canvas is None:
        n_points = sum(
            len(data[k]) for k in ("sites", "institutions", "clusters") if data[k] is not None
        )
        canvas = n_points >= CANVAS_MIN_POINTS
    m = _base_map(title, tiles, bool(canvas))
    d = _Drawing(m, Text(language), data, layers.get("candidates"), plan, util, bool(tiles))
    for key, draw in _DRAW.items():
        if (gdf := data[key]) is not None:
            draw(d, gdf)
    if d.legend:
        m.add_child(Legend(d.legend), name="parkplan_legend")
    m.add_child(Overlay(title, any(is_illustrative(g) for g in drawn)), name="parkplan_overlay")
    if drawn:
        m.add_child(LayerControl(collapsed=False), name="parkplan_layers")
        m.add_child(FitBounds(bounds(drawn), max_zoom=FIT_MAX_ZOOM, padding=(20, 20)))
    return m
