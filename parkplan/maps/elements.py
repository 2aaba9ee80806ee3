"""branca elements of the park map: the offline page, panes, data layers, legend, overlay."""

from __future__ import annotations

import json
from typing import Any

from branca.element import Element, Figure
from folium.template import Template
from markupsafe import Markup

from parkplan.i18n import both
from parkplan.maps import assets
from parkplan.maps.text import snippets
from parkplan.templating import render

__all__ = ["DataLayer", "Legend", "MapSetup", "OfflineFigure", "Overlay", "js_json"]


def js_json(obj: Any) -> str:
    """JSON for a ``<script>`` block: UTF-8 kept (compact Chinese), ``</`` neutralised."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("</", "<\\/")
        .replace("<!--", "<\\!--")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class _Script(Element):
    """An element that adds its rendered ``_template`` to the page's script."""

    def render(self, **kwargs: Any) -> None:
        self.get_root().script.add_child(
            Element(self._template.render(this=self, kwargs=kwargs)), name=self.get_name()
        )


class OfflineFigure(Figure):
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
        head = render(
            "parkplan.maps",
            "head.html.j2",
            leaflet_css=Markup(assets.leaflet_css()),
            leaflet_js=Markup(assets.leaflet_js()),
            map_css=Markup(assets.map_css()),
            map_js=Markup(assets.map_js()),
        )
        self.header.add_child(Element(head), name="parkplan_assets")


class MapSetup(_Script):
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


class DataLayer(_Script):
    """Adds data to its parent FeatureGroup via a helper (``parkplanLayer`` or ``…Points``).

    Parameters
    ----------
    data : dict
        The layer's payload (GeoJSON, or columns for ``parkplanPoints``).
    options : dict
        Pane, style and radius options of the helper.
    helper : {"parkplanLayer", "parkplanPoints"}
        The function of ``parkplan/static/maps/parkplan.js`` that draws it.
    """

    _template = Template(
        "{{ this.helper }}({{ this._parent.get_name() }}, "
        "{{ this.data_json }}, {{ this.options_json }});"
    )

    def __init__(self, data: dict, options: dict, helper: str = "parkplanLayer"):
        super().__init__()
        self._name = "DataLayer"
        self.data = data
        self.options = options
        self.helper = helper

    @property
    def data_json(self) -> str:
        """The payload as script-safe JSON."""
        return js_json(self.data)

    @property
    def options_json(self) -> str:
        """The options as script-safe JSON."""
        return js_json(self.options)


class Legend(_Script):
    """Legend as a Leaflet control (bottom left); ``rows`` are HTML fragments."""

    _template = Template(
        """
        (function () { var c = L.control({position: 'bottomleft'});
          c.onAdd = function () { var d = L.DomUtil.create('div', 'pp-legend');
            d.innerHTML = {{ this.html_json }};
            L.DomEvent.disableClickPropagation(d); return d; };
          c.addTo({{ this._parent.get_name() }}); })();
        """
    )

    def __init__(self, rows: list[Markup]):
        super().__init__()
        self._name = "Legend"
        self.rows = rows

    @property
    def html_json(self) -> str:
        """The legend's rows as one script-safe JSON string."""
        return js_json(str(Markup("<br>").join(self.rows)))


class Overlay(Element):
    """Title and the illustrative-data banner, centred at the top of the page."""

    def __init__(self, title: str | None, banner: bool):
        super().__init__()
        self._name = "Overlay"
        self.title = title
        self.banner = banner

    def render(self, **kwargs: Any) -> None:
        """Add the overlay to the page's body (nothing when there is neither)."""
        if self.title or self.banner:
            banner = both("illustrative_banner") if self.banner else ""
            self.get_root().html.add_child(
                Element(str(snippets().overlay(self.title or "", banner))),
                name=self.get_name(),
            )
