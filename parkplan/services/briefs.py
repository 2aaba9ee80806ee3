"""What the leader brief shows, read from a workspace as its reader may see it.

:func:`build_brief` reads the tracker (through :class:`parkplan.tracker.Tracker`, so the
page never holds a record above its reader's clearance), the map layers and the siting
ledger into a :class:`parkplan.reports.brief.Brief`; :func:`write_brief` renders it
(:func:`parkplan.reports.brief.render_pdf`).
"""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path

from parkplan.identity.users import Visibility
from parkplan.maps import site_utilisation
from parkplan.reports.brief import TOP_ESCALATIONS, TOP_MATTERS, Brief, render_pdf
from parkplan.reports.common import matter_clock, one_line
from parkplan.services.maps import load_plan
from parkplan.store import Workspace
from parkplan.tracker import Tracker
from parkplan.tracker.model import TASK_CODES, EscalationStatus, Level, MatterStatus

__all__ = ["build_brief", "write_brief"]


def build_brief(
    workspace: Workspace,
    *,
    user: str | None = None,
    as_of: date | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> Brief:
    """Read what the brief shows, as ``user`` sees it.

    Parameters
    ----------
    workspace : Workspace
    user : str, optional
        The reader (a tracker user); ``None`` reads public records only.
    as_of : date, optional
        Rate the tasks at this date; default today (Shanghai).
    run_id : str, optional
        Siting run whose plan colours the sites; default the adopted, else the latest.
    now : datetime, optional
        When the major matters' clock is read; default now, or the end of ``as_of`` when
        that is not today.

    Returns
    -------
    Brief
    """
    tracker = Tracker(workspace, user)
    today = tracker.clock().date()
    as_of = as_of or today
    if now is None:
        now = tracker.clock() if as_of == today else datetime.combine(as_of, time(23, 59, 59))
    programme = tracker.programme(as_of)
    levels: set[Visibility] = {Visibility.public}

    tasks = []
    for s in programme.statuses:
        levels.add(s.task.visibility)
        tasks.append(
            {
                "number": s.task.number,
                "code": s.task.code,
                "title_zh": one_line(s.task.title_zh),
                "title_en": one_line(s.task.title_en),
                "rating": s.rating.value,
                "trend": s.trend.value,
            }
        )

    open_esc = sorted(
        (e for e in programme.escalations if e.status != EscalationStatus.closed),
        key=lambda e: (-Level(e.level).rank, e.opened_at, e.id or 0),
    )
    shown = open_esc[:TOP_ESCALATIONS]
    levels.update(e.visibility for e in shown)
    escalations = [
        {
            "level": Level(e.level).value,
            "status": EscalationStatus(e.status).value,
            "task_code": _code(e.task),
            "message": one_line(e.message.text("zh")),
            "opened": e.opened_at.date().isoformat(),
        }
        for e in shown
    ]

    waiting = sorted(
        (m for m in programme.matters if m.status == MatterStatus.open),
        key=lambda m: m.report_deadline,
    )
    matters = []
    for m in waiting[:TOP_MATTERS]:
        levels.add(m.visibility)
        matters.append(
            {
                "title": one_line(m.title),
                "task_code": _code(m.task),
                "deadline": m.report_deadline.strftime("%Y-%m-%d %H:%M"),
                "clock": matter_clock(m, now),
            }
        )

    layers = {
        name: workspace.read_layer(name) for name in ("districts", "parks", "sites", "candidates")
    }
    plan = load_plan(workspace, run_id)
    util = None
    plan_info = None
    if plan is not None and len(layers["sites"]):
        util = site_utilisation(layers["sites"], layers["candidates"], plan.allocation)
        used = util[util["placed"] > 0]
        cap = float(used["capacity_m2"].sum())
        plan_info = {
            "label_zh": plan.label("zh", bilingual=False),
            "label_en": plan.label("en", bilingual=False),
            "placed": int(used["placed"].sum()),
            "sites": len(used),
            "mean": float(used["used_m2"].sum()) / cap if cap > 0 else None,
        }

    reader = tracker.user
    return Brief(
        as_of=as_of,
        generated_at=now,
        reader="" if user is None else (reader.display_name or reader.name),
        marking=max(levels, key=lambda v: v.rank).value,
        illustrative=workspace.get_meta("illustrative"),
        tasks=tasks,
        escalations=escalations,
        escalations_more=len(open_esc) - len(shown),
        matters=matters,
        plan=plan_info,
        layers=layers,
        utilisation=util,
    )


def _code(task: int | None) -> str:
    return TASK_CODES.get(task, "") if task is not None else ""


def write_brief(
    workspace: Workspace,
    out: str | os.PathLike,
    *,
    user: str | None = None,
    as_of: date | None = None,
    run_id: str | None = None,
) -> Path:
    """Build the brief from ``workspace`` and write it to ``out`` (one A4 PDF page)."""
    return render_pdf(build_brief(workspace, user=user, as_of=as_of, run_id=run_id), out)
