"""Escalation rules: loaded from YAML, evaluated on records and a date, never on a database.

The shipped rules are ``parkplan/tracker/escalation_rules.yaml``, which documents every
kind and its boundary. :func:`evaluate` returns :class:`EscalationProposal` records, each
with a stable :attr:`~EscalationProposal.key` (rule id + subject + level): the service
creates an escalation only for a key it does not hold yet, so running the rules twice
creates nothing twice.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from parkplan.errors import InputError, Problem
from parkplan.tracker.model import (
    Level,
    MajorMatter,
    MatterStatus,
    Milestone,
    Risk,
    RiskStatus,
    Task,
    Visibility,
)

DEFAULT_RULES_PATH = Path(__file__).with_name("escalation_rules.yaml")

#: Each rule kind and the parameter it needs (``None``: no parameter).
KINDS: dict[str, str | None] = {
    "overdue": "days",
    "due_within": "days",
    "risk_score": "threshold",
    "forecast_beyond_tolerance": "days",
    "review_overdue": "days",
    "matter_report_overdue": None,
}
_SUBJECT = {
    "overdue": "milestone",
    "due_within": "milestone",
    "forecast_beyond_tolerance": "milestone",
    "risk_score": "risk",
    "review_overdue": "risk",
    "matter_report_overdue": "matter",
}


@dataclass(frozen=True)
class Rule:
    """One escalation rule."""

    id: str
    kind: str
    level: Level
    days: int | None = None
    threshold: int | None = None
    tasks: tuple[int, ...] | None = None
    description: str = ""

    def applies_to(self, task: int | None) -> bool:
        """Whether the rule covers records of ``task``."""
        return self.tasks is None or (task is not None and task in self.tasks)


@dataclass(frozen=True)
class RuleSet:
    """The rules, the tasks that may go to the national level, the matters' clock."""

    rules: tuple[Rule, ...]
    national_tasks: tuple[int, ...] = (4, 9)
    matter_report_hours: float = 24
    source: str = "<memory>"


@dataclass(frozen=True)
class Records:
    """What the rules look at."""

    tasks: Sequence[Task] = ()
    milestones: Sequence[Milestone] = ()
    risks: Sequence[Risk] = ()
    matters: Sequence[MajorMatter] = ()


@dataclass(frozen=True)
class EscalationProposal:
    """An escalation a rule asks for; :attr:`key` identifies it across runs."""

    rule_id: str
    level: Level
    subject_type: str
    subject_id: str
    task: int | None
    message: str
    visibility: Visibility = Visibility.internal

    @property
    def key(self) -> str:
        """``rule:subject_type:subject_id:level``."""
        return f"{self.rule_id}:{self.subject_type}:{self.subject_id}:{self.level.value}"


def load_rules(path: str | os.PathLike | None = None) -> RuleSet:
    """Read and check a rules file (default: the shipped one).

    Raises
    ------
    InputError
        Naming every problem: unknown kind or level, missing parameter, a national rule
        outside the devolved-powers tasks.
    """
    if path is None:
        return _default_rules()
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def _default_rules() -> RuleSet:
    return _load(DEFAULT_RULES_PATH)


def _load(path: Path) -> RuleSet:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError([Problem(str(path), None, None, f"cannot read: {err.strerror}")]) from None
    except yaml.YAMLError as err:
        raise InputError([Problem(str(path), None, None, f"not valid YAML: {err}")]) from None
    return parse_rules(data, source=str(path))


def parse_rules(data: Any, source: str = "<memory>") -> RuleSet:
    """Check and build a :class:`RuleSet` from parsed YAML. See :func:`load_rules`."""
    problems: list[Problem] = []

    def bad(row: int | None, column: str | None, reason: str) -> None:
        problems.append(Problem(source, row, column, reason))

    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise InputError([Problem(source, None, None, "needs a 'rules:' list")])
    national = data.get("national_tasks", [4, 9])
    if not (
        isinstance(national, list) and all(isinstance(t, int) and 1 <= t <= 9 for t in national)
    ):
        bad(None, "national_tasks", "must be a list of task numbers 1–9")
        national = []
    hours = data.get("matter_report_hours", 24)
    if not isinstance(hours, int | float) or isinstance(hours, bool) or hours <= 0:
        bad(None, "matter_report_hours", "must be a positive number of hours")
        hours = 24
    rules: list[Rule] = []
    seen: set[str] = set()
    for row, item in enumerate(data["rules"], start=1):
        if not isinstance(item, dict):
            bad(row, None, "each rule is a mapping with id, kind, level")
            continue
        unknown = set(item) - {"id", "kind", "level", "days", "threshold", "tasks", "description"}
        if unknown:
            bad(row, None, f"unknown keys: {', '.join(sorted(unknown))}")
        rid = item.get("id")
        if not isinstance(rid, str) or not rid or ":" in rid:
            bad(row, "id", "needs an id (text without ':')")
            continue
        if rid in seen:
            bad(row, "id", f"duplicate rule id {rid!r}")
        seen.add(rid)
        kind = item.get("kind")
        if kind not in KINDS:
            bad(row, "kind", f"{kind!r} is not one of: {', '.join(KINDS)}")
            continue
        try:
            level = Level(item.get("level"))
        except ValueError:
            bad(
                row,
                "level",
                f"{item.get('level')!r} is not one of: {', '.join(lv.value for lv in Level)}",
            )
            continue
        param = KINDS[kind]
        value = item.get(param) if param else None
        if param and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            bad(row, param, f"rule {rid!r} ({kind}) needs {param}: a whole number ≥ 0")
            continue
        tasks = item.get("tasks")
        if tasks is not None:
            if not (
                isinstance(tasks, list)
                and tasks
                and all(isinstance(t, int) and 1 <= t <= 9 for t in tasks)
            ):
                bad(row, "tasks", "must be a non-empty list of task numbers 1–9")
                continue
            tasks = tuple(tasks)
        if level == Level.national and (tasks is None or not set(tasks) <= set(national)):
            bad(
                row,
                "tasks",
                f"rule {rid!r}: only the devolved-powers tasks "
                f"{', '.join(map(str, national))} go to the national level; list them in "
                "'tasks'",
            )
            continue
        rules.append(
            Rule(
                rid,
                kind,
                level,
                value if param == "days" else None,
                value if param == "threshold" else None,
                tasks,
                str(item.get("description", "")),
            )
        )
    if problems:
        raise InputError(problems)
    return RuleSet(tuple(rules), tuple(national), float(hours), source)


