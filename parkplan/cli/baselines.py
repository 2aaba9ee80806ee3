"""Baseline commands: ``parkplan baseline save|compare|list``."""

from __future__ import annotations

from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOfOption,
    AsOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    group,
    open_tracker,
    parse_date,
    print_json,
    say,
)

app = group("Named baselines (基线) and comparisons.")


@app.command("save")
def baseline_save(
    name: Annotated[str, typer.Argument()],
    as_of: AsOfOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Save the programme as it is now under NAME (e.g. stocktake-2026-W48)."""
    with open_tracker(workspace, user) as tr:
        b = tr.save_baseline(name, parse_date(as_of, "--as-of"))
    say(
        "cli.baseline.saved",
        name=b.name,
        as_of=b.as_of,
        milestones=len(b.snapshot["milestones"]),
        risks=len(b.snapshot["risks"]),
    )


@app.command("compare")
def baseline_compare(
    name: Annotated[str, typer.Argument()],
    as_of: AsOfOption = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Compare the programme now with baseline NAME."""
    with open_tracker(workspace, user) as tr:
        comp = tr.compare_baseline(name, parse_date(as_of, "--as-of"))
    if output == OutputFormat.json:
        return print_json(comp)
    typer.echo(f"now ({comp.as_of}) against {comp.baseline} ({comp.baseline_as_of})")
    for c in comp.changes:
        if c.kind == "rating":
            before = (c.before or {}).get("rating", "-")
            typer.echo(f"task {c.id}: {before} → {c.after['rating']} ({c.trend.value})")
        elif c.change == "changed" and c.kind == "milestone":
            typer.echo(
                f"{c.id}: forecast {c.before['forecast']} → {c.after['forecast']} "
                f"({c.forecast_delta_days:+d} days), status {c.before['status']} → "
                f"{c.after['status']}"
            )
        else:
            typer.echo(f"{c.kind} {c.id}: {c.change}")


@app.command("list")
def baseline_list(
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List saved baselines."""
    with open_tracker(workspace, user) as tr:
        found = tr.baselines()
    if output == OutputFormat.json:
        return print_json(found)
    for b in found:
        typer.echo(
            f"{b.name:<24} as of {b.as_of}  saved {b.saved_at:%Y-%m-%d %H:%M} by {b.saved_by}"
        )
