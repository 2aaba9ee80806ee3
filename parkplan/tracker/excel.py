"""Excel round trip of milestones and risks: export, preview of an edited file, apply.

The workbook (:func:`export_xlsx`) has a sheet ``milestones`` and a sheet ``risks`` and a
read-me sheet ``说明``. In each data sheet

- **row 1** holds the machine-readable column names (:data:`MILESTONE_COLUMNS`,
  :data:`RISK_COLUMNS`), stable across versions and checked on import: a renamed, missing,
  duplicated or merged header cell is refused;
- **row 2** holds the Chinese-first labels (``名称（中文） · Title (Chinese)``), for people;
  it is not read;
- **data** starts on row 3: one record per row, with its ``id`` and the ``version`` it had
  when exported (optimistic locking on re-import).

Status, likelihood and impact (1–5), visibility, task and ``proposed`` have drop-down lists
(data validation). Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is written as a string cell with Excel's *quote prefix* (what Excel stores when a
user types a leading apostrophe): the spreadsheet shows the text and never evaluates it,
and the value read back is the original text (see docs/decisions/0006-notifications.md).

:func:`preview_xlsx` validates every row and returns a :class:`ChangeSet`: the field
changes per record (before → after) and every problem with sheet, row, column and reason.
A row is compared with the record *as it was at the row's version* (from the journal), so
a row nobody edited is never a change, even if the record changed since; an edited row
whose version is stale is refused, naming who changed what. :func:`apply_xlsx` applies a
valid change set in one transaction through :class:`~parkplan.tracker.Tracker` (so the
permission, version and validation checks apply again) or raises, writing nothing.

Rows with an empty ``version`` are new records (the ``id`` may be left empty). Deleting a
row deletes nothing. Formula cells are refused: parkplan imports values only.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Connection

from parkplan.errors import InputError, Problem
from parkplan.i18n import both, t
from parkplan.identity.users import Visibility
from parkplan.tracker import access, journal, schedule
from parkplan.tracker.commands.milestones import changed_fields
from parkplan.tracker.model import Milestone, Risk, RiskStatus, Status, build
from parkplan.tracker.repository import known_owners, load_milestones, load_risks, load_tasks

if TYPE_CHECKING:
    from parkplan.tracker.service import Tracker

#: Row of the machine-readable column names; of the labels; the first data row.
HEADER_ROW, LABEL_ROW, FIRST_DATA_ROW = 1, 2, 3
#: Leading characters that make a spreadsheet treat text as a formula (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Marks a workbook written by this module (document keywords).
FORMAT_MARK = "parkplan-xlsx/1"
#: Extra empty rows that get the drop-down lists, for new records.
SPARE_ROWS = 200

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
_SPLIT_IDS = re.compile(r"[,，、;；\s]+")
_YES = {"yes", "y", "true", "1", "是", "建议"}
_NO = {"no", "n", "false", "0", "否", "确认", "已确认"}


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its stable name, kind of value, limits and width."""

    name: str
    kind: str  # key, version, int, text, opt_text, date, opt_date, enum, ids, bool, site
    required: bool = False
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    width: int = 14


_STATUSES = tuple(s.value for s in Status)
_VISIBILITIES = tuple(v.value for v in Visibility)

#: Columns of the ``milestones`` sheet, in order.
MILESTONE_COLUMNS: tuple[Column, ...] = (
    Column("id", "key", width=9),
    Column("version", "version", width=8),
    Column("task", "int", True, 1, 9, width=7),
    Column("title_zh", "text", True, width=36),
    Column("title_en", "opt_text", width=30),
    Column("owner", "text", True, width=20),
    Column("start", "date", True, width=12),
    Column("due", "date", True, width=12),
    Column("forecast", "opt_date", width=12),
    Column("status", "enum", choices=_STATUSES, width=12),
    Column("percent", "int", False, 0, 100, width=8),
    Column("depends_on", "ids", width=16),
    Column("linked_site_id", "site", width=10),
    Column("visibility", "enum", choices=_VISIBILITIES, width=11),
    Column("proposed", "bool", width=8),
    Column("note", "opt_text", width=30),
)