def _moment(as_of: date | datetime) -> datetime:
    if isinstance(as_of, datetime):
        return as_of.replace(tzinfo=None)
    return datetime.combine(as_of, time.min)


def _day(as_of: date | datetime) -> date:
    return as_of.date() if isinstance(as_of, datetime) else as_of


def _milestone_hits(rule: Rule, m: Milestone, today: date) -> str | None:
    if not m.open or not rule.applies_to(m.task):
        return None
    if rule.kind == "overdue":
        late = (today - m.due).days
        if late >= rule.days and late > 0:
            return f"milestone {m.id} {m.title_zh} is {late} days overdue (due {m.due})"
    elif rule.kind == "due_within":
        left = (m.due - today).days
        if 0 <= left <= rule.days:
            return f"milestone {m.id} {m.title_zh} is due in {left} days ({m.due})"
    elif rule.kind == "forecast_beyond_tolerance":
        beyond = (m.forecast - m.due).days
        if beyond > rule.days:
            return (
                f"milestone {m.id} {m.title_zh} is forecast {beyond} days after due "
                f"(forecast {m.forecast}, due {m.due}, tolerance {rule.days} days)"
            )
    return None


def _risk_hits(rule: Rule, r: Risk, today: date) -> str | None:
    if r.status != RiskStatus.open or not rule.applies_to(r.task):
        return None
    if rule.kind == "risk_score" and r.score >= rule.threshold:
        return (
            f"risk {r.id} {r.title_zh} scores {r.score} "
            f"({r.likelihood}×{r.impact}, threshold {rule.threshold})"
        )
    if rule.kind == "review_overdue":
        lapsed = (today - r.next_review).days
        if lapsed > rule.days:
            return (
                f"risk {r.id} {r.title_zh} was due for review on {r.next_review} "
                f"(every {r.cadence_days} days), {lapsed} days ago"
            )
    return None


def evaluate(
    records: Records, as_of: date | datetime, rules: RuleSet | None = None
) -> list[EscalationProposal]:
    """Apply ``rules`` to ``records`` as of a date (or a moment).

    Parameters
    ----------
    records : Records
    as_of : date or datetime
        Milestone and risk rules use its day; the major-matter rule uses the moment
        (a bare date is 00:00 of that day, so only deadlines already past count).
    rules : RuleSet, optional
        Default: the shipped rules.

    Returns
    -------
    list of EscalationProposal
        Sorted by level, rule and subject; keys are unique.
    """
    rules = rules or load_rules()
    today, moment = _day(as_of), _moment(as_of)
    out: dict[str, EscalationProposal] = {}
    for rule in rules.rules:
        subject = _SUBJECT[rule.kind]
        if subject == "milestone":
            for m in records.milestones:
                text = _milestone_hits(rule, m, today)
                if text:
                    p = EscalationProposal(
                        rule.id, rule.level, "milestone", m.id, m.task, text, m.visibility
                    )
                    out[p.key] = p
        elif subject == "risk":
            for r in records.risks:
                text = _risk_hits(rule, r, today)
                if text:
                    p = EscalationProposal(
                        rule.id, rule.level, "risk", r.id, r.task, text, r.visibility
                    )
                    out[p.key] = p
        else:
            for mm in records.matters:
                if mm.status != MatterStatus.open or mm.reported_at is not None:
                    continue
                if not rule.applies_to(mm.task) or not moment > mm.report_deadline:
                    continue
                late = moment - mm.report_deadline
                text = (
                    f"major matter #{mm.id} {mm.title} was due to be reported by "
                    f"{mm.report_deadline:%Y-%m-%d %H:%M} ({_hours(late)} late)"
                )
                p = EscalationProposal(
                    rule.id, rule.level, "matter", str(mm.id), mm.task, text, mm.visibility
                )
                out[p.key] = p
    return sorted(out.values(), key=lambda p: (p.level.rank, p.rule_id, p.subject_id))


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def rule_ids(rules: RuleSet) -> list[str]:
    """Return the ids of ``rules`` in file order."""
    return [r.id for r in rules.rules]


def matter_deadline(opened_at: datetime, rules: RuleSet | None = None) -> datetime:
    """Return the report deadline of a major matter opened at ``opened_at``."""
    rules = rules or load_rules()
    return opened_at + timedelta(hours=rules.matter_report_hours)


__all__ = [
    "DEFAULT_RULES_PATH",
    "KINDS",
    "EscalationProposal",
    "Records",
    "Rule",
    "RuleSet",
    "evaluate",
    "load_rules",
    "matter_deadline",
    "parse_rules",
    "rule_ids",
]
