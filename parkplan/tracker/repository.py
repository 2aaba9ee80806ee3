"""The tracker's unit of work: transactions, loading records, journaling, the version check.

Every module that reads or changes tracker records does it through a :class:`Repository`:
the :class:`~parkplan.tracker.service.Tracker` facade, the command modules under
:mod:`parkplan.tracker.commands`, and :mod:`.excel`, :mod:`.meetings` and :mod:`.notify`.
A repository knows the workspace, the acting user and the clock; it does not decide who
may do what (:mod:`.access`) or what a change means (the command modules).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.identity.users import User, Visibility
from parkplan.store import Workspace
from parkplan.tracker import access, journal, rules, tables
from parkplan.tracker.access import NotFound
from parkplan.tracker.model import (
    Escalation,
    EscalationStep,
    Kpi,
    MajorMatter,
    Milestone,
    Risk,
    Task,
)

#: Shanghai local time (UTC+8, no daylight saving): how the tracker's moments are stored.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class StaleVersion(ParkplanError):
    """The record changed since the caller read it; nothing was written."""


def now_shanghai() -> datetime:
    """Return the present moment in Shanghai, without time zone, to the second."""
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


# ------------------------------------------------------------- row mapping
def plain(value: Any) -> Any:
    """Return an enum's value, anything else unchanged (for a table row)."""
    return value.value if isinstance(value, Enum) else value


def row_of(record: Any, drop: Sequence[str] = ()) -> dict[str, Any]:
    """Return a record's fields as a table row, leaving out ``drop``."""
    return {k: plain(v) for k, v in record.model_dump(mode="python").items() if k not in drop}


def task_from(row: Any) -> Task:
    """Return the task of a ``tasks`` row."""
    data = dict(row._mapping)
    data["co_units"] = tuple(json.loads(data.pop("co_units_json")))
    return Task.model_validate(data)


def task_row(task: Task) -> dict[str, Any]:
    """Return the ``tasks`` row of a task."""
    data = row_of(task, drop=("co_units",))
    data["co_units_json"] = json.dumps(list(task.co_units), ensure_ascii=False)
    return data


def user_from(row: Any) -> User:
    """Return the user of a ``users`` row."""
    data = dict(row._mapping)
    data["tasks"] = tuple(json.loads(data.pop("tasks_json")))
    return User.model_validate(data)


def user_row(user: User) -> dict[str, Any]:
    """Return the ``users`` row of a user."""
    data = row_of(user, drop=("tasks",))
    data["tasks_json"] = json.dumps(list(user.tasks))
    return data


def record_order(record: Any) -> tuple:
    """Sort key of an id-keyed record: its task, then its id with numbers as numbers."""
    parts = re.findall(r"\d+|\D+", record.id)
    return (record.task, [(0, int(p)) if p.isdigit() else (1, p) for p in parts])


def visibility_of(record: Any) -> Any:
    """Return a record's (or a dict's) visibility, or ``None`` if it has none."""
    if isinstance(record, dict):
        return record.get("visibility")
    return getattr(record, "visibility", None)


# ----------------------------------------------------------------- loading
def load_tasks(conn: Connection) -> list[Task]:
    """Return every task, in order."""
    rows = conn.execute(sa.select(tables.tasks).order_by(tables.tasks.c.number)).all()
    return [task_from(r) for r in rows]


def load_milestones(conn: Connection) -> list[Milestone]:
    """Return every milestone with its dependencies, by task and id."""
    deps: dict[str, list[str]] = {}
    for mid, dep in conn.execute(
        sa.select(
            tables.milestone_dependencies.c.milestone_id,
            tables.milestone_dependencies.c.depends_on_id,
        )
    ):
        deps.setdefault(mid, []).append(dep)
    out = []
    for r in conn.execute(sa.select(tables.milestones)).all():
        data = dict(r._mapping)
        data["depends_on"] = tuple(sorted(deps.get(r.id, [])))
        out.append(Milestone.model_validate(data))
    return sorted(out, key=record_order)


