"""Pure functions from the tracker's records to display data and escaped HTML/SVG.

Nothing here imports Panel: each function takes records, a date and a language and returns
plain data or a string. Every value that comes from the workspace (titles, names, owners,
messages) passes through :func:`esc` before it reaches markup, so a name such as
``<script>…`` shows as text. Labels come from the catalogue (:func:`parkplan.i18n.t`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from parkplan.i18n import t
from parkplan.identity.users import Role
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
CRITICAL = "#c62828"
#: The baseline's plan on the Gantt (a thin bar ending in a diamond at its due date).
BASELINE = "#00838f"


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
    return (
        f'<span class="pp-badge pp-rating-{r.value}" data-rating="{r.value}" '
        f'style="background:{bg};color:{fg}">{esc(rating_label(r, lang))}</span>'
    )


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
    nxt = (
        f"{esc(s.next_id)} {esc(s.next_title)} · {esc(fmt_date(s.next_due))}"
        if s.next_id
        else esc(t("ui.overview.no_next", lang))
    )
    reasons = "".join(f"<li>{esc(r)}</li>" for r in s.reasons[:3])
    return (
        f'<div class="pp-tile" data-task="{s.number}">'
        f'<div class="pp-tile-head"><b>{esc(s.code)}</b> {rating_badge(s.rating, lang)} '
        f'<span class="pp-trend">{esc(t("ui.trend." + s.trend, lang))}</span></div>'
        f'<div class="pp-tile-title">{esc(s.title)}</div>'
        f'<div class="pp-tile-row"><span>{esc(t("ui.overview.next", lang))}</span> {nxt}</div>'
        f'<div class="pp-tile-row"><span>{esc(t("ui.overview.escalations", lang))}</span> '
        f"<b>{s.escalations}</b> · <span>{esc(t('ui.overview.matters', lang))}</span> "
        f"<b>{s.matters}</b></div>"
        + (f'<ul class="pp-reasons">{reasons}</ul>' if reasons else "")
        + "</div>"
    )


def status_board(planned: Sequence[PlannedMilestone], lang: str) -> str:
    """Milestones as a board: one column per status, one card per milestone."""
    cols = []
    for status in BOARD_ORDER:
        cards = [p for p in planned if p.milestone.status == status]
        if status == Status.cancelled and not cards:
            continue
        body = "".join(
            f'<div class="pp-card" data-milestone="{esc(p.milestone.id)}" '
            f'style="border-left-color:{STATUS_COLOURS[status]}">'
            f"<b>{esc(p.milestone.id)}</b> {esc(title_of(p.milestone, lang))}"
            f'<div class="pp-card-meta">{esc(t("ui.field.due", lang))} '
            f"{esc(fmt_date(p.milestone.due))} · {esc(t('ui.field.forecast', lang))} "
            f"{esc(fmt_date(p.milestone.forecast))} · {p.milestone.percent}%"
            + (
                f' · <span class="pp-slip">{esc(t("ui.board.slip", lang, days=p.slip_days))}</span>'
                if p.slip_days
                else ""
            )
            + "</div></div>"
            for p in cards
        )
        cols.append(
            f'<div class="pp-col"><div class="pp-col-head">'
            f"{esc(t('status.' + status.value, lang))} ({len(cards)})</div>"
            f"{body}</div>"
        )
    return f'<div class="pp-board">{"".join(cols)}</div>'


def _text_width(text: str, size: int = 12) -> int:
    """Roughly how wide ``text`` is at ``size`` px: CJK and full-width signs are square."""
    return sum(size if ord(ch) >= 0x2E80 else round(size * 0.6) for ch in text)


def _months(first: date, last: date) -> list[date]:
    out, d = [], date(first.year, first.month, 1)
    while d <= last:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def gantt_svg(
    planned: Sequence[PlannedMilestone],
    critical: Iterable[str],
    as_of: date,
    lang: str,
    *,
    width: int = 940,
    baseline: Sequence[BaselineRow] = (),
    baseline_name: str = "",
) -> str:
    """Draw a Gantt chart as inline SVG.

    Plan (start → due) against forecast, dependencies, the critical path in red, and a
    line at the as-of date.

    Dependencies on milestones of other tasks are named after the title (``← M4-1``).

    Parameters
    ----------
    baseline : sequence of BaselineRow, optional
        :func:`against_baseline`: each milestone the baseline has gets a thin bar from
        the baseline's start to its due date, ending in a diamond, under its forecast.
    baseline_name : str
        The baseline's name, for the bars' tooltips.
    """
    rows = sorted(planned, key=lambda p: (p.milestone.start, p.milestone.id))
    if not rows:
        return f'<p class="pp-empty">{esc(t("ui.board.no_milestones", lang))}</p>'
    crit = set(critical)
    finishes = {p.milestone.id: projected_finish(p, as_of) for p in rows}
    shown = {p.milestone.id for p in rows}
    then = {r.id: r for r in baseline if r.id in shown and r.due_then and r.start_then}
    lo = min(
        min(p.milestone.start for p in rows),
        min((r.start_then for r in then.values()), default=date.max),
    )
    lo -= timedelta(days=15)
    hi = max(max(p.milestone.due, finishes[p.milestone.id]) for p in rows)
    hi = max(hi, as_of, *(r.due_then for r in then.values())) + timedelta(days=30)
    label_w, row_h, top = 250, 30, 34
    span = max((hi - lo).days, 1)
    plot_w = width - label_w - 10

    def x(d: date) -> float:
        return round(label_w + (d - lo).days / span * plot_w, 1)

    height = top + row_h * len(rows) + 34
    parts = [
        f'<svg class="pp-gantt" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'font-size="12" font-family="Noto Sans CJK SC, sans-serif">',
        '<defs><marker id="pp-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for m in _months(lo, hi):
        xm = x(m)
        if m.month == 1 or m == _months(lo, hi)[0]:
            parts.append(
                f'<line x1="{xm}" y1="{top - 6}" x2="{xm}" y2="{height - 30}" '
                'stroke="#b0bec5"/>'
                f'<text x="{xm + 3}" y="{top - 10}" fill="#37474f">{m.year}</text>'
            )
        elif m.month in (4, 7, 10):
            quarter = t(f"ui.board.q{(m.month - 1) // 3 + 1}", lang)
            parts.append(
                f'<line x1="{xm}" y1="{top}" x2="{xm}" y2="{height - 30}" '
                'stroke="#eceff1"/>'
                f'<text x="{xm + 2}" y="{top - 10}" fill="#90a4ae" '
                f'font-size="10">{esc(quarter)}</text>'
            )
    ypos = {}
    for i, p in enumerate(rows):
        m = p.milestone
        y = top + i * row_h
        ypos[m.id] = y
        is_crit = m.id in crit
        label = title_of(m, lang)
        short = label if len(label) <= 16 else label[:15] + "…"
        ext = [d for d in m.depends_on if d not in {q.milestone.id for q in rows}]
        crit_attr = ' data-critical="1"' if is_crit else ""
        bold = ' font-weight="bold"' if is_crit else ""
        parts.append(
            f'<g class="pp-gantt-row" data-milestone="{esc(m.id)}"{crit_attr}>'
            f"<title>{esc(m.id)} {esc(label)}</title>"
            f'<text x="4" y="{y + 19}" fill="{CRITICAL if is_crit else "#263238"}"'
            f"{bold}>{esc(m.id)} {esc(short)}"
            + (f' <tspan fill="#78909c">← {esc(", ".join(ext))}</tspan>' if ext else "")
            + "</text>"
        )
        parts.append(
            f'<rect x="{x(m.start)}" y="{y + 4}" width="{max(x(m.due) - x(m.start), 2)}"'
            ' height="8" fill="#cfd8dc" rx="2"/>'
        )
        fin = finishes[m.id]
        colour = STATUS_COLOURS[m.status]
        stroke = f' stroke="{CRITICAL}" stroke-width="2"' if is_crit else ""
        parts.append(
            f'<rect x="{x(m.start)}" y="{y + 14}" '
            f'width="{max(x(fin) - x(m.start), 2)}" height="11" fill="{colour}" '
            f'rx="2"{stroke}/>'
        )
        parts.append(
            f'<line x1="{x(m.due)}" y1="{y + 2}" x2="{x(m.due)}" y2="{y + 27}" '
            'stroke="#455a64" stroke-width="1.5"/>'
        )
        if m.id in then:
            b = then[m.id]
            xb, yb = x(b.due_then), y + 28
            tip = t(
                "ui.board.baseline_mark",
                lang,
                name=baseline_name,
                start=fmt_date(b.start_then),
                due=fmt_date(b.due_then),
            )
            parts.append(
                f'<g class="pp-baseline-mark" data-due="{b.due_then.isoformat()}">'
                f"<title>{esc(tip)}</title>"
                f'<rect x="{x(b.start_then)}" y="{yb - 1}" '
                f'width="{max(xb - x(b.start_then), 1)}" height="2" '
                f'fill="{BASELINE}"/>'
                f'<path d="M {xb} {yb - 3.5} L {xb + 3.5} {yb} L {xb} {yb + 3.5} '
                f'L {xb - 3.5} {yb} z" fill="{BASELINE}"/></g>'
            )
        parts.append("</g>")
    for p in rows:
        m = p.milestone
        for dep in m.depends_on:
            if dep not in ypos:
                continue
            x1, y1 = x(finishes[dep]), ypos[dep] + 20
            x2, y2 = x(m.start), ypos[m.id] + 20
            colour = CRITICAL if dep in crit and m.id in crit else "#555"
            parts.append(
                f'<path class="pp-dep" d="M {x1} {y1} C {x1 + 20} {y1}, '
                f'{x2 - 20} {y2}, {x2} {y2}" fill="none" stroke="{colour}" '
                'stroke-width="1.2" marker-end="url(#pp-arrow)"/>'
            )
    xa = x(as_of)
    parts.append(
        f'<line x1="{xa}" y1="{top - 6}" x2="{xa}" y2="{height - 30}" '
        'stroke="#6a1b9a" stroke-dasharray="4 3"/>'
        f'<text x="{xa + 3}" y="{height - 32}" fill="#6a1b9a" font-size="10">'
        f"{esc(t('ui.board.as_of', lang))} {as_of.isoformat()}</text>"
    )
    ly = height - 12
    legend = [
        ("#cfd8dc", t("ui.board.legend_plan", lang)),
        (STATUS_COLOURS[Status.in_progress], t("ui.board.legend_forecast", lang)),
        (CRITICAL, t("ui.board.legend_critical", lang)),
    ]
    if then:
        legend.append((BASELINE, t("ui.board.legend_baseline", lang, name=baseline_name)))
    lx = label_w
    for colour, text in legend:
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="14" height="9" fill="{colour}"/>'
            f'<text x="{lx + 18}" y="{ly}" fill="#37474f">{esc(text)}</text>'
        )
        lx += 28 + _text_width(text)
    parts.append("</svg>")
    return "".join(parts)


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
    head = "".join(f"<th>{lk}</th>" for lk in range(1, 6))
    body = []
    for im in range(5, 0, -1):
        tds = []
        for lk in range(1, 6):
            found = cells.get((lk, im), [])
            ids = "<br>".join(
                f'<span title="{esc(title_of(r, lang))}">{esc(r.id)}</span>' for r in found
            )
            tds.append(
                f'<td class="pp-heat" data-l="{lk}" data-i="{im}" '
                f'style="background:{_heat_colour(lk * im)}">{ids}</td>'
            )
        body.append(f"<tr><th>{im}</th>{''.join(tds)}</tr>")
    return (
        f'<table class="pp-heatmap"><caption>{esc(t("ui.desk.heat_caption", lang))}'
        f"</caption><tr><th>{esc(t('ui.desk.impact', lang))} ↓ / "
        f"{esc(t('ui.desk.likelihood', lang))} →</th>{head}</tr>{''.join(body)}</table>"
    )


def table(
    columns: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    *,
    empty: str = "—",
    css: str = "pp-table",
) -> str:
    """Return a plain HTML table; every cell escaped. ``columns`` are ``(key, header)`` pairs."""
    if not rows:
        return f'<p class="pp-empty">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for _, h in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(r.get(k)))}</td>" for k, _ in columns) + "</tr>"
        for r in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


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


#: Page styles (inline; no external stylesheet or font).
CSS = """
.pp-badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;
  font-weight:600}
