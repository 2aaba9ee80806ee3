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

from parkplan.tracker.excel.changes import (
    ChangeSet,
    FieldChange,
    RecordChange,
    apply_xlsx,
    preview_xlsx,
)
from parkplan.tracker.excel.export import export_xlsx
from parkplan.tracker.excel.layout import (
    FIRST_DATA_ROW,
    FORMULA_TRIGGERS,
    HEADER_ROW,
    LABEL_ROW,
    MILESTONE_COLUMNS,
    RISK_COLUMNS,
    SHEETS,
    Column,
)
from parkplan.tracker.excel.reading import SheetProblem

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
