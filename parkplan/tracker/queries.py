"""Reading the programme: task statuses, the plan, KPIs with their actuals, baselines.

Pure reads through a :class:`~parkplan.tracker.repository.Repository`: what a user may see
of the programme as of a date. Ratings and the CPM schedule are computed on read from the
stored forecasts, so they are never stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from parkplan.store import ledger
from parkplan.tracker import journal, rating, schedule, tables
from parkplan.tracker.access import NotFound
from parkplan.tracker.model import (
    Baseline,
    Escalation,
    EscalationStatus,
    Kpi,
    KpiActual,
    KpiSource,
    MajorMatter,
    MatterStatus,
    Milestone,
    Risk,
    RiskStatus,
    Task,
)
from parkplan.tracker.repository import (
    Repository,
    load_escalations,
    load_kpis,
    load_matters,
    load_milestones,
    load_records,
    load_risks,
)

#: Tiers of candidate that count as anchor organisations (龙头企业, policy 二（八）).
ANCHOR_TIERS = ("international_major", "national_qi_centre", "local_champion")

#: Baselines from oldest to newest: by the day they are as of, then when they were saved.
BASELINE_ORDER = (tables.baselines.c.as_of, tables.baselines.c.saved_at, tables.baselines.c.name)


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


# ------------------------------------------------------------------ lists
def milestones(repo: Repository, task: int | None = None) -> list[Milestone]:
    """Return the milestones the user may see, optionally of one task."""
    with repo.read() as conn:
        found = repo.visible(load_milestones(conn))
    return [m for m in found if task is None or m.task == task]


def risks(repo: Repository, task: int | None = None, open_only: bool = False) -> list[Risk]:
    """Return the risks the user may see, optionally of one task or only open ones."""
    with repo.read() as conn:
        found = repo.visible(load_risks(conn))
    return [
        r
        for r in found
        if (task is None or r.task == task) and (not open_only or r.status == RiskStatus.open)
    ]


def escalations(
    repo: Repository, status: str | None = None, open_only: bool = False
) -> list[Escalation]:
    """Return the escalations the user may see, oldest first, optionally filtered."""
    with repo.read() as conn:
        found = repo.visible(load_escalations(conn))
    return [
        e
        for e in found
        if (status is None or e.status == status)
        and (not open_only or e.status != EscalationStatus.closed)
    ]


def matters(repo: Repository, open_only: bool = False) -> list[MajorMatter]:
    """Return the major matters the user may see, optionally only open ones."""
    with repo.read() as conn:
        found = repo.visible(load_matters(conn))
    return [m for m in found if not open_only or m.status == MatterStatus.open]


def journal_entries(
    repo: Repository, entity: str | None = None, entity_id: str | None = None
) -> list[journal.JournalEntry]:
    """Return the audit trail, entries above the user's clearance left out."""
    with repo.read() as conn:
        entries = journal.history(conn, entity=entity, entity_id=entity_id)
    return [e for e in entries if repo.user.can_see(e.visibility)]


# ---------------------------------------------------------------- schedule
def visible_schedule(
    repo: Repository, all_ms: list[Milestone], sched: schedule.Schedule
) -> schedule.Schedule:
    """Return ``sched`` without the entries and critical path the user may not see."""
    ok = {m.id for m in repo.visible(all_ms)}
    return schedule.Schedule(
        {k: v for k, v in sched.entries.items() if k in ok},
        tuple(i for i in sched.critical_path if i in ok),
        sched.finish,
    )


def programme_schedule(repo: Repository) -> schedule.Schedule:
    """Return the CPM schedule of every milestone, limited to those the user may see.

    The network is the whole programme; entries and the critical path of milestones
    above the user's clearance are left out.
    """
    with repo.read() as conn:
        all_ms = load_milestones(conn)
    return visible_schedule(repo, all_ms, schedule.programme_schedule(all_ms))


