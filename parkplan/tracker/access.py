"""Roles and visibility: who may write what, who may read what. Pure functions.

Visibility: every record has a level, 内部 internal > 可共享 shareable > 公开 public; a user
reads a record only if its level is within their clearance (:func:`visible`).

Writes (:func:`check_write`), by role:

=================================  =====  ========  ======  ==========  =======  ======
record / action                    admin  convenor  office  task_owner  planner  viewer
=================================  =====  ========  ======  ==========  =======  ======
task (update units, titles)        –      ✓         ✓       –           –        –
milestone, evidence (add, update)  –      ✓         ✓       own tasks   –        –
risk (add, update, review)         –      ✓         ✓       own tasks   –        –
KPI definition (add, update)       –      ✓         ✓       –           –        –
KPI actual (add)                   –      ✓         ✓       own tasks   –        –
run escalation rules               –      ✓         ✓       –           –        –
escalation step, owner level       –      ✓         ✓       own tasks   –        –
escalation step, office level      –      ✓         ✓       –           –        –
escalation step, convenor/national –      ✓         –       –           –        –
major matter (open)                –      ✓         ✓       own tasks   –        –
major matter (update, reported)    –      ✓         ✓       –           –        –
baseline (save)                    –      ✓         ✓       –           –        –
user (add, update)                 ✓      –         –       –           –        –
=================================  =====  ========  ======  ==========  =======  ======

The admin manages accounts and nothing else (separation of duties); planners edit siting
scenarios, not tracker records; viewers read. A deactivated user writes nothing. Nobody
may write a record above their own clearance (they could not read it back).
"""

from __future__ import annotations

from typing import Any

from parkplan.errors import ParkplanError
from parkplan.tracker.model import (
    ROLE_LABELS,
    Baseline,
    Escalation,
    Evidence,
    Kpi,
    KpiActual,
    Level,
    MajorMatter,
    Milestone,
    Risk,
    Role,
    Task,
    User,
    Visibility,
)


class PermissionDenied(ParkplanError):
    """The user may not do this; nothing was written."""


class NotFound(ParkplanError):
    """No such record, or none the user may see (the two are not told apart)."""


#: Programme-wide actions that concern no single record.
ESCALATION_RUN = "escalation_run"

_ENTITY = {Task: "task", Milestone: "milestone", Evidence: "evidence", Risk: "risk",
           Kpi: "kpi", KpiActual: "kpi_actual", Escalation: "escalation",
           MajorMatter: "matter", User: "user", Baseline: "baseline"}

#: Records task owners may write for their own tasks.
_OWNER_RECORDS = {"milestone", "evidence", "risk", "kpi_actual"}
#: Records only the office and the convenor write.
_OFFICE_RECORDS = {"task", "kpi", "baseline", ESCALATION_RUN}

#: Which roles handle an escalation at each level (task owners only for their tasks).
LADDER: dict[Level, frozenset[Role]] = {
    Level.owner: frozenset({Role.task_owner, Role.office, Role.convenor}),
    Level.office: frozenset({Role.office, Role.convenor}),
    Level.convenor: frozenset({Role.convenor}),
    Level.national: frozenset({Role.convenor}),
}


def entity_name(record: Any) -> str:
    """Return the entity name of a record (``"milestone"``) or of a programme action."""
    if isinstance(record, str):
        return record
    return _ENTITY[type(record)]


def record_label(record: Any) -> str:
    """Name a record in messages, e.g. ``"milestone M3-2"``."""
    entity = entity_name(record)
    if isinstance(record, str):
        return {"escalation_run": "the escalation rules"}.get(record, record)
    rid = record_id(record)
    if entity == "matter":
        return f"major matter #{rid}"
    if entity == "escalation":
        return f"escalation #{rid}"
    if entity == "kpi_actual":
        return f"an actual of KPI {record.kpi_id}"
    return f"{entity} {rid}"


