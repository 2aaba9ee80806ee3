"""What an imported workbook changes, checked as the tracker would, then applied."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import Connection

from parkplan.errors import InputError
from parkplan.tracker import access, journal, schedule
from parkplan.tracker.commands.milestones import changed_fields
from parkplan.tracker.excel.layout import ENTITY_OF_SHEET, RECORD_CLASS, SHEETS
from parkplan.tracker.excel.reading import Row, SheetProblem, read_sheet
from parkplan.tracker.model import Milestone, build
from parkplan.tracker.repository import known_owners, load_milestones, load_risks, load_tasks

if TYPE_CHECKING:
    from parkplan.tracker.service import Tracker


@dataclass(frozen=True)
class FieldChange:
    """One field of a record, before and after (JSON-ready values)."""

    field: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.field}: {_show(self.before)} → {_show(self.after)}"


@dataclass(frozen=True)
class RecordChange:
    """What an import does to one record: create or update, field by field."""

    entity: str
    id: str | None
    action: str
    version: int | None
    sheet: str
    row: int
    fields: tuple[FieldChange, ...]
    edits: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    depends_before: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def label(self) -> str:
        """``milestone M3-2`` or ``new risk (risks row 9)``."""
        if self.id is None:
            return f"new {self.entity} ({self.sheet} row {self.row})"
        return f"{'new ' if self.action == 'create' else ''}{self.entity} {self.id}"

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "entity": self.entity,
            "id": self.id,
            "action": self.action,
            "version": self.version,
            "sheet": self.sheet,
            "row": self.row,
            "changes": [
                {"field": f.field, "before": f.before, "after": f.after} for f in self.fields
            ],
        }


@dataclass(frozen=True)
class ChangeSet:
    """The changes an edited workbook asks for, and every problem with it."""

    file: str
    changes: tuple[RecordChange, ...] = ()
    problems: tuple[SheetProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the workbook can be applied (no problems)."""
        return not self.problems

    def error(self) -> InputError:
        """Return the problems as one :class:`InputError`."""
        return InputError([p.to_problem(Path(self.file).name) for p in self.problems])

    def lines(self) -> list[str]:
        """Describe the change set, one line per record and field, then the problems."""
        out = []
        for c in self.changes:
            out.append(
                f"{c.label} ({c.sheet} row {c.row}, "
                f"{'version ' + str(c.version) if c.version else 'new'}):"
            )
            out.extend(f"    {f}" for f in c.fields)
        out.extend(f"problem: {p}" for p in self.problems)
        return out

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "file": self.file,
            "ok": self.ok,
            "changes": [c.to_dict() for c in self.changes],
            "problems": [p.to_dict() for p in self.problems],
        }


# ================================================================= planning
@dataclass
class _Plan:
    entity: str
    row: Row
    before: Any
    after: Any
    edits: dict[str, Any]
    new_id: bool = False


def preview_xlsx(tracker: Tracker, path: str | os.PathLike) -> ChangeSet:
    """Validate an edited workbook and say what applying it would change.

    Parameters
    ----------
    tracker : Tracker
        Whose permissions and clearance apply.
    path : path

    Returns
    -------
    ChangeSet
        The field changes per record (before → after), and every problem found (with
        sheet, row, column and reason): renamed or merged header cells, unknown status,
        out-of-range values, due before start, unknown owner, a dependency on a missing
        milestone, a cycle, a stale version, a record the user may not change.
    """
    return _plan(tracker, path)[0]


def apply_xlsx(tracker: Tracker, path: str | os.PathLike) -> ChangeSet:
    """Apply an edited workbook in one transaction, or raise and write nothing.

    Every change goes through the tracker (permissions, versions, validation and the
    journal: one entry per changed record).

    Raises
    ------
    InputError
        With every problem :func:`preview_xlsx` finds.
    StaleVersion, PermissionDenied
        If a record changed, or a check failed, between preview and write.
    """
    with tracker.transaction():
        changes, plans = _plan(tracker, path)
        if not changes.ok:
            raise changes.error()
        for plan in _apply_order(plans):
            _apply_one(tracker, plan)
    return changes


