"""Pure functions from the tracker's records to display data and escaped HTML/SVG.

Nothing here imports Panel: each function takes records, a date and a language and returns
plain data or a string. Every value that comes from the workspace (titles, names, owners,
messages) passes through :func:`esc` before it reaches markup, so a name such as
``<script>…`` shows as text. Labels come from the catalogue (:func:`parkplan.i18n.t`).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from markupsafe import Markup

from parkplan.i18n import t
from parkplan.identity.users import Role
from parkplan.templating import render
from parkplan.tracker import rating
from parkplan.tracker.access import PermissionDenied
from parkplan.tracker.model import (
    TASK_CODES,
    Escalation,
    EscalationStatus,
    Level,
    MajorMatter,
    MatterStatus,
    Risk,
    Status,
)
from parkplan.tracker.queries import PlannedMilestone, TaskStatus
from parkplan.tracker.rating import Comparison, Rating

#: Badge colours of the five ratings (text is white on all but amber/green and amber).
RATING_COLOURS = {
    Rating.green: ("#2e7d32", "#fff"),
    Rating.amber_green: ("#c0ca33", "#1d2733"),
    Rating.amber: ("#f9a825", "#1d2733"),
    Rating.amber_red: ("#ef6c00", "#fff"),
    Rating.red: ("#c62828", "#fff"),
}
STATUS_COLOURS = {
    Status.not_started: "#90a4ae",
    Status.in_progress: "#1f78b4",
    Status.done: "#2e7d32",
    Status.blocked: "#d84315",
    Status.cancelled: "#bdbdbd",
}
#: Statuses in board order.
BOARD_ORDER = (
    Status.not_started,
    Status.in_progress,
    Status.blocked,
    Status.done,
    Status.cancelled,
)


def page(template: str, /, **context: Any) -> str:
    """Render the view template ``template`` (``parkplan/ui/templates``), values autoescaped.

    Returns a plain ``str``, as Panel's HTML pane wants (it escapes a
    :class:`~markupsafe.Markup` twice); a fragment passed into another template is marked
    safe with ``Markup`` there.
    """
    return str(render("parkplan.ui", template, **context))


def section(
    heading: str | None = None,
    *,
    items: Sequence[Any] | None = None,
    text: str | None = None,
    table: str | None = None,
    level: str | None = None,
) -> dict[str, Any]:
    """Return one section for ``sections.html.j2``: a heading and a list, text or table.

    ``table`` is markup made by :func:`table`.
    """
    return {
        "heading": heading,
        "entries": items,
        "text": text,
        "table": Markup(table) if table else None,
        "level": level,
    }


def sections(parts: Sequence[dict[str, Any]], none: str = "") -> str:
    """Render headed sections (:func:`section`); ``none`` is said when there are none."""
    return page("sections.html.j2", sections=parts, none=none)


def note(text: str, *, css: str = "", **data: Any) -> str:
    """Return ``<p class=css data-…>text</p>``, escaped (``data`` become ``data-`` attributes)."""
    return page("note.html.j2", text=text, css=css, data=data)


def esc(value: Any) -> str:
    """Escape any value for HTML text or attribute (``None`` → "")."""
    return "" if value is None else html.escape(str(value), quote=True)


def title_of(record: Any, lang: str) -> str:
    """Return a record's title in ``lang``: ``title_en`` in English when it has one."""
    zh = getattr(record, "title_zh", None) or getattr(record, "title", "") or ""
    en = getattr(record, "title_en", "") or ""
    return en if lang == "en" and en else zh


def rating_label(rating: Rating | str, lang: str) -> str:
    """Return the catalogue label of a rating."""
    return t(f"rating.{Rating(rating).value}", lang)


def rating_badge(rating: Rating | str, lang: str) -> str:
    """Return a coloured badge naming a rating."""
    r = Rating(rating)
    bg, fg = RATING_COLOURS[r]
    return page("badge.html.j2", rating=r.value, bg=bg, fg=fg, label=rating_label(r, lang))


def fmt_date(value: date | datetime | None) -> str:
    """``YYYY-MM-DD`` (or ``YYYY-MM-DD HH:MM``), "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return value.isoformat()


def solver_status(status: str | None, lang: str) -> str:
    """Return the catalogue label of a siting run's status (``optimal`` → "最优")."""
    if status is None:
        return "—"
    try:
        return t(f"ui.solver_status.{status}", lang)
    except KeyError:
        return str(status)


def yes_no(value: Any, lang: str) -> str:
    """Return "是"/"否" ("yes"/"no") for a boolean, the value itself otherwise."""
    if isinstance(value, bool):
        return t("ui.yes" if value else "ui.no", lang)
    return value


