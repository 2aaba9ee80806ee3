"""The park map's feature groups, one per layer, with escaped popups and tooltips.

Point layers travel as columns, not as GeoJSON features: coordinates in two arrays,
popup cells escaped once in Python and dictionary-encoded when values repeat (parks,
years, units), popup and tooltip HTML assembled in the browser (``parkplanPoints`` in
``parkplan/static/maps/parkplan.js``). Polygons, labels and badges travel as GeoJSON
whose properties carry finished fragments (``parkplanLayer``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
from folium.map import FeatureGroup
from markupsafe import Markup

from parkplan.layers import SPACE_CLASSES, TIERS, code_label
from parkplan.maps.elements import DataLayer
from parkplan.maps.geometry import column, features, geometry, points_xy, simplify_districts
from parkplan.maps.plan import Plan, percent, utilisation_class
from parkplan.maps.style import (
    COLOURS,
    DISTRICT_FILL,
    UNUSED_FILL,
    UNUSED_LINE,
    UTILISATION_COLOURS,
    UTILISATION_LINE,
)
from parkplan.maps.text import (
    MISSING,
    SQM,
    Text,
    codes,
    esc,
    escape,
    is_missing,
    num,
    snippets,
    year,
)

__all__ = [
    "allocation_group",
    "cluster_group",
    "district_group",
    "institution_group",
    "name_index",
    "park_group",
    "plan_text",
    "point_payload",
    "site_group",
]


def name_index(recs: list[dict], key: str, t: Text) -> dict[str, Markup]:
    """``{str(record[key]): "中文名 / English name"}`` (escaped) for lookups in popups."""
    return {str(r[key]): t.name_inline(r) for r in recs if not is_missing(r.get(key))}


def _lookup(index: Mapping[str, Markup], key: Any) -> Markup:
    return Markup(MISSING) if is_missing(key) else index.get(str(key), escape(str(key)))


def _group(name: str, *layers: DataLayer) -> FeatureGroup:
    fg = FeatureGroup(name=name)
    for layer in layers:
        fg.add_child(layer)
    return fg


def district_group(
    gdf: gpd.GeoDataFrame, recs: list[dict], name: str, t: Text, fill_opacity: float = 0.25
) -> FeatureGroup:
    """Return district outlines (simplified) with their names as labels inside them."""
    style = {
        "color": COLOURS["districts"],
        "weight": 1,
        "opacity": 0.8,
        "fillColor": DISTRICT_FILL,
        "fillOpacity": fill_opacity,
    }
    outlines = features(
        gdf, [{"t": t.name_inline(r)} for r in recs], simplify_districts(gdf.geometry)
    )
    # District names as text on the map, at a point guaranteed inside each polygon.
    labels = [{"l": snippets().district_label(*t.names(r))} for r in recs]
    points = list(gdf.geometry.representative_point())
    return _group(
        name,
        DataLayer(outlines, {"pane": "ppDistricts", "style": style}),
        DataLayer(features(gdf, labels, points), {"labelPane": "ppLabels"}),
    )


def park_group(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    name: str,
    t: Text,
    district_names: Mapping[str, Markup],
) -> FeatureGroup:
    """Return park outlines with a popup naming the park and its district."""
    props = []
    for r in recs:
        rows = [
            (t.html("map.field.park_id"), esc(r.get("park_id"))),
            (t.html("map.field.district"), _lookup(district_names, r.get("district_adcode"))),
        ]
        props.append({"p": snippets().popup(*t.names(r), rows), "t": t.name_inline(r)})
    style = {"color": COLOURS["parks"], "weight": 2, "fillOpacity": 0.2}
    return _group(name, DataLayer(features(gdf, props), {"pane": "ppParks", "style": style}))


def point_payload(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    t: Text,
    heads: list[str],
    cells: list[list[str]],
    *,
    klass: list[int] | None = None,
    radius: list[float] | None = None,
) -> dict:
    """Columns for ``parkplanPoints``: coordinates, names, popup cells (all escaped)."""
    x, y = points_xy(gdf)
    names = [t.names(r) for r in recs]
    columns = [[n[0] for n in names], [n[1] for n in names]]
    columns += [list(col) for col in zip(*cells, strict=True)] if cells else []
    payload: dict[str, Any] = {
        "x": x,
        "y": y,
        "h": [t.html(k) for k in heads],
        "c": [column(col) for col in columns],
    }
    if klass is not None:
        payload["k"] = column(klass)
    if radius is not None:
        payload["r"] = column(radius)
    return payload


_SITE_HEADS = [
    "map.field.site_id",
    "map.field.park",
    "map.field.available_from",
    "map.field.fitout_cost",
    *(f"map.field.{c}" for c in SPACE_CLASSES),
]
_PLAN_HEADS = ["map.field.utilisation", "map.field.space_used", "map.field.placed"]


def _point_style(colour: str) -> dict:
    return {"color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.9}


def _utilisation_styles() -> list[dict]:
    unused = {"color": UNUSED_LINE, "weight": 1.5, "fillColor": UNUSED_FILL, "fillOpacity": 0.9}
    return [
        unused,
        *(dict(_point_style(c), color=UTILISATION_LINE, weight=1) for c in UTILISATION_COLOURS),
    ]


def _plan_cells(u: pd.Series, k: int, not_used: Markup) -> list[Markup]:
    """Return a site's utilisation, space used of capacity and organisations placed."""
    capacity = num(u["capacity_m2"], SQM)
    if k == 0:
        return [not_used, Markup("0 / ") + capacity, Markup("0")]
    return [
        escape(percent(u["utilisation"])),
        num(u["used_m2"]) + " / " + capacity,
        Markup(int(u["placed"])),
    ]


