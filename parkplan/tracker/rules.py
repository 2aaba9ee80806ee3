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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from parkplan.errors import InputError, Problem
from parkplan.identity.users import Visibility
from parkplan.tracker.model import (
    Level,
    MajorMatter,
    MatterStatus,
    Milestone,
    Risk,
    RiskStatus,
    RuleMessage,
    Task,
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
    message: RuleMessage
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


_TASK_LIST = "must be a list of task numbers 1–9"


def _task_numbers(value: Any, *, empty: bool) -> tuple[int, ...]:
    ok = isinstance(value, list | tuple) and (empty or value)
    if not ok or not all(
        isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 9 for t in value
    ):
        raise ValueError(_TASK_LIST if empty else "must be a non-empty list of task numbers 1–9")
    return tuple(value)


class RulesFile(BaseModel):
    """The head of a rules file: the national tasks and the major matters' clock."""

    model_config = ConfigDict(frozen=True)

    rules: list[Any]
    national_tasks: tuple[int, ...] = (4, 9)
    matter_report_hours: float = 24

    @field_validator("national_tasks", mode="before")
    @classmethod
    def _national(cls, value: Any) -> tuple[int, ...]:
        return _task_numbers(value, empty=True)

    @field_validator("matter_report_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ValueError("must be a positive number of hours")
        return float(value)


class RuleSpec(BaseModel):
    """One rule as a rules file writes it; :meth:`rule` makes the :class:`Rule`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: str
    level: Level
    days: int | None = Field(None, validate_default=True)
    threshold: int | None = Field(None, validate_default=True)
    tasks: tuple[int, ...] | None = None
    description: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        if not isinstance(value, str) or not value or ":" in value:
            raise ValueError("needs an id (text without ':')")
        return value

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> str:
        if value not in KINDS:
            raise ValueError(f"{value!r} is not one of: {', '.join(KINDS)}")
        return value

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Level:
        try:
            return Level(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not one of: {', '.join(lv.value for lv in Level)}"
            ) from None

    @field_validator("days", "threshold", mode="before")
    @classmethod
    def _parameter(cls, value: Any, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        if kind is None or KINDS[kind] != info.field_name:
            return None  # not this kind's parameter: ignored
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            rid = repr(info.data["id"]) if "id" in info.data else "without an id"
            raise ValueError(f"rule {rid} ({kind}) needs {info.field_name}: a whole number ≥ 0")
        return value

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, value: Any) -> tuple[int, ...] | None:
        return None if value is None else _task_numbers(value, empty=False)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        return str(value)

    def rule(self) -> Rule:
        """Return the rule."""
        return Rule(
            self.id, self.kind, self.level, self.days, self.threshold, self.tasks, self.description
        )


def _problems(source: str, row: int | None, err: ValidationError) -> list[Problem]:
    """Say a rules file's validation errors as problems: one per field, unknown keys together."""
    unknown = sorted(str(e["loc"][0]) for e in err.errors() if e["type"] == "extra_forbidden")
    problems = (
        [Problem(source, row, None, f"unknown keys: {', '.join(unknown)}")] if unknown else []
    )
    for e in err.errors():
        if e["type"] == "missing" and e["loc"] == ("id",):
            problems.append(Problem(source, row, "id", "needs an id (text without ':')"))
        elif e["type"] != "extra_forbidden":
            column = str(e["loc"][0]) if e["loc"] else None
            problems.append(Problem(source, row, column, e["msg"].removeprefix("Value error, ")))
    return problems


def parse_rules(data: Any, source: str = "<memory>") -> RuleSet:
    """Check and build a :class:`RuleSet` from parsed YAML. See :func:`load_rules`."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise InputError([Problem(source, None, None, "needs a 'rules:' list")])
    problems: list[Problem] = []
    try:
        head = RulesFile.model_validate(data)
    except ValidationError as err:
        problems += _problems(source, None, err)
        bad = {str(e["loc"][0]) for e in err.errors()}
        # go on with the defaults for what is wrong, to name the rules' problems too
        kept = {k: data[k] for k in ("national_tasks", "matter_report_hours") if k in data}
        head = RulesFile(rules=data["rules"], **{k: v for k, v in kept.items() if k not in bad})
    rules: list[Rule] = []
    seen: set[str] = set()
    for row, item in enumerate(head.rules, start=1):
        if not isinstance(item, dict):
            problems.append(
                Problem(source, row, None, "each rule is a mapping with id, kind, level")
            )
            continue
        try:
            spec = RuleSpec.model_validate(item)
        except ValidationError as err:
            problems += _problems(source, row, err)
            continue
        if spec.id in seen:
            problems.append(Problem(source, row, "id", f"duplicate rule id {spec.id!r}"))
        seen.add(spec.id)
        if spec.level == Level.national and not set(spec.tasks or (0,)) <= set(head.national_tasks):
            problems.append(
                Problem(
                    source,
                    row,
                    "tasks",
                    f"rule {spec.id!r}: only the devolved-powers tasks "
                    f"{', '.join(map(str, head.national_tasks))} go to the national level; "
                    "list them in 'tasks'",
                )
            )
            continue
        rules.append(spec.rule())
    if problems:
        raise InputError(problems)
    return RuleSet(tuple(rules), head.national_tasks, head.matter_report_hours, source)


def _moment(as_of: date | datetime) -> datetime:
    if isinstance(as_of, datetime):
        return as_of.replace(tzinfo=None)
    return datetime.combine(as_of, time.min)


def _day(as_of: date | datetime) -> date:
    return as_of.date() if isinstance(as_of, datetime) else as_of


def _milestone_hits(rule: Rule, m: Milestone, today: date) -> RuleMessage | None:
    if not m.open or not rule.applies_to(m.task):
        return None
    about = {"id": m.id, "title": m.title_zh, "due": m.due.isoformat()}
    if rule.kind == "overdue":
        late = (today - m.due).days
        if late >= rule.days and late > 0:
            return RuleMessage(code="overdue", values={**about, "days": late})
    elif rule.kind == "due_within":
        left = (m.due - today).days
        if 0 <= left <= rule.days:
            return RuleMessage(code="due_within", values={**about, "days": left})
    elif rule.kind == "forecast_beyond_tolerance":
        beyond = (m.forecast - m.due).days
        if beyond > rule.days:
            return RuleMessage(
                code="forecast_beyond_tolerance",
                values={
                    **about,
                    "days": beyond,
                    "forecast": m.forecast.isoformat(),
                    "tolerance": rule.days,
                },
            )
    return None


def _risk_hits(rule: Rule, r: Risk, today: date) -> RuleMessage | None:
    if r.status != RiskStatus.open or not rule.applies_to(r.task):
        return None
    about = {"id": r.id, "title": r.title_zh}
    if rule.kind == "risk_score" and r.score >= rule.threshold:
        return RuleMessage(
            code="risk_score",
            values={
                **about,
                "score": r.score,
                "likelihood": r.likelihood,
                "impact": r.impact,
                "threshold": rule.threshold,
            },
        )
    if rule.kind == "review_overdue":
        lapsed = (today - r.next_review).days
        if lapsed > rule.days:
            return RuleMessage(
                code="review_overdue",
                values={
                    **about,
                    "review": r.next_review.isoformat(),
                    "cadence": r.cadence_days,
                    "days": lapsed,
                },
            )
    return None


def _matter_hit(rule: Rule, mm: MajorMatter, moment: datetime) -> RuleMessage | None:
    if mm.status != MatterStatus.open or mm.reported_at is not None:
        return None
    if not rule.applies_to(mm.task) or not moment > mm.report_deadline:
        return None
    hours = (moment - mm.report_deadline).total_seconds() / 3600
    # late by hours up to two days, then by days
    code, late = ("matter_late_hours", hours) if hours < 48 else ("matter_late_days", hours / 24)
    return RuleMessage(
        code=code,
        values={
            "id": mm.id,
            "title": mm.title,
            "deadline": f"{mm.report_deadline:%Y-%m-%d %H:%M}",
            "late": round(late, 2),
        },
    )


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
            hits = [(m, _milestone_hits(rule, m, today)) for m in records.milestones]
        elif subject == "risk":
            hits = [(r, _risk_hits(rule, r, today)) for r in records.risks]
        else:
            hits = [(mm, _matter_hit(rule, mm, moment)) for mm in records.matters]
        for record, message in hits:
            if message is not None:
                p = EscalationProposal(
                    rule.id,
                    rule.level,
                    subject,
                    str(record.id),
                    record.task,
                    message,
                    record.visibility,
                )
                out[p.key] = p
    return sorted(out.values(), key=lambda p: (p.level.rank, p.rule_id, p.subject_id))


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
    "RuleSpec",
    "RulesFile",
    "evaluate",
    "load_rules",
    "matter_deadline",
    "parse_rules",
    "rule_ids",
]
