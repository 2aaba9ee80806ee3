"""KPI commands: ``parkplan kpis list|add|update|record``."""

from __future__ import annotations

from dataclasses import replace
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

app = group("Key indicators (指标) and their actuals.")


@app.command("list")
def kpis_list(
    task: Annotated[int | None, task_option()] = None,
    output: FormatOption = OutputFormat.table,
    as_of: UntilOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List KPIs with target and latest actual (with --as-of, the latest by that day)."""
    day = parse_date(as_of, "--as-of")
    with open_tracker(workspace, user) as tr:
        kpis = tr.kpis(task)
    if day is not None:
        kpis = [replace(k, actuals=tuple(a for a in k.actuals if a.on <= day)) for k in kpis]
    if output == OutputFormat.json:
        return print_json(kpis)
    for k in kpis:
        latest = f"{k.latest.value:g} on {k.latest.on}" if k.latest else (k.note or "-")
        target = f"{k.kpi.target:g}" if k.kpi.target is not None else "-"
        typer.echo(
            f"{k.kpi.id:<6} v{k.kpi.version} {cut(k.kpi.name_zh, 30):<31} target "
            f"{target} {k.kpi.unit}; latest {latest}"
        )


@app.command("add")
def kpis_add(
    task: Annotated[int, task_option("Task number 1–9")],
    name_zh: Annotated[str, typer.Option(help="Name in Chinese")],
    unit: Annotated[str, typer.Option(help="e.g. 张, 家, 天, m²")],
    name_en: Annotated[str | None, typer.Option()] = None,
    target: Annotated[float | None, typer.Option()] = None,
    target_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    direction: Annotated[
        str | None, typer.Option(help="increase (more is better) or decrease [default: increase]")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="manual, siting:anchors or siting:floor_space [default: manual]"),
    ] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    kpi_id: Annotated[str | None, typer.Option("--id", help="[default: K<task>-<n>]")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Define a KPI of a task (office and convenor)."""
    fields = given(
        name_en=name_en,
        target=target,
        target_date=target_date,
        direction=direction,
        source=source,
        visibility=visibility,
    )
    with open_tracker(workspace, user) as tr:
        k = tr.add_kpi(task=task, name_zh=name_zh, unit=unit, id=kpi_id, **fields)
    say("cli.kpi.added", id=k.id, version=k.version)


@app.command("update")
def kpis_update(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI")],
    version: VersionOption,
    name_zh: Annotated[str | None, typer.Option()] = None,
    name_en: Annotated[str | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option()] = None,
    target: Annotated[float | None, typer.Option()] = None,
    target_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    direction: Annotated[str | None, typer.Option(help="increase or decrease")] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    proposed: Annotated[
        bool | None,
        typer.Option("--proposed/--confirmed", help="Whether the target is still a proposal"),
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a KPI's definition read at --version."""
    changes = given(
        name_zh=name_zh,
        name_en=name_en,
        unit=unit,
        target=target,
        target_date=target_date,
        direction=direction,
        visibility=visibility,
        proposed=proposed,
    )
    with open_tracker(workspace, user) as tr:
        k = tr.update_kpi(kpi_id, version, **changes)
    say("cli.kpi.updated", id=k.id, version=k.version)


@app.command("record")
def kpis_record(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI")],
    on: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    value: Annotated[float, typer.Option()],
    note: Annotated[str, typer.Option()] = "",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Record a KPI's value on a date."""
    with open_tracker(workspace, user) as tr:
        a = tr.add_kpi_actual(kpi_id, on, value, note)
    say("cli.kpi.recorded", id=a.kpi_id, value=f"{a.value:g}", on=a.on)
