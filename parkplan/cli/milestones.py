"""Milestone commands: ``parkplan milestones list|add|update|export-xlsx|import-xlsx``.

The Excel round trip (:mod:`parkplan.tracker.excel`) edits milestones and risks in a workbook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.options import (
    AsOfOption,
    AsOption,
    FormatOption,
    OutputFormat,
    VersionOption,
    WorkspaceOption,
    cut,
    given,
    group,
    open_tracker,
    parse_date,
    parse_ids,
    print_json,
    say,
    task_option,
)

app = group("Milestones (里程碑) and the critical path.")


@app.command("list")
def milestones_list(
    task: Annotated[int | None, task_option()] = None,
    output: FormatOption = OutputFormat.table,
    as_of: AsOfOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List milestones with forecast, status, CPM slack and slip (critical ones marked *)."""
    with open_tracker(workspace, user) as tr:
        plan = tr.plan(task, parse_date(as_of, "--as-of"))
    if output == OutputFormat.json:
        return print_json(plan)
    typer.echo(
        f"{'id':<7}{'v':>3}  {'due':<11}{'forecast':<11}{'status':<12}{'%':>4}"
        f"{'slack':>7}{'slip':>6}  title"
    )
    for p in plan:
        m, e = p.milestone, p.entry
        slack = f"{e.slack}{'*' if e.critical else ''}" if e else "-"
        typer.echo(
            f"{m.id:<7}{m.version:>3}  {m.due!s:<11}{m.forecast!s:<11}"
            f"{m.status.value:<12}{m.percent:>4}{slack:>7}{p.slip_days:>6}  "
            f"{cut(m.title_zh, 40)}"
        )


@app.command("add")
def milestones_add(
    task: Annotated[int, task_option("Task number 1–9")],
    title_zh: Annotated[str, typer.Option(help="Title in Chinese")],
    owner: Annotated[str, typer.Option(help="One unit or person")],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    due: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    title_en: Annotated[str | None, typer.Option()] = None,
    forecast: Annotated[str | None, typer.Option(help="[default: due]")] = None,
    depends_on: Annotated[str | None, typer.Option(help="Comma-separated milestone ids")] = None,
    site: Annotated[str | None, typer.Option(help="site_id whose handover this is")] = None,
    visibility: Annotated[
        str | None, typer.Option(help="internal 内部, shareable 可共享 or public 公开")
    ] = None,
    milestone_id: Annotated[str | None, typer.Option("--id", help="[default: M<task>-<n>]")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Add a milestone."""
    fields = given(
        title_en=title_en,
        forecast=forecast,
        depends_on=parse_ids(depends_on),
        linked_site_id=site,
        visibility=visibility,
    )
    with open_tracker(workspace, user) as tr:
        m = tr.add_milestone(
            task=task,
            title_zh=title_zh,
            owner=owner,
            start=start,
            due=due,
            id=milestone_id,
            **fields,
        )
    say("cli.milestone.added", id=m.id, version=m.version)


@app.command("update")
def milestones_update(
    milestone_id: Annotated[str, typer.Argument(metavar="ID")],
    version: VersionOption,
    status: Annotated[
        str | None, typer.Option(help="not_started, in_progress, done, blocked, cancelled")
    ] = None,
    percent: Annotated[int | None, typer.Option(min=0, max=100)] = None,
    forecast: Annotated[str | None, typer.Option()] = None,
    start: Annotated[str | None, typer.Option()] = None,
    due: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    title_zh: Annotated[str | None, typer.Option()] = None,
    title_en: Annotated[str | None, typer.Option()] = None,
    depends_on: Annotated[
        str | None, typer.Option(help="Comma-separated ids ('' for none)")
    ] = None,
    site: Annotated[str | None, typer.Option(help="'' to unlink")] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option()] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a milestone read at --version."""
    changes = given(
        status=status,
        percent=percent,
        forecast=forecast,
        start=start,
        due=due,
        owner=owner,
        title_zh=title_zh,
        title_en=title_en,
        depends_on=parse_ids(depends_on),
        linked_site_id=site,
        visibility=visibility,
        note=note,
    )
    with open_tracker(workspace, user) as tr:
        m = tr.update_milestone(milestone_id, version, **changes)
    say("cli.milestone.updated", id=m.id, version=m.version)


@app.command("export-xlsx")
def milestones_export_xlsx(
    file: Annotated[Path, typer.Argument(help="XLSX to write")],
    task: Annotated[list[int] | None, task_option("Only this task (1–9; repeat for more)")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Export milestones and risks to an XLSX workbook to edit and re-import."""
    from parkplan.tracker.excel import export_xlsx

    with open_tracker(workspace, user) as tr:
        export_xlsx(tr, file, task or None)
    say("cli.xlsx.wrote", file=file, name=file.name)


@app.command("import-xlsx")
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

    with open_tracker(workspace, user) as tr:
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
        say("cli.xlsx.applied", n=n)
    else:
        say("cli.xlsx.preview", n=n)
