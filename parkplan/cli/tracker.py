"""Tracker commands: tasks, milestones, risks, KPIs, evidence, escalations, matters, users.

Also ``baseline`` and ``journal``.

Who acts is ``--as USER`` (default ``$PARKPLAN_USER``); without either, commands read the
public records anonymously and cannot write. Each command makes one call to
:class:`parkplan.tracker.Tracker`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from parkplan.cli import AsOfOption, AsOption, OutputFormat, WorkspaceOption, _user_errors, app
from parkplan.store import Workspace

tasks_app = typer.Typer(help="The nine pilot tasks (重点任务).", no_args_is_help=True)
milestones_app = typer.Typer(
    help="Milestones (里程碑) and the critical path.", no_args_is_help=True
)
risks_app = typer.Typer(help="Risk register (风险).", no_args_is_help=True)
kpis_app = typer.Typer(help="Key indicators (指标) and their actuals.", no_args_is_help=True)
evidence_app = typer.Typer(
    help="Evidence files (佐证材料) kept in the workspace.", no_args_is_help=True
)
escalations_app = typer.Typer(
    help="Escalations (升级事项): list, acknowledge, act, close.", no_args_is_help=True
)
matters_app = typer.Typer(help="Major matters (重大事项及时报告).", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and clearance (用户).", no_args_is_help=True)
baseline_app = typer.Typer(help="Named baselines (基线) and comparisons.", no_args_is_help=True)
for _sub, _name in (
    (tasks_app, "tasks"),
    (milestones_app, "milestones"),
    (risks_app, "risks"),
    (kpis_app, "kpis"),
    (evidence_app, "evidence"),
    (escalations_app, "escalations"),
    (matters_app, "matters"),
    (users_app, "users"),
    (baseline_app, "baseline"),
):
    app.add_typer(_sub, name=_name)

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table or json")]
VersionOption = Annotated[
    int,
    typer.Option("--version", help="The version you read (from 'list'); a stale one is refused"),
]


@contextlib.contextmanager
def _tracker(workspace: str | None, user: str | None) -> Iterator[Any]:
    from parkplan.tracker import Tracker

    with Workspace.open(workspace) as ws:
        yield Tracker(ws, user)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def _moment(value: str, option: str) -> date | datetime:
    try:
        return (
            datetime.fromisoformat(value)
            if "T" in value or " " in value
            else date.fromisoformat(value)
        )
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)",
            param_hint=option,
        ) from None


def _ids(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _numbers(value: str | None, option: str) -> tuple[int, ...] | None:
    try:
        return None if value is None else tuple(int(t) for t in _ids(value))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a list of task numbers", param_hint=option
        ) from None


def _given(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def _json(items: Any) -> None:
    data = [i.to_dict() for i in items] if isinstance(items, list | tuple) else items.to_dict()
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------- tasks
@tasks_app.command("list")
@_user_errors
def tasks_list(
    output: FormatOption = OutputFormat.table,
    as_of: AsOfOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List the nine tasks with their clause, units, rating and trend."""
    with _tracker(workspace, user) as tr:
        statuses = tr.task_statuses(_date(as_of, "--as-of"))
    if output == OutputFormat.json:
        return _json(statuses)
    for s in statuses:
        t = s.task
        typer.echo(f"{t.code} v{t.version} {t.title_zh}  [{s.rating.label}, {s.trend.value}]")
        typer.echo(
            f"    牵头 {t.lead_unit}; 配合 {'、'.join(t.co_units)}"
            + ("  (proposed)" if t.proposed else "")
        )


