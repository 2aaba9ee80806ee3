"""Major matters (重大事项): opened, changed, reported upward, closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.identity.users import Visibility
from parkplan.tracker import access, rules, tables
from parkplan.tracker.model import MajorMatter, MatterStatus, build
from parkplan.tracker.repository import SHANGHAI, Repository, check_changes, check_task, row_of

#: Fields of a major matter that only its reporting steps set, and the step that does.
MATTER_STEP_FIELDS = {
    "status": "report_matter or close_matter ('parkplan matters report-done|close')",
    "reported_at": "report_matter ('parkplan matters report-done')",
    "reported_by": "report_matter ('parkplan matters report-done')",
    "reported_to": "report_matter ('parkplan matters report-done')",
}


def add_matter(
    repo: Repository,
    ruleset: rules.RuleSet,
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
    """Open a major matter; its reporting clock (``ruleset``'s) starts now.

    Raises
    ------
    InputError, PermissionDenied
    """
    opened = repo.clock()
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
        "opened_by": repo.user.name,
        "report_deadline": rules.matter_deadline(opened, ruleset),
    }
    mm = build(MajorMatter, data, what="major matter")
    with repo.write() as conn:
        access.check_write(repo.user, "create", mm)
        if task is not None:
            problems = check_task(conn, task, "major matter")
            if problems:
                raise InputError(problems)
        new_id = conn.execute(
            tables.major_matters.insert().values(row_of(mm, drop=("id",)))
        ).inserted_primary_key[0]
        mm = mm.model_copy(update={"id": new_id})
        repo.journal(conn, "create", "matter", new_id, None, mm)
    return mm


def _after_report(label: str, after: MajorMatter) -> None:
    if after.reported_at is not None and after.occurred_at > after.reported_at:
        raise InputError(
            [
                Problem(
                    label,
                    None,
                    "occurred_at",
                    (
                        f"{after.occurred_at:%Y-%m-%d %H:%M} is after the matter was "
                        f"reported ({after.reported_at:%Y-%m-%d %H:%M})"
                    ),
                )
            ]
        )


def update_matter(repo: Repository, matter_id: int, version: int, **changes: Any) -> MajorMatter:
    """Change a major matter read at ``version`` (see ``Tracker.update_matter``).

    Raises
    ------
    InputError, StaleVersion, PermissionDenied
    """
    label = f"major matter #{matter_id}"
    stepped = [
        Problem(label, None, k, f"is set only by {MATTER_STEP_FIELDS[k]}, not by an update")
        for k in changes
        if k in MATTER_STEP_FIELDS
    ]
    if stepped:
        raise InputError(stepped)
    check_changes(
        MajorMatter, label, changes, ("id", "version", "opened_at", "opened_by", "report_deadline")
    )
    with repo.write() as conn:
        before = repo.one(conn, "matter", matter_id)
        access.check_write(repo.user, "update", before)
        repo.check_version(conn, "matter", matter_id, label, version, before.version)
        after = build(
            MajorMatter,
            {**before.model_dump(), **changes, "version": before.version + 1},
            what=label,
        )
        access.check_write(repo.user, "update", after)
        _after_report(label, after)
        repo.update_row(conn, "matter", matter_id, version, row_of(after), label)
        repo.journal(conn, "update", "matter", matter_id, before, after)
    return after


def check_report_time(label: str, matter: MajorMatter, at: datetime, now: datetime) -> None:
    """Refuse a report moment before the matter happened or after ``now``.

    Raises
    ------
    InputError
    """
    if at < matter.occurred_at:
        why = (
            f"{at:%Y-%m-%d %H:%M} is before the matter happened "
            f"({matter.occurred_at:%Y-%m-%d %H:%M})"
        )
    elif at > now:
        why = (
            f"{at:%Y-%m-%d %H:%M} is in the future (it is now {now:%Y-%m-%d %H:%M}); "
            "record a report once it is made"
        )
    else:
        return
    raise InputError([Problem(label, None, "reported_at", why)])


def report_matter(
    repo: Repository, matter_id: int, version: int, *, to: str, at: datetime | None = None
) -> MajorMatter:
    """Record that a major matter was reported upward (see ``Tracker.report_matter``).

    Raises
    ------
    ParkplanError, InputError, StaleVersion, PermissionDenied
    """
    label = f"major matter #{matter_id}"
    if at is not None and at.tzinfo is not None:
        at = at.astimezone(SHANGHAI).replace(tzinfo=None)
    at = at or repo.clock()
    with repo.write() as conn:
        before = repo.one(conn, "matter", matter_id)
        access.check_write(repo.user, "report", before)
        repo.check_version(conn, "matter", matter_id, label, version, before.version)
        if before.reported_at is not None:
            raise ParkplanError(
                f"{label} was already reported at "
                f"{before.reported_at:%Y-%m-%d %H:%M} by {before.reported_by}"
            )
        if before.status == MatterStatus.closed:
            raise ParkplanError(f"{label} is closed; a closed matter is not reported")
        if not to.strip():
            raise InputError([Problem(label, None, "reported_to", "say to whom it was reported")])
        check_report_time(label, before, at, repo.clock())
        after = build(
            MajorMatter,
            {
                **before.model_dump(),
                "reported_at": at,
                "reported_by": repo.user.name,
                "reported_to": to,
                "status": MatterStatus.reported,
                "version": before.version + 1,
            },
            what=label,
        )
        repo.update_row(conn, "matter", matter_id, version, row_of(after), label)
        repo.journal(conn, "report", "matter", matter_id, before, after)
    return after


def close_matter(repo: Repository, matter_id: int, version: int) -> MajorMatter:
    """Close a major matter that has been reported (reported → closed).

    Raises
    ------
    ParkplanError
        If the matter is not in status ``reported``.
    StaleVersion, PermissionDenied
    """
    label = f"major matter #{matter_id}"
    with repo.write() as conn:
        before = repo.one(conn, "matter", matter_id)
        access.check_write(repo.user, "close", before)
        repo.check_version(conn, "matter", matter_id, label, version, before.version)
        if before.status != MatterStatus.reported:
            raise ParkplanError(
                f"{label} is {before.status.value}; only a reported "
                "matter can be closed (report it first)"
            )
        after = before.model_copy(
            update={"status": MatterStatus.closed, "version": before.version + 1}
        )
        repo.update_row(
            conn,
            "matter",
            matter_id,
            version,
            {"status": after.status.value, "version": after.version},
            label,
        )
        repo.journal(conn, "close", "matter", matter_id, before, after)
    return after
