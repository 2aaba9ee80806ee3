"""Task-force meetings (会商研判): date, attendees, topics, decisions, and actions.

Each action (owner, due date, task) **is a milestone** of its task, id ``A<task>-<n>``,
starting on the meeting's date: it appears on the task's board, in the CPM network, in the
ratings and the escalation rules (an overdue action escalates like an overdue milestone),
in the Excel export, and its progress is recorded with ``milestones update``. The table
``meeting_actions`` (migration 0004) links each action milestone to its meeting;
:func:`board` lists a task's milestones with each item's kind (``milestone`` or
``action``) and meeting. Why not a separate action table: see
docs/decisions/0006-notifications.md.

Only the task-force office and the convenor record meetings (the access rules'
office-and-convenor records); a meeting is 内部 internal unless said otherwise, and its
actions take the meeting's visibility unless an action says otherwise. Every write goes
through :class:`~parkplan.tracker.Tracker` in one transaction and is journaled (entity
``meeting``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import Field, field_validator, model_validator
from sqlalchemy import Connection

from parkplan.errors import InputError, Problem
from parkplan.i18n import t
from parkplan.identity.users import OptText, User, Visibility, visibility_from_label
from parkplan.tracker import access, tables
from parkplan.tracker.access import NotFound, PermissionDenied
from parkplan.tracker.model import Record, TaskNo, Text, build
from parkplan.tracker.repository import check_changes, load_milestones, next_id

if TYPE_CHECKING:
    from parkplan.tracker.service import Tracker

#: The record name meetings have in access checks and the journal.
ENTITY = "meeting"


class Action(Record):
    """An action decided at a meeting: what, who, by when, for which task.

    ``milestone_id`` is set once it is recorded (the milestone that carries it).
    """

    task: TaskNo
    title_zh: Text
    owner: Text
    due: date
    title_en: OptText = ""
    visibility: Visibility | None = None
    milestone_id: str | None = None

    _vis = field_validator("visibility", mode="before")(visibility_from_label)


class Meeting(Record):
    """A task-force meeting (会商研判) and the ids of its action milestones."""

    id: int | None = None
    held_on: date
    title: Text
    convened_by: OptText = ""
    attendees: tuple[str, ...] = Field(min_length=1)
    topics: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    recorded_by: str
    recorded_at: datetime
    visibility: Visibility = Visibility.internal
    version: int = Field(1, ge=1)

    _vis = field_validator("visibility", mode="before")(visibility_from_label)

    @model_validator(mode="after")
    def _no_blank_entries(self) -> Meeting:
        for name in ("attendees", "topics", "decisions"):
            if any(not str(x).strip() for x in getattr(self, name)):
                raise ValueError(f"{name} has an empty entry")
        return self


@dataclass(frozen=True)
class BoardItem:
    """One line of a task's board: a milestone or a meeting's action, with its schedule."""

    kind: str
    planned: Any
    meeting_id: int | None = None

    @property
    def milestone(self) -> Any:
        """The milestone (an action is one too)."""
        return self.planned.milestone

    def to_dict(self) -> dict:
        """Return a JSON-ready dict: the planned milestone's, with kind and meeting."""
        data = self.planned.to_dict()
        data.update(
            kind=self.kind, kind_label=t(f"meeting.kind.{self.kind}"), meeting_id=self.meeting_id
        )
        return data


# ------------------------------------------------------------------ access
def check_write(user: User, action: str, meeting: Meeting | None = None) -> None:
    """Refuse unless ``user`` may record or change meetings.

    Meetings are a record of the office and the convenor (access rules: records only the
    office and the convenor write); nobody writes a meeting above their clearance.

    Raises
    ------
    PermissionDenied
    """
    access.check_write(user, action, "meetings")
    if meeting is not None and not user.can_see(meeting.visibility):
        raise PermissionDenied(
            f"{user.name} may not {action} a meeting at {meeting.visibility.label} "
            f"{meeting.visibility.value}: above your clearance {user.clearance.value}",
            code="above_clearance",
            values=access.refusal_values(
                user,
                action,
                "meeting",
                meeting.id,
                visibility=meeting.visibility.value,
                clearance=user.clearance.value,
            ),
        )


# ---------------------------------------------------------------- mapping
def _from_row(row: Any, actions: dict[int, list[str]]) -> Meeting:
    data = dict(row._mapping)
    for name in ("attendees", "topics", "decisions"):
        data[name] = tuple(json.loads(data.pop(f"{name}_json")))
    data["actions"] = tuple(actions.get(row.id, ()))
    return Meeting.model_validate(data)


