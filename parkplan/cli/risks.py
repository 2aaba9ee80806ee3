"""Risk register commands: ``parkplan risks list|add|update``."""

from __future__ import annotations

from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    UntilOption,
    VersionOption,
    WorkspaceOption,
    cut,
    given,
    group,
    open_tracker,
    parse_date,
    print_json,
    say,
    task_option,
)

app = group("Risk register (风险).")


@app.command("list")
def risks_list(
    task: Annotated[int | None, task_option()] = None,
    output: FormatOption = OutputFormat.table,
    as_of: UntilOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List the risk register: score, cadence, next review (--as-of: those opened by then)."""
    day = parse_date(as_of, "--as-of")
    with open_tracker(workspace, user) as tr:
        risks = [r for r in tr.risks(task) if day is None or r.opened_on <= day]
    if output == OutputFormat.json:
        return print_json(risks)
    typer.echo(f"{'id':<7}{'v':>3}  {'L×I':<6}{'score':>5}  {'next review':<12}{'status':<8}title")
    for r in risks:
        typer.echo(
            f"{r.id:<7}{r.version:>3}  {r.likelihood}×{r.impact:<4}{r.score:>5}  "
            f"{r.next_review!s:<12}{r.status.value:<8}{cut(r.title_zh, 40)}"
        )


@app.command("add")
def risks_add(
    task: Annotated[int, task_option("Task number 1–9")],
    title_zh: Annotated[str, typer.Option()],
    cause: Annotated[str, typer.Option()],
    effect: Annotated[str, typer.Option()],
    likelihood: Annotated[int, typer.Option(help="1–5")],
    impact: Annotated[int, typer.Option(help="1–5")],
    owner: Annotated[str, typer.Option()],
    mitigation: Annotated[str | None, typer.Option()] = None,
    tolerance: Annotated[
        int | None, typer.Option(help="Highest acceptable score [default: 12]")
    ] = None,
    reviewed_on: Annotated[str | None, typer.Option()] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    risk_id: Annotated[str | None, typer.Option("--id")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Add a risk."""
    fields = given(
        mitigation=mitigation, tolerance=tolerance, reviewed_on=reviewed_on, visibility=visibility
    )
    with open_tracker(workspace, user) as tr:
        r = tr.add_risk(
            task=task,
            title_zh=title_zh,
            cause=cause,
            effect=effect,
            likelihood=likelihood,
            impact=impact,
            owner=owner,
            id=risk_id,
            **fields,
        )
    say("cli.risk.added", id=r.id, score=r.score, days=r.cadence_days, next=r.next_review)


@app.command("update")
def risks_update(
    risk_id: Annotated[str, typer.Argument(metavar="ID")],
    version: VersionOption,
    likelihood: Annotated[int | None, typer.Option()] = None,
    impact: Annotated[int | None, typer.Option()] = None,
    mitigation: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    tolerance: Annotated[int | None, typer.Option()] = None,
    reviewed_on: Annotated[str | None, typer.Option(help="Record a review on this date")] = None,
    status: Annotated[str | None, typer.Option(help="open or closed")] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a risk read at --version (a review: --reviewed-on DATE)."""
    changes = given(
        likelihood=likelihood,
        impact=impact,
        mitigation=mitigation,
        owner=owner,
        tolerance=tolerance,
        reviewed_on=reviewed_on,
        status=status,
        visibility=visibility,
    )
    with open_tracker(workspace, user) as tr:
        r = tr.update_risk(risk_id, version, **changes)
    say("cli.risk.updated", id=r.id, version=r.version, score=r.score, next=r.next_review)
