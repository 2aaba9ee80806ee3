"""The tracker on a workspace, on both stores: seeding, permissions, visibility, bad input,
optimistic locking, the journal, escalations, site slips, evidence, KPIs, baselines, CLI."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.errors import InputError, ParkplanError
from parkplan.store import Workspace
from parkplan.store.geometry import GpkgGeometry, PostgisGeometry
from parkplan.tracker import (
    CycleError,
    NotFound,
    PermissionDenied,
    StaleVersion,
    Tracker,
    journal,
)
from parkplan.tracker.access import REFUSALS
from parkplan.tracker.seed import DEMO_DATE, seed_demo, seed_tasks
from tests.conftest import snapshot

REPO_ROOT = Path(__file__).resolve().parents[1]
# The public policy text, shipped in the repository (data/policy/README.md).
POLICY = REPO_ROOT / "data" / "policy" / "shanghai-tic-pilot-opinions-2026.txt"


def _seeded(ws: Workspace) -> bool:
    with ws.connect() as conn:
        return bool(conn.exec_driver_sql("SELECT COUNT(*) FROM tasks").scalar())


def _ensure_demo(location: str) -> None:
    """Seed the tracker demo unless parkplan.services.demo already did."""
    with Workspace.open(location) as ws:
        if not _seeded(ws):
            seed_demo(ws)


@pytest.fixture(scope="session")
def tracker_gpkg(demo_gpkg, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tracker") / "tracker.gpkg"
    shutil.copy(demo_gpkg, path)
    _ensure_demo(str(path))
    return path


@pytest.fixture
def loc(store, tmp_path, tracker_gpkg, request) -> str:
    """A demo workspace with the tracker demo, on the store under test."""
    if store == "geopackage":
        path = tmp_path / "ws.gpkg"
        shutil.copy(tracker_gpkg, path)
        return str(path)
    url = request.getfixturevalue("demo_location")
    _ensure_demo(url)
    return url


@pytest.fixture
def ws(loc):
    with Workspace.open(loc) as workspace:
        yield workspace


def clock(day="2026-11-26", hm="09:00"):
    return lambda: datetime.fromisoformat(f"{day}T{hm}")


def as_(ws, name, day="2026-11-26", hm="09:00") -> Tracker:
    return Tracker(ws, name, clock=clock(day, hm))


runner = CliRunner()


def cli(*args, env=None):
    result = runner.invoke(app, [str(a) for a in args], env=env)
    return result


# ------------------------------------------------------------------ seeding
def _policy_flat() -> str:
    # The policy file breaks lines inside （三） and （九） (page breaks of the source).
    return POLICY.read_text(encoding="utf-8").replace("\n", "")


def test_tasks_list_json_gives_the_nine_tasks_quoting_the_policy(loc):
    result = cli("tasks", "list", "--format", "json", "--as-of", "2026-11-25", "--workspace", loc)
    assert result.exit_code == 0, result.output
    tasks = json.loads(result.stdout)
    assert [t["code"] for t in tasks] == [f"（{c}）" for c in "一二三四五六七八九"]
    policy = _policy_flat()
    for t in tasks:
        assert t["clause_zh"] in policy
        assert f"{t['code']}{t['clause_zh']}" in policy  # the clause is the whole item
        assert t["clause_zh"].startswith(t["title_zh"] + "。")
        assert t["lead_unit"] and t["proposed"] is True and t["title_en"]
        assert t["rating"] in {"green", "amber_green", "amber", "amber_red", "red"}
    assert "单批次 CCC 认证证书" in tasks[2]["clause_zh"]
    assert tasks[2]["lead_unit"] == "认证监督管理处"
    assert "浦东新区市场监管局" in tasks[2]["co_units"]


def test_demo_has_plan_users_risks_an_open_escalation_and_a_matter(ws):
    tr = Tracker(ws, "convenor")
    assert {u.role.value for u in tr.users()} == {
        "admin",
        "convenor",
        "office",
        "task_owner",
        "planner",
        "viewer",
    }
    plan = tr.milestones()
    assert {m.task for m in plan} == set(range(1, 10))
    assert all(m.proposed for m in plan)
    assert min(m.start for m in plan) >= date(2026, 6, 1)
    assert max(m.due for m in plan) <= date(2028, 12, 31)
    cross = [m for m in plan if any(not d.startswith(f"M{m.task}-") for d in m.depends_on)]
    assert cross, "the plan has dependencies across tasks"
    assert len(tr.risks()) >= 5
    open_escalations = tr.escalations(open_only=True)
    assert open_escalations and tr.matters()
    assert any(e.rule_id == "matter_late" for e in open_escalations)
    kpi_ids = {k.kpi.id: k for k in tr.kpis()}
    assert "单批次 CCC 认证证书" in kpi_ids["K3-1"].kpi.name_zh
    assert kpi_ids["K4-2"].kpi.direction == "decrease"


def test_seed_tasks_on_a_plain_workspace(empty_location):
    from parkplan.services.demo import create_workspace

    with create_workspace(empty_location) as ws:
        if not _seeded(ws):
            seed_tasks(ws)
        tr = Tracker(ws, "admin")
        assert len(tr.tasks()) == 9 and tr.users()[0].role == "admin"
        assert all(m.linked_site_id is None for m in tr.milestones())
        with pytest.raises(ParkplanError, match="already holds the tracker's tasks"):
            seed_tasks(ws)


# -------------------------------------------------------------- permissions
def _refusals():
    # (user, action, expected message fragment)
    return [
        (
            "viewer",
            lambda t: t.add_risk(
                task=3,
                title_zh="x",
                cause="c",
                effect="e",
                likelihood=1,
                impact=1,
                owner="认证监督管理处",
            ),
            "viewers read and do not write",
        ),
        (
            "planner",
            lambda t: t.update_milestone("M8-2", 2, percent=90),
            "planners edit siting scenarios",
        ),
        (
            "admin",
            lambda t: t.update_milestone("M8-2", 2, percent=90),
            "the admin manages users only",
        ),
        (
            "owner3",
            lambda t: t.update_milestone("M8-2", 2, percent=90),
            "task owners edit only their own tasks' records; this is task （八）",
        ),
        (
            "owner8",
            lambda t: t.add_milestone(
                task=3, title_zh="x", owner="认证监督管理处", start="2027-01-01", due="2027-02-01"
            ),
            "task owners edit only their own tasks' records",
        ),
        ("owner8", lambda t: t.escalate(DEMO_DATE), "only the office and the convenor"),
        (
            "office",
            lambda t: t.acknowledge(7, "seen"),
            "at the convenor level is handled by the convenor",
        ),
        (
            "owner3",
            lambda t: t.report_matter(1, 1, to="市场监管总局"),
            "only the office and the convenor update a major matter",
        ),
        ("convenor", lambda t: t.add_user("newbie", "viewer"), "only the admin manages users"),
        (
            "office",
            lambda t: t.update_user("viewer", 1, role="office"),
            "only the admin manages users",
        ),
    ]


@pytest.mark.parametrize("case", range(len(_refusals())))
def test_forbidden_writes_are_refused_and_write_nothing(loc, case):
    name, action, message = _refusals()[case]
    before = snapshot(loc)
    with Workspace.open(loc) as ws:
        tr = as_(ws, name)
        with pytest.raises(PermissionDenied, match=re.escape(message)) as err:
            action(tr)
    # … and say which rule refused, with the figures of the sentence, through the Tracker
    assert err.value.code in REFUSALS and err.value.values["user"] == name
    assert snapshot(loc) == before


def test_allowed_writes_by_role(ws):
    m = as_(ws, "owner8").update_milestone("M8-2", 2, percent=55)
    assert m.version == 3 and m.percent == 55
    e = as_(ws, "convenor").acknowledge(7, "已阅")
    assert e.status == "acknowledged" and e.steps[-1].who == "convenor"
    u = as_(ws, "admin").add_user("li.hua", "task_owner", tasks=[5], clearance="shareable")
    assert Tracker(ws, "li.hua").user.tasks == (5,)
    assert (
        as_(ws, "office").update_task(3, 1, lead_unit="认证监督管理处", proposed=False).version == 2
    )
    assert u.version == 1


# --------------------------------------------------------------- visibility
def test_readers_never_receive_records_above_their_clearance(ws):
    office = as_(ws, "office")
    office.add_milestone(
        task=7,
        title_zh="公开的里程碑",
        owner="认证监督管理处",
        start="2027-01-01",
        due="2027-02-01",
        visibility="public",
    )
    office.add_milestone(
        task=7,
        title_zh="内部里程碑",
        owner="认证监督管理处",
        start="2027-01-01",
        due="2027-02-01",
        visibility="internal",
        id="M7-secret",
    )
    viewer, planner, convenor = (Tracker(ws, n) for n in ("viewer", "planner", "convenor"))
    anonymous = Tracker(ws)
    for reader in (viewer, anonymous):
        assert [m.title_zh for m in reader.milestones()] == ["公开的里程碑"]
        assert reader.risks() == [] and reader.escalations() == [] and reader.matters() == []
        assert all(e.visibility == "public" for e in reader.journal())
        assert set(reader.schedule().entries) == {m.id for m in reader.milestones()}
        assert [p.milestone.title_zh for p in reader.plan()] == ["公开的里程碑"]
        with pytest.raises(NotFound, match="no milestone M3-2 visible to you"):
            reader.milestone("M3-2")
        prog = reader.programme(DEMO_DATE)
        assert all(p.milestone.visibility == "public" for p in prog.milestones)
        assert not prog.risks and not prog.escalations and not prog.matters
        names = json.dumps(prog.to_dict(), ensure_ascii=False)
        assert "M7-secret" not in names and "内部里程碑" not in names
    assert len(viewer.tasks()) == 9
    plan_ids = {m.id for m in planner.milestones()}
    assert "M3-2" in plan_ids and "M7-secret" not in plan_ids
    assert planner.risks() == []
    with pytest.raises(NotFound):
        planner.milestone("M7-secret")
    assert "M7-secret" in {m.id for m in convenor.milestones()}
    assert convenor.risks() and convenor.escalations()
    # reasons about records above a reader's clearance do not name them
    status9 = {s.task.number: s for s in viewer.task_statuses(DEMO_DATE)}[9]
    assert status9.rating != "green"
    assert all(
        "R9-1" not in r.text and r.subject_id == ""
        for r in status9.reasons
        if r.subject_type == "risk"
    )
    # … nor give their figures
    assert all(
        r.values == {} and r.to_dict()["values"] == {}
        for r in status9.reasons
        if r.subject_type == "risk"
    )


# ---------------------------------------------------------------- bad input
def _bad_inputs():
    return [
        (
            "office",
            lambda t: t.add_milestone(
                task=3, title_zh="x", owner="认证监督管理处", start="2027-03-01", due="2027-02-01"
            ),
            InputError,
            "due 2027-02-01 is before start 2027-03-01",
        ),
        (
            "office",
            lambda t: t.add_milestone(
                task=3, title_zh="x", owner="无此单位", start="2027-01-01", due="2027-02-01"
            ),
            InputError,
            "unknown owner '无此单位'",
        ),
        (
            "office",
            lambda t: t.add_milestone(
                task=3,
                title_zh="x",
                owner="认证监督管理处",
                start="2027-01-01",
                due="2027-02-01",
                depends_on=["M3-9"],
            ),
            InputError,
            "depends on M3-9, which does not exist",
        ),
        (
            "office",
            lambda t: t.update_milestone("M3-1", 2, depends_on=["M3-4"]),
            CycleError,
            "dependency cycle: M3-1 → M3-4 → M3-3 → M3-2 → M3-1",
        ),
        (
            "office",
            lambda t: t.add_risk(
                task=3,
                title_zh="x",
                cause="c",
                effect="e",
                likelihood=7,
                impact=3,
                owner="认证监督管理处",
            ),
            InputError,
            "risk R3-2, column 'likelihood': 7 is too large: it must be ≤ 5",
        ),
        (
            "office",
            lambda t: t.update_milestone("M8-2", 1, percent=90),
            StaleVersion,
            "you read version 1, it is now version 2; office changed it at "
            "2026-11-20 09:00:00 (percent 0 → 40, status not_started → in_progress)",
        ),
        (
            "owner3",
            lambda t: t.update_risk("R8-1", 1, likelihood=1),
            PermissionDenied,
            "may not update risk R8-1",
        ),
        (
            "office",
            lambda t: t.add_milestone(
                task=8,
                title_zh="x",
                owner="认证监督管理处",
                start="2027-01-01",
                due="2027-02-01",
                linked_site_id="S9999",
            ),
            InputError,
            "there is no site 'S9999'",
        ),
        (
            "office",
            lambda t: t.update_milestone("M3-3", 1, nonsense=1),
            InputError,
            "'nonsense': is not a field that can be changed",
        ),
        (
            "convenor",
            lambda t: t.act(9, "督办"),
            ParkplanError,
            "escalation #9 is open; to act it, it must be acknowledged or acted",
        ),
        (
            "owner8",
            lambda t: t.add_kpi_actual("K8-1", "2026-11-01", 3),
            InputError,
            "come from the adopted siting plan",
        ),
    ]


@pytest.mark.parametrize("case", range(len(_bad_inputs())))
def test_bad_input_is_refused_clearly_and_writes_nothing(loc, case):
    name, action, error, message = _bad_inputs()[case]
    before = snapshot(loc)
    with Workspace.open(loc) as ws:
        with pytest.raises(error) as err:
            action(as_(ws, name))
    assert message in str(err.value)
    assert snapshot(loc) == before


def test_cycle_across_tasks_is_named_from_the_changed_milestone(ws):
    office = as_(ws, "office")
    office.update_milestone("M3-2", office.milestone("M3-2").version, depends_on=["M3-1", "M5-1"])
    with pytest.raises(CycleError) as err:
        office.update_milestone("M5-1", office.milestone("M5-1").version, depends_on=["M3-2"])
    assert "dependency cycle: M5-1 → M3-2 → M5-1" in str(err.value)
    assert err.value.cycle == ["M5-1", "M3-2", "M5-1"]
    assert office.milestone("M5-1").depends_on == ()


# ------------------------------------------------------------------ journal
def test_every_change_is_journaled_with_before_and_after(ws):
    office = as_(ws, "office", hm="11:30")
    before = office.milestone("M3-3")
    office.update_milestone("M3-3", before.version, forecast="2027-04-30")
    entry = office.journal("milestone", "M3-3")[-1]
    assert (entry.actor, entry.action, entry.at) == (
        "office",
        "update",
        datetime(2026, 11, 26, 11, 30),
    )
    assert entry.before["forecast"] == "2027-03-31" and entry.after["forecast"] == "2027-04-30"
    assert entry.changed_fields() == ["forecast"]
    assert entry.after["version"] == before.version + 1


def test_the_api_cannot_change_the_journal():
    public = [n for n in dir(journal) if not n.startswith("_")]
    assert not [
        n for n in public if re.search(r"update|delete|remove|edit|truncate|clear", n, re.I)
    ]
    assert set(journal.__all__) == {"JournalEntry", "history", "last_change", "record"}
    methods = [n for n in dir(Tracker) if "journal" in n.lower()]
    assert set(methods) <= {"journal", "_journal"}
    assert not any(
        re.search(r"(update|delete|remove).*journal|journal.*(update|delete)", n, re.I)
        for n in dir(Tracker)
    )


# -------------------------------------------------------------- escalations
def test_escalate_twice_creates_nothing_twice(ws):
    office = as_(ws, "office")
    count = len(office.escalations())
    again = office.escalate(DEMO_DATE)
    assert again.created == () and again.already == count
    later = office.escalate(date(2026, 11, 30))  # M6-1 reaches 30 days overdue
    assert "overdue_convenor:milestone:M6-1:convenor" in {e.key for e in later.created}
    assert office.escalate(date(2026, 11, 30)).created == ()
    assert len(office.escalations()) == count + len(later.created)
    keys = [e.key for e in office.escalations()]
    assert len(keys) == len(set(keys))


def test_escalate_via_cli_is_idempotent_and_uses_parkplan_user(loc):
    env = {"PARKPLAN_USER": "office"}
    first = cli(
        "escalate", "--as-of", "2026-12-02", "--format", "json", "--workspace", loc, env=env
    )
    assert first.exit_code == 0, first.output
    made = json.loads(first.stdout)["created"]
    assert made
    second = cli(
        "escalate", "--as-of", "2026-12-02", "--format", "json", "--workspace", loc, env=env
    )
    assert json.loads(second.stdout)["created"] == []
    denied = cli(
        "escalate", "--as-of", "2026-12-02", "--workspace", loc, env={"PARKPLAN_USER": "viewer"}
    )
    assert denied.exit_code == 2 and "viewers read and do not write" in denied.stderr


def test_escalation_steps_are_recorded_in_order(ws):
    owner3 = as_(ws, "owner3", hm="10:00")
    office = as_(ws, "office", hm="11:00")
    esc = next(e for e in office.escalations() if e.rule_id == "overdue_owner")  # task 6
    with pytest.raises(PermissionDenied, match="their own tasks only"):
        owner3.acknowledge(esc.id, "x")
    with pytest.raises(ParkplanError, match="is open; to close it"):
        office.close(esc.id, "done")
    office.acknowledge(esc.id, "收到", version=esc.version)
    with pytest.raises(StaleVersion, match="office changed it"):
        office.act(esc.id, "督办", version=esc.version)
    office.act(esc.id, "督办")
    with pytest.raises(InputError, match="close needs a comment"):
        office.close(esc.id, " ")
    closed = office.close(esc.id, "方案已印发")
    assert [s.step.value for s in closed.steps] == ["acknowledged", "acted", "closed"]
    assert closed.steps[-1].comment == "方案已印发" and closed.status == "closed"
    assert office.escalation(esc.id) == closed
    assert office.escalate(DEMO_DATE).created == ()  # a closed key is not reopened


def test_major_matter_clock_and_report(ws):
    owner3 = as_(ws, "owner3", day="2026-11-26", hm="08:00")
    mm = owner3.add_matter(
        task=3,
        title="样品封存异常",
        what_happened="封条破损",
        occurred_at="2026-11-26T07:30",
        impact="影响认证结论",
    )
    assert mm.report_deadline == datetime(2026, 11, 27, 8, 0)
    office = as_(ws, "office", day="2026-11-27", hm="07:00")
    reported = office.report_matter(mm.id, 1, to="市场监管总局认证监管司")
    assert reported.status == "reported" and reported.reported_by == "office"
    with pytest.raises(ParkplanError, match="already reported"):
        office.report_matter(mm.id, 2, to="x")
    run = office.escalate(datetime(2026, 11, 28, 9, 0))
    assert not [e for e in run.created if e.subject_id == str(mm.id)]
    with pytest.raises(InputError, match="occurred_at .* is after it was opened"):
        owner3.add_matter(
            task=3, title="t", what_happened="w", occurred_at="2026-12-01T00:00", impact="i"
        )


# -------------------------------------------------------------- site slips
def _allocation_table(ws: Workspace) -> sa.Table:
    geom = PostgisGeometry("POINT") if ws.kind == "postgis" else GpkgGeometry("POINT")
    return sa.Table(
        "scenario_allocations",
        sa.MetaData(),
        sa.Column("fid", sa.Integer, primary_key=True),
        *(sa.Column(c, sa.Text) for c in ("run_id", "cand_id", "site_id", "park_id")),
        sa.Column("year", sa.Integer),
        sa.Column("value", sa.Float),
        sa.Column("geometry", geom),
    )


def _add_run(
    ws: Workspace, run_id: str, allocations: list[tuple[str, str, int]], adopted: bool = False
) -> None:
    runs = sa.table(
        "scenario_runs",
        *(
            sa.column(c)
            for c in (
                "run_id",
                "scenario_name",
                "scenario_hash",
                "scenario_yaml",
                "layers_hash",
                "solver",
                "status",
                "seconds_build",
                "seconds_solve",
                "seconds_total",
                "created_at",
                "created_by",
                "result_json",
                "adopted",
            )
        ),
    )
    with ws.begin() as conn:
        conn.execute(
            runs.insert().values(
                run_id=run_id,
                scenario_name=f"scenario {run_id}",
                scenario_hash="h",
                scenario_yaml="",
                layers_hash="l",
                solver="HiGHS",
                status="optimal",
                seconds_build=0.0,
                seconds_solve=0.0,
                seconds_total=0.0,
                created_at="2026-11-20T10:00:00",
                created_by="planner",
                result_json="{}",
                adopted=adopted,
            )
        )
        for cand, site, year in allocations:
            conn.execute(
                _allocation_table(ws)
                .insert()
                .values(
                    run_id=run_id,
                    cand_id=cand,
                    site_id=site,
                    park_id="P01",
                    year=year,
                    value=1.0,
                    geometry=shapely.Point(121.6, 31.2),
                )
            )


def _site_year(ws, site_id):
    with ws.connect() as conn:
        return conn.execute(
            sa.text("SELECT available_from FROM sites WHERE site_id = :s"), {"s": site_id}
        ).scalar()


def _stale(ws):
    with ws.connect() as conn:
        return dict(conn.execute(sa.text("SELECT run_id, stale_reason FROM scenario_runs")).all())


def test_site_handover_slip_moves_available_from_and_marks_runs_stale(ws):
    _add_run(ws, "run-a", [("C0001", "S0003", 2026), ("C0002", "S0001", 2027)])
    _add_run(ws, "run-b", [("C0003", "S0001", 2027)])
    assert _site_year(ws, "S0003") == 2026
    owner8 = as_(ws, "owner8")
    m = owner8.milestone("M8-3")
    assert m.linked_site_id == "S0003"
    owner8.update_milestone("M8-3", m.version, forecast="2026-12-30")  # same year: nothing
    assert _site_year(ws, "S0003") == 2026 and _stale(ws) == {"run-a": None, "run-b": None}
    owner8.update_milestone("M8-3", m.version + 1, forecast="2027-02-15")
    assert _site_year(ws, "S0003") == 2027
    stale = _stale(ws)
    assert stale["run-b"] is None
    assert "site S0003 is now available from 2027, not 2026" in stale["run-a"]
    assert "M8-3" in stale["run-a"]
    site_changes = Tracker(ws, "office").journal("site", "S0003")
    assert site_changes[-1].before == {"site_id": "S0003", "available_from": 2026}
    assert site_changes[-1].actor == "owner8"
    assert Tracker(ws, "office").journal("scenario_run", "run-a")


def test_refused_slip_moves_no_site(loc):
    with Workspace.open(loc) as ws:
        _add_run(ws, "run-a", [("C0001", "S0003", 2026)])
    before = snapshot(loc)
    with Workspace.open(loc) as ws:
        with pytest.raises(PermissionDenied):
            as_(ws, "owner3").update_milestone("M8-3", 2, forecast="2027-06-30")
        with pytest.raises(StaleVersion):
            as_(ws, "owner8").update_milestone("M8-3", 1, forecast="2027-06-30")
    assert snapshot(loc) == before


# -------------------------------------------------------------------- KPIs
def test_park_kpis_come_from_the_adopted_siting_plan(ws):
    office = as_(ws, "office")
    kpis = {k.kpi.id: k for k in office.kpis(8)}
    assert kpis["K8-1"].actuals == () and "no adopted siting plan" in kpis["K8-1"].note
    _add_run(ws, "draft", [("C0001", "S0001", 2027)])
    allocations = [
        ("C0001", "S0003", 2027),
        ("C0003", "S0001", 2027),
        ("C0004", "S0002", 2028),
        ("C0004", "S0004", 2028),
    ]
    _add_run(ws, "adopted-1", allocations, adopted=True)
    cands = pd.read_csv(REPO_ROOT / "data" / "demo" / "candidates.csv").set_index("cand_id")
    space = cands[["office_m2", "lab_m2", "heavy_lab_m2", "hazard_lab_m2"]].sum(axis=1)
    anchors = cands["tier"].isin(["international_major", "national_qi_centre", "local_champion"])
    kpis = {k.kpi.id: k for k in office.kpis(8)}
    k81, k82 = kpis["K8-1"], kpis["K8-2"]
    assert [a.on for a in k81.actuals] == [date(2027, 12, 31), date(2028, 12, 31)]
    assert [a.value for a in k81.actuals] == [
        float(anchors[["C0001", "C0003"]].sum()),
        float(anchors[["C0001", "C0003", "C0004"]].sum()),
    ]
    assert k82.latest.value == pytest.approx(space[["C0001", "C0003", "C0004"]].sum())
    assert "adopted-1" in k82.note


def test_kpi_actuals_by_hand(ws):
    owner3 = as_(ws, "owner3")
    owner3.add_kpi_actual("K3-1", "2026-11-30", 2, note="首批")
    with pytest.raises(InputError, match="already has a value on 2026-11-30"):
        owner3.add_kpi_actual("K3-1", "2026-11-30", 3)
    with pytest.raises(PermissionDenied):
        owner3.add_kpi_actual("K4-1", "2026-11-30", 3)
    k = {k.kpi.id: k for k in owner3.kpis(3)}["K3-1"]
    assert k.latest.value == 2 and k.latest.entered_by == "owner3"


# ---------------------------------------------------------------- evidence
def test_evidence_is_kept_with_its_checksum(ws, tmp_path):
    doc = tmp_path / "方案.pdf"
    doc.write_bytes(b"%PDF-1.4 evidence\n" * 100)
    owner3 = as_(ws, "owner3")
    ev = owner3.add_evidence("M3-2", doc, note="实施方案")
    assert ev.sha256 == hashlib.sha256(doc.read_bytes()).hexdigest()
    assert ev.media_type == "application/pdf" and ev.size == doc.stat().st_size
    got, content = owner3.evidence_content(ev.id)
    assert content == doc.read_bytes() and got.filename == "方案.pdf"
    assert [e.id for e in owner3.evidence("M3-2")] == [ev.id]
    with pytest.raises(PermissionDenied):
        as_(ws, "owner8").add_evidence("M3-2", doc)
    with ws.begin() as conn:
        conn.execute(
            sa.text("UPDATE evidence SET content = :c WHERE id = :i"),
            {"c": b"tampered", "i": ev.id},
        )
    with pytest.raises(ParkplanError, match="does not match its SHA-256"):
        owner3.evidence_content(ev.id)


# --------------------------------------------------------------- baselines
def test_baseline_save_and_compare(ws):
    office = as_(ws, "office")
    office.save_baseline("stocktake-2026-W48", DEMO_DATE)
    with pytest.raises(InputError, match="already exists"):
        office.save_baseline("stocktake-2026-W48", DEMO_DATE)
    m = office.milestone("M7-2")
    office.update_milestone("M7-2", m.version, forecast="2027-09-30")  # +92 days: red
    comp = office.compare_baseline("stocktake-2026-W48", DEMO_DATE)
    changes = {(c.kind, c.id): c for c in comp.changes}
    assert changes[("milestone", "M7-2")].forecast_delta_days == 92
    assert changes[("rating", "7")].trend == "worsening"
    # the trend takes the last baseline before the day rated: not one as of that day
    same_day = {s.task.number: s for s in office.task_statuses(DEMO_DATE)}[7]
    assert same_day.trend == "new" and same_day.baseline is None
    status7 = {s.task.number: s for s in office.task_statuses(date(2026, 11, 26))}[7]
    assert status7.rating == "red" and status7.trend == "worsening"
    assert status7.baseline == "stocktake-2026-W48"
    assert not [
        c
        for c in Tracker(ws, "viewer").compare_baseline("stocktake-2026-W48", DEMO_DATE).changes
        if c.kind != "rating"
    ]
    with pytest.raises(NotFound, match="no baseline 'nope'; baselines: stocktake-2026-W48"):
        office.compare_baseline("nope")


def test_baseline_cli(loc):
    saved = cli(
        "baseline", "save", "b1", "--as-of", "2026-11-25", "--as", "office", "--workspace", loc
    )
    assert saved.exit_code == 0, saved.output
    out = cli(
        "baseline",
        "compare",
        "b1",
        "--as-of",
        "2026-11-25",
        "--format",
        "json",
        "--as",
        "office",
        "--workspace",
        loc,
    )
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert data["baseline"] == "b1"
    assert {c["trend"] for c in data["changes"] if c["kind"] == "rating"} == {"steady"}


# --------------------------------------------------------------------- users
def test_users_and_the_last_admin(ws):
    admin = as_(ws, "admin")
    with pytest.raises(ParkplanError, match="last active admin"):
        admin.update_user("admin", 1, role="viewer")
    with pytest.raises(NotFound, match="unknown user 'ghost'"):
        Tracker(ws, "ghost")
    admin.update_user("owner3", 1, active=False)
    with pytest.raises(PermissionDenied, match="deactivated"):
        as_(ws, "owner3").update_milestone("M3-3", 1, percent=10)


# ----------------------------------------------------------------------- CLI
def test_cli_round_trip_of_a_milestone(loc):
    add = cli(
        "milestones",
        "add",
        "--task",
        "3",
        "--title-zh",
        "首批证书评审会",
        "--owner",
        "认证监督管理处",
        "--start",
        "2027-01-10",
        "--due",
        "2027-01-20",
        "--depends-on",
        "M3-2",
        "--as",
        "owner3",
        "--workspace",
        loc,
    )
    assert add.exit_code == 0, add.output
    assert "added milestone M3-5 (version 1)" in add.stdout
    upd = cli(
        "milestones",
        "update",
        "M3-5",
        "--version",
        "1",
        "--status",
        "done",
        "--forecast",
        "2027-01-18",
        "--as",
        "owner3",
        "--workspace",
        loc,
    )
    assert upd.exit_code == 0 and "now version 2" in upd.stdout
    stale = cli(
        "milestones",
        "update",
        "M3-5",
        "--version",
        "1",
        "--percent",
        "10",
        "--as",
        "owner3",
        "--workspace",
        loc,
    )
    assert stale.exit_code == 2
    assert "you read version 1, it is now version 2; owner3 changed it" in stale.stderr
    listed = cli(
        "milestones",
        "list",
        "--task",
        "3",
        "--format",
        "json",
        "--as",
        "owner3",
        "--workspace",
        loc,
    )
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["M3-5"]["status"] == "done" and rows["M3-5"]["percent"] == 100
    assert rows["M3-5"]["schedule"]["early_start"] >= "2027-01-10"
    table = cli("milestones", "list", "--as", "owner3", "--workspace", loc)
    assert "M3-5" in table.stdout and "slack" in table.stdout


def test_cli_lists_and_steps(loc):
    for args in (
        ["risks", "list"],
        ["escalations", "list"],
        ["matters", "list"],
        ["users", "list"],
        ["kpis", "list"],
        ["baseline", "list"],
        ["journal", "--entity", "milestone", "--id", "M3-1"],
    ):
        out = cli(*args, "--format", "json", "--as", "convenor", "--workspace", loc)
        assert out.exit_code == 0, (args, out.output)
        json.loads(out.stdout)
    risks = json.loads(
        cli("risks", "list", "--format", "json", "--as", "viewer", "--workspace", loc).stdout
    )
    assert risks == []
    ack = cli(
        "escalations", "ack", "9", "--comment", "已阅", "--as", "convenor", "--workspace", loc
    )
    assert ack.exit_code == 0 and "is acknowledged" in ack.stdout
    rep = cli(
        "matters",
        "report-done",
        "1",
        "--version",
        "1",
        "--to",
        "市场监管总局",
        "--as",
        "office",
        "--workspace",
        loc,
    )
    assert rep.exit_code == 0, rep.output
    add = cli(
        "risks",
        "add",
        "--task",
        "3",
        "--title-zh",
        "t",
        "--cause",
        "c",
        "--effect",
        "e",
        "--likelihood",
        "7",
        "--impact",
        "2",
        "--owner",
        "认证监督管理处",
        "--as",
        "owner3",
        "--workspace",
        loc,
    )
    assert add.exit_code == 2 and "likelihood" in add.stderr and "≤ 5" in add.stderr
    user = cli(
        "users",
        "add",
        "wang",
        "--role",
        "task_owner",
        "--tasks",
        "4,9",
        "--clearance",
        "内部",
        "--as",
        "admin",
        "--workspace",
        loc,
    )
    assert user.exit_code == 0 and "clearance internal" in user.stdout


def test_a_transaction_is_all_or_nothing_and_a_caught_refusal_keeps_the_rest(loc):
    before = snapshot(loc)
    with Workspace.open(loc) as ws:
        office = as_(ws, "office")
        with pytest.raises(StaleVersion):
            with office.transaction():
                office.update_milestone("M3-3", 1, percent=10)
                office.as_user("owner8").update_milestone("M8-4", 1, percent=5)
                office.update_milestone("M3-3", 1, percent=20)  # stale inside: all undone
    assert snapshot(loc) == before
    with Workspace.open(loc) as ws:
        office = as_(ws, "office")
        with office.transaction():
            office.update_milestone("M3-3", 1, percent=10)
            with pytest.raises(PermissionDenied):
                office.as_user("owner3").update_milestone("M8-4", 1, percent=5)
            office.as_user("owner8").update_milestone("M8-4", 1, percent=5)
        assert office.milestone("M3-3").percent == 10
        assert office.milestone("M8-4").version == 2


# ------------------------------------------- trend against the last stocktake
def test_last_baseline_is_the_newest_as_of_before_the_day_then_by_save_time(ws):
    office = as_(ws, "office", day="2026-11-20", hm="09:00")
    assert office.last_baseline(date(2026, 11, 25)) is None
    as_(ws, "office", day="2026-11-21").save_baseline("late-save-early-day", date(2026, 11, 16))
    office.save_baseline("early-save-later-day", date(2026, 11, 18))
    as_(ws, "office", day="2026-11-19").save_baseline("same-day-saved-first", date(2026, 11, 18))
    as_(ws, "office", day="2026-11-25").save_baseline("today", date(2026, 11, 25))
    # newest as-of first; on the same as-of, the later save wins, whatever the names
    assert office.last_baseline(date(2026, 11, 25)).name == "early-save-later-day"
    assert office.last_baseline(date(2026, 11, 26)).name == "today"
    assert office.last_baseline(date(2026, 11, 18)).name == "late-save-early-day"  # strictly
    assert office.last_baseline(date(2026, 11, 16)) is None
    assert [b.name for b in office.baselines()] == [
        "late-save-early-day",
        "same-day-saved-first",
        "early-save-later-day",
        "today",
    ]


def test_tasks_list_right_after_saving_todays_stocktake_compares_with_the_previous(loc):
    with Workspace.open(loc) as ws:
        office = as_(ws, "office", day="2026-11-25")
        office.save_baseline("stocktake-2026-W47", date(2026, 11, 18))
        m = office.milestone("M7-2")
        office.update_milestone("M7-2", m.version, forecast="2027-09-30")  # red now
        office.save_baseline("stocktake-2026-W48", date(2026, 11, 25))
        status7 = {s.task.number: s for s in office.task_statuses(date(2026, 11, 25))}[7]
        assert status7.baseline == "stocktake-2026-W47" and status7.trend == "worsening"
        nextday = {s.task.number: s for s in office.task_statuses(date(2026, 11, 26))}[7]
        assert nextday.baseline == "stocktake-2026-W48" and nextday.trend == "steady"
    out = cli(
        "tasks",
        "list",
        "--as-of",
        "2026-11-25",
        "--format",
        "json",
        "--as",
        "office",
        "--workspace",
        loc,
    )
    assert out.exit_code == 0, out.output
    assert {t["trend_against"] for t in json.loads(out.stdout)} == {"stocktake-2026-W47"}


# ------------------------------------------------ major matters: the clock
def test_update_matter_cannot_set_the_reporting_fields(loc):
    before = snapshot(loc)
    with Workspace.open(loc) as ws:
        office = as_(ws, "office")
        for field, value in (
            ("status", "reported"),
            ("reported_at", "2026-11-23T10:00"),
            ("reported_by", "office"),
            ("reported_to", "市场监管总局"),
        ):
            with pytest.raises(InputError, match=f"'{field}': is set only by report_matter"):
                office.update_matter(1, 1, impact="x", **{field: value})
    assert snapshot(loc) == before
    with Workspace.open(loc) as ws:
        updated = as_(ws, "office").update_matter(1, 1, measures="已封存样品")
    assert updated.version == 2 and updated.status == "open" and updated.reported_at is None


def test_report_matter_refuses_a_time_before_it_happened_or_in_the_future(loc):
    before = snapshot(loc)
    with Workspace.open(loc) as ws:
        office = as_(ws, "office", day="2026-11-24", hm="12:00")
        with pytest.raises(InputError, match="before the matter happened"):
            office.report_matter(1, 1, to="市场监管总局", at=datetime(2026, 11, 22, 16, 0))
        with pytest.raises(InputError, match="in the future"):
            office.report_matter(1, 1, to="市场监管总局", at=datetime(2026, 11, 24, 12, 1))
        with pytest.raises(InputError, match="say to whom"):
            office.report_matter(1, 1, to=" ")
    assert snapshot(loc) == before
    with Workspace.open(loc) as ws:
        office = as_(ws, "office", day="2026-11-24", hm="12:00")
        done = office.report_matter(1, 1, to="市场监管总局", at=datetime(2026, 11, 22, 16, 30))
        assert done.reported_at == datetime(2026, 11, 22, 16, 30)  # the moment it happened
        with pytest.raises(InputError, match="'occurred_at': .* after the matter was reported"):
            office.update_matter(1, 2, occurred_at="2026-11-22T17:00")


def test_close_matter_only_after_reporting_and_a_closed_one_is_not_reported(ws):
    office = as_(ws, "office", day="2026-11-24")
    with pytest.raises(ParkplanError, match="is open; only a reported matter can be closed"):
        office.close_matter(1, 1)
    with pytest.raises(PermissionDenied, match="only the office and the convenor"):
        as_(ws, "owner3", day="2026-11-24").close_matter(1, 1)
    reported = office.report_matter(1, 1, to="市场监管总局")
    closed = office.close_matter(1, reported.version)
    assert closed.status == "closed" and closed.reported_to == "市场监管总局"
    assert office.journal("matter", "1")[-1].action == "close"
    # a matter closed before this rule existed (status written directly) is still refused
    with ws.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE major_matters SET status = 'closed', reported_at = NULL, "
                "reported_by = NULL, reported_to = NULL WHERE id = 1"
            )
        )
    with pytest.raises(ParkplanError, match="is closed; a closed matter is not reported"):
        office.report_matter(1, closed.version, to="市场监管总局")


# ------------------------------------------- journal of a linked site's move
def test_site_move_by_an_internal_milestone_is_journaled_as_internal(ws):
    _add_run(ws, "run-a", [("C0001", "S0003", 2026)])
    office = as_(ws, "office")
    m = office.update_milestone(
        "M8-3",
        office.milestone("M8-3").version,
        visibility="internal",
        title_zh="内部标题：交付谈判底价",
    )
    office.update_milestone("M8-3", m.version, forecast="2027-02-15")
    assert _site_year(ws, "S0003") == 2027
    for entity, entity_id in (("site", "S0003"), ("scenario_run", "run-a")):
        seen = office.journal(entity, entity_id)
        assert seen and {e.visibility for e in seen} == {"internal"}
        for reader in ("planner", "viewer"):  # clearance shareable, public
            assert Tracker(ws, reader).journal(entity, entity_id) == []
        out = cli(
            "journal",
            "--entity",
            entity,
            "--format",
            "json",
            "--as",
            "planner",
            "--workspace",
            ws.location,
        )
        assert out.exit_code == 0 and json.loads(out.stdout) == []
    assert "M8-3" in _stale(ws)["run-a"] and "内部标题" not in _stale(ws)["run-a"]


# ------------------------------------------------- CLI: the update commands
def _ok(*args):
    out = cli(*args)
    assert out.exit_code == 0, out.output
    return out.stdout


def _refused(*args):
    out = cli(*args)
    assert out.exit_code == 2, out.output
    return out.stderr


def test_cli_users_update(loc):
    w = ("--workspace", loc)
    assert "now version 2): office" in _ok(
        "users",
        "update",
        "owner3",
        "--version",
        "1",
        "--role",
        "office",
        "--tasks",
        "",
        "--as",
        "admin",
        *w,
    )
    assert "deactivated" in _ok(
        "users", "update", "owner8", "--version", "1", "--inactive", "--as", "admin", *w
    )
    users = {u["name"]: u for u in json.loads(_ok("users", "list", "--format", "json", *w))}
    assert users["owner3"]["role"] == "office" and users["owner3"]["tasks"] == []
    assert users["owner8"]["active"] is False
    assert "only the admin manages users" in _refused(
        "users", "update", "viewer", "--version", "1", "--role", "office", "--as", "office", *w
    )
    assert "you read version 1, it is now version 2" in _refused(
        "users", "update", "owner8", "--version", "1", "--active", "--as", "admin", *w
    )
    assert "last active admin" in _refused(
        "users", "update", "admin", "--version", "1", "--inactive", "--as", "admin", *w
    )
    assert "not a list of task numbers" in _refused(
        "users", "update", "owner8", "--version", "2", "--tasks", "x", "--as", "admin", *w
    )


def test_cli_tasks_update(loc):
    w = ("--workspace", loc)
    assert "updated task （三） (now version 2)" in _ok(
        "tasks",
        "update",
        "3",
        "--version",
        "1",
        "--lead-unit",
        "认证监督管理处",
        "--co-units",
        "浦东新区市场监管局,检验检测处",
        "--confirmed",
        "--as",
        "office",
        *w,
    )
    tasks = {t["number"]: t for t in json.loads(_ok("tasks", "list", "--format", "json", *w))}
    assert tasks[3]["co_units"] == ["浦东新区市场监管局", "检验检测处"]
    assert tasks[3]["proposed"] is False and tasks[3]["version"] == 2
    assert "may not update task 3" in _refused(
        "tasks", "update", "3", "--version", "2", "--lead-unit", "x", "--as", "owner3", *w
    )
    assert "clause_zh" not in _ok("tasks", "update", "--help")


def test_cli_kpis_add_and_update(loc):
    w = ("--workspace", loc, "--as", "office")
    assert "added KPI K3-2 (version 1)" in _ok(
        "kpis",
        "add",
        "--task",
        "3",
        "--name-zh",
        "单批次认证企业数",
        "--unit",
        "家",
        "--target",
        "20",
        "--target-date",
        "2027-12-31",
        *w,
    )
    assert "updated KPI K3-2 (now version 2)" in _ok(
        "kpis", "update", "K3-2", "--version", "1", "--target", "25", "--direction", "decrease", *w
    )
    kpis = {
        k["id"]: k for k in json.loads(_ok("kpis", "list", "--task", "3", "--format", "json", *w))
    }
    assert kpis["K3-2"]["target"] == 25 and kpis["K3-2"]["direction"] == "decrease"
    assert "only the office and the convenor" in _refused(
        "kpis",
        "add",
        "--task",
        "3",
        "--name-zh",
        "x",
        "--unit",
        "家",
        "--as",
        "owner3",
        "--workspace",
        loc,
    )
    assert "K3-2 already exists" in _refused(
        "kpis", "add", "--task", "3", "--name-zh", "x", "--unit", "家", "--id", "K3-2", *w
    )


def test_cli_matters_update_report_and_close(loc):
    w = ("--workspace", loc, "--as", "office")
    assert "now version 2" in _ok(
        "matters", "update", "1", "--version", "1", "--measures", "已封存样品", *w
    )
    assert "only the office and the convenor" in _refused(
        "matters",
        "update",
        "1",
        "--version",
        "2",
        "--impact",
        "x",
        "--as",
        "owner3",
        "--workspace",
        loc,
    )
    assert "--at" in _refused(
        "matters", "report-done", "1", "--version", "2", "--to", "总局", "--at", "yesterday", *w
    )
    assert "before the matter happened" in _refused(
        "matters",
        "report-done",
        "1",
        "--version",
        "2",
        "--to",
        "总局",
        "--at",
        "2026-11-22T16:00",
        *w,
    )
    _ok(
        "matters",
        "report-done",
        "1",
        "--version",
        "2",
        "--to",
        "市场监管总局",
        "--at",
        "2026-11-23T10:00",
        *w,
    )
    assert "is closed" in _ok("matters", "close", "1", "--version", "3", *w)
    matters = json.loads(_ok("matters", "list", "--format", "json", *w))
    assert matters[0]["status"] == "closed" and matters[0]["measures"] == "已封存样品"
