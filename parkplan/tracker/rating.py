"""Status at a glance: a five-point rating per task, its trend, baselines and comparisons.

Pure functions of records, a schedule and a date.

**Slip.** For a milestone still in play (neither done nor cancelled) the projected finish
is the later of its forecast and its CPM early finish (a late predecessor pushes it), and
not earlier than the as-of date (a forecast in the past of an unfinished milestone is
stale). Its slip is ``projected finish − due`` in days, if positive. Done and cancelled
milestones do not slip.

**Rating rules.** A task takes the worst rating whose rule any of its milestones or open
risks meets:

====================  ==========================================================
rating                rule (any one suffices)
====================  ==========================================================
red (红)               a milestone slips more than 60 days; an open risk scores ≥ 20
amber_red (黄红)        a milestone slips 31–60 days; a blocked milestone is on the
                      critical path; an open risk scores ≥ 15
amber (黄)             a milestone slips 8–30 days; a milestone is blocked; an open
                      risk scores above its tolerance
amber_green (黄绿)      a milestone slips 1–7 days; an open risk scores ≥ 10; an open
                      risk is past its review date
green (绿)             none of the above
====================  ==========================================================

Every rule met is listed as a :class:`Reason`, so the rating explains itself: in English
(``Reason.text``), and by its rule code and figures (``Reason.values``) in any language.

**Trend** compares a task's rating with its rating in a baseline (the last stocktake):
``improving``, ``steady``, ``worsening``, or ``new`` when the baseline has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from parkplan.i18n import Language, t
from parkplan.identity.users import Visibility
from parkplan.tracker.model import Milestone, Risk, RiskStatus, Status, Task
from parkplan.tracker.schedule import Schedule


class Rating(StrEnum):
    """Five-point delivery confidence, best first."""

    green = "green"
    amber_green = "amber_green"
    amber = "amber"
    amber_red = "amber_red"
    red = "red"

    @property
    def rank(self) -> int:
        """0 for green … 4 for red."""
        return list(Rating).index(self)

    @property
    def label(self) -> str:
        """Chinese and English label, e.g. ``"黄 amber"``."""
        return RATING_LABELS[self]


RATING_LABELS = {
    r: f"{t(f'rating.{r.value}', 'zh')} {t(f'rating.{r.value}', 'en').lower()}" for r in Rating
}


class Trend(StrEnum):
    """How a rating moved since the baseline."""

    improving = "improving"
    steady = "steady"
    worsening = "worsening"
    new = "new"


#: Slip thresholds in days: more than the key gives the rating.
SLIP_RED, SLIP_AMBER_RED, SLIP_AMBER = 60, 30, 7
RISK_RED, RISK_AMBER_RED, RISK_AMBER_GREEN = 20, 15, 10


#: The library's English sentence of each rule, filled from the reason's ``values``; the
#: reader is told the same in their language from the catalogue (:func:`reason_text`).
REASON_TEXTS = {
    "slip": "{milestone} projected {days} days after due {due}",
    "blocked": "{milestone} is blocked",
    "blocked_critical": "{milestone} is blocked on the critical path",
    "risk_score": "risk {risk} scores {score} (tolerance {tolerance})",
    "risk_above_tolerance": "risk {risk} scores {score} (tolerance {tolerance})",
    "review_overdue": "risk {risk} was due for review on {review_date}",
}


@dataclass(frozen=True)
class Reason:
    """One rule a task meets: the rating it implies, the record, and why in words.

    Parameters
    ----------
    rating : Rating
        The rating the rule implies.
    rule : str
        The rule's code: a key of :data:`REASON_TEXTS`.
    subject_type : str
        ``"milestone"`` or ``"risk"``.
    subject_id : str
        The record's id; empty when the reader may not see the record.
    text : str
        The rule said in English (CLI, logs, reports).
    visibility : Visibility
        The record's, so a reason can be withheld from a reader below it.
    values : dict
        The figures the sentence is made of, JSON-ready, so that it can be said in any
        language: ``milestone``, ``days``, ``due`` (ISO date) for ``slip``; ``milestone``
        for ``blocked`` and ``blocked_critical``; ``risk``, ``score``, ``tolerance`` for
        ``risk_score`` and ``risk_above_tolerance``; ``risk``, ``review_date`` (ISO date)
        for ``review_overdue``. Empty for a reason withheld from its reader.
    """

    rating: Rating
    rule: str
    subject_type: str
    subject_id: str
    text: str
    visibility: Visibility = Visibility.public
    # Left out of equality and hashing: the figures are those of ``text`` (which compares),
    # and a dict would make reasons unhashable.
    values: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls,
        rating: Rating,
        rule: str,
        subject_type: str,
        subject_id: str,
        visibility: Visibility,
        **values: Any,
    ) -> Reason:
        """Return the reason for ``rule`` with its English text made from ``values``."""
        return cls(
            rating,
            rule,
            subject_type,
            subject_id,
            REASON_TEXTS[rule].format(**values),
            visibility,
            values,
        )

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "rating": self.rating.value,
            "rule": self.rule,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "text": self.text,
            "values": dict(self.values),
        }


def reason_text(reason: Reason, lang: Language = "zh") -> str:
    """Say why a task has its rating, in ``lang``, from the rule's code and figures.

    The catalogue's ``reason.<rule>`` takes the reason's ``values``. A reason about a
    record above the reader's clearance names neither the record nor its figures. The
    library's (English) text is kept for a rule the catalogue does not know.
    """
    try:
        if not reason.subject_id:  # above the reader's clearance: rule and kind only
            return t(
                "reason.hidden",
                lang,
                subject=t(f"subject.{reason.subject_type}", lang),
                rule=t(f"reason_rule.{reason.rule}", lang),
            )
        if reason.values:  # without its figures a sentence would show its placeholders
            return t(f"reason.{reason.rule}", lang, **reason.values)
    except KeyError:  # a rule (or a figure) newer than the catalogue
        pass
    return reason.text


@dataclass(frozen=True)
class TaskRating:
    """A task's rating and every reason for it (worst first)."""

    task: int
    rating: Rating
    reasons: tuple[Reason, ...] = ()