#: Columns of the ``risks`` sheet, in order.
RISK_COLUMNS: tuple[Column, ...] = (
    Column("id", "key", width=9),
    Column("version", "version", width=8),
    Column("task", "int", True, 1, 9, width=7),
    Column("title_zh", "text", True, width=32),
    Column("title_en", "opt_text", width=26),
    Column("cause", "text", True, width=28),
    Column("effect", "text", True, width=28),
    Column("likelihood", "int", True, 1, 5, width=8),
    Column("impact", "int", True, 1, 5, width=8),
    Column("owner", "text", True, width=20),
    Column("mitigation", "opt_text", width=30),
    Column("tolerance", "int", False, 1, 25, width=9),
    Column("status", "enum", choices=tuple(s.value for s in RiskStatus), width=9),
    Column("opened_on", "opt_date", width=12),
    Column("reviewed_on", "opt_date", width=12),
    Column("visibility", "enum", choices=_VISIBILITIES, width=11),
    Column("proposed", "bool", width=8),
)

SHEETS: dict[str, tuple[Column, ...]] = {"milestones": MILESTONE_COLUMNS, "risks": RISK_COLUMNS}
_ENTITY = {"milestones": "milestone", "risks": "risk"}
_MODEL = {"milestone": Milestone, "risk": Risk}
README_SHEET = "说明"


# ================================================================== results
@dataclass(frozen=True)
class SheetProblem:
    """One thing wrong with an imported workbook.

    ``row`` is the spreadsheet's own row number (the header is row 1), ``cell`` its
    reference (``H5``); ``column`` the machine-readable column name.
    """

    sheet: str | None
    row: int | None
    column: str | None
    reason: str
    cell: str | None = None

    def __str__(self) -> str:
        where = self.sheet or "workbook"
        if self.cell:
            where += f"!{self.cell}"
        elif self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" ({self.column})"
        return f"{where}: {self.reason}"

    def to_problem(self, file: str) -> Problem:
        """Return the problem as a :class:`parkplan.errors.Problem` of ``file``."""
        return Problem(
            f"{file} [{self.sheet}]" if self.sheet else file, self.row, self.column, self.reason
        )

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "cell": self.cell,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FieldChange:
    """One field of a record, before and after (JSON-ready values)."""

    field: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.field}: {_show(self.before)} → {_show(self.after)}"


@dataclass(frozen=True)
class RecordChange:
    """What an import does to one record: create or update, field by field."""

    entity: str
    id: str | None
    action: str
    version: int | None
    sheet: str
    row: int
    fields: tuple[FieldChange, ...]
    edits: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    depends_before: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def label(self) -> str:
        """``milestone M3-2`` or ``new risk (risks row 9)``."""
        if self.id is None:
            return f"new {self.entity} ({self.sheet} row {self.row})"
        return f"{'new ' if self.action == 'create' else ''}{self.entity} {self.id}"

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "entity": self.entity,
            "id": self.id,
            "action": self.action,
            "version": self.version,
            "sheet": self.sheet,
            "row": self.row,
            "changes": [
                {"field": f.field, "before": f.before, "after": f.after} for f in self.fields
            ],
        }


