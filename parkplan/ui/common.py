"""Small pieces shared by the views: the notice bar, the basemap picker, HTML panes."""

from __future__ import annotations

import panel as pn
import param

from parkplan.ui.mapview import available_basemaps
from parkplan.ui.render import stylesheet
from parkplan.ui.state import Session


class NoticeBar(pn.viewable.Viewer):
    """The session's last notice (a saved change, or why the library refused one)."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, **params):
        super().__init__(**params)
        self._alert = pn.pane.Alert(
            "",
            alert_type="info",
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["pp-notice"],
        )
        self.session.param.watch(self._show, ["notice", "notice_kind"])
        self._show()

    def _show(self, *_):
        s = self.session
        self._alert.object = s.notice_html()
        self._alert.alert_type = s.notice_kind
        self._alert.visible = bool(s.notice)

    def __panel__(self):
        return self._alert


class BasemapPicker(pn.viewable.Viewer):
    """Choose the park maps' basemap (the session's ``basemap``; none by default).

    Offers no basemap, OpenStreetMap, Tianditu when a key is configured, and AMap; the
    labels say which need the internet.
    """

    session = param.ClassSelector(class_=Session)

    def __init__(self, **params):
        super().__init__(**params)
        self._select = pn.widgets.Select(width=300, css_classes=["pp-basemap"])
        self._select.param.watch(self._picked, "value")
        self.session.param.watch(self._relabel, ["lang", "basemap"])
        self._relabel()

    def _picked(self, event) -> None:
        if event.new and event.new != self.session.basemap:
            self.session.basemap = event.new

    def _relabel(self, *_) -> None:
        s = self.session
        self._select.name = s.t("ui.basemap.label")
        self._select.options = {s.t(f"ui.basemap.{b}"): b for b in available_basemaps()}
        self._select.value = s.basemap if s.basemap in available_basemaps() else "none"

    def __panel__(self):
        return self._select


def session_map(session: Session, maps, **kwargs) -> str:
    """Return a :class:`~parkplan.ui.mapview.MapCache` document on the session's basemap.

    A basemap the library refuses (e.g. a malformed Tianditu key) falls back to none,
    with a notice saying why.
    """
    try:
        return maps.document(session.lang, basemap=session.basemap, **kwargs)
    except ValueError as err:
        if session.basemap == "none":
            raise
        session.notice_kind = "warning"
        session.notice = f"{session.t('ui.basemap.failed')} {err}"
        session.basemap = "none"
        return maps.document(session.lang, **kwargs)


def html_pane(object: str = "", **kwargs) -> pn.pane.HTML:  # noqa: A002 (Panel's name)
    """Return an HTML pane for markup built by :mod:`parkplan.ui.render` (already escaped)."""
    kwargs.setdefault("sizing_mode", "stretch_width")
    # Panel renders each pane in its own shadow root: the styles go with the pane
    return pn.pane.HTML(object, stylesheets=[stylesheet()], **kwargs)
