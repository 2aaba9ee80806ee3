"""Changing the nine tasks, and seeding them with the first users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from parkplan.errors import ParkplanError
from parkplan.identity.users import User
from parkplan.tracker import access, tables
from parkplan.tracker.model import TASK_CODES, Task, build
from parkplan.tracker.repository import Repository, check_changes, task_row, user_row


def update_task(repo: Repository, number: int, version: int, **changes: Any) -> Task:
    """Change a task's units, titles or visibility (the clause text is fixed).

    Raises
    ------
    InputError, StaleVersion, PermissionDenied
    """
    label = f"task {TASK_CODES.get(number, number)}"
    check_changes(Task, label, changes, ("number", "code", "clause_zh", "version"))
    with repo.write() as conn:
        before = repo.one(conn, "task", number)
        access.check_write(repo.user, "update", before)
        repo.check_version(conn, "task", number, label, version, before.version)
        after = build(
            Task, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
        )
        access.check_write(repo.user, "update", after)
        repo.update_row(conn, "task", number, version, task_row(after), label)
        repo.journal(conn, "update", "task", number, before, after)
    return after


def seed(repo: Repository, tasks: Sequence[Task], users: Sequence[User]) -> None:
    """Write the nine tasks and the first users, journaled as the repository's user.

    Raises
    ------
    ParkplanError
        If the workspace already holds tasks.
    """
    with repo.write() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(tables.tasks)).scalar():
            raise ParkplanError("the workspace already holds the tracker's tasks")
        for task in tasks:
            conn.execute(tables.tasks.insert().values(task_row(task)))
            repo.journal(conn, "create", "task", task.number, None, task)
        for user in users:
            conn.execute(tables.users.insert().values(user_row(user)))
            repo.journal(conn, "create", "user", user.name, None, user)