def _plan(tracker: Tracker, path: str | os.PathLike) -> tuple[ChangeSet, list[_Plan]]:
    path = Path(path)
    problems: list[SheetProblem] = []
    try:
        wb = openpyxl.load_workbook(path)
    except FileNotFoundError:
        return ChangeSet(str(path), (), (SheetProblem(None, None, None, "no such file"),)), []
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        return ChangeSet(
            str(path),
            (),
            (
                SheetProblem(
                    None, None, None, f"not an XLSX workbook ({type(err).__name__}: {err})"
                ),
            ),
        ), []
    rows = {sheet: read_sheet(wb, sheet, problems) for sheet in SHEETS}
    with tracker.repository.read() as conn:
        plans = _plan_records(tracker, conn, rows, problems)
    problems.sort(
        key=lambda p: (list(SHEETS).index(p.sheet) if p.sheet in SHEETS else -1, p.row or 0)
    )
    changes = tuple(_record_change(p) for p in plans)
    return ChangeSet(str(path), changes, tuple(problems)), plans


def _plan_records(
    tracker: Tracker, conn: Connection, rows: dict[str, list[Row]], problems: list[SheetProblem]
) -> list[_Plan]:
    current = {
        "milestone": {m.id: m for m in load_milestones(conn)},
        "risk": {r.id: r for r in load_risks(conn)},
    }
    owners = known_owners(conn)
    tasks = {task.number for task in load_tasks(conn)}
    plans: list[_Plan] = []
    for sheet, sheet_rows in rows.items():
        entity = ENTITY_OF_SHEET[sheet]
        seen: dict[str, int] = {}
        for row in sheet_rows:
            rid = row.values["id"]
            if rid:
                if rid in seen:
                    problems.append(
                        SheetProblem(
                            sheet,
                            row.number,
                            "id",
                            f"{rid} is also on row {seen[rid]}",
                            row.cells["id"],
                        )
                    )
                    continue
                seen[rid] = row.number
            plan = _plan_row(tracker, conn, entity, row, current[entity], problems)
            if plan is None:
                continue
            found = _check_record(tracker, conn, plan, owners, tasks)
            problems.extend(found)
            if not found:
                plans.append(plan)
    _check_network(current["milestone"], [p for p in plans if p.entity == "milestone"], problems)
    return plans


def _plan_row(
    tracker: Tracker,
    conn: Connection,
    entity: str,
    row: Row,
    current: dict[str, Any],
    problems: list[SheetProblem],
) -> _Plan | None:
    cls = RECORD_CLASS[entity]
    values, sheet = row.values, row.sheet
    rid, version = values["id"], values["version"]
    fields = {k: v for k, v in values.items() if k not in ("id", "version")}

    def problem(column: str | None, reason: str) -> None:
        problems.append(
            SheetProblem(
                sheet, row.number, column, reason, row.cells.get(column) if column else None
            )
        )

    if version is None:  # a new record
        if rid and rid in current:
            problem(
                "id",
                f"{entity} {rid} already exists: to change it, keep the version "
                "it was exported with",
            )
            return None
        data = {k: v for k, v in fields.items() if v is not None}
        if entity == "risk":
            data.setdefault("opened_on", tracker.clock().date())
        new_id = not rid
        data["id"] = rid or f"new-row-{row.number}"
        data["version"] = 1
        after = _build(cls, data, row, problems)
        return None if after is None else _Plan(entity, row, None, after, fields, new_id)

    before = current.get(rid) if rid else None
    if rid is None:
        problem(
            "id",
            "is empty, but the row has a version: an existing record needs its id "
            "(a new one an empty version)",
        )
        return None
    if before is None or not access.visible(tracker.user, before):
        problem("id", f"no {entity} {rid} visible to you (to add one, leave version empty)")
        return None

    def stale() -> Exception:
        return tracker.repository.stale(conn, entity, rid, f"{entity} {rid}", version)

    exported = before if version == before.version else _state_at(conn, entity, rid, version)
    if exported is None:
        problem("version", str(stale()))
        return None
    edits = {k: v for k, v in fields.items() if not _same(k, v, getattr(exported, k))}
    if not edits:
        return None
    if version != before.version:
        if all(_same(k, v, getattr(before, k)) for k, v in edits.items()):
            return None  # the record already holds these edits (e.g. a re-import)
        problem("version", str(stale()))
        return None
    if entity == "milestone":  # what Tracker.update_milestone does on its own
        data = changed_fields(before, edits)
    else:
        data = {**before.model_dump(), **edits, "version": before.version + 1}
    after = _build(cls, data, row, problems)
    return None if after is None else _Plan(entity, row, before, after, edits)