def refusal_text(err: PermissionDenied, lang: str) -> str:
    """Say why the library refused a change, in ``lang``, from the refusal's code and values.

    The sentence names the user and their role, the action and the record, and the rule
    (``ui.denied.<code>``), each said from the catalogue; the library's (English) message
    is kept for a refusal without a code or one the catalogue does not know.
    """
    v = err.values
    if not err.code or not v:
        return str(err)
    try:
        sep = t("ui.denied.list_sep", lang)
        tasks = sep.join(
            t("ui.denied.task", lang, code=TASK_CODES.get(n, n)) for n in v.get("tasks") or ()
        )
        who = (
            t("ui.denied.who_owner", lang, user=v["user"], tasks=tasks)
            if v.get("role") == Role.task_owner.value and tasks
            else t("ui.denied.who", lang, user=v["user"], role=t(f"role.{v['role']}", lang))
        )
        action = t(f"ui.action.{v['action']}", lang)
        entity, record = v.get("entity"), v.get("record")
        what = action
        if entity:
            key = f"ui.record.{entity}" if record is not None else f"ui.records.{entity}"
            label = t(key, lang, record=record, code=TASK_CODES.get(v.get("task"), record))
            what = t("ui.denied.what", lang, action=action, record=label)
        why = t(f"ui.denied.{err.code}", lang, **_refusal_figures(v, lang))
    except KeyError:  # an action, record or rule newer than the catalogue
        return str(err)
    return t("ui.denied.sentence", lang, who=who, what=what, why=why)


def _refusal_figures(values: dict[str, Any], lang: str) -> dict[str, str]:
    """Render the code's own values (``access.REFUSALS``) in words of ``lang``."""
    out: dict[str, str] = {}
    for name in ("visibility", "clearance"):
        if values.get(name):
            out[name] = t(f"ui.vis.{values[name]}", lang)
    if values.get("level"):
        out["level"] = t(f"level.{values['level']}", lang)
    if values.get("roles"):
        out["roles"] = t("ui.denied.list_sep", lang).join(
            t(f"role.{r}", lang) for r in values["roles"]
        )
    return out


# ------------------------------------------------------------------ data
def projected_finish(pm: PlannedMilestone, as_of: date) -> date:
    """When a milestone is now expected to finish (forecast pushed by CPM and today)."""
    m = pm.milestone
    if not m.open:
        return m.forecast
    finish = max(m.forecast, pm.entry.early_finish if pm.entry else m.forecast)
    return max(finish, as_of)


def next_milestone(planned: Iterable[PlannedMilestone], task: int) -> PlannedMilestone | None:
    """Return the task's open milestone due first (ties: forecast, then id)."""
    open_ = [p for p in planned if p.milestone.task == task and p.milestone.open]
    return min(
        open_, key=lambda p: (p.milestone.due, p.milestone.forecast, p.milestone.id), default=None
    )


def open_escalations(
    escalations: Iterable[Escalation], task: int | None = None
) -> list[Escalation]:
    """Escalations not yet closed, optionally of one task."""
    return [
        e
        for e in escalations
        if e.status != EscalationStatus.closed and (task is None or e.task == task)
    ]


def matters_awaiting(matters: Iterable[MajorMatter], task: int | None = None) -> list[MajorMatter]:
    """Major matters not yet reported upward, optionally of one task."""
    return [
        m
        for m in matters
        if m.status == MatterStatus.open
        and m.reported_at is None
        and (task is None or m.task == task)
    ]


@dataclass(frozen=True)
class Clock:
    """A major matter's reporting clock: hours left (negative: overdue)."""

    hours_left: float
    reported: bool

    @property
    def overdue(self) -> bool:
        """Past the deadline and not reported."""
        return not self.reported and self.hours_left < 0

    def text(self, lang: str) -> str:
        """E.g. "剩余 5.5 小时", "逾期 2.0 小时", "已报送"."""
        if self.reported:
            return t("ui.clock.reported", lang)
        key = "ui.clock.overdue" if self.overdue else "ui.clock.left"
        return t(key, lang, hours=f"{abs(self.hours_left):.1f}")


def reporting_clock(matter: MajorMatter, now: datetime) -> Clock:
    """Return the reporting clock of ``matter`` at ``now`` (Shanghai local time)."""
    if matter.reported_at is not None:
        return Clock((matter.report_deadline - matter.reported_at).total_seconds() / 3600, True)
    return Clock((matter.report_deadline - now).total_seconds() / 3600, False)


@dataclass(frozen=True)
class BaselineRow:
    """One milestone of a task against a baseline: what the baseline said, what is now.

    ``then`` fields are the baseline's (``None`` for a milestone added since), ``now``
    fields the programme's (``None`` for one removed since).
    """

    id: str
    title: str
    change: str  # "same" | "changed" | "added" | "removed" (the library's, plus "same")
    start_then: date | None
    due_then: date | None
    forecast_then: date | None
    status_then: str | None
    due_now: date | None
    forecast_now: date | None
    status_now: str | None
    slip_days: int | None  # the forecast's movement since the baseline (+ later)


