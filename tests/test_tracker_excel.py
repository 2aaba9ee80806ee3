"""Excel round trip of milestones and risks: export, edit, preview, apply; formula cells
neutralised; every bad input refused with a clear problem and nothing written."""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.errors import InputError
from parkplan.store import Workspace
from parkplan.tracker import PermissionDenied, Tracker
from parkplan.tracker.excel import (
    MILESTONE_COLUMNS,
    RISK_COLUMNS,
    apply_xlsx,
    export_xlsx,
    preview_xlsx,
)
from tests.conftest import snapshot

runner = CliRunner()


def clock(day="2026-11-26", hm="09:00"):
    return lambda: datetime.fromisoformat(f"{day}T{hm}")


def as_(ws, name, hm="09:00") -> Tracker:
    return Tracker(ws, name, clock=clock(hm=hm))


@pytest.fixture
def gpkg(tmp_path, demo_gpkg) -> str:
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    return str(path)


def _col(sheet: str, name: str) -> int:
    cols = MILESTONE_COLUMNS if sheet == "milestones" else RISK_COLUMNS
    return [c.name for c in cols].index(name) + 1


def _row_of(ws, record_id: str) -> int:
    for r in range(3, ws.max_row + 1):
        if ws.cell(r, 1).value == record_id:
            return r
    raise KeyError(record_id)


def edit(path: Path, out: Path, changes: list[tuple[str, str, str, object]]) -> Path:
    """Set cells by (sheet, record id, column name, value) with openpyxl, save as ``out``."""
    wb = openpyxl.load_workbook(path)
    for sheet, rid, column, value in changes:
        ws = wb[sheet]
        ws.cell(_row_of(ws, rid), _col(sheet, column)).value = value
    wb.save(out)
    return out


def _journal_count(ws) -> int:
    with ws.connect() as conn:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM journal").scalar()


# ----------------------------------------------------------------- round trip
def test_export_edit_preview_apply_round_trip(demo_location, tmp_path):
    exported = tmp_path / "plan.xlsx"
    with Workspace.open(demo_location) as ws:
        office = as_(ws, "office")
        export_xlsx(office, exported)
        assert preview_xlsx(office, exported).changes == ()  # unchanged file: no changes
        edited = edit(
            exported,
            tmp_path / "edited.xlsx",
            [
                ("milestones", "M3-2", "forecast", datetime(2027, 2, 15)),
                ("milestones", "M3-2", "note", "等待机构自查结果"),
                ("milestones", "M5-2", "status", "blocked"),
                ("risks", "R4-1", "likelihood", 4),
                ("risks", "R4-1", "mitigation", "分段推进配套文件"),
            ],
        )
        changes = preview_xlsx(office, edited)
        assert changes.ok, changes.lines()
        got = {
            (c.entity, c.id): {f.field: (f.before, f.after) for f in c.fields}
            for c in changes.changes
        }
        assert got == {
            ("milestone", "M3-2"): {
                "forecast": ("2027-01-15", "2027-02-15"),
                "note": ("", "等待机构自查结果"),
            },
            ("milestone", "M5-2"): {"status": ("in_progress", "blocked")},
            ("risk", "R4-1"): {
                "likelihood": (3, 4),
                "mitigation": ("提前与立法机关沟通，分段推进配套文件", "分段推进配套文件"),
            },
        }
        assert all(c.action == "update" and c.version for c in changes.changes)
        entries = _journal_count(ws)
        applied = apply_xlsx(office, edited)
        assert applied.changes == changes.changes
        m32, m52, r41 = office.milestone("M3-2"), office.milestone("M5-2"), office.risk("R4-1")
        assert m32.forecast == date(2027, 2, 15) and m32.note == "等待机构自查结果"
        assert m52.status == "blocked" and r41.likelihood == 4 and r41.score == 20
        assert _journal_count(ws) == entries + 3  # one entry per changed record
        last = office.journal("milestone", "M3-2")[-1]
        assert last.actor == "office" and set(last.changed_fields()) == {"forecast", "note"}
        # importing the same file again changes nothing; another edit on it is stale
        assert preview_xlsx(office, edited).changes == ()
        stale = edit(edited, tmp_path / "stale.xlsx", [("milestones", "M3-2", "percent", 70)])
        again = preview_xlsx(office, stale)
        assert not again.ok
        assert any(
            "you read version 2, it is now version 3; office changed it" in p.reason
            and "forecast 2027-01-15 → 2027-02-15" in p.reason
            for p in again.problems
        )


