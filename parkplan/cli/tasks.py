"""Task commands: ``parkplan tasks list|update`` (the nine pilot tasks, 重点任务)."""

from __future__ import annotations

from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOfOption,
    AsOption,
    FormatOption,
    OutputFormat,
    VersionOption,
    WorkspaceOption,
    given,
    group,
    open_tracker,
    parse_date,
    parse_ids,
    print_json,
)
from parkplan.i18n import both, t

app = group("The nine pilot tasks (重点任务).")


@app.command("list")
def tasks_list(
    output: FormatOption = OutputFormat.table,
    as_of: AsOfOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List the nine tasks with their clause, units, rating and trend."""
    with open_tracker(workspace, user) as tr:
        statuses = tr.task_statuses(parse_date(as_of, "--as-of"))
    if output == OutputFormat.json:
        return print_json(statuses)
    for s in statuses:
        task = s.task
        typer.echo(
            f"{task.code} v{task.version} {task.title_zh}  [{s.rating.label}, {s.trend.value}]"
        )
        # The units are named in Chinese only, so their line is Chinese too.
        units = t("cli.tasks.units", lead=task.lead_unit, co="、".join(task.co_units))
        proposed = f"  ({both('cli.tasks.proposed', sep=' ')})" if task.proposed else ""
        typer.echo(f"    {units}{proposed}")


@app.command("update")
def tasks_update(
    number: Annotated[int, typer.Argument(metavar="N", help="Task number 1–9")],
    version: VersionOption,
    lead_unit: Annotated[str | None, typer.Option()] = None,
    co_units: Annotated[
        str | None, typer.Option(help="Comma-separated units ('' for none)")
    ] = None,
    title_zh: Annotated[str | None, typer.Option()] = None,
    title_en: Annotated[str | None, typer.Option()] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    proposed: Annotated[
        bool | None,
        typer.Option("--proposed/--confirmed", help="Whether the units are still a proposal"),
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a task read at --version: units, titles (the clause text is fixed)."""
    changes = given(
        lead_unit=lead_unit,
        co_units=parse_ids(co_units),
        title_zh=title_zh,
        title_en=title_en,
        visibility=visibility,
        proposed=proposed,
    )
    with open_tracker(workspace, user) as tr:
        t = tr.update_task(number, version, **changes)
    typer.echo(f"updated task {t.code} (now version {t.version})")
