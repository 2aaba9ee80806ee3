"""The task board: one task's milestones as a board and a Gantt, its KPIs, evidence, risks.

The Gantt draws each milestone's plan and forecast against a saved baseline's plan (the
last stocktake before the as-of date unless the user picks another), and a table lists
what changed since that baseline (:func:`parkplan.ui.render.against_baseline`).

Owners edit their own milestones inline in the milestone table (status, percent, forecast,
note). The table is editable only for users the library would let change the task's
milestones; every edit still goes through :meth:`Tracker.update_milestone` with the version
the user read, so a refused or stale edit is reported and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import panel as pn
import param
from bokeh.models.widgets.tables import DateEditor, IntEditor, SelectEditor, StringEditor
from markupsafe import Markup

from parkplan.tracker import rating
from parkplan.tracker.model import Baseline, Status
from parkplan.ui import render
from parkplan.ui.common import NoticeBar, html_pane
from parkplan.ui.gantt import gantt_svg
from parkplan.ui.state import Session

#: Milestone fields an owner edits inline.
EDITABLE = ("status", "percent", "forecast", "note")


def milestone_frame(session: Session, task: int) -> pd.DataFrame:
    """Return the task's milestones as the table shows them (status as its label)."""
    lang = session.lang
    rows = []
    for p in session.programme.milestones:
        m = p.milestone
        if m.task != task:
            continue
        rows.append(
            {
                "id": m.id,
                "title": render.title_of(m, lang),
                "owner": m.owner,
                "start": m.start,
                "due": m.due,
                "forecast": m.forecast,
                "status": session.t(f"status.{m.status.value}"),
                "percent": m.percent,
                "slip": p.slip_days,
                "critical": m.id in session.programme.critical_path,
                "depends_on": ", ".join(m.depends_on),
                "note": m.note,
                "version": m.version,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "title",
            "owner",
            "start",
            "due",
            "forecast",
            "status",
            "percent",
            "slip",
            "critical",
            "depends_on",
            "note",
            "version",
        ],
    )


def parse_edit(session: Session, column: str, value: Any) -> Any:
    """Turn an edited cell back into a milestone field value.

    Raises
    ------
    ValueError
        For a value that is not one of the field's (the library re-validates anyway).
    """
    if column == "status":
        labels = {session.t(f"status.{s.value}"): s.value for s in Status}
        if value in labels:
            return labels[value]
        return Status(value).value
    if column == "percent":
        return int(value)
    if column == "forecast":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, (int, float)):  # Bokeh sends dates as ms since the epoch
            return datetime.fromtimestamp(value / 1000, tz=UTC).date()
        return date.fromisoformat(str(value)[:10])
    return "" if value is None else str(value)