def planned(
    repo: Repository, all_ms: list[Milestone], as_of: date, task: int | None = None
) -> list[PlannedMilestone]:
    """Return the visible milestones of ``all_ms`` with their CPM figures and slip."""
    sched = schedule.programme_schedule(all_ms)
    return [
        PlannedMilestone(m, sched.get(m.id), rating.slip_days(m, sched, as_of))
        for m in repo.visible(all_ms)
        if task is None or m.task == task
    ]


def plan(repo: Repository, task: int | None, as_of: date) -> list[PlannedMilestone]:
    """Return the visible milestones (optionally of one task) as of a date."""
    with repo.read() as conn:
        all_ms = load_milestones(conn)
    return planned(repo, all_ms, as_of, task)


# -------------------------------------------------------------------- KPIs
def siting_actuals(repo: Repository, conn: Connection, kpi: Kpi) -> tuple[list[KpiActual], str]:
    """Return task （八）'s indicator ``kpi`` from the adopted siting plan, and a note.

    For each year of the plan (:func:`parkplan.store.ledger.adopted_plan`): the cumulative
    number of anchor organisations (:data:`ANCHOR_TIERS`), or the cumulative floor space of
    every allocated candidate, dated 31 December. No adopted run: no actuals, and a note
    says so.
    """
    adopted = ledger.adopted_plan(repo.workspace, conn)
    if adopted is None:
        return [], "no adopted siting plan: adopt a scenario run to fill this indicator"
    note = f"from adopted siting plan {adopted.run_id} ({adopted.scenario_name})"
    actuals = []
    for year in sorted({c.year for c in adopted.candidates}):
        upto = [c for c in adopted.candidates if c.year <= year]
        if kpi.source == KpiSource.siting_anchors:
            value = float(sum(1 for c in upto if c.tier in ANCHOR_TIERS))
        else:
            value = float(sum(c.floor_m2 for c in upto if c.floor_m2 is not None))
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


def kpi_status(repo: Repository, conn: Connection, kpi: Kpi) -> KpiStatus:
    """Return a KPI with its actuals: entered by hand, or from the adopted siting plan."""
    if kpi.source != KpiSource.manual:
        actuals, note = siting_actuals(repo, conn, kpi)
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


def kpis(repo: Repository, task: int | None = None) -> list[KpiStatus]:
    """Return the visible KPIs (optionally of one task) with their actuals."""
    with repo.read() as conn:
        found = [k for k in repo.visible(load_kpis(conn)) if task is None or k.task == task]
        return [kpi_status(repo, conn, k) for k in found]


# --------------------------------------------------------------- baselines
def baseline_from(row: Any) -> Baseline:
    """Return the baseline of a ``baselines`` row, with its snapshot."""
    return Baseline(
        name=row.name,
        saved_at=row.saved_at,
        saved_by=row.saved_by,
        as_of=row.as_of,
        snapshot=json.loads(row.snapshot_json),
    )


def baseline(conn: Connection, name: str) -> Baseline:
    """Return baseline ``name``.

    Raises
    ------
    NotFound
        Naming the baselines there are.
    """
    row = conn.execute(sa.select(tables.baselines).where(tables.baselines.c.name == name)).first()
    if row is None:
        names = conn.execute(sa.select(tables.baselines.c.name)).scalars().all()
        raise NotFound(
            f"no baseline {name!r}"
            + (f"; baselines: {', '.join(names)}" if names else "; none saved yet")
        )
    return baseline_from(row)


def baseline_before(conn: Connection, day: date) -> Baseline | None:
    """Return the newest baseline as of a day before ``day`` (see ``Tracker.last_baseline``)."""
    row = conn.execute(
        sa.select(tables.baselines)
        .where(tables.baselines.c.as_of < day)
        .order_by(*(c.desc() for c in BASELINE_ORDER))
    ).first()
    return baseline_from(row) if row else None


def baselines(repo: Repository) -> list[Baseline]:
    """Return the saved baselines, oldest first, without their snapshots."""
    b = tables.baselines.c
    with repo.read() as conn:
        # Not the snapshots: they are the bulk of the table, and the list leaves them out.
        rows = conn.execute(
            sa.select(b.name, b.saved_at, b.saved_by, b.as_of).order_by(*BASELINE_ORDER)
        ).all()
    return [
        Baseline(name=r.name, saved_at=r.saved_at, saved_by=r.saved_by, as_of=r.as_of, snapshot={})
        for r in rows
    ]


