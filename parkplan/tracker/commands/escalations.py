"""Opening escalations from the rules, and their steps: acknowledge, act, close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.tracker import access, rules, tables
from parkplan.tracker.model import Escalation, EscalationStatus, EscalationStep
from parkplan.tracker.repository import Repository, load_records, row_of


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


def escalate(repo: Repository, as_of: date | datetime, ruleset: rules.RuleSet) -> EscalationRun:
    """Apply the escalation rules as of a date and open the escalations they ask for.

    An escalation whose key (rule + subject + level) is already held, in any status,
    is not opened again: running this twice creates nothing twice.

    Raises
    ------
    PermissionDenied
    """
    with repo.write() as conn:
        access.check_write(repo.user, "run", access.ESCALATION_RUN)
        proposals = rules.evaluate(load_records(conn), as_of, ruleset)
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
                opened_at=repo.clock(),
                visibility=p.visibility,
            )
            values = row_of(e, drop=("id", "key", "steps"))
            values["esc_key"] = e.key
            values["message"] = e.message.to_json()
            new_id = conn.execute(tables.escalations.insert().values(values)).inserted_primary_key[
                0
            ]
            e = e.model_copy(update={"id": new_id})
            repo.journal(conn, "create", "escalation", new_id, None, e)
            created.append(e)
    return EscalationRun(
        day.isoformat(), tuple(repo.visible(created)), len(proposals) - len(created)
    )


#: Each step: the status it leads to and the statuses it may start from.
STEPS = {
    "acknowledge": (EscalationStatus.acknowledged, {EscalationStatus.open}),
    "act": (EscalationStatus.acted, {EscalationStatus.acknowledged, EscalationStatus.acted}),
    "close": (EscalationStatus.closed, {EscalationStatus.acknowledged, EscalationStatus.acted}),
}


def step(
    repo: Repository, action: str, escalation_id: int, comment: str, version: int | None
) -> Escalation:
    """Take step ``action`` (:data:`STEPS`) on an escalation, with a comment.

    Raises
    ------
    ParkplanError
        If the escalation's status does not allow the step.
    InputError
        ``act`` or ``close`` without a comment.
    StaleVersion, PermissionDenied
    """
    new_status, allowed = STEPS[action]
    label = f"escalation #{escalation_id}"
    with repo.write() as conn:
        before = repo.one(conn, "escalation", escalation_id)
        access.check_write(repo.user, action, before)
        if version is not None:
            repo.check_version(conn, "escalation", escalation_id, label, version, before.version)
        if before.status not in allowed:
            raise ParkplanError(
                f"{label} is {before.status.value}; to {action} it, it "
                "must be " + " or ".join(sorted(s.value for s in allowed))
            )
        if action in ("act", "close") and not comment.strip():
            raise InputError(
                [Problem(label, None, "comment", f"say what was done ({action} needs a comment)")]
            )
        done = EscalationStep(step=new_status, who=repo.user.name, at=repo.clock(), comment=comment)
        after = before.model_copy(
            update={
                "status": new_status,
                "version": before.version + 1,
                "steps": (*before.steps, done),
            }
        )
        repo.update_row(
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
                step=done.step.value,
                who=done.who,
                at=done.at,
                comment=done.comment,
            )
        )
        repo.journal(conn, action, "escalation", escalation_id, before, after)
    return after
