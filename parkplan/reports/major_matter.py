"""The special report (专报) of a major matter (重大事项及时报告, policy section 三), in Word.

:func:`matter_report_data` (pure) lays out the report: the title 关于……的专报, the reporting
unit (报送单位), the addressee, the date, then 一、基本情况 (what happened, when, which
task), 二、影响, 三、已采取措施, 四、需协调事项 and 五、报告时限 (when the clock started, the
deadline, and whether it was met). :func:`write_docx` writes it with python-docx in the
manner of a Chinese official document (GB/T 9704: A4, 37/35/28/26 mm margins, 16 pt text on
a fixed 28 pt line, 黑体 headings): every run names its East Asian font explicitly in
``w:rFonts/@w:eastAsia`` (and the document defaults drop the theme fonts, which would
otherwise win), with ``w:lang/@w:eastAsia = zh-CN``, so Word shows the Chinese in 宋体/黑体
rather than a Latin fallback. :func:`parkplan.services.reports.write_major_matter_docx` reads
the matter through a
:class:`~parkplan.tracker.Tracker`: a matter above the reader's clearance reads as not
found, exactly like an unknown id (the tracker never tells the two apart).
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from parkplan.i18n import t
from parkplan.identity.users import Visibility
from parkplan.reports.common import atomic_path, duration, matter_clock
from parkplan.tracker.model import TASK_CODES, MajorMatter, Task

#: East Asian font of the text (宋体, on every Chinese Windows; Word substitutes elsewhere).
BODY_FONT = "SimSun"
#: East Asian font of the headings and the title (黑体).
HEADING_FONT = "SimHei"
#: Font of Latin letters and digits.
LATIN_FONT = "Times New Roman"

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str | None) -> str:
    """Drop characters XML 1.0 cannot hold (Word would refuse the file)."""
    return _XML_INVALID.sub("", text or "").strip()


def _paragraphs(text: str | None) -> list[str]:
    return [p.strip() for p in _clean(text).splitlines() if p.strip()]


def _zh_datetime(value: datetime) -> str:
    return t(
        "report.matter.datetime",
        "zh",
        y=value.year,
        m=value.month,
        d=value.day,
        H=value.hour,
        M=f"{value.minute:02d}",
    )


def _zh_date(value: datetime) -> str:
    return t("report.matter.date_fmt", "zh", y=value.year, m=value.month, d=value.day)


def _subject(title: str) -> str:
    """Return the matter's title without a leading 关于 or a trailing (的)专报."""
    subject = _clean(title)
    subject = subject.removeprefix("关于")
    for tail in ("的专报", "专报"):
        subject = subject.removesuffix(tail)
    return subject or _clean(title)


def matter_report_data(
    matter: MajorMatter,
    task: Task | None,
    *,
    now: datetime,
    unit: str,
    national_tasks: tuple[int, ...] = (4, 9),
) -> dict[str, Any]:
    """Lay out the 专报 of ``matter`` as of ``now``.

    Parameters
    ----------
    matter : MajorMatter
    task : Task or None
        The matter's task, if it has one.
    now : datetime
        The report's date, and when the reporting clock is read.
    unit : str
        The reporting unit (报送单位).
    national_tasks : tuple of int
        Tasks whose major matters also go to the national authority (the devolved powers,
        （四） and （九）).

    Returns
    -------
    dict
        ``title``, ``heading``, ``number``, ``marking``, ``unit``, ``to``, ``date``,
        ``sections`` (list of ``{"heading": str, "paragraphs": [str]}``), ``clock``.
    """
    dur = duration("zh")
    clock = matter_clock(matter, now)
    to = [_clean(matter.reported_to) or t("report.matter.to_convenor", "zh")]
    if matter.task in national_tasks and not matter.reported_to:
        to.append(t("report.matter.to_national", "zh"))

    facts = _paragraphs(matter.what_happened)
    facts.append(t("report.matter.when", "zh", at=_zh_datetime(matter.occurred_at)))
    if task is not None:
        facts.append(t("report.matter.task", "zh", code=task.code, title=_clean(task.title_zh)))

    deadline = [
        t(
            "report.matter.opened",
            "zh",
            opened=_zh_datetime(matter.opened_at),
            deadline=_zh_datetime(matter.report_deadline),
        )
    ]
    state = clock["state"]
    if state == "open":
        deadline.append(
            t("report.matter.status_open", "zh", now=_zh_datetime(now), left=dur(clock["hours"]))
        )
    elif state == "overdue":
        deadline.append(
            t("report.matter.status_overdue", "zh", now=_zh_datetime(now), late=dur(clock["hours"]))
        )
    else:
        reported = dict(at=_zh_datetime(matter.reported_at), to=_clean(matter.reported_to))
        if state == "on_time":
            deadline.append(t("report.matter.status_on_time", "zh", **reported))
        else:
            deadline.append(
                t("report.matter.status_late", "zh", late=dur(clock["hours"]), **reported)
            )

    none = [t("report.matter.none", "zh")]
    sections = [
        ("report.matter.s1", facts),
        ("report.matter.s2", _paragraphs(matter.impact) or none),
        ("report.matter.s3", _paragraphs(matter.measures) or none),
        ("report.matter.s4", _paragraphs(matter.coordination_requested) or none),
        ("report.matter.s5", deadline),
    ]
    return {
        "id": matter.id,
        "title": t("report.matter.title", "zh", title=_subject(matter.title)),
        "heading": t("report.matter.heading", "zh"),
        "number": t("report.matter.number", "zh", id=matter.id),
        "marking": (
            t(f"report.visibility.{Visibility(matter.visibility).value}", "zh")
            if Visibility(matter.visibility) != Visibility.public
            else ""
        ),
        "unit": _clean(unit),
        "to": "、".join(to),
        "date": _zh_date(now),
        "sections": [{"heading": t(key, "zh"), "paragraphs": paras} for key, paras in sections],
        "clock": clock,
        "task": TASK_CODES.get(matter.task) if matter.task else None,
    }