def _then(record: dict | None) -> tuple[date | None, date | None, date | None, str | None]:
    """Start, due, forecast and status of a baseline's milestone (``None``: not in it)."""
    r = record or {}
    start, due, forecast = (
        date.fromisoformat(r[k]) if r.get(k) else None for k in ("start", "due", "forecast")
    )
    return start, due, forecast, r.get("status")


def against_baseline(
    planned: Sequence[PlannedMilestone], comparison: Comparison, task: int, lang: str
) -> list[BaselineRow]:
    """Return a task's milestones against a baseline, in the plan's order (then removed ones).

    Parameters
    ----------
    planned : sequence of PlannedMilestone
        The milestones the user may see (the board's).
    comparison : Comparison
        :meth:`Tracker.compare_baseline`: only the milestones that changed, were added or
        were removed since the baseline, already without records above the user's
        clearance. A visible milestone it does not name is as the baseline had it, so the
        baseline's dates of an unchanged milestone are its own.
    task : int
        The task whose milestones (and removed milestones) to return.
    lang : str
        Language of the titles (a removed milestone keeps its Chinese title: the baseline
        stores no other).

    Returns
    -------
    list of BaselineRow
        The slip is the library's (``Change.forecast_delta_days``): now's forecast less
        the baseline's, in days.
    """
    changes = {c.id: c for c in comparison.changes if c.kind == "milestone"}
    rows = []
    for p in sorted(planned, key=lambda p: (p.milestone.start, p.milestone.id)):
        m = p.milestone
        if m.task != task:
            continue
        c = changes.get(m.id)
        if c is None:  # unchanged: as the baseline had it
            kind, then, slip = "same", (m.start, m.due, m.forecast, m.status.value), 0
        else:  # changed, or added since (no ``before``)
            kind, then, slip = c.change, _then(c.before), c.forecast_delta_days
        rows.append(
            BaselineRow(
                m.id, title_of(m, lang), kind, *then, m.due, m.forecast, m.status.value, slip
            )
        )
    for c in changes.values():
        if c.change == "removed" and (c.before or {}).get("task") == task:
            rows.append(
                BaselineRow(
                    c.id,
                    c.before.get("title_zh", ""),
                    "removed",
                    *_then(c.before),
                    None,
                    None,
                    None,
                    None,
                )
            )
    return rows


def slip_text(days: int | None, lang: str) -> str:
    """Say how far a forecast moved since the baseline: "推迟 26 天", "提前 5 天"."""
    if days is None:
        return "—"
    if days == 0:
        return t("ui.baseline.unmoved", lang)
    return t("ui.baseline.later" if days > 0 else "ui.baseline.earlier", lang, days=abs(days))


def baseline_table(rows: Sequence[BaselineRow], lang: str) -> str:
    """Return the table of what changed since the baseline (unchanged milestones left out)."""

    def status(value: str | None) -> str:
        return t(f"status.{value}", lang) if value else "—"

    changed = [
        {
            "id": r.id,
            "title": r.title,
            "change": t(f"ui.baseline.change.{r.change}", lang),
            "due_then": r.due_then,
            "due_now": r.due_now,
            "forecast_then": r.forecast_then,
            "forecast_now": r.forecast_now,
            "slip": slip_text(r.slip_days, lang),
            "status": (
                status(r.status_then)
                if r.status_then == r.status_now
                else f"{status(r.status_then)} → {status(r.status_now)}"
            ),
        }
        for r in rows
        if r.change != "same"
    ]
    cols = [
        (c, t(f"ui.baseline.{c}", lang))
        for c in (
            "id",
            "title",
            "change",
            "due_then",
            "due_now",
            "forecast_then",
            "forecast_now",
            "slip",
            "status",
        )
    ]
    return table(
        cols, changed, empty=t("ui.baseline.none_changed", lang), css="pp-table pp-baseline"
    )


@dataclass(frozen=True)
class TaskSummary:
    """One tile of the overview: a task's rating and what needs attention."""

    number: int
    code: str
    title: str
    rating: Rating
    trend: str
    reasons: tuple[str, ...]
    next_id: str | None
    next_title: str
    next_due: date | None
    escalations: int
    matters: int


