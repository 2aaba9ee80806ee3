"""The security review, kept as tests: every write path refuses a reader, and no SQL is
built from strings outside the reviewed places (SECURITY.md)."""

from __future__ import annotations

import ast
import inspect
import shutil
from datetime import date
from pathlib import Path

import pytest

import parkplan
from parkplan.errors import InputError
from parkplan.services import planning
from parkplan.siting.scenario import parse_scenario
from parkplan.store import Workspace
from parkplan.tracker import Tracker, excel, meetings, notify
from parkplan.tracker.access import NotFound, PermissionDenied
from tests.conftest import snapshot
from tests.test_tracker_excel import edit

PACKAGE = Path(parkplan.__file__).parent

#: Tracker methods that only read.
READS = {
    "as_user",
    "baselines",
    "compare_baseline",
    "escalation",
    "escalations",
    "evidence",
    "evidence_content",
    "journal",
    "kpis",
    "last_baseline",
    "check_new_baseline",
    "matter",
    "matters",
    "milestone",
    "milestones",
    "plan",
    "programme",
    "risk",
    "risks",
    "schedule",
    "task",
    "task_statuses",
    "tasks",
    "transaction",
    "users",
}

#: Every Tracker write, called as a reader would (ids from the demo).
TRACKER_WRITES = {
    "update_task": lambda t: t.update_task(3, 1, lead_unit="x"),
    "add_milestone": lambda t: t.add_milestone(
        task=3, title_zh="x", owner="认证监督管理处", start="2027-01-01", due="2027-02-01"
    ),
    "update_milestone": lambda t: t.update_milestone("M8-2", 2, percent=90),
    "add_evidence": lambda t: t.add_evidence("M8-2", b"%PDF-1.4\n", filename="x.pdf"),
    "add_risk": lambda t: t.add_risk(
        task=3, title_zh="x", cause="c", effect="e", likelihood=1, impact=1, owner="认证监督管理处"
    ),
    "update_risk": lambda t: t.update_risk("R3-1", 1, mitigation="x"),
    "add_kpi": lambda t: t.add_kpi(task=3, name_zh="x", unit="张"),
    "update_kpi": lambda t: t.update_kpi("K2-2", 1, unit="x"),
    "add_kpi_actual": lambda t: t.add_kpi_actual("K2-2", "2027-01-01", 1),
    "escalate": lambda t: t.escalate(date(2026, 11, 26)),
    "acknowledge": lambda t: t.acknowledge(1, "x"),
    "act": lambda t: t.act(1, "x"),
    "close": lambda t: t.close(1, "x"),
    "add_matter": lambda t: t.add_matter(
        title="x", what_happened="x", occurred_at="2026-11-26T08:00", impact="x"
    ),
    "update_matter": lambda t: t.update_matter(1, 1, impact="x"),
    "report_matter": lambda t: t.report_matter(1, 1, to="市场监管总局"),
    "close_matter": lambda t: t.close_matter(1, 1),
    "add_user": lambda t: t.add_user("newbie", "viewer"),
    "update_user": lambda t: t.update_user("viewer", 1, role="office"),
    "save_baseline": lambda t: t.save_baseline("b"),
}

SCENARIO = {"name": "s", "budget": 9000, "solver": {"name": "highs", "time_limit": 10}}

#: Writes outside the Tracker class: meetings, notifications, Excel, the siting ledger.
OTHER_WRITES = {
    "meetings.add_meeting": lambda t: meetings.add_meeting(
        t, held_on="2026-11-26", title="x", attendees=["x"]
    ),
    "meetings.add_action": lambda t: meetings.add_action(
        t, 1, 1, {"title": "x", "owner": "x", "due": "2027-01-01", "task": 3}
    ),
    "meetings.update_meeting": lambda t: meetings.update_meeting(t, 1, 1, title="x"),
    "notify.enqueue": lambda t: notify.enqueue(t, notify.parse_channels({}), date(2026, 11, 26)),
    "notify.requeue": lambda t: notify.requeue(t.workspace, 1, user=t.user),
    "excel.apply_xlsx": "xlsx",
    "planning.run_scenario": lambda t: planning.run_scenario(
        t.workspace, parse_scenario(SCENARIO), user=t.user.name
    ),
    "planning.adopt_run": lambda t: planning.adopt_run(t.workspace, "no-such-run", t.user.name),
}