def _to_row(m: Meeting) -> dict[str, Any]:
    data = m.model_dump(mode="python", exclude={"id", "actions"})
    for name in ("attendees", "topics", "decisions"):
        data[f"{name}_json"] = json.dumps(list(data.pop(name)), ensure_ascii=False)
    data["visibility"] = m.visibility.value
    return data


def _load(conn: Connection) -> list[Meeting]:
    actions: dict[int, list[str]] = {}
    for r in conn.execute(
        sa.select(tables.meeting_actions).order_by(
            tables.meeting_actions.c.meeting_id, tables.meeting_actions.c.position
        )
    ):
        actions.setdefault(r.meeting_id, []).append(r.milestone_id)
    rows = conn.execute(
        sa.select(tables.meetings).order_by(tables.meetings.c.held_on, tables.meetings.c.id)
    ).all()
    return [_from_row(r, actions) for r in rows]


def _one(tracker: Tracker, conn: Connection, meeting_id: int) -> Meeting:
    for m in _load(conn):
        if m.id == meeting_id and access.visible(tracker.user, m):
            return m
    raise NotFound(f"no meeting #{meeting_id} visible to you")


def action_meetings(conn: Connection) -> dict[str, int]:
    """Return each action milestone's id mapped to its meeting's id."""
    return {r.milestone_id: r.meeting_id for r in conn.execute(sa.select(tables.meeting_actions))}


# ================================================================= writing
def add_meeting(
    tracker: Tracker,
    *,
    held_on: date | str,
    title: str,
    attendees: Sequence[str],
    topics: Sequence[str] = (),
    decisions: Sequence[str] = (),
    actions: Iterable[Action | dict] = (),
    convened_by: str = "",
    visibility: Visibility | str = Visibility.internal,
) -> Meeting:
    """Record a meeting and turn each of its actions into a milestone of its task.

    Parameters
    ----------
    tracker : Tracker
        Acting as the office or the convenor.
    held_on : date
    title : str
    attendees, topics, decisions : sequence of str
    actions : iterable of Action or dict
        Each with ``task``, ``title_zh``, ``owner``, ``due`` (not before the meeting),
        optionally ``title_en`` and ``visibility`` (default the meeting's).
    convened_by : str
        Who chaired it.
    visibility : Visibility
        Default 内部 internal.

    Returns
    -------
    Meeting
        With its id and the ids of the action milestones (``A<task>-<n>``).

    Raises
    ------
    PermissionDenied
        Unless the user is the office or the convenor; nothing is written.
    InputError
        An action with an unknown owner, a due date before the meeting, a task that does
        not exist …; every problem is named and nothing is written.
    """
    label = "meeting"
    meeting = build(
        Meeting,
        {
            "held_on": held_on,
            "title": title,
            "attendees": tuple(attendees),
            "topics": tuple(topics),
            "decisions": tuple(decisions),
            "convened_by": convened_by,
            "visibility": visibility,
            "recorded_by": tracker.user.name,
            "recorded_at": tracker.clock(),
        },
        what=label,
    )
    check_write(tracker.user, "record", meeting)
    items = _actions(actions, meeting)
    with tracker.transaction(), tracker.repository.write() as conn:
        new_id = conn.execute(
            tables.meetings.insert().values(_to_row(meeting))
        ).inserted_primary_key[0]
        meeting = meeting.model_copy(update={"id": new_id})
        ids = _write_actions(tracker, conn, meeting, items, start=0)
        meeting = meeting.model_copy(update={"actions": ids})
        tracker.repository.journal(conn, "create", ENTITY, new_id, None, meeting)
    return meeting


def add_action(tracker: Tracker, meeting_id: int, version: int, action: Action | dict) -> Meeting:
    """Add an action to a meeting read at ``version`` (a follow-up decision)."""
    label = f"meeting #{meeting_id}"
    with tracker.transaction(), tracker.repository.write() as conn:
        before = _one(tracker, conn, meeting_id)
        check_write(tracker.user, "update", before)
        if version != before.version:
            raise tracker.repository.stale(conn, ENTITY, meeting_id, label, version)
        items = _actions([action], before)
        ids = _write_actions(tracker, conn, before, items, start=len(before.actions))
        after = before.model_copy(
            update={"actions": before.actions + ids, "version": before.version + 1}
        )
        tracker.repository.update_row(conn, ENTITY, meeting_id, version, _to_row(after), label)
        tracker.repository.journal(conn, "update", ENTITY, meeting_id, before, after)
    return after