def test_new_rows_create_records_and_dependency_swaps_apply_in_a_safe_order(gpkg, tmp_path):
    exported = tmp_path / "plan.xlsx"
    with Workspace.open(gpkg) as ws:
        office = as_(ws, "office")
        export_xlsx(office, exported, tasks=[3])
        wb = openpyxl.load_workbook(exported)
        sheet = wb["milestones"]
        assert {sheet.cell(r, 3).value for r in range(3, sheet.max_row + 1)} == {3}
        # M3-2 depends on M3-1 now: reverse it (M3-1 after M3-2) in one import
        sheet.cell(_row_of(sheet, "M3-2"), _col("milestones", "depends_on")).value = None
        sheet.cell(_row_of(sheet, "M3-1"), _col("milestones", "depends_on")).value = "M3-2"
        row = sheet.max_row + 1
        for name, value in {
            "task": 3,
            "title_zh": "首批证书评审会",
            "owner": "认证监督管理处",
            "start": date(2027, 1, 10),
            "due": date(2027, 1, 20),
            "depends_on": "M3-2, M3-1",
        }.items():
            sheet.cell(row, _col("milestones", name)).value = value
        risks = wb["risks"]
        r = risks.max_row + 1
        for name, value in {
            "id": "R3-9",
            "task": 3,
            "title_zh": "评审专家不足",
            "cause": "专家库规模小",
            "effect": "评审推迟",
            "likelihood": 2,
            "impact": 3,
            "owner": "认证监督管理处",
        }.items():
            risks.cell(r, _col("risks", name)).value = value
        wb.save(tmp_path / "new.xlsx")
        changes = preview_xlsx(office, tmp_path / "new.xlsx")
        assert changes.ok, changes.lines()
        creates = [c for c in changes.changes if c.action == "create"]
        assert [(c.entity, c.id) for c in creates] == [("milestone", None), ("risk", "R3-9")]
        apply_xlsx(office, tmp_path / "new.xlsx")
        assert office.milestone("M3-1").depends_on == ("M3-2",)
        assert office.milestone("M3-2").depends_on == ()
        new = [m for m in office.milestones(3) if m.title_zh == "首批证书评审会"]
        assert new and new[0].id == "M3-5" and new[0].depends_on == ("M3-1", "M3-2")
        r39 = office.risk("R3-9")
        assert r39.score == 6 and r39.opened_on == date(2026, 11, 26)