def projected_finish(milestone: Milestone, schedule: Schedule, as_of: date) -> date:
    """Return when ``milestone`` is now expected to finish (see the module docstring)."""
    if not milestone.open:
        return milestone.forecast
    entry = schedule.get(milestone.id)
    finish = max(milestone.forecast, entry.early_finish if entry else milestone.forecast)
    return max(finish, as_of)


def slip_days(milestone: Milestone, schedule: Schedule, as_of: date) -> int:
    """Return how many days ``milestone`` is projected to finish after its due date."""
    if not milestone.open:
        return 0
    return max(0, (projected_finish(milestone, schedule, as_of) - milestone.due).days)


def _slip_rating(days: int) -> Rating | None:
    if days > SLIP_RED:
        return Rating.red
    if days > SLIP_AMBER_RED:
        return Rating.amber_red
    if days > SLIP_AMBER:
        return Rating.amber
    if days > 0:
        return Rating.amber_green
    return None


def rate_task(
    task: int,
    milestones: Iterable[Milestone],
    risks: Iterable[Risk],
    schedule: Schedule,
    as_of: date,
) -> TaskRating:
    """Rate one task from its milestones and risks by the rules of the module docstring.

    Parameters
    ----------
    task : int
        The task's number; records of other tasks are ignored.
    milestones, risks : iterable
        Records (of any task).
    schedule : Schedule
        The programme's schedule (:func:`parkplan.tracker.schedule.programme_schedule`).
    as_of : date
    """
    reasons: list[Reason] = []
    for m in milestones:
        if m.task != task or not m.open:
            continue
        days = slip_days(m, schedule, as_of)
        level = _slip_rating(days)
        if level:
            reasons.append(
                Reason.of(
                    level,
                    "slip",
                    "milestone",
                    m.id,
                    m.visibility,
                    milestone=m.id,
                    days=days,
                    due=m.due.isoformat(),
                )
            )
        if m.status == Status.blocked:
            entry = schedule.get(m.id)
            on_path = entry is not None and entry.critical
            reasons.append(
                Reason.of(
                    Rating.amber_red if on_path else Rating.amber,
                    "blocked_critical" if on_path else "blocked",
                    "milestone",
                    m.id,
                    m.visibility,
                    milestone=m.id,
                )
            )
    for r in risks:
        if r.task != task or r.status != RiskStatus.open:
            continue
        score = r.score
        if score >= RISK_RED:
            level, rule = Rating.red, "risk_score"
        elif score >= RISK_AMBER_RED:
            level, rule = Rating.amber_red, "risk_score"
        elif score > r.tolerance:
            level, rule = Rating.amber, "risk_above_tolerance"
        elif score >= RISK_AMBER_GREEN:
            level, rule = Rating.amber_green, "risk_score"
        else:
            level = rule = None
        if level:
            reasons.append(
                Reason.of(
                    level,
                    rule,
                    "risk",
                    r.id,
                    r.visibility,
                    risk=r.id,
                    score=score,
                    tolerance=r.tolerance,
                )
            )
        if as_of > r.next_review:
            reasons.append(
                Reason.of(
                    Rating.amber_green,
                    "review_overdue",
                    "risk",
                    r.id,
                    r.visibility,
                    risk=r.id,
                    review_date=r.next_review.isoformat(),
                )
            )
    reasons.sort(key=lambda x: (-x.rating.rank, x.subject_id, x.rule))
    rating = reasons[0].rating if reasons else Rating.green
    return TaskRating(task, rating, tuple(reasons))


