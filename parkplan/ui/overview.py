"""The leaders' overview: the nine tasks as tiles beside the park map.

Each tile shows the task's rating and trend, its next milestone, open escalations and
major matters awaiting report; its button opens the task's board. The map draws the
adopted siting plan when there is one, on the basemap the user picks (none by default). A
button downloads the one-page leader brief (:func:`parkplan.services.briefs.write_brief`) as
the user sees it; the PDF is rendered in the server's executor, off the event loop, so
other sessions carry on meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from pathlib import Path

import panel as pn
import param

from parkplan.services.maps import adopted_run
from parkplan.ui import render
from parkplan.ui.common import BasemapPicker, NoticeBar, html_pane, session_map
from parkplan.ui.mapview import MapCache, iframe
from parkplan.ui.state import Session

log = logging.getLogger("parkplan.ui")


def brief_writer():
    """Return :func:`parkplan.services.briefs.write_brief`, or ``None`` where it is missing."""
    try:
        from parkplan.services.briefs import write_brief
    except ImportError:
        return None
    return write_brief


def brief_bytes(workspace, user: str | None, as_of) -> bytes:
    """Write the leader brief as ``user`` sees the programme on ``as_of``; return the PDF."""
    write = brief_writer()
    with tempfile.TemporaryDirectory() as tmp:
        path = write(workspace, Path(tmp) / "brief.pdf", user=user, as_of=as_of)
        return Path(path).read_bytes()


class Overview(pn.viewable.Viewer):
    """Nine task tiles and the park map."""

    session = param.ClassSelector(class_=Session)
    maps = param.ClassSelector(class_=MapCache)

    def __init__(self, **params):
        super().__init__(**params)
        if self.maps is None:
            self.maps = self.session.services.maps()
        self._title = pn.pane.Markdown("")
        self._brief = pn.widgets.FileDownload(
            callback=self._brief_pdf,
            filename="brief.pdf",
            width=260,
            css_classes=["pp-brief"],
            visible=brief_writer() is not None,
        )
        self._grid = pn.GridBox(ncols=3, sizing_mode="stretch_width")
        self._map_title = pn.pane.Markdown("")
        self._plan_note = html_pane(css_classes=["pp-overview-plan"])
        self._map = html_pane(
            height=640, width=560, sizing_mode="fixed", css_classes=["pp-overview-map"]
        )
        self._layout = pn.Row(
            pn.Column(
                pn.Row(self._title, self._brief),
                NoticeBar(session=self.session),
                self._grid,
                sizing_mode="stretch_width",
            ),
            pn.Column(
                self._map_title,
                BasemapPicker(session=self.session),
                self._plan_note,
                self._map,
                width=560,
            ),
            sizing_mode="stretch_width",
        )
        self.session.param.watch(self._render, ["revision", "lang"])
        self.session.param.watch(lambda _e: self._render_map(), ["basemap"])
        self._map_key = None
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
        for summary in render.task_summaries(
            prog.statuses, prog.milestones, prog.escalations, prog.matters, s.lang
        ):
            button = pn.widgets.Button(
                name=s.t("ui.overview.open", code=summary.code),
                button_type="primary",
                button_style="outline",
                sizing_mode="stretch_width",
            )
            button.on_click(lambda _e, n=summary.number: s.open_task(n))
            tiles.append(
                pn.Column(
                    html_pane(object=render.task_tile(summary, s.lang)),
                    button,
                    sizing_mode="stretch_width",
                )
            )
        self._grid.objects = tiles
        self._map_title.object = f"#### {s.t('ui.overview.map')}"
        self._render_map()

    async def _brief_pdf(self) -> io.BytesIO | None:
        """Write the one-page leader brief as the user sees the programme (in the executor).

        A failure is logged and said in the notice; nothing is downloaded then.
        """
        if brief_writer() is None:
            return None
        s = self.session
        user = None if s.user.name == "anonymous" else s.user.name
        self._brief.disabled = True
        try:
            future = s.services.executor.submit(brief_bytes, s.workspace, user, s.as_of)
            data = await asyncio.wrap_future(future)
        except Exception as err:  # noqa: BLE001 - the boundary: log it, tell the user
            log.exception("leader brief for %s failed", s.user.name)
            s.notice_kind = "danger"
            s.notice = f"{s.t('ui.overview.brief_failed')} {type(err).__name__}: {err}"
            return None
        finally:
            self._brief.disabled = False
        return io.BytesIO(data)

    def _render_map(self) -> None:
        s = self.session
        run = adopted_run(s.workspace)
        if run is None:
            self._plan_note.object = render.note(s.t("ui.overview.no_plan"))
        else:
            plan = f"{run.scenario_name} · {run.run_id}"
            self._plan_note.object = render.note(s.t("ui.overview.plan", plan=plan))
        doc = session_map(s, self.maps, run_id=run.run_id if run else None)
        key = (s.lang, id(doc))
        if self._map_key != key:
            self._map.object = iframe(doc, height=600, name="overview-map")
            self._map_key = key


__all__ = ["Overview", "brief_bytes"]