def task_summaries(
    statuses: Sequence[TaskStatus],
    planned: Sequence[PlannedMilestone],
    escalations: Sequence[Escalation],
    matters: Sequence[MajorMatter],
    lang: str,
) -> list[TaskSummary]:
    """Return the overview's nine tiles, from what the user may see.

    Reasons are said in ``lang`` (:func:`parkplan.tracker.rating.reason_text`).
    """
    out = []
    for s in statuses:
        n = s.task.number
        nxt = next_milestone(planned, n)
        out.append(
            TaskSummary(
                number=n,
                code=s.task.code,
                title=title_of(s.task, lang),
                rating=s.rating,
                trend=s.trend.value,
                reasons=tuple(rating.reason_text(r, lang) for r in s.reasons),
                next_id=nxt.milestone.id if nxt else None,
                next_title=title_of(nxt.milestone, lang) if nxt else "",
                next_due=nxt.milestone.due if nxt else None,
                escalations=len(open_escalations(escalations, n)),
                matters=len(matters_awaiting(matters, n)),
            )
        )
    return out


# ---------------------------------------------------------------- markup
def task_tile(s: TaskSummary, lang: str) -> str:
    """Return a task's tile on the overview (the button to open the board is added by the view)."""
    labels = {k: t(f"ui.overview.{k}", lang) for k in ("next", "no_next", "escalations", "matters")}
    return page(
        "task_tile.html.j2",
        s=s,
        badge=Markup(rating_badge(s.rating, lang)),
        trend=t("ui.trend." + s.trend, lang),
        next_due=fmt_date(s.next_due),
        reasons=s.reasons[:3],
        labels=labels,
    )


def status_board(planned: Sequence[PlannedMilestone], lang: str) -> str:
    """Milestones as a board: one column per status, one card per milestone."""
    columns = []
    for status in BOARD_ORDER:
        cards = [p for p in planned if p.milestone.status == status]
        if status == Status.cancelled and not cards:
            continue
        columns.append(
            {
                "heading": t("status." + status.value, lang),
                "colour": STATUS_COLOURS[status],
                "cards": [
                    {
                        "id": p.milestone.id,
                        "title": title_of(p.milestone, lang),
                        "due": fmt_date(p.milestone.due),
                        "forecast": fmt_date(p.milestone.forecast),
                        "percent": p.milestone.percent,
                        "slip": t("ui.board.slip", lang, days=p.slip_days) if p.slip_days else "",
                    }
                    for p in cards
                ],
            }
        )
    labels = {"due": t("ui.field.due", lang), "forecast": t("ui.field.forecast", lang)}
    return page("status_board.html.j2", columns=columns, labels=labels)


def _heat_colour(score: int) -> str:
    if score >= 15:
        return "#ef9a9a"
    if score >= 10:
        return "#ffcc80"
    if score >= 5:
        return "#fff59d"
    return "#c5e1a5"


def heatmap(risks: Sequence[Risk], lang: str) -> str:
    """Open risks on a 5×5 grid: likelihood across, impact up; each cell lists risk ids."""
    cells: dict[tuple[int, int], list[Risk]] = {}
    for r in risks:
        if r.status.value == "open":
            cells.setdefault((r.likelihood, r.impact), []).append(r)
    rows = [
        {
            "impact": im,
            "cells": [
                {
                    "likelihood": lk,
                    "colour": _heat_colour(lk * im),
                    "risks": [
                        {"id": r.id, "title": title_of(r, lang)} for r in cells.get((lk, im), [])
                    ],
                }
                for lk in range(1, 6)
            ],
        }
        for im in range(5, 0, -1)
    ]
    return page(
        "heatmap.html.j2",
        rows=rows,
        caption=t("ui.desk.heat_caption", lang),
        impact=t("ui.desk.impact", lang),
        likelihood=t("ui.desk.likelihood", lang),
    )


def table(
    columns: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    *,
    empty: str = "—",
    css: str = "pp-table",
) -> str:
    """Return a plain HTML table; every cell escaped. ``columns`` are ``(key, header)`` pairs."""
    body = [[_cell(r.get(k)) for k, _ in columns] for r in rows]
    head = [h for _, h in columns]
    return page("table.html.j2", head=head, body=body, empty=empty, css=css)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, (date, datetime)):
        return fmt_date(value)
    return str(value)


def level_label(level: Level | str, lang: str) -> str:
    """Return the catalogue label of an escalation level."""
    return t(f"ui.level.{Level(level).value}", lang)


@functools.cache
def stylesheet() -> str:
    """Return the views' styles (``parkplan/static/ui/ui.css``; no external stylesheet or font)."""
    return resources.files("parkplan").joinpath("static", "ui", "ui.css").read_text("utf-8")


__all__ = [
    "BaselineRow",
    "Clock",
    "TaskSummary",
    "against_baseline",
    "baseline_table",
    "esc",
    "fmt_date",
    "heatmap",
    "level_label",
    "matters_awaiting",
    "next_milestone",
    "note",
    "open_escalations",
    "page",
    "projected_finish",
    "rating_badge",
    "rating_label",
    "section",
    "sections",
    "refusal_text",
    "reporting_clock",
    "slip_text",
    "solver_status",
    "stylesheet",
    "status_board",
    "table",
    "task_summaries",
    "task_tile",
    "title_of",
    "yes_no",
]
