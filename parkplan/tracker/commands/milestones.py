"""Adding and changing milestones; a linked site follows its milestone's forecast."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from parkplan.errors import InputError, Problem
from parkplan.store import ledger
from parkplan.tracker import access, schedule, tables
from parkplan.tracker.model import Milestone, Status, build
from parkplan.tracker.repository import (
    Repository,
    check_changes,
    check_owner,
    check_task,
    load_milestones,
    next_id,
    row_of,
)


def check_milestone(
    repo: Repository, conn: Connection, m: Milestone, others: list[Milestone]
) -> None:
    """Refuse a milestone with a missing task, owner, dependency or site, or in a cycle.

    Raises
    ------
    InputError
        Every missing reference, named.
    CycleError
        If ``m`` closes a dependency cycle (named from ``m``).
    """
    label = f"milestone {m.id}"
    problems = check_task(conn, m.task, label)
    problems += check_owner(conn, m.owner, label)
    ids = {o.id for o in others}
    problems += [
        Problem(label, None, "depends_on", f"depends on {dep}, which does not exist")
        for dep in m.depends_on
        if dep not in ids
    ]
    if m.linked_site_id and repo.site_year(conn, m.linked_site_id) is None:
        problems.append(
            Problem(
                label,
                None,
                "linked_site_id",
                f"there is no site {m.linked_site_id!r} in layer 'sites'",
            )
        )
    if problems:
        raise InputError(problems)
    cycle = schedule.find_cycle(
        schedule.dependency_graph([o for o in others if o.id != m.id] + [m])
    )
    if cycle:
        # name the cycle from the milestone being changed
        if m.id in cycle:
            i = cycle.index(m.id)
            cycle = cycle[i:-1] + cycle[:i] + [m.id]
        raise schedule.CycleError(cycle)


def add_milestone(
    repo: Repository,
    *,
    task: int,
    title_zh: str,
    owner: str,
    start: date | str,
    due: date | str,
    id: str | None = None,
    **fields: Any,
) -> Milestone:
    """Add a milestone; ``id`` defaults to ``M<task>-<n>`` (see ``Tracker.add_milestone``).

    Raises
    ------
    InputError, CycleError, PermissionDenied
    """
    with repo.write() as conn:
        mid = id or next_id(conn, tables.milestones, f"M{task}-")
        label = f"milestone {mid}"
        data = {
            "id": mid,
            "task": task,
            "title_zh": title_zh,
            "owner": owner,
            "start": start,
            "due": due,
            **fields,
            "version": 1,
        }
        if "depends_on" in data:
            data["depends_on"] = tuple(data["depends_on"] or ())
        m = build(Milestone, data, what=label)
        access.check_write(repo.user, "create", m)
        others = load_milestones(conn)
        if any(o.id == mid for o in others):
            raise InputError([Problem(label, None, "id", f"{mid} already exists")])
        check_milestone(repo, conn, m, others)
        conn.execute(tables.milestones.insert().values(row_of(m, drop=("depends_on",))))
        write_dependencies(conn, m)
        repo.journal(conn, "create", "milestone", mid, None, m)
        follow_site(repo, conn, m)
    return m


def changed_fields(before: Milestone, changes: dict[str, Any]) -> dict[str, Any]:
    """Return the new milestone's fields: done means 100 %, a moved due moves its forecast."""
    data = {**before.model_dump(), **changes, "version": before.version + 1}
    if changes.get("status") in (Status.done, "done") and "percent" not in changes:
        data["percent"] = 100
    if "due" in changes and "forecast" not in changes and before.forecast == before.due:
        data["forecast"] = data["due"]
    return data


def update_milestone(
    repo: Repository, milestone_id: str, version: int, **changes: Any
) -> Milestone:
    """Change a milestone read at ``version``.

    Raises
    ------
    StaleVersion, InputError, CycleError, PermissionDenied
    """
    label = f"milestone {milestone_id}"
    check_changes(Milestone, label, changes, ("id", "version"))
    if "depends_on" in changes:
        changes["depends_on"] = tuple(changes["depends_on"] or ())
    with repo.write() as conn:
        before = repo.one(conn, "milestone", milestone_id)
        access.check_write(repo.user, "update", before)
        repo.check_version(conn, "milestone", milestone_id, label, version, before.version)
        after = build(Milestone, changed_fields(before, changes), what=label)
        access.check_write(repo.user, "update", after)
        check_milestone(repo, conn, after, load_milestones(conn))
        repo.update_row(
            conn, "milestone", milestone_id, version, row_of(after, drop=("depends_on",)), label
        )
        if after.depends_on != before.depends_on:
            write_dependencies(conn, after)
        repo.journal(conn, "update", "milestone", milestone_id, before, after)
        follow_site(repo, conn, after)
    return after


def write_dependencies(conn: Connection, m: Milestone) -> None:
    """Replace the stored dependencies of ``m`` with its ``depends_on``."""
    deps = tables.milestone_dependencies
    conn.execute(deps.delete().where(deps.c.milestone_id == m.id))
    if m.depends_on:
        conn.execute(
            deps.insert(), [{"milestone_id": m.id, "depends_on_id": d} for d in m.depends_on]
        )


def follow_site(repo: Repository, conn: Connection, m: Milestone) -> None:
    """Move a linked site's ``available_from`` to the forecast's year if later.

    Every stored scenario run that allocated the site is marked stale. Both changes
    are journaled, in the milestone's transaction.
    """
    if not m.linked_site_id or m.status == Status.cancelled:
        return
    year = repo.site_year(conn, m.linked_site_id)
    if year is None or m.forecast.year <= year:
        return
    site = m.linked_site_id
    repo.set_site_year(conn, site, m.forecast.year)
    # Both entries tell of the milestone (its id and forecast), so a reader who may not
    # see the milestone does not see them either.
    repo.journal(
        conn,
        "update",
        "site",
        site,
        {"site_id": site, "available_from": year},
        {"site_id": site, "available_from": m.forecast.year},
        visibility=m.visibility,
    )
    # The reason is stored on the scenario run, which has no visibility level and is
    # read by planners: it names the milestone by id, never by its title.
    reason = (
        f"site {site} is now available from {m.forecast.year}, not {year}: "
        f"milestone {m.id} is forecast for {m.forecast} "
        f"(changed by {repo.user.name} at {repo.clock():%Y-%m-%d %H:%M})"
    )
    for run_id, old in ledger.mark_site_runs_stale(repo.workspace, conn, site, reason):
        repo.journal(
            conn,
            "update",
            "scenario_run",
            run_id,
            {"stale_reason": old},
            {"stale_reason": reason},
            visibility=m.visibility,
        )
    repo.workspace.set_meta("layers_changed_at", repo.clock().isoformat(), conn)
