"""The Gantt chart of a task's milestones, as inline SVG (``templates/gantt.svg.j2``).

:func:`gantt_svg` lays the chart out (dates to pixels, rows, dependencies, the baseline's
marks, the legend) and the template draws it; every text is escaped by the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from parkplan.i18n import t
from parkplan.tracker.model import Status
from parkplan.tracker.queries import PlannedMilestone
from parkplan.ui.render import (
    STATUS_COLOURS,
    BaselineRow,
    fmt_date,
    page,
    projected_finish,
    table,
    title_of,
)

__all__ = ["BASELINE", "CRITICAL", "gantt_svg"]

#: The critical path's colour.
CRITICAL = "#c62828"
#: The baseline's plan on the Gantt (a thin bar ending in a diamond at its due date).
BASELINE = "#00838f"


def _text_width(text: str, size: int = 12) -> int:
    """Roughly how wide ``text`` is at ``size`` px: CJK and full-width signs are square."""
    return sum(size if ord(ch) >= 0x2E80 else round(size * 0.6) for ch in text)


def _months(first: date, last: date) -> list[date]:
    out, d = [], date(first.year, first.month, 1)
    while d <= last:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


@dataclass(frozen=True)
class _Scale:
    """Dates to x: ``lo`` at ``left``, ``span`` days over ``width`` pixels."""

    lo: date
    span: int
    left: int
    width: int

    def x(self, d: date) -> float:
        return round(self.left + (d - self.lo).days / self.span * self.width, 1)


def _ticks(scale: _Scale, hi: date, lang: str) -> list[dict[str, Any]]:
    """Year lines (and the first month's) and quarter lines along the top."""
    months = _months(scale.lo, hi)
    out = []
    for m in months:
        if m.month == 1 or m == months[0]:
            out.append({"x": scale.x(m), "year": True, "label": m.year})
        elif m.month in (4, 7, 10):
            quarter = t(f"ui.board.q{(m.month - 1) // 3 + 1}", lang)
            out.append({"x": scale.x(m), "year": False, "label": quarter})
    return out


def _gantt_row(
    p: PlannedMilestone,
    y: int,
    scale: _Scale,
    *,
    critical: bool,
    finish: date,
    external: list[str],
    then: BaselineRow | None,
    lang: str,
    baseline_name: str,
) -> dict[str, Any]:
    """One milestone's row: label, plan bar, forecast bar, due line, baseline mark."""
    m = p.milestone
    x = scale.x
    label = title_of(m, lang)
    mark = None
    if then is not None:
        tip = t(
            "ui.board.baseline_mark",
            lang,
            name=baseline_name,
            start=fmt_date(then.start_then),
            due=fmt_date(then.due_then),
        )
        xb = x(then.due_then)
        mark = {
            "due": then.due_then.isoformat(),
            "tip": tip,
            "x": xb,
            "y": y + 28,
            "x_start": x(then.start_then),
            "width": max(xb - x(then.start_then), 1),
        }
    return {
        "id": m.id,
        "y": y,
        "critical": critical,
        "label": label,
        "short": label if len(label) <= 16 else label[:15] + "…",
        "external": ", ".join(external),
        "x_start": x(m.start),
        "x_due": x(m.due),
        "plan_width": max(x(m.due) - x(m.start), 2),
        "forecast_width": max(x(finish) - x(m.start), 2),
        "colour": STATUS_COLOURS[m.status],
        "baseline": mark,
    }


def _legend(then: bool, left: int, lang: str, baseline_name: str) -> list[dict[str, Any]]:
    items = [
        ("#cfd8dc", t("ui.board.legend_plan", lang)),
        (STATUS_COLOURS[Status.in_progress], t("ui.board.legend_forecast", lang)),
        (CRITICAL, t("ui.board.legend_critical", lang)),
    ]
    if then:
        items.append((BASELINE, t("ui.board.legend_baseline", lang, name=baseline_name)))
    out, lx = [], left
    for colour, text in items:
        out.append({"x": lx, "colour": colour, "text": text})
        lx += 28 + _text_width(text)
    return out


def gantt_svg(
    planned: Sequence[PlannedMilestone],
    critical: Iterable[str],
    as_of: date,
    lang: str,
    *,
    width: int = 940,
    baseline: Sequence[BaselineRow] = (),
    baseline_name: str = "",
) -> str:
    """Draw a Gantt chart as inline SVG (``templates/gantt.svg.j2``).

    Plan (start → due) against forecast, dependencies, the critical path in red, and a
    line at the as-of date.

    Dependencies on milestones of other tasks are named after the title (``← M4-1``).

    Parameters
    ----------
    baseline : sequence of BaselineRow, optional
        :func:`against_baseline`: each milestone the baseline has gets a thin bar from
        the baseline's start to its due date, ending in a diamond, under its forecast.
    baseline_name : str
        The baseline's name, for the bars' tooltips.
    """
    rows = sorted(planned, key=lambda p: (p.milestone.start, p.milestone.id))
    if not rows:
        return table([], [], empty=t("ui.board.no_milestones", lang))
    crit = set(critical)
    finishes = {p.milestone.id: projected_finish(p, as_of) for p in rows}
    shown = {p.milestone.id for p in rows}
    then = {r.id: r for r in baseline if r.id in shown and r.due_then and r.start_then}
    lo = min(
        min(p.milestone.start for p in rows),
        min((r.start_then for r in then.values()), default=date.max),
    )
    lo -= timedelta(days=15)
    hi = max(max(p.milestone.due, finishes[p.milestone.id]) for p in rows)
    hi = max(hi, as_of, *(r.due_then for r in then.values())) + timedelta(days=30)
    label_w, row_h, top = 250, 30, 34
    scale = _Scale(lo, max((hi - lo).days, 1), label_w, width - label_w - 10)
    height = top + row_h * len(rows) + 34
    ypos = {p.milestone.id: top + i * row_h for i, p in enumerate(rows)}
    drawn = [
        _gantt_row(
            p,
            ypos[p.milestone.id],
            scale,
            critical=p.milestone.id in crit,
            finish=finishes[p.milestone.id],
            external=[d for d in p.milestone.depends_on if d not in shown],
            then=then.get(p.milestone.id),
            lang=lang,
            baseline_name=baseline_name,
        )
        for p in rows
    ]
    deps = [
        {
            "x1": scale.x(finishes[dep]),
            "y1": ypos[dep] + 20,
            "x2": scale.x(p.milestone.start),
            "y2": ypos[p.milestone.id] + 20,
            "colour": CRITICAL if dep in crit and p.milestone.id in crit else "#555",
        }
        for p in rows
        for dep in p.milestone.depends_on
        if dep in ypos
    ]
    return page(
        "gantt.svg.j2",
        width=width,
        height=height,
        top=top,
        ticks=_ticks(scale, hi, lang),
        rows=drawn,
        deps=deps,
        critical=CRITICAL,
        baseline_colour=BASELINE,
        as_of_x=scale.x(as_of),
        as_of_label=f"{t('ui.board.as_of', lang)} {as_of.isoformat()}",
        legend=_legend(bool(then), label_w, lang, baseline_name),
        legend_y=height - 12,
    )