@pytest.fixture(scope="module")
def readers_gpkg(demo_gpkg, tmp_path_factory) -> Path:
    """The demo plus ``reader``, a viewer cleared for internal records: it sees every record,
    so each refusal is the role's, not a record out of sight."""
    path = tmp_path_factory.mktemp("security") / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    with Workspace.open(path) as ws:
        Tracker(ws, "admin").add_user("reader", "viewer", clearance="internal")
        meetings.add_meeting(
            Tracker(ws, "office"), held_on="2026-11-20", title="会商", attendees=["office"]
        )
    return path


@pytest.fixture
def workspace_path(readers_gpkg, tmp_path) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copy(readers_gpkg, path)
    return path


def test_every_tracker_method_is_classified_as_a_read_or_a_write():
    public = {
        name
        for name, member in inspect.getmembers(Tracker, inspect.isfunction)
        if not name.startswith("_")
    }
    # A new method fails here until it is listed, and a write gets its refusal test.
    assert public == READS | set(TRACKER_WRITES)


def _edited_board(tracker: Tracker, folder: Path) -> Path:
    """The board as the reader exports it, with one milestone's percent changed."""
    excel.export_xlsx(tracker, folder / "board.xlsx")
    return edit(
        folder / "board.xlsx", folder / "edited.xlsx", [("milestones", "M8-2", "percent", 57)]
    )


@pytest.mark.parametrize(
    "who, refusals",
    [
        ("reader", (PermissionDenied,)),
        # A public-only viewer or nobody sees no demo record: changing one is "not found".
        ("viewer", (PermissionDenied, NotFound, InputError)),
        (None, (PermissionDenied, NotFound, InputError)),
    ],
    ids=["reader", "viewer", "anonymous"],
)
@pytest.mark.parametrize("write", [*TRACKER_WRITES, *OTHER_WRITES])
def test_every_write_path_refuses_a_reader_and_writes_nothing(
    workspace_path, tmp_path, write, who, refusals
):
    with Workspace.open(workspace_path) as ws:
        tracker = Tracker(ws, who)
        action = TRACKER_WRITES.get(write) or OTHER_WRITES[write]
        if action == "xlsx":
            book = _edited_board(Tracker(ws, "reader"), tmp_path)
            action = lambda t: excel.apply_xlsx(t, book)  # noqa: E731
            # The workbook's refusals name sheet and row, so they come as one InputError.
            refusals = (*refusals, InputError)
        before = snapshot(str(workspace_path))
        with pytest.raises(refusals) as refused:
            action(tracker)
        if who == "reader":
            assert "may not" in str(refused.value) or "only the" in str(refused.value)
    assert snapshot(str(workspace_path)) == before


def _sql_from_strings(tree: ast.AST) -> list[int]:
    """Lines where SQL text is an f-string, a %-format, a concatenation or .format()."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        owner = getattr(getattr(node.func, "value", None), "id", None)
        if name == "text" and owner not in (None, "sa", "sqlalchemy"):
            continue  # matplotlib's Axes.text and the like
        if name not in {"text", "exec_driver_sql", "execute", "executescript", "executemany"}:
            continue
        arg = node.args[0]
        built = (
            isinstance(arg, ast.JoinedStr)
            and any(isinstance(v, ast.FormattedValue) for v in arg.values)
            or isinstance(arg, ast.BinOp)
            and isinstance(arg.op, (ast.Mod, ast.Add))
            or isinstance(arg, ast.Call)
            and getattr(arg.func, "attr", "") == "format"
        )
        if built:
            lines.append(node.lineno)
    return lines


def test_no_sql_is_built_from_strings_outside_the_reviewed_places():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = _sql_from_strings(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            found[str(path.relative_to(PACKAGE))] = len(lines)
    # Reviewed in SECURITY.md: identifiers from fixed lists and constant SQL, never values
    # or user input. A new place fails here until it is reviewed and listed there.
    assert found == {"store/workspace.py": 2, "store/backup/postgres.py": 1}
