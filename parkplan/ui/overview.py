"""The leaders' overview: the nine tasks as tiles beside the park map.

Each tile shows the task's rating and trend, its next milestone, open escalations and
major matters awaiting report; its button opens the task's board. A button downloads the
one-page leader brief (:func:`parkplan.reports.brief.write_brief`) as the user sees it.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import panel as pn
import param

from parkplan.ui import render
from parkplan.ui.common import html_pane
from parkplan.ui.mapview import MapCache, iframe
from parkplan.ui.state import Session


def brief_writer():
    """Return :func:`parkplan.reports.brief.write_brief`, or ``None`` where it is missing."""
    try:
        from parkplan.reports.brief import write_brief
    except ImportError:
        return None
    return write_brief


class Overview(pn.viewable.Viewer):
    """Nine task tiles and the park map."""

    session = param.ClassSelector(class_=Session)
    maps = param.ClassSelector(class_=MapCache)

    def __init__(self, **params):
        super().__init__(**params)
        if self.maps is None:
            self.maps = self.session.services.maps()
        self._title = pn.pane.Markdown("")
        self._brief = pn.widgets.FileDownload(callback=self._brief_pdf, filename="brief.pdf",
                                              width=260, css_classes=["pp-brief"],
                                              visible=brief_writer() is not None)
        self._grid = pn.GridBox(ncols=3, sizing_mode="stretch_width")
        self._map_title = pn.pane.Markdown("")
        self._map = html_pane(height=640, width=560, sizing_mode="fixed",
                              css_classes=["pp-overview-map"])
        self._layout = pn.Row(
            pn.Column(pn.Row(self._title, self._brief), self._grid,
                      sizing_mode="stretch_width"),
            pn.Column(self._map_title, self._map, width=560),
            sizing_mode="stretch_width")
        self.session.param.watch(self._render, ["revision", "lang"])
        self._map_lang = None
        self._render()

    def __panel__(self):
        return self._layout

    def _render(self, *_):
        s = self.session
        prog = s.programme
        self._title.object = f"## {s.t('ui.overview.title')} · {s.as_of.isoformat()}"
        self._brief.label = s.t("ui.overview.brief")
        self._brief.filename = f"brief-{s.as_of.isoformat()}.pdf"
        tiles = []
        for summary in render.task_summaries(prog.statuses, prog.milestones, prog.escalations,
                                             prog.matters, s.lang):
            button = pn.widgets.Button(name=s.t("ui.overview.open", code=summary.code),
                                       button_type="primary", button_style="outline",
                                       sizing_mode="stretch_width")
            button.on_click(lambda _e, n=summary.number: s.open_task(n))
            tiles.append(pn.Column(html_pane(object=render.task_tile(summary, s.lang)),
                                   button, sizing_mode="stretch_width"))
        self._grid.objects = tiles
        self._map_title.object = f"#### {s.t('ui.overview.map')}"
        self._render_map()

    def _brief_pdf(self) -> io.BytesIO | None:
        """Write the one-page leader brief as the user sees the programme."""
        write = brief_writer()
        if write is None:
            return None
        s = self.session
        with tempfile.TemporaryDirectory() as tmp:
            path = write(s.workspace, Path(tmp) / "brief.pdf",
                         user=None if s.user.name == "anonymous" else s.user.name,
                         as_of=s.as_of)
            return io.BytesIO(Path(path).read_bytes())

    def _render_map(self) -> None:
        s = self.session
        doc = self.maps.document(s.lang)
        if self._map_lang != (s.lang, id(doc)):
            self._map.object = iframe(doc, height=620, name="overview-map")
            self._map_lang = (s.lang, id(doc))


__all__ = ["Overview"]
