"""``parkplan solve`` as the issue writes it: who may solve, and who records the run."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import yaml
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.cli.siting import print_explanation
from parkplan.siting import evaluate, read_instance
from parkplan.siting.explanation import Explanation, Infeasibility, Relaxation
from tests.conftest import snapshot

runner = CliRunner()

# Solves to proven optimality on the demo layers in well under a second.
SMALL = {
    "name": "small",
    "horizon": [2026, 2028],
    "budget": 9000,
    "quotas": {"tier": {"national_qi_centre": 1}, "sector": {"ic": 1}},
    "solver": {"name": "highs", "time_limit": 30, "gap": 0.0},
}


@pytest.fixture
def workspace(demo_gpkg, tmp_path):
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    return path


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def _runs(workspace) -> list:
    listing = runner.invoke(
        app, ["scenarios", "list", "--format", "json", "--workspace", str(workspace)]
    )
    assert listing.exit_code == 0, listing.output
    return json.loads(listing.stdout)


def test_anonymous_solve_writes_its_files_and_is_not_recorded(
    workspace, scenario, tmp_path, monkeypatch
):
    monkeypatch.delenv("PARKPLAN_USER", raising=False)
    before = snapshot(str(workspace))
    result = runner.invoke(
        app,
        [
            "solve",
            str(scenario),
            "-w",
            str(workspace),
            "--out",
            str(tmp_path / "result.json"),
            "--export-instance",
            str(tmp_path / "instance.json"),
            "--alternatives",
            "1",
            "--irreplaceable",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "状态 status: optimal" in result.stdout and "按园区 by park" in result.stdout
    assert "not recorded" in result.stdout
    assert "not recorded in the scenario ledger" in result.stderr
    assert "--as USER or PARKPLAN_USER" in result.stderr and "planner" in result.stderr
    res = json.loads((tmp_path / "result.json").read_text())
    inst = read_instance(tmp_path / "instance.json")
    assert res["status"] == "optimal"
    assert evaluate(inst, res["allocation"]) == pytest.approx(res["objective"])
    assert snapshot(str(workspace)) == before and _runs(workspace) == []


@pytest.mark.parametrize("how", ["--as", "PARKPLAN_USER"])
def test_named_user_without_a_planning_role_is_refused(
    workspace, scenario, tmp_path, monkeypatch, how
):
    monkeypatch.delenv("PARKPLAN_USER", raising=False)
    args = ["solve", str(scenario), "-w", str(workspace), "--out", str(tmp_path / "r.json")]
    if how == "--as":
        args += ["--as", "viewer"]
    else:
        monkeypatch.setenv("PARKPLAN_USER", "viewer")
    before = snapshot(str(workspace))
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "viewer" in result.stderr and "may not record siting runs" in result.stderr
    assert not (tmp_path / "r.json").exists() and snapshot(str(workspace)) == before


def test_planner_records_the_run(workspace, scenario, monkeypatch):
    monkeypatch.delenv("PARKPLAN_USER", raising=False)
    result = runner.invoke(
        app, ["solve", str(scenario), "-w", str(workspace), "--as", "planner", "--no-explain"]
    )
    assert result.exit_code == 0, result.output
    assert "not recorded" not in result.output
    (run,) = _runs(workspace)
    assert f"run {run['run_id']}" in result.stdout and run["created_by"] == "planner"
    # Recorded without explanations, the run still compares with its own accounts.
    cmp = runner.invoke(
        app, ["scenarios", "compare", run["run_id"], run["run_id"], "--workspace", str(workspace)]
    )
    assert cmp.exit_code == 0, cmp.output
    assert "objective by park" in cmp.stdout and "note:" not in cmp.stdout
    park_lines = cmp.stdout.split("objective by park\n")[1].split("objective by tier")[0]
    assert park_lines.strip() and " - " not in park_lines


def test_a_relaxation_not_proven_smallest_is_not_called_smallest(capsys):
    relaxation = Relaxation("budget", "budget", current=1.0, needed=2.0)
    info = Infeasibility(
        conflicts=["budget"],
        relaxations=[relaxation],
        proven_smallest=False,
        note="not_proven_smallest",
    )
    print_explanation(Explanation(infeasibility=info))
    out = capsys.readouterr().out
    assert "not proven smallest" in out and "最小放宽" not in out
    assert "raise the budget from 1 to 2 万元" in out and "预算从 1 万元增加到 2 万元" in out
    proven = replace(info, proven_smallest=True, note=None)
    print_explanation(Explanation(infeasibility=proven))
    assert "最小放宽 smallest relaxation" in capsys.readouterr().out


def test_explanations_round_trip_through_the_ledger_json():
    """Typed explanations read back from their JSON, and runs stored before the types."""
    info = Infeasibility(
        conflicts=["budget", "space_S-1_lab_m2"],
        relaxations=[
            Relaxation("budget", "budget", 10.0, 12.5),
            Relaxation("tier", "tier_startup", 3, 2, group="startup"),
            Relaxation(
                "space", "space_S-1_lab_m2", 100.0, 250.0, site_id="S-1", space_class="lab_m2"
            ),
            Relaxation("fixed", "fixed_C_1_S2", 1, 0, cand_id="C_1", site_id="S2"),
        ],
        proven_smallest=True,
    )
    e = Explanation(infeasibility=info)
    assert Explanation.from_dict(json.loads(json.dumps(e.to_dict()))) == e
    # A run recorded with sentences instead of codes: kinds and ids from the names.
    legacy = {
        "infeasibility": {
            "conflicts": ["budget"],
            "relaxations": [
                {"constraint": r.constraint, "current": r.current, "needed": r.needed, "text": "…"}
                for r in info.relaxations
            ],
            "proven_smallest": False,
            "note": "no relaxation was found within the time limit",
        }
    }
    back = Explanation.from_dict(legacy).infeasibility
    assert [r.text("en") for r in back.relaxations] == [r.text("en") for r in info.relaxations]
    assert back.note == "no_relaxation_found" and not back.proven_smallest