def update_meeting(tracker: Tracker, meeting_id: int, version: int, **changes: Any) -> Meeting:
    """Change a meeting read at ``version`` (title, date, attendees, topics, decisions).

    Its actions change as milestones (``Tracker.update_milestone``).
    """
    label = f"meeting #{meeting_id}"
    fixed = {"id", "version", "actions", "recorded_by", "recorded_at"}
    check_changes(Meeting, label, changes, fixed)
    for name in ("attendees", "topics", "decisions"):
        if name in changes:
            changes[name] = tuple(changes[name] or ())
    with tracker.transaction(), tracker.repository.write() as conn:
        before = _one(tracker, conn, meeting_id)
        check_write(tracker.user, "update", before)
        if version != before.version:
            raise tracker.repository.stale(conn, ENTITY, meeting_id, label, version)
        after = build(
            Meeting, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
        )
        check_write(tracker.user, "update", after)
        if after.actions and after.held_on > before.held_on:
            raise InputError(
                [
                    Problem(
                        label,
                        None,
                        "held_on",
                        "the meeting's actions start on its date; it cannot move later",
                    )
                ]
            )
        tracker.repository.update_row(conn, ENTITY, meeting_id, version, _to_row(after), label)
        tracker.repository.journal(conn, "update", ENTITY, meeting_id, before, after)
    return after


def _actions(actions: Iterable[Action | dict], meeting: Meeting) -> list[Action]:
    items, problems = [], []
    for n, a in enumerate(actions, start=1):
        what = f"meeting action {n}"
        try:
            item = a if isinstance(a, Action) else build(Action, dict(a), what=what)
        except InputError as err:
            problems += err.problems
            continue
        if item.due < meeting.held_on:
            problems.append(
                Problem(
                    what, None, "due", f"due {item.due} is before the meeting ({meeting.held_on})"
                )
            )
        items.append(item)
    if problems:
        raise InputError(problems)
    return items


def _write_actions(
    tracker: Tracker, conn: Connection, meeting: Meeting, items: list[Action], start: int
) -> tuple[str, ...]:
    ids = []
    note = t("meeting.action_note", id=meeting.id, held_on=meeting.held_on)
    for pos, a in enumerate(items, start=start + 1):
        mid = next_id(conn, tables.milestones, f"A{a.task}-")
        m = tracker.add_milestone(
            id=mid,
            task=a.task,
            title_zh=a.title_zh,
            title_en=a.title_en,
            owner=a.owner,
            start=meeting.held_on,
            due=a.due,
            visibility=a.visibility or meeting.visibility,
            note=note,
        )
        conn.execute(
            tables.meeting_actions.insert().values(
                meeting_id=meeting.id, position=pos, milestone_id=m.id
            )
        )
        ids.append(m.id)
    return tuple(ids)


# ================================================================= reading
def meetings(tracker: Tracker, *, task: int | None = None) -> list[Meeting]:
    """Return the meetings the user may see, oldest first.

    With ``task``, only meetings with an action on that task.
    """
    with tracker.repository.read() as conn:
        found = [m for m in _load(conn) if access.visible(tracker.user, m)]
        if task is None:
            return found
        tasks_of = {m.id: m.task for m in load_milestones(conn)}
    return [m for m in found if any(tasks_of.get(a) == task for a in m.actions)]


def meeting(tracker: Tracker, meeting_id: int) -> Meeting:
    """Return one meeting."""
    with tracker.repository.read() as conn:
        return _one(tracker, conn, meeting_id)


def meeting_actions(tracker: Tracker, meeting_id: int) -> list[Any]:
    """Return the action milestones of a meeting that the user may see, in order."""
    m = meeting(tracker, meeting_id)
    by_id = {x.id: x for x in tracker.milestones()}
    return [by_id[a] for a in m.actions if a in by_id]


def board(tracker: Tracker, task: int | None = None, as_of: date | None = None) -> list[BoardItem]:
    """Return a task's board (or the programme's): milestones and meeting actions.

    Each item carries the milestone with its CPM figures and slip
    (:class:`~parkplan.tracker.queries.PlannedMilestone`), its kind (``milestone`` or
    ``action``) and, for an action, its meeting.
    """
    plan = tracker.plan(task, as_of)
    with tracker.repository.read() as conn:
        linked = action_meetings(conn)
    return [
        BoardItem(
            "action" if p.milestone.id in linked else "milestone", p, linked.get(p.milestone.id)
        )
        for p in plan
    ]


__all__ = [
    "ENTITY",
    "Action",
    "BoardItem",
    "Meeting",
    "action_meetings",
    "add_action",
    "add_meeting",
    "board",
    "check_write",
    "meeting",
    "meeting_actions",
    "meetings",
    "update_meeting",
]