def load_risks(conn: Connection) -> list[Risk]:
    """Return every risk, by task and id."""
    rows = conn.execute(sa.select(tables.risks)).all()
    return sorted((Risk.model_validate(dict(r._mapping)) for r in rows), key=record_order)


def load_kpis(conn: Connection) -> list[Kpi]:
    """Return every KPI definition, by task and id."""
    rows = conn.execute(sa.select(tables.kpis)).all()
    return sorted((Kpi.model_validate(dict(r._mapping)) for r in rows), key=record_order)


def load_matters(conn: Connection) -> list[MajorMatter]:
    """Return every major matter, oldest first."""
    rows = conn.execute(sa.select(tables.major_matters).order_by(tables.major_matters.c.id)).all()
    return [MajorMatter.model_validate(dict(r._mapping)) for r in rows]


def load_escalations(conn: Connection) -> list[Escalation]:
    """Return every escalation with its steps, oldest first."""
    steps: dict[int, list[EscalationStep]] = {}
    for s in conn.execute(
        sa.select(tables.escalation_steps).order_by(tables.escalation_steps.c.id)
    ):
        steps.setdefault(s.escalation_id, []).append(
            EscalationStep(step=s.step, who=s.who, at=s.at, comment=s.comment)
        )
    out = []
    for r in conn.execute(sa.select(tables.escalations).order_by(tables.escalations.c.id)):
        data = dict(r._mapping)
        data["key"] = data.pop("esc_key")
        data["steps"] = tuple(steps.get(r.id, ()))
        out.append(Escalation.model_validate(data))
    return out


def load_users(conn: Connection) -> list[User]:
    """Return every user, by name."""
    rows = conn.execute(sa.select(tables.users).order_by(tables.users.c.name)).all()
    return [user_from(r) for r in rows]


def load_records(conn: Connection) -> rules.Records:
    """Return the records the escalation rules and ratings read."""
    return rules.Records(
        load_tasks(conn), load_milestones(conn), load_risks(conn), load_matters(conn)
    )


_LOADERS: dict[str, Callable[[Connection], list[Any]]] = {
    "task": load_tasks,
    "milestone": load_milestones,
    "risk": load_risks,
    "kpi": load_kpis,
    "matter": load_matters,
    "escalation": load_escalations,
    "user": load_users,
}

#: Each versioned entity's table and primary-key column.
TABLES: dict[str, tuple[sa.Table, str]] = {
    "task": (tables.tasks, "number"),
    "milestone": (tables.milestones, "id"),
    "risk": (tables.risks, "id"),
    "kpi": (tables.kpis, "id"),
    "matter": (tables.major_matters, "id"),
    "escalation": (tables.escalations, "id"),
    "user": (tables.users, "name"),
    "meeting": (tables.meetings, "id"),
}


# ------------------------------------------------------------ validation
def check_changes(cls: type, label: str, changes: dict[str, Any], fixed: Sequence[str]) -> None:
    """Refuse changes to fields ``cls`` does not have or that are ``fixed``.

    Raises
    ------
    InputError
    """
    known = set(cls.model_fields)
    problems = [
        Problem(label, None, k, "is not a field that can be changed")
        for k in changes
        if k not in known or k in fixed
    ]
    if problems:
        raise InputError(problems)


def known_owners(conn: Connection) -> set[str]:
    """Return the names an owner may be: users, their units, tasks' lead and co-units."""
    owners: set[str] = set()
    for u in load_users(conn):
        owners.update(x for x in (u.name, u.display_name, u.unit) if x)
    for t in load_tasks(conn):
        owners.add(t.lead_unit)
        owners.update(t.co_units)
    return owners


def check_owner(conn: Connection, owner: str, label: str) -> list[Problem]:
    """Return a problem if ``owner`` is no known owner (:func:`known_owners`)."""
    if owner in known_owners(conn):
        return []
    return [
        Problem(
            label,
            None,
            "owner",
            f"unknown owner {owner!r}: name a user, a user's unit, or a task's lead or co-unit",
        )
    ]


