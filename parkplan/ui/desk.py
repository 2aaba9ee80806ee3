"""The risk and escalation desk: risk heat map, escalation queue by level, major matters.

Acknowledge / act / close take a comment; the buttons shown are those the user's role and
the escalation's status allow, and the library checks both again.
"""

from __future__ import annotations

import panel as pn
import param

from parkplan.tracker.commands.escalations import STEPS
from parkplan.tracker.model import TASK_CODES, EscalationStatus, Level
from parkplan.ui import render
from parkplan.ui.common import NoticeBar, html_pane
from parkplan.ui.state import Session

#: The step each action records, and the statuses it may start from (as the library).
ACTIONS = {action: (new, allowed) for action, (new, allowed) in STEPS.items()}


def allowed_actions(session: Session, escalation) -> list[str]:
    """Return the actions the user may take on ``escalation`` now (role and status)."""
    return [
        a
        for a, (_new, allowed) in ACTIONS.items()
        if escalation.status in allowed and session.can(a, escalation)
    ]


class Desk(pn.viewable.Viewer):
    """Heat map, escalation queue, actions, major matters."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.session
        self._titles = {k: pn.pane.Markdown("") for k in ("heat", "queue", "act", "matters")}
        self._heat = html_pane()
        self._queue = html_pane()
        self._matters = html_pane()
        self._pick = pn.widgets.Select(name="", width=520)
        self._comment = pn.widgets.TextAreaInput(name="", height=80, width=520)
        self._buttons = {
            a: pn.widgets.Button(name=a, button_type=kind, width=150)
            for a, kind in (("acknowledge", "primary"), ("act", "success"), ("close", "warning"))
        }
        for action, button in self._buttons.items():
            button.on_click(lambda _e, a=action: self._step(a))
        self._pick.param.watch(lambda _e: self._show_buttons(), "value")
        self._act_box = pn.Column(
            self._pick, self._comment, pn.Row(*self._buttons.values()), NoticeBar(session=s)
        )
        self._layout = pn.Column(
            pn.Row(
                pn.Column(self._titles["heat"], self._heat),
                pn.Column(self._titles["act"], self._act_box, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            self._titles["queue"],
            self._queue,
            self._titles["matters"],
            self._matters,
            sizing_mode="stretch_width",
        )
        s.param.watch(self._render, ["revision", "lang"])
        self._render()

    def __panel__(self):
        return self._layout

    def _actionable(self):
        return [e for e in self.session.programme.escalations if allowed_actions(self.session, e)]

    def _show_buttons(self) -> None:
        esc = next((e for e in self._actionable() if e.id == self._pick.value), None)
        allowed = allowed_actions(self.session, esc) if esc else []
        for action, button in self._buttons.items():
            button.visible = action in allowed

    def _step(self, action: str) -> None:
        s = self.session
        esc = next((e for e in s.programme.escalations if e.id == self._pick.value), None)
        if esc is None:
            return
        if s.escalation_step(action, esc.id, self._comment.value or "", esc.version):
            self._comment.value = ""

    def _render(self, *_):
        s, lang = self.session, self.session.lang
        prog = s.programme
        for key in self._titles:
            self._titles[key].object = f"#### {s.t('ui.desk.' + key)}"
        self._heat.object = render.heatmap(prog.risks, lang)
        self._queue.object = self._queue_html()
        actionable = self._actionable()
        self._pick.name = s.t("ui.desk.pick")
        options = {self._label(e): e.id for e in actionable}
        self._pick.options = options
        if options and self._pick.value not in options.values():
            self._pick.value = next(iter(options.values()))
        self._comment.name = s.t("ui.desk.comment")
        self._comment.placeholder = s.t("ui.desk.comment_hint")
        for action, button in self._buttons.items():
            button.name = s.t(f"ui.desk.{action}")
        self._act_box.visible = bool(actionable)
        self._show_buttons()
        self._matters.object = self._matters_html()

    def _label(self, e) -> str:
        code = TASK_CODES.get(e.task, "") if e.task else ""
        return (
            f"#{e.id} {code} {render.level_label(e.level, self.session.lang)} · "
            f"{self.session.t('ui.esc_status.' + e.status.value)} · "
            f"{e.message.text(self.session.lang)[:40]}"
        )

    def _queue_html(self) -> str:
        s = self.session
        parts = []
        cols = [
            (c, s.t(f"ui.esc.{c}"))
            for c in ("id", "task", "status", "message", "opened_at", "last_step")
        ]
        for level in Level:
            items = [
                e
                for e in s.programme.escalations
                if e.level == level and e.status != EscalationStatus.closed
            ]
            rows = [
                {
                    "id": f"#{e.id}",
                    "task": TASK_CODES.get(e.task, "—"),
                    "status": s.t("ui.esc_status." + e.status.value),
                    "message": e.message.text(s.lang),
                    "opened_at": e.opened_at,
                    "last_step": (
                        f"{e.steps[-1].who} {render.fmt_date(e.steps[-1].at)} {e.steps[-1].comment}"
                    )
                    if e.steps
                    else None,
                }
                for e in items
            ]
            parts.append(
                render.section(
                    f"{render.level_label(level, s.lang)} ({len(rows)})",
                    table=render.table(cols, rows, empty=s.t("ui.empty")),
                    level=level.value,
                )
            )
        return render.sections(parts)

    def _matters_html(self) -> str:
        s = self.session
        now = s.services.clock()
        rows = []
        for m in s.programme.matters:
            clock = render.reporting_clock(m, now)
            rows.append(
                {
                    "id": f"#{m.id}",
                    "task": TASK_CODES.get(m.task, "—"),
                    "title": m.title,
                    "occurred_at": m.occurred_at,
                    "deadline": m.report_deadline,
                    "clock": clock.text(s.lang),
                    "status": s.t("ui.matter_status." + m.status.value),
                    "reported_to": m.reported_to,
                }
            )
        cols = [
            (c, s.t(f"ui.matter.{c}"))
            for c in (
                "id",
                "task",
                "title",
                "occurred_at",
                "deadline",
                "clock",
                "status",
                "reported_to",
            )
        ]
        return render.table(cols, rows, empty=s.t("ui.empty"))


__all__ = ["ACTIONS", "Desk", "allowed_actions"]
