"""Meeting commands: ``parkplan meetings add|list`` (会商研判, :mod:`parkplan.tracker.meetings`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    check_task,
    cut,
    group,
    open_tracker,
    parse_date,
    say,
    task_option,
)
from parkplan.i18n import both

app = group("Task-force meetings (会商研判) and their actions.")


def _action(text: str) -> dict:
    parts = [p.strip() for p in text.split(";", 3)]
    if len(parts) != 4 or not all(parts):
        raise typer.BadParameter(both("cli.meeting.action_form", text=text), param_hint="--action")
    task, owner, due, what = parts
    if not task.isdigit():
        raise typer.BadParameter(both("cli.error.not_tasks", value=task), param_hint="--action")
    return {"task": check_task(int(task), "--action"), "owner": owner, "due": due, "title_zh": what}


@app.command("add")
def meetings_add(
    held_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    title: Annotated[str, typer.Option()],
    attendee: Annotated[list[str], typer.Option(help="Repeat per attendee")],
    topic: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    decision: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            help="TASK;OWNER;DUE;WHAT — becomes a milestone on the task's board (repeatable)"
        ),
    ] = None,
    convened_by: Annotated[str, typer.Option(help="Who chaired it")] = "",
    visibility: Annotated[str, typer.Option()] = "internal",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Record a task-force meeting (office and convenor)."""
    from parkplan.tracker.meetings import add_meeting

    actions = [_action(a) for a in action or ()]
    with open_tracker(workspace, user) as tr:
        m = add_meeting(
            tr,
            held_on=parse_date(held_on, "--date"),
            title=title,
            attendees=attendee,
            topics=topic or (),
            decisions=decision or (),
            actions=actions,
            convened_by=convened_by,
            visibility=visibility,
        )
    if m.actions:
        say("cli.meeting.recorded_actions", id=m.id, on=m.held_on, actions=", ".join(m.actions))
    else:
        say("cli.meeting.recorded", id=m.id, on=m.held_on)


@app.command("list")
def meetings_list(
    task: Annotated[int | None, task_option("Only meetings acting on this task (1–9)")] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List meetings with their decisions and actions."""
    from parkplan.tracker.meetings import meetings

    with open_tracker(workspace, user) as tr:
        found = meetings(tr, task=task)
        actions = {m.id: m for m in tr.milestones()}
    if output == OutputFormat.json:
        data = []
        for m in found:
            d = m.to_dict()
            d["actions"] = [actions[a].to_dict() for a in m.actions if a in actions]
            data.append(d)
        return typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    for m in found:
        typer.echo(
            f"#{m.id:<3} v{m.version} {m.held_on} {m.title}  "
            f"({both('meeting.attendees', sep=' ')}: {'、'.join(m.attendees)})"
        )
        for d in m.decisions:
            typer.echo(f"      - {d}")
        for a in m.actions:
            if a in actions:
                x = actions[a]
                typer.echo(
                    f"      {x.id:<6} v{x.version} {x.owner} due {x.due} "
                    f"{x.status.value:<12} {cut(x.title_zh, 40)}"
                )