@dataclass(frozen=True)
class ChangeSet:
    """The changes an edited workbook asks for, and every problem with it."""

    file: str
    changes: tuple[RecordChange, ...] = ()
    problems: tuple[SheetProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the workbook can be applied (no problems)."""
        return not self.problems

    def error(self) -> InputError:
        """Return the problems as one :class:`InputError`."""
        return InputError([p.to_problem(Path(self.file).name) for p in self.problems])

    def lines(self) -> list[str]:
        """Describe the change set, one line per record and field, then the problems."""
        out = []
        for c in self.changes:
            out.append(
                f"{c.label} ({c.sheet} row {c.row}, "
                f"{'version ' + str(c.version) if c.version else 'new'}):"
            )
            out.extend(f"    {f}" for f in c.fields)
        out.extend(f"problem: {p}" for p in self.problems)
        return out

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "file": self.file,
            "ok": self.ok,
            "changes": [c.to_dict() for c in self.changes],
            "problems": [p.to_dict() for p in self.problems],
        }


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


# ================================================================== reading
class _CellError(ValueError):
    pass


def _raw(cell: Any) -> Any:
    if cell is None:
        return None
    if cell.data_type == "f":
        raise _CellError(
            f"is a formula ({str(cell.value)[:40]}); parkplan imports values "
            "only: type the value itself"
        )
    value = cell.value
    if isinstance(value, str):
        if value[:1] == "'" and value[1:2] and value[1:2] in FORMULA_TRIGGERS:
            value = value[1:]  # a literal apostrophe some tools add before = + - @
        if not value.strip():
            return None
    return value


def _parse(value: Any, col: Column) -> Any:
    """Turn a cell value into the field's value; raise :class:`_CellError` if invalid."""
    kind = col.kind
    if value is None:
        if col.required:
            raise _CellError("is empty")
        return {"opt_text": "", "ids": ()}.get(kind)
    if kind in ("text", "opt_text", "key", "site"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, datetime | date | bool):
            raise _CellError(f"{value!r} is not text")
        text = str(value)
        if kind == "key" and not _ID_RE.match(text.strip()):
            raise _CellError(f"{text!r} is not an id (letters, digits, - _ . ; up to 40)")
        return text.strip() if kind in ("key", "site") else text
    if kind in ("int", "version"):
        number = _whole(value)
        low, high = (1, None) if kind == "version" else (col.low, col.high)
        if (low is not None and number < low) or (high is not None and number > high):
            span = f"{low}–{high}" if high is not None else f"{low} or more"
            raise _CellError(f"must be {span}, not {number}")
        return number
    if kind in ("date", "opt_date"):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip().replace("/", "-"))
            except ValueError:
                pass
        raise _CellError(f"{value!r} is not a date (YYYY-MM-DD)")
    if kind == "enum":
        text = str(value).strip()
        if col.name == "visibility":
            text = {v.label: v.value for v in Visibility}.get(text, text.lower())
        else:
            text = text.lower().replace(" ", "_")
        if text not in col.choices:
            raise _CellError(
                f"unknown {col.name} {value!r}: choose one of {', '.join(col.choices)}"
            )
        return text
    if kind == "ids":
        ids = [i for i in _SPLIT_IDS.split(str(value)) if i]
        bad = [i for i in ids if not _ID_RE.match(i)]
        if bad:
            raise _CellError(f"{', '.join(bad)} is not a milestone id")
        return tuple(sorted(set(ids)))
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise _CellError(f"{value!r} is not yes or no")
    raise AssertionError(kind)


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise _CellError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise _CellError(f"{value!r} is not a whole number")


@dataclass
class _Row:
    sheet: str
    number: int
    values: dict[str, Any]
    cells: dict[str, str]