.pp-tile{border:1px solid #d8dee6;border-radius:6px;padding:8px 10px;background:#fff;
  min-height:150px;font-size:13px}
.pp-tile-head{display:flex;gap:8px;align-items:center}
.pp-tile-title{font-weight:600;margin:4px 0;line-height:1.35}
.pp-tile-row span{color:#5b6b7c}
.pp-trend{color:#5b6b7c;font-size:12px}
.pp-reasons{margin:4px 0 0 16px;padding:0;color:#8d4b00;font-size:12px}
.pp-board{display:flex;gap:10px;align-items:flex-start}
.pp-col{flex:1;background:#f3f5f8;border-radius:6px;padding:6px;min-width:150px}
.pp-col-head{font-weight:600;margin-bottom:6px}
.pp-card{background:#fff;border-left:4px solid #90a4ae;border-radius:4px;padding:6px;
  margin-bottom:6px;font-size:13px}
.pp-card-meta{color:#5b6b7c;font-size:12px;margin-top:3px}
.pp-slip{color:#c62828}
.pp-table{border-collapse:collapse;font-size:13px;width:100%}
.pp-table th,.pp-table td{border-bottom:1px solid #e0e6ed;padding:4px 6px;text-align:left;
  vertical-align:top}
.pp-table th{background:#f3f5f8}
.pp-heatmap{border-collapse:collapse;font-size:12px}
.pp-heatmap td,.pp-heatmap th{border:1px solid #fff;width:64px;height:44px;text-align:center}
.pp-heatmap caption{text-align:left;font-weight:600;margin-bottom:4px}
.pp-empty{color:#78909c}
"""

__all__ = [
    "BASELINE",
    "CSS",
    "BaselineRow",
    "Clock",
    "TaskSummary",
    "against_baseline",
    "baseline_table",
    "esc",
    "fmt_date",
    "gantt_svg",
    "heatmap",
    "level_label",
    "matters_awaiting",
    "next_milestone",
    "open_escalations",
    "projected_finish",
    "rating_badge",
    "rating_label",
    "refusal_text",
    "reporting_clock",
    "slip_text",
    "solver_status",
    "status_board",
    "table",
    "task_summaries",
    "task_tile",
    "title_of",
    "yes_no",
]
