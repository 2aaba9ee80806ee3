"""The tracker on a workspace: read and change records, as a user, with an audit trail.

:class:`Tracker` is the library's way in, a facade over the unit of work
(:mod:`.repository`), the reads (:mod:`.queries`) and the changes, one module per aggregate
(:mod:`.commands`). Every change

1. reads the record in a write transaction (a record above the user's clearance reads as
   not found),
2. checks the user's permission (:func:`parkplan.tracker.access.check_write`),
3. checks the version the caller read against the stored one (optimistic locking) and
   refuses a stale one with :class:`~.repository.StaleVersion`, naming who changed what
   and when,
4. validates the new record and its references (owner, dependencies, cycle, site),
5. writes with ``UPDATE … WHERE version = :read_version`` (so that of two concurrent
   writers exactly one wins) and appends a journal entry,

all in one transaction: a refused change writes nothing. The CPM schedule and the ratings
are computed on read from the stored forecasts, so they can never be stale; the cycle check
runs on every change.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from parkplan.identity.users import ANONYMOUS, Role, User, Visibility
from parkplan.store import Workspace
from parkplan.tracker import journal as journal_
from parkplan.tracker import queries, rating, rules, schedule
from parkplan.tracker.commands import (
    baselines,
    escalations,
    evidence,
    kpis,
    matters,
    milestones,
    risks,
    tasks,
    users,
)
from parkplan.tracker.model import (
    Baseline,
    Escalation,
    Evidence,
    Kpi,
    KpiActual,
    MajorMatter,
    Milestone,
    Risk,
    Task,
)
from parkplan.tracker.repository import (
    Repository,
    Transaction,
    find_user,
    load_tasks,
    load_users,
    now_shanghai,
)


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
    transaction : Transaction, optional
        An open transaction to share (see :meth:`as_user`).

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
        transaction: Transaction | None = None,
    ):
        self.rules = ruleset or rules.load_rules()
        #: The unit of work every read and change goes through.
        self.repository = Repository(
            workspace, ANONYMOUS, clock or now_shanghai, transaction or Transaction()
        )
        if isinstance(user, User):
            self.repository.user = user
        elif user is not None:
            with self.repository.read() as conn:
                self.repository.user = find_user(conn, user)

    @property
    def workspace(self) -> Workspace:
        """The workspace the tracker reads and writes."""
        return self.repository.workspace

    @property
    def user(self) -> User:
        """Who the tracker acts as."""
        return self.repository.user

    @property
    def clock(self) -> Callable[[], datetime]:
        """Returns "now" (Shanghai local time)."""
        return self.repository.clock

    @contextmanager
    def transaction(self) -> Iterator[Tracker]:
        """Make every change inside the block one transaction: all of them or none.

        Inside, each change still runs in its own savepoint, so a refused change that is
        caught leaves the others in place. Trackers made with :meth:`as_user` inside the
        block share the transaction (seeding, imports).
        """
        with self.repository.transaction():
            yield self

    def as_user(self, user: str | User, *, clock: Callable[[], datetime] | None = None) -> Tracker:
        """Return a tracker acting as ``user`` that shares this one's transaction, if any."""
        return Tracker(
            self.workspace,
            user,
            clock=clock or self.clock,
            ruleset=self.rules,
            transaction=self.repository.tx,
        )

    def _day(self, as_of: date | None) -> date:
        return as_of or self.repository.today()

    # ============================================================== reading
    def tasks(self) -> list[Task]:
        """Return the nine tasks (those the user may see), in order."""
        with self.repository.read() as conn:
            return self.repository.visible(load_tasks(conn))

    def task(self, number: int) -> Task:
        """Return task ``number``."""
        return self.repository.get("task", number)

    def milestones(self, task: int | None = None) -> list[Milestone]:
        """Return the milestones the user may see, optionally of one task."""
        return queries.milestones(self.repository, task)

    def milestone(self, milestone_id: str) -> Milestone:
        """Return one milestone."""
        return self.repository.get("milestone", milestone_id)

    def schedule(self) -> schedule.Schedule:
        """Return the programme's CPM schedule, limited to milestones the user may see."""
        return queries.programme_schedule(self.repository)

    def plan(
        self, task: int | None = None, as_of: date | None = None
    ) -> list[queries.PlannedMilestone]:
        """Return the visible milestones with their CPM figures and slip as of a date."""
        return queries.plan(self.repository, task, self._day(as_of))

    def risks(self, task: int | None = None, *, open_only: bool = False) -> list[Risk]:
        """Return the risks the user may see."""
        return queries.risks(self.repository, task, open_only)

    def risk(self, risk_id: str) -> Risk:
        """Return one risk."""
        return self.repository.get("risk", risk_id)

    def kpis(self, task: int | None = None) -> list[queries.KpiStatus]:
        """Return the visible KPIs with their actuals (:func:`.queries.kpi_status`)."""
        return queries.kpis(self.repository, task)

    def evidence(self, milestone_id: str) -> list[Evidence]:
        """Return the evidence files (without content) of a milestone."""
        return evidence.evidence(self.repository, milestone_id)

    def evidence_content(self, evidence_id: int) -> tuple[Evidence, bytes]:
        """Return an evidence record and its bytes, checked against the stored SHA-256."""
        return evidence.evidence_content(self.repository, evidence_id)

    def escalations(
        self, *, status: str | None = None, open_only: bool = False
    ) -> list[Escalation]:
        """Return the escalations the user may see, oldest first."""
        return queries.escalations(self.repository, status, open_only)

    def escalation(self, escalation_id: int) -> Escalation:
        """Return one escalation with its steps."""
        return self.repository.get("escalation", escalation_id)

    def matters(self, *, open_only: bool = False) -> list[MajorMatter]:
        """Return the major matters the user may see."""
        return queries.matters(self.repository, open_only)

    def matter(self, matter_id: int) -> MajorMatter:
        """Return one major matter."""
        return self.repository.get("matter", matter_id)

    def users(self) -> list[User]:
        """Return every user (names, roles and clearances are not confidential)."""
        with self.repository.read() as conn:
            return load_users(conn)

    def journal(
        self, entity: str | None = None, entity_id: str | None = None
    ) -> list[journal_.JournalEntry]:
        """Return the audit trail (entries above the user's clearance left out)."""
        return queries.journal_entries(self.repository, entity, entity_id)

    def task_statuses(
        self, as_of: date | None = None, *, against: str | None = None
    ) -> list[queries.TaskStatus]:
        """Rate every visible task as of a date (default today), with its trend."""
        return queries.task_statuses(self.repository, self._day(as_of), against)

    def programme(self, as_of: date | None = None) -> queries.Programme:
        """Return everything the user may see of the programme, for reports and boards."""
        return queries.programme(self.repository, self._day(as_of))

    # ============================================================ writing
    def update_task(self, number: int, version: int, **changes: Any) -> Task:
        """Change a task's units, titles or visibility (the clause text is fixed)."""
        return tasks.update_task(self.repository, number, version, **changes)

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
        ``note``. Refused: due before start, unknown owner or site, a missing dependency,
        a cycle, or a user who may not add milestones to the task.
        """
        return milestones.add_milestone(
            self.repository,
            task=task,
            title_zh=title_zh,
            owner=owner,
            start=start,
            due=due,
            id=id,
            **fields,
        )

    def update_milestone(self, milestone_id: str, version: int, **changes: Any) -> Milestone:
        """Change a milestone read at ``version`` (refused as stale if it changed since)."""
        return milestones.update_milestone(self.repository, milestone_id, version, **changes)

    def add_evidence(
        self,
        milestone_id: str,
        source: str | os.PathLike | bytes,
        *,
        filename: str | None = None,
        note: str = "",
        visibility: Visibility | str | None = None,
    ) -> Evidence:
        """Keep a file (a path, or bytes with ``filename``) as evidence of a milestone."""
        return evidence.add_evidence(
            self.repository,
            milestone_id,
            source,
            filename=filename,
            note=note,
            visibility=visibility,
        )

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
        """Add a risk to a task's register; ``id`` defaults to ``R<task>-<n>``."""
        return risks.add_risk(
            self.repository,
            task=task,
            title_zh=title_zh,
            cause=cause,
            effect=effect,
            likelihood=likelihood,
            impact=impact,
            owner=owner,
            id=id,
            opened_on=opened_on,
            **fields,
        )

    def update_risk(self, risk_id: str, version: int, **changes: Any) -> Risk:
        """Change a risk read at ``version`` (e.g. a review: ``reviewed_on=date``)."""
        return risks.update_risk(self.repository, risk_id, version, **changes)

    def add_kpi(
        self, *, task: int, name_zh: str, unit: str, id: str | None = None, **fields: Any
    ) -> Kpi:
        """Define a KPI of a task; ``id`` defaults to ``K<task>-<n>``."""
        return kpis.add_kpi(self.repository, task=task, name_zh=name_zh, unit=unit, id=id, **fields)

    def update_kpi(self, kpi_id: str, version: int, **changes: Any) -> Kpi:
        """Change a KPI's definition read at ``version``."""
        return kpis.update_kpi(self.repository, kpi_id, version, **changes)

    def add_kpi_actual(
        self, kpi_id: str, on: date | str, value: float, note: str = ""
    ) -> KpiActual:
        """Record a KPI's value on a date (one value per KPI and date)."""
        return kpis.add_kpi_actual(self.repository, kpi_id, on, value, note)

    def escalate(
        self, as_of: date | datetime, ruleset: rules.RuleSet | None = None
    ) -> escalations.EscalationRun:
        """Apply the escalation rules as of a date and open the escalations they ask for."""
        return escalations.escalate(self.repository, as_of, ruleset or self.rules)

    def acknowledge(
        self, escalation_id: int, comment: str = "", *, version: int | None = None
    ) -> Escalation:
        """Record that an open escalation was seen by someone at its level."""
        return escalations.step(self.repository, "acknowledge", escalation_id, comment, version)

    def act(self, escalation_id: int, comment: str, *, version: int | None = None) -> Escalation:
        """Record an action taken on an acknowledged escalation (may repeat)."""
        return escalations.step(self.repository, "act", escalation_id, comment, version)

    def close(self, escalation_id: int, comment: str, *, version: int | None = None) -> Escalation:
        """Close an acknowledged escalation, saying why."""
        return escalations.step(self.repository, "close", escalation_id, comment, version)

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
        return matters.add_matter(
            self.repository,
            self.rules,
            title=title,
            what_happened=what_happened,
            occurred_at=occurred_at,
            impact=impact,
            measures=measures,
            coordination_requested=coordination_requested,
            task=task,
            visibility=visibility,
        )

    def update_matter(self, matter_id: int, version: int, **changes: Any) -> MajorMatter:
        """Change a major matter read at ``version`` (impact, measures, coordination…)."""
        return matters.update_matter(self.repository, matter_id, version, **changes)

    def report_matter(
        self, matter_id: int, version: int, *, to: str, at: datetime | None = None
    ) -> MajorMatter:
        """Record that a major matter was reported upward, to whom and when."""
        return matters.report_matter(self.repository, matter_id, version, to=to, at=at)

    def close_matter(self, matter_id: int, version: int) -> MajorMatter:
        """Close a major matter that has been reported (reported → closed)."""
        return matters.close_matter(self.repository, matter_id, version)

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
        return users.add_user(
            self.repository,
            name,
            role,
            tasks=tasks,
            clearance=clearance,
            display_name=display_name,
            unit=unit,
        )

    def update_user(self, name: str, version: int, **changes: Any) -> User:
        """Change a user's role, tasks, clearance or activity (admin only)."""
        return users.update_user(self.repository, name, version, **changes)

    # ----------------------------------------------------------- baselines
    def last_baseline(self, before: date) -> Baseline | None:
        """Return the last stocktake: the newest baseline as of a day before ``before``."""
        with self.repository.read() as conn:
            return queries.baseline_before(conn, before)

    def baselines(self) -> list[Baseline]:
        """Return the saved baselines, oldest first, without their snapshots."""
        return queries.baselines(self.repository)

    def check_new_baseline(self, name: str) -> None:
        """Refuse now what :meth:`save_baseline` would refuse for ``name``; write nothing."""
        with self.repository.read() as conn:
            baselines.check_new_baseline(self.repository, conn, name)

    def save_baseline(self, name: str, as_of: date | None = None) -> Baseline:
        """Save the programme as it is (milestones, risks, ratings) under ``name``."""
        return baselines.save_baseline(self.repository, name, self._day(as_of))

    def compare_baseline(self, name: str, as_of: date | None = None) -> rating.Comparison:
        """Compare the programme now with baseline ``name`` (records above clearance left out)."""
        return queries.compare_baseline(self.repository, name, self._day(as_of))


__all__ = ["Tracker"]