def _read_sheet(wb: Any, sheet: str, problems: list[SheetProblem]) -> list[_Row]:
    columns = SHEETS[sheet]
    if sheet not in wb.sheetnames:
        problems.append(
            SheetProblem(
                sheet,
                None,
                None,
                f"the workbook has no sheet '{sheet}' (sheets: {', '.join(wb.sheetnames)})",
            )
        )
        return []
    ws = wb[sheet]
    header_ok = True
    for merged in ws.merged_cells.ranges:
        if merged.min_row <= LABEL_ROW:
            problems.append(
                SheetProblem(
                    sheet,
                    merged.min_row,
                    None,
                    f"header cells "
                    f"{merged.coord} are merged: unmerge them, one "
                    "column name per cell",
                    merged.coord,
                )
            )
            header_ok = False
        else:
            problems.append(
                SheetProblem(
                    sheet,
                    merged.min_row,
                    None,
                    f"cells {merged.coord} are merged: unmerge them, one value per cell",
                    merged.coord,
                )
            )
    expected = [c.name for c in columns]
    found: dict[str, int] = {}
    for i in range(1, ws.max_column + 1):
        cell = ws.cell(HEADER_ROW, i)
        name = cell.value.strip() if isinstance(cell.value, str) else cell.value
        if name is None or name == "":
            continue
        name = str(name)
        if name in found:
            problems.append(
                SheetProblem(
                    sheet, HEADER_ROW, name, f"column name {name!r} appears twice", cell.coordinate
                )
            )
            header_ok = False
        elif name not in expected:
            problems.append(
                SheetProblem(
                    sheet,
                    HEADER_ROW,
                    name,
                    f"column {name!r} is not "
                    f"a column of sheet '{sheet}' (renamed?); the "
                    "columns are " + ", ".join(expected),
                    cell.coordinate,
                )
            )
            header_ok = False
        found[name] = i
    for name in expected:
        if name not in found:
            problems.append(
                SheetProblem(
                    sheet,
                    HEADER_ROW,
                    name,
                    f"column {name!r} is "
                    "missing (renamed or deleted?); row 1 must keep "
                    "the column names as exported",
                )
            )
            header_ok = False
    if not header_ok:
        return []
    version_label = ws.cell(LABEL_ROW, found["version"]).value
    if isinstance(version_label, int | float) and not isinstance(version_label, bool):
        problems.append(
            SheetProblem(
                sheet,
                LABEL_ROW,
                "version",
                "row 2 should hold the "
                "column labels but holds data (was the label row "
                "deleted?); data starts on row 3",
                ws.cell(LABEL_ROW, found["version"]).coordinate,
            )
        )
        return []
    merged_rows = {r for m in ws.merged_cells.ranges for r in range(m.min_row, m.max_row + 1)}
    rows = []
    for r in range(FIRST_DATA_ROW, ws.max_row + 1):
        cells = {c.name: ws.cell(r, found[c.name]) for c in columns}
        if all(
            cell.value is None or (isinstance(cell.value, str) and not cell.value.strip())
            for cell in cells.values()
        ):
            continue
        if r in merged_rows:
            continue
        values: dict[str, Any] = {}
        bad = False
        for col in columns:
            cell = cells[col.name]
            try:
                values[col.name] = _parse(_raw(cell), col)
            except _CellError as err:
                problems.append(SheetProblem(sheet, r, col.name, str(err), cell.coordinate))
                bad = True
        if not bad:
            rows.append(_Row(sheet, r, values, {k: c.coordinate for k, c in cells.items()}))
    return rows


# ================================================================= planning
@dataclass
class _Plan:
    entity: str
    row: _Row
    before: Any
    after: Any
    edits: dict[str, Any]
    new_id: bool = False


def preview_xlsx(tracker: Tracker, path: str | os.PathLike) -> ChangeSet:
    """Validate an edited workbook and say what applying it would change.

    Parameters
    ----------
    tracker : Tracker
        Whose permissions and clearance apply.
    path : path

    Returns
    -------
    ChangeSet
        The field changes per record (before → after), and every problem found (with
        sheet, row, column and reason): renamed or merged header cells, unknown status,
        out-of-range values, due before start, unknown owner, a dependency on a missing
        milestone, a cycle, a stale version, a record the user may not change.
    """
    return _plan(tracker, path)[0]


def apply_xlsx(tracker: Tracker, path: str | os.PathLike) -> ChangeSet:
    """Apply an edited workbook in one transaction, or raise and write nothing.

    Every change goes through the tracker (permissions, versions, validation and the
    journal: one entry per changed record).

    Raises
    ------
    InputError
        With every problem :func:`preview_xlsx` finds.
    StaleVersion, PermissionDenied
        If a record changed, or a check failed, between preview and write.
    """
    with tracker.transaction():
        changes, plans = _plan(tracker, path)
        if not changes.ok:
            raise changes.error()
        for plan in _apply_order(plans):
            _apply_one(tracker, plan)
    return changes


