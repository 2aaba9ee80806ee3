"""The tracker's records: tasks, milestones, evidence, KPIs, risks, escalations, matters.

Records are frozen pydantic models: they validate themselves when built (likelihood 1–5,
due not before start, a done milestone at 100 %) and serialise to JSON for the journal and
the ``--format json`` output. :func:`build` turns pydantic's errors into an
:class:`parkplan.errors.InputError` naming the record and the field.

Every editable record carries a ``version`` (1 when created, +1 on each change) used for
optimistic locking, and a ``visibility`` level
(:class:`parkplan.identity.users.Visibility`). Users and roles are :mod:`parkplan.identity.users`.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from parkplan.errors import InputError, Problem
from parkplan.i18n import Language, both, t
from parkplan.identity.users import Id, OptText, Visibility, visibility_from_label

#: The nine tasks' codes as the policy writes them, by number.
TASK_CODES: dict[int, str] = {i: f"（{c}）" for i, c in enumerate("一二三四五六七八九", start=1)}


class Status(StrEnum):
    """A milestone's status."""

    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"
    blocked = "blocked"
    cancelled = "cancelled"


#: Statuses of a milestone that is no longer in play.
CLOSED_STATUSES = frozenset({Status.done, Status.cancelled})


class Level(StrEnum):
    """Rungs of the escalation ladder, lowest first."""

    owner = "owner"
    office = "office"
    convenor = "convenor"
    national = "national"

    @property
    def rank(self) -> int:
        """0 for owner … 3 for national."""
        return list(Level).index(self)


LEVEL_LABELS = {lv: both(f"level.{lv.value}", sep=" ") for lv in Level}


class EscalationStatus(StrEnum):
    """Where an escalation is: open → acknowledged → acted → closed."""

    open = "open"
    acknowledged = "acknowledged"
    acted = "acted"
    closed = "closed"


class RiskStatus(StrEnum):
    """A risk is open until it is closed."""

    open = "open"
    closed = "closed"


class MatterStatus(StrEnum):
    """A major matter is open until reported upward, then closed."""

    open = "open"
    reported = "reported"
    closed = "closed"


class KpiSource(StrEnum):
    """Where a KPI's actuals come from."""

    manual = "manual"
    siting_anchors = "siting:anchors"
    siting_floor_space = "siting:floor_space"


class Direction(StrEnum):
    """Whether more is better (``increase``) or less is (``decrease``, e.g. review days)."""

    increase = "increase"
    decrease = "decrease"