def record_id(record: Any) -> str:
    """Return a record's id as text."""
    for attr in ("id", "number", "name"):
        value = getattr(record, attr, None)
        if value is not None:
            return str(value)
    return "?"


def record_task(record: Any, tasks_of: dict[str, int] | None = None) -> int | None:
    """Return the task a record belongs to, if any."""
    if isinstance(record, Task):
        return record.number
    task = getattr(record, "task", None)
    if task is None and tasks_of is not None:
        key = getattr(record, "milestone_id", None) or getattr(record, "kpi_id", None)
        task = tasks_of.get(key) if key else None
    return task


def visible(user: User, record: Any) -> bool:
    """Whether ``user`` may read ``record`` (its visibility within their clearance)."""
    vis = getattr(record, "visibility", None)
    if vis is None:
        return True
    return user.can_see(Visibility(vis))


def _who(user: User) -> str:
    role = ROLE_LABELS[user.role]
    if user.role == Role.task_owner:
        owned = ", ".join(_code(t) for t in user.tasks)
        role = f"{role} of {owned}"
    return f"{user.name} ({role})"


def _code(task: int) -> str:
    from parkplan.tracker.model import TASK_CODES

    return f"task {TASK_CODES.get(task, task)}"


def check_write(user: User, action: str, record: Any, *, task: int | None = None) -> None:
    """Refuse unless ``user`` may do ``action`` to ``record``.

    Parameters
    ----------
    user : User
    action : str
        ``create``, ``update``, ``acknowledge``, ``act``, ``close``, ``report``, ``run`` or
        ``save``.
    record : record or str
        The record as it is (for an update, check both the record before and after), or
        a programme action name (:data:`ESCALATION_RUN`).
    task : int, optional
        The task the record belongs to when the record does not say (evidence, KPI
        actuals).

    Raises
    ------
    PermissionDenied
        With a message naming the user, their role, the action, the record and the rule.
    """
    entity = entity_name(record)
    label = record_label(record)
    task = task if task is not None else (None if isinstance(record, str)
                                          else record_task(record))

    def deny(why: str) -> None:
        raise PermissionDenied(f"{_who(user)} may not {action} {label}: {why}")

    if not user.active:
        deny("the account is deactivated")
    if user.role == Role.viewer:
        deny("viewers read and do not write")
    if user.role == Role.planner:
        deny("planners edit siting scenarios, not tracker records")
    if entity == "user":
        if user.role != Role.admin:
            deny("only the admin manages users")
        return
    if user.role == Role.admin:
        deny("the admin manages users only, not tracker records")
    vis = getattr(record, "visibility", None)
    if vis is not None and not user.can_see(Visibility(vis)):
        deny(f"the record is {Visibility(vis).label} {Visibility(vis).value}, above your "
             f"clearance {user.clearance.label} {user.clearance.value}")
    if user.role == Role.convenor:
        return
    if entity == "escalation":
        level = Level(record.level)
        if user.role not in LADDER[level]:
            deny(f"an escalation at the {level.value} level is handled by the "
                 + ", ".join(sorted(r.value for r in LADDER[level])))
        if user.role == Role.task_owner and task not in user.tasks:
            deny("task owners handle escalations of their own tasks only")
        return
    if user.role == Role.office:
        return
    # task owners from here on
    if entity == "matter":
        if action != "create":
            deny("only the office and the convenor update a major matter or mark it reported")
        if task not in user.tasks:
            deny("task owners open major matters of their own tasks only")
        return
    if entity in _OFFICE_RECORDS or entity not in _OWNER_RECORDS:
        deny("only the office and the convenor do this")
    if task not in user.tasks:
        deny(f"task owners edit only their own tasks' records; this is {_code(task)}"
             if task else "task owners edit only their own tasks' records")


__all__ = ["ESCALATION_RUN", "LADDER", "NotFound", "PermissionDenied", "check_write",
           "entity_name", "record_id", "record_label", "record_task", "visible"]
