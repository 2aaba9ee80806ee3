"""Files inlined into every map document: vendored Leaflet and parkplan's own JS and CSS.

Leaflet (``parkplan/static/leaflet``, the version folium expects) is inlined with the
images its CSS references rewritten to ``data:`` URIs, so a map opens from ``file://``
with no network at all. ``parkplan/static/maps`` holds the map's helper script and styles.
"""

from __future__ import annotations

import base64
import functools
import re
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["leaflet_css", "leaflet_js", "map_css", "map_js", "static"]


def static(*parts: str) -> Traversable:
    """Return a file under ``parkplan/static`` (e.g. ``static("leaflet", "leaflet.js")``)."""
    return resources.files("parkplan").joinpath("static", *parts)


@functools.cache
def leaflet_js() -> str:
    """Return Leaflet's script."""
    return static("leaflet", "leaflet.js").read_text(encoding="utf-8")


@functools.cache
def leaflet_css() -> str:
    """Return Leaflet's CSS with its ``url(images/...)`` references inlined as data URIs."""

    def inline(match: re.Match[str]) -> str:
        ref = match.group(2)
        if not ref.startswith("images/"):  # e.g. url(#default#VML) for old IE
            return match.group(0)
        data = static("leaflet", ref).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    css = static("leaflet", "leaflet.css").read_text(encoding="utf-8")
    return re.sub(r"""url\((['"]?)([^'")]+)\1\)""", inline, css)


@functools.cache
def map_js() -> str:
    """Return the helpers that build the map's layers in the browser (``parkplan.js``)."""
    return static("maps", "parkplan.js").read_text(encoding="utf-8")


@functools.cache
def map_css() -> str:
    """Return the map's own styles (``parkplan.css``)."""
    return static("maps", "parkplan.css").read_text(encoding="utf-8")