def _build(cls: type, data: dict[str, Any], row: Row, problems: list[SheetProblem]) -> Any:
    try:
        return build(cls, data)
    except InputError as err:
        for p in err.problems:
            column = p.column if p.column in row.cells else _column_of(p.reason)
            problems.append(
                SheetProblem(
                    row.sheet,
                    row.number,
                    column,
                    p.reason,
                    row.cells.get(column) if column else None,
                )
            )
        return None


def _column_of(reason: str) -> str | None:
    first = reason.split(" ", 1)[0]
    if first in ("due", "forecast", "reviewed_on", "depends_on", "start"):
        return first
    if reason.startswith("a done milestone"):
        return "percent"
    if reason.startswith("dependency cycle"):
        return "depends_on"
    return None


def _state_at(conn: Connection, entity: str, rid: str, version: int) -> Any:
    """Return the record as it was at ``version``, from the journal, or ``None``."""
    cls = RECORD_CLASS[entity]
    for entry in journal.history(conn, entity=entity, entity_id=rid):
        if entry.after and entry.after.get("version") == version:
            data = {k: v for k, v in entry.after.items() if k in cls.model_fields}
            try:
                return cls.model_validate(data)
            except ValueError:
                return None
    return None


def _same(name: str, new: Any, old: Any) -> bool:
    if isinstance(old, Enum):
        old = old.value
    if isinstance(new, Enum):
        new = new.value
    if name == "depends_on":
        return tuple(sorted(new or ())) == tuple(sorted(old or ()))
    if name in ("forecast", "opened_on") and new is None:
        return True  # left empty: keep (forecast defaults to due)
    if new in (None, "") and old in (None, ""):
        return True
    return new == old


def _check_record(
    tracker: Tracker, conn: Connection, plan: _Plan, owners: set[str], tasks: set[int]
) -> list[SheetProblem]:
    row, after, before = plan.row, plan.after, plan.before
    found: list[SheetProblem] = []

    def problem(column: str | None, reason: str) -> None:
        found.append(
            SheetProblem(
                row.sheet, row.number, column, reason, row.cells.get(column) if column else None
            )
        )

    try:
        if before is not None:
            access.check_write(tracker.user, "update", before)
            access.check_write(tracker.user, "update", after)
        else:
            access.check_write(tracker.user, "create", after)
    except access.PermissionDenied as err:
        problem(None, str(err))
        return found
    if after.task not in tasks:
        problem("task", f"there is no task {after.task} in this workspace")
    owner_checked = plan.entity == "milestone" or before is None or before.owner != after.owner
    if owner_checked and after.owner not in owners:
        problem(
            "owner",
            f"unknown owner {after.owner!r}: name a user, a user's unit, or a "
            "task's lead or co-unit",
        )
    if (
        plan.entity == "milestone"
        and after.linked_site_id
        and (before is None or before.linked_site_id != after.linked_site_id)
        and tracker.repository.site_year(conn, after.linked_site_id) is None
    ):
        problem("linked_site_id", f"there is no site {after.linked_site_id!r} in layer 'sites'")
    return found


