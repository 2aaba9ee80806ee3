"""What to notify: events found in the records as of a date. Pure: no database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from parkplan.i18n import both, t
from parkplan.identity.users import Visibility
from parkplan.tracker import rules
from parkplan.tracker.model import LEVEL_LABELS, TASK_CODES, EscalationStatus, Level, MatterStatus

if TYPE_CHECKING:
    pass


#: Rule kinds whose escalations are not sent as such: the ``due_soon`` and
#: ``matter_overdue`` events tell the same thing, from the records themselves.
COVERED_RULE_KINDS = frozenset({"due_within", "matter_report_overdue"})


# ================================================================== events
@dataclass(frozen=True)
class Event:
    """Something to tell: a stable key, what kind, about what, and the message."""

    key: str
    kind: str
    subject_type: str
    subject_id: str
    task: int | None
    visibility: Visibility
    title: str
    body: str


def _task_line(task: int | None, titles: Mapping[int, str]) -> str | None:
    if task is None:
        return None
    return (
        f"**{both('notify.field.task', sep=' ')}**：{TASK_CODES.get(task, task)} "
        f"{titles.get(task, '')}".rstrip()
    )


def _line(key: str, value: Any) -> str:
    return f"**{both(key, sep=' ')}**：{value}"


def _body(title: str, lines: Sequence[str | None]) -> str:
    return "\n\n".join([f"### {title}", *[x for x in lines if x]])


def collect_events(
    records: rules.Records,
    escalations: Sequence[Any],
    as_of: date | datetime,
    *,
    due_soon_days: int = 14,
    ruleset: rules.RuleSet | None = None,
) -> list[Event]:
    """Find what to notify as of a date. Pure: records and a date in, events out.

    Parameters
    ----------
    records : Records
        Tasks, milestones and major matters.
    escalations : sequence of Escalation
    as_of : date or datetime
        The day for due-soon milestones; the moment for overdue matters (a bare date is
        00:00 of that day, as for the escalation rules).
    due_soon_days : int
        An open milestone is due soon when 0 ≤ due − as_of ≤ this.
    ruleset : RuleSet, optional
        To tell which escalations come from ``due_within`` and ``matter_report_overdue``
        rules (not sent as escalations: the due-soon and matter events cover them).

    Returns
    -------
    list of Event
        Keys: ``escalation:<escalation key>``, ``due_soon:<milestone>:<due>``,
        ``matter_opened:<id>``, ``matter_overdue:<id>:<deadline>``.
    """
    ruleset = ruleset or rules.load_rules()
    kind_of = {r.id: r.kind for r in ruleset.rules}
    titles = {task.number: task.title_zh for task in records.tasks}
    day = as_of.date() if isinstance(as_of, datetime) else as_of
    moment = as_of if isinstance(as_of, datetime) else datetime.combine(as_of, datetime.min.time())
    events: list[Event] = []
    for e in escalations:
        if e.status == EscalationStatus.closed or kind_of.get(e.rule_id) in COVERED_RULE_KINDS:
            continue
        level = LEVEL_LABELS[e.level]
        title = t(
            "notify.title.escalation",
            kind=t("notify.kind.escalation"),
            level=t(f"level.{Level(e.level).value}"),
            subject=t(f"subject.{e.subject_type}"),
            id=e.subject_id,
        )
        body = _body(
            title,
            [_task_line(e.task, titles), _line("notify.field.level", level), e.message.text("zh")],
        )
        events.append(
            Event(
                f"escalation:{e.key}",
                "escalation",
                e.subject_type,
                e.subject_id,
                e.task,
                Visibility(e.visibility),
                title,
                body,
            )
        )
    for m in records.milestones:
        left = (m.due - day).days
        if not m.open or not 0 <= left <= due_soon_days:
            continue
        title = t(
            "notify.title.record", kind=t("notify.kind.due_soon"), what=f"{m.id} {m.title_zh}"
        )
        body = _body(
            title,
            [
                _task_line(m.task, titles),
                _line("notify.field.owner", m.owner),
                _line("notify.field.due", m.due),
                _line("notify.field.forecast", m.forecast),
                _line("notify.field.days_left", left),
            ],
        )
        events.append(
            Event(
                f"due_soon:{m.id}:{m.due.isoformat()}",
                "due_soon",
                "milestone",
                m.id,
                m.task,
                Visibility(m.visibility),
                title,
                body,
            )
        )
    for mm in records.matters:
        if mm.status != MatterStatus.open or mm.reported_at is not None:
            continue
        detail = [
            _task_line(mm.task, titles),
            _line(
                "notify.field.what",
                t("notify.what_at", what=mm.what_happened, at=f"{mm.occurred_at:%Y-%m-%d %H:%M}"),
            ),
            _line("notify.field.impact", mm.impact),
            _line("notify.field.measures", mm.measures) if mm.measures else None,
            _line("notify.field.coordination", mm.coordination_requested)
            if mm.coordination_requested
            else None,
            _line("notify.field.deadline", f"{mm.report_deadline:%Y-%m-%d %H:%M}"),
        ]
        if mm.opened_at <= moment:
            title = t("notify.title.record", kind=t("notify.kind.matter_opened"), what=mm.title)
            events.append(
                Event(
                    f"matter_opened:{mm.id}",
                    "matter_opened",
                    "matter",
                    str(mm.id),
                    mm.task,
                    Visibility(mm.visibility),
                    title,
                    _body(title, detail),
                )
            )
        if moment > mm.report_deadline:
            title = t("notify.title.record", kind=t("notify.kind.matter_overdue"), what=mm.title)
            events.append(
                Event(
                    f"matter_overdue:{mm.id}:{mm.report_deadline:%Y%m%dT%H%M}",
                    "matter_overdue",
                    "matter",
                    str(mm.id),
                    mm.task,
                    Visibility(mm.visibility),
                    title,
                    _body(title, detail),
                )
            )
    return events


__all__ = [
    "COVERED_RULE_KINDS",
    "Event",
    "collect_events",
]
