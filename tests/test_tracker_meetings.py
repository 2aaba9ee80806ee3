"""Task-force meetings (会商研判): actions join the boards; only the office and the convenor
record meetings; bad actions write nothing."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.errors import InputError
from parkplan.identity.users import User
from parkplan.store import Workspace
from parkplan.tracker import NotFound, PermissionDenied, StaleVersion, Tracker
from parkplan.tracker import meetings as mt
from parkplan.tracker.seed import DEMO_DATE
from tests.conftest import snapshot

runner = CliRunner()


def as_(ws, name, hm="09:00") -> Tracker:
    return Tracker(ws, name, clock=lambda: datetime.fromisoformat(f"2026-11-25T{hm}"))


@pytest.fixture
def gpkg(tmp_path, demo_gpkg) -> str:
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    return str(path)


ACTIONS = [
    {
        "task": 3,
        "title_zh": "出具指定认证机构实施方案编制指引",
        "owner": "认证监督管理处",
        "due": "2026-12-15",
    },
    {
        "task": 8,
        "title_zh": "与园区运营方建立场地交付周调度",
        "owner": "owner8",
        "due": "2026-12-05",
        "visibility": "shareable",
    },
]


def _record(tr: Tracker) -> mt.Meeting:
    return mt.add_meeting(
        tr,
        held_on=DEMO_DATE,
        title="工作专班第五次会商研判会",
        attendees=["局主要领导（召集人）", "工作专班办公室", "认证监督管理处"],
        topics=["单批次认证样品检测数据存疑事项", "首批场地交付进度"],
        decisions=["暂停相关批次认证评价，联合核查", "建立场地交付周调度"],
        actions=ACTIONS,
        convened_by="局主要领导",
    )


def test_actions_join_the_task_boards(store, demo_location):
    with Workspace.open(demo_location) as ws:
        office = as_(ws, "office")
        m = _record(office)
        assert m.id == 1 and m.actions == ("A3-1", "A8-1") and m.version == 1
        board3 = mt.board(office, 3, DEMO_DATE)
        kinds = {b.milestone.id: b.kind for b in board3}
        assert kinds["A3-1"] == "action" and kinds["M3-2"] == "milestone"
        action = next(b for b in board3 if b.milestone.id == "A3-1")
        assert action.meeting_id == 1 and action.to_dict()["kind_label"] == "议定事项"
        a = action.milestone
        assert (a.task, a.owner, a.start, a.due) == (
            3,
            "认证监督管理处",
            DEMO_DATE,
            date(2026, 12, 15),
        )
        assert a.visibility == "internal" and "会商研判 #1" in a.note
        assert action.planned.entry is not None  # it is in the programme's CPM network
        # an action is a milestone: progress through the ordinary API, escalation rules see it
        done = office.update_milestone("A3-1", 1, status="done", forecast="2026-12-10")
        assert done.percent == 100
        run = office.escalate(date(2026, 12, 1))
        assert any(e.subject_id == "A8-1" and e.rule_id == "due_soon" for e in run.created)
        assert [x.id for x in mt.meeting_actions(office, 1)] == ["A3-1", "A8-1"]
        assert [x.id for x in mt.meetings(office, task=8)] == [1]
        assert mt.meetings(office, task=5) == []
        created = office.journal("meeting", "1")
        assert len(created) == 1 and created[0].after["actions"] == ["A3-1", "A8-1"]


def test_visibility_of_meetings_and_their_actions(gpkg):
    with Workspace.open(gpkg) as ws:
        _record(as_(ws, "office"))
        planner = as_(ws, "planner")  # clearance 可共享 shareable
        assert mt.meetings(planner) == []
        with pytest.raises(NotFound, match="no meeting #1 visible to you"):
            mt.meeting(planner, 1)
        ids = {b.milestone.id for b in mt.board(planner)}
        assert "A8-1" in ids and "A3-1" not in ids  # the internal action is hidden
        assert mt.meeting(as_(ws, "convenor"), 1).title == "工作专班第五次会商研判会"


@pytest.mark.parametrize(
    "who, code, message",
    [
        (
            "viewer",
            "viewer_read_only",
            "viewer (查阅人员 viewer) may not record meetings: viewers read and do not write",
        ),
        ("planner", "planner_no_records", "planners edit siting scenarios, not tracker records"),
        (
            "owner3",
            "office_only",
            "may not record meetings: only the office and the convenor do this",
        ),
        ("admin", "admin_users_only", "the admin manages users only, not tracker records"),
    ],
)
def test_only_office_and_convenor_record_meetings(gpkg, who, code, message):
    before = snapshot(gpkg)
    with Workspace.open(gpkg) as ws:
        with pytest.raises(PermissionDenied) as err:
            _record(as_(ws, who))
    assert message in str(err.value)
    assert err.value.code == code
    assert {k: err.value.values[k] for k in ("user", "action", "entity", "record")} == {
        "user": who,
        "action": "record",
        "entity": "meetings",
        "record": None,
    }
    assert snapshot(gpkg) == before
    with Workspace.open(gpkg) as ws:
        assert _record(as_(ws, "convenor")).recorded_by == "convenor"


def test_a_meeting_above_the_clearance_is_refused_with_its_code():
    office = User(name="office2", role="office", clearance="shareable")
    meeting = mt.Meeting(
        id=4,
        held_on=DEMO_DATE,
        title="t",
        attendees=("a",),
        recorded_by="office",
        recorded_at=datetime(2026, 11, 25, 9),
        visibility="internal",
    )
    with pytest.raises(
        PermissionDenied,
        match="may not update a meeting at 内部 internal: above your clearance shareable",
    ) as err:
        mt.check_write(office, "update", meeting)
    assert err.value.code == "above_clearance"
    assert err.value.values == {
        "user": "office2",
        "role": "office",
        "tasks": [],
        "action": "update",
        "entity": "meeting",
        "record": "4",
        "task": None,
        "visibility": "internal",
        "clearance": "shareable",
    }


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"owner": "无此单位"}, "unknown owner '无此单位'"),
        ({"due": "2026-11-01"}, "due 2026-11-01 is before the meeting (2026-11-25)"),
        ({"task": 12}, "12 is too large: it must be ≤ 9"),
    ],
)
def test_a_bad_action_writes_nothing(gpkg, bad, message):
    before = snapshot(gpkg)
    actions = [ACTIONS[0], {**ACTIONS[1], **bad}]
    with Workspace.open(gpkg) as ws:
        with pytest.raises(InputError) as err:
            mt.add_meeting(
                as_(ws, "office"), held_on=DEMO_DATE, title="会商", attendees=["x"], actions=actions
            )
    assert message in str(err.value)
    assert snapshot(gpkg) == before


def test_update_and_add_action_with_versions(gpkg):
    with Workspace.open(gpkg) as ws:
        office = as_(ws, "office")
        _record(office)
        m = mt.update_meeting(office, 1, 1, decisions=["暂停相关批次认证评价"])
        assert m.version == 2 and m.decisions == ("暂停相关批次认证评价",)
        with pytest.raises(StaleVersion, match="you read version 1, it is now version 2"):
            mt.update_meeting(as_(ws, "convenor"), 1, 1, title="改")
        m = mt.add_action(
            office,
            1,
            2,
            {"task": 3, "title_zh": "再次核查", "owner": "owner3", "due": "2026-12-20"},
        )
        assert m.actions == ("A3-1", "A8-1", "A3-2") and m.version == 3
        with pytest.raises(InputError, match="is not a field that can be changed"):
            mt.update_meeting(office, 1, 3, actions=())


def test_cli_meetings_add_and_list(gpkg):
    result = runner.invoke(
        app,
        [
            "meetings",
            "add",
            "--date",
            "2026-11-25",
            "--title",
            "专班会商",
            "--attendee",
            "工作专班办公室",
            "--attendee",
            "认证监督管理处",
            "--decision",
            "联合核查",
            "--action",
            "3;认证监督管理处;2026-12-15;出具编制指引",
            "--as",
            "office",
            "--workspace",
            gpkg,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "actions on the boards: A3-1" in result.stdout
    listed = runner.invoke(
        app, ["meetings", "list", "--format", "json", "--as", "convenor", "--workspace", gpkg]
    )
    data = json.loads(listed.stdout)
    assert data[0]["decisions"] == ["联合核查"]
    assert data[0]["actions"][0]["id"] == "A3-1" and data[0]["actions"][0]["due"] == "2026-12-15"
    board = runner.invoke(
        app, ["milestones", "list", "--task", "3", "--as", "convenor", "--workspace", gpkg]
    )
    assert "A3-1" in board.stdout
    bad = runner.invoke(
        app,
        [
            "meetings",
            "add",
            "--date",
            "2026-11-25",
            "--title",
            "x",
            "--attendee",
            "a",
            "--action",
            "3;only-two",
            "--as",
            "office",
            "--workspace",
            gpkg,
        ],
    )
    assert bad.exit_code == 2 and "TASK;OWNER;DUE;WHAT" in bad.output
    refused = runner.invoke(
        app,
        [
            "meetings",
            "add",
            "--date",
            "2026-11-25",
            "--title",
            "x",
            "--attendee",
            "a",
            "--as",
            "viewer",
            "--workspace",
            gpkg,
        ],
    )
    assert refused.exit_code == 2 and "may not record meetings" in refused.stderr