def rate_all(
    tasks: Iterable[Task],
    milestones: Iterable[Milestone],
    risks: Iterable[Risk],
    schedule: Schedule,
    as_of: date,
) -> dict[int, TaskRating]:
    """Rate every task; returns task number to :class:`TaskRating`."""
    milestones, risks = list(milestones), list(risks)
    return {t.number: rate_task(t.number, milestones, risks, schedule, as_of) for t in tasks}


def trend(now: Rating, before: Rating | None) -> Trend:
    """Compare a rating with the one in a baseline."""
    if before is None:
        return Trend.new
    if now.rank < before.rank:
        return Trend.improving
    if now.rank > before.rank:
        return Trend.worsening
    return Trend.steady


# ------------------------------------------------------------------ baselines
def snapshot(
    milestones: Iterable[Milestone],
    risks: Iterable[Risk],
    ratings: Mapping[int, TaskRating],
    as_of: date,
) -> dict[str, Any]:
    """Return the JSON-ready content of a baseline: milestones, risks and ratings."""
    return {
        "as_of": as_of.isoformat(),
        "milestones": {
            m.id: {
                "task": m.task,
                "title_zh": m.title_zh,
                "start": m.start.isoformat(),
                "due": m.due.isoformat(),
                "forecast": m.forecast.isoformat(),
                "status": m.status.value,
                "percent": m.percent,
                "visibility": m.visibility.value,
            }
            for m in milestones
        },
        "risks": {
            r.id: {
                "task": r.task,
                "score": r.score,
                "status": r.status.value,
                "visibility": r.visibility.value,
            }
            for r in risks
        },
        "ratings": {str(n): tr.rating.value for n, tr in ratings.items()},
    }


@dataclass(frozen=True)
class Change:
    """How one record differs between a baseline and now."""

    kind: str  # "milestone" | "risk" | "rating"
    id: str
    change: str  # "added" | "removed" | "changed"
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    visibility: Visibility = Visibility.public
    forecast_delta_days: int | None = None
    trend: Trend | None = None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "kind": self.kind,
            "id": self.id,
            "change": self.change,
            "before": self.before,
            "after": self.after,
            "forecast_delta_days": self.forecast_delta_days,
            "trend": self.trend.value if self.trend else None,
        }


@dataclass(frozen=True)
class Comparison:
    """Now against a baseline: what was added, removed or changed, and rating trends."""

    baseline: str
    baseline_as_of: str
    as_of: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "baseline": self.baseline,
            "baseline_as_of": self.baseline_as_of,
            "as_of": self.as_of,
            "changes": [c.to_dict() for c in self.changes],
        }


def _vis(*records: dict | None) -> Visibility:
    levels = [Visibility(r["visibility"]) for r in records if r and "visibility" in r]
    return max(levels, key=lambda v: v.rank) if levels else Visibility.public


def compare(name: str, before: Mapping[str, Any], now: Mapping[str, Any]) -> Comparison:
    """Compare two snapshots (:func:`snapshot`): baseline ``before`` with ``now``.

    Milestones report added, removed, or changed (forecast, due, status or percent), with
    the forecast's movement in days; risks report score or status changes; every task
    reports its rating and trend.
    """
    changes: list[Change] = []
    for kind, fields in (
        ("milestones", ("due", "forecast", "status", "percent", "start")),
        ("risks", ("score", "status")),
    ):
        old, new = before.get(kind, {}), now.get(kind, {})
        for rid in sorted(set(old) | set(new)):
            a, b = old.get(rid), new.get(rid)
            label = kind[:-1]
            if a is None:
                changes.append(Change(label, rid, "added", None, b, _vis(b)))
            elif b is None:
                changes.append(Change(label, rid, "removed", a, None, _vis(a)))
            elif any(a.get(f) != b.get(f) for f in fields):
                delta = None
                if kind == "milestones":
                    delta = (
                        date.fromisoformat(b["forecast"]) - date.fromisoformat(a["forecast"])
                    ).days
                changes.append(Change(label, rid, "changed", a, b, _vis(a, b), delta))
    old_r, new_r = before.get("ratings", {}), now.get("ratings", {})
    for task in sorted(set(old_r) | set(new_r), key=int):
        was = Rating(old_r[task]) if task in old_r else None
        is_ = Rating(new_r[task]) if task in new_r else None
        if is_ is None:
            continue
        changes.append(
            Change(
                "rating",
                task,
                "changed" if was != is_ else "same",
                {"rating": was.value} if was else None,
                {"rating": is_.value},
                Visibility.public,
                None,
                trend(is_, was),
            )
        )
    return Comparison(name, str(before.get("as_of")), str(now.get("as_of")), tuple(changes))


__all__ = [
    "reason_text",
    "RATING_LABELS",
    "REASON_TEXTS",
    "Change",
    "Comparison",
    "Rating",
    "Reason",
    "TaskRating",
    "Trend",
    "compare",
    "projected_finish",
    "rate_all",
    "rate_task",
    "slip_days",
    "snapshot",
    "trend",
]