# ------------------------------------------------------------ the workbook
def test_export_has_stable_header_chinese_labels_and_dropdowns(gpkg, tmp_path):
    out = tmp_path / "x.xlsx"
    with Workspace.open(gpkg) as ws:
        export_xlsx(as_(ws, "office"), out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["milestones", "risks", "说明"]
    for name, cols in (("milestones", MILESTONE_COLUMNS), ("risks", RISK_COLUMNS)):
        sheet = wb[name]
        assert [c.value for c in sheet[1]] == [c.name for c in cols]
        assert [c.value for c in sheet[1]][:2] == ["id", "version"]
        assert sheet.cell(2, 4).value.startswith("名称（中文）")  # Chinese first
        assert sheet.freeze_panes == "C3"
        lists = {
            str(dv.sqref).split(":")[0][:1]: dv.formula1
            for dv in sheet.data_validations.dataValidation
        }
        status = lists[openpyxl.utils.get_column_letter(_col(name, "status"))]
        visibility = lists[openpyxl.utils.get_column_letter(_col(name, "visibility"))]
        assert visibility == '"public,shareable,internal"'
        if name == "milestones":
            assert status == '"not_started,in_progress,done,blocked,cancelled"'
        else:
            assert status == '"open,closed"'
            for level in ("likelihood", "impact"):
                col = openpyxl.utils.get_column_letter(_col(name, level))
                assert lists[col] == '"1,2,3,4,5"'
    m = wb["milestones"]
    assert isinstance(m.cell(3, _col("milestones", "version")).value, int)
    assert isinstance(m.cell(3, _col("milestones", "due")).value, datetime)


def test_formula_cells_are_neutralised_on_export(gpkg, tmp_path):
    nasty = {
        "M3-3": "=1+1",
        "M3-4": "+cmd|' /C calc'!A0",
        "M5-2": "-2+3",
        "M5-3": "@SUM(A1:A2)",
        "M8-4": '\t=HYPERLINK("http://x")',
    }
    out = tmp_path / "x.xlsx"
    with Workspace.open(gpkg) as ws:
        office = as_(ws, "office")
        for mid, title in nasty.items():
            office.update_milestone(mid, office.milestone(mid).version, title_zh=title)
        export_xlsx(office, out)
        wb = openpyxl.load_workbook(out)
        sheet = wb["milestones"]
        for mid, title in nasty.items():
            cell = sheet.cell(_row_of(sheet, mid), _col("milestones", "title_zh"))
            assert cell.value == title and cell.data_type == "s" and cell.quotePrefix
        xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in xml and "<f " not in xml  # no formula anywhere
        assert "=1+1" in xml
        changes = preview_xlsx(office, out)
        assert changes.ok and changes.changes == ()  # the text comes back as the text
        # a user typing a real formula is refused: values only
        edit(out, tmp_path / "f.xlsx", [("milestones", "M3-2", "title_zh", "=A1&A2")])
        bad = preview_xlsx(office, tmp_path / "f.xlsx")
        assert [p.reason for p in bad.problems] == [
            "is a formula (=A1&A2); parkplan imports values only: type the value itself"
        ]


# --------------------------------------------------------------- bad input
def _renamed(path: Path, out: Path) -> None:
    wb = openpyxl.load_workbook(path)
    wb["milestones"].cell(1, _col("milestones", "title_zh")).value = "titel_zh"
    wb.save(out)


def _merged(path: Path, out: Path) -> None:
    wb = openpyxl.load_workbook(path)
    wb["risks"].merge_cells("F1:G1")
    wb.save(out)


BAD = {
    "renamed column": (
        _renamed,
        "milestones",
        1,
        "titel_zh",
        "column 'titel_zh' is not a column of sheet 'milestones' (renamed?)",
    ),
    "merged header": (_merged, "risks", 1, None, "header cells F1:G1 are merged: unmerge them"),
    "likelihood 7": (
        [("risks", "R4-1", "likelihood", 7)],
        "risks",
        None,
        "likelihood",
        "must be 1–5, not 7",
    ),
    "unknown status": (
        [("milestones", "M3-3", "status", "finished")],
        "milestones",
        None,
        "status",
        "unknown status 'finished': choose one of not_started",
    ),
    "due before start": (
        [("milestones", "M3-3", "due", datetime(2026, 1, 1))],
        "milestones",
        None,
        "due",
        "due 2026-01-01 is before start",
    ),
    "unknown owner": (
        [("milestones", "M3-3", "owner", "无此单位")],
        "milestones",
        None,
        "owner",
        "unknown owner '无此单位'",
    ),
    "missing dependency": (
        [("milestones", "M3-3", "depends_on", "M3-2, M3-99")],
        "milestones",
        None,
        "depends_on",
        "depends on M3-99, which does not exist",
    ),
    "cycle": (
        [("milestones", "M3-1", "depends_on", "M3-4")],
        "milestones",
        None,
        "depends_on",
        "dependency cycle: M3-1 → M3-4 → M3-3 → M3-2 → M3-1",
    ),
    "stale version": (
        [("milestones", "M8-2", "version", 1), ("milestones", "M8-2", "percent", 90)],
        "milestones",
        None,
        "version",
        "you read version 1, it is now version 2; office changed it at "
        "2026-11-20 09:00:00 (percent 0 → 40, status not_started → in_progress)",
    ),
}


def _make_bad(case, exported: Path, out: Path) -> Path:
    how = BAD[case][0]
    if callable(how):
        how(exported, out)
        return out
    return edit(exported, out, how)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_workbooks_are_refused_clearly_and_write_nothing(gpkg, tmp_path, case):
    _, sheet, row, column, reason = BAD[case]
    exported = tmp_path / "plan.xlsx"
    with Workspace.open(gpkg) as ws:
        export_xlsx(as_(ws, "office"), exported)
    bad = _make_bad(case, exported, tmp_path / "bad.xlsx")
    before = snapshot(gpkg)
    with Workspace.open(gpkg) as ws:
        office = as_(ws, "office")
        changes = preview_xlsx(office, bad)
        assert not changes.ok
        hits = [p for p in changes.problems if reason in p.reason]
        assert hits, changes.lines()
        assert hits[0].sheet == sheet and hits[0].column == column
        if row is not None:
            assert hits[0].row == row
        else:
            assert hits[0].row >= 3 and re.fullmatch(r"[A-Z]+\d+", hits[0].cell)
        with pytest.raises(InputError) as err:
            apply_xlsx(office, bad)
        assert reason in str(err.value)
    assert snapshot(gpkg) == before


def test_bad_edits_on_postgis_write_nothing(store, demo_location, tmp_path):
    """All-or-nothing on both stores: one bad row among good ones writes nothing."""
    exported = tmp_path / "plan.xlsx"
    with Workspace.open(demo_location) as ws:
        export_xlsx(as_(ws, "office"), exported)
    bad = edit(
        exported,
        tmp_path / "bad.xlsx",
        [("milestones", "M3-3", "percent", 10), ("milestones", "M3-1", "depends_on", "M3-4")],
    )
    before = snapshot(demo_location)
    with Workspace.open(demo_location) as ws:
        with pytest.raises(InputError, match="dependency cycle"):
            apply_xlsx(as_(ws, "office"), bad)
    assert snapshot(demo_location) == before


def test_wrong_role_is_refused(gpkg, tmp_path):
    exported = tmp_path / "plan.xlsx"
    with Workspace.open(gpkg) as ws:
        export_xlsx(as_(ws, "office"), exported)
        edited = edit(exported, tmp_path / "e.xlsx", [("milestones", "M4-1", "percent", 75)])
        before = snapshot(gpkg)
        changes = preview_xlsx(as_(ws, "owner3"), edited)
        assert [p.reason for p in changes.problems] == [
            "owner3 (任务牵头单位 task owner of task （三）) may not update milestone M4-1: "
            "task owners edit only their own tasks' records; this is task （四）"
        ]
        with pytest.raises(InputError, match="may not update milestone M4-1"):
            apply_xlsx(as_(ws, "owner3"), edited)
        viewer = preview_xlsx(as_(ws, "viewer"), edited)
        assert any("no milestone M4-1 visible to you" in p.reason for p in viewer.problems)
        with pytest.raises(PermissionDenied):  # the API itself refuses, too
            as_(ws, "planner").update_milestone("M4-1", 3, percent=75)
    assert snapshot(gpkg) == before


def test_not_a_workbook(gpkg, tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a zip")
    with Workspace.open(gpkg) as ws:
        changes = preview_xlsx(as_(ws, "office"), junk)
    assert not changes.ok and "not an XLSX workbook" in changes.problems[0].reason


# ----------------------------------------------------------------------- CLI
def test_cli_export_preview_apply(gpkg, tmp_path):
    out = tmp_path / "plan.xlsx"
    result = runner.invoke(
        app,
        [
            "milestones",
            "export-xlsx",
            str(out),
            "--task",
            "8",
            "--as",
            "owner8",
            "--workspace",
            gpkg,
        ],
    )
    assert result.exit_code == 0, result.output
    edited = edit(out, tmp_path / "e.xlsx", [("milestones", "M8-3", "percent", 80)])
    before = snapshot(gpkg)
    preview = runner.invoke(
        app, ["milestones", "import-xlsx", str(edited), "--as", "owner8", "--workspace", gpkg]
    )
    assert preview.exit_code == 0, preview.output
    assert "milestone M8-3 (milestones row" in preview.stdout
    assert "percent: 60 → 80" in preview.stdout and "nothing written" in preview.stdout
    assert snapshot(gpkg) == before
    applied = runner.invoke(
        app,
        [
            "milestones",
            "import-xlsx",
            str(edited),
            "--apply",
            "--as",
            "owner8",
            "--workspace",
            gpkg,
        ],
    )
    assert applied.exit_code == 0 and "applied 1 record changes" in applied.stdout
    again = runner.invoke(
        app,
        [
            "milestones",
            "import-xlsx",
            str(edited),
            "--apply",
            "--as",
            "owner8",
            "--workspace",
            gpkg,
        ],
    )
    assert again.exit_code == 0 and "applied 0 record changes" in again.stdout
    stale = edit(out, tmp_path / "s.xlsx", [("milestones", "M8-3", "percent", 90)])
    refused = runner.invoke(
        app,
        ["milestones", "import-xlsx", str(stale), "--apply", "--as", "owner8", "--workspace", gpkg],
    )
    assert refused.exit_code == 2 and "it is now version 3" in refused.stderr
