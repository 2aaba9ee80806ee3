"""Reading a workbook's sheets: cells to field values, with every problem named."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from parkplan.errors import Problem
from parkplan.identity.users import Visibility
from parkplan.tracker.excel.layout import (
    FIRST_DATA_ROW,
    FORMULA_TRIGGERS,
    HEADER_ROW,
    ID_RE,
    LABEL_ROW,
    NO_WORDS,
    SHEETS,
    SPLIT_IDS,
    YES_WORDS,
    Column,
)

if TYPE_CHECKING:
    pass


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


def _text(value: Any, col: Column) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date | bool):
        raise _CellError(f"{value!r} is not text")
    text = str(value)
    if col.kind == "key" and not ID_RE.match(text.strip()):
        raise _CellError(f"{text!r} is not an id (letters, digits, - _ . ; up to 40)")
    return text.strip() if col.kind in ("key", "site") else text


def _number(value: Any, col: Column) -> int:
    number = _whole(value)
    low, high = (1, None) if col.kind == "version" else (col.low, col.high)
    if (low is not None and number < low) or (high is not None and number > high):
        span = f"{low}–{high}" if high is not None else f"{low} or more"
        raise _CellError(f"must be {span}, not {number}")
    return number


def _date(value: Any, col: Column) -> date:
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


def _choice(value: Any, col: Column) -> str:
    text = str(value).strip()
    if col.name == "visibility":
        text = {v.label: v.value for v in Visibility}.get(text, text.lower())
    else:
        text = text.lower().replace(" ", "_")
    if text not in col.choices:
        raise _CellError(f"unknown {col.name} {value!r}: choose one of {', '.join(col.choices)}")
    return text


def _ids(value: Any, col: Column) -> tuple[str, ...]:
    ids = [i for i in SPLIT_IDS.split(str(value)) if i]
    bad = [i for i in ids if not ID_RE.match(i)]
    if bad:
        raise _CellError(f"{', '.join(bad)} is not a milestone id")
    return tuple(sorted(set(ids)))


def _yes_no(value: Any, col: Column) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    raise _CellError(f"{value!r} is not yes or no")


#: How a cell of each column kind becomes a field value.
_PARSERS: dict[str, Callable[[Any, Column], Any]] = {
    "text": _text,
    "opt_text": _text,
    "key": _text,
    "site": _text,
    "int": _number,
    "version": _number,
    "date": _date,
    "opt_date": _date,
    "enum": _choice,
    "ids": _ids,
    "bool": _yes_no,
}


def _parse(value: Any, col: Column) -> Any:
    """Turn a cell value into the field's value; raise :class:`_CellError` if invalid."""
    if value is None:
        if col.required:
            raise _CellError("is empty")
        return {"opt_text": "", "ids": ()}.get(col.kind)
    return _PARSERS[col.kind](value, col)


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
class Row:
    """One data row of a sheet: its number, its parsed values and its cells' references."""

    sheet: str
    number: int
    values: dict[str, Any]
    cells: dict[str, str]


def read_sheet(wb: Any, sheet: str, problems: list[SheetProblem]) -> list[Row]:
    """Return the data rows of ``sheet``, adding every problem found to ``problems``."""
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
            rows.append(Row(sheet, r, values, {k: c.coordinate for k, c in cells.items()}))
    return rows


__all__ = [
    "Row",
    "SheetProblem",
    "read_sheet",
]