def current_snapshot(conn: Connection, as_of: date) -> dict[str, Any]:
    """Return the programme's snapshot as of a date (milestones, risks, ratings)."""
    recs = load_records(conn)
    sched = schedule.programme_schedule(recs.milestones)
    ratings = rating.rate_all(recs.tasks, recs.milestones, recs.risks, sched, as_of)
    return rating.snapshot(recs.milestones, recs.risks, ratings, as_of)


def compare_baseline(repo: Repository, name: str, as_of: date) -> rating.Comparison:
    """Compare the programme as of a date with baseline ``name``, as the user may see it."""
    with repo.read() as conn:
        base = baseline(conn, name)
        now = current_snapshot(conn, as_of)
    comp = rating.compare(name, base.snapshot, now)
    return rating.Comparison(
        comp.baseline,
        comp.baseline_as_of,
        comp.as_of,
        tuple(c for c in comp.changes if repo.user.can_see(c.visibility)),
    )


# ---------------------------------------------------------------- statuses
def _shown_reason(repo: Repository, r: rating.Reason) -> rating.Reason:
    """Return a reason as the user may see it: one above their clearance names nothing."""
    if repo.user.can_see(r.visibility):
        return r
    return rating.Reason(
        r.rating,
        r.rule,
        r.subject_type,
        "",
        f"a {r.subject_type} above your clearance ({r.rule})",
        r.visibility,
    )


def task_statuses(repo: Repository, as_of: date, against: str | None = None) -> list[TaskStatus]:
    """Rate every visible task as of a date, with its trend against a baseline.

    Ratings are computed from every record (a task's status does not depend on who
    looks); reasons about records above the user's clearance are shown without naming
    them. The trend is against ``against``, else the last baseline before ``as_of``.
    """
    with repo.read() as conn:
        recs = load_records(conn)
        base = baseline(conn, against) if against else baseline_before(conn, as_of)
    sched = schedule.programme_schedule(recs.milestones)
    ratings = rating.rate_all(recs.tasks, recs.milestones, recs.risks, sched, as_of)
    before = base.snapshot.get("ratings", {}) if base else {}
    out = []
    for task in repo.visible(recs.tasks):
        tr = ratings[task.number]
        was = before.get(str(task.number))
        out.append(
            TaskStatus(
                task,
                tr.rating,
                rating.trend(tr.rating, rating.Rating(was) if was else None),
                tuple(_shown_reason(repo, r) for r in tr.reasons),
                base.name if base else None,
            )
        )
    return out


def programme(repo: Repository, as_of: date) -> Programme:
    """Return everything the user may see of the programme as of a date."""
    statuses = task_statuses(repo, as_of)
    with repo.read() as conn:
        all_ms = load_milestones(conn)
        risks = repo.visible(load_risks(conn))
        kpi_list = [kpi_status(repo, conn, k) for k in repo.visible(load_kpis(conn))]
        escalations = repo.visible(load_escalations(conn))
        matters = repo.visible(load_matters(conn))
    sched = schedule.programme_schedule(all_ms)
    return Programme(
        as_of,
        tuple(statuses),
        tuple(planned(repo, all_ms, as_of)),
        visible_schedule(repo, all_ms, sched).critical_path,
        sched.finish,
        tuple(risks),
        tuple(kpi_list),
        tuple(escalations),
        tuple(matters),
    )


__all__ = [
    "ANCHOR_TIERS",
    "KpiStatus",
    "PlannedMilestone",
    "Programme",
    "TaskStatus",
    "baseline",
    "baseline_before",
    "baselines",
    "compare_baseline",
    "current_snapshot",
    "escalations",
    "journal_entries",
    "kpi_status",
    "kpis",
    "matters",
    "milestones",
    "plan",
    "planned",
    "programme",
    "programme_schedule",
    "risks",
    "siting_actuals",
    "task_statuses",
    "visible_schedule",
]
