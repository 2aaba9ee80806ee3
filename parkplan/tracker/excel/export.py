"""Writing the milestones and risks a user may see to an XLSX workbook."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from parkplan.i18n import both, t
from parkplan.tracker.excel.layout import (
    FIRST_DATA_ROW,
    FORMAT_MARK,
    FORMULA_TRIGGERS,
    HEADER_ROW,
    LABEL_ROW,
    MILESTONE_COLUMNS,
    README_SHEET,
    RISK_COLUMNS,
    SPARE_ROWS,
    Column,
)

if TYPE_CHECKING:
    from parkplan.tracker.service import Tracker


# =================================================================== export
def export_xlsx(
    tracker: Tracker, path: str | os.PathLike, tasks: Iterable[int] | None = None
) -> Path:
    """Write the milestones and risks the tracker's user may see to an XLSX workbook.

    Parameters
    ----------
    tracker : Tracker
    path : path
        The workbook to write (replaced atomically if it exists).
    tasks : iterable of int, optional
        Only these tasks (default all).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    only = set(tasks) if tasks is not None else None
    milestones = [m for m in tracker.milestones() if only is None or m.task in only]
    risks = [r for r in tracker.risks() if only is None or r.task in only]
    wb = openpyxl.Workbook()
    _data_sheet(wb.active, "milestones", MILESTONE_COLUMNS, milestones)
    _data_sheet(wb.create_sheet(), "risks", RISK_COLUMNS, risks)
    _readme(wb.create_sheet(README_SHEET), tracker)
    wb.properties.creator = "parkplan"
    wb.properties.keywords = FORMAT_MARK
    wb.properties.title = t("xlsx.readme.title")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
_LABEL_FILL = PatternFill("solid", fgColor="F2F2F2")
_LOCKED_FILL = PatternFill("solid", fgColor="EDEDED")


def _data_sheet(ws: Any, title: str, columns: Sequence[Column], records: Sequence[Any]) -> None:
    ws.title = title
    for i, col in enumerate(columns, start=1):
        head = ws.cell(HEADER_ROW, i)
        _put(head, col.name)
        head.font = Font(bold=True)
        head.fill = _HEADER_FILL
        label = ws.cell(LABEL_ROW, i)
        _put(label, both(f"xlsx.col.{col.name}", sep="\n"))
        label.font = Font(italic=True, color="404040")
        label.fill = _LABEL_FILL
        label.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.cell(HEADER_ROW, 2).comment = Comment(
        both("xlsx.readme.version", sep="\n"), "parkplan", width=320, height=160
    )
    ws.row_dimensions[LABEL_ROW].height = 32
    for r, record in enumerate(records, start=FIRST_DATA_ROW):
        for i, col in enumerate(columns, start=1):
            cell = ws.cell(r, i)
            _put(cell, _export_value(getattr(record, col.name), col))
            if col.kind in ("date", "opt_date"):
                cell.number_format = "yyyy-mm-dd"
            if col.kind in ("key", "version"):
                cell.fill = _LOCKED_FILL
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 3)
    last = FIRST_DATA_ROW + len(records) + SPARE_ROWS
    for i, col in enumerate(columns, start=1):
        dv = _validation(col)
        if dv is not None:
            letter = get_column_letter(i)
            dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
            ws.add_data_validation(dv)


def _validation(col: Column) -> DataValidation | None:
    """Return the drop-down list (or range check) of a column, with a bilingual prompt."""
    if col.kind == "enum":
        values = col.choices
    elif col.kind == "bool":
        values = ("yes", "no")
    elif col.name in ("likelihood", "impact", "task"):
        values = tuple(str(v) for v in range(col.low, col.high + 1))
    elif col.name == "percent":
        values = None
    else:
        return None
    if values is None:
        dv = DataValidation(
            type="whole",
            operator="between",
            formula1=str(col.low),
            formula2=str(col.high),
            allow_blank=True,
        )
    else:
        dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
    prompt = {
        "visibility": "xlsx.prompt.visibility",
        "likelihood": "xlsx.prompt.level",
        "impact": "xlsx.prompt.level",
        "percent": "xlsx.prompt.percent",
        "proposed": "xlsx.prompt.proposed",
        "task": "xlsx.prompt.task",
        "status": "xlsx.prompt.risk_status" if "open" in col.choices else "xlsx.prompt.status",
    }[col.name]
    dv.showErrorMessage = True
    dv.errorTitle = t("xlsx.error.title")
    dv.error = both("xlsx.error.choose")
    dv.showInputMessage = True
    dv.promptTitle = t(f"xlsx.col.{col.name}")[:32]
    dv.prompt = t(prompt)[:255]
    return dv


def _readme(ws: Any, tracker: Tracker) -> None:
    ws.column_dimensions["A"].width = 110
    lines = [
        both("xlsx.readme.title", sep=" · "),
        t(
            "xlsx.readme.exported",
            at=f"{tracker.clock():%Y-%m-%d %H:%M}",
            user=tracker.user.name,
            workspace=Path(str(tracker.workspace.location)).name
            if not str(tracker.workspace.location).startswith("postgres")
            else "PostGIS",
        ),
        "",
    ]
    for key in (
        "xlsx.readme.rows",
        "xlsx.readme.version",
        "xlsx.readme.new",
        "xlsx.readme.import",
        "xlsx.readme.formula",
    ):
        lines += [t(key), t(key, "en"), ""]
    for r, text in enumerate(lines, start=1):
        cell = ws.cell(r, 1)
        _put(cell, text)
        cell.alignment = Alignment(wrap_text=True)
    ws.cell(1, 1).font = Font(bold=True, size=13)


def _export_value(value: Any, col: Column) -> Any:
    if value is None:
        return None
    if col.kind == "ids":
        return ", ".join(value)
    if col.kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return value.value
    return value


def _put(cell: Any, value: Any) -> None:
    """Write a value; text is always a string cell, never a formula or an error code.

    Text starting with a formula trigger gets Excel's quote prefix (the stored form of a
    typed leading apostrophe), so the spreadsheet shows it as text and never evaluates it.
    """
    if value is None:
        return
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        cell.data_type = "s"
        if value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
        return
    cell.value = value


__all__ = [
    "export_xlsx",
]
