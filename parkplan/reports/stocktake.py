"""The task force's weekly stocktake (周例会盘点): data, HTML and PDF.

Three steps, each testable alone:

1. :func:`stocktake_data` — a pure function of a :class:`~parkplan.tracker.queries.Programme`
   (what one reader may see as of a date) and an ISO week: per task the rating, trend and
   reasons; milestones done this week, due in the next two weeks and overdue; the critical
   path; open risks; open escalations by level; major matters and their reporting clock.
   Returns a JSON-ready dict.
2. :func:`render_html` — the dict through the Jinja2 templates in ``templates/`` with
   autoescaping on, so any text in a record (a title holding ``<script>``) is shown as
   text. The page is self-contained: inline CSS, no scripts, no external references; fonts
   are named (``Noto Sans CJK SC``), not fetched.
3. :func:`render_pdf` — WeasyPrint lays the HTML out on A4 and embeds subsets of the fonts
   it used (Noto Sans CJK, CFF OpenType). Every fetch is refused, so a report can never
   reach the network or the file system.

:func:`write_files` writes ``stocktake-2026-W48.html`` and ``.pdf``. Reading the programme
through a :class:`~parkplan.tracker.Tracker` (the reader's clearance applies) and picking the
trend's baseline is :func:`parkplan.services.reports.build_stocktake`.

**Dates.** A week's stocktake is as of its Sunday, or today while the week is under way;
"done this week" is a milestone done with its finish date (``forecast``) in the week up to
the as-of date; "due" is an open milestone due from the as-of date to 14 days later;
"overdue" is an open milestone due before the as-of date. The major matters' clock is read
at ``now`` (by default the end of the as-of day).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from markupsafe import Markup

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.i18n import LANGUAGES, Language, t
from parkplan.identity.users import User, Visibility
from parkplan.reports.common import atomic_path, duration, matter_clock
from parkplan.templating import render
from parkplan.tracker import rating
from parkplan.tracker.model import (
    TASK_CODES,
    EscalationStatus,
    Level,
    MatterStatus,
    RiskStatus,
    Status,
)
from parkplan.tracker.queries import PlannedMilestone, Programme

#: Days ahead that count as "due" in a stocktake.
DUE_WINDOW_DAYS = 14
#: CSS font stack of the reports: Noto Sans CJK (Debian fonts-noto-cjk) first.
FONT_STACK = '"Noto Sans CJK SC", "Noto Sans CJK JP", sans-serif'

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


# --------------------------------------------------------------------- weeks
@dataclass(frozen=True)
class IsoWeek:
    """An ISO 8601 week, e.g. ``2026-W48`` (Monday 2026-11-23 to Sunday 2026-11-29)."""

    year: int
    week: int

    @property
    def monday(self) -> date:
        """The week's first day."""
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        """The week's last day."""
        return date.fromisocalendar(self.year, self.week, 7)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def __contains__(self, day: date) -> bool:
        return self.monday <= day <= self.sunday

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """Return the ISO week ``day`` falls in."""
        year, week, _ = day.isocalendar()
        return cls(year, week)


def parse_week(text: str | IsoWeek) -> IsoWeek:
    """Read an ISO week written ``YYYY-Www`` (``2026-W48``).

    Raises
    ------
    InputError
        For anything else, or a week the year does not have (``2027-W53``, ``2026-W00``).
    """
    if isinstance(text, IsoWeek):
        return text
    match = _WEEK_RE.match(str(text).strip())
    if not match:
        raise InputError(
            [
                Problem(
                    "--week",
                    None,
                    None,
                    f"{text!r} is not an ISO week: write YYYY-Www, e.g. 2026-W48",
                )
            ]
        )
    year, week = int(match[1]), int(match[2])
    weeks_in_year = date(year, 12, 28).isocalendar()[1]
    if not 1 <= week <= weeks_in_year:
        raise InputError(
            [
                Problem(
                    "--week", None, None, f"{text!r}: {year} has ISO weeks W01 to W{weeks_in_year}"
                )
            ]
        )
    return IsoWeek(year, week)


# ---------------------------------------------------------------------- data
def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _code(task: int | None) -> str:
    return TASK_CODES.get(task, "") if task is not None else ""


def _milestone(p: PlannedMilestone, as_of: date) -> dict[str, Any]:
    m, e = p.milestone, p.entry
    return {
        "id": m.id,
        "task": m.task,
        "code": _code(m.task),
        "title_zh": m.title_zh,
        "title_en": m.title_en,
        "owner": m.owner,
        "start": _iso(m.start),
        "due": _iso(m.due),
        "forecast": _iso(m.forecast),
        "status": m.status.value,
        "percent": m.percent,
        "slip_days": p.slip_days,
        "days_left": (m.due - as_of).days,
        "days_overdue": max(0, (as_of - m.due).days),
        "slack": e.slack if e else None,
        "critical": bool(e and e.critical),
        "visibility": m.visibility.value,
    }


