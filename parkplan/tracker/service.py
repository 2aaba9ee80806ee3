"""The tracker on a workspace: read and change records, as a user, with an audit trail.

:class:`Tracker` is the only way in. Every change

1. reads the record in a write transaction (a record above the user's clearance reads as
   not found),
2. checks the user's permission (:func:`parkplan.tracker.access.check_write`),
3. checks the version the caller read against the stored one (optimistic locking) and
   refuses a stale one with :class:`StaleVersion`, naming who changed what and when,
4. validates the new record and its references (owner, dependencies, cycle, site),
5. writes with ``UPDATE … WHERE version = :read_version`` (so that of two concurrent
   writers exactly one wins) and appends a journal entry,

all in one transaction: a refused change writes nothing. The CPM schedule and the ratings
are computed on read from the stored forecasts, so they can never be stale; the cycle check
runs on every change.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.store import Workspace
from parkplan.tracker import access, journal, rating, rules, schedule, tables
from parkplan.tracker.access import NotFound, PermissionDenied
from parkplan.tracker.model import (
    ANONYMOUS,
    TASK_CODES,
    Baseline,
    Escalation,
    EscalationStatus,
    EscalationStep,
    Evidence,
    Kpi,
    KpiActual,
    KpiSource,
    MajorMatter,
    MatterStatus,
    Milestone,
    Risk,
    Role,
    Status,
    Task,
    User,
    Visibility,
    build,
)

#: Shanghai local time (UTC+8, no daylight saving): how the tracker's moments are stored.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
#: Largest evidence file accepted.
MAX_EVIDENCE_BYTES = 64 * 1024 * 1024

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
#: Evidence file types accepted: extension → the content's possible leading bytes
#: (``None``: UTF-8 text without NUL bytes). OFD (China's fixed-layout format, GB/T 33190)
#: and the Office formats are ZIP containers.
EVIDENCE_TYPES: dict[str, tuple[bytes, ...] | None] = {
    ".pdf": (b"%PDF-",),
    ".ofd": _ZIP,
    ".zip": _ZIP,
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".doc": _OLE,
    ".xls": _OLE,
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".txt": None,
    ".csv": None,
    ".md": None,
}


def check_evidence_type(filename: str, content: bytes) -> None:
    """Refuse an evidence file whose extension or content is not an accepted type.

    The extension must be one of :data:`EVIDENCE_TYPES` and the content must start with
    that type's signature (text types: UTF-8 without NUL bytes), so a renamed executable
    or HTML page is refused whatever it is called.

    Raises
    ------
    InputError
    """
    ext = Path(filename).suffix.lower()
    if ext not in EVIDENCE_TYPES:
        raise InputError(
            [
                Problem(
                    filename,
                    None,
                    None,
                    f"evidence files must be one of "
                    f"{', '.join(sorted(EVIDENCE_TYPES))}, not "
                    f"{ext or 'a file without an extension'}",
                )
            ]
        )
    signatures = EVIDENCE_TYPES[ext]
    if signatures is None:
        try:
            ok = b"\x00" not in content and (content.decode("utf-8") or True)
        except UnicodeDecodeError:
            ok = False
    else:
        ok = content.startswith(signatures)
    if not ok:
        raise InputError(
            [Problem(filename, None, None, f"the content is not a {ext[1:].upper()} file")]
        )


#: The identity seeding writes as (not a stored user).
SYSTEM = User(
    name="system", role=Role.convenor, clearance=Visibility.internal, display_name="系统 system"
)

#: Tiers of candidate that count as anchor organisations (龙头企业, policy 二（八）).
ANCHOR_TIERS = ("international_major", "national_qi_centre", "local_champion")


class StaleVersion(ParkplanError):
    """The record changed since the caller read it; nothing was written."""


def now_shanghai() -> datetime:
    """Return the present moment in Shanghai, without time zone, to the second."""
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class TaskStatus:
    """A task with its rating, trend and the reasons for the rating."""

    task: Task
    rating: rating.Rating
    trend: rating.Trend
    reasons: tuple[rating.Reason, ...] = ()
    baseline: str | None = None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict: the task's fields, then rating, trend, reasons."""
        data = self.task.to_dict()
        data.update(
            rating=self.rating.value,
            rating_label=self.rating.label,
            trend=self.trend.value,
            trend_against=self.baseline,
            reasons=[r.to_dict() for r in self.reasons],
        )
        return data


@dataclass(frozen=True)
class PlannedMilestone:
    """A milestone with its CPM figures and slip as of a date."""

    milestone: Milestone
    entry: schedule.ScheduleEntry | None
    slip_days: int

    def to_dict(self) -> dict:
        """Return a JSON-ready dict: the milestone's fields and its schedule."""
        data = self.milestone.to_dict()
        data["schedule"] = self.entry.to_dict() if self.entry else None
        data["slip_days"] = self.slip_days
        return data


@dataclass(frozen=True)
class KpiStatus:
    """A KPI with its dated actuals (oldest first) and where they came from."""

    kpi: Kpi
    actuals: tuple[KpiActual, ...]
    note: str = ""

    @property
    def latest(self) -> KpiActual | None:
        """The newest actual, or ``None``."""
        return self.actuals[-1] if self.actuals else None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        data = self.kpi.to_dict()
        data.update(
            actuals=[a.to_dict() for a in self.actuals],
            latest=self.latest.to_dict() if self.latest else None,
            note=self.note,
        )
        return data


@dataclass(frozen=True)
class EscalationRun:
    """What ``escalate`` did: escalations created and proposals already held."""

    as_of: str
    created: tuple[Escalation, ...]
    already: int

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "as_of": self.as_of,
            "created": [e.to_dict() for e in self.created],
            "already": self.already,
        }


@dataclass(frozen=True)
class Programme:
    """Everything a user may see of the programme as of a date (for reports, boards)."""

    as_of: date
    statuses: tuple[TaskStatus, ...]
    milestones: tuple[PlannedMilestone, ...]
    critical_path: tuple[str, ...]
    finish: date | None
    risks: tuple[Risk, ...]
    kpis: tuple[KpiStatus, ...]
    escalations: tuple[Escalation, ...]
    matters: tuple[MajorMatter, ...]

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "as_of": self.as_of.isoformat(),
            "tasks": [s.to_dict() for s in self.statuses],
            "milestones": [m.to_dict() for m in self.milestones],
            "critical_path": list(self.critical_path),
            "finish": self.finish.isoformat() if self.finish else None,
            "risks": [r.to_dict() for r in self.risks],
            "kpis": [k.to_dict() for k in self.kpis],
            "escalations": [e.to_dict() for e in self.escalations],
            "matters": [m.to_dict() for m in self.matters],
        }


# ------------------------------------------------------------- row mapping
def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _row(record: Any, drop: Sequence[str] = ()) -> dict[str, Any]:
    data = {k: _plain(v) for k, v in record.model_dump(mode="python").items() if k not in drop}
    return data


def _task_from(row: Any) -> Task:
    data = dict(row._mapping)
    data["co_units"] = tuple(json.loads(data.pop("co_units_json")))
    return Task.model_validate(data)


def _task_row(task: Task) -> dict[str, Any]:
    data = _row(task, drop=("co_units",))
    data["co_units_json"] = json.dumps(list(task.co_units), ensure_ascii=False)
    return data


def _user_from(row: Any) -> User:
    data = dict(row._mapping)
    data["tasks"] = tuple(json.loads(data.pop("tasks_json")))
    return User.model_validate(data)


def _user_row(user: User) -> dict[str, Any]:
    data = _row(user, drop=("tasks",))
    data["tasks_json"] = json.dumps(list(user.tasks))
    return data


def _as_date(value: date | str | None, what: str) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(
            [Problem(what, None, None, f"{value!r} is not a date (YYYY-MM-DD)")]
        ) from None


# ------------------------------------------------------------------ tracker
class _Transaction:
    """The connection of an open :meth:`Tracker.transaction`, shared by its trackers."""

    conn: Connection | None = None


