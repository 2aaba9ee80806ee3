"""Major matter commands: ``parkplan matters list|add|report-done|update|close``."""

from __future__ import annotations

from datetime import datetime
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
    parse_moment,
    print_json,
    say,
    task_option,
)

app = group("Major matters (重大事项及时报告).")


@app.command("list")
def matters_list(
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List major matters with their reporting deadline."""
    with open_tracker(workspace, user) as tr:
        found = tr.matters()
    if output == OutputFormat.json:
        return print_json(found)
    for m in found:
        reported = (
            f"reported {m.reported_at:%Y-%m-%d %H:%M} to {m.reported_to}"
            if m.reported_at
            else f"report by {m.report_deadline:%Y-%m-%d %H:%M}"
        )
        typer.echo(f"#{m.id:<4} v{m.version} {m.status.value:<9}{reported}  {m.title}")


@app.command("add")
def matters_add(
    title: Annotated[str, typer.Option()],
    what: Annotated[str, typer.Option(help="What happened")],
    when: Annotated[str, typer.Option(help="When it happened, YYYY-MM-DDTHH:MM")],
    impact: Annotated[str, typer.Option()],
    measures: Annotated[str, typer.Option(help="Measures taken")] = "",
    coordination: Annotated[str, typer.Option(help="Coordination requested")] = "",
    task: Annotated[int | None, task_option("The task it concerns (1–9)")] = None,
    visibility: Annotated[str, typer.Option()] = "internal",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Open a major matter; its reporting clock starts now."""
    with open_tracker(workspace, user) as tr:
        m = tr.add_matter(
            title=title,
            what_happened=what,
            occurred_at=when,
            impact=impact,
            measures=measures,
            coordination_requested=coordination,
            task=task,
            visibility=visibility,
        )
    say("cli.matter.opened", id=m.id, deadline=f"{m.report_deadline:%Y-%m-%d %H:%M}")


@app.command("report-done")
def matters_report_done(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    version: VersionOption,
    to: Annotated[str, typer.Option(help="Reported to whom")],
    at: Annotated[str | None, typer.Option(help="When, YYYY-MM-DDTHH:MM [default: now]")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Record that a major matter was reported upward."""
    when = parse_moment(at, "--at") if at else None
    if when is not None and not isinstance(when, datetime):
        when = datetime.combine(when, datetime.min.time())
    with open_tracker(workspace, user) as tr:
        m = tr.report_matter(matter_id, version, to=to, at=when)
    say("cli.matter.reported", id=m.id, to=m.reported_to, at=f"{m.reported_at:%Y-%m-%d %H:%M}")


@app.command("update")
def matters_update(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    version: VersionOption,
    title: Annotated[str | None, typer.Option()] = None,
    what: Annotated[str | None, typer.Option(help="What happened")] = None,
    when: Annotated[str | None, typer.Option(help="When it happened, YYYY-MM-DDTHH:MM")] = None,
    impact: Annotated[str | None, typer.Option()] = None,
    measures: Annotated[str | None, typer.Option(help="Measures taken")] = None,
    coordination: Annotated[str | None, typer.Option(help="Coordination requested")] = None,
    task: Annotated[int | None, task_option("The task it concerns (1–9)")] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a major matter read at --version (reporting: 'report-done' and 'close')."""
    changes = given(
        title=title,
        what_happened=what,
        occurred_at=when,
        impact=impact,
        measures=measures,
        coordination_requested=coordination,
        task=task,
        visibility=visibility,
    )
    with open_tracker(workspace, user) as tr:
        m = tr.update_matter(matter_id, version, **changes)
    say("cli.matter.updated", id=m.id, version=m.version)


@app.command("close")
def matters_close(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    version: VersionOption,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Close a major matter once it has been reported."""
    with open_tracker(workspace, user) as tr:
        m = tr.close_matter(matter_id, version)
    say("cli.matter.closed", id=m.id, version=m.version)
