"""Saving baselines of the programme (what stocktakes compare against)."""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from sqlalchemy import Connection

from parkplan.errors import InputError, Problem
from parkplan.tracker import access, tables
from parkplan.tracker.model import Baseline, build
from parkplan.tracker.queries import current_snapshot
from parkplan.tracker.repository import Repository


def check_new_baseline(repo: Repository, conn: Connection, name: str) -> None:
    """Refuse a baseline the user may not save, or whose ``name`` is taken.

    Raises
    ------
    PermissionDenied, InputError
    """
    access.check_write(repo.user, "save", "baseline")
    if conn.execute(
        sa.select(tables.baselines.c.name).where(tables.baselines.c.name == name)
    ).first():
        raise InputError(
            [Problem(f"baseline {name}", None, "name", f"a baseline {name!r} already exists")]
        )


def save_baseline(repo: Repository, name: str, as_of: date) -> Baseline:
    """Save the programme as it is as of a date (milestones, risks, ratings) as ``name``.

    Raises
    ------
    PermissionDenied, InputError
        As for :func:`check_new_baseline`.
    """
    with repo.write() as conn:
        check_new_baseline(repo, conn, name)
        b = build(
            Baseline,
            {
                "name": name,
                "saved_at": repo.clock(),
                "saved_by": repo.user.name,
                "as_of": as_of,
                "snapshot": current_snapshot(conn, as_of),
            },
            what=f"baseline {name}",
        )
        conn.execute(
            tables.baselines.insert().values(
                name=b.name,
                saved_at=b.saved_at,
                saved_by=b.saved_by,
                as_of=b.as_of,
                snapshot_json=json.dumps(b.snapshot, ensure_ascii=False, sort_keys=True),
            )
        )
        repo.journal(
            conn,
            "create",
            "baseline",
            name,
            None,
            {"name": name, "as_of": as_of.isoformat(), "visibility": "public"},
        )
    return b