def _check_network(
    current: dict[str, Milestone], plans: list[_Plan], problems: list[SheetProblem]
) -> None:
    final = dict(current)
    for p in plans:
        final[p.after.id] = p.after
    bad = set()
    for p in plans:
        for dep in p.after.depends_on:
            if dep not in final:
                problems.append(
                    SheetProblem(
                        p.row.sheet,
                        p.row.number,
                        "depends_on",
                        f"depends on {dep}, which does not exist",
                        p.row.cells["depends_on"],
                    )
                )
                bad.add(p.after.id)
    if bad:
        return
    cycle = schedule.find_cycle(schedule.dependency_graph(final.values()))
    if cycle:
        by_id = {p.after.id: p for p in plans}
        changed = next((i for i in cycle if i in by_id), cycle[0])
        if changed in cycle[:-1]:
            i = cycle.index(changed)
            cycle = cycle[i:-1] + cycle[:i] + [changed]
        p = by_id.get(changed)
        problems.append(
            SheetProblem(
                p.row.sheet if p else "milestones",
                p.row.number if p else None,
                "depends_on",
                "dependency cycle: " + schedule.format_cycle(cycle),
                p.row.cells["depends_on"] if p else None,
            )
        )


def _record_change(plan: _Plan) -> RecordChange:
    after, before = plan.after, plan.before
    names = [n for n in type(after).model_fields if n != "version"]
    fields = []
    for name in names:
        new = _json_value(getattr(after, name))
        old = _json_value(getattr(before, name)) if before is not None else None
        if before is None:
            if name == "id" and plan.new_id:
                continue
            if new in (None, "", []):
                continue
        if old != new:
            fields.append(FieldChange(name, old, new))
    return RecordChange(
        plan.entity,
        None if plan.new_id else after.id,
        "create" if before is None else "update",
        before.version if before is not None else None,
        plan.row.sheet,
        plan.row.number,
        tuple(fields),
        dict(plan.edits),
        tuple(before.depends_on) if plan.entity == "milestone" and before else (),
    )


def _json_value(value: Any) -> Any:
    """Return a field's value JSON-ready: enums as their value, dates as ISO text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(value) or "–"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


# ================================================================= applying
def _apply_order(plans: list[_Plan]) -> list[_Plan]:
    """Order the writes so that no intermediate state has a dependency cycle.

    First the milestones whose dependencies only shrink (or stay), in any order; then new
    milestones and those that gain dependencies, dependencies before dependents in the
    final network; then the risks. Every record is written once.
    """
    milestones = [p for p in plans if p.entity == "milestone"]
    first, second = [], []
    for p in milestones:
        gains = p.before is None or not set(p.after.depends_on) <= set(p.before.depends_on)
        (second if gains else first).append(p)
    graph = {p.after.id: tuple(p.after.depends_on) for p in milestones}
    order = {mid: i for i, mid in enumerate(schedule.topological_order(graph))}
    second.sort(key=lambda p: order[p.after.id])
    return first + second + [p for p in plans if p.entity == "risk"]


def _apply_one(tracker: Tracker, plan: _Plan) -> None:
    after = plan.after
    if plan.before is not None:
        update = tracker.update_milestone if plan.entity == "milestone" else tracker.update_risk
        update(after.id, plan.before.version, **plan.edits)
        return
    data = after.model_dump()
    data.pop("version")
    if plan.new_id:
        data["id"] = None
    if plan.entity == "milestone":
        tracker.add_milestone(**data)
    else:
        tracker.add_risk(**data)


__all__ = [
    "ChangeSet",
    "FieldChange",
    "RecordChange",
    "apply_xlsx",
    "preview_xlsx",
]
