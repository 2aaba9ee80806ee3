"""The programme's schedule: dependency graph, cycle check and critical path (CPM).

Pure functions of milestones; no database. The network is the whole programme: a
milestone may depend on milestones of any task.

Conventions (docs/tracker.md):

- An activity runs from its ``start`` to its forecast finish (``forecast``, the actual
  date once done); its duration is ``forecast − start`` in days. Dates are points in
  time, and a dependency is finish-to-start with no lag: a successor may start on the day
  its predecessor finishes.
- A milestone's ``start`` is a start-no-earlier-than date: the forward pass gives
  ``ES = max(start, max EF of predecessors)`` and ``EF = ES + duration``.
- The backward pass runs from the programme's finish (the latest EF):
  ``LF = min(finish, min LS of successors)``, ``LS = LF − duration``.
- Slack (total float) is ``LS − ES`` in days; the critical path is every activity with
  zero slack, in dependency order.
- Cancelled milestones are left out, and so are dependencies on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from parkplan.errors import InputError, Problem
from parkplan.tracker.model import Milestone, Status


class CycleError(InputError):
    """The dependencies form a cycle; :attr:`cycle` lists it, first id repeated at the end."""

    def __init__(self, cycle: Sequence[str]):
        self.cycle = list(cycle)
        super().__init__(
            [
                Problem(
                    f"milestone {self.cycle[0]}",
                    None,
                    "depends_on",
                    "dependency cycle: " + format_cycle(self.cycle),
                )
            ]
        )


def format_cycle(cycle: Sequence[str]) -> str:
    """Write a cycle as ``"M3-2 → M5-1 → M3-2"``."""
    return " → ".join(cycle)


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one dependency cycle of ``graph``, or ``None`` if there is none.

    Parameters
    ----------
    graph : mapping of str to iterable of str
        Each milestone id to the ids it depends on. Ids not in the mapping are treated as
        having no dependencies.

    Returns
    -------
    list of str or None
        The cycle as ``[a, b, …, a]``, ``a`` depending on ``b``; found deterministically
        (ids visited in sorted order).
    """
    white, grey, black = 0, 1, 2
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            state = colour.get(nxt, white)
            if state == grey:
                return stack[stack.index(nxt) :] + [nxt]
            if state == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(graph):
        if colour.get(node, white) == white:
            found = visit(node)
            if found:
                return found
    return None


def check_acyclic(graph: Mapping[str, Iterable[str]]) -> None:
    """Raise :class:`CycleError` naming the cycle if ``graph`` has one."""
    cycle = find_cycle(graph)
    if cycle:
        raise CycleError(cycle)


def topological_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Return the ids of ``graph`` with every id after those it depends on.

    Ties are broken by id, so the order is stable. Dependencies outside ``graph`` are
    ignored.

    Raises
    ------
    CycleError
        If there is a cycle.
    """
    check_acyclic(graph)
    order: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        for dep in sorted(graph.get(node, ())):
            if dep in graph:
                visit(dep)
        done.add(node)
        order.append(node)

    for node in sorted(graph):
        visit(node)
    return order


@dataclass(frozen=True)
class Activity:
    """One activity of the network: earliest start, forecast finish, predecessors."""

    id: str
    start: date
    finish: date
    depends_on: tuple[str, ...] = ()

    @property
    def duration(self) -> int:
        """Days from start to finish (never negative)."""
        return max(0, (self.finish - self.start).days)


@dataclass(frozen=True)
class ScheduleEntry:
    """CPM figures for one activity; slack in days."""

    id: str
    duration: int
    early_start: date
    early_finish: date
    late_start: date
    late_finish: date
    slack: int
    critical: bool

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "duration": self.duration,
            "early_start": self.early_start.isoformat(),
            "early_finish": self.early_finish.isoformat(),
            "late_start": self.late_start.isoformat(),
            "late_finish": self.late_finish.isoformat(),
            "slack": self.slack,
            "critical": self.critical,
        }


@dataclass(frozen=True)
class Schedule:
    """The programme's CPM schedule."""

    entries: dict[str, ScheduleEntry] = field(default_factory=dict)
    critical_path: tuple[str, ...] = ()
    finish: date | None = None

    def __getitem__(self, milestone_id: str) -> ScheduleEntry:
        return self.entries[milestone_id]

    def get(self, milestone_id: str) -> ScheduleEntry | None:
        """Return the entry of ``milestone_id``, or ``None`` (cancelled or unknown)."""
        return self.entries.get(milestone_id)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "finish": self.finish.isoformat() if self.finish else None,
            "critical_path": list(self.critical_path),
            "entries": [e.to_dict() for e in self.entries.values()],
        }


def critical_path(activities: Iterable[Activity]) -> Schedule:
    """Run the forward and backward passes over ``activities``.

    Parameters
    ----------
    activities : iterable of Activity
        Dependencies on ids that are not among the activities are ignored.

    Returns
    -------
    Schedule

    Raises
    ------
    CycleError
        If the dependencies form a cycle.
    """
    acts = {a.id: a for a in activities}
    graph = {a.id: tuple(d for d in a.depends_on if d in acts) for a in acts.values()}
    order = topological_order(graph)
    if not order:
        return Schedule()
    successors: dict[str, list[str]] = {i: [] for i in acts}
    for node, deps in graph.items():
        for dep in deps:
            successors[dep].append(node)

    es: dict[str, date] = {}
    ef: dict[str, date] = {}
    for node in order:
        act = acts[node]
        es[node] = max([act.start, *(ef[d] for d in graph[node])])
        ef[node] = es[node] + timedelta(days=act.duration)
    finish = max(ef.values())

    ls: dict[str, date] = {}
    lf: dict[str, date] = {}
    for node in reversed(order):
        act = acts[node]
        lf[node] = min([finish, *(ls[s] for s in successors[node])])
        ls[node] = lf[node] - timedelta(days=act.duration)

    entries = {}
    for node in order:
        slack = (ls[node] - es[node]).days
        entries[node] = ScheduleEntry(
            node, acts[node].duration, es[node], ef[node], ls[node], lf[node], slack, slack == 0
        )
    path = tuple(
        sorted((n for n in order if entries[n].critical), key=lambda n: (es[n], order.index(n)))
    )
    return Schedule(entries, path, finish)


def milestone_activities(milestones: Iterable[Milestone]) -> list[Activity]:
    """Turn milestones into activities, leaving cancelled ones (and links to them) out."""
    live = [m for m in milestones if m.status != Status.cancelled]
    ids = {m.id for m in live}
    return [
        Activity(
            m.id, m.start, max(m.forecast, m.start), tuple(d for d in m.depends_on if d in ids)
        )
        for m in live
    ]


def programme_schedule(milestones: Iterable[Milestone]) -> Schedule:
    """Return the CPM schedule of the whole programme from the milestones' forecasts."""
    return critical_path(milestone_activities(milestones))


def dependency_graph(milestones: Iterable[Milestone]) -> dict[str, tuple[str, ...]]:
    """Return each milestone's id mapped to the ids it depends on (cancelled included)."""
    return {m.id: tuple(m.depends_on) for m in milestones}


__all__ = [
    "Activity",
    "CycleError",
    "Schedule",
    "ScheduleEntry",
    "check_acyclic",
    "critical_path",
    "dependency_graph",
    "find_cycle",
    "format_cycle",
    "milestone_activities",
    "programme_schedule",
    "topological_order",
]
