"""Report commands: ``parkplan report stocktake`` and ``parkplan report major-matter``.

Who reads is ``--as USER`` (default ``$PARKPLAN_USER``); a report holds only what that user
may see. Each command makes one call to :mod:`parkplan.reports`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli import AsOfOption, AsOption, WorkspaceOption, _user_errors, app
from parkplan.store import Workspace

report_app = typer.Typer(
    help="Reports (报告): the weekly stocktake (周例会盘点) in HTML and "
    "PDF, a major matter's 专报 in Word.",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")


class ReportLanguage(StrEnum):
    """Language of a report's labels."""

    zh = "zh"
    en = "en"


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of"
        ) from None


@report_app.command("stocktake")
@_user_errors
def stocktake(
    week: Annotated[
        str | None,
        typer.Option(metavar="YYYY-Www", help="ISO week, e.g. 2026-W48 [default: this week]"),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", file_okay=False, help="Where to write the files")
    ] = Path("."),
    lang: Annotated[
        ReportLanguage, typer.Option(help="zh: Chinese first, English second; en: English labels")
    ] = ReportLanguage.zh,
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
    from parkplan.tracker import Tracker

    with Workspace.open(workspace) as ws:
        tracker = Tracker(ws, user)
        iso = parse_week(week) if week else IsoWeek.of(tracker.clock().date())
        baseline = f"stocktake-{iso}"
        if save_baseline:
            # Refuse before writing anything: a run that cannot save its baseline (the
            # week's is taken, or the user may not save) leaves no files behind.
            tracker.check_new_baseline(baseline)
        html, pdf = write_stocktake(
            tracker, iso, out_dir, lang=lang.value, as_of=_date(as_of), pdf=not no_pdf
        )
        typer.echo(f"wrote {html}")
        if pdf:
            typer.echo(f"wrote {pdf}")
        if save_baseline:
            day = _date(as_of) or min(iso.sunday, tracker.clock().date())
            b = tracker.save_baseline(baseline, day)
            typer.echo(f"saved baseline {b.name} as of {b.as_of}")


@report_app.command("major-matter")
@_user_errors
def major_matter(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    docx: Annotated[
        Path | None,
        typer.Option(
            "--docx", dir_okay=False, help="The .docx to write [default: major-matter-ID.docx]"
        ),
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="报送单位 [default: your unit, else the task-force office]")
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Write the 专报 (special report) of major matter ID in Word."""
    from parkplan.services.reports import write_major_matter_docx
    from parkplan.tracker import Tracker

    out = docx or Path(f"major-matter-{matter_id}.docx")
    with Workspace.open(workspace) as ws:
        path = write_major_matter_docx(Tracker(ws, user), matter_id, out, unit=unit)
    typer.echo(f"wrote {path}")
