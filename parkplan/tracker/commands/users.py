"""Adding and changing users (admin only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.identity.users import Role, User, Visibility
from parkplan.tracker import access, tables
from parkplan.tracker.model import build
from parkplan.tracker.repository import Repository, check_changes, load_users, user_row


def add_user(
    repo: Repository,
    name: str,
    role: Role | str,
    *,
    tasks: Sequence[int] = (),
    clearance: Visibility | str = Visibility.shareable,
    display_name: str = "",
    unit: str = "",
) -> User:
    """Add a user.

    Raises
    ------
    InputError
        Invalid fields, or a user ``name`` exists.
    PermissionDenied
    """
    label = f"user {name}"
    u = build(
        User,
        {
            "name": name,
            "role": role,
            "tasks": tuple(tasks),
            "clearance": clearance,
            "display_name": display_name,
            "unit": unit,
        },
        what=label,
    )
    with repo.write() as conn:
        access.check_write(repo.user, "create", u)
        if conn.execute(sa.select(tables.users.c.name).where(tables.users.c.name == name)).first():
            raise InputError([Problem(label, None, "name", f"{name} already exists")])
        conn.execute(tables.users.insert().values(user_row(u)))
        repo.journal(conn, "create", "user", name, None, u)
    return u


def update_user(repo: Repository, name: str, version: int, **changes: Any) -> User:
    """Change a user's role, tasks, clearance or activity.

    Raises
    ------
    ParkplanError
        If the change would demote or deactivate the last active admin.
    InputError, StaleVersion, PermissionDenied
    """
    label = f"user {name}"
    check_changes(User, label, changes, ("name", "version"))
    if "tasks" in changes:
        changes["tasks"] = tuple(changes["tasks"] or ())
    with repo.write() as conn:
        before = repo.one(conn, "user", name)
        access.check_write(repo.user, "update", before)
        repo.check_version(conn, "user", name, label, version, before.version)
        after = build(
            User, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
        )
        admins = [u for u in load_users(conn) if u.role == Role.admin and u.active]
        if (
            before.role == Role.admin
            and before.active
            and len(admins) == 1
            and (after.role != Role.admin or not after.active)
        ):
            raise ParkplanError(f"{name} is the last active admin; add another admin first")
        repo.update_row(conn, "user", name, version, user_row(after), label)
        repo.journal(conn, "update", "user", name, before, after)
    return after