def _plan(tracker: Tracker, path: str | os.PathLike) -> tuple[ChangeSet, list[_Plan]]:
    path = Path(path)
    problems: list[SheetProblem] = []
    try:
        wb = openpyxl.load_workbook(path)
    except FileNotFoundError:
        return ChangeSet(str(path), (), (SheetProblem(None, None, None, "no such file"),)), []
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        return ChangeSet(
            str(path),
            (),
            (
                SheetProblem(
                    None, None, None, f"not an XLSX workbook ({type(err).__name__}: {err})"
                ),
            ),
        ), []
    rows = {sheet: _read_sheet(wb, sheet, problems) for sheet in SHEETS}
    with tracker.repository.read() as conn:
        plans = _plan_records(tracker, conn, rows, problems)
    problems.sort(
        key=lambda p: (list(SHEETS).index(p.sheet) if p.sheet in SHEETS else -1, p.row or 0)
    )
    changes = tuple(_record_change(p) for p in plans)
    return ChangeSet(str(path), changes, tuple(problems)), plans


def _plan_records(
    tracker: Tracker, conn: Connection, rows: dict[str, list[_Row]], problems: list[SheetProblem]
) -> list[_Plan]:
    current = {
        "milestone": {m.id: m for m in load_milestones(conn)},
        "risk": {r.id: r for r in load_risks(conn)},
    }
    owners = known_owners(conn)
    tasks = {task.number for task in load_tasks(conn)}
    plans: list[_Plan] = []
    for sheet, sheet_rows in rows.items():
        entity = _ENTITY[sheet]
        seen: dict[str, int] = {}
        for row in sheet_rows:
            rid = row.values["id"]
            if rid:
                if rid in seen:
                    problems.append(
                        SheetProblem(
                            sheet,
                            row.number,
                            "id",
                            f"{rid} is also on row {seen[rid]}",
                            row.cells["id"],
                        )
                    )
                    continue
                seen[rid] = row.number
            plan = _plan_row(tracker, conn, entity, row, current[entity], problems)
            if plan is None:
                continue
            found = _check_record(tracker, conn, plan, owners, tasks)
            problems.extend(found)
            if not found:
                plans.append(plan)
    _check_network(current["milestone"], [p for p in plans if p.entity == "milestone"], problems)
    return plans


def _plan_row(
    tracker: Tracker,
    conn: Connection,
    entity: str,
    row: _Row,
    current: dict[str, Any],
    problems: list[SheetProblem],
) -> _Plan | None:
    cls = _MODEL[entity]
    values, sheet = row.values, row.sheet
    rid, version = values["id"], values["version"]
    fields = {k: v for k, v in values.items() if k not in ("id", "version")}

    def problem(column: str | None, reason: str) -> None:
        problems.append(
            SheetProblem(
                sheet, row.number, column, reason, row.cells.get(column) if column else None
            )
        )

    if version is None:  # a new record
        if rid and rid in current:
            problem(
                "id",
                f"{entity} {rid} already exists: to change it, keep the version "
                "it was exported with",
            )
            return None
        data = {k: v for k, v in fields.items() if v is not None}
        if entity == "risk":
            data.setdefault("opened_on", tracker.clock().date())
        new_id = not rid
        data["id"] = rid or f"new-row-{row.number}"
        data["version"] = 1
        after = _build(cls, data, row, problems)
        return None if after is None else _Plan(entity, row, None, after, fields, new_id)

    before = current.get(rid) if rid else None
    if rid is None:
        problem(
            "id",
            "is empty, but the row has a version: an existing record needs its id "
            "(a new one an empty version)",
        )
        return None
    if before is None or not access.visible(tracker.user, before):
        problem("id", f"no {entity} {rid} visible to you (to add one, leave version empty)")
        return None

    def stale() -> Exception:
        return tracker.repository.stale(conn, entity, rid, f"{entity} {rid}", version)

    exported = before if version == before.version else _state_at(conn, entity, rid, version)
    if exported is None:
        problem("version", str(stale()))
        return None
    edits = {k: v for k, v in fields.items() if not _same(k, v, getattr(exported, k))}
    if not edits:
        return None
    if version != before.version:
        if all(_same(k, v, getattr(before, k)) for k, v in edits.items()):
            return None  # the record already holds these edits (e.g. a re-import)
        problem("version", str(stale()))
        return None
    if entity == "milestone":  # what Tracker.update_milestone does on its own
        data = changed_fields(before, edits)
    else:
        data = {**before.model_dump(), **edits, "version": before.version + 1}
    after = _build(cls, data, row, problems)
    return None if after is None else _Plan(entity, row, before, after, edits)