@tasks_app.command("update")
@_user_errors
def tasks_update(
    number: Annotated[int, typer.Argument(metavar="N", help="Task number 1–9")],
    version: VersionOption,
    lead_unit: Annotated[str | None, typer.Option()] = None,
    co_units: Annotated[
        str | None, typer.Option(help="Comma-separated units ('' for none)")
    ] = None,
    title_zh: Annotated[str | None, typer.Option()] = None,
    title_en: Annotated[str | None, typer.Option()] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    proposed: Annotated[
        bool | None,
        typer.Option("--proposed/--confirmed", help="Whether the units are still a proposal"),
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a task read at --version: units, titles (the clause text is fixed)."""
    changes = _given(
        lead_unit=lead_unit,
        co_units=_ids(co_units),
        title_zh=title_zh,
        title_en=title_en,
        visibility=visibility,
        proposed=proposed,
    )
    with _tracker(workspace, user) as tr:
        t = tr.update_task(number, version, **changes)
    typer.echo(f"updated task {t.code} (now version {t.version})")


# -------------------------------------------------------------- milestones
@milestones_app.command("list")
@_user_errors
def milestones_list(
    task: Annotated[int | None, typer.Option(help="Only this task (1–9)")] = None,
    output: FormatOption = OutputFormat.table,
    as_of: AsOfOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List milestones with forecast, status, CPM slack and slip (critical ones marked *)."""
    with _tracker(workspace, user) as tr:
        plan = tr.plan(task, _date(as_of, "--as-of"))
    if output == OutputFormat.json:
        return _json(plan)
    typer.echo(
        f"{'id':<7}{'v':>3}  {'due':<11}{'forecast':<11}{'status':<12}{'%':>4}"
        f"{'slack':>7}{'slip':>6}  title"
    )
    for p in plan:
        m, e = p.milestone, p.entry
        slack = f"{e.slack}{'*' if e.critical else ''}" if e else "-"
        typer.echo(
            f"{m.id:<7}{m.version:>3}  {m.due!s:<11}{m.forecast!s:<11}"
            f"{m.status.value:<12}{m.percent:>4}{slack:>7}{p.slip_days:>6}  "
            f"{_cut(m.title_zh, 40)}"
        )


@milestones_app.command("add")
@_user_errors
def milestones_add(
    task: Annotated[int, typer.Option(help="Task number 1–9")],
    title_zh: Annotated[str, typer.Option(help="Title in Chinese")],
    owner: Annotated[str, typer.Option(help="One unit or person")],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    due: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    title_en: Annotated[str | None, typer.Option()] = None,
    forecast: Annotated[str | None, typer.Option(help="[default: due]")] = None,
    depends_on: Annotated[str | None, typer.Option(help="Comma-separated milestone ids")] = None,
    site: Annotated[str | None, typer.Option(help="site_id whose handover this is")] = None,
    visibility: Annotated[
        str | None, typer.Option(help="internal 内部, shareable 可共享 or public 公开")
    ] = None,
    milestone_id: Annotated[str | None, typer.Option("--id", help="[default: M<task>-<n>]")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Add a milestone."""
    fields = _given(
        title_en=title_en,
        forecast=forecast,
        depends_on=_ids(depends_on),
        linked_site_id=site,
        visibility=visibility,
    )
    with _tracker(workspace, user) as tr:
        m = tr.add_milestone(
            task=task,
            title_zh=title_zh,
            owner=owner,
            start=start,
            due=due,
            id=milestone_id,
            **fields,
        )
    typer.echo(f"added milestone {m.id} (version {m.version})")


@milestones_app.command("update")
@_user_errors
def milestones_update(
    milestone_id: Annotated[str, typer.Argument(metavar="ID")],
    version: VersionOption,
    status: Annotated[
        str | None, typer.Option(help="not_started, in_progress, done, blocked, cancelled")
    ] = None,
    percent: Annotated[int | None, typer.Option(min=0, max=100)] = None,
    forecast: Annotated[str | None, typer.Option()] = None,
    start: Annotated[str | None, typer.Option()] = None,
    due: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    title_zh: Annotated[str | None, typer.Option()] = None,
    title_en: Annotated[str | None, typer.Option()] = None,
    depends_on: Annotated[
        str | None, typer.Option(help="Comma-separated ids ('' for none)")
    ] = None,
    site: Annotated[str | None, typer.Option(help="'' to unlink")] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option()] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a milestone read at --version."""
    changes = _given(
        status=status,
        percent=percent,
        forecast=forecast,
        start=start,
        due=due,
        owner=owner,
        title_zh=title_zh,
        title_en=title_en,
        depends_on=_ids(depends_on),
        linked_site_id=site,
        visibility=visibility,
        note=note,
    )
    with _tracker(workspace, user) as tr:
        m = tr.update_milestone(milestone_id, version, **changes)
    typer.echo(f"updated milestone {m.id} (now version {m.version})")


# ------------------------------------------------------------------- risks
@risks_app.command("list")
@_user_errors
def risks_list(
    task: Annotated[int | None, typer.Option(help="Only this task")] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List the risk register: score, cadence, next review."""
    with _tracker(workspace, user) as tr:
        risks = tr.risks(task)
    if output == OutputFormat.json:
        return _json(risks)
    typer.echo(f"{'id':<7}{'v':>3}  {'L×I':<6}{'score':>5}  {'next review':<12}{'status':<8}title")
    for r in risks:
        typer.echo(
            f"{r.id:<7}{r.version:>3}  {r.likelihood}×{r.impact:<4}{r.score:>5}  "
            f"{r.next_review!s:<12}{r.status.value:<8}{_cut(r.title_zh, 40)}"
        )


@risks_app.command("add")
@_user_errors
def risks_add(
    task: Annotated[int, typer.Option(help="Task number 1–9")],
    title_zh: Annotated[str, typer.Option()],
    cause: Annotated[str, typer.Option()],
    effect: Annotated[str, typer.Option()],
    likelihood: Annotated[int, typer.Option(help="1–5")],
    impact: Annotated[int, typer.Option(help="1–5")],
    owner: Annotated[str, typer.Option()],
    mitigation: Annotated[str | None, typer.Option()] = None,
    tolerance: Annotated[
        int | None, typer.Option(help="Highest acceptable score [default: 12]")
    ] = None,
    reviewed_on: Annotated[str | None, typer.Option()] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    risk_id: Annotated[str | None, typer.Option("--id")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Add a risk."""
    fields = _given(
        mitigation=mitigation, tolerance=tolerance, reviewed_on=reviewed_on, visibility=visibility
    )
    with _tracker(workspace, user) as tr:
        r = tr.add_risk(
            task=task,
            title_zh=title_zh,
            cause=cause,
            effect=effect,
            likelihood=likelihood,
            impact=impact,
            owner=owner,
            id=risk_id,
            **fields,
        )
    typer.echo(
        f"added risk {r.id}: score {r.score}, review every {r.cadence_days} days, "
        f"next {r.next_review}"
    )


@risks_app.command("update")
@_user_errors
def risks_update(
    risk_id: Annotated[str, typer.Argument(metavar="ID")],
    version: VersionOption,
    likelihood: Annotated[int | None, typer.Option()] = None,
    impact: Annotated[int | None, typer.Option()] = None,
    mitigation: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    tolerance: Annotated[int | None, typer.Option()] = None,
    reviewed_on: Annotated[str | None, typer.Option(help="Record a review on this date")] = None,
    status: Annotated[str | None, typer.Option(help="open or closed")] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a risk read at --version (a review: --reviewed-on DATE)."""
    changes = _given(
        likelihood=likelihood,
        impact=impact,
        mitigation=mitigation,
        owner=owner,
        tolerance=tolerance,
        reviewed_on=reviewed_on,
        status=status,
        visibility=visibility,
    )
    with _tracker(workspace, user) as tr:
        r = tr.update_risk(risk_id, version, **changes)
    typer.echo(
        f"updated risk {r.id} (now version {r.version}): score {r.score}, "
        f"next review {r.next_review}"
    )


# -------------------------------------------------------------------- KPIs
@kpis_app.command("list")
@_user_errors
def kpis_list(
    task: Annotated[int | None, typer.Option(help="Only this task")] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List KPIs with target and latest actual."""
    with _tracker(workspace, user) as tr:
        kpis = tr.kpis(task)
    if output == OutputFormat.json:
        return _json(kpis)
    for k in kpis:
        latest = f"{k.latest.value:g} on {k.latest.on}" if k.latest else (k.note or "-")
        target = f"{k.kpi.target:g}" if k.kpi.target is not None else "-"
        typer.echo(
            f"{k.kpi.id:<6} v{k.kpi.version} {_cut(k.kpi.name_zh, 30):<31} target "
            f"{target} {k.kpi.unit}; latest {latest}"
        )


@kpis_app.command("add")
@_user_errors
def kpis_add(
    task: Annotated[int, typer.Option(help="Task number 1–9")],
    name_zh: Annotated[str, typer.Option(help="Name in Chinese")],
    unit: Annotated[str, typer.Option(help="e.g. 张, 家, 天, m²")],
    name_en: Annotated[str | None, typer.Option()] = None,
    target: Annotated[float | None, typer.Option()] = None,
    target_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    direction: Annotated[
        str | None, typer.Option(help="increase (more is better) or decrease [default: increase]")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="manual, siting:anchors or siting:floor_space [default: manual]"),
    ] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    kpi_id: Annotated[str | None, typer.Option("--id", help="[default: K<task>-<n>]")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Define a KPI of a task (office and convenor)."""
    fields = _given(
        name_en=name_en,
        target=target,
        target_date=target_date,
        direction=direction,
        source=source,
        visibility=visibility,
    )
    with _tracker(workspace, user) as tr:
        k = tr.add_kpi(task=task, name_zh=name_zh, unit=unit, id=kpi_id, **fields)
    typer.echo(f"added KPI {k.id} (version {k.version})")


@kpis_app.command("update")
@_user_errors
def kpis_update(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI")],
    version: VersionOption,
    name_zh: Annotated[str | None, typer.Option()] = None,
    name_en: Annotated[str | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option()] = None,
    target: Annotated[float | None, typer.Option()] = None,
    target_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    direction: Annotated[str | None, typer.Option(help="increase or decrease")] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    proposed: Annotated[
        bool | None,
        typer.Option("--proposed/--confirmed", help="Whether the target is still a proposal"),
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a KPI's definition read at --version."""
    changes = _given(
        name_zh=name_zh,
        name_en=name_en,
        unit=unit,
        target=target,
        target_date=target_date,
        direction=direction,
        visibility=visibility,
        proposed=proposed,
    )
    with _tracker(workspace, user) as tr:
        k = tr.update_kpi(kpi_id, version, **changes)
    typer.echo(f"updated KPI {k.id} (now version {k.version})")


@kpis_app.command("record")
@_user_errors
def kpis_record(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI")],
    on: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    value: Annotated[float, typer.Option()],
    note: Annotated[str, typer.Option()] = "",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Record a KPI's value on a date."""
    with _tracker(workspace, user) as tr:
        a = tr.add_kpi_actual(kpi_id, on, value, note)
    typer.echo(f"recorded {a.kpi_id} = {a.value:g} on {a.on}")


# ---------------------------------------------------------------- evidence
@evidence_app.command("add")
@_user_errors
def evidence_add(
    milestone_id: Annotated[str, typer.Argument(metavar="MILESTONE")],
    file: Annotated[Path, typer.Argument()],
    note: Annotated[str, typer.Option()] = "",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Keep a file in the workspace as evidence of a milestone."""
    with _tracker(workspace, user) as tr:
        ev = tr.add_evidence(milestone_id, file, note=note)
    typer.echo(
        f"kept {ev.filename} as evidence #{ev.id} of {milestone_id} "
        f"({ev.size} bytes, sha256 {ev.sha256})"
    )


@evidence_app.command("list")
@_user_errors
def evidence_list(
    milestone_id: Annotated[str, typer.Argument(metavar="MILESTONE")],
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List a milestone's evidence files."""
    with _tracker(workspace, user) as tr:
        found = tr.evidence(milestone_id)
    if output == OutputFormat.json:
        return _json(found)
    for ev in found:
        typer.echo(
            f"#{ev.id} {ev.filename} {ev.size} B sha256 {ev.sha256} "
            f"({ev.added_by}, {ev.added_at:%Y-%m-%d})"
        )


# ------------------------------------------------------------- escalations
@app.command()
@_user_errors
def escalate(
    as_of: Annotated[
        str, typer.Option("--as-of", metavar="DATE", help="YYYY-MM-DD (or YYYY-MM-DDTHH:MM)")
    ],
    rules: Annotated[
        Path | None, typer.Option(help="Rules YAML [default: the shipped escalation_rules.yaml]")
    ] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Apply the escalation rules; running it twice creates nothing twice."""
    from parkplan.tracker.rules import load_rules

    ruleset = load_rules(rules) if rules else None
    with _tracker(workspace, user) as tr:
        run = tr.escalate(_moment(as_of, "--as-of"), ruleset)
    if output == OutputFormat.json:
        return _json(run)
    for e in run.created:
        typer.echo(f"#{e.id} [{e.level.value}] {e.message.text('en')}")
    typer.echo(f"{len(run.created)} new escalations, {run.already} already open or handled")


@escalations_app.command("list")
@_user_errors
def escalations_list(
    status: Annotated[str | None, typer.Option(help="open, acknowledged, acted or closed")] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List escalations with their level, status and steps."""
    with _tracker(workspace, user) as tr:
        found = tr.escalations(status=status)
    if output == OutputFormat.json:
        return _json(found)
    for e in found:
        typer.echo(
            f"#{e.id:<4} v{e.version} {e.status.value:<13}{e.level.value:<9} {e.as_of} "
            f"{e.message.text('en')}"
        )
        for s in e.steps:
            typer.echo(f"        {s.step.value} by {s.who} at {s.at:%Y-%m-%d %H:%M}: {s.comment}")


def _step(
    action: str,
    escalation_id: int,
    comment: str,
    version: int | None,
    user: str | None,
    workspace: str | None,
) -> None:
    with _tracker(workspace, user) as tr:
        e = getattr(tr, action)(escalation_id, comment, version=version)
    typer.echo(f"escalation #{e.id} is {e.status.value} (version {e.version})")


_StepVersion = Annotated[
    int | None, typer.Option("--version", help="The version you read (optional for steps)")
]


@escalations_app.command("ack")
@_user_errors
def escalations_ack(
    escalation_id: Annotated[int, typer.Argument(metavar="ID")],
    comment: Annotated[str, typer.Option()] = "",
    version: _StepVersion = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Acknowledge an open escalation."""
    _step("acknowledge", escalation_id, comment, version, user, workspace)


@escalations_app.command("act")
@_user_errors
def escalations_act(
    escalation_id: Annotated[int, typer.Argument(metavar="ID")],
    comment: Annotated[str, typer.Option(help="What was done")],
    version: _StepVersion = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Record an action on an acknowledged escalation."""
    _step("act", escalation_id, comment, version, user, workspace)


@escalations_app.command("close")
@_user_errors
def escalations_close(
    escalation_id: Annotated[int, typer.Argument(metavar="ID")],
    comment: Annotated[str, typer.Option(help="Why it can close")],
    version: _StepVersion = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Close an acknowledged escalation."""
    _step("close", escalation_id, comment, version, user, workspace)


# ----------------------------------------------------------- major matters
@matters_app.command("list")
@_user_errors
def matters_list(
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List major matters with their reporting deadline."""
    with _tracker(workspace, user) as tr:
        found = tr.matters()
    if output == OutputFormat.json:
        return _json(found)
    for m in found:
        reported = (
            f"reported {m.reported_at:%Y-%m-%d %H:%M} to {m.reported_to}"
            if m.reported_at
            else f"report by {m.report_deadline:%Y-%m-%d %H:%M}"
        )
        typer.echo(f"#{m.id:<4} v{m.version} {m.status.value:<9}{reported}  {m.title}")


@matters_app.command("add")
@_user_errors
def matters_add(
    title: Annotated[str, typer.Option()],
    what: Annotated[str, typer.Option(help="What happened")],
    when: Annotated[str, typer.Option(help="When it happened, YYYY-MM-DDTHH:MM")],
    impact: Annotated[str, typer.Option()],
    measures: Annotated[str, typer.Option(help="Measures taken")] = "",
    coordination: Annotated[str, typer.Option(help="Coordination requested")] = "",
    task: Annotated[int | None, typer.Option()] = None,
    visibility: Annotated[str, typer.Option()] = "internal",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Open a major matter; its reporting clock starts now."""
    with _tracker(workspace, user) as tr:
        m = tr.add_matter(
            title=title,
            what_happened=what,
            occurred_at=when,
            impact=impact,
            measures=measures,
            coordination_requested=coordination,
            task=task,
            visibility=visibility,
        )
    typer.echo(f"opened major matter #{m.id}: report by {m.report_deadline:%Y-%m-%d %H:%M}")


@matters_app.command("report-done")
@_user_errors
def matters_report_done(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    version: VersionOption,
    to: Annotated[str, typer.Option(help="Reported to whom")],
    at: Annotated[str | None, typer.Option(help="When, YYYY-MM-DDTHH:MM [default: now]")] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Record that a major matter was reported upward."""
    when = _moment(at, "--at") if at else None
    if when is not None and not isinstance(when, datetime):
        when = datetime.combine(when, datetime.min.time())
    with _tracker(workspace, user) as tr:
        m = tr.report_matter(matter_id, version, to=to, at=when)
    typer.echo(
        f"major matter #{m.id} reported to {m.reported_to} at {m.reported_at:%Y-%m-%d %H:%M}"
    )


@matters_app.command("update")
@_user_errors
def matters_update(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    version: VersionOption,
    title: Annotated[str | None, typer.Option()] = None,
    what: Annotated[str | None, typer.Option(help="What happened")] = None,
    when: Annotated[str | None, typer.Option(help="When it happened, YYYY-MM-DDTHH:MM")] = None,
    impact: Annotated[str | None, typer.Option()] = None,
    measures: Annotated[str | None, typer.Option(help="Measures taken")] = None,
    coordination: Annotated[str | None, typer.Option(help="Coordination requested")] = None,
    task: Annotated[int | None, typer.Option()] = None,
    visibility: Annotated[str | None, typer.Option()] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a major matter read at --version (reporting: 'report-done' and 'close')."""
    changes = _given(
        title=title,
        what_happened=what,
        occurred_at=when,
        impact=impact,
        measures=measures,
        coordination_requested=coordination,
        task=task,
        visibility=visibility,
    )
    with _tracker(workspace, user) as tr:
        m = tr.update_matter(matter_id, version, **changes)
    typer.echo(f"updated major matter #{m.id} (now version {m.version})")


@matters_app.command("close")
@_user_errors
def matters_close(
    matter_id: Annotated[int, typer.Argument(metavar="ID")],
    version: VersionOption,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Close a major matter once it has been reported."""
    with _tracker(workspace, user) as tr:
        m = tr.close_matter(matter_id, version)
    typer.echo(f"major matter #{m.id} is closed (version {m.version})")


# ------------------------------------------------------------------- users
@users_app.command("list")
@_user_errors
def users_list(
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List users, roles, owned tasks and clearance."""
    with _tracker(workspace, user) as tr:
        found = tr.users()
    if output == OutputFormat.json:
        return _json(found)
    for u in found:
        tasks = ",".join(map(str, u.tasks)) or "-"
        typer.echo(
            f"{u.name:<12} v{u.version} {u.role.value:<11} tasks {tasks:<6} "
            f"{u.clearance.value:<10} {u.display_name}" + ("" if u.active else "  (deactivated)")
        )


@users_app.command("add")
@_user_errors
def users_add(
    name: Annotated[str, typer.Argument()],
    role: Annotated[
        str, typer.Option(help="admin, convenor, office, task_owner, planner or viewer")
    ],
    tasks: Annotated[
        str | None, typer.Option(help="Task owners: comma-separated task numbers")
    ] = None,
    clearance: Annotated[str, typer.Option(help="internal, shareable or public")] = "shareable",
    display_name: Annotated[str, typer.Option()] = "",
    unit: Annotated[str, typer.Option()] = "",
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Add a user (admin only)."""
    numbers = _numbers(tasks, "--tasks") or ()
    with _tracker(workspace, user) as tr:
        u = tr.add_user(
            name, role, tasks=numbers, clearance=clearance, display_name=display_name, unit=unit
        )
    typer.echo(f"added user {u.name} ({u.role.value}, clearance {u.clearance.value})")


@users_app.command("update")
@_user_errors
def users_update(
    name: Annotated[str, typer.Argument()],
    version: VersionOption,
    role: Annotated[
        str | None, typer.Option(help="admin, convenor, office, task_owner, planner or viewer")
    ] = None,
    tasks: Annotated[
        str | None, typer.Option(help="Task owners: comma-separated task numbers ('' for none)")
    ] = None,
    clearance: Annotated[str | None, typer.Option(help="internal, shareable or public")] = None,
    display_name: Annotated[str | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option()] = None,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Reactivate or deactivate the account"),
    ] = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Change a user read at --version (admin only; the last active admin stays)."""
    changes = _given(
        role=role,
        tasks=_numbers(tasks, "--tasks"),
        clearance=clearance,
        display_name=display_name,
        unit=unit,
        active=active,
    )
    with _tracker(workspace, user) as tr:
        u = tr.update_user(name, version, **changes)
    typer.echo(
        f"updated user {u.name} (now version {u.version}): {u.role.value}, clearance "
        f"{u.clearance.value}" + ("" if u.active else ", deactivated")
    )


# --------------------------------------------------------------- baselines
@baseline_app.command("save")
@_user_errors
def baseline_save(
    name: Annotated[str, typer.Argument()],
    as_of: AsOfOption = None,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Save the programme as it is now under NAME (e.g. stocktake-2026-W48)."""
    with _tracker(workspace, user) as tr:
        b = tr.save_baseline(name, _date(as_of, "--as-of"))
    typer.echo(
        f"saved baseline {b.name} as of {b.as_of}: "
        f"{len(b.snapshot['milestones'])} milestones, {len(b.snapshot['risks'])} risks"
    )


@baseline_app.command("compare")
@_user_errors
def baseline_compare(
    name: Annotated[str, typer.Argument()],
    as_of: AsOfOption = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Compare the programme now with baseline NAME."""
    with _tracker(workspace, user) as tr:
        comp = tr.compare_baseline(name, _date(as_of, "--as-of"))
    if output == OutputFormat.json:
        return _json(comp)
    typer.echo(f"now ({comp.as_of}) against {comp.baseline} ({comp.baseline_as_of})")
    for c in comp.changes:
        if c.kind == "rating":
            before = (c.before or {}).get("rating", "-")
            typer.echo(f"task {c.id}: {before} → {c.after['rating']} ({c.trend.value})")
        elif c.change == "changed" and c.kind == "milestone":
            typer.echo(
                f"{c.id}: forecast {c.before['forecast']} → {c.after['forecast']} "
                f"({c.forecast_delta_days:+d} days), status {c.before['status']} → "
                f"{c.after['status']}"
            )
        else:
            typer.echo(f"{c.kind} {c.id}: {c.change}")


@baseline_app.command("list")
@_user_errors
def baseline_list(
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """List saved baselines."""
    with _tracker(workspace, user) as tr:
        found = tr.baselines()
    if output == OutputFormat.json:
        return _json(found)
    for b in found:
        typer.echo(
            f"{b.name:<24} as of {b.as_of}  saved {b.saved_at:%Y-%m-%d %H:%M} by {b.saved_by}"
        )


# ----------------------------------------------------------------- journal
@app.command("journal")
@_user_errors
def journal_list(
    entity: Annotated[
        str | None,
        typer.Option(help="milestone, risk, task, kpi, escalation, matter, user, site, …"),
    ] = None,
    record_id: Annotated[str | None, typer.Option("--id")] = None,
    output: FormatOption = OutputFormat.table,
    user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Show the audit trail (who changed what, when; append-only)."""
    with _tracker(workspace, user) as tr:
        entries = tr.journal(entity, record_id)
    if output == OutputFormat.json:
        return _json(entries)
    for e in entries:
        typer.echo(
            f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor:<10} {e.action:<11} {e.entity} "
            f"{e.entity_id}: {e.summary()}"
        )
