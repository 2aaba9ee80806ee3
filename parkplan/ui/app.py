"""The app: a shell (header, menu, language switch) around the four pages, in a template.

:func:`create_app` builds one user's page for ``panel serve`` /
:func:`parkplan.web.server.serve`; the views are created when first shown. ``apps/app.py``
only calls it.
"""

from __future__ import annotations

import panel as pn
import param

from parkplan.i18n import LANGUAGES, both, t
from parkplan.identity.users import Role
from parkplan.tracker.model import TASK_CODES
from parkplan.ui import render
from parkplan.ui.board import TaskBoard
from parkplan.ui.common import html_pane
from parkplan.ui.desk import Desk
from parkplan.ui.mapview import MapCache
from parkplan.ui.overview import Overview
from parkplan.ui.state import Services, Session
from parkplan.ui.studio import ScenarioStudio


def language_names() -> dict[str, str]:
    """Each language by its own name (catalogue ``ui.lang.*``), for the switch."""
    return {lang: t(f"ui.lang.{lang}", lang) for lang in LANGUAGES}


class AppShell(pn.viewable.Viewer):
    """Header, menu, language and date controls, and the page the session shows."""

    session = param.ClassSelector(class_=Session)
    maps = param.ClassSelector(class_=MapCache, allow_None=True)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.session
        self._views: dict[str, pn.viewable.Viewable] = {}
        self._title = html_pane(css_classes=["pp-title"])
        self._who = html_pane(css_classes=["pp-who"])
        self._banner = html_pane(css_classes=["pp-banner"])
        self._nav = pn.widgets.RadioButtonGroup(
            orientation="vertical",
            button_type="primary",
            button_style="outline",
            sizing_mode="stretch_width",
            css_classes=["pp-nav"],
        )
        self._lang = pn.widgets.RadioButtonGroup(
            options={v: k for k, v in language_names().items()},
            value=s.lang,
            css_classes=["pp-lang"],
        )
        self._as_of = pn.widgets.DatePicker(value=s.as_of, width=200)
        self._reload = pn.widgets.Button(width=200)
        self._reload.on_click(lambda _e: s.reload())
        self._nav.param.watch(self._navigate, "value")
        self._lang.param.watch(lambda e: setattr(s, "lang", e.new), "value")
        self._as_of.param.watch(self._date, "value")
        self._error = pn.pane.Alert("", alert_type="danger", visible=bool(s.error))
        self._main = pn.Column(sizing_mode="stretch_width")
        self.sidebar = pn.Column(
            self._who, self._nav, self._lang, self._as_of, self._reload, sizing_mode="stretch_width"
        )
        self.header = pn.Row(self._title, sizing_mode="stretch_width")
        self.main = pn.Column(self._error, self._banner, self._main, sizing_mode="stretch_width")
        s.param.watch(self._relabel, ["lang"])
        s.param.watch(self._show, ["page"])
        self._relabel()
        self._show()

    def __panel__(self):
        return pn.Row(self.sidebar, self.main, sizing_mode="stretch_width")

    # ------------------------------------------------------------- pages
    def view(self, page: str) -> pn.viewable.Viewable:
        """Return the view of ``page``, made when first asked for."""
        if page not in self._views:
            s = self.session
            if page == "overview":
                self._views[page] = Overview(session=s, maps=self.maps)
            elif page == "board":
                self._views[page] = TaskBoard(session=s)
            elif page == "desk":
                self._views[page] = Desk(session=s)
            elif page == "studio" and s.can_run_scenarios:
                self._views[page] = ScenarioStudio(session=s, maps=self.maps)
            else:
                raise KeyError(page)
        return self._views[page]

    def _navigate(self, event) -> None:
        if event.new and event.new != self.session.page:
            self.session.notice = ""
            self.session.page = event.new

    def _show(self, *_) -> None:
        page = self.session.page
        if page not in self.session.pages():
            page = self.session.page = "overview"
        self._main.objects = [self.view(page)]
        if self._nav.value != page:
            self._nav.value = page

    def _date(self, event) -> None:
        if event.new is not None:
            self.session.as_of = event.new

    def _relabel(self, *_) -> None:
        s = self.session
        u = s.user
        self._title.object = render.page("app_title.html.j2", title=s.t("app_title"))
        self._nav.options = {s.t(f"ui.page.{p}"): p for p in s.pages()}
        self._nav.value = s.page
        role = s.t(f"ui.role.{u.role.value}")
        if u.role == Role.task_owner:
            role += " " + "、".join(TASK_CODES[n] for n in u.tasks)
        self._who.object = render.page(
            "user.html.j2",
            name=u.name,
            display_name=u.display_name or u.name,
            role=role,
            clearance_label=s.t("ui.clearance"),
            clearance=s.t("ui.vis." + u.clearance.value),
            logout=s.t("ui.logout"),
        )
        fixed = s.services.fixed_clock
        self._banner.object = render.page(
            "banners.html.j2",
            fixed_clock=s.t("ui.clock_fixed", at=f"{fixed:%Y-%m-%d %H:%M}") if fixed else "",
            illustrative=s.t("illustrative_banner") if s.workspace.get_meta("illustrative") else "",
        )
        self._as_of.name = s.t("ui.as_of")
        self._reload.name = s.t("ui.reload")
        self._error.object = render.esc(s.error or "")


def create_app(
    services: Services, user: str | None, *, lang: str = "zh", maps: MapCache | None = None
) -> pn.template.BootstrapTemplate:
    """Build one user's app page in a template (all assets served by the app itself).

    Parameters
    ----------
    services : Services
    user : str or None
        The signed-in user (a tracker user name); ``None`` reads anonymously.
    lang : {"zh", "en"}
    maps : MapCache, optional
        Shared map documents; default a new cache for this page.
    """
    pn.extension("tabulator")  # the board's table is made later, when first shown
    session = Session(services, user, lang=lang if lang in ("zh", "en") else "zh")
    maps = maps or services.maps()
    shell = AppShell(session=session, maps=maps)
    # the header's title is the shell's (it follows the language switch); the browser
    # tab's title names the app in both languages
    template = pn.template.BootstrapTemplate(
        title="", header_background="#1f3b5c", sidebar_width=260, collapsed_sidebar=False
    )
    template.header.append(shell.header)
    template.sidebar.append(shell.sidebar)
    template.main.append(shell.main)
    template.shell = shell  # for tests and the entry point
    if pn.state.curdoc is not None:
        pn.state.curdoc.title = both("app_title")
    return template


__all__ = ["AppShell", "create_app", "language_names"]