class Tracker:
    """The pilot-programme tracker on ``workspace``, acting as ``user``.

    Parameters
    ----------
    workspace : Workspace
    user : str, User or None
        The user's name (looked up in the workspace), a :class:`User` (trusted callers,
        e.g. seeding), or ``None`` to read anonymously (public records, no writes).
        parkplan identifies users; it does not authenticate them (see docs/tracker.md).
    clock : callable, optional
        Returns "now" (Shanghai local time); tests and the demo fix it.
    ruleset : RuleSet, optional
        Escalation rules and the major-matter clock; default the shipped rules.

    Raises
    ------
    NotFound
        If ``user`` names no user of the workspace.
    """

    def __init__(
        self,
        workspace: Workspace,
        user: str | User | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        ruleset: rules.RuleSet | None = None,
        _tx: _Transaction | None = None,
    ):
        self.workspace = workspace
        self.clock = clock or now_shanghai
        self.rules = ruleset or rules.load_rules()
        self._tx = _tx or _Transaction()
        if user is None:
            self.user = ANONYMOUS
        elif isinstance(user, User):
            self.user = user
        else:
            with self._read() as conn:
                row = conn.execute(
                    sa.select(tables.users).where(tables.users.c.name == user)
                ).first()
            if row is None:
                raise NotFound(
                    f"unknown user {user!r}; the admin adds users with 'parkplan users add'"
                )
            self.user = _user_from(row)

    @contextmanager
    def transaction(self) -> Iterator[Tracker]:
        """Make every change inside the block one transaction: all of them or none.

        Inside, each change still runs in its own savepoint, so a refused change that is
        caught leaves the others in place. Trackers made with :meth:`as_user` inside the
        block share the transaction (seeding, imports).
        """
        if self._tx.conn is not None:
            yield self
            return
        with self.workspace.begin() as conn:
            self._tx.conn = conn
            try:
                yield self
            finally:
                self._tx.conn = None

    def as_user(self, user: str | User, *, clock: Callable[[], datetime] | None = None) -> Tracker:
        """Return a tracker acting as ``user`` that shares this one's transaction, if any."""
        return Tracker(
            self.workspace, user, clock=clock or self.clock, ruleset=self.rules, _tx=self._tx
        )

    # ---------------------------------------------------------- plumbing
    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._tx.conn is not None:
            yield self._tx.conn
        else:
            with self.workspace.connect() as conn:
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            if self._tx.conn is not None:
                with self._tx.conn.begin_nested():
                    yield self._tx.conn
            else:
                with self.workspace.begin() as conn:
                    yield conn
        except sa.exc.IntegrityError as err:
            raise ParkplanError(
                "the change conflicts with another one made at the same "
                f"time; nothing was written, try again ({err.orig})"
            ) from None

    def _journal(
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
            for v in (_visibility_of(before), _visibility_of(after), visibility)
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

    def _visible(self, records: Iterable[Any]) -> list[Any]:
        return [r for r in records if access.visible(self.user, r)]

    def _stale(
        self, conn: Connection, entity: str, key: Any, label: str, read_version: int
    ) -> StaleVersion:
        table, pk = _TABLES[entity]
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

    def _check_changes(
        self, cls: type, label: str, changes: dict[str, Any], fixed: Sequence[str]
    ) -> None:
        known = set(cls.model_fields)
        problems = [
            Problem(label, None, k, "is not a field that can be changed")
            for k in changes
            if k not in known or k in fixed
        ]
        if problems:
            raise InputError(problems)

    # ------------------------------------------------------------- loading
    def _tasks(self, conn: Connection) -> list[Task]:
        rows = conn.execute(sa.select(tables.tasks).order_by(tables.tasks.c.number)).all()
        return [_task_from(r) for r in rows]

    def _milestones(self, conn: Connection) -> list[Milestone]:
        deps: dict[str, list[str]] = {}
        for mid, dep in conn.execute(
            sa.select(
                tables.milestone_dependencies.c.milestone_id,
                tables.milestone_dependencies.c.depends_on_id,
            )
        ):
            deps.setdefault(mid, []).append(dep)
        rows = conn.execute(sa.select(tables.milestones)).all()
        out = []
        for r in rows:
            data = dict(r._mapping)
            data["depends_on"] = tuple(sorted(deps.get(r.id, [])))
            out.append(Milestone.model_validate(data))
        return sorted(out, key=_milestone_order)

    def _risks(self, conn: Connection) -> list[Risk]:
        rows = conn.execute(sa.select(tables.risks)).all()
        return sorted((Risk.model_validate(dict(r._mapping)) for r in rows), key=_milestone_order)

    def _kpis(self, conn: Connection) -> list[Kpi]:
        rows = conn.execute(sa.select(tables.kpis)).all()
        return sorted((Kpi.model_validate(dict(r._mapping)) for r in rows), key=_milestone_order)

    def _matters(self, conn: Connection) -> list[MajorMatter]:
        rows = conn.execute(
            sa.select(tables.major_matters).order_by(tables.major_matters.c.id)
        ).all()
        return [MajorMatter.model_validate(dict(r._mapping)) for r in rows]

    def _escalations(self, conn: Connection) -> list[Escalation]:
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

    def _users(self, conn: Connection) -> list[User]:
        rows = conn.execute(sa.select(tables.users).order_by(tables.users.c.name)).all()
        return [_user_from(r) for r in rows]

    def _records(self, conn: Connection) -> rules.Records:
        return rules.Records(
            self._tasks(conn), self._milestones(conn), self._risks(conn), self._matters(conn)
        )

    def _one(self, conn: Connection, entity: str, key: Any) -> Any:
        loaders = {
            "task": self._tasks,
            "milestone": self._milestones,
            "risk": self._risks,
            "kpi": self._kpis,
            "matter": self._matters,
            "escalation": self._escalations,
            "user": self._users,
        }
        key_attr = {"task": "number", "user": "name"}.get(entity, "id")
        for record in loaders[entity](conn):
            if str(getattr(record, key_attr)) == str(key):
                if not access.visible(self.user, record):
                    break
                return record
        label = {"matter": "major matter #", "escalation": "escalation #"}.get(entity, f"{entity} ")
        raise NotFound(f"no {label}{key}" + (" visible to you" if entity != "user" else ""))

    # ============================================================== reading
    def tasks(self) -> list[Task]:
        """Return the nine tasks (those the user may see), in order."""
        with self._read() as conn:
            return self._visible(self._tasks(conn))

    def task(self, number: int) -> Task:
        """Return task ``number``."""
        with self._read() as conn:
            return self._one(conn, "task", number)

    def milestones(self, task: int | None = None) -> list[Milestone]:
        """Return the milestones the user may see, optionally of one task."""
        with self._read() as conn:
            found = self._milestones(conn)
        return [m for m in self._visible(found) if task is None or m.task == task]

    def milestone(self, milestone_id: str) -> Milestone:
        """Return one milestone."""
        with self._read() as conn:
            return self._one(conn, "milestone", milestone_id)

    def schedule(self) -> schedule.Schedule:
        """Return the programme's CPM schedule, limited to milestones the user may see.

        The schedule is computed from every milestone (the network is the whole
        programme); entries and the critical path of milestones above the user's
        clearance are left out.
        """
        with self._read() as conn:
            all_ms = self._milestones(conn)
        return self._visible_schedule(all_ms, schedule.programme_schedule(all_ms))

    def _visible_schedule(
        self, all_ms: list[Milestone], sched: schedule.Schedule
    ) -> schedule.Schedule:
        ok = {m.id for m in all_ms if access.visible(self.user, m)}
        return schedule.Schedule(
            {k: v for k, v in sched.entries.items() if k in ok},
            tuple(i for i in sched.critical_path if i in ok),
            sched.finish,
        )

    def plan(self, task: int | None = None, as_of: date | None = None) -> list[PlannedMilestone]:
        """Return the visible milestones with their CPM figures and slip as of a date."""
        as_of = as_of or self.clock().date()
        with self._read() as conn:
            all_ms = self._milestones(conn)
        sched = schedule.programme_schedule(all_ms)
        return [
            PlannedMilestone(m, sched.get(m.id), rating.slip_days(m, sched, as_of))
            for m in self._visible(all_ms)
            if task is None or m.task == task
        ]

    def risks(self, task: int | None = None, *, open_only: bool = False) -> list[Risk]:
        """Return the risks the user may see."""
        with self._read() as conn:
            found = self._risks(conn)
        return [
            r
            for r in self._visible(found)
            if (task is None or r.task == task) and (not open_only or r.status == "open")
        ]

    def risk(self, risk_id: str) -> Risk:
        """Return one risk."""
        with self._read() as conn:
            return self._one(conn, "risk", risk_id)

    def kpis(self, task: int | None = None) -> list[KpiStatus]:
        """Return the visible KPIs with their actuals.

        Actuals of task （八）'s park indicators come from the adopted siting plan (see
        :meth:`_siting_actuals`); the others are entered by hand.
        """
        with self._read() as conn:
            found = [k for k in self._visible(self._kpis(conn)) if task is None or k.task == task]
            return [self._kpi_status(conn, k) for k in found]

    def _kpi_status(self, conn: Connection, kpi: Kpi) -> KpiStatus:
        if kpi.source != KpiSource.manual:
            actuals, note = self._siting_actuals(conn, kpi)
            return KpiStatus(kpi, tuple(actuals), note)
        rows = conn.execute(
            sa.select(tables.kpi_actuals)
            .where(tables.kpi_actuals.c.kpi_id == kpi.id)
            .order_by(tables.kpi_actuals.c.on_date)
        ).all()
        return KpiStatus(
            kpi,
            tuple(
                KpiActual(
                    kpi_id=r.kpi_id,
                    on=r.on_date,
                    value=r.value,
                    note=r.note,
                    entered_by=r.entered_by,
                    entered_at=r.entered_at,
                )
                for r in rows
            ),
        )

    def _siting_actuals(self, conn: Connection, kpi: Kpi) -> tuple[list[KpiActual], str]:
        """Read task （八）'s indicators from the adopted siting plan.

        The newest adopted run of ``scenario_runs`` and its ``scenario_allocations`` give,
        for each year of the plan, the cumulative number of anchor organisations
        (candidates of tier international_major, national_qi_centre or local_champion)
        and the cumulative floor space of every allocated candidate (office, lab, heavy
        lab and hazard lab m² from the ``candidates`` layer), dated 31 December. No
        adopted run: no actuals, and a note says so.
        """
        run = conn.execute(
            sa.text(
                "SELECT run_id, scenario_name FROM scenario_runs WHERE adopted = :t "
                "ORDER BY created_at DESC, run_id DESC"
            ),
            {"t": True},
        ).first()
        if run is None:
            return [], "no adopted siting plan: adopt a scenario run to fill this indicator"
        allocs = conn.execute(
            sa.text(
                "SELECT cand_id, MIN(year) AS year FROM scenario_allocations WHERE run_id = :r "
                "GROUP BY cand_id"
            ),
            {"r": run.run_id},
        ).all()
        cands: dict[str, Any] = {}
        if self.workspace.has_layer("candidates", conn):
            cands = {
                c.cand_id: c
                for c in conn.execute(
                    sa.text(
                        "SELECT cand_id, tier, office_m2, lab_m2, heavy_lab_m2, hazard_lab_m2 "
                        "FROM candidates"
                    )
                ).all()
            }
        note = f"from adopted siting plan {run.run_id} ({run.scenario_name})"
        years = sorted({a.year for a in allocs})
        actuals = []
        for year in years:
            upto = [a.cand_id for a in allocs if a.year <= year]
            if kpi.source == KpiSource.siting_anchors:
                value = float(sum(1 for c in upto if c in cands and cands[c].tier in ANCHOR_TIERS))
            else:
                value = float(
                    sum(
                        cands[c].office_m2
                        + cands[c].lab_m2
                        + cands[c].heavy_lab_m2
                        + cands[c].hazard_lab_m2
                        for c in upto
                        if c in cands
                    )
                )
            actuals.append(
                KpiActual(
                    kpi_id=kpi.id,
                    on=date(year, 12, 31),
                    value=value,
                    note=note,
                    entered_by="siting plan",
                )
            )
        return actuals, note

    def evidence(self, milestone_id: str) -> list[Evidence]:
        """Return the evidence files (without content) of a milestone."""
        with self._read() as conn:
            self._one(conn, "milestone", milestone_id)
            cols = [c for c in tables.evidence.c if c.name != "content"]
            rows = conn.execute(
                sa.select(*cols)
                .where(tables.evidence.c.milestone_id == milestone_id)
                .order_by(tables.evidence.c.id)
            ).all()
        return self._visible(Evidence.model_validate(dict(r._mapping)) for r in rows)

    def evidence_content(self, evidence_id: int) -> tuple[Evidence, bytes]:
        """Return an evidence record and its bytes, checked against the stored SHA-256.

        Raises
        ------
        ParkplanError
            If the stored bytes no longer match their checksum.
        """
        with self._read() as conn:
            row = conn.execute(
                sa.select(tables.evidence).where(tables.evidence.c.id == evidence_id)
            ).first()
            if row is not None:
                self._one(conn, "milestone", row.milestone_id)
        data = dict(row._mapping) if row is not None else None
        content = data.pop("content") if data else None
        ev = Evidence.model_validate(data) if data else None
        if ev is None or not access.visible(self.user, ev):
            raise NotFound(f"no evidence #{evidence_id} visible to you")
        if hashlib.sha256(content).hexdigest() != ev.sha256:
            raise ParkplanError(
                f"evidence #{evidence_id} {ev.filename} does not match its "
                f"SHA-256 {ev.sha256}: the stored file is damaged"
            )
        return ev, bytes(content)

    def escalations(
        self, *, status: str | None = None, open_only: bool = False
    ) -> list[Escalation]:
        """Return the escalations the user may see, oldest first."""
        with self._read() as conn:
            found = self._visible(self._escalations(conn))
        return [
            e
            for e in found
            if (status is None or e.status == status)
            and (not open_only or e.status != EscalationStatus.closed)
        ]

    def escalation(self, escalation_id: int) -> Escalation:
        """Return one escalation with its steps."""
        with self._read() as conn:
            return self._one(conn, "escalation", escalation_id)

    def matters(self, *, open_only: bool = False) -> list[MajorMatter]:
        """Return the major matters the user may see."""
        with self._read() as conn:
            found = self._visible(self._matters(conn))
        return [m for m in found if not open_only or m.status == MatterStatus.open]

    def matter(self, matter_id: int) -> MajorMatter:
        """Return one major matter."""
        with self._read() as conn:
            return self._one(conn, "matter", matter_id)

    def users(self) -> list[User]:
        """Return every user (names, roles and clearances are not confidential)."""
        with self._read() as conn:
            return self._users(conn)

    def journal(
        self, entity: str | None = None, entity_id: str | None = None
    ) -> list[journal.JournalEntry]:
        """Return the audit trail (entries above the user's clearance left out)."""
        with self._read() as conn:
            entries = journal.history(conn, entity=entity, entity_id=entity_id)
        return [e for e in entries if self.user.can_see(e.visibility)]

    def task_statuses(
        self, as_of: date | None = None, *, against: str | None = None
    ) -> list[TaskStatus]:
        """Rate every visible task as of a date, with its trend against a baseline.

        Parameters
        ----------
        as_of : date, optional
            Default today.
        against : str, optional
            Baseline to take the trend against; default the last stocktake before
            ``as_of`` (:meth:`last_baseline`). With no baseline the trend is ``new``.

        Notes
        -----
        Ratings are computed from every record (a task's status does not depend on who
        looks); reasons about records above the user's clearance are shown without
        naming them.
        """
        as_of = as_of or self.clock().date()
        with self._read() as conn:
            recs = self._records(conn)
            base = self._baseline(conn, against) if against else self._baseline_before(conn, as_of)
        sched = schedule.programme_schedule(recs.milestones)
        ratings = rating.rate_all(recs.tasks, recs.milestones, recs.risks, sched, as_of)
        before = base.snapshot.get("ratings", {}) if base else {}
        out = []
        for task in self._visible(recs.tasks):
            tr = ratings[task.number]
            was = before.get(str(task.number))
            reasons = tuple(
                r
                if self.user.can_see(r.visibility)
                else rating.Reason(
                    r.rating,
                    r.rule,
                    r.subject_type,
                    "",
                    f"a {r.subject_type} above your clearance ({r.rule})",
                    r.visibility,
                )
                for r in tr.reasons
            )
            out.append(
                TaskStatus(
                    task,
                    tr.rating,
                    rating.trend(tr.rating, rating.Rating(was) if was else None),
                    reasons,
                    base.name if base else None,
                )
            )
        return out

    def programme(self, as_of: date | None = None) -> Programme:
        """Return everything the user may see of the programme, for reports and boards."""
        as_of = as_of or self.clock().date()
        statuses = self.task_statuses(as_of)
        with self._read() as conn:
            all_ms = self._milestones(conn)
            risks = self._visible(self._risks(conn))
            kpis = [self._kpi_status(conn, k) for k in self._visible(self._kpis(conn))]
            escalations = self._visible(self._escalations(conn))
            matters = self._visible(self._matters(conn))
        sched = schedule.programme_schedule(all_ms)
        visible_sched = self._visible_schedule(all_ms, sched)
        planned = tuple(
            PlannedMilestone(m, sched.get(m.id), rating.slip_days(m, sched, as_of))
            for m in self._visible(all_ms)
        )
        return Programme(
            as_of,
            tuple(statuses),
            planned,
            visible_sched.critical_path,
            sched.finish,
            tuple(risks),
            tuple(kpis),
            tuple(escalations),
            tuple(matters),
        )

    # ========================================================== validation
    def _known_owners(self, conn: Connection) -> set[str]:
        owners: set[str] = set()
        for u in self._users(conn):
            owners.update(x for x in (u.name, u.display_name, u.unit) if x)
        for t in self._tasks(conn):
            owners.add(t.lead_unit)
            owners.update(t.co_units)
        return owners

    def _check_owner(self, conn: Connection, owner: str, label: str) -> list[Problem]:
        if owner in self._known_owners(conn):
            return []
        return [
            Problem(
                label,
                None,
                "owner",
                f"unknown owner {owner!r}: name a user, a user's unit, or a task's lead or co-unit",
            )
        ]

    def _check_task(self, conn: Connection, task: int, label: str) -> list[Problem]:
        if (
            conn.execute(
                sa.select(tables.tasks.c.number).where(tables.tasks.c.number == task)
            ).first()
            is None
        ):
            return [Problem(label, None, "task", f"there is no task {task} in this workspace")]
        return []

    def _site_year(self, conn: Connection, site_id: str) -> int | None:
        if not self.workspace.has_layer("sites", conn):
            return None
        return conn.execute(
            sa.text("SELECT available_from FROM sites WHERE site_id = :s"), {"s": site_id}
        ).scalar()

    def _check_milestone(self, conn: Connection, m: Milestone, others: list[Milestone]) -> None:
        label = f"milestone {m.id}"
        problems = self._check_task(conn, m.task, label)
        problems += self._check_owner(conn, m.owner, label)
        ids = {o.id for o in others}
        for dep in m.depends_on:
            if dep not in ids:
                problems.append(
                    Problem(label, None, "depends_on", f"depends on {dep}, which does not exist")
                )
        if m.linked_site_id and self._site_year(conn, m.linked_site_id) is None:
            problems.append(
                Problem(
                    label,
                    None,
                    "linked_site_id",
                    f"there is no site {m.linked_site_id!r} in layer 'sites'",
                )
            )
        if problems:
            raise InputError(problems)
        graph = schedule.dependency_graph([o for o in others if o.id != m.id] + [m])
        cycle = schedule.find_cycle(graph)
        if cycle:
            # name the cycle from the milestone being changed
            if m.id in cycle:
                i = cycle.index(m.id)
                cycle = cycle[i:-1] + cycle[:i] + [m.id]
            raise schedule.CycleError(cycle)

    # ============================================================ writing
    def update_task(self, number: int, version: int, **changes: Any) -> Task:
        """Change a task's units, titles or visibility (the clause text is fixed)."""
        label = f"task {TASK_CODES.get(number, number)}"
        self._check_changes(Task, label, changes, ("number", "code", "clause_zh", "version"))
        with self._write() as conn:
            before = self._one(conn, "task", number)
            access.check_write(self.user, "update", before)
            if version != before.version:
                raise self._stale(conn, "task", number, label, version)
            after = build(
                Task, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
            )
            access.check_write(self.user, "update", after)
            self._update_row(conn, "task", number, version, _task_row(after), label)
            self._journal(conn, "update", "task", number, before, after)
        return after

    def _update_row(
        self,
        conn: Connection,
        entity: str,
        key: Any,
        version: int,
        values: dict[str, Any],
        label: str,
    ) -> None:
        table, pk = _TABLES[entity]
        values = {k: v for k, v in values.items() if k in table.c and k != pk}
        result = conn.execute(
            table.update().where(table.c[pk] == key, table.c.version == version).values(values)
        )
        if result.rowcount != 1:
            raise self._stale(conn, entity, key, label, version)

    def _next_id(self, conn: Connection, table: sa.Table, prefix: str) -> str:
        pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
        numbers = [
            int(mt.group(1))
            for (i,) in conn.execute(sa.select(table.c.id))
            if (mt := pattern.match(i))
        ]
        return f"{prefix}{max(numbers, default=0) + 1}"

    # ---------------------------------------------------------- milestones
    def add_milestone(
        self,
        *,
        task: int,
        title_zh: str,
        owner: str,
        start: date | str,
        due: date | str,
        id: str | None = None,
        **fields: Any,
    ) -> Milestone:
        """Add a milestone; ``id`` defaults to ``M<task>-<n>``.

        Other fields: ``title_en``, ``forecast`` (default ``due``), ``status``,
        ``percent``, ``depends_on``, ``linked_site_id``, ``visibility``, ``proposed``,
        ``note``.

        Raises
        ------
        InputError
            Due before start, unknown owner, a dependency on a missing milestone, a cycle,
            an unknown site.
        PermissionDenied
            If the user may not add milestones to the task.
        """
        with self._write() as conn:
            mid = id or self._next_id(conn, tables.milestones, f"M{task}-")
            label = f"milestone {mid}"
            data = {
                "id": mid,
                "task": task,
                "title_zh": title_zh,
                "owner": owner,
                "start": start,
                "due": due,
                **fields,
                "version": 1,
            }
            if "depends_on" in data:
                data["depends_on"] = tuple(data["depends_on"] or ())
            m = build(Milestone, data, what=label)
            access.check_write(self.user, "create", m)
            others = self._milestones(conn)
            if any(o.id == mid for o in others):
                raise InputError([Problem(label, None, "id", f"{mid} already exists")])
            self._check_milestone(conn, m, others)
            conn.execute(tables.milestones.insert().values(_row(m, drop=("depends_on",))))
            self._write_dependencies(conn, m)
            self._journal(conn, "create", "milestone", mid, None, m)
            self._follow_site(conn, m)
        return m

    def update_milestone(self, milestone_id: str, version: int, **changes: Any) -> Milestone:
        """Change a milestone read at ``version``.

        Raises
        ------
        StaleVersion
            If it changed since ``version`` was read (naming who changed what, when).
        InputError, PermissionDenied
            As for :meth:`add_milestone`.
        """
        label = f"milestone {milestone_id}"
        self._check_changes(Milestone, label, changes, ("id", "version"))
        if "depends_on" in changes:
            changes["depends_on"] = tuple(changes["depends_on"] or ())
        with self._write() as conn:
            before = self._one(conn, "milestone", milestone_id)
            access.check_write(self.user, "update", before)
            if version != before.version:
                raise self._stale(conn, "milestone", milestone_id, label, version)
            data = {**before.model_dump(), **changes, "version": before.version + 1}
            if (
                "status" in changes
                and changes["status"] in (Status.done, "done")
                and "percent" not in changes
            ):
                data["percent"] = 100
            if "due" in changes and "forecast" not in changes and before.forecast == before.due:
                data["forecast"] = data["due"]
            after = build(Milestone, data, what=label)
            access.check_write(self.user, "update", after)
            self._check_milestone(conn, after, self._milestones(conn))
            self._update_row(
                conn, "milestone", milestone_id, version, _row(after, drop=("depends_on",)), label
            )
            if after.depends_on != before.depends_on:
                self._write_dependencies(conn, after)
            self._journal(conn, "update", "milestone", milestone_id, before, after)
            self._follow_site(conn, after)
        return after

    def _write_dependencies(self, conn: Connection, m: Milestone) -> None:
        deps = tables.milestone_dependencies
        conn.execute(deps.delete().where(deps.c.milestone_id == m.id))
        if m.depends_on:
            conn.execute(
                deps.insert(), [{"milestone_id": m.id, "depends_on_id": d} for d in m.depends_on]
            )

    def _follow_site(self, conn: Connection, m: Milestone) -> None:
        """Move a linked site's ``available_from`` to the forecast's year if later.

        Every stored scenario run that allocated the site is marked stale. Both changes
        are journaled, in the milestone's transaction.
        """
        if not m.linked_site_id or m.status == Status.cancelled:
            return
        year = self._site_year(conn, m.linked_site_id)
        if year is None or m.forecast.year <= year:
            return
        site = m.linked_site_id
        conn.execute(
            sa.text("UPDATE sites SET available_from = :y WHERE site_id = :s"),
            {"y": m.forecast.year, "s": site},
        )
        # Both entries tell of the milestone (its id and forecast), so a reader who may not
        # see the milestone does not see them either.
        self._journal(
            conn,
            "update",
            "site",
            site,
            {"site_id": site, "available_from": year},
            {"site_id": site, "available_from": m.forecast.year},
            visibility=m.visibility,
        )
        # The reason is stored on the scenario run, which has no visibility level and is
        # read by planners: it names the milestone by id, never by its title.
        reason = (
            f"site {site} is now available from {m.forecast.year}, not {year}: "
            f"milestone {m.id} is forecast for {m.forecast} "
            f"(changed by {self.user.name} at {self.clock():%Y-%m-%d %H:%M})"
        )
        runs = (
            conn.execute(
                sa.text(
                    "SELECT DISTINCT run_id FROM scenario_allocations WHERE site_id = :s "
                    "ORDER BY run_id"
                ),
                {"s": site},
            )
            .scalars()
            .all()
        )
        for run_id in runs:
            old = conn.execute(
                sa.text("SELECT stale_reason FROM scenario_runs WHERE run_id = :r"), {"r": run_id}
            ).scalar()
            conn.execute(
                sa.text("UPDATE scenario_runs SET stale_reason = :m WHERE run_id = :r"),
                {"m": reason, "r": run_id},
            )
            self._journal(
                conn,
                "update",
                "scenario_run",
                run_id,
                {"stale_reason": old},
                {"stale_reason": reason},
                visibility=m.visibility,
            )
        self.workspace.set_meta("layers_changed_at", self.clock().isoformat(), conn)

    # ------------------------------------------------------------ evidence
    def add_evidence(
        self,
        milestone_id: str,
        source: str | os.PathLike | bytes,
        *,
        filename: str | None = None,
        note: str = "",
        visibility: Visibility | str | None = None,
    ) -> Evidence:
        """Keep a file in the workspace as evidence of a milestone, with its SHA-256.

        Parameters
        ----------
        milestone_id : str
        source : path or bytes
        filename : str, optional
            Default the path's name (required for bytes).
        visibility : Visibility, optional
            Default the milestone's.
        """
        if isinstance(source, bytes):
            content = source
            if not filename:
                raise InputError(
                    [Problem("evidence", None, "filename", "a filename is needed for bytes")]
                )
        else:
            path = Path(source)
            if not path.is_file():
                raise InputError([Problem(str(path), None, None, "no such file")])
            if path.stat().st_size > MAX_EVIDENCE_BYTES:
                raise InputError(
                    [
                        Problem(
                            str(path), None, None, f"larger than {MAX_EVIDENCE_BYTES // 2**20} MiB"
                        )
                    ]
                )
            content = path.read_bytes()
            filename = filename or path.name
        if len(content) > MAX_EVIDENCE_BYTES:
            raise InputError(
                [Problem(filename, None, None, f"larger than {MAX_EVIDENCE_BYTES // 2**20} MiB")]
            )
        check_evidence_type(filename, content)
        with self._write() as conn:
            m = self._one(conn, "milestone", milestone_id)
            ev = build(
                Evidence,
                {
                    "milestone_id": milestone_id,
                    "filename": filename,
                    "media_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "note": note,
                    "visibility": visibility or m.visibility,
                    "added_by": self.user.name,
                    "added_at": self.clock(),
                },
                what="evidence",
            )
            access.check_write(self.user, "create", ev, task=m.task)
            values = _row(ev, drop=("id",))
            values["content"] = content
            new_id = conn.execute(tables.evidence.insert().values(values)).inserted_primary_key[0]
            ev = ev.model_copy(update={"id": new_id})
            self._journal(conn, "create", "evidence", new_id, None, ev)
        return ev

    # --------------------------------------------------------------- risks
    def add_risk(
        self,
        *,
        task: int,
        title_zh: str,
        cause: str,
        effect: str,
        likelihood: int,
        impact: int,
        owner: str,
        id: str | None = None,
        opened_on: date | str | None = None,
        **fields: Any,
    ) -> Risk:
        """Add a risk to a task's register; ``id`` defaults to ``R<task>-<n>``.

        Other fields: ``title_en``, ``mitigation``, ``tolerance``, ``reviewed_on``,
        ``visibility``, ``proposed``.
        """
        with self._write() as conn:
            rid = id or self._next_id(conn, tables.risks, f"R{task}-")
            label = f"risk {rid}"
            r = build(
                Risk,
                {
                    "id": rid,
                    "task": task,
                    "title_zh": title_zh,
                    "cause": cause,
                    "effect": effect,
                    "likelihood": likelihood,
                    "impact": impact,
                    "owner": owner,
                    "opened_on": opened_on or self.clock().date(),
                    **fields,
                    "version": 1,
                },
                what=label,
            )
            access.check_write(self.user, "create", r)
            if conn.execute(sa.select(tables.risks.c.id).where(tables.risks.c.id == rid)).first():
                raise InputError([Problem(label, None, "id", f"{rid} already exists")])
            problems = self._check_task(conn, task, label) + self._check_owner(conn, owner, label)
            if problems:
                raise InputError(problems)
            conn.execute(tables.risks.insert().values(_row(r)))
            self._journal(conn, "create", "risk", rid, None, r)
        return r

    def update_risk(self, risk_id: str, version: int, **changes: Any) -> Risk:
        """Change a risk read at ``version`` (e.g. a review: ``reviewed_on=date``)."""
        label = f"risk {risk_id}"
        self._check_changes(Risk, label, changes, ("id", "version"))
        with self._write() as conn:
            before = self._one(conn, "risk", risk_id)
            access.check_write(self.user, "update", before)
            if version != before.version:
                raise self._stale(conn, "risk", risk_id, label, version)
            after = build(
                Risk, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
            )
            access.check_write(self.user, "update", after)
            problems = self._check_task(conn, after.task, label)
            if after.owner != before.owner:
                problems += self._check_owner(conn, after.owner, label)
            if problems:
                raise InputError(problems)
            self._update_row(conn, "risk", risk_id, version, _row(after), label)
            self._journal(conn, "update", "risk", risk_id, before, after)
        return after

    # ---------------------------------------------------------------- KPIs
    def add_kpi(
        self, *, task: int, name_zh: str, unit: str, id: str | None = None, **fields: Any
    ) -> Kpi:
        """Define a KPI of a task; ``id`` defaults to ``K<task>-<n>``."""
        with self._write() as conn:
            kid = id or self._next_id(conn, tables.kpis, f"K{task}-")
            label = f"kpi {kid}"
            k = build(
                Kpi,
                {"id": kid, "task": task, "name_zh": name_zh, "unit": unit, **fields, "version": 1},
                what=label,
            )
            access.check_write(self.user, "create", k)
            if conn.execute(sa.select(tables.kpis.c.id).where(tables.kpis.c.id == kid)).first():
                raise InputError([Problem(label, None, "id", f"{kid} already exists")])
            problems = self._check_task(conn, task, label)
            if problems:
                raise InputError(problems)
            conn.execute(tables.kpis.insert().values(_row(k)))
            self._journal(conn, "create", "kpi", kid, None, k)
        return k

    def update_kpi(self, kpi_id: str, version: int, **changes: Any) -> Kpi:
        """Change a KPI's definition read at ``version``."""
        label = f"kpi {kpi_id}"
        self._check_changes(Kpi, label, changes, ("id", "version"))
        with self._write() as conn:
            before = self._one(conn, "kpi", kpi_id)
            access.check_write(self.user, "update", before)
            if version != before.version:
                raise self._stale(conn, "kpi", kpi_id, label, version)
            after = build(
                Kpi, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
            )
            access.check_write(self.user, "update", after)
            self._update_row(conn, "kpi", kpi_id, version, _row(after), label)
            self._journal(conn, "update", "kpi", kpi_id, before, after)
        return after

    def add_kpi_actual(
        self, kpi_id: str, on: date | str, value: float, note: str = ""
    ) -> KpiActual:
        """Record a KPI's value on a date (one value per KPI and date)."""
        with self._write() as conn:
            k = self._one(conn, "kpi", kpi_id)
            label = f"kpi {kpi_id}"
            actual = build(
                KpiActual,
                {
                    "kpi_id": kpi_id,
                    "on": on,
                    "value": value,
                    "note": note,
                    "entered_by": self.user.name,
                    "entered_at": self.clock(),
                },
                what=label,
            )
            access.check_write(self.user, "create", actual, task=k.task)
            if k.source != KpiSource.manual:
                raise InputError(
                    [
                        Problem(
                            label,
                            None,
                            "source",
                            "its actuals come from the "
                            "adopted siting plan and are not entered by hand",
                        )
                    ]
                )
            t = tables.kpi_actuals
            if conn.execute(
                sa.select(t.c.id).where(t.c.kpi_id == kpi_id, t.c.on_date == actual.on)
            ).first():
                raise InputError(
                    [Problem(label, None, "on", f"already has a value on {actual.on}")]
                )
            conn.execute(
                t.insert().values(
                    kpi_id=kpi_id,
                    on_date=actual.on,
                    value=actual.value,
                    note=actual.note,
                    entered_by=actual.entered_by,
                    entered_at=actual.entered_at,
                )
            )
            self._journal(
                conn,
                "create",
                "kpi_actual",
                f"{kpi_id}@{actual.on}",
                None,
                {**actual.to_dict(), "visibility": k.visibility.value},
            )
        return actual

    # --------------------------------------------------------- escalations
    def escalate(
        self, as_of: date | datetime, ruleset: rules.RuleSet | None = None
    ) -> EscalationRun:
        """Apply the escalation rules as of a date and open the escalations they ask for.

        An escalation whose key (rule + subject + level) is already held, in any status,
        is not opened again: running this twice creates nothing twice.
        """
        ruleset = ruleset or self.rules
        with self._write() as conn:
            access.check_write(self.user, "run", access.ESCALATION_RUN)
            proposals = rules.evaluate(self._records(conn), as_of, ruleset)
            held = set(conn.execute(sa.select(tables.escalations.c.esc_key)).scalars())
            created = []
            day = as_of.date() if isinstance(as_of, datetime) else as_of
            for p in proposals:
                if p.key in held:
                    continue
                e = Escalation(
                    key=p.key,
                    rule_id=p.rule_id,
                    level=p.level,
                    subject_type=p.subject_type,
                    subject_id=p.subject_id,
                    task=p.task,
                    message=p.message,
                    as_of=day,
                    opened_at=self.clock(),
                    visibility=p.visibility,
                )
                values = _row(e, drop=("id", "key", "steps"))
                values["esc_key"] = e.key
                new_id = conn.execute(
                    tables.escalations.insert().values(values)
                ).inserted_primary_key[0]
                e = e.model_copy(update={"id": new_id})
                self._journal(conn, "create", "escalation", new_id, None, e)
                created.append(e)
        return EscalationRun(
            day.isoformat(), tuple(self._visible(created)), len(proposals) - len(created)
        )

    _STEPS = {
        "acknowledge": (EscalationStatus.acknowledged, {EscalationStatus.open}),
        "act": (EscalationStatus.acted, {EscalationStatus.acknowledged, EscalationStatus.acted}),
        "close": (EscalationStatus.closed, {EscalationStatus.acknowledged, EscalationStatus.acted}),
    }

    def _step(
        self, action: str, escalation_id: int, comment: str, version: int | None
    ) -> Escalation:
        new_status, allowed = self._STEPS[action]
        label = f"escalation #{escalation_id}"
        with self._write() as conn:
            before = self._one(conn, "escalation", escalation_id)
            access.check_write(self.user, action, before)
            if version is not None and version != before.version:
                raise self._stale(conn, "escalation", escalation_id, label, version)
            if before.status not in allowed:
                raise ParkplanError(
                    f"{label} is {before.status.value}; to {action} it, it "
                    "must be " + " or ".join(sorted(s.value for s in allowed))
                )
            if action in ("act", "close") and not comment.strip():
                raise InputError(
                    [
                        Problem(
                            label, None, "comment", f"say what was done ({action} needs a comment)"
                        )
                    ]
                )
            step = EscalationStep(
                step=new_status, who=self.user.name, at=self.clock(), comment=comment
            )
            after = before.model_copy(
                update={
                    "status": new_status,
                    "version": before.version + 1,
                    "steps": (*before.steps, step),
                }
            )
            self._update_row(
                conn,
                "escalation",
                escalation_id,
                before.version,
                {"status": new_status.value, "version": after.version},
                label,
            )
            conn.execute(
                tables.escalation_steps.insert().values(
                    escalation_id=escalation_id,
                    step=step.step.value,
                    who=step.who,
                    at=step.at,
                    comment=step.comment,
                )
            )
            self._journal(conn, action, "escalation", escalation_id, before, after)
        return after

    def acknowledge(
        self, escalation_id: int, comment: str = "", *, version: int | None = None
    ) -> Escalation:
        """Record that an open escalation was seen by someone at its level."""
        return self._step("acknowledge", escalation_id, comment, version)

    def act(self, escalation_id: int, comment: str, *, version: int | None = None) -> Escalation:
        """Record an action taken on an acknowledged escalation (may repeat)."""
        return self._step("act", escalation_id, comment, version)

    def close(self, escalation_id: int, comment: str, *, version: int | None = None) -> Escalation:
        """Close an acknowledged escalation, saying why."""
        return self._step("close", escalation_id, comment, version)

    # ------------------------------------------------------- major matters
    def add_matter(
        self,
        *,
        title: str,
        what_happened: str,
        occurred_at: datetime | str,
        impact: str,
        measures: str = "",
        coordination_requested: str = "",
        task: int | None = None,
        visibility: Visibility | str = Visibility.internal,
    ) -> MajorMatter:
        """Open a major matter (重大事项); its reporting clock starts now."""
        opened = self.clock()
        data = {
            "title": title,
            "what_happened": what_happened,
            "occurred_at": occurred_at,
            "impact": impact,
            "measures": measures,
            "coordination_requested": coordination_requested,
            "task": task,
            "visibility": visibility,
            "opened_at": opened,
            "opened_by": self.user.name,
            "report_deadline": rules.matter_deadline(opened, self.rules),
        }
        mm = build(MajorMatter, data, what="major matter")
        with self._write() as conn:
            access.check_write(self.user, "create", mm)
            if task is not None:
                problems = self._check_task(conn, task, "major matter")
                if problems:
                    raise InputError(problems)
            new_id = conn.execute(
                tables.major_matters.insert().values(_row(mm, drop=("id",)))
            ).inserted_primary_key[0]
            mm = mm.model_copy(update={"id": new_id})
            self._journal(conn, "create", "matter", new_id, None, mm)
        return mm

    #: Fields of a major matter that only its reporting steps set, and the step that does.
    _MATTER_STEP_FIELDS = {
        "status": "report_matter or close_matter ('parkplan matters report-done|close')",
        "reported_at": "report_matter ('parkplan matters report-done')",
        "reported_by": "report_matter ('parkplan matters report-done')",
        "reported_to": "report_matter ('parkplan matters report-done')",
    }

    def update_matter(self, matter_id: int, version: int, **changes: Any) -> MajorMatter:
        """Change a major matter read at ``version`` (impact, measures, coordination…).

        Its status and whether, when, by whom and to whom it was reported are set only
        by :meth:`report_matter` and :meth:`close_matter`, so the reporting clock cannot
        be stopped by an edit.

        Raises
        ------
        InputError
            A field that cannot be changed (naming the step that sets it), invalid
            values, or an ``occurred_at`` after the moment it was reported.
        StaleVersion, PermissionDenied
        """
        label = f"major matter #{matter_id}"
        stepped = [
            Problem(
                label, None, k, f"is set only by {self._MATTER_STEP_FIELDS[k]}, not by an update"
            )
            for k in changes
            if k in self._MATTER_STEP_FIELDS
        ]
        if stepped:
            raise InputError(stepped)
        self._check_changes(
            MajorMatter,
            label,
            changes,
            ("id", "version", "opened_at", "opened_by", "report_deadline"),
        )
        with self._write() as conn:
            before = self._one(conn, "matter", matter_id)
            access.check_write(self.user, "update", before)
            if version != before.version:
                raise self._stale(conn, "matter", matter_id, label, version)
            after = build(
                MajorMatter,
                {**before.model_dump(), **changes, "version": before.version + 1},
                what=label,
            )
            access.check_write(self.user, "update", after)
            if after.reported_at is not None and after.occurred_at > after.reported_at:
                raise InputError(
                    [
                        Problem(
                            label,
                            None,
                            "occurred_at",
                            (
                                f"{after.occurred_at:%Y-%m-%d %H:%M} is after the matter was "
                                "reported "
                                f"({after.reported_at:%Y-%m-%d %H:%M})"
                            ),
                        )
                    ]
                )
            self._update_row(conn, "matter", matter_id, version, _row(after), label)
            self._journal(conn, "update", "matter", matter_id, before, after)
        return after

    def _check_report_time(self, label: str, matter: MajorMatter, at: datetime) -> None:
        """Refuse a report moment before the matter happened or after the tracker's now."""
        if at < matter.occurred_at:
            raise InputError(
                [
                    Problem(
                        label,
                        None,
                        "reported_at",
                        (
                            f"{at:%Y-%m-%d %H:%M} is before the matter happened "
                            f"({matter.occurred_at:%Y-%m-%d %H:%M})"
                        ),
                    )
                ]
            )
        now = self.clock()
        if at > now:
            raise InputError(
                [
                    Problem(
                        label,
                        None,
                        "reported_at",
                        (
                            f"{at:%Y-%m-%d %H:%M} is in the future "
                            f"(it is now {now:%Y-%m-%d %H:%M}); "
                            "record a report once it is made"
                        ),
                    )
                ]
            )

    def report_matter(
        self, matter_id: int, version: int, *, to: str, at: datetime | None = None
    ) -> MajorMatter:
        """Record that a major matter was reported upward (to whom, when).

        Parameters
        ----------
        matter_id, version : int
            The matter and the version the caller read.
        to : str
            To whom it was reported.
        at : datetime, optional
            When (Shanghai local time; an aware moment is converted); default now. Not
            before the matter happened, not after now.

        Raises
        ------
        ParkplanError
            If the matter was already reported or is closed.
        InputError
            No recipient, or a report moment before ``occurred_at`` or in the future.
        StaleVersion, PermissionDenied
        """
        label = f"major matter #{matter_id}"
        if at is not None and at.tzinfo is not None:
            at = at.astimezone(SHANGHAI).replace(tzinfo=None)
        at = at or self.clock()
        with self._write() as conn:
            before = self._one(conn, "matter", matter_id)
            access.check_write(self.user, "report", before)
            if version != before.version:
                raise self._stale(conn, "matter", matter_id, label, version)
            if before.reported_at is not None:
                raise ParkplanError(
                    f"{label} was already reported at "
                    f"{before.reported_at:%Y-%m-%d %H:%M} by "
                    f"{before.reported_by}"
                )
            if before.status == MatterStatus.closed:
                raise ParkplanError(f"{label} is closed; a closed matter is not reported")
            if not to.strip():
                raise InputError(
                    [Problem(label, None, "reported_to", "say to whom it was reported")]
                )
            self._check_report_time(label, before, at)
            after = build(
                MajorMatter,
                {
                    **before.model_dump(),
                    "reported_at": at,
                    "reported_by": self.user.name,
                    "reported_to": to,
                    "status": MatterStatus.reported,
                    "version": before.version + 1,
                },
                what=label,
            )
            self._update_row(conn, "matter", matter_id, version, _row(after), label)
            self._journal(conn, "report", "matter", matter_id, before, after)
        return after

    def close_matter(self, matter_id: int, version: int) -> MajorMatter:
        """Close a major matter that has been reported (reported → closed).

        Raises
        ------
        ParkplanError
            If the matter is not in status ``reported``.
        StaleVersion, PermissionDenied
        """
        label = f"major matter #{matter_id}"
        with self._write() as conn:
            before = self._one(conn, "matter", matter_id)
            access.check_write(self.user, "close", before)
            if version != before.version:
                raise self._stale(conn, "matter", matter_id, label, version)
            if before.status != MatterStatus.reported:
                raise ParkplanError(
                    f"{label} is {before.status.value}; only a reported "
                    "matter can be closed (report it first)"
                )
            after = before.model_copy(
                update={"status": MatterStatus.closed, "version": before.version + 1}
            )
            self._update_row(
                conn,
                "matter",
                matter_id,
                version,
                {"status": after.status.value, "version": after.version},
                label,
            )
            self._journal(conn, "close", "matter", matter_id, before, after)
        return after

    # --------------------------------------------------------------- users
    def add_user(
        self,
        name: str,
        role: Role | str,
        *,
        tasks: Sequence[int] = (),
        clearance: Visibility | str = Visibility.shareable,
        display_name: str = "",
        unit: str = "",
    ) -> User:
        """Add a user (admin only)."""
        label = f"user {name}"
        u = build(
            User,
            {
                "name": name,
                "role": role,
                "tasks": tuple(tasks),
                "clearance": clearance,
                "display_name": display_name,
                "unit": unit,
            },
            what=label,
        )
        with self._write() as conn:
            access.check_write(self.user, "create", u)
            if conn.execute(
                sa.select(tables.users.c.name).where(tables.users.c.name == name)
            ).first():
                raise InputError([Problem(label, None, "name", f"{name} already exists")])
            conn.execute(tables.users.insert().values(_user_row(u)))
            self._journal(conn, "create", "user", name, None, u)
        return u

    def update_user(self, name: str, version: int, **changes: Any) -> User:
        """Change a user's role, tasks, clearance or activity (admin only).

        The last active admin cannot be demoted or deactivated.
        """
        label = f"user {name}"
        self._check_changes(User, label, changes, ("name", "version"))
        if "tasks" in changes:
            changes["tasks"] = tuple(changes["tasks"] or ())
        with self._write() as conn:
            before = self._one(conn, "user", name)
            access.check_write(self.user, "update", before)
            if version != before.version:
                raise self._stale(conn, "user", name, label, version)
            after = build(
                User, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
            )
            admins = [u for u in self._users(conn) if u.role == Role.admin and u.active]
            if (
                before.role == Role.admin
                and before.active
                and len(admins) == 1
                and (after.role != Role.admin or not after.active)
            ):
                raise ParkplanError(f"{name} is the last active admin; add another admin first")
            self._update_row(conn, "user", name, version, _user_row(after), label)
            self._journal(conn, "update", "user", name, before, after)
        return after

    # ------------------------------------------------------------- seeding
    def _seed(self, tasks: Sequence[Task], users: Sequence[User]) -> None:
        """Write the nine tasks and the first users, journaled as ``system`` (seeding only).

        Raises
        ------
        ParkplanError
            If the workspace already holds tasks.
        """
        with self._write() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(tables.tasks)).scalar():
                raise ParkplanError("the workspace already holds the tracker's tasks")
            for task in tasks:
                conn.execute(tables.tasks.insert().values(_task_row(task)))
                self._journal(conn, "create", "task", task.number, None, task)
            for user in users:
                conn.execute(tables.users.insert().values(_user_row(user)))
                self._journal(conn, "create", "user", user.name, None, user)

    # ----------------------------------------------------------- baselines
    def _baseline(self, conn: Connection, name: str) -> Baseline:
        row = conn.execute(
            sa.select(tables.baselines).where(tables.baselines.c.name == name)
        ).first()
        if row is None:
            names = conn.execute(sa.select(tables.baselines.c.name)).scalars().all()
            raise NotFound(
                f"no baseline {name!r}"
                + (f"; baselines: {', '.join(names)}" if names else "; none saved yet")
            )
        return _baseline_from(row)

    def _baseline_before(self, conn: Connection, day: date) -> Baseline | None:
        b = tables.baselines.c
        row = conn.execute(
            sa.select(tables.baselines)
            .where(b.as_of < day)
            .order_by(*(c.desc() for c in _BASELINE_ORDER))
        ).first()
        return _baseline_from(row) if row else None

    def last_baseline(self, before: date) -> Baseline | None:
        """Return the last stocktake: the newest baseline as of a day before ``before``.

        This is the one definition of the trend's reference: :meth:`task_statuses` (and
        so ``tasks list`` and :meth:`programme`) asks for the baseline before the day it
        rates; the weekly stocktake asks for the one before its week's Monday.

        Parameters
        ----------
        before : date
            Baselines as of this day or later are left out, so a baseline saved for the
            day being rated (``report stocktake --save-baseline``) is not compared with
            itself.

        Returns
        -------
        Baseline or None
            The newest by ``as_of``, then by ``saved_at`` (then name); ``None`` if no
            baseline is as of a day before ``before``.
        """
        with self._read() as conn:
            return self._baseline_before(conn, before)

    def baselines(self) -> list[Baseline]:
        """Return the saved baselines, oldest first, without their snapshots.

        Oldest means by ``as_of``, then ``saved_at`` (then name): the order in which
        :meth:`last_baseline` takes the newest.
        """
        b = tables.baselines.c
        with self._read() as conn:
            # Not the snapshots: they are the bulk of the table, and the list leaves them out.
            rows = conn.execute(
                sa.select(b.name, b.saved_at, b.saved_by, b.as_of).order_by(*_BASELINE_ORDER)
            ).all()
        return [
            Baseline(
                name=r.name, saved_at=r.saved_at, saved_by=r.saved_by, as_of=r.as_of, snapshot={}
            )
            for r in rows
        ]

    def _current_snapshot(self, conn: Connection, as_of: date) -> dict[str, Any]:
        recs = self._records(conn)
        sched = schedule.programme_schedule(recs.milestones)
        ratings = rating.rate_all(recs.tasks, recs.milestones, recs.risks, sched, as_of)
        return rating.snapshot(recs.milestones, recs.risks, ratings, as_of)

    def _check_new_baseline(self, conn: Connection, name: str) -> None:
        access.check_write(self.user, "save", "baseline")
        if conn.execute(
            sa.select(tables.baselines.c.name).where(tables.baselines.c.name == name)
        ).first():
            raise InputError(
                [Problem(f"baseline {name}", None, "name", f"a baseline {name!r} already exists")]
            )

    def check_new_baseline(self, name: str) -> None:
        """Refuse now what :meth:`save_baseline` would refuse for ``name``; write nothing.

        For callers that do other work before saving (``report stocktake
        --save-baseline`` writes its files first) and must not do it for a baseline that
        cannot be saved.

        Raises
        ------
        PermissionDenied
            If the user may not save baselines.
        InputError
            If a baseline ``name`` already exists.
        """
        with self._read() as conn:
            self._check_new_baseline(conn, name)

    def save_baseline(self, name: str, as_of: date | None = None) -> Baseline:
        """Save the programme as it is (milestones, risks, ratings) under ``name``.

        Raises
        ------
        PermissionDenied, InputError
            As for :meth:`check_new_baseline`.
        """
        as_of = as_of or self.clock().date()
        with self._write() as conn:
            self._check_new_baseline(conn, name)
            b = build(
                Baseline,
                {
                    "name": name,
                    "saved_at": self.clock(),
                    "saved_by": self.user.name,
                    "as_of": as_of,
                    "snapshot": self._current_snapshot(conn, as_of),
                },
                what=f"baseline {name}",
            )
            conn.execute(
                tables.baselines.insert().values(
                    name=b.name,
                    saved_at=b.saved_at,
                    saved_by=b.saved_by,
                    as_of=b.as_of,
                    snapshot_json=json.dumps(b.snapshot, ensure_ascii=False, sort_keys=True),
                )
            )
            self._journal(
                conn,
                "create",
                "baseline",
                name,
                None,
                {"name": name, "as_of": as_of.isoformat(), "visibility": "public"},
            )
        return b

    def compare_baseline(self, name: str, as_of: date | None = None) -> rating.Comparison:
        """Compare the programme now with baseline ``name``.

        Records above the user's clearance are left out.
        """
        as_of = as_of or self.clock().date()
        with self._read() as conn:
            base = self._baseline(conn, name)
            now = self._current_snapshot(conn, as_of)
        comp = rating.compare(name, base.snapshot, now)
        return rating.Comparison(
            comp.baseline,
            comp.baseline_as_of,
            comp.as_of,
            tuple(c for c in comp.changes if self.user.can_see(c.visibility)),
        )


