"""Reports of the pilot programme: the weekly stocktake (HTML, PDF) and the 专报 (Word).

:mod:`.stocktake` — the task force's weekly stocktake (周例会盘点) for an ISO week:
:func:`~.stocktake.stocktake_data` (a pure function of a
:class:`parkplan.tracker.queries.Programme`), :func:`~.stocktake.render_html` (Jinja2,
everything escaped, self-contained) and :func:`~.stocktake.render_pdf` (WeasyPrint, CJK
fonts embedded). :mod:`.major_matter` — the special report (专报) of a major matter as a
.docx. Both read through :class:`parkplan.tracker.Tracker`, so a report never holds a record
above its reader's clearance. See docs/decisions/0005-reports.md.
"""

from parkplan.reports.major_matter import matter_report_data, write_major_matter_docx
from parkplan.reports.stocktake import (
    IsoWeek,
    build_stocktake,
    parse_week,
    render_html,
    render_pdf,
    stocktake_data,
    write_stocktake,
)

__all__ = [
    "IsoWeek",
    "build_stocktake",
    "matter_report_data",
    "parse_week",
    "render_html",
    "render_pdf",
    "stocktake_data",
    "write_major_matter_docx",
    "write_stocktake",
]
