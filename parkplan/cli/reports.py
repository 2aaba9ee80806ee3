"""Report commands: ``parkplan brief``, ``parkplan report stocktake|major-matter``.

Who reads is ``--as USER`` (default ``$PARKPLAN_USER``); a report holds only what that user
may see. Each command makes one call to :mod:`parkplan.reports`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.maps import RunOption
from parkplan.cli.options import (
    AsOfOption,
    AsOption,
    LangOption,
    Language,
    WorkspaceOption,
    either,
    group,
    open_tracker,
    out_option,
    parse_date,
    renamed,
    say,
)

app = group(
    "Reports (报告): the weekly stocktake (周例会盘点) in HTML and "
    "PDF, a major matter's 专报 in Word."
)


def brief(
    out: Annotated[Path, out_option("PDF file to write")],
    user: AsOption = None,
    as_of: AsOfOption = None,
    run: RunOption = None,
    workspace: WorkspaceOption = None,
):
    """Write the leader brief: one A4 page in Chinese (map, nine ratings, escalations)."""
    from parkplan.services.briefs import write_brief
    from parkplan.store import Workspace

    with Workspace.open(workspace) as ws:
        path = write_brief(ws, out, user=user, as_of=parse_date(as_of, "--as-of"), run_id=run)
    say("cli.wrote_size", path=path, kib=f"{path.stat().st_size / 1024:,.0f}")


@app.command("stocktake")
def stocktake(
    week: Annotated[
        str | None,
        typer.Option(metavar="YYYY-Www", help="ISO week, e.g. 2026-W48 [default: this week]"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            file_okay=False,
            help="Folder to write the files in [default: the current one]",
        ),
    ] = None,
    out_dir: Annotated[Path | None, renamed("--out-dir", "--out")] = None,
    lang: LangOption = Language.zh,
    as_of: AsOfOption = None,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="HTML only")] = False,
    save_baseline: Annotated[
        bool,
        typer.Option(
            "--save-baseline",
            help="Also save baseline stocktake-YYYY-Www, the next "
            "stocktake's trend reference (office or convenor)",
        ),
    ] = False,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Write the weekly stocktake: stocktake-YYYY-Www.html and .pdf."""
    from parkplan.reports.stocktake import IsoWeek, parse_week
    from parkplan.services.reports import write_stocktake

    day = parse_date(as_of, "--as-of")
    with open_tracker(workspace, user) as tracker:
        iso = parse_week(week) if week else IsoWeek.of(tracker.clock().date())
        baseline = f"stocktake-{iso}"
        if save_baseline:
            # Refuse before writing anything: a run that cannot save its baseline (the
            # week's is taken, or the user may not save) leaves no files behind.
            tracker.check_new_baseline(baseline)
        html, pdf = write_stocktake(
            tracker,
            iso,
            either(out, out_dir, Path(".")),
            lang=lang.value,
            as_of=day,
            pdf=not no_pdf,
        )
        say("cli.wrote", path=html)
        if pdf:
            say("cli.wrote", path=pdf)
        if save_baseline:
            b = tracker.save_baseline(baseline, day or min(iso.sunday, tracker.clock().date()))
            say("cli.stocktake.baseline", name=b.name, as_of=b.as_of)


@app.command("major-matter")
def major_matter(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            dir_okay=False,
            help="The .docx to write [default: major-matter-ID.docx]",
        ),
    ] = None,
    docx: Annotated[Path | None, renamed("--docx", "--out")] = None,
    unit: Annotated[
        str | None, typer.Option(help="报送单位 [default: your unit, else the task-force office]")
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Write the 专报 (special report) of major matter ID in Word."""
    from parkplan.services.reports import write_major_matter_docx

    target = either(out, docx, Path(f"major-matter-{matter_id}.docx"))
    with open_tracker(workspace, user) as tracker:
        path = write_major_matter_docx(tracker, matter_id, target, unit=unit)
    say("cli.wrote", path=path)
