"""Evidence commands: ``parkplan evidence add|list`` (files kept in the workspace)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    group,
    open_tracker,
    print_json,
    say,
)

app = group("Evidence files (佐证材料) kept in the workspace.")


@app.command("add")
def evidence_add(
    milestone_id: Annotated[str, typer.Argument(metavar="MILESTONE")],
    file: Annotated[Path, typer.Argument()],
    note: Annotated[str, typer.Option()] = "",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Keep a file in the workspace as evidence of a milestone."""
    with open_tracker(workspace, user) as tr:
        ev = tr.add_evidence(milestone_id, file, note=note)
    say(
        "cli.evidence.kept",
        file=ev.filename,
        id=ev.id,
        milestone=milestone_id,
        size=ev.size,
        sha256=ev.sha256,
    )


@app.command("list")
def evidence_list(
    milestone_id: Annotated[str, typer.Argument(metavar="MILESTONE")],
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List a milestone's evidence files."""
    with open_tracker(workspace, user) as tr:
        found = tr.evidence(milestone_id)
    if output == OutputFormat.json:
        return print_json(found)
    for ev in found:
        typer.echo(
            f"#{ev.id} {ev.filename} {ev.size} B sha256 {ev.sha256} "
            f"({ev.added_by}, {ev.added_at:%Y-%m-%d})"
        )