def _build(cls: type, data: dict[str, Any], row: _Row, problems: list[SheetProblem]) -> Any:
    try:
        return build(cls, data)
    except InputError as err:
        for p in err.problems:
            column = p.column if p.column in row.cells else _column_of(p.reason)
            problems.append(
                SheetProblem(
                    row.sheet,
                    row.number,
                    column,
                    p.reason,
                    row.cells.get(column) if column else None,
                )
            )
        return None


def _column_of(reason: str) -> str | None:
    first = reason.split(" ", 1)[0]
    if first in ("due", "forecast", "reviewed_on", "depends_on", "start"):
        return first
    if reason.startswith("a done milestone"):
        return "percent"
    if reason.startswith("dependency cycle"):
        return "depends_on"
    return None


def _state_at(conn: Connection, entity: str, rid: str, version: int) -> Any:
    """Return the record as it was at ``version``, from the journal, or ``None``."""
    cls = _MODEL[entity]
    for entry in journal.history(conn, entity=entity, entity_id=rid):
        if entry.after and entry.after.get("version") == version:
            data = {k: v for k, v in entry.after.items() if k in cls.model_fields}
            try:
                return cls.model_validate(data)
            except ValueError:
                return None
    return None


def _same(name: str, new: Any, old: Any) -> bool:
    if isinstance(old, Enum):
        old = old.value
    if isinstance(new, Enum):
        new = new.value
    if name == "depends_on":
        return tuple(sorted(new or ())) == tuple(sorted(old or ()))
    if name in ("forecast", "opened_on") and new is None:
        return True  # left empty: keep (forecast defaults to due)
    if new in (None, "") and old in (None, ""):
        return True
    return new == old


def _check_record(
    tracker: Tracker, conn: Connection, plan: _Plan, owners: set[str], tasks: set[int]
) -> list[SheetProblem]:
    row, after, before = plan.row, plan.after, plan.before
    found: list[SheetProblem] = []

    def problem(column: str | None, reason: str) -> None:
        found.append(
            SheetProblem(
                row.sheet, row.number, column, reason, row.cells.get(column) if column else None
            )
        )

    try:
        if before is not None:
            access.check_write(tracker.user, "update", before)
            access.check_write(tracker.user, "update", after)
        else:
            access.check_write(tracker.user, "create", after)
    except access.PermissionDenied as err:
        problem(None, str(err))
        return found
    if after.task not in tasks:
        problem("task", f"there is no task {after.task} in this workspace")
    owner_checked = plan.entity == "milestone" or before is None or before.owner != after.owner
    if owner_checked and after.owner not in owners:
        problem(
            "owner",
            f"unknown owner {after.owner!r}: name a user, a user's unit, or a "
            "task's lead or co-unit",
        )
    if (
        plan.entity == "milestone"
        and after.linked_site_id
        and (before is None or before.linked_site_id != after.linked_site_id)
        and tracker.repository.site_year(conn, after.linked_site_id) is None
    ):
        problem("linked_site_id", f"there is no site {after.linked_site_id!r} in layer 'sites'")
    return found