def _visibility_of(record: Any) -> Any:
    if isinstance(record, dict):
        return record.get("visibility")
    return getattr(record, "visibility", None)


def _baseline_from(row: Any) -> Baseline:
    return Baseline(
        name=row.name,
        saved_at=row.saved_at,
        saved_by=row.saved_by,
        as_of=row.as_of,
        snapshot=json.loads(row.snapshot_json),
    )


def _milestone_order(record: Any) -> tuple:
    parts = re.findall(r"\d+|\D+", record.id)
    return (record.task, [(0, int(p)) if p.isdigit() else (1, p) for p in parts])


#: Baselines from oldest to newest: by the day they are as of, then when they were saved.
_BASELINE_ORDER = (tables.baselines.c.as_of, tables.baselines.c.saved_at, tables.baselines.c.name)

_TABLES: dict[str, tuple[sa.Table, str]] = {
    "task": (tables.tasks, "number"),
    "milestone": (tables.milestones, "id"),
    "risk": (tables.risks, "id"),
    "kpi": (tables.kpis, "id"),
    "matter": (tables.major_matters, "id"),
    "escalation": (tables.escalations, "id"),
    "user": (tables.users, "name"),
}


__all__ = [
    "EVIDENCE_TYPES",
    "MAX_EVIDENCE_BYTES",
    "SHANGHAI",
    "SYSTEM",
    "EscalationRun",
    "KpiStatus",
    "check_evidence_type",
    "NotFound",
    "PermissionDenied",
    "PlannedMilestone",
    "Programme",
    "StaleVersion",
    "TaskStatus",
    "Tracker",
    "now_shanghai",
]
