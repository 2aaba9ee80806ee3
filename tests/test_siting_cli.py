"""``parkplan solve`` as the issue writes it: who may solve, and who records the run."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.cli.siting import print_explanation
from parkplan.siting import evaluate, read_instance
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
    relaxation = {"constraint": "budget", "text": "raise the budget from 1 to 2 万元"}
    info = {
        "conflicts": ["budget"],
        "relaxations": [relaxation],
        "proven_smallest": False,
        "note": "a relaxation that makes it feasible, not proven smallest",
    }
    print_explanation({"infeasibility": info})
    out = capsys.readouterr().out
    assert "not proven smallest" in out and "最小放宽" not in out
    print_explanation({"infeasibility": {**info, "proven_smallest": True, "note": None}})
    assert "最小放宽 smallest relaxation" in capsys.readouterr().out
