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
Only core Leaflet is used: popups, tooltips and labels are bound by a small helper
(``parkplan/static/maps/parkplan.js``, inlined too), as folium's :class:`~folium.Popup`
needs jQuery and its GeoJSON popups/tooltips do not escape values. No basemap is drawn
by default: the district outlines are the base. Leaflet's attribution prefix is plain
text, so the map contains no links either.

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
label, so a name such as ``<script>...`` is shown as text; HTML fragments come from
Jinja2 templates (``parkplan/maps/templates``, autoescaped). Labels come from the
translation catalogue (``parkplan/i18n/maps.yaml``).

Modules
-------
:mod:`.build` (:func:`park_map`), :mod:`.groups` (one feature group per layer),
:mod:`.plan` (a plan and its site utilisation), :mod:`.basemaps`, :mod:`.elements`
(branca elements), :mod:`.assets` (inlined files), :mod:`.offline` (:func:`save_offline`),
:mod:`.geometry`, :mod:`.text` and :mod:`.style`. The maps take data: reading a
workspace is :mod:`parkplan.services.maps`.
"""

from __future__ import annotations

from parkplan.maps.basemaps import BASEMAPS, TIANDITU_KEY_ENV, Basemap
from parkplan.maps.build import park_map
from parkplan.maps.offline import external_references, save_offline
from parkplan.maps.plan import Plan, bin_labels, site_utilisation, utilisation_class
from parkplan.maps.style import (
    CANVAS_MIN_POINTS,
    COLOURS,
    LAYER_KEYS,
    UNUSED_FILL,
    UNUSED_LINE,
    UTILISATION_BINS,
    UTILISATION_COLOURS,
)

__all__ = [
    "BASEMAPS",
    "CANVAS_MIN_POINTS",
    "COLOURS",
    "LAYER_KEYS",
    "TIANDITU_KEY_ENV",
    "UNUSED_FILL",
    "UNUSED_LINE",
    "UTILISATION_BINS",
    "UTILISATION_COLOURS",
    "Basemap",
    "Plan",
    "bin_labels",
    "external_references",
    "park_map",
    "save_offline",
    "site_utilisation",
    "utilisation_class",
]