def site_group(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    name: str,
    t: Text,
    park_names: Mapping[str, Markup],
    util: pd.DataFrame | None,
) -> FeatureGroup:
    """Return the sites; with ``util`` (a plan's use) coloured by utilisation class."""
    cost_unit = " " + t.label("map.unit.cost", " (") + ")"
    cells = [
        [
            esc(r.get("site_id")),
            _lookup(park_names, r.get("park_id")),
            year(r.get("available_from")),
            num(r.get("fitout_cost"), cost_unit),
            *(num(r.get(col), SQM) for col in SPACE_CLASSES),
        ]
        for r in recs
    ]
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
            row[2:2] = _plan_cells(u, k, not_used)
    payload = point_payload(gdf, recs, t, heads, cells, klass=klass)
    options = {"pane": "ppSites", "radius": 7, "style": _point_style(COLOURS["sites"])}
    if klass is not None:
        options["styles"] = _utilisation_styles()
    return _group(name, DataLayer(payload, options, helper="parkplanPoints"))


def _tier(code: Any, t: Text) -> tuple[Markup | str, str | None]:
    """Return a tier's label (first, second language), or the raw code and ``None``."""
    if str(code) not in TIERS:
        return esc(code), None
    return t.ordered(code_label("tier", str(code), "zh"), code_label("tier", str(code), "en"))


def _placed_row(cand: Mapping, when: int, t: Text) -> dict:
    first, second = t.names(cand)
    tier_first, tier_second = _tier(cand.get("tier"), t)
    need = sum(float(cand[k]) for k in SPACE_CLASSES if not is_missing(cand.get(k)))
    return {
        "first": first,
        "second": second,
        "tier_first": tier_first,
        "tier_second": tier_second,
        "year": when,
        "need": num(need, SQM),
    }


def allocation_group(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    name: str,
    t: Text,
    plan: Plan,
    candidates: pd.DataFrame,
) -> FeatureGroup:
    """Return a layer of badges, one per site the plan uses, listing who is placed there."""
    cands = {str(r["cand_id"]): r for r in candidates.to_dict("records")}
    by_site: dict[str, list[tuple[int, str]]] = {}
    for c, s, when in plan.allocation:
        if c in cands:
            by_site.setdefault(s, []).append((when, c))
    heads = [
        t.stacked(k)
        for k in (
            "map.field.organisation",
            "map.field.tier",
            "map.field.move_in",
            "map.field.space_need",
        )
    ]
    plan_line = plan_text(t, plan) if plan.label() else ""
    feats = []
    for r, geom in zip(recs, gdf.geometry, strict=True):
        placed = sorted(by_site.get(str(r.get("site_id")), []))
        if not placed:
            continue
        rows = [_placed_row(cands[c], when, t) for when, c in placed]
        count = t.label("map.note.organisations", " · ", n=len(placed))
        props = {
            "b": snippets().badge(len(placed)),
            "t": t.name_inline(r) + ": " + count,
            "p": snippets().allocation_popup(*t.names(r), plan_line, heads, rows),
        }
        feats.append({"type": "Feature", "geometry": geometry(geom), "properties": props})
    layer = DataLayer(
        {"type": "FeatureCollection", "features": feats}, {"pane": "ppBadges", "popupWidth": 460}
    )
    return _group(name, layer)


def plan_text(t: Text, plan: Plan) -> str:
    """Return ``"方案 Plan: <plan label>"`` (plain text; templates escape it)."""
    return f"{t.label('map.legend.plan')}: {plan.label(t.language)}"


def _point_group(
    gdf: gpd.GeoDataFrame,
    recs: list[dict],
    name: str,
    t: Text,
    cells_of: Callable[[Mapping], list[Markup]],
    heads: list[str],
    style: dict,
    options: dict,
    radii: list[float] | None = None,
) -> FeatureGroup:
    payload = point_payload(gdf, recs, t, heads, [cells_of(r) for r in recs], radius=radii)
    return _group(name, DataLayer(payload, dict(options, style=style), helper="parkplanPoints"))


def institution_group(gdf: gpd.GeoDataFrame, recs: list[dict], name: str, t: Text) -> FeatureGroup:
    """Return the existing TIC institutions: type, sectors, accreditation, headcount."""

    def cells(r: Mapping) -> list[Markup]:
        return [
            esc(r.get("inst_type")),
            codes(r.get("sectors")),
            codes(r.get("accreditation")),
            num(r.get("headcount")),
        ]

    heads = [
        "map.field.inst_type",
        "map.field.sectors",
        "map.field.accreditation",
        "map.field.headcount",
    ]
    style = _point_style(COLOURS["institutions"])
    return _point_group(gdf, recs, name, t, cells, heads, style, {"pane": "ppPoints", "radius": 6})


def cluster_radii(recs: list[dict]) -> list[float] | None:
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


def cluster_group(gdf: gpd.GeoDataFrame, recs: list[dict], name: str, t: Text) -> FeatureGroup:
    """Return the industry clusters, sized by weight (area ∝ weight)."""

    def cells(r: Mapping) -> list[Markup]:
        return [esc(r.get("sector")), esc(r.get("weight"))]

    style = dict(_point_style(COLOURS["clusters"]), fillOpacity=0.6)
    return _point_group(
        gdf,
        recs,
        name,
        t,
        cells,
        ["map.field.sector", "map.field.weight"],
        style,
        {"pane": "ppClusters", "radius": 8},
        radii=cluster_radii(recs),
    )