def _check_network(
    current: dict[str, Milestone], plans: list[_Plan], problems: list[SheetProblem]
) -> None:
    final = dict(current)
    for p in plans:
        final[p.after.id] = p.after
    bad = set()
    for p in plans:
        for dep in p.after.depends_on:
            if dep not in final:
                problems.append(
                    SheetProblem(
                        p.row.sheet,
                        p.row.number,
                        "depends_on",
                        f"depends on {dep}, which does not exist",
                        p.row.cells["depends_on"],
                    )
                )
                bad.add(p.after.id)
    if bad:
        return
    cycle = schedule.find_cycle(schedule.dependency_graph(final.values()))
    if cycle:
        by_id = {p.after.id: p for p in plans}
        changed = next((i for i in cycle if i in by_id), cycle[0])
        if changed in cycle[:-1]:
            i = cycle.index(changed)
            cycle = cycle[i:-1] + cycle[:i] + [changed]
        p = by_id.get(changed)
        problems.append(
            SheetProblem(
                p.row.sheet if p else "milestones",
                p.row.number if p else None,
                "depends_on",
                "dependency cycle: " + schedule.format_cycle(cycle),
                p.row.cells["depends_on"] if p else None,
            )
        )


def _record_change(plan: _Plan) -> RecordChange:
    after, before = plan.after, plan.before
    names = [n for n in type(after).model_fields if n != "version"]
    fields = []
    for name in names:
        new = _json(getattr(after, name))
        old = _json(getattr(before, name)) if before is not None else None
        if before is None:
            if name == "id" and plan.new_id:
                continue
            if new in (None, "", []):
                continue
        if old != new:
            fields.append(FieldChange(name, old, new))
    return RecordChange(
        plan.entity,
        None if plan.new_id else after.id,
        "create" if before is None else "update",
        before.version if before is not None else None,
        plan.row.sheet,
        plan.row.number,
        tuple(fields),
        dict(plan.edits),
        tuple(before.depends_on) if plan.entity == "milestone" and before else (),
    )


def _json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(value) or "–"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


# ================================================================= applying
def _apply_order(plans: list[_Plan]) -> list[_Plan]:
    """Order the writes so that no intermediate state has a dependency cycle.

    First the milestones whose dependencies only shrink (or stay), in any order; then new
    milestones and those that gain dependencies, dependencies before dependents in the
    final network; then the risks. Every record is written once.
    """
    milestones = [p for p in plans if p.entity == "milestone"]
    first, second = [], []
    for p in milestones:
        gains = p.before is None or not set(p.after.depends_on) <= set(p.before.depends_on)
        (second if gains else first).append(p)
    graph = {p.after.id: tuple(p.after.depends_on) for p in milestones}
    order = {mid: i for i, mid in enumerate(schedule.topological_order(graph))}
    second.sort(key=lambda p: order[p.after.id])
    return first + second + [p for p in plans if p.entity == "risk"]


def _apply_one(tracker: Tracker, plan: _Plan) -> None:
    after = plan.after
    if plan.before is not None:
        update = tracker.update_milestone if plan.entity == "milestone" else tracker.update_risk
        update(after.id, plan.before.version, **plan.edits)
        return
    data = after.model_dump()
    data.pop("version")
    if plan.new_id:
        data["id"] = None
    if plan.entity == "milestone":
        tracker.add_milestone(**data)
    else:
        tracker.add_risk(**data)


__all__ = [
    "FIRST_DATA_ROW",
    "FORMULA_TRIGGERS",
    "HEADER_ROW",
    "LABEL_ROW",
    "MILESTONE_COLUMNS",
    "RISK_COLUMNS",
    "SHEETS",
    "ChangeSet",
    "Column",
    "FieldChange",
    "RecordChange",
    "SheetProblem",
    "apply_xlsx",
    "export_xlsx",
    "preview_xlsx",
]
