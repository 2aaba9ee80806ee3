"""Writing a map as one self-contained file, and checking that it is one."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from os import PathLike
from pathlib import Path

import folium

from parkplan.i18n import t

__all__ = ["external_references", "save_offline"]


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
        A map from :func:`parkplan.maps.park_map` (possibly with more core-Leaflet elements added).
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
        refs = ", ".join(sorted(set(external)))
        raise ValueError(t("map.error.not_offline", "en", refs=refs))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    return out
