"""Park maps in the app: :func:`parkplan.maps.park_map` documents, embedded as iframes.

The map is the library's offline document (Leaflet inlined, no CDN), put in an
``<iframe srcdoc=…>`` so its scripts run apart from the app's. A siting plan is drawn by
the library too (``park_map(..., plan=load_plan(workspace, run_id))``, the plan read by
:mod:`parkplan.services.maps`): sites coloured
by utilisation, a badge per site listing who is placed there.

No basemap is drawn by default (the district outlines are the base; nothing is fetched).
A session may choose OpenStreetMap, Tianditu (when ``$PARKPLAN_TIANDITU_KEY`` holds a key)
or AMap: the library draws the tiles and, for AMap's GCJ-02 tiles only, shifts every
layer to GCJ-02 as it draws it (``park_map(basemap=...)``). Web tiles come from the
internet, not from the app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import geopandas as gpd

from parkplan import maps
from parkplan.i18n import t
from parkplan.services.maps import load_plan, workspace_layers
from parkplan.store import Workspace
from parkplan.ui.render import page


def available_basemaps() -> list[str]:
    """Return the basemaps offered: none, OSM, Tianditu when a key is configured, AMap."""
    out = ["none", "osm"]
    if os.environ.get(maps.TIANDITU_KEY_ENV, "").strip():
        out.append("tianditu")
    out.append("amap")
    return out


def map_document(
    layers: Mapping[str, gpd.GeoDataFrame],
    lang: str,
    *,
    plan: maps.Plan | None = None,
    title: str | None = None,
    basemap: str | None = None,
) -> str:
    """Render the park map, with a plan if given, to one self-contained HTML document.

    A plan colours sites by utilisation and badges each site with who is placed there.
    ``basemap`` (``"osm"``, ``"tianditu"``, ``"amap"``; default none) draws web tiles
    under the data: the document stays self-contained, the tiles come from the internet.

    Raises
    ------
    ValueError
        If the document would reference anything outside itself, or the basemap is
        unknown or lacks its key.
    """
    m = maps.park_map(
        dict(layers),
        title=title,
        language=lang,
        plan=plan,
        basemap=None if basemap in (None, "none") else basemap,
    )
    document = m.get_root().render()
    external = maps.external_references(document)
    if external:
        refs = ", ".join(sorted(set(external)))
        raise ValueError(t("map.error.not_offline", "en", refs=refs))
    return document


def iframe(document: str, *, height: int = 560, name: str = "park-map") -> str:
    """Embed a map document as ``<iframe srcdoc>`` (attribute-escaped)."""
    return page("iframe.html.j2", name=name, document=document, height=height)


class MapCache:
    """Rendered map documents of one workspace, by language and plan, reused by sessions.

    A document is re-rendered when the workspace's ``layers_changed_at`` changes (an
    import, or a milestone moving a site's availability).
    """

    def __init__(self, workspace: Workspace, size: int = 16):
        self.workspace = workspace
        self.size = size
        self._docs: dict[tuple, str] = {}

    def _stamp(self) -> str:
        return str(self.workspace.get_meta("layers_changed_at") or "")

    def document(
        self,
        lang: str,
        *,
        run_id: str | None = None,
        title: str | None = None,
        basemap: str | None = None,
    ) -> str:
        """Return the map in ``lang``, with stored run ``run_id``'s plan, on ``basemap``.

        Made once per language, plan, title, basemap and ``layers_changed_at``.
        """
        basemap = None if basemap in (None, "none") else basemap
        key = (lang, run_id, title, basemap, self._stamp())
        doc = self._docs.get(key)
        if doc is None:
            plan = load_plan(self.workspace, run_id) if run_id else None
            doc = map_document(
                workspace_layers(self.workspace, candidates=plan is not None),
                lang,
                plan=plan,
                title=title,
                basemap=basemap,
            )
            if len(self._docs) >= self.size:
                self._docs.pop(next(iter(self._docs)))
            self._docs[key] = doc
        return doc


__all__ = [
    "MapCache",
    "available_basemaps",
    "iframe",
    "map_document",
]
