"""The reports read as their reader may see them: the weekly stocktake and the 专报.

:mod:`parkplan.reports` lays out and writes data; these functions read that data through a
:class:`parkplan.tracker.Tracker` (so a report never holds a record above its reader's
clearance) and hand it over.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from parkplan.errors import InputError, Problem
from parkplan.i18n import Language, t
from parkplan.reports.major_matter import matter_report_data, write_docx
from parkplan.reports.stocktake import IsoWeek, parse_week, stocktake_data, write_files
from parkplan.tracker import Tracker, rating

__all__ = ["build_stocktake", "write_major_matter_docx", "write_stocktake"]


def build_stocktake(
    tracker: Tracker,
    week: str | IsoWeek,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Read the programme through ``tracker`` and gather the stocktake of ``week``.

    Parameters
    ----------
    tracker : Tracker
        Acting as the reader; records above their clearance are left out.
    week : str or IsoWeek
    as_of : date, optional
        Default: the week's Sunday, or today while the week is under way.
    now : datetime, optional
        When to read the major matters' clock; default the tracker's clock, but not after
        the end of the as-of day.

    Returns
    -------
    dict
        See :func:`parkplan.reports.stocktake.stocktake_data`. The trend is taken against
        the newest baseline saved as of a day before the week began (the previous
        stocktake), else ``new``.

    Raises
    ------
    InputError
        For a malformed week, a week that has not begun, or an as-of date outside the week.
    """
    week = parse_week(week)
    today = tracker.clock().date()
    if as_of is None:
        if today < week.monday:
            raise InputError(
                [Problem("--week", None, None, f"week {week} has not begun (today is {today})")]
            )
        as_of = min(week.sunday, today)
    end_of_day = datetime.combine(as_of, time(23, 59, 59))
    now = now or min(tracker.clock(), end_of_day)
    programme = tracker.programme(as_of)
    last = tracker.last_baseline(week.monday)
    if last is not None:
        statuses = tuple(tracker.task_statuses(as_of, against=last.name))
    else:
        statuses = tuple(
            dataclasses.replace(s, trend=rating.Trend.new, baseline=None)
            for s in programme.statuses
        )
    programme = dataclasses.replace(programme, statuses=statuses)
    note = tracker.workspace.get_meta("illustrative")
    return stocktake_data(programme, week, now=now, reader=tracker.user, note=note)


def write_stocktake(
    tracker: Tracker,
    week: str | IsoWeek,
    out_dir: str | os.PathLike = ".",
    *,
    lang: Language = "zh",
    as_of: date | None = None,
    pdf: bool = True,
) -> tuple[Path, Path | None]:
    """Write ``stocktake-<week>.html`` (and ``.pdf``) into ``out_dir``, as ``tracker`` reads it.

    Returns
    -------
    (Path, Path or None)
        The HTML file and the PDF (``None`` when ``pdf`` is false).
    """
    return write_files(build_stocktake(tracker, week, as_of=as_of), out_dir, lang=lang, pdf=pdf)


def write_major_matter_docx(
    tracker: Tracker, matter_id: int, path: str | os.PathLike, *, unit: str | None = None
) -> Path:
    """Write the 专报 of major matter ``matter_id``, as ``tracker``'s user sees it.

    Parameters
    ----------
    tracker : Tracker
    matter_id : int
    path : path
        The .docx to write.
    unit : str, optional
        The reporting unit; default the user's unit, else the task-force office.

    Raises
    ------
    NotFound
        If there is no such matter or the user may not see it (nothing is written).
    """
    matter = tracker.matter(matter_id)
    task = tracker.task(matter.task) if matter.task is not None else None
    unit = unit or tracker.user.unit or t("report.matter.default_unit", "zh")
    data = matter_report_data(
        matter, task, now=tracker.clock(), unit=unit, national_tasks=tracker.rules.national_tasks
    )
    return write_docx(data, path)
