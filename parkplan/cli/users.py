"""User commands: ``parkplan users list|add|update`` (roles, owned tasks, clearance)."""

from __future__ import annotations

from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    VersionOption,
    WorkspaceOption,
    given,
    group,
    open_tracker,
    parse_tasks,
    print_json,
    say,
)

app = group("Users, roles and clearance (用户).")


@app.command("list")
def users_list(
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List users, roles, owned tasks and clearance."""
    with open_tracker(workspace, user) as tr:
        found = tr.users()
    if output == OutputFormat.json:
        return print_json(found)
    for u in found:
        tasks = ",".join(map(str, u.tasks)) or "-"
        typer.echo(
            f"{u.name:<12} v{u.version} {u.role.value:<11} tasks {tasks:<6} "
            f"{u.clearance.value:<10} {u.display_name}" + ("" if u.active else "  (deactivated)")
        )


@app.command("add")
def users_add(
    name: Annotated[str, typer.Argument()],
    role: Annotated[
        str, typer.Option(help="admin, convenor, office, task_owner, planner or viewer")
    ],
    tasks: Annotated[
        str | None, typer.Option(help="Task owners: comma-separated task numbers")
    ] = None,
    clearance: Annotated[str, typer.Option(help="internal, shareable or public")] = "shareable",
    display_name: Annotated[str, typer.Option()] = "",
    unit: Annotated[str, typer.Option()] = "",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Add a user (admin only)."""
    numbers = parse_tasks(tasks, "--tasks") or ()
    with open_tracker(workspace, user) as tr:
        u = tr.add_user(
            name, role, tasks=numbers, clearance=clearance, display_name=display_name, unit=unit
        )
    say("cli.user.added", name=u.name, role=u.role.value, clearance=u.clearance.value)


@app.command("update")
def users_update(
    name: Annotated[str, typer.Argument()],
    version: VersionOption,
    role: Annotated[
        str | None, typer.Option(help="admin, convenor, office, task_owner, planner or viewer")
    ] = None,
    tasks: Annotated[
        str | None, typer.Option(help="Task owners: comma-separated task numbers ('' for none)")
    ] = None,
    clearance: Annotated[str | None, typer.Option(help="internal, shareable or public")] = None,
    display_name: Annotated[str | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option()] = None,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Reactivate or deactivate the account"),
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a user read at --version (admin only; the last active admin stays)."""
    changes = given(
        role=role,
        tasks=parse_tasks(tasks, "--tasks"),
        clearance=clearance,
        display_name=display_name,
        unit=unit,
        active=active,
    )
    with open_tracker(workspace, user) as tr:
        u = tr.update_user(name, version, **changes)
    say(
        "cli.user.updated" if u.active else "cli.user.updated_inactive",
        name=u.name,
        version=u.version,
        role=u.role.value,
        clearance=u.clearance.value,
    )
