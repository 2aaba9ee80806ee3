"""Small pieces shared by the views: the notice bar and styled HTML panes."""

from __future__ import annotations

import panel as pn
import param

from parkplan.ui.render import CSS
from parkplan.ui.state import Session


class NoticeBar(pn.viewable.Viewer):
    """The session's last notice (a saved change, or why the library refused one)."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, **params):
        super().__init__(**params)
        self._alert = pn.pane.Alert("", alert_type="info", visible=False,
                                    sizing_mode="stretch_width", css_classes=["pp-notice"])
        self.session.param.watch(self._show, ["notice", "notice_kind"])
        self._show()

    def _show(self, *_):
        s = self.session
        self._alert.object = s.notice_html()
        self._alert.alert_type = s.notice_kind
        self._alert.visible = bool(s.notice)

    def __panel__(self):
        return self._alert


def html_pane(object: str = "", **kwargs) -> pn.pane.HTML:  # noqa: A002 (Panel's name)
    """Return an HTML pane for markup built by :mod:`parkplan.ui.render` (already escaped)."""
    kwargs.setdefault("sizing_mode", "stretch_width")
    # Panel renders each pane in its own shadow root: the styles go with the pane
    return pn.pane.HTML(object, stylesheets=[CSS], **kwargs)
