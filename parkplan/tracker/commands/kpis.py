"""Defining KPIs and recording their actuals."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from parkplan.errors import InputError, Problem
from parkplan.tracker import access, tables
from parkplan.tracker.model import Kpi, KpiActual, KpiSource, build
from parkplan.tracker.repository import Repository, check_changes, check_task, next_id, row_of


def add_kpi(
    repo: Repository, *, task: int, name_zh: str, unit: str, id: str | None = None, **fields: Any
) -> Kpi:
    """Define a KPI of a task; ``id`` defaults to ``K<task>-<n>``.

    Raises
    ------
    InputError, PermissionDenied
    """
    with repo.write() as conn:
        kid = id or next_id(conn, tables.kpis, f"K{task}-")
        label = f"kpi {kid}"
        k = build(
            Kpi,
            {"id": kid, "task": task, "name_zh": name_zh, "unit": unit, **fields, "version": 1},
            what=label,
        )
        access.check_write(repo.user, "create", k)
        if conn.execute(sa.select(tables.kpis.c.id).where(tables.kpis.c.id == kid)).first():
            raise InputError([Problem(label, None, "id", f"{kid} already exists")])
        problems = check_task(conn, task, label)
        if problems:
            raise InputError(problems)
        conn.execute(tables.kpis.insert().values(row_of(k)))
        repo.journal(conn, "create", "kpi", kid, None, k)
    return k


def update_kpi(repo: Repository, kpi_id: str, version: int, **changes: Any) -> Kpi:
    """Change a KPI's definition read at ``version``.

    Raises
    ------
    InputError, StaleVersion, PermissionDenied
    """
    label = f"kpi {kpi_id}"
    check_changes(Kpi, label, changes, ("id", "version"))
    with repo.write() as conn:
        before = repo.one(conn, "kpi", kpi_id)
        access.check_write(repo.user, "update", before)
        repo.check_version(conn, "kpi", kpi_id, label, version, before.version)
        after = build(
            Kpi, {**before.model_dump(), **changes, "version": before.version + 1}, what=label
        )
        access.check_write(repo.user, "update", after)
        repo.update_row(conn, "kpi", kpi_id, version, row_of(after), label)
        repo.journal(conn, "update", "kpi", kpi_id, before, after)
    return after


def add_kpi_actual(
    repo: Repository, kpi_id: str, on: date | str, value: float, note: str = ""
) -> KpiActual:
    """Record a KPI's value on a date (one value per KPI and date).

    Raises
    ------
    InputError
        A KPI fed by the siting plan, or a value already held for the date.
    NotFound, PermissionDenied
    """
    with repo.write() as conn:
        k = repo.one(conn, "kpi", kpi_id)
        label = f"kpi {kpi_id}"
        actual = build(
            KpiActual,
            {
                "kpi_id": kpi_id,
                "on": on,
                "value": value,
                "note": note,
                "entered_by": repo.user.name,
                "entered_at": repo.clock(),
            },
            what=label,
        )
        access.check_write(repo.user, "create", actual, task=k.task)
        if k.source != KpiSource.manual:
            raise InputError(
                [
                    Problem(
                        label,
                        None,
                        "source",
                        "its actuals come from the adopted siting plan and are not entered by hand",
                    )
                ]
            )
        t = tables.kpi_actuals
        if conn.execute(
            sa.select(t.c.id).where(t.c.kpi_id == kpi_id, t.c.on_date == actual.on)
        ).first():
            raise InputError([Problem(label, None, "on", f"already has a value on {actual.on}")])
        conn.execute(
            t.insert().values(
                kpi_id=kpi_id,
                on_date=actual.on,
                value=actual.value,
                note=actual.note,
                entered_by=actual.entered_by,
                entered_at=actual.entered_at,
            )
        )
        repo.journal(
            conn,
            "create",
            "kpi_actual",
            f"{kpi_id}@{actual.on}",
            None,
            {**actual.to_dict(), "visibility": k.visibility.value},
        )
    return actual