# ---------------------------------------------------------------------- Word
def _set_fonts(rpr: Any, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Name the fonts of a ``w:rPr`` explicitly, dropping theme fonts (which would win)."""
    from docx.oxml.ns import qn

    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:hint"), "eastAsia")


def _set_language(rpr: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")


def _bottom_rule(paragraph: Any, color: str = "C00000") -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    ppr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "4"), ("w:color", color)):
        bottom.set(qn(key), value)
    border.append(bottom)
    ppr.append(border)


def write_docx(data: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write the 专报 laid out by :func:`matter_report_data` to ``path`` (.docx).

    The file appears whole or not at all.
    """
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    defaults = (
        doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    )
    _set_fonts(defaults, BODY_FONT)
    _set_language(defaults)
    normal = doc.styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    normal.font.size = Pt(16)
    pf = normal.paragraph_format
    pf.space_before, pf.space_after = Pt(0), Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(28)

    def para(
        text: str,
        *,
        font: str = BODY_FONT,
        size: float = 16,
        bold: bool = False,
        align: Any = None,
        indent: bool = False,
        color: RGBColor | None = None,
        space_after: float = 0,
    ) -> Any:
        p = doc.add_paragraph()
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        if space_after:
            p.paragraph_format.space_after = Pt(space_after)
        if size > 20:
            p.paragraph_format.line_spacing = Pt(size * 1.5)
        run = p.add_run(text)
        _set_fonts(run._r.get_or_add_rPr(), font)
        run.font.size = Pt(size)
        run.font.bold = bold
        if color is not None:
            run.font.color.rgb = color
        return p

    red = RGBColor(0xC0, 0x00, 0x00)
    if data["marking"]:
        para(data["marking"], font=HEADING_FONT, bold=True)
    para(
        data["heading"],
        font=HEADING_FONT,
        size=26,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        color=red,
    )
    para(data["number"], align=WD_ALIGN_PARAGRAPH.CENTER)
    head = para(
        f"{t('report.matter.unit', 'zh')}：{data['unit']}　　"
        f"{t('report.matter.date', 'zh')}：{data['date']}",
        size=14,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        space_after=12,
    )
    _bottom_rule(head)
    para(
        data["title"],
        font=HEADING_FONT,
        size=22,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        space_after=12,
    )
    para(f"{data['to']}：")
    for sec in data["sections"]:
        para(sec["heading"], font=HEADING_FONT)
        for text in sec["paragraphs"]:
            para(text, indent=True)
    para("")
    para(data["unit"], align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(data["date"], align=WD_ALIGN_PARAGRAPH.RIGHT)

    props = doc.core_properties
    props.title = data["title"]
    props.author = data["unit"]
    props.language = "zh-CN"
    props.subject = f"{data['heading']}{data['number']}"

    path = Path(path)
    with atomic_path(path) as tmp:
        doc.save(tmp)
    return path


__all__ = [
    "BODY_FONT",
    "HEADING_FONT",
    "LATIN_FONT",
    "matter_report_data",
    "write_docx",
]
