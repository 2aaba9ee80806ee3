"""Escalation commands: ``parkplan escalate`` and ``parkplan escalations list|ack|act|close``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    UntilOption,
    WorkspaceOption,
    group,
    open_tracker,
    parse_date,
    parse_moment,
    print_json,
    say,
)

app = group("Escalations (升级事项): list, acknowledge, act, close.")


def escalate(
    as_of: Annotated[
        str, typer.Option("--as-of", metavar="DATE", help="YYYY-MM-DD (or YYYY-MM-DDTHH:MM)")
    ],
    rules: Annotated[
        Path | None, typer.Option(help="Rules YAML [default: the shipped escalation_rules.yaml]")
    ] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Apply the escalation rules; running it twice creates nothing twice."""
    from parkplan.tracker.rules import load_rules

    ruleset = load_rules(rules) if rules else None
    with open_tracker(workspace, user) as tr:
        run = tr.escalate(parse_moment(as_of, "--as-of"), ruleset)
    if output == OutputFormat.json:
        return print_json(run)
    for e in run.created:
        typer.echo(f"#{e.id} [{e.level.value}] {e.message.text('en')}")
    say("cli.escalate.done", new=len(run.created), already=run.already)


@app.command("list")
def escalations_list(
    status: Annotated[str | None, typer.Option(help="open, acknowledged, acted or closed")] = None,
    output: FormatOption = OutputFormat.table,
    as_of: UntilOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List escalations with their level, status and steps (--as-of: those raised by then)."""
    day = parse_date(as_of, "--as-of")
    with open_tracker(workspace, user) as tr:
        found = [e for e in tr.escalations(status=status) if day is None or e.as_of <= day]
    if output == OutputFormat.json:
        return print_json(found)
    for e in found:
        typer.echo(
            f"#{e.id:<4} v{e.version} {e.status.value:<13}{e.level.value:<9} {e.as_of} "
            f"{e.message.text('en')}"
        )
        for s in e.steps:
            typer.echo(f"        {s.step.value} by {s.who} at {s.at:%Y-%m-%d %H:%M}: {s.comment}")


def _step(
    action: str,
    escalation_id: int,
    comment: str,
    version: int | None,
    user: str | None,
    workspace: str | None,
) -> None:
    with open_tracker(workspace, user) as tr:
        e = getattr(tr, action)(escalation_id, comment, version=version)
    say("cli.escalation.step", id=e.id, status=e.status.value, version=e.version)


_StepVersion = Annotated[
    int | None, typer.Option("--version", help="The version you read (optional for steps)")
]


@app.command("ack")
def escalations_ack(
    escalation_id: Annotated[int, typer.Argument(metavar="ID")],
    comment: Annotated[str, typer.Option()] = "",
    version: _StepVersion = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Acknowledge an open escalation."""
    _step("acknowledge", escalation_id, comment, version, user, workspace)


@app.command("act")
def escalations_act(
    escalation_id: Annotated[int, typer.Argument(metavar="ID")],
    comment: Annotated[str, typer.Option(help="What was done")],
    version: _StepVersion = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Record an action on an acknowledged escalation."""
    _step("act", escalation_id, comment, version, user, workspace)


@app.command("close")
def escalations_close(
    escalation_id: Annotated[int, typer.Argument(metavar="ID")],
    comment: Annotated[str, typer.Option(help="Why it can close")],
    version: _StepVersion = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Close an acknowledged escalation."""
    _step("close", escalation_id, comment, version, user, workspace)