def stocktake_data(
    programme: Programme,
    week: str | IsoWeek,
    *,
    now: datetime | None = None,
    reader: User | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Gather the weekly stocktake from ``programme`` for ``week``.

    Parameters
    ----------
    programme : Programme
        What the reader may see, as of the stocktake's date
        (:meth:`parkplan.tracker.Tracker.programme`); its task statuses carry the trend.
    week : str or IsoWeek
        ``"2026-W48"``.
    now : datetime, optional
        When the major matters' reporting clock is read; default the end of the as-of day.
    reader : User, optional
        Whom the report is for (named in it with their clearance).
    note : str, optional
        A banner, e.g. the demo's 示意数据 note.

    Returns
    -------
    dict
        JSON-ready: ``week``, ``as_of``, ``tasks`` (nine, with rating, trend, reasons and
        counts), ``done``, ``due``, ``overdue``, ``critical_path``, ``risks``,
        ``escalations`` (by level, highest first), ``matters``, ``marking`` (the highest
        visibility of any record included) and the reader.

    Raises
    ------
    InputError
        If the week is malformed or the programme's as-of date is outside it.
    """
    week = parse_week(week)
    as_of = programme.as_of
    if as_of not in week:
        raise InputError(
            [
                Problem(
                    "--as-of",
                    None,
                    None,
                    f"{as_of} is not in week {week} ({week.monday} to {week.sunday})",
                )
            ]
        )
    now = now or datetime.combine(as_of, time(23, 59, 59))
    levels: set[Visibility] = {Visibility.public}

    milestones = [_milestone(p, as_of) for p in programme.milestones]
    done = [
        m
        for m, p in zip(milestones, programme.milestones, strict=True)
        if p.milestone.status == Status.done and week.monday <= p.milestone.forecast <= as_of
    ]
    live = [m for m, p in zip(milestones, programme.milestones, strict=True) if p.milestone.open]
    due = [m for m in live if 0 <= m["days_left"] <= DUE_WINDOW_DAYS]
    overdue = sorted(
        (m for m in live if m["days_overdue"] > 0),
        key=lambda m: (-m["days_overdue"], m["task"], m["id"]),
    )
    by_id = {m["id"]: m for m in milestones}
    critical = [by_id[i] for i in programme.critical_path if i in by_id]
    for group in (done, due, overdue, critical):
        levels.update(Visibility(m["visibility"]) for m in group)

    risks = sorted(
        (r for r in programme.risks if r.status == RiskStatus.open),
        key=lambda r: (-r.score, r.task, r.id),
    )
    risk_rows = [
        {
            "id": r.id,
            "task": r.task,
            "code": _code(r.task),
            "title_zh": r.title_zh,
            "title_en": r.title_en,
            "likelihood": r.likelihood,
            "impact": r.impact,
            "score": r.score,
            "tolerance": r.tolerance,
            "owner": r.owner,
            "mitigation": r.mitigation,
            "next_review": _iso(r.next_review),
            "review_overdue": as_of > r.next_review,
            "visibility": r.visibility.value,
        }
        for r in risks
    ]
    levels.update(r.visibility for r in risks)

    open_esc = [e for e in programme.escalations if e.status != EscalationStatus.closed]
    levels.update(e.visibility for e in open_esc)
    escalations = []
    for level in sorted(Level, key=lambda lv: -lv.rank):
        items = [
            {
                "id": e.id,
                "level": e.level.value,
                "status": e.status.value,
                "rule_id": e.rule_id,
                "task": e.task,
                "code": _code(e.task),
                "subject": f"{e.subject_type} {e.subject_id}",
                "message": {lang: e.message.text(lang) for lang in LANGUAGES},
                "opened_at": _iso(e.opened_at),
                "as_of": _iso(e.as_of),
                "steps": len(e.steps),
            }
            for e in open_esc
            if e.level == level
        ]
        escalations.append({"level": level.value, "items": items})

    matters = []
    for mm in programme.matters:
        in_week = mm.opened_at.date() in week or (
            mm.reported_at is not None and mm.reported_at.date() in week
        )
        if mm.status == MatterStatus.closed and not in_week:
            continue
        if mm.opened_at.date() > as_of:
            continue
        levels.add(mm.visibility)
        matters.append(
            {
                "id": mm.id,
                "task": mm.task,
                "code": _code(mm.task),
                "title": mm.title,
                "what_happened": mm.what_happened,
                "occurred_at": _iso(mm.occurred_at),
                "opened_at": _iso(mm.opened_at),
                "opened_by": mm.opened_by,
                "report_deadline": _iso(mm.report_deadline),
                "reported_at": _iso(mm.reported_at),
                "reported_to": mm.reported_to,
                "status": mm.status.value,
                "clock": matter_clock(mm, now),
            }
        )

    tasks = []
    for s in programme.statuses:
        n = s.task.number
        tasks.append(
            {
                "number": n,
                "code": s.task.code,
                "title_zh": s.task.title_zh,
                "title_en": s.task.title_en,
                "lead_unit": s.task.lead_unit,
                "rating": s.rating.value,
                "rating_rank": s.rating.rank,
                "trend": s.trend.value,
                "reasons": [
                    {lang: rating.reason_text(r, lang) for lang in LANGUAGES} for r in s.reasons
                ],
                "done": sum(1 for m in done if m["task"] == n),
                "due": sum(1 for m in due if m["task"] == n),
                "overdue": sum(1 for m in overdue if m["task"] == n),
                "open_risks": sum(1 for r in risks if r.task == n),
                "open_escalations": sum(1 for e in open_esc if e.task == n),
            }
        )
        levels.add(s.task.visibility)
    baseline = next((s.baseline for s in programme.statuses if s.baseline), None)

    return {
        "week": str(week),
        "year": week.year,
        "week_number": week.week,
        "week_start": _iso(week.monday),
        "week_end": _iso(week.sunday),
        "as_of": _iso(as_of),
        "generated_at": _iso(now),
        "baseline": baseline,
        "note": note,
        "reader": (
            {
                "name": reader.name,
                "display_name": reader.display_name,
                "clearance": reader.clearance.value,
            }
            if reader
            else None
        ),
        "marking": max(levels, key=lambda v: v.rank).value,
        "tasks": tasks,
        "done": done,
        "due": sorted(due, key=lambda m: (m["due"], m["id"])),
        "overdue": overdue,
        "critical_path": critical,
        "finish": _iso(programme.finish),
        "risks": risk_rows,
        "escalations": escalations,
        "matters": matters,
    }


# ---------------------------------------------------------------------- HTML
def _css_string(text: str) -> Markup:
    """Quote ``text`` as a CSS string that cannot end the ``<style>`` element."""
    out = []
    for ch in str(text):
        if ch in '"\\<>&' or ord(ch) < 0x20:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return Markup('"' + "".join(out) + '"')


def render_html(data: dict[str, Any], lang: Language = "zh") -> str:
    """Render the stocktake as one self-contained HTML page.

    Parameters
    ----------
    data : dict
        From :func:`stocktake_data`.
    lang : {"zh", "en"}
        ``zh``: Chinese first with English beneath each heading and label; ``en``: English
        labels. Records keep their Chinese titles (with the English title where there is
        one) in both.

    Returns
    -------
    str
        HTML with inline CSS, no scripts and no external references; every value from
        ``data`` is escaped.
    """
    if lang not in LANGUAGES:
        raise InputError([Problem("--lang", None, None, f"{lang!r} is not a language: zh or en")])
    page = t("report.stocktake.page", lang).split("{page}")
    return str(
        render(
            "parkplan.reports",
            "stocktake.html.j2",
            d=data,
            lang=lang,
            html_lang="zh-CN" if lang == "zh" else "en",
            t=lambda key, **v: t(key, lang, **v),
            t_zh=lambda key, **v: t(key, "zh", **v),
            t_en=lambda key, **v: t(key, "en", **v),
            dur=duration(lang),
            font_stack=Markup(FONT_STACK),
            page_before=page[0],
            page_after=page[-1],
            css_string=_css_string,
        )
    )


# ----------------------------------------------------------------------- PDF
def _no_fetcher(weasyprint: Any) -> Any:
    """Return a WeasyPrint URL fetcher that allows no protocol: every URL is refused."""
    return weasyprint.urls.URLFetcher(allowed_protocols=(), allow_redirects=False)


def render_pdf(html: str, path: str | os.PathLike) -> Path:
    """Lay ``html`` out on A4 with WeasyPrint and write the PDF to ``path``.

    Fonts come from fontconfig (``Noto Sans CJK SC`` from Debian's ``fonts-noto-cjk``);
    WeasyPrint embeds a subset of each font used, so the PDF shows Chinese anywhere. No URL
    is fetched. The file appears whole or not at all (written beside, then renamed).

    Raises
    ------
    ParkplanError
        If WeasyPrint or its system libraries (Pango) are missing.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as err:  # OSError: Pango's shared libraries are missing
        raise ParkplanError(
            f"PDF output needs WeasyPrint and Pango ({err}); see docs/decisions/0005-reports.md"
        ) from None
    path = Path(path)
    document = weasyprint.HTML(string=html, url_fetcher=_no_fetcher(weasyprint), base_url=None)
    with atomic_path(path) as tmp:
        document.write_pdf(tmp)
    return path


def write_files(
    data: dict[str, Any],
    out_dir: str | os.PathLike = ".",
    *,
    lang: Language = "zh",
    pdf: bool = True,
) -> tuple[Path, Path | None]:
    """Write the stocktake ``data`` as ``stocktake-<week>.html`` (and ``.pdf``) in ``out_dir``.

    Returns
    -------
    (Path, Path or None)
        The HTML file and the PDF (``None`` when ``pdf`` is false).
    """
    html = render_html(data, lang)
    out = Path(out_dir)
    stem = f"stocktake-{data['week']}"
    html_path = out / f"{stem}.html"
    with atomic_path(html_path) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    pdf_path = render_pdf(html, out / f"{stem}.pdf") if pdf else None
    return html_path, pdf_path


__all__ = [
    "DUE_WINDOW_DAYS",
    "FONT_STACK",
    "IsoWeek",
    "parse_week",
    "render_html",
    "render_pdf",
    "stocktake_data",
    "write_files",
]
