"""Tracker commands for the Excel round trip, meetings (会商研判) and notifications.

``parkplan milestones export-xlsx|import-xlsx``, ``parkplan meetings add|list``,
``parkplan notify`` and ``parkplan outbox list|requeue``. Each command makes one library
call (:mod:`parkplan.tracker.excel`, :mod:`.meetings`, :mod:`.notify`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli import AsOption, OutputFormat, WorkspaceOption, _user_errors, app
from parkplan.cli.tracker import (
    FormatOption,
    _cut,
    _date,
    _json,
    _moment,
    _tracker,
    milestones_app,
)
from parkplan.i18n import both

meetings_app = typer.Typer(
    help="Task-force meetings (会商研判) and their actions.", no_args_is_help=True
)
outbox_app = typer.Typer(
    help="Notification outbox (消息发送记录): list, requeue.", no_args_is_help=True
)
app.add_typer(meetings_app, name="meetings")
app.add_typer(outbox_app, name="outbox")


# -------------------------------------------------------------- Excel
@milestones_app.command("export-xlsx")
@_user_errors
def milestones_export_xlsx(
    file: Annotated[Path, typer.Argument(help="XLSX to write")],
    task: Annotated[list[int] | None, typer.Option(help="Only this task (repeat for more)")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Export milestones and risks to an XLSX workbook to edit and re-import."""
    from parkplan.tracker.excel import export_xlsx

    with _tracker(workspace, user) as tr:
        export_xlsx(tr, file, task or None)
    typer.echo(
        f"wrote {file} (sheets milestones, risks; edit, then "
        f"'parkplan milestones import-xlsx {file.name}')"
    )


@milestones_app.command("import-xlsx")
@_user_errors
def milestones_import_xlsx(
    file: Annotated[Path, typer.Argument(help="Edited XLSX")],
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the changes (default: preview only)")
    ] = False,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Preview what an edited workbook changes; with --apply, write it all or nothing."""
    from parkplan.tracker.excel import apply_xlsx, preview_xlsx

    with _tracker(workspace, user) as tr:
        changes = preview_xlsx(tr, file)
        if apply and changes.ok:
            changes = apply_xlsx(tr, file)
    if output == OutputFormat.json:
        typer.echo(
            json.dumps(
                {**changes.to_dict(), "applied": apply and changes.ok}, ensure_ascii=False, indent=2
            )
        )
    else:
        for line in changes.lines():
            typer.echo(line, err=line.startswith("problem:"))
    if not changes.ok:
        raise typer.Exit(2)
    n = len(changes.changes)
    if apply:
        typer.echo(f"applied {n} record changes in one transaction")
    else:
        typer.echo(f"{n} record changes; nothing written (add --apply to write them)")


# ------------------------------------------------------------ meetings
def _action(text: str) -> dict:
    parts = [p.strip() for p in text.split(";", 3)]
    if len(parts) != 4 or not all(parts):
        raise typer.BadParameter(
            f"{text!r}: give TASK;OWNER;DUE;WHAT, e.g. "
            "'3;认证监督管理处;2026-12-15;出具方案编制指引'",
            param_hint="--action",
        )
    task, owner, due, what = parts
    if not task.isdigit():
        raise typer.BadParameter(f"{task!r} is not a task number", param_hint="--action")
    return {"task": int(task), "owner": owner, "due": due, "title_zh": what}


@meetings_app.command("add")
@_user_errors
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
    with _tracker(workspace, user) as tr:
        m = add_meeting(
            tr,
            held_on=_date(held_on, "--date"),
            title=title,
            attendees=attendee,
            topics=topic or (),
            decisions=decision or (),
            actions=actions,
            convened_by=convened_by,
            visibility=visibility,
        )
    typer.echo(
        f"recorded meeting #{m.id} of {m.held_on}"
        + (f"; actions on the boards: {', '.join(m.actions)}" if m.actions else "")
    )


@meetings_app.command("list")
@_user_errors
def meetings_list(
    task: Annotated[
        int | None, typer.Option(help="Only meetings with an action on this task")
    ] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List meetings with their decisions and actions."""
    from parkplan.tracker.meetings import meetings

    with _tracker(workspace, user) as tr:
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
                    f"{x.status.value:<12} {_cut(x.title_zh, 40)}"
                )


# ------------------------------------------------------- notifications
@app.command("notify")
@_user_errors
def notify(
    as_of: Annotated[
        str, typer.Option("--as-of", metavar="DATE", help="YYYY-MM-DD (or YYYY-MM-DDTHH:MM)")
    ],
    channels: Annotated[
        Path | None,
        typer.Option(
            help="Channels YAML [default: $PARKPLAN_CHANNELS, then the shipped example "
            "parkplan/tracker/channels.yaml]"
        ),
    ] = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Dispatch after queueing")] = True,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Queue escalations, due-soon milestones and major matters, then send them.

    Running it twice queues and sends nothing twice.
    """
    from parkplan.tracker import notify as nt

    config = nt.load_channels(channels)
    with _tracker(workspace, user) as tr:
        queued = nt.enqueue(tr, config, _moment(as_of, "--as-of"))
        report = nt.dispatch(tr.workspace, config) if send else nt.DispatchReport()
    if output == OutputFormat.json:
        return typer.echo(
            json.dumps(
                {"enqueued": queued.to_dict(), "dispatch": report.to_dict()},
                ensure_ascii=False,
                indent=2,
            )
        )
    typer.echo(f"queued {len(queued.queued)} new messages ({queued.already} already queued)")
    for reason in report.skipped_channels.values():
        typer.echo(f"skipped {reason}", err=True)
    if send:
        typer.echo(
            f"sent {len(report.sent)}, retrying {len(report.retrying)}, failed "
            f"{len(report.failed)}, uncertain {len(report.uncertain)}"
        )
    for row in report.failed + report.uncertain:
        typer.echo(f"#{row.id} {row.channel} {row.status}: {row.last_error}", err=True)


@outbox_app.command("list")
@_user_errors
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending, retry, sending, sent, failed or uncertain")
    ] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List queued and sent notifications."""
    from parkplan.tracker import notify as nt

    with _tracker(workspace, user) as tr:
        rows = nt.outbox(tr.workspace, status=status, user=tr.user)
    if output == OutputFormat.json:
        return _json(rows)
    for r in rows:
        when = (
            f"sent {r.sent_at:%Y-%m-%d %H:%M}"
            if r.sent_at
            else f"next {r.next_attempt_at:%Y-%m-%d %H:%M}"
        )
        typer.echo(
            f"#{r.id:<4} {r.status:<9} {r.channel:<18} tries {r.attempts} {when}  "
            f"{_cut(r.title, 50)}" + (f"  [{_cut(r.last_error, 60)}]" if r.last_error else "")
        )


@outbox_app.command("requeue")
@_user_errors
def outbox_requeue(
    outbox_id: Annotated[int, typer.Argument(metavar="ID")],
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Send an uncertain or failed notification again (it may arrive twice)."""
    from parkplan.tracker import notify as nt

    with _tracker(workspace, user) as tr:
        row = nt.requeue(tr.workspace, outbox_id, user=tr.user)
    typer.echo(f"outbox message #{row.id} will be sent by the next 'parkplan notify'")


__all__ = ["meetings_app", "outbox_app"]
