"""The workbook's layout: its sheets, their columns and what each column holds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parkplan.identity.users import Visibility
from parkplan.tracker.model import Milestone, Risk, RiskStatus, Status

if TYPE_CHECKING:
    pass


#: Row of the machine-readable column names; of the labels; the first data row.
HEADER_ROW, LABEL_ROW, FIRST_DATA_ROW = 1, 2, 3
#: Leading characters that make a spreadsheet treat text as a formula (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Marks a workbook written by this module (document keywords).
FORMAT_MARK = "parkplan-xlsx/1"
#: Extra empty rows that get the drop-down lists, for new records.
SPARE_ROWS = 200

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
SPLIT_IDS = re.compile(r"[,，、;；\s]+")
YES_WORDS = {"yes", "y", "true", "1", "是", "建议"}
NO_WORDS = {"no", "n", "false", "0", "否", "确认", "已确认"}


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
ENTITY_OF_SHEET = {"milestones": "milestone", "risks": "risk"}
RECORD_CLASS = {"milestone": Milestone, "risk": Risk}
README_SHEET = "说明"


__all__ = [
    "Column",
    "ENTITY_OF_SHEET",
    "FIRST_DATA_ROW",
    "FORMAT_MARK",
    "FORMULA_TRIGGERS",
    "HEADER_ROW",
    "ID_RE",
    "LABEL_ROW",
    "MILESTONE_COLUMNS",
    "NO_WORDS",
    "README_SHEET",
    "RECORD_CLASS",
    "RISK_COLUMNS",
    "SHEETS",
    "SPARE_ROWS",
    "SPLIT_IDS",
    "YES_WORDS",
]
