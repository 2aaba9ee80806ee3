"""Web basemaps under the park map: OpenStreetMap, Tianditu (天地图) and AMap (高德).

A basemap makes the browser fetch tiles over the network, by choice; without one the
district outlines are the base and the map is fully offline. AMap's tiles are drawn in
GCJ-02, so with that basemap every layer is shifted to GCJ-02 as it is drawn.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import folium

from parkplan.i18n import t
from parkplan.maps.text import Text

__all__ = ["BASEMAPS", "TIANDITU_KEY_ENV", "Basemap", "resolve_basemap", "tile_layers"]

#: Environment variable holding the Tianditu (天地图) key when none is passed.
TIANDITU_KEY_ENV = "PARKPLAN_TIANDITU_KEY"


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

#: The basemaps :func:`parkplan.maps.park_map` knows, by name.
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


def resolve_basemap(
    name: str | Basemap | folium.TileLayer | None,
) -> Basemap | folium.TileLayer | None:
    """Return the basemap ``name`` means (a key or alias of :data:`BASEMAPS`), or ``None``.

    Raises
    ------
    ValueError
        For a name that is no basemap.
    """
    if name is None or isinstance(name, (Basemap, folium.TileLayer)):
        return name
    key = str(name).strip().lower()
    if key in ("", "none"):
        return None
    key = _BASEMAP_ALIASES.get(key, key)
    if key not in BASEMAPS:
        raise ValueError(
            t("map.error.unknown_basemap", "en", name=repr(name), choices=", ".join(BASEMAPS))
        )
    return BASEMAPS[key]


def tile_layers(spec: Basemap, key: str | None, language: str) -> list[folium.TileLayer]:
    """Return the tile layers of ``spec``, bottom first, attributed in ``language`` order.

    Raises
    ------
    ValueError
        If the basemap needs a key and none is given (nor in ``$PARKPLAN_TIANDITU_KEY``),
        or the key is malformed.
    """
    if spec.needs_key:
        key = key or os.environ.get(TIANDITU_KEY_ENV)
        if not key:
            raise ValueError(t("map.error.needs_key", "en", name=spec.name, env=TIANDITU_KEY_ENV))
        if not re.fullmatch(r"[A-Za-z0-9]{8,64}", key):
            raise ValueError(t("map.error.bad_key", "en", name=spec.name))
    attribution = Text(language).html(spec.attribution)
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