class TaskBoard(pn.viewable.Viewer):
    """One task's board; the task is the session's ``task``."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.session
        self._task = pn.widgets.Select(name="", width=480)
        self._task.param.watch(self._pick, "value")
        self._header = html_pane()
        self._board = html_pane()
        self._gantt = html_pane()
        # "" is the default: the last stocktake before the as-of date, which follows it
        self._baseline = pn.widgets.Select(name="", width=420, css_classes=["pp-baseline-pick"])
        self._baseline.param.watch(self._pick_baseline, "value")
        self._listing = False  # new options may move the value: not the user's pick
        self._baseline_note = html_pane()
        self._baseline_table = html_pane()
        self._table = pn.widgets.Tabulator(
            milestone_frame(s, s.task),
            name="milestones",
            show_index=False,
            sizing_mode="stretch_width",
            hidden_columns=["version"],
            disabled=True,
            selectable=False,
            layout="fit_data_stretch",
            css_classes=["pp-milestones"],
        )
        self._table.on_edit(self._edited)
        self._editors = {
            "percent": IntEditor(step=5),
            "forecast": DateEditor(),
            "note": StringEditor(),
        }
        self._edit_hint = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._kpis = html_pane()
        self._evidence = html_pane()
        self._risks = html_pane()
        self._titles = {
            k: pn.pane.Markdown("")
            for k in ("board", "gantt", "baseline", "table", "kpis", "evidence", "risks")
        }
        self._layout = pn.Column(
            self._task,
            self._header,
            self._titles["board"],
            self._board,
            self._titles["gantt"],
            self._baseline,
            self._baseline_note,
            self._gantt,
            self._titles["baseline"],
            self._baseline_table,
            self._titles["table"],
            self._edit_hint,
            NoticeBar(session=s),
            self._table,
            pn.Row(
                pn.Column(self._titles["kpis"], self._kpis, sizing_mode="stretch_width"),
                pn.Column(self._titles["risks"], self._risks, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            self._titles["evidence"],
            self._evidence,
            sizing_mode="stretch_width",
        )
        s.param.watch(self._render, ["revision", "lang", "task", "baseline"])
        self._render()

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------ events
    def _pick(self, event):
        if event.new is not None and event.new != self.session.task:
            self.session.task = event.new

    def _pick_baseline(self, event):
        """Compare with the baseline picked ("": the last stocktake, which follows the date)."""
        picked = event.new or None
        if not self._listing and picked != self.session.baseline:
            self.session.baseline = picked

    def may_edit(self) -> bool:
        """Whether the user may change the shown task's milestones (hides the editors)."""
        s = self.session
        ms = [p.milestone for p in s.programme.milestones if p.milestone.task == s.task]
        return bool(ms) and all(s.can("update", m) for m in ms)

    def _edited(self, event) -> None:
        """Save an inline edit: one field of one milestone, at the version the user read."""
        s = self.session
        frame = self._frame
        row = frame.iloc[event.row]
        column = event.column
        if column not in EDITABLE:
            s.notice_kind = "danger"
            s.notice = s.t("ui.board.not_editable", field=column)
            s.reload()
            return
        try:
            value = parse_edit(s, column, event.value)
        except (ValueError, TypeError, OverflowError):
            s.notice_kind = "danger"
            s.notice = s.t("ui.board.bad_value", field=column, value=event.value)
            s.reload()
            return
        s.update_milestone(str(row["id"]), int(row["version"]), **{column: value})

    # ------------------------------------------------------------ render
    def _render(self, *_):
        s, lang = self.session, self.session.lang
        prog = s.programme
        options = {
            f"{st.task.code} {render.title_of(st.task, lang)}": st.task.number
            for st in prog.statuses
        }
        self._task.name = s.t("ui.board.task")
        self._task.options = options
        if s.task in options.values():
            self._task.value = s.task
        status = next((st for st in prog.statuses if st.task.number == s.task), None)
        planned = [p for p in prog.milestones if p.milestone.task == s.task]
        if status is None:
            self._header.object = render.note(s.t("ui.board.no_task"))
        else:
            self._header.object = render.page(
                "task_head.html.j2",
                number=s.task,
                code=status.task.code,
                title=render.title_of(status.task, lang),
                badge=Markup(render.rating_badge(status.rating, lang)),
                trend=s.t("ui.trend." + status.trend.value),
                lead=status.task.lead_unit,
                reasons=[rating.reason_text(r, lang) for r in status.reasons],
                labels={k: s.t(f"ui.board.{k}") for k in ("rating", "trend", "lead")},
            )
        for key in self._titles:
            self._titles[key].object = f"#### {s.t('ui.board.' + key)}"
        self._board.object = render.status_board(planned, lang)
        base = s.compared_baseline()
        rows = (
            render.against_baseline(planned, s.comparison(base.name), s.task, lang) if base else []
        )
        self._gantt.object = gantt_svg(
            planned,
            prog.critical_path,
            s.as_of,
            lang,
            baseline=rows,
            baseline_name=base.name if base else "",
        )
        self._render_baseline(base, rows)
        self._render_table()
        self._kpis.object = self._kpi_table()
        self._risks.object = self._risk_table()
        self._evidence.object = self._evidence_table(planned)

    def _render_baseline(self, base: Baseline | None, rows: list[render.BaselineRow]) -> None:
        """Show the baseline picker, the baseline shown (or that there is none), the changes."""
        s = self.session
        saved = s.saved_baselines()
        self._baseline.name = s.t("ui.board.baseline_pick")
        self._listing = True
        try:
            self._baseline.options = {
                s.t("ui.board.baseline_last"): "",
                **{
                    s.t("ui.board.baseline_option", name=b.name, as_of=b.as_of.isoformat()): b.name
                    for b in reversed(saved)
                },
            }
            self._baseline.value = s.baseline if s.baseline in {b.name for b in saved} else ""
        finally:
            self._listing = False
        self._baseline.visible = bool(saved)
        self._titles["baseline"].visible = base is not None
        if base is None:
            key = "ui.board.no_baseline_before" if saved else "ui.board.no_baseline"
            self._baseline_note.object = render.note(
                s.t(key, as_of=s.as_of), css="pp-empty pp-no-baseline"
            )
            self._baseline_table.object = ""
            return
        text = s.t(
            "ui.board.baseline_note",
            name=base.name,
            as_of=base.as_of.isoformat(),
            saved_by=base.saved_by,
            saved_at=render.fmt_date(base.saved_at),
        )
        self._baseline_note.object = render.note(text, css="pp-baseline-note", baseline=base.name)
        self._baseline_table.object = render.baseline_table(rows, s.lang)

    def _render_table(self) -> None:
        s = self.session
        self._frame = frame = milestone_frame(s, s.task)
        editable = self.may_edit()
        statuses = [s.t(f"status.{st.value}") for st in Status]
        self._table.titles = {c: s.t(f"ui.field.{c}") for c in frame.columns}
        if editable:
            self._table.editors = {
                **{c: None for c in frame.columns if c not in EDITABLE},
                "status": SelectEditor(options=statuses),
                **self._editors,
            }
        else:
            self._table.editors = {c: None for c in frame.columns}
        self._table.disabled = not editable
        self._table.value = frame
        self._edit_hint.object = s.t("ui.board.edit_hint" if editable else "ui.board.read_only")

    def _kpi_table(self) -> str:
        s = self.session
        rows = []
        for k in s.programme.kpis:
            if k.kpi.task != s.task:
                continue
            latest = k.latest
            rows.append(
                {
                    "id": k.kpi.id,
                    "name": k.kpi.name_en if s.lang == "en" and k.kpi.name_en else k.kpi.name_zh,
                    "unit": k.kpi.unit,
                    "target": k.kpi.target,
                    "target_date": k.kpi.target_date,
                    "latest": latest.value if latest else None,
                    "on": latest.on if latest else None,
                    "note": k.note,
                }
            )
        cols = [
            (c, s.t(f"ui.kpi.{c}"))
            for c in ("id", "name", "unit", "target", "target_date", "latest", "on", "note")
        ]
        return render.table(cols, rows, empty=s.t("ui.empty"))

    def _risk_table(self) -> str:
        s = self.session
        rows = [
            {
                "id": r.id,
                "title": render.title_of(r, s.lang),
                "likelihood": r.likelihood,
                "impact": r.impact,
                "score": r.score,
                "tolerance": r.tolerance,
                "owner": r.owner,
                "next_review": r.next_review,
                "status": s.t(f"ui.risk_status.{r.status.value}"),
            }
            for r in s.programme.risks
            if r.task == s.task
        ]
        cols = [
            (c, s.t(f"ui.risk.{c}"))
            for c in (
                "id",
                "title",
                "likelihood",
                "impact",
                "score",
                "tolerance",
                "owner",
                "next_review",
                "status",
            )
        ]
        return render.table(cols, rows, empty=s.t("ui.empty"))

    def _evidence_table(self, planned) -> str:
        s = self.session
        rows = []
        for p in planned:
            for ev in s.tracker.evidence(p.milestone.id):
                rows.append(
                    {
                        "milestone": ev.milestone_id,
                        "filename": ev.filename,
                        "size": s.t("ui.unit.bytes", n=f"{ev.size:,}"),
                        "sha256": ev.sha256[:16] + "…",
                        "note": ev.note,
                        "added_by": ev.added_by,
                        "added_at": ev.added_at,
                    }
                )
        cols = [
            (c, s.t(f"ui.evidence.{c}"))
            for c in ("milestone", "filename", "size", "sha256", "note", "added_by", "added_at")
        ]
        return render.table(cols, rows, empty=s.t("ui.empty"))


__all__ = ["EDITABLE", "TaskBoard", "milestone_frame", "parse_edit"]
