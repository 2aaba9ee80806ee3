"""``parkplan journal``: the audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    UntilOption,
    WorkspaceOption,
    open_tracker,
    parse_date,
    print_json,
)


def journal(
    entity: Annotated[
        str | None,
        typer.Option(help="milestone, risk, task, kpi, escalation, matter, user, site, …"),
    ] = None,
    record_id: Annotated[str | None, typer.Option("--id")] = None,
    output: FormatOption = OutputFormat.table,
    as_of: UntilOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Show the audit trail (who changed what, when; append-only; --as-of: up to that day)."""
    day = parse_date(as_of, "--as-of")
    with open_tracker(workspace, user) as tr:
        entries = [e for e in tr.journal(entity, record_id) if day is None or e.at.date() <= day]
    if output == OutputFormat.json:
        return print_json(entries)
    for e in entries:
        typer.echo(
            f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor:<10} {e.action:<11} {e.entity} "
            f"{e.entity_id}: {e.summary()}"
        )
