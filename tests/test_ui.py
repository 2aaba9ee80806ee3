"""The app's state, views and sign-in without a browser: fast, on a copy of the demo."""

from __future__ import annotations

import asyncio
import html
import io
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest

from parkplan.i18n import catalogue, t
from parkplan.identity.credentials import load_credentials
from parkplan.maps import external_references
from parkplan.siting.scenario import load_scenario
from parkplan.store import Workspace
from parkplan.tracker.rating import reason_text
from parkplan.tracker.seed import DEMO_DATE
from parkplan.tracker.service import Tracker
from parkplan.ui import render
from parkplan.ui.gantt import gantt_svg
from parkplan.ui.state import Services, Session

pn = pytest.importorskip("panel")
# Panel 1.9 deprecates name/button_type for label/color; parkplan keeps the names that work
# from Panel 1.4 on.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<img src=x onerror=alert(1)>评估<script>alert(2)</script>"


def _clock():
    return datetime(2026, 11, 25, 12, 0)


@pytest.fixture
def ws(tmp_path, demo_gpkg):
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    workspace = Workspace.open(path)
    yield workspace
    workspace.close()


@pytest.fixture
def services(ws, tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    base = load_scenario(ROOT / "models" / "scenarios" / "baseline.yaml")
    quick = base.with_changes(
        name="quick",
        budget=9000,
        horizon=(2026, 2028),
        **{"quotas.tier": {"national_qi_centre": 1}, "quotas.sector": {}},
    )
    (folder / "quick.yaml").write_text(quick.to_yaml(), encoding="utf-8")
    shutil.copy(ROOT / "models" / "scenarios" / "baseline.yaml", folder / "baseline.yaml")
    svc = Services(ws, scenarios_dir=folder, clock=_clock)
    yield svc
    svc.executor.shutdown(wait=True)


def session(services, user, **kw) -> Session:
    return Session(services, user, **kw)


# ------------------------------------------------------------------ render
def test_every_ui_label_has_both_languages():
    keys = [k for k in catalogue() if k.startswith("ui.")]
    assert len(keys) > 150
    for key in keys:
        assert catalogue()[key]["zh"] and catalogue()[key]["en"]


def test_gantt_board_and_tiles_escape_names(ws):
    office = Tracker(ws, "office", clock=_clock)
    m = office.milestone("M3-4")
    office.update_milestone("M3-4", m.version, title_zh=HOSTILE)
    prog = Tracker(ws, "owner3", clock=_clock).programme(DEMO_DATE)
    planned = [p for p in prog.milestones if p.milestone.task == 3]
    for markup in (
        gantt_svg(planned, prog.critical_path, DEMO_DATE, "zh"),
        render.status_board(planned, "zh"),
    ):
        assert "<script>" not in markup and "<img" not in markup
        assert "&lt;script&gt;" in markup
    svg = gantt_svg(planned, ["M3-2"], DEMO_DATE, "zh")
    assert svg.count('data-critical="1"') == 1 and svg.count('class="pp-dep"') == 3
    summaries = render.task_summaries(
        prog.statuses, prog.milestones, prog.escalations, prog.matters, "zh"
    )
    assert [s.number for s in summaries] == list(range(1, 10))
    s3 = summaries[2]
    assert s3.rating.value == "amber" and s3.next_id == "M3-2" and s3.matters == 1
    assert 'data-rating="amber"' in render.task_tile(s3, "zh")


def test_the_gantt_and_a_table_show_the_task_against_a_baseline(ws):
    office = Tracker(ws, "office", clock=_clock)
    office.save_baseline("w47", as_of=date(2026, 11, 18))
    m32 = office.milestone("M3-2")
    office.update_milestone("M3-2", m32.version, forecast=date(2027, 2, 10), status="blocked")
    office.add_milestone(
        task=3, title_zh="补充评估", owner="认证监督管理处", start="2027-02-01", due="2027-02-28"
    )
    owner = Tracker(ws, "owner3", clock=_clock)
    prog = owner.programme(DEMO_DATE)
    planned = [p for p in prog.milestones if p.milestone.task == 3]
    rows = render.against_baseline(planned, owner.compare_baseline("w47", DEMO_DATE), 3, "zh")
    by_id = {r.id: r for r in rows}
    assert [r.id for r in rows] == ["M3-1", "M3-2", "M3-3", "M3-5", "M3-4"]  # plan order
    m2 = by_id["M3-2"]
    assert (m2.change, m2.due_then, m2.forecast_then, m2.forecast_now, m2.slip_days) == (
        "changed",
        date(2026, 12, 31),
        date(2027, 1, 15),
        date(2027, 2, 10),
        26,
    )
    assert (m2.status_then, m2.status_now) == ("in_progress", "blocked")
    m1 = by_id["M3-1"]  # unchanged: the baseline's dates are its own
    assert (m1.change, m1.due_then, m1.slip_days) == ("same", date(2026, 9, 30), 0)
    assert by_id["M3-5"].change == "added" and by_id["M3-5"].due_then is None
    svg = gantt_svg(
        planned, prog.critical_path, DEMO_DATE, "zh", baseline=rows, baseline_name="w47"
    )
    assert svg.count('class="pp-baseline-mark"') == 4  # none for the added milestone
    assert 'data-due="2026-12-31"' in svg and "基线计划（w47）" in svg
    assert "基线 w47：2026-10-01 开始，2026-12-31 截止" in svg
    assert 'class="pp-baseline-mark"' not in gantt_svg(planned, prog.critical_path, DEMO_DATE, "zh")
    changed = render.baseline_table(rows, "zh")
    assert "推迟 26 天" in changed and "进行中 → 受阻" in changed and "新增" in changed
    assert "M3-1" not in changed and "M3-4" not in changed
    assert "26 days later" in render.baseline_table(rows, "en")
    assert render.slip_text(-5, "zh") == "提前 5 天" and render.slip_text(None, "en") == "—"
    from parkplan.tracker.rating import Change, Comparison  # no API removes a milestone

    gone = Comparison(
        "w47",
        "2026-11-18",
        "2026-11-25",
        (
            Change(
                "milestone",
                "M3-9",
                "removed",
                {
                    "task": 3,
                    "title_zh": "旧",
                    "start": "2026-01-05",
                    "due": "2026-02-01",
                    "forecast": "2026-02-01",
                    "status": "done",
                },
                None,
            ),
        ),
    )
    (row,) = render.against_baseline([], gone, 3, "en")
    assert (row.change, row.due_then, row.due_now, row.slip_days) == (
        "removed",
        date(2026, 2, 1),
        None,
        None,
    )
    assert "已删除" in render.baseline_table([row], "zh")


def test_the_board_compares_with_the_last_stocktake_or_a_picked_baseline(services):
    from parkplan.ui.board import TaskBoard

    s = session(services, "owner3")
    board = TaskBoard(session=s)
    assert "尚未保存基线" in board._baseline_note.object and not board._baseline.visible
    assert board._baseline_table.object == ""
    office = Tracker(services.workspace, "office", clock=_clock)
    office.save_baseline("w47", as_of=date(2026, 11, 18))
    office.update_milestone("M3-2", office.milestone("M3-2").version, forecast=date(2027, 2, 10))
    office.save_baseline("today", as_of=DEMO_DATE)  # not a stocktake before the as-of date
    s.reload()
    assert board._baseline.visible and board._baseline.value == ""
    assert list(board._baseline.options.values()) == ["", "today", "w47"]
    assert 'data-baseline="w47"' in board._baseline_note.object
    assert "推迟 26 天" in board._baseline_table.object
    assert board._gantt.object.count('class="pp-baseline-mark"') == 4
    board._baseline.value = "today"
    assert s.baseline == "today" and 'data-baseline="today"' in board._baseline_note.object
    assert "没有变化" in board._baseline_table.object
    s.lang = "en"
    assert board._baseline.value == "today" and "No milestone" in board._baseline_table.object
    board._baseline.value = ""
    assert s.baseline is None and "26 days later" in board._baseline_table.object
    s.as_of = date(2026, 11, 10)  # before every baseline: the default has none to take
    assert "No stocktake baseline before 2026-11-10" in board._baseline_note.object


def test_heatmap_and_reporting_clock(ws):
    prog = Tracker(ws, "office", clock=_clock).programme(DEMO_DATE)
    heat = render.heatmap(prog.risks, "en")
    assert 'data-l="3" data-i="5"' in heat and "R4-1" in heat
    matter = prog.matters[0]
    clock = render.reporting_clock(matter, datetime(2026, 11, 25, 12, 0))
    assert clock.overdue and "overdue" in clock.text("en")
    early = render.reporting_clock(matter, matter.opened_at)
    assert not early.overdue and "剩余" in early.text("zh")


def test_table_escapes_cells():
    html = render.table([("a", "<b>A</b>")], [{"a": HOSTILE}])
    assert "<script>" not in html and "&lt;b&gt;A&lt;/b&gt;" in html


# ------------------------------------------------------------------ state
def test_session_roles_decide_what_is_shown(services):
    owner = session(services, "owner3")
    assert owner.task == 3 and owner.pages() == ["overview", "board", "desk"]
    m32 = owner.tracker.milestone("M3-2")
    m41 = owner.tracker.milestone("M4-1")
    assert owner.can("update", m32) and not owner.can("update", m41)
    viewer = session(services, "viewer")
    assert viewer.user.clearance.value == "public"
    assert not viewer.can_run_scenarios and "studio" not in viewer.pages()
    assert session(services, "planner").can_run_scenarios
    ghost = session(services, "ghost")  # in the credentials file, not in the tracker
    assert ghost.user.name == "anonymous" and "ghost" in ghost.error


def test_refused_and_stale_changes_say_why(services):
    viewer = session(services, "viewer", lang="en")
    m = Tracker(services.workspace, "office").milestone("M3-2")
    assert viewer.update_milestone("M3-2", m.version, percent=90) is None
    assert viewer.notice_kind == "danger"
    # the viewer may not even see it: the library says it is not found for them
    assert "Not saved" in viewer.notice
    owner = session(services, "owner3", lang="en")
    assert owner.update_milestone("M4-1", 1, percent=90) is None
    assert "may not update milestone M4-1" in owner.notice
    before = owner.revision
    assert owner.update_milestone("M3-2", m.version, percent=60) is not None
    assert owner.notice_kind == "success" and owner.revision > before
    assert owner.update_milestone("M3-2", m.version, percent=70) is None
    assert owner.notice_kind == "warning" and "changed" in owner.notice


# ------------------------------------------------------------------ views
def test_board_edit_changes_the_rating(services):
    from parkplan.ui.board import TaskBoard

    s = session(services, "owner3")
    board = TaskBoard(session=s)
    assert board.may_edit() and not board._table.disabled
    assert 'data-rating="amber"' in board._header.object
    row = int(board._frame.index[board._frame["id"] == "M3-2"][0])
    board._edited(SimpleNamespace(row=row, column="forecast", value=1797724800000))
    assert s.notice_kind == "success", s.notice
    assert s.tracker.milestone("M3-2").forecast == date(2026, 12, 20)
    assert 'data-rating="green"' in board._header.object
    label = s.t("status.blocked")
    board._edited(SimpleNamespace(row=row, column="status", value=label))
    assert s.tracker.milestone("M3-2").status.value == "blocked"
    board._edited(SimpleNamespace(row=row, column="owner", value="someone"))
    assert s.notice_kind == "danger" and "owner" in s.notice


def test_board_is_read_only_for_viewers_and_forced_edits_are_refused(services):
    from parkplan.ui.board import TaskBoard

    office = Tracker(services.workspace, "office")
    office.update_milestone("M3-4", office.milestone("M3-4").version, visibility="public")
    s = session(services, "viewer", lang="en")
    s.task = 3
    board = TaskBoard(session=s)
    assert not board.may_edit() and board._table.disabled
    assert all(v is None for v in board._table.editors.values())
    assert list(board._frame["id"]) == ["M3-4"]
    board._edited(SimpleNamespace(row=0, column="forecast", value="2030-01-01"))
    assert s.notice_kind == "danger" and "viewers read and do not write" in s.notice
    assert office.milestone("M3-4").forecast == date(2028, 6, 30)


def test_desk_offers_only_allowed_steps(services):
    from parkplan.ui.desk import Desk, allowed_actions

    office = session(services, "office")
    esc = {e.id: e for e in office.programme.escalations}
    assert allowed_actions(office, esc[3]) == ["acknowledge"]
    assert allowed_actions(office, esc[7]) == []  # convenor level
    viewer = session(services, "viewer")
    assert viewer.programme.escalations == () or not any(
        allowed_actions(viewer, e) for e in viewer.programme.escalations
    )
    desk = Desk(session=office)
    desk._pick.value = 3
    assert desk._buttons["acknowledge"].visible and not desk._buttons["close"].visible
    desk._comment.value = "收到"
    desk._step("acknowledge")
    assert office.notice_kind == "success"
    assert office.tracker.escalation(3).status.value == "acknowledged"
    assert not Desk(session=session(services, "viewer"))._act_box.visible


def test_overview_and_shell_in_both_languages(services):
    from parkplan.ui.app import AppShell, create_app
    from parkplan.ui.mapview import MapCache

    maps = MapCache(services.workspace)
    for user in ("owner3", "viewer", "planner", "office", "admin"):
        s = session(services, user)
        shell = AppShell(session=s, maps=maps)
        for lang in ("zh", "en"):
            s.lang = lang
            for page in s.pages():
                s.page = page
        assert ("studio" in shell._views) == s.can_run_scenarios
    s = session(services, "owner3")
    shell = AppShell(session=s, maps=maps)
    overview = shell.view("overview")
    assert len(overview._grid.objects) == 9
    overview._grid.objects[2][1].clicks += 1  # the （三） tile's button opens its board
    assert s.page == "board" and s.task == 3
    assert 'srcdoc="' in overview._map.object
    if overview._brief.visible:
        assert asyncio.run(overview._brief_pdf()).getvalue().startswith(b"%PDF")
    s.lang = "en"
    assert "Task board" in shell._nav.options
    assert isinstance(create_app(services, "owner3"), pn.template.BootstrapTemplate)


# ------------------------------------------------------------------ studio
def test_studio_solves_in_the_executor_and_exports(services):
    from parkplan.ui.studio import ScenarioStudio

    s = session(services, "planner")
    studio = ScenarioStudio(session=s)
    studio.form.load("quick")
    studio._explain.value = False
    assert studio.form.scenario().budget == 9000
    run_id = asyncio.run(studio.solve())
    assert run_id and studio.run_id == run_id and not studio.running, s.notice
    plan_layer = t("map.layer.allocations", "zh")
    assert plan_layer in html.unescape(studio._map.object)
    assert plan_layer not in studio.maps.document("zh")
    frame_bytes = studio._gpkg().getvalue()
    path = Path(services.workspace.location).with_name("plan.gpkg")
    path.write_bytes(frame_bytes)
    assert len(gpd.read_file(path)) > 0
    sheets = pd.read_excel(io.BytesIO(studio._xlsx().getvalue()), sheet_name=None)
    assert {"概要", "安置明细", "按园区分解"} <= set(sheets)
    assert {"机构编号", "载体", "经度", "纬度"} <= set(sheets["安置明细"].columns)
    assert "最优" in set(sheets["概要"]["值"])
    page = studio._html().getvalue().decode("utf-8")
    assert external_references(page) == [] and plan_layer in page
    studio.form._name.value = "quick-2"
    studio.form._budget.value = 12000
    second = asyncio.run(studio.solve())
    studio.comparison._cmp_a.value, studio.comparison._cmp_b.value = run_id, second
    studio.comparison.render()
    assert "pp-compare" in studio.comparison._comparison.object


def test_studio_offers_a_solved_copy_from_the_ledger(services):
    from parkplan.ui.studio import ScenarioStudio

    s = session(services, "planner")
    studio = ScenarioStudio(session=s)
    assert list(studio.form._base.options.values()) == ["baseline", "quick"]  # no run yet
    studio.form.load("quick")
    studio._explain.value = False
    assert studio.form._name.value == "quick-copy"
    studio.form._budget.value = 9500
    first = asyncio.run(studio.solve())
    key = f"run/{first}"
    assert studio.form._base.options[f"quick-copy（方案台账 · {first}）"] == key, s.notice
    assert studio.form._base.value == "quick"  # the base picked stays picked
    studio.form._budget.value = 9800
    second = asyncio.run(studio.solve())  # the same name again: its latest run is offered
    other = ScenarioStudio(session=session(services, "planner", lang="en"))
    assert list(other.form._base.options.values()) == ["baseline", "quick", f"run/{second}"]
    assert f"quick-copy (ledger · {second})" in other.form._base.options
    other.form.load(f"run/{second}")
    assert other.form._base.value == f"run/{second}" and other.form._budget.value == 9800
    assert other.form._name.value == "quick-copy-copy"
    assert other.form.scenario().horizon == (2026, 2028)
    other.form.load("run/nothing")
    assert "No scenario run/nothing" in other.session.notice


def test_studio_refuses_bad_forms_and_other_roles(services):
    from parkplan.ui.studio import ScenarioStudio

    s = session(services, "planner", lang="en")
    studio = ScenarioStudio(session=s)
    studio.form.load("quick")
    studio.form._fixed.value = "C0001"
    assert asyncio.run(studio.solve()) is None and "cand_id site_id" in s.notice
    studio.form._fixed.value = ""
    studio.form._h0.value, studio.form._h1.value = 2030, 2026
    assert asyncio.run(studio.solve()) is None and "horizon" in s.notice
    viewer = session(services, "viewer", lang="en")
    blocked = ScenarioStudio(session=viewer)
    assert asyncio.run(blocked.solve()) is None and "does not run" in viewer.notice


def test_plan_map_escapes_names_and_stays_offline(services):
    from parkplan.maps import Plan
    from parkplan.services.maps import workspace_layers
    from parkplan.ui.mapview import iframe, map_document

    layers = workspace_layers(services.workspace, candidates=True)
    cands = layers["candidates"]
    cands.loc[cands["cand_id"] == "C0001", "name_zh"] = HOSTILE
    site = layers["sites"]["site_id"].iloc[0]
    doc = map_document(layers, "zh", plan=Plan(allocation=(("C0001", site, 2027),), name="t"))
    assert "<script>alert" not in doc and "&lt;script&gt;alert(2)" in doc
    assert external_references(doc) == []
    embedded = iframe(doc)
    assert '"' not in embedded.split('srcdoc="', 1)[1].split('" style=')[0]


# ------------------------------------------------------------------ CLI
def test_serve_needs_credentials_or_no_auth(tmp_path, demo_gpkg):
    from typer.testing import CliRunner

    from parkplan.cli import app

    result = CliRunner().invoke(app, ["serve", "-w", str(demo_gpkg)])
    assert result.exit_code == 2 and "--credentials" in result.output
    creds = tmp_path / "creds.json"
    result = CliRunner().invoke(
        app,
        ["hash-password", "owner3", "--credentials", str(creds)],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert load_credentials(creds).verify("owner3", "a long password")


# ------------------------------------------------------------ the audit's fixes
def test_as_of_clock_fixes_the_app_s_now_and_says_so(ws):
    from parkplan.ui.app import AppShell
    from parkplan.ui.state import AsOfClock, parse_as_of

    assert parse_as_of("2026-11-25") == datetime(2026, 11, 25, 12, 0)
    assert parse_as_of("2026-11-25T09:30") == datetime(2026, 11, 25, 9, 30)
    with pytest.raises(ValueError, match="--as-of"):
        parse_as_of("25/11/2026")
    clock = AsOfClock(datetime(2026, 11, 25, 12, 0))
    assert clock().date() == date(2026, 11, 25) and clock() >= clock.start
    svc = Services(ws, clock=clock)
    try:
        assert svc.fixed_clock == datetime(2026, 11, 25, 12, 0)
        s = Session(svc, "owner3")
        assert s.as_of == date(2026, 11, 25) and s.tracker.clock is clock
        shell = AppShell(session=s, maps=svc.maps())
        assert "pp-fixed-clock" in shell._banner.object
        assert "2026-11-25 12:00" in shell._banner.object
        assert Services(ws).fixed_clock is None
    finally:
        svc.executor.shutdown(wait=True)


def test_serve_refuses_a_bad_as_of(demo_gpkg):
    from typer.testing import CliRunner

    from parkplan.cli import app

    result = CliRunner().invoke(
        app, ["serve", "-w", str(demo_gpkg), "--no-auth", "--as-of", "tomorrow"]
    )
    assert result.exit_code == 2 and "--as-of" in result.output


def test_rating_reasons_are_said_in_the_session_s_language(services):
    prog = session(services, "owner3").programme
    st3 = next(st for st in prog.statuses if st.task.number == 3)
    assert st3.reasons and all(r.rule and r.values for r in st3.reasons)
    for lang, word in (("zh", "预计比截止日期"), ("en", "projected")):
        texts = [reason_text(r, lang) for r in st3.reasons]
        assert any(word in x for x in texts), texts
    zh = [reason_text(r, "zh") for st in prog.statuses for r in st.reasons]
    assert not [x for x in zh if "projected" in x or "risk " in x or "blocked" in x], zh
    # the same figures as the library's own text
    slip = next(r for r in st3.reasons if r.rule == "slip")
    assert reason_text(slip, "en") == slip.text
    from parkplan.tracker.rating import Rating, Reason

    hidden = Reason(Rating.amber, "slip", "milestone", "", "a milestone above your clearance")
    assert reason_text(hidden, "zh") == "超出您可见范围的里程碑：进度延误"
    unknown = Reason(Rating.amber, "new_rule", "milestone", "M1-1", "library words")
    assert reason_text(unknown, "zh") == "library words"
    tiles = render.task_summaries(
        prog.statuses, prog.milestones, prog.escalations, prog.matters, "zh"
    )
    assert any("预计比截止日期" in r for r in tiles[2].reasons)


def test_a_reason_is_said_from_its_code_and_values_alone():
    from parkplan.tracker.rating import Rating, Reason

    def reason(rule, subject_type, **values):
        return Reason(Rating.amber, rule, subject_type, "X", "library words", values=values)

    slip = reason("slip", "milestone", milestone="M3-2", days=12, due="2026-12-01")
    assert reason_text(slip, "zh") == "M3-2 预计比截止日期 2026-12-01 晚 12 天完成"
    assert reason_text(slip, "en") == "M3-2 projected 12 days after due 2026-12-01"
    over = reason("risk_above_tolerance", "risk", risk="R4-1", score=16, tolerance=12)
    assert reason_text(over, "zh") == "风险 R4-1 分值 16，超过容忍度 12"
    assert reason_text(over, "en") == "risk R4-1 scores 16, above its tolerance 12"
    review = reason("review_overdue", "risk", risk="R4-1", review_date="2026-11-01")
    assert reason_text(review, "zh") == "风险 R4-1 应于 2026-11-01 复核，已逾期"
    # a figure missing, or none at all: the library's words, never a placeholder
    assert reason_text(reason("slip", "milestone", milestone="M3-2"), "zh") == "library words"
    assert reason_text(reason("blocked", "milestone"), "zh") == "library words"
    # every rule the library rates by has its sentence in both languages
    from parkplan.tracker.rating import REASON_TEXTS

    assert all(f"reason.{rule}" in catalogue() for rule in REASON_TEXTS)


def _denied(code, **values):
    from parkplan.tracker.access import PermissionDenied

    return PermissionDenied("library words", code=code, values=values)


def test_a_refusal_is_said_from_its_code_and_values():
    ladder = _denied(
        "escalation_level",
        user="office",
        role="office",
        tasks=[],
        action="acknowledge",
        entity="escalation",
        record="7",
        task=3,
        level="convenor",
        roles=["convenor"],
    )
    assert render.refusal_text(ladder, "zh") == (
        "office（专班办公室）不能确认收悉督办事项 #7：“召集人”层级的督办事项由召集人办理。"
    )
    assert render.refusal_text(ladder, "en") == (
        "office (task-force office) may not acknowledge escalation #7: an escalation at the "
        "convenor level is handled by the convenor."
    )
    owner = _denied(
        "own_tasks_only",
        user="owner3",
        role="task_owner",
        tasks=[3, 9],
        action="update",
        entity="milestone",
        record="M8-1",
        task=8,
    )
    assert render.refusal_text(owner, "zh") == (
        "owner3（任务（三）、任务（九）牵头单位）不能修改里程碑 M8-1：任务牵头单位只能修改所牵头"
        "任务的记录。"
    )
    assert render.refusal_text(owner, "en") == (
        "owner3 (task owner of task （三）, task （九）) may not update milestone M8-1: task "
        "owners edit only their own tasks' records."
    )
    hidden = _denied(
        "above_clearance",
        user="o",
        role="office",
        tasks=[],
        action="create",
        entity="risk",
        record="R4-9",
        task=4,
        visibility="internal",
        clearance="shareable",
    )
    assert render.refusal_text(hidden, "zh") == (
        "o（专班办公室）不能新增风险 R4-9：该记录为“内部”级，超出您的可见范围（可共享）。"
    )
    rules = _denied(
        "office_only",
        user="owner3",
        role="task_owner",
        tasks=[3],
        action="run",
        entity="escalation_run",
        record=None,
        task=None,
    )
    assert render.refusal_text(rules, "zh") == (
        "owner3（任务（三）牵头单位）不能运行升级规则：仅专班办公室和召集人可以办理。"
    )
    plan = _denied(
        "planning_role",
        user="viewer",
        role="viewer",
        tasks=[],
        action="plan",
        entity=None,
        record=None,
        task=None,
    )
    assert render.refusal_text(plan, "en") == (
        "viewer (viewer) may not record siting runs or adopt a plan: planners, the "
        "task-force office and the convenor may."
    )
    # no code, a code or an action the catalogue does not know: the library's words
    from parkplan.tracker.access import REFUSALS, PermissionDenied

    assert render.refusal_text(PermissionDenied("library words"), "zh") == "library words"
    assert render.refusal_text(_denied("new_rule", **owner.values), "zh") == "library words"
    assert (
        render.refusal_text(_denied("own_tasks_only", **{**owner.values, "action": "x"}), "zh")
        == "library words"
    )
    assert all(f"ui.denied.{code}" in catalogue() for code in REFUSALS)


def test_every_library_refusal_is_said_in_chinese(ws):
    from parkplan.identity.users import User
    from parkplan.tracker import access
    from parkplan.tracker import meetings as mt
    from parkplan.tracker.access import PermissionDenied

    office = Tracker(ws, "office", clock=_clock)
    m41, esc7, matter = office.milestone("M4-1"), office.escalation(7), office.matter(1)
    owner3 = User(name="owner3", role="task_owner", tasks=(3,), clearance="internal")
    cases = [
        (User(name="gone", role="office", active=False), "update", m41),
        (User(name="viewer", role="viewer"), "update", m41),
        (User(name="planner", role="planner"), "save", "baseline"),
        (User(name="office", role="office"), "create", User(name="x", role="viewer")),
        (User(name="admin", role="admin"), "close", esc7),
        (
            User(name="office", role="office", clearance="shareable"),
            "update",
            m41.model_copy(update={"visibility": "internal"}),
        ),
        (User(name="office", role="office"), "act", esc7),
        (
            User(name="owner8", role="task_owner", tasks=(8,)),
            "acknowledge",
            next(e for e in office.programme(DEMO_DATE).escalations if e.level == "owner"),
        ),
        (owner3, "report", matter),
        (owner3, "create", matter.model_copy(update={"task": 8})),
        (owner3, "run", access.ESCALATION_RUN),
        (owner3, "record", "meetings"),
        (owner3, "requeue", "notifications"),
        (owner3, "update", m41),
    ]
    said = set()
    for who, action, record in cases:
        with pytest.raises(PermissionDenied) as err:
            access.check_write(who, action, record)
        zh = render.refusal_text(err.value, "zh")
        assert zh != str(err.value) and not re.search(r"[a-z]{3,} [a-z]{3,}", zh), zh
        said.add(err.value.code)
    meeting = mt.Meeting(
        held_on=DEMO_DATE,
        title="t",
        attendees=("a",),
        recorded_by="o",
        recorded_at=_clock(),
        visibility="internal",
    )
    with pytest.raises(PermissionDenied) as err:
        mt.check_write(User(name="o", role="office", clearance="shareable"), "record", meeting)
    assert render.refusal_text(err.value, "zh") == (
        "o（专班办公室）不能登记会商研判：该记录为“内部”级，超出您的可见范围（可共享）。"
    )
    assert said | {"planning_role"} == set(access.REFUSALS), said


def test_the_app_says_a_refusal_in_chinese(services):
    from parkplan.ui.board import TaskBoard

    office = Tracker(services.workspace, "office")
    office.update_milestone("M3-4", office.milestone("M3-4").version, visibility="public")
    s = session(services, "viewer")
    s.task = 3
    board = TaskBoard(session=s)
    board._edited(SimpleNamespace(row=0, column="forecast", value="2030-01-01"))
    assert s.notice_kind == "danger"
    assert s.notice == (
        "未保存：无此权限。viewer（查阅人员）不能修改里程碑 M3-4：查阅人员只能查看，不能修改。"
    )
    assert "&lt;" not in s.notice_html()
    owner = session(services, "owner3")
    assert owner.update_milestone("M4-1", 1, percent=90) is None
    assert owner.notice == (
        "未保存：无此权限。owner3（任务（三）牵头单位）不能修改里程碑 M4-1："
        "任务牵头单位只能修改所牵头任务的记录。"
    )
    owner.lang = "en"
    assert owner.update_milestone("M4-1", 1, percent=90) is None
    assert owner.notice == (
        "Not saved: not allowed. owner3 (task owner of task （三）) may not "
        "update milestone M4-1: task owners edit only their own tasks' "
        "records."
    )


def test_studio_claims_the_smallest_relaxation_only_when_proven(services):
    from parkplan.ui.plan import explanation_html

    def explained(lang, **info):
        explanation = {
            "infeasibility": {
                "conflicts": ["budget"],
                "relaxations": [
                    {"kind": "budget", "constraint": "budget", "current": 1, "needed": 11}
                ],
                **info,
            }
        }
        return explanation_html(explanation, lang)

    assert "使方案可行的最小放宽" in explained("zh", proven_smallest=True)
    assert "Smallest relaxation" in explained("en", proven_smallest=True)
    for info in ({"proven_smallest": False, "note": "not proven smallest"}, {}):
        zh, en = explained("zh", **info), explained("en", **info)
        assert "未证明为最小" in zh and "最小放宽" not in zh
        assert "not proven smallest" in en and "Smallest" not in en
    none = explained("zh", relaxations=[], proven_smallest=False, note="no relaxation")
    assert "未找到使方案可行的放宽" in none and none.count("<ul>") == 1  # the conflicts only


def test_labels_come_from_the_catalogue(services):
    from parkplan.ui import plan
    from parkplan.ui.app import language_names
    from parkplan.web.server import unavailable_page

    assert language_names() == {"zh": "中文", "en": "English"}
    assert render.solver_status("optimal", "zh") == "最优"
    assert render.solver_status("something_new", "zh") == "something_new"
    with pytest.raises(ValueError, match="第 2 行"):
        plan.parse_pairs("C0001 S0001\nC0002", "zh")
    prog = Tracker(services.workspace, "office", clock=_clock).programme(DEMO_DATE)
    planned = [p for p in prog.milestones if p.milestone.task == 3]
    svg = gantt_svg(planned, prog.critical_path, DEMO_DATE, "zh")
    assert "季度" in svg and ">Q2<" not in svg
    assert ">Q2<" in gantt_svg(planned, prog.critical_path, DEMO_DATE, "en")
    captured = []
    original = pn.Template
    try:
        pn.Template = lambda text: captured.append(text) or original(text)
        unavailable_page("en")
    finally:
        pn.Template = original
    page = captured[0]
    assert page.index("database is unavailable") < page.index("数据库暂时无法连接")


def test_views_hold_no_chinese_literals():
    """Labels come from the catalogue: no Chinese text in the views' code but docstrings."""
    import ast

    cjk = re.compile(r"[\u4e00-\u9fff]")
    found = []
    for path in sorted((ROOT / "parkplan" / "ui").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and cjk.search(node.value)
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value[:40]}")
    assert not found, found


def test_studio_reports_any_solver_error_and_keeps_the_comparison(services, monkeypatch, caplog):
    from parkplan.ui import studio as studio_module
    from parkplan.ui.studio import ScenarioStudio

    s = session(services, "planner")
    studio = ScenarioStudio(session=s)
    studio.form.load("quick")
    studio._explain.value = False
    first = asyncio.run(studio.solve())
    studio.form._name.value = "quick-2"
    second = asyncio.run(studio.solve())
    studio.form._name.value = "quick-3"
    third = asyncio.run(studio.solve())
    assert first and second and third, s.notice
    # newest two by default; the user's choice survives new revisions and new runs
    assert (studio.comparison._cmp_a.value, studio.comparison._cmp_b.value) == (second, third)
    studio.comparison._cmp_a.value, studio.comparison._cmp_b.value = third, first
    s.reload()
    assert (studio.comparison._cmp_a.value, studio.comparison._cmp_b.value) == (third, first)

    def broken(*_a, **_k):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(studio_module, "run_scenario", broken)
    with caplog.at_level("ERROR", logger="parkplan.ui"):
        assert asyncio.run(studio.solve()) is None
    assert not studio.running and not studio._solve.disabled
    assert studio._status.object == ""
    assert s.notice_kind == "danger" and "RuntimeError: solver crashed" in s.notice
    assert "求解失败" in s.notice
    assert any("failed" in r.getMessage() for r in caplog.records)
    assert (studio.comparison._cmp_a.value, studio.comparison._cmp_b.value) == (third, first)
    summary = html.unescape(studio._summary.object)
    assert "最优" in summary and "optimal" not in summary


def test_basemaps_and_the_adopted_plan_on_the_overview(services, monkeypatch):
    from parkplan.services.planning import adopt_run
    from parkplan.ui.mapview import available_basemaps
    from parkplan.ui.overview import Overview
    from parkplan.ui.studio import ScenarioStudio

    monkeypatch.delenv("PARKPLAN_TIANDITU_KEY", raising=False)
    assert available_basemaps() == ["none", "osm", "amap"]
    monkeypatch.setenv("PARKPLAN_TIANDITU_KEY", "abcdef1234567890")
    assert available_basemaps() == ["none", "osm", "tianditu", "amap"]
    s = session(services, "planner")
    overview = Overview(session=s)
    plan_layer = t("map.layer.allocations", "zh")
    assert "autonavi" not in overview._map.object and plan_layer not in overview._map.object
    assert "尚无已采纳" in overview._plan_note.object
    s.basemap = "amap"
    assert "autonavi" in overview._map.object
    monkeypatch.setenv("PARKPLAN_TIANDITU_KEY", "bad key!")  # the library refuses it
    s.basemap = "tianditu"
    assert s.basemap == "none" and s.notice_kind == "warning"
    assert "tianditu.gov.cn" not in overview._map.object
    monkeypatch.setenv("PARKPLAN_TIANDITU_KEY", "abcdef1234567890")
    s.basemap = "tianditu"
    assert "tianditu.gov.cn" in overview._map.object
    studio = ScenarioStudio(session=s)
    studio.form.load("quick")
    studio._explain.value = False
    run_id = asyncio.run(studio.solve())
    s.basemap = "osm"
    assert "tile.openstreetmap.org" in studio._map.object
    assert plan_layer in html.unescape(studio._map.object)
    assert plan_layer not in html.unescape(overview._map.object)  # not adopted yet
    adopt_run(services.workspace, run_id, "planner")
    s.reload()
    assert plan_layer in html.unescape(overview._map.object)
    assert run_id in overview._plan_note.object


def test_brief_is_rendered_off_the_event_loop(services, monkeypatch):
    import threading

    from parkplan.ui import overview as overview_module
    from parkplan.ui.overview import Overview

    s = session(services, "convenor")
    overview = Overview(session=s)
    threads = []

    def fake(workspace, user, as_of):
        threads.append(threading.current_thread().name)
        return b"%PDF-1.7 fake"

    monkeypatch.setattr(overview_module, "brief_writer", lambda: fake)
    monkeypatch.setattr(overview_module, "brief_bytes", fake)
    assert asyncio.iscoroutinefunction(overview._brief_pdf)
    assert asyncio.run(overview._brief_pdf()).getvalue() == b"%PDF-1.7 fake"
    assert threads and threads[0].startswith("parkplan-solve")

    def broken(*_a):
        raise OSError("no Pango")

    monkeypatch.setattr(overview_module, "brief_bytes", broken)
    assert asyncio.run(overview._brief_pdf()) is None
    assert s.notice_kind == "danger" and "no Pango" in s.notice
    assert not overview._brief.disabled


def test_bokeh_dates_are_read_as_utc_days(services):
    import warnings

    from parkplan.ui.board import parse_edit

    s = session(services, "owner3")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert parse_edit(s, "forecast", 1797724800000) == date(2026, 12, 20)
