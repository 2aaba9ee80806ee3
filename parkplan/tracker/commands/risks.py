"""Adding and reviewing risks of a task's register."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from parkplan.errors import InputError, Problem
from parkplan.tracker import access, tables
from parkplan.tracker.model import Risk, build
from parkplan.tracker.repository import (
    Repository,
    check_changes,
    check_owner,
    check_task,
    next_id,
    row_of,
)


def add_risk(
    repo: Repository,
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
    """Add a risk; ``id`` defaults to ``R<task>-<n>`` (see ``Tracker.add_risk``).

    Raises
    ------
    InputError, PermissionDenied
    """
    with repo.write() as conn:
        rid = id or next_id(conn, tables.risks, f"R{task}-")
        label = f"risk {rid}"
        r = build(
            Risk,
            {
                "id": rid,
                "task": task,
                "title_zh": title_zh,
                "cause": cause,
                "effect": effect,
                "likelihood": likelihood,
                "impact": impact,
                "owner": owner,
                "opened_on": opened_on or repo.today(),
                **fields,
                "version": 1,
            },
            what=label,
        )
        access.check_write(repo.user, "create", r)
        if conn.execute(sa.select(tables.risks.c.id).where(tables.risks.c.id == rid)).first():
            raise InputError([Problem(label, None, "id", f"{rid} already exists")])
        problems = check_task(conn, task, label) + check_owner(conn, owner, label)
        if problems:
            raise InputError(problems)
        conn.execute(tables.risks.insert().values(row_of(r)))
        repo.journal(conn, "create", "risk", rid, None, r)
    return r


def update_risk(repo: Repository, risk_id: str, version: int, **changes: Any) -> Risk:
    """Change a risk read at ``version`` (e.g. a review: ``reviewed_on=date``).

    Raises
    ------
    InputError, StaleVersion, PermissionDenied
    """
    label = f"risk {risk_id}"
    check_changes(Risk, label, changes, ("id", "version"))
    with repo.write() as conn:
        before = repo.one(conn, "risk", risk_id)
        access.check_write(repo.user, "update", before)
        repo.check_version(conn, "risk", risk_id, label, version, before.version)
        after = build(
            Risk, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
        )
        access.check_write(repo.user, "update", after)
        problems = check_task(conn, after.task, label)
        if after.owner != before.owner:
            problems += check_owner(conn, after.owner, label)
        if problems:
            raise InputError(problems)
        repo.update_row(conn, "risk", risk_id, version, row_of(after), label)
        repo.journal(conn, "update", "risk", risk_id, before, after)
    return after