TaskNo = Annotated[int, Field(ge=1, le=9)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Record(BaseModel):
    """Base of every tracker record: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return self.model_dump(mode="json")


class Task(Record):
    """One of the nine pilot tasks of policy section 二.

    ``title_zh`` is the task's heading as the policy writes it; ``clause_zh`` the whole
    clause, quoted verbatim. ``proposed`` marks lead and co-units that parkplan proposed and
    the task force has not yet confirmed.
    """

    number: TaskNo
    code: str
    title_zh: Text
    title_en: OptText = ""
    clause_zh: Text
    lead_unit: Text
    co_units: tuple[str, ...] = ()
    visibility: Visibility = Visibility.public
    proposed: bool = False
    version: int = Field(1, ge=1)

    _vis = field_validator("visibility", mode="before")(visibility_from_label)

    @model_validator(mode="after")
    def _code_matches(self) -> Task:
        if self.code != TASK_CODES[self.number]:
            raise ValueError(f"code of task {self.number} is {TASK_CODES[self.number]}")
        return self


class Milestone(Record):
    """A dated step of a task, with its owner, forecast and dependencies.

    ``forecast`` is the forecast finish date (the actual one once done) and defaults to
    ``due``. ``depends_on`` lists milestones (of any task) that must finish first.
    ``linked_site_id`` names a site (layer ``sites``) whose handover this milestone is.
    """

    id: Id
    task: TaskNo
    title_zh: Text
    title_en: OptText = ""
    owner: Text
    start: date
    due: date
    forecast: date
    status: Status = Status.not_started
    percent: int = Field(0, ge=0, le=100)
    depends_on: tuple[str, ...] = ()
    linked_site_id: str | None = None
    visibility: Visibility = Visibility.shareable
    proposed: bool = False
    note: OptText = ""
    version: int = Field(1, ge=1)

    _vis = field_validator("visibility", mode="before")(visibility_from_label)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if data.get("forecast") in (None, "") and data.get("due") is not None:
                data["forecast"] = data["due"]
            if data.get("status") in (Status.done, "done") and data.get("percent") is None:
                data["percent"] = 100
            if data.get("percent") is None:
                data.pop("percent", None)
            if data.get("linked_site_id") == "":
                data["linked_site_id"] = None
        return data

    @model_validator(mode="after")
    def _dates(self) -> Milestone:
        if self.due < self.start:
            raise ValueError(f"due {self.due} is before start {self.start}")
        if self.forecast < self.start:
            raise ValueError(f"forecast {self.forecast} is before start {self.start}")
        if self.status == Status.done and self.percent != 100:
            raise ValueError(f"a done milestone is 100% complete, not {self.percent}%")
        if self.id in self.depends_on:
            raise ValueError(f"dependency cycle: {self.id} → {self.id}")
        if len(set(self.depends_on)) != len(self.depends_on):
            raise ValueError("depends_on lists a milestone twice")
        return self

    @property
    def open(self) -> bool:
        """Whether the milestone is still in play (neither done nor cancelled)."""
        return self.status not in CLOSED_STATUSES


class Evidence(Record):
    """A file kept in the workspace as proof of a milestone, with its SHA-256."""

    id: int | None = None
    milestone_id: str
    filename: Text
    media_type: str = "application/octet-stream"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    note: OptText = ""
    visibility: Visibility = Visibility.shareable
    added_by: str
    added_at: datetime

    _vis = field_validator("visibility", mode="before")(visibility_from_label)


class Kpi(Record):
    """A key performance indicator of a task: unit, target and (elsewhere) dated actuals.

    ``source`` says whether actuals are entered by hand or derived from the adopted
    siting plan (task （八）).
    """

    id: Id
    task: TaskNo
    name_zh: Text
    name_en: OptText = ""
    unit: Text
    target: float | None = None
    target_date: date | None = None
    direction: Direction = Direction.increase
    source: KpiSource = KpiSource.manual
    visibility: Visibility = Visibility.shareable
    proposed: bool = False
    version: int = Field(1, ge=1)

    _vis = field_validator("visibility", mode="before")(visibility_from_label)


class KpiActual(Record):
    """One dated value of a KPI."""

    kpi_id: str
    on: date
    value: float
    note: OptText = ""
    entered_by: str = ""
    entered_at: datetime | None = None


def review_cadence_days(score: int) -> int:
    """Return how often a risk of ``score`` (likelihood × impact) must be reviewed.

    The rule (docs/tracker.md): score 15–25 weekly (7 days), 10–14 fortnightly (14),
    5–9 monthly (30), 1–4 quarterly (90).
    """
    if score >= 15:
        return 7
    if score >= 10:
        return 14
    if score >= 5:
        return 30
    return 90


class Risk(Record):
    """An entry of a task's risk register.

    ``tolerance`` is the highest score the task accepts: an open risk scoring above it
    rates its task at least amber (:mod:`parkplan.tracker.rating`). Escalation does not
    read it; the ``risk_score`` rules escalate at their own thresholds. The review cadence
    and the next review date follow from the score (:func:`review_cadence_days`), counted
    from the last review (or from the day the risk was opened).
    """

    id: Id
    task: TaskNo
    title_zh: Text
    title_en: OptText = ""
    cause: Text
    effect: Text
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    owner: Text
    mitigation: OptText = ""
    tolerance: int = Field(12, ge=1, le=25)
    status: RiskStatus = RiskStatus.open
    opened_on: date
    reviewed_on: date | None = None
    visibility: Visibility = Visibility.internal
    proposed: bool = False
    version: int = Field(1, ge=1)

    _vis = field_validator("visibility", mode="before")(visibility_from_label)

    @model_validator(mode="after")
    def _review_after_open(self) -> Risk:
        if self.reviewed_on is not None and self.reviewed_on < self.opened_on:
            raise ValueError(f"reviewed_on {self.reviewed_on} is before opened_on {self.opened_on}")
        return self

    @property
    def score(self) -> int:
        """Likelihood × impact, 1–25."""
        return self.likelihood * self.impact

    @property
    def cadence_days(self) -> int:
        """Days between reviews, from the score."""
        return review_cadence_days(self.score)

    @property
    def next_review(self) -> date:
        """The date the next review is due."""
        return (self.reviewed_on or self.opened_on) + timedelta(days=self.cadence_days)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, with the derived score, cadence and next review."""
        data = super().to_dict()
        data.update(
            score=self.score,
            cadence_days=self.cadence_days,
            next_review=self.next_review.isoformat(),
        )
        return data


class EscalationStep(Record):
    """One recorded step of an escalation: who, when, what they said."""

    step: EscalationStatus
    who: str
    at: datetime
    comment: str = ""


class RuleMessage(Record):
    """Why a rule fired: the catalogue's code of its sentence and the sentence's figures.

    Stored as JSON (``{"code": …, "values": …}``) and said in the reader's language by
    :meth:`text`, so a Chinese reader never gets an English sentence.
    """

    code: str
    values: dict[str, Any] = Field(default_factory=dict)

    def text(self, lang: Language = "zh") -> str:
        """Return the sentence in ``lang`` (catalogue key ``rule.<code>``)."""
        return t(f"rule.{self.code}", lang, **self.values)

    def to_json(self) -> str:
        """Return the stored form."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)


def _rule_message(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        # written before messages were stored as codes: the sentence is all there is
        return {"code": "recorded", "values": {"text": value}}


class Escalation(Record):
    """A matter raised up the ladder by a rule; ``key`` makes it unique."""

    id: int | None = None
    key: str
    rule_id: str
    level: Level
    subject_type: str
    subject_id: str
    task: int | None = None
    message: RuleMessage
    as_of: date
    opened_at: datetime
    status: EscalationStatus = EscalationStatus.open
    visibility: Visibility = Visibility.internal
    steps: tuple[EscalationStep, ...] = ()
    version: int = Field(1, ge=1)

    _vis = field_validator("visibility", mode="before")(visibility_from_label)
    _message = field_validator("message", mode="before")(_rule_message)


class MajorMatter(Record):
    """A major matter (重大事项) to be reported promptly (policy section 三).

    The reporting clock starts at ``opened_at``; ``report_deadline`` is when it must have
    been reported upward.
    """

    id: int | None = None
    task: TaskNo | None = None
    title: Text
    what_happened: Text
    occurred_at: datetime
    impact: Text
    measures: OptText = ""
    coordination_requested: OptText = ""
    opened_at: datetime
    opened_by: str
    report_deadline: datetime
    reported_at: datetime | None = None
    reported_by: str | None = None
    reported_to: str | None = None
    status: MatterStatus = MatterStatus.open
    visibility: Visibility = Visibility.internal
    version: int = Field(1, ge=1)

    _vis = field_validator("visibility", mode="before")(visibility_from_label)

    @model_validator(mode="after")
    def _times(self) -> MajorMatter:
        if self.occurred_at > self.opened_at:
            raise ValueError(
                f"occurred_at {self.occurred_at} is after it was opened ({self.opened_at})"
            )
        if self.report_deadline < self.opened_at:
            raise ValueError("report_deadline is before opened_at")
        return self


class Baseline(Record):
    """A named snapshot of the programme, to compare the present against."""

    name: Id
    saved_at: datetime
    saved_by: str
    as_of: date
    snapshot: dict[str, Any]


R = TypeVar("R", bound=BaseModel)


def build(cls: type[R], data: dict[str, Any], *, what: str | None = None) -> R:
    """Build record ``cls`` from ``data``, turning validation errors into an InputError.

    Parameters
    ----------
    cls : type
        A record class.
    data : dict
        Field values.
    what : str, optional
        How to name the record in messages, e.g. ``"milestone M3-2"``.

    Raises
    ------
    InputError
        One problem per invalid field.
    """
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        name = what or cls.__name__.lower()
        problems = []
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"]) or None
            msg = e["msg"].removeprefix("Value error, ")
            ctx = e.get("ctx") or {}
            if e["type"] == "greater_than_equal":
                msg = f"{e.get('input')!r} is too small: it must be ≥ {ctx.get('ge')}"
            elif e["type"] == "less_than_equal":
                msg = f"{e.get('input')!r} is too large: it must be ≤ {ctx.get('le')}"
            problems.append(Problem(name, None, loc, msg))
        raise InputError(problems) from None
