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

A refusal (:class:`PermissionDenied`) says why in English and carries the rule's code
(:data:`REFUSALS`) and the values of its sentence, so that the app can say it in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parkplan.errors import ParkplanError
from parkplan.identity.users import ROLE_LABELS, Role, User, Visibility
from parkplan.tracker.model import (
    Baseline,
    Escalation,
    Evidence,
    Kpi,
    KpiActual,
    Level,
    MajorMatter,
    Milestone,
    Risk,
    Task,
)

#: Every refusal's code, and the values its sentence needs beyond those of every refusal
#: (``user``, ``role``, ``tasks``, ``action``, ``entity``, ``record``, ``task``).
REFUSALS: dict[str, tuple[str, ...]] = {
    "deactivated": (),
    "viewer_read_only": (),
    "planner_no_records": (),
    "admin_only_users": (),
    "admin_users_only": (),
    "above_clearance": ("visibility", "clearance"),
    "escalation_level": ("level", "roles"),
    "own_escalations_only": (),
    "matter_office_only": (),
    "own_matters_only": (),
    "office_only": (),
    "own_tasks_only": (),
    # parkplan.services.planning.check_can_plan's refusal; it does not pass its code yet,
    # so the app shows its English words until it does
    "planning_role": (),
}


class PermissionDenied(ParkplanError):
    """The user may not do this; nothing was written.

    Parameters
    ----------
    message : str
        The refusal in English (CLI, logs, the JSON API).
    code : str, optional
        Which rule refused (a key of :data:`REFUSALS`); ``None`` for a refusal without one.
    values : dict, optional
        What the sentence is made of, JSON-ready, so that it can be said in any language:
        ``user``, ``role``, ``tasks`` (a task owner's task numbers), ``action``, ``entity``
        (:func:`entity_name`), ``record`` (its id, ``None`` for a programme action),
        ``task`` (the record's task, if any), and the code's own (:data:`REFUSALS`).

    Attributes
    ----------
    code : str or None
    values : dict
    """

    def __init__(
        self, message: str, *, code: str | None = None, values: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.code = code
        self.values = dict(values or {})


def refusal_values(
    user: User,
    action: str,
    entity: str | None = None,
    record: str | int | None = None,
    *,
    task: int | None = None,
    **values: Any,
) -> dict[str, Any]:
    """Return the values every refusal carries, plus the code's own ``values``.

    Parameters
    ----------
    user : User
        Who was refused.
    action : str
    entity : str, optional
        What was to be written (:func:`entity_name`, or e.g. ``"meeting"``); ``None`` when
        the refusal concerns no kind of record.
    record : str or int, optional
        The record's id (:func:`record_reference`); ``None`` for a programme action or a
        record not yet numbered.
    task : int, optional
        The task the record belongs to.
    **values
        The code's own values (:data:`REFUSALS`).
    """
    return {
        "user": user.name,
        "role": user.role.value,
        "tasks": list(user.tasks),
        "action": action,
        "entity": entity,
        "record": None if record is None else str(record),
        "task": task,
        **values,
    }


class NotFound(ParkplanError):
    """No such record, or none the user may see (the two are not told apart)."""


#: Programme-wide actions that concern no single record.
ESCALATION_RUN = "escalation_run"

_ENTITY = {
    Task: "task",
    Milestone: "milestone",
    Evidence: "evidence",
    Risk: "risk",
    Kpi: "kpi",
    KpiActual: "kpi_actual",
    Escalation: "escalation",
    MajorMatter: "matter",
    User: "user",
    Baseline: "baseline",
}

#: Records task owners may write for their own tasks.
_OWNER_RECORDS = {"milestone", "evidence", "risk", "kpi_actual"}

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
    rid = record_reference(record)
    if entity == "matter":
        return f"major matter #{rid}"
    if entity == "escalation":
        return f"escalation #{rid}"
    if entity == "kpi_actual":
        return f"an actual of KPI {rid}"
    return f"{entity} {rid}"


def record_reference(record: Any) -> str | None:
    """Return the id a message names a record by: its own, or its KPI's for a KPI actual.

    ``None`` for a programme action (a name, not a record).
    """
    if isinstance(record, str):
        return None
    if entity_name(record) == "kpi_actual":  # an actual has no id of its own
        return record.kpi_id
    return record_id(record)


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


class Grant(StrEnum):
    """How much of a kind of record a role may write: all, its own tasks', or none."""

    all = "all"
    own = "own"
    none = "none"


@dataclass(frozen=True)
class Permission:
    """A role's grant on a kind of record, and the refusal's code when it is not enough."""

    grant: Grant
    code: str | None = None


_ALL = Permission(Grant.all)
_NOT_USERS = Permission(Grant.none, "admin_only_users")

#: The write matrix (the table above) as data: role → entity, or ``entity:action`` for an
#: action with its own rule, or ``*`` for any other → :class:`Permission`. Escalations
#: also follow :data:`LADDER`; nobody writes above their clearance.
WRITES: dict[Role, dict[str, Permission]] = {
    Role.admin: {"*": Permission(Grant.none, "admin_users_only"), "user": _ALL},
    Role.convenor: {"*": _ALL, "user": _NOT_USERS},
    Role.office: {"*": _ALL, "user": _NOT_USERS},
    Role.task_owner: {
        "*": Permission(Grant.none, "office_only"),
        "user": _NOT_USERS,
        **{e: Permission(Grant.own, "own_tasks_only") for e in _OWNER_RECORDS},
        "escalation": Permission(Grant.own, "own_escalations_only"),
        "matter": Permission(Grant.none, "matter_office_only"),
        "matter:create": Permission(Grant.own, "own_matters_only"),
    },
    Role.planner: {"*": Permission(Grant.none, "planner_no_records")},
    Role.viewer: {"*": Permission(Grant.none, "viewer_read_only")},
}
#: Roles that write no tracker record at all: refused before the record is looked at.
_RECORDLESS = frozenset({Role.admin, Role.planner, Role.viewer})

#: Each refusal's reason in English (the library's message; the app says it from the code).
_WHY = {
    "deactivated": "the account is deactivated",
    "viewer_read_only": "viewers read and do not write",
    "planner_no_records": "planners edit siting scenarios, not tracker records",
    "admin_only_users": "only the admin manages users",
    "admin_users_only": "the admin manages users only, not tracker records",
    "above_clearance": "the record is {record_level}, above your clearance {user_level}",
    "escalation_level": "an escalation at the {level} level is handled by the {role_list}",
    "own_escalations_only": "task owners handle escalations of their own tasks only",
    "matter_office_only": (
        "only the office and the convenor update a major matter or mark it reported"
    ),
    "own_matters_only": "task owners open major matters of their own tasks only",
    "office_only": "only the office and the convenor do this",
    "own_tasks_only": "task owners edit only their own tasks' records{this}",
}


def permission(role: Role, entity: str, action: str) -> Permission:
    """Return what :data:`WRITES` grants ``role`` for ``action`` on ``entity``."""
    table = WRITES[role]
    return table.get(f"{entity}:{action}") or table.get(entity) or table["*"]


def _refusal(user: User, record: Any, task: int | None, perm: Permission) -> dict | None:
    """Return the code and values of the first rule that refuses, or ``None``."""
    entity = entity_name(record)
    if not user.active:
        return {"code": "deactivated"}
    if perm.grant is Grant.none and (entity == "user" or user.role in _RECORDLESS):
        return {"code": perm.code}
    if perm.grant is Grant.all and entity == "user":
        return None
    vis = getattr(record, "visibility", None)
    if vis is not None and not user.can_see(Visibility(vis)):
        return {
            "code": "above_clearance",
            "visibility": Visibility(vis).value,
            "clearance": user.clearance.value,
        }
    if entity == "escalation" and user.role not in LADDER[Level(record.level)]:
        level = Level(record.level)
        return {
            "code": "escalation_level",
            "level": level.value,
            "roles": sorted(r.value for r in LADDER[level]),
        }
    if perm.grant is Grant.none or (perm.grant is Grant.own and task not in user.tasks):
        return {"code": perm.code}
    return None


def _why(code: str, values: dict[str, Any], task: int | None) -> str:
    words = dict(values)
    if code == "above_clearance":
        rec, mine = Visibility(values["visibility"]), Visibility(values["clearance"])
        words.update(
            record_level=f"{rec.label} {rec.value}", user_level=f"{mine.label} {mine.value}"
        )
    words["role_list"] = ", ".join(values.get("roles", ()))
    words["this"] = f"; this is {_code(task)}" if task else ""
    return _WHY[code].format(**words)


def check_write(user: User, action: str, record: Any, *, task: int | None = None) -> None:
    """Refuse unless ``user`` may do ``action`` to ``record`` (:data:`WRITES`).

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
        With a message naming the user, their role, the action, the record and the rule,
        and the rule's code and values (:data:`REFUSALS`).
    """
    entity = entity_name(record)
    task = task if task is not None else (None if isinstance(record, str) else record_task(record))
    refusal = _refusal(user, record, task, permission(user.role, entity, action))
    if refusal is None:
        return
    code = refusal.pop("code")
    raise PermissionDenied(
        f"{_who(user)} may not {action} {record_label(record)}: {_why(code, refusal, task)}",
        code=code,
        values=refusal_values(user, action, entity, record_reference(record), task=task, **refusal),
    )


__all__ = [
    "ESCALATION_RUN",
    "LADDER",
    "WRITES",
    "Grant",
    "Permission",
    "REFUSALS",
    "NotFound",
    "PermissionDenied",
    "check_write",
    "entity_name",
    "permission",
    "record_id",
    "record_label",
    "record_reference",
    "record_task",
    "refusal_values",
    "visible",
]