def check_task(conn: Connection, task: int, label: str) -> list[Problem]:
    """Return a problem if the workspace has no task ``task``."""
    found = conn.execute(
        sa.select(tables.tasks.c.number).where(tables.tasks.c.number == task)
    ).first()
    if found is None:
        return [Problem(label, None, "task", f"there is no task {task} in this workspace")]
    return []


def next_id(conn: Connection, table: sa.Table, prefix: str) -> str:
    """Return ``prefix`` followed by one more than the largest number after it in ``table``."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = [
        int(mt.group(1)) for (i,) in conn.execute(sa.select(table.c.id)) if (mt := pattern.match(i))
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def find_user(conn: Connection, name: str) -> User:
    """Return the stored user ``name``.

    Raises
    ------
    NotFound
        If the workspace has no such user.
    """
    row = conn.execute(sa.select(tables.users).where(tables.users.c.name == name)).first()
    if row is None:
        raise NotFound(f"unknown user {name!r}; the admin adds users with 'parkplan users add'")
    return user_from(row)


# ------------------------------------------------------------ repository
class Transaction:
    """The connection of an open transaction, shared by the repositories made inside it."""

    conn: Connection | None = None


class Repository:
    """Reads and writes tracker records on ``workspace`` as ``user``, at ``clock``'s time.

    Parameters
    ----------
    workspace : Workspace
    user : User
    clock : callable
        Returns "now" (Shanghai local time).
    tx : Transaction, optional
        An open transaction to share (trackers made inside one).
    """

    def __init__(
        self,
        workspace: Workspace,
        user: User,
        clock: Callable[[], datetime],
        tx: Transaction | None = None,
    ):
        self.workspace = workspace
        self.user = user
        self.clock = clock
        self.tx = tx or Transaction()

    def today(self) -> date:
        """Return the clock's date."""
        return self.clock().date()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make every write inside the block one transaction (nested blocks join it)."""
        if self.tx.conn is not None:
            yield
            return
        with self.workspace.begin() as conn:
            self.tx.conn = conn
            try:
                yield
            finally:
                self.tx.conn = None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection to read on (the open transaction's, if any)."""
        if self.tx.conn is not None:
            yield self.tx.conn
        else:
            with self.workspace.connect() as conn:
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Yield a connection in a write transaction (a savepoint inside an open one).

        Raises
        ------
        ParkplanError
            If a concurrent change broke a constraint; nothing was written.
        """
        try:
            if self.tx.conn is not None:
                with self.tx.conn.begin_nested():
                    yield self.tx.conn
            else:
                with self.workspace.begin() as conn:
                    yield conn
        except sa.exc.IntegrityError as err:
            raise ParkplanError(
                "the change conflicts with another one made at the same "
                f"time; nothing was written, try again ({err.orig})"
            ) from None

    def journal(
        self,
        conn: Connection,
        action: str,
        entity: str,
        entity_id: Any,
        before: Any,
        after: Any,
        *,
        visibility: Visibility | None = None,
    ) -> None:
        """Append a journal entry about a change, at the visibility of what it reveals.

        The entry's level is ``visibility`` when given (an entry about a record without a
        level of its own, such as a site moved by a milestone, takes the level of the
        record that caused it), else the higher of ``before``'s and ``after``'s levels
        (a record's attribute or a dict's ``visibility`` key), else public.
        """
        levels = [
            Visibility(v)
            for v in (visibility_of(before), visibility_of(after), visibility)
            if v is not None
        ]
        vis = max(levels, key=lambda v: v.rank) if levels else Visibility.public

        def state(r: Any) -> dict | None:
            if r is None:
                return None
            return r if isinstance(r, dict) else r.to_dict()

        journal.record(
            conn,
            at=self.clock(),
            actor=self.user.name,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=state(before),
            after=state(after),
            visibility=vis,
        )

    def visible(self, records: Iterable[Any]) -> list[Any]:
        """Return the records within the user's clearance."""
        return [r for r in records if access.visible(self.user, r)]

    def one(self, conn: Connection, entity: str, key: Any) -> Any:
        """Return one record of ``entity`` by key, if the user may see it.

        Raises
        ------
        NotFound
            If there is none, or it is above the user's clearance.
        """
        key_attr = {"task": "number", "user": "name"}.get(entity, "id")
        for record in _LOADERS[entity](conn):
            if str(getattr(record, key_attr)) == str(key):
                if not access.visible(self.user, record):
                    break
                return record
        label = {"matter": "major matter #", "escalation": "escalation #"}.get(entity, f"{entity} ")
        raise NotFound(f"no {label}{key}" + (" visible to you" if entity != "user" else ""))

    def get(self, entity: str, key: Any) -> Any:
        """Read one record of ``entity`` by key (:meth:`one` in its own read)."""
        with self.read() as conn:
            return self.one(conn, entity, key)

    def stale(
        self, conn: Connection, entity: str, key: Any, label: str, read_version: int
    ) -> StaleVersion:
        """Return the refusal of a change made to ``label`` read at ``read_version``.

        It names the version now stored and who changed it last, when, and what.
        """
        table, pk = TABLES[entity]
        current = conn.execute(sa.select(table.c.version).where(table.c[pk] == key)).scalar()
        last = journal.last_change(conn, entity, str(key))
        who = (
            f"{last.actor} changed it at {last.at:%Y-%m-%d %H:%M:%S} ({last.summary()})"
            if last
            else "it was changed"
        )
        return StaleVersion(
            f"{label} was changed after you read it: you read version "
            f"{read_version}, it is now version {current}; {who}. Nothing was "
            "written: reload it and make your change again."
        )

    def check_version(
        self, conn: Connection, entity: str, key: Any, label: str, read: int, stored: int
    ) -> None:
        """Refuse a change to a record read at version ``read`` when ``stored`` differs.

        Raises
        ------
        StaleVersion
        """
        if read != stored:
            raise self.stale(conn, entity, key, label, read)

    def update_row(
        self,
        conn: Connection,
        entity: str,
        key: Any,
        version: int,
        values: dict[str, Any],
        label: str,
    ) -> None:
        """Write ``values`` to the row of ``key`` only if it is still at ``version``.

        Raises
        ------
        StaleVersion
            If another writer changed the row first.
        """
        table, pk = TABLES[entity]
        values = {k: v for k, v in values.items() if k in table.c and k != pk}
        result = conn.execute(
            table.update().where(table.c[pk] == key, table.c.version == version).values(values)
        )
        if result.rowcount != 1:
            raise self.stale(conn, entity, key, label, version)

    def site_year(self, conn: Connection, site_id: str) -> int | None:
        """Return the year site ``site_id`` is available from, ``None`` if there is none."""
        if not self.workspace.has_layer("sites", conn):
            return None
        return conn.execute(
            sa.text("SELECT available_from FROM sites WHERE site_id = :s"), {"s": site_id}
        ).scalar()

    def set_site_year(self, conn: Connection, site_id: str, year: int) -> None:
        """Make site ``site_id`` available from ``year`` (layer ``sites``), in ``conn``."""
        conn.execute(
            sa.text("UPDATE sites SET available_from = :y WHERE site_id = :s"),
            {"y": year, "s": site_id},
        )


__all__ = [
    "SHANGHAI",
    "TABLES",
    "Repository",
    "StaleVersion",
    "Transaction",
    "check_changes",
    "check_owner",
    "check_task",
    "find_user",
    "known_owners",
    "load_escalations",
    "load_kpis",
    "load_matters",
    "load_milestones",
    "load_records",
    "load_risks",
    "load_tasks",
    "load_users",
    "next_id",
    "now_shanghai",
]
