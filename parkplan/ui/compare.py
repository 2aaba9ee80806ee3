"""Two stored siting runs side by side: figures, net value by park, placements that differ."""

from __future__ import annotations

import panel as pn
import param
from markupsafe import Markup

from parkplan.errors import ParkplanError
from parkplan.i18n import t
from parkplan.services.planning import compare_runs
from parkplan.ui import render
from parkplan.ui.common import html_pane
from parkplan.ui.state import Session

__all__ = ["RunComparison", "comparison_html"]


def comparison_html(cmp: dict, lang: str) -> str:
    """Render the result of :func:`parkplan.services.planning.compare_runs` as three tables."""
    ra, rb = ({**r, "status": render.solver_status(r.get("status"), lang)} for r in cmp["runs"])
    rows = [
        {"field": t(f"ui.run.{k}", lang), "a": ra.get(k), "b": rb.get(k)}
        for k in ("run_id", "scenario", "status", "objective", "seconds")
    ]
    used_a, used_b = cmp["budget_used"]
    rows += [
        {"field": t(f"ui.compare.{k}", lang), "a": used_a[k], "b": used_b[k]}
        for k in ("subsidy", "fitout", "total")
    ]
    park_a, park_b = cmp["by_park"]
    park_rows = [
        {"park": p, "a": (park_a.get(p) or {}).get("net"), "b": (park_b.get(p) or {}).get("net")}
        for p in sorted(set(park_a) | set(park_b))
    ]
    moved = [p for p in cmp["placements"] if not p["same"]]
    a_b = [("a", t("ui.studio.compare_a", lang)), ("b", t("ui.studio.compare_b", lang))]
    who = [("cand_id", t("ui.alloc.cand_id", lang)), ("name_zh", t("ui.alloc.name", lang))]
    parts = [
        (None, render.table([("field", ""), *a_b], rows)),
        (t("ui.explain.by_park", lang), render.table([("park", ""), *a_b], park_rows)),
        (
            t("ui.compare.differs", lang, n=len(moved)),
            render.table([*who, *a_b], moved, empty=t("ui.compare.same", lang)),
        ),
    ]
    parts = [(heading, Markup(html)) for heading, html in parts]  # rendered here: safe
    return render.page("compare.html.j2", parts=parts)


class RunComparison(pn.viewable.Viewer):
    """Pick two stored runs (A, B) and compare them.

    The pair follows the two newest runs (A the older) until the user picks others; a
    picked run is kept for as long as it is stored.
    """

    session = param.ClassSelector(class_=Session)

    def __init__(self, **params):
        super().__init__(**params)
        self._cmp_a = pn.widgets.Select(width=380)
        self._cmp_b = pn.widgets.Select(width=380)
        self._compare = pn.widgets.Button(width=140)
        self._compare.on_click(lambda _e: self.render())
        self._defaults: tuple[str | None, str | None] = (None, None)
        self._comparison = html_pane()
        self._layout = pn.Column(
            pn.Row(self._cmp_a, self._cmp_b, self._compare),
            self._comparison,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._layout

    def offer(self, options: dict[str, str], ids: list[str]) -> None:
        """Offer the stored runs (``options``: label → id; ``ids`` newest first)."""
        chosen = (self._cmp_a.value, self._cmp_b.value)
        for sel in (self._cmp_a, self._cmp_b):
            sel.options = options
        if not ids:
            return
        defaults = (ids[min(1, len(ids) - 1)], ids[0])
        if chosen == self._defaults:  # the user has not picked: follow the newest
            chosen = defaults
        self._cmp_a.value, self._cmp_b.value = (
            c if c in ids else d for c, d in zip(chosen, defaults, strict=True)
        )
        self._defaults = defaults

    def render(self) -> None:
        """Compare the two runs picked (a refusal becomes the session's notice)."""
        s = self.session
        a, b = self._cmp_a.value, self._cmp_b.value
        if not a or not b:
            return
        try:
            cmp = compare_runs(s.workspace, a, b)
        except ParkplanError as err:
            s.refused(err)
            return
        self._comparison.object = comparison_html(cmp, s.lang)

    def relabel(self) -> None:
        """Name the widgets in the session's language."""
        s = self.session
        self._cmp_a.name = s.t("ui.studio.compare_a")
        self._cmp_b.name = s.t("ui.studio.compare_b")
        self._compare.name = s.t("ui.studio.compare")
