"""``parkplan notify`` and ``parkplan outbox list|requeue`` (:mod:`parkplan.tracker.notify`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    cut,
    group,
    open_tracker,
    parse_moment,
    print_json,
    say,
)

outbox_app = group("Notification outbox (消息发送记录): list, requeue.")


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
    with open_tracker(workspace, user) as tr:
        queued = nt.enqueue(tr, config, parse_moment(as_of, "--as-of"))
        report = nt.dispatch(tr.workspace, config) if send else nt.DispatchReport()
    if output == OutputFormat.json:
        return typer.echo(
            json.dumps(
                {"enqueued": queued.to_dict(), "dispatch": report.to_dict()},
                ensure_ascii=False,
                indent=2,
            )
        )
    say("cli.notify.queued", n=len(queued.queued), already=queued.already)
    for reason in report.skipped_channels.values():
        say("cli.notify.skipped", reason=reason, err=True)
    if send:
        say(
            "cli.notify.sent",
            sent=len(report.sent),
            retrying=len(report.retrying),
            failed=len(report.failed),
            uncertain=len(report.uncertain),
        )
    for row in report.failed + report.uncertain:
        typer.echo(f"#{row.id} {row.channel} {row.status}: {row.last_error}", err=True)


@outbox_app.command("list")
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

    with open_tracker(workspace, user) as tr:
        rows = nt.outbox(tr.workspace, status=status, user=tr.user)
    if output == OutputFormat.json:
        return print_json(rows)
    for r in rows:
        when = (
            f"sent {r.sent_at:%Y-%m-%d %H:%M}"
            if r.sent_at
            else f"next {r.next_attempt_at:%Y-%m-%d %H:%M}"
        )
        typer.echo(
            f"#{r.id:<4} {r.status:<9} {r.channel:<18} tries {r.attempts} {when}  "
            f"{cut(r.title, 50)}" + (f"  [{cut(r.last_error, 60)}]" if r.last_error else "")
        )


@outbox_app.command("requeue")
def outbox_requeue(
    outbox_id: Annotated[int, typer.Argument(metavar="ID")],
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Send an uncertain or failed notification again (it may arrive twice)."""
    from parkplan.tracker import notify as nt

    with open_tracker(workspace, user) as tr:
        row = nt.requeue(tr.workspace, outbox_id, user=tr.user)
    say("cli.outbox.requeued", id=row.id)
