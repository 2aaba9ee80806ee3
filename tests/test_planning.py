"""Scenarios, explanations, the ledger and the siting CLI on the demo workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pulp
import pytest
import yaml
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.errors import SitingError
from parkplan.services import planning
from parkplan.siting import (
    SitingModel,
    check_feasible,
    evaluate,
    instance_from_dict,
    read_instance,
)
from parkplan.siting import explain as ex
from parkplan.siting.scenario import load_scenario, parse_scenario
from parkplan.siting.sweep import Axis, parse_vary, run_sweep
from parkplan.store import Workspace, ledger

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "models" / "scenarios"
runner = CliRunner()

# A small scenario on the demo layers that solves to proven optimality in well under a
# second: few candidates are worth placing under this budget.
SMALL = {
    "name": "small",
    "horizon": [2026, 2028],
    "budget": 9000,
    "quotas": {"tier": {"national_qi_centre": 1}, "sector": {"ic": 1}},
    "solver": {"name": "highs", "time_limit": 30, "gap": 0.0},
}


@pytest.fixture(scope="module")
def demo_frames(demo_gpkg):
    with Workspace.open(demo_gpkg) as ws:
        return planning.read_inputs(ws)


def small_instance(frames, **changes):
    sc = parse_scenario({**SMALL, **changes})
    inst, _ = planning.prepare(sc, frames)
    return inst


# ------------------------------------------------------------------ scenarios
def test_shipped_scenarios_are_valid():
    names = {p.stem for p in SCENARIOS.glob("*.yaml")}
    assert {"baseline", "infeasible-austerity"} <= names
    for path in SCENARIOS.glob("*.yaml"):
        assert load_scenario(path).name == path.stem


def test_misspelt_key_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nbudjet: 100\n")
    with pytest.raises(SitingError) as err:
        load_scenario(path)
    assert "budjet: no such scenario key; did you mean 'budget'?" in str(err.value)
    with pytest.raises(
        SitingError, match="solver.tme_limit: no such scenario key; did you mean 'time_limit'"
    ):
        parse_scenario({"name": "x", "budget": 1, "solver": {"tme_limit": 3}})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x", "budget": -5}, "budget: Input should be greater than or equal to 0"),
        (
            {"name": "x", "budget": 1, "quotas": {"tier": {"galactic": 1}}},
            "unknown tier 'galactic'",
        ),
        ({"name": "x", "budget": 1, "horizon": [2030, 2026]}, "first ≤ last"),
        ({"name": "x", "budget": 1, "value_mode": "hope"}, "value_mode"),
        ({"name": "bad name!", "budget": 1}, "name"),
    ],
)
def test_invalid_scenarios(data, message):
    with pytest.raises(SitingError, match="invalid scenario") as err:
        parse_scenario(data)
    assert message in str(err.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nbudget: [1,\n")
    with pytest.raises(SitingError, match=r"not valid YAML at line \d+"):
        load_scenario(path)


def test_bad_pairs_and_impossible_quotas_fail_before_solving(demo_frames):
    with pytest.raises(SitingError, match="C9999"):
        small_instance(demo_frames, fixed=[["C9999", "S0001"]])
    with pytest.raises(SitingError, match="S9999"):
        small_instance(demo_frames, excluded=[["C0001", "S9999"]])
    with pytest.raises(SitingError, match="international_major"):
        small_instance(demo_frames, quotas={"tier": {"international_major": 500}})


def test_pairs_naming_a_landed_candidate(demo_frames):
    cands = demo_frames["candidates"].copy()
    cands.loc[cands["cand_id"] == "C0001", "stage"] = "landed"
    frames = {**demo_frames, "candidates": cands}
    with pytest.raises(
        SitingError,
        match=r"fixed pair \(C0001, S0001\): candidate C0001 has "
        r"landed already",
    ) as err:
        planning.prepare(parse_scenario({**SMALL, "fixed": [["C0001", "S0001"]]}), frames)
    assert "unknown candidate" not in str(err.value)
    # An exclusion of a landed candidate holds already: it is dropped, not refused.
    inst, _ = planning.prepare(
        parse_scenario({**SMALL, "excluded": [["C0001", "S0001"], ["C0002", "S0001"]]}), frames
    )
    assert "C0001" not in inst.cand_ids and inst.excluded == [("C0002", "S0001")]


def test_expected_value_mode_weights_by_stage(demo_frames):
    value = small_instance(demo_frames)
    expected = small_instance(demo_frames, value_mode="expected")
    cands = demo_frames["candidates"].set_index("cand_id")
    probability = {"identified": 0.2, "contacted": 0.35, "mou": 0.6, "signed": 0.9}
    for c, v_exp, v in zip(
        expected.cand_ids, expected.candidates["value"], value.candidates["value"], strict=True
    ):
        assert v_exp == pytest.approx(v * probability[cands.at[c, "stage"]])


def test_scenario_digest_ignores_layout():
    a = parse_scenario({"name": "x", "budget": 1, "discount_rate": 0.08})
    b = parse_scenario(yaml.safe_load("discount_rate: 0.08\nbudget: 1.0\nname: x\n"))
    assert a.digest() == b.digest()
    assert a.digest() != a.with_changes(budget=2).digest()


# --------------------------------------------------------------- explanations
def test_breakdowns_sum_to_the_objective(demo_frames):
    inst = small_instance(demo_frames)
    res = SitingModel.from_instance(inst).solve("highs", gap=0).result
    b = ex.objective_breakdown(inst, res.allocation)
    assert b.total == pytest.approx(res.objective)
    assert sum(p.net for p in b.by_park.values()) == pytest.approx(res.objective)
    assert sum(b.by_tier.values()) == pytest.approx(b.value)
    assert sum(b.by_sector.values()) == pytest.approx(b.value)


def test_space_use_matches_the_allocation(demo_frames):
    inst = small_instance(demo_frames)
    res = SitingModel.from_instance(inst).solve("highs", gap=0).result
    rows = pd.DataFrame(ex.space_use(inst, res.allocation))
    cands = inst.candidates.set_index("cand_id")
    total_lab = sum(cands.at[c, "lab_m2"] for c, _, _ in res.allocation)
    assert rows.loc[rows.space_class == "lab_m2", "used_m2"].sum() == pytest.approx(total_lab)
    assert (rows["used_m2"] <= rows["opened_m2"] + 1e-9).all()


def test_space_value_is_zero_where_space_is_slack(demo_frames):
    inst = small_instance(demo_frames)
    res = SitingModel.from_instance(inst).solve("highs", gap=0).result
    values = ex.space_values(inst, res.allocation)
    assert len(values) == inst.sites["park_id"].nunique() * 4
    assert all(v.value == 0 for v in values if not v.binding)
    assert all(v.value >= 0 for v in values)


def test_alternatives_differ_and_do_not_beat_the_optimum(demo_frames):
    inst = small_instance(demo_frames)
    res = SitingModel.from_instance(inst).solve("highs", gap=0).result
    alts = ex.alternatives(inst, res.allocation, k=2, gap=0)
    assert len(alts) == 2
    plans = [frozenset((c, s) for c, s, _ in res.allocation)]
    for alt in alts:
        alloc = alt.allocation
        assert check_feasible(inst, alloc) == []
        assert alt.objective <= res.objective + 1e-6
        assert alt.objective == pytest.approx(evaluate(inst, alloc))
        plans.append(frozenset((c, s) for c, s, _ in alloc))
    assert len(set(plans)) == 3
    assert alts[0].objective >= alts[1].objective - 1e-6


def test_irreplaceability_equals_resolving_without_the_site(demo_frames):
    inst = small_instance(demo_frames)
    res = SitingModel.from_instance(inst).solve("highs", gap=0).result
    rows = ex.irreplaceability(inst, res.allocation, res.objective, top=2, gap=0)
    for row in rows:
        assert row.site_id in {s for _, s, _ in res.allocation}
        without = small_instance(demo_frames, excluded=[[c, row.site_id] for c in inst.cand_ids])
        alone = SitingModel.from_instance(without).solve("highs", gap=0).result
        assert row.loss_max == pytest.approx(res.objective - alone.objective, abs=1e-6)
        assert row.loss_min == pytest.approx(row.loss_max, abs=1e-6)


def _two_site_instance(fixed=()):
    """One candidate that fits both sites: worth 8 at S1, 7 at S2; nothing else binds."""
    site = {
        "park_id": "P1",
        "available_from": 2026,
        "fitout_cost": 0.0,
        "office_m2": 100.0,
        "lab_m2": 0.0,
        "heavy_lab_m2": 0.0,
        "hazard_lab_m2": 0.0,
    }
    return instance_from_dict(
        {
            "format": "parkplan-siting-instance/1",
            "horizon": [2026],
            "discount_rate": 0.0,
            "budget": 100.0,
            "fitout_penalty": 0.0,
            "quotas": {"tier": {}, "sector": {}},
            "fixed": [list(f) for f in fixed],
            "excluded": [],
            "sites": [{"site_id": "S1", **site}, {"site_id": "S2", **site}],
            "candidates": [
                {
                    "cand_id": "C1",
                    "tier": "specialist",
                    "sectors": ["ic"],
                    "value": 10.0,
                    "subsidy": 0.0,
                    "ready_year": 2026,
                    "office_m2": 50.0,
                    "lab_m2": 0.0,
                    "heavy_lab_m2": 0.0,
                    "hazard_lab_m2": 0.0,
                }
            ],
            "score": {"C1": {"S1": 0.8, "S2": 0.7}},
        }
    )


def test_irreplaceability_is_never_a_negative_loss():
    # A plan short of the optimum (as one stopped within its gap can be): C1 at S2, 7.
    # Without S2 the re-solve finds 8; that is the plan's own shortfall, not a gain.
    inst = _two_site_instance()
    (row,) = ex.irreplaceability(inst, [("C1", "S2", 2026)], 7.0, top=1, gap=0)
    assert row.site_id == "S2" and row.loss_min == 0.0 and row.loss_max == 0.0


def test_irreplaceability_reports_the_gain_of_releasing_a_fixed_pair():
    # C1 is fixed at S2; excluding S2 releases it, and it moves to S1: 1 point better.
    inst = _two_site_instance(fixed=[("C1", "S2")])
    (row,) = ex.irreplaceability(inst, [("C1", "S2", 2026)], 7.0, top=1, gap=0)
    assert row.fixed_pairs_released == [("C1", "S2")]
    assert row.loss_min == pytest.approx(-1.0) and row.loss_max == pytest.approx(-1.0)


def _relaxed(info, **scenario):
    """Apply an explanation's budget and international-major relaxations to scenario keys."""
    for r in info.relaxations:
        if r.constraint == "budget":
            scenario["budget"] = r.needed + 1e-6
        elif r.constraint == "tier_international_major":
            scenario["quotas"] = {"tier": {"international_major": r.needed}}
    return scenario


def test_infeasible_scenario_names_the_conflict_and_the_smallest_relaxation(demo_frames):
    inst = small_instance(demo_frames, budget=3000, quotas={"tier": {"international_major": 3}})
    res = SitingModel.from_instance(inst).solve("highs").result
    assert res.status == "infeasible"
    info = ex.explain_infeasible(inst)
    assert info.relaxations, info
    assert info.proven_smallest and info.note is None
    # Check the proposal independently: apply it and the scenario becomes feasible; one
    # less relaxation and it does not.
    relaxed = _relaxed(info, budget=3000, quotas={"tier": {"international_major": 3}})
    fixed = SitingModel.from_instance(small_instance(demo_frames, **relaxed)).solve("highs")
    assert fixed.result.status == "optimal"
    if len(info.relaxations) == 1 and info.relaxations[0].constraint == "budget":
        short = dict(relaxed, budget=info.relaxations[0].needed - 50)
        again = SitingModel.from_instance(small_instance(demo_frames, **short)).solve("highs")
        assert again.result.status == "infeasible"


def test_relaxation_stopped_at_the_time_limit_is_not_called_smallest(demo_frames, monkeypatch):
    """HiGHS stopping at its time limit with an incumbent, which PuLP calls optimal."""
    import highspy

    from parkplan.siting import solvers

    def at_time_limit(prob):
        h = prob.solverModel
        info = h.getInfo()
        return solvers.highs_outcome(
            highspy.HighsModelStatus.kTimeLimit,
            int(info.primal_solution_status),
            float(info.mip_dual_bound),
            maximise=prob.sense == pulp.LpMaximize,
            version="test",
        )

    monkeypatch.setattr(solvers, "read_highs_outcome", at_time_limit)
    inst = small_instance(demo_frames, budget=3000, quotas={"tier": {"international_major": 3}})
    info = ex.explain_infeasible(inst)
    assert info.relaxations and not info.proven_smallest
    assert "not proven smallest" in info.note_text("en")
    # The relaxation offered still makes the scenario feasible.
    monkeypatch.undo()
    relaxed = _relaxed(info, budget=3000, quotas={"tier": {"international_major": 3}})
    again = SitingModel.from_instance(small_instance(demo_frames, **relaxed)).solve("highs")
    assert again.result.status == "optimal"


def test_budget_relaxation_is_the_smallest_budget_that_works(demo_frames):
    """The elastic model's budget is feasible, and one 万元 less is not (by re-solving)."""
    quotas = {"tier": {"national_qi_centre": 3}}

    def status(budget):
        inst = small_instance(demo_frames, budget=budget, quotas=quotas)
        return SitingModel.from_instance(inst).solve("highs").result.status

    # About 10 % short of what three QI centres cost (4,670.9 万元 by bisection): relaxing
    # the budget is smaller than dropping a third of the quota.
    short = 4200.0
    assert status(short) == "infeasible"
    info = ex.explain_infeasible(small_instance(demo_frames, budget=short, quotas=quotas))
    (relax,) = info.relaxations
    assert relax.constraint == "budget" and info.proven_smallest
    needed = relax.needed
    assert short < needed < 50000
    assert status(needed + 0.01) == "optimal"
    assert status(needed - 1.0) == "infeasible"


def test_baseline_scenario_on_the_demo_is_optimal_and_explained(demo_gpkg):
    """The issue's acceptance run: ``models/scenarios/baseline.yaml`` on the demo workspace.

    SLOW for a unit test: about 30 s on two shared cores, nearly all of it the solve to
    the scenario's own 0.01 % gap. Each explanation that re-solves is asked for once, at a
    1 % gap, to keep it at that. The scenario's 60 s limit (and the explanations' 30 s) is
    replaced by one the solver cannot reach, so that the gap alone decides the status and
    a loaded machine is slower, never wrong.
    """
    sc = load_scenario(SCENARIOS / "baseline.yaml")
    unreachable = 3600.0
    options = planning.ExplainOptions(
        alternatives=1, irreplaceable=1, gap=1e-2, time_limit=unreachable
    )
    with Workspace.open(demo_gpkg) as ws:
        run = planning.run_scenario(ws, sc, time_limit=unreachable, options=options)
    res, inst = run.result, run.instance
    assert res.status == "optimal" and res.gap <= sc.solver.gap, res
    assert check_feasible(inst, res.allocation) == []
    # The contract's objective, recomputed here from the instance alone.
    ci = {c: i for i, c in enumerate(inst.cand_ids)}
    si = {s: j for j, s in enumerate(inst.site_ids)}
    value, fitout = inst.candidates["value"].tolist(), inst.sites["fitout_cost"].tolist()
    delta, t0 = 1.0 / (1.0 + inst.discount_rate), inst.horizon[0]
    placed = sum(
        value[ci[c]] * inst.score[ci[c], si[s]] * delta ** (t - t0) for c, s, t in res.allocation
    )
    opened = sum(fitout[si[s]] for s in {s for _, s, _ in res.allocation})
    assert res.objective == pytest.approx(placed - inst.fitout_penalty * opened, rel=1e-9)

    e = run.explanation
    b = e.breakdown
    assert b.by_park and b.by_tier and b.by_sector
    assert sum(p.net for p in b.by_park.values()) == pytest.approx(res.objective)
    n_parks = inst.sites["park_id"].nunique()
    assert len(e.space_use) == len(e.space_values) == 4 * n_parks
    assert any(r.utilisation for r in e.space_use)
    assert all(v.value >= 0 for v in e.space_values)
    (alt,) = e.alternatives
    assert alt.objective <= res.objective * (1 + 1e-2) and alt.added
    (site,) = e.irreplaceability
    assert site.site_id in {s for _, s, _ in res.allocation}
    assert 0.0 <= site.loss_min <= site.loss_max


# ------------------------------------------------------------- runs and ledger
def test_run_is_recorded_and_compared(demo_location):
    sc = parse_scenario(SMALL)
    with Workspace.open(demo_location) as ws:
        a = planning.run_scenario(
            ws, sc, options=planning.ExplainOptions(alternatives=0, irreplaceable=0), user="planner"
        )
        b = planning.run_scenario(
            ws,
            sc.with_changes(budget=15000, name="bigger"),
            options=planning.ExplainOptions(alternatives=0, irreplaceable=0),
            user="office",
        )
        runs = ledger.list_runs(ws)
        assert [r.run_id for r in runs] == [b.run_id, a.run_id]
        stored = ledger.get_run(ws, a.run_id)
        assert stored.scenario_hash == sc.digest()
        assert stored.objective == pytest.approx(a.result.objective)
        assert stored.result["allocation"] == a.result.to_dict()["allocation"]
        assert stored.explanation["breakdown"]["total"] == pytest.approx(a.result.objective)
        cmp = planning.compare_runs(ws, a.run_id, "bigger")
        assert cmp["budget_used"][1]["total"] <= 15000 + 1e-6
        assert b.result.objective >= a.result.objective - 1e-6
    if not demo_location.startswith("postgresql"):
        import pyogrio

        layer = pyogrio.read_dataframe(demo_location, layer="scenario_allocations")
        assert len(layer) == len(a.result.allocation) + len(b.result.allocation)
        assert layer.crs.to_epsg() == 4326


@pytest.mark.parametrize(
    "who, record", [("viewer", None), ("owner3", None), ("admin", None), (None, True)]
)
def test_only_planning_roles_record_runs(demo_location, who, record):
    """A named user asks to record, and so does record=True; neither is let off quietly."""
    from parkplan.tracker.access import PermissionDenied
    from tests.conftest import snapshot

    before = snapshot(demo_location)
    with (
        Workspace.open(demo_location) as ws,
        pytest.raises(PermissionDenied, match="may not record") as refused,
    ):
        planning.run_scenario(ws, parse_scenario(SMALL), options=None, user=who, record=record)
    assert snapshot(demo_location) == before
    # The app says it in Chinese from the code.
    assert refused.value.code == "planning_role" and refused.value.values["action"] == "plan"


def test_anonymous_run_solves_without_recording(demo_location):
    from tests.conftest import snapshot

    before = snapshot(demo_location)
    with Workspace.open(demo_location) as ws:
        run = planning.run_scenario(ws, parse_scenario(SMALL), options=None)
        assert ledger.list_runs(ws) == []
    assert not run.recorded and run.result.status == "optimal"
    assert run.explanation.breakdown.total == pytest.approx(run.result.objective)
    assert snapshot(demo_location) == before


def test_compare_uses_each_runs_own_inputs(demo_location):
    """Runs recorded without explanations still compare, on what they were solved with."""
    sc = parse_scenario(SMALL)
    with Workspace.open(demo_location) as ws:
        run = planning.run_scenario(ws, sc, options=None, user="planner")
        assert run.recorded
        alloc = run.result.allocation
        cands = run.instance.candidates.set_index("cand_id")
        sites = run.instance.sites.set_index("site_id")
        subsidy = sum(cands.at[c, "subsidy"] for c, _, _ in alloc)
        fitout = sum(sites.at[s, "fitout_cost"] for s in {s for _, s, _ in alloc})
        lab_by_park: dict[str, float] = {}
        for c, s, _ in alloc:
            park = sites.at[s, "park_id"]
            lab_by_park[park] = lab_by_park.get(park, 0.0) + cands.at[c, "lab_m2"]
        # The layers change after the run: dearer candidates and sites, bigger labs.
        layer_c, layer_s = ws.read_layer("candidates"), ws.read_layer("sites")
        layer_c["subsidy"] *= 2
        layer_c["lab_m2"] += 100
        layer_s["fitout_cost"] += 500
        ws.write_layers({"candidates": layer_c, "sites": layer_s})
        cmp = planning.compare_runs(ws, run.run_id, run.run_id)
        legacy = _forget_accounts(ws, run.run_id)
        cmp_legacy = planning.compare_runs(ws, legacy, legacy)
    assert cmp["budget_used"][0] == pytest.approx(
        {"subsidy": subsidy, "fitout": fitout, "total": subsidy + fitout}
    )
    assert {p: cmp["space_by_park"][0][p]["lab_m2"] for p in lab_by_park} == pytest.approx(
        lab_by_park
    )
    assert sum(d["net"] for d in cmp["by_park"][0].values()) == pytest.approx(run.result.objective)
    assert cmp["by_tier"][0] and cmp["by_sector"][0] and cmp["notes"] == []
    # A run stored without its accounts, on layers that have changed: said, not invented.
    assert cmp_legacy["budget_used"][0] == {"subsidy": None, "fitout": None, "total": None}
    assert cmp_legacy["by_park"][0] == {} and "cannot be recomputed" in cmp_legacy["notes"][0]


def test_compare_recomputes_a_run_stored_without_accounts(demo_location):
    with Workspace.open(demo_location) as ws:
        run = planning.run_scenario(ws, parse_scenario(SMALL), options=None, user="planner")
        cmp = planning.compare_runs(ws, _forget_accounts(ws, run.run_id), run.run_id)
    assert cmp["notes"] == []
    for key in ("by_park", "by_tier", "by_sector", "budget_used", "space_by_park"):
        assert cmp[key][0] == cmp[key][1], key


def _forget_accounts(ws, run_id: str) -> str:
    """Store a copy of a run as runs were stored before their accounts were: none."""
    import sqlalchemy as sa

    copy = f"{run_id}-legacy"
    cols = [c for c in ledger._RUN_COLUMNS if c != "run_id"]
    with ws.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO scenario_runs (run_id, {', '.join(cols)}) SELECT :copy, "
                f"{', '.join(cols)} FROM scenario_runs WHERE run_id = :run"
            ),
            {"copy": copy, "run": run_id},
        )
        conn.execute(
            sa.text("UPDATE scenario_runs SET explanation_json = '{}' WHERE run_id = :copy"),
            {"copy": copy},
        )
    return copy


def test_layers_hash_changes_with_the_inputs(demo_location, tmp_path):
    sc = parse_scenario(SMALL)
    with Workspace.open(demo_location) as ws:
        first = planning.run_scenario(ws, sc, options=None, record=False)
        sites = ws.read_layer("sites")
        sites.loc[0, "fitout_cost"] += 1
        ws.write_layers({"sites": sites})
        second = planning.run_scenario(ws, sc, options=None, record=False)
    assert first.layers_hash != second.layers_hash


# ------------------------------------------------------------------------ CLI
def _cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_solve_cli_writes_contract_files_and_round_trips(demo_gpkg, tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL))
    ws = tmp_path / "ws.gpkg"
    ws.write_bytes(demo_gpkg.read_bytes())
    out = _cli(
        "solve",
        scenario,
        "--as",
        "planner",
        "--workspace",
        ws,
        "--out",
        tmp_path / "r.json",
        "--export-instance",
        tmp_path / "i.json",
        "--alternatives",
        "1",
        "--irreplaceable",
        "1",
    )
    assert "状态 status: optimal" in out and "按园区 by park" in out
    result = json.loads((tmp_path / "r.json").read_text())
    assert set(result) == {
        "format",
        "status",
        "objective",
        "bound",
        "gap",
        "solver",
        "seconds",
        "allocation",
    }
    inst = read_instance(tmp_path / "i.json")
    assert evaluate(
        inst, [(a["cand_id"], a["site_id"], a["year"]) for a in result["allocation"]]
    ) == pytest.approx(result["objective"])
    for solver in ("highs", "cbc"):
        _cli(
            "solve",
            "--instance",
            tmp_path / "i.json",
            "--solver",
            solver,
            "--out",
            tmp_path / f"r_{solver}.json",
        )
        again = json.loads((tmp_path / f"r_{solver}.json").read_text())
        assert again["status"] == "optimal"
        assert again["objective"] == pytest.approx(result["objective"], rel=1e-6)
    listing = json.loads(_cli("scenarios", "list", "--format", "json", "--workspace", ws))
    assert listing[0]["scenario"] == "small"
    refused = runner.invoke(
        app, ["scenarios", "adopt", listing[0]["run_id"], "--as", "viewer", "--workspace", str(ws)]
    )
    assert refused.exit_code == 2 and "may not record siting runs or adopt" in refused.stderr
    _cli("scenarios", "adopt", listing[0]["run_id"], "--as", "convenor", "--workspace", ws)
    assert json.loads(_cli("scenarios", "list", "--format", "json", "--workspace", ws))[0][
        "adopted"
    ]


def test_infeasible_scenario_explains_in_the_cli(demo_gpkg, tmp_path):
    ws = tmp_path / "ws.gpkg"
    ws.write_bytes(demo_gpkg.read_bytes())
    out = _cli(
        "solve",
        SCENARIOS / "infeasible-austerity.yaml",
        "--as",
        "planner",
        "--workspace",
        ws,
        "--export-instance",
        tmp_path / "i.json",
    )
    assert "status: infeasible" in out
    assert "最小放宽 smallest relaxation" in out and "international_major" in out
    assert "Traceback" not in out
    # The bare instance is explained the same way, and its result file says infeasible.
    again = _cli("solve", "--instance", tmp_path / "i.json", "--out", tmp_path / "r.json")
    assert "最小放宽 smallest relaxation" in again and "international_major" in again
    assert json.loads((tmp_path / "r.json").read_text())["status"] == "infeasible"


def test_solve_cli_refuses_bad_input_cleanly(demo_gpkg, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbudget: 5\nquotas: {tier: {international_major: 400}}\n")
    result = runner.invoke(
        app, ["solve", str(bad), "--as", "planner", "--workspace", str(demo_gpkg)]
    )
    assert result.exit_code == 2 and "international_major" in result.stderr
    broken = tmp_path / "i.json"
    broken.write_text("{not json")
    result = runner.invoke(app, ["solve", "--instance", str(broken)])
    assert result.exit_code == 2 and "Traceback" not in result.output


# ---------------------------------------------------------------------- sweep
def test_parse_vary():
    assert parse_vary("budget=50000:200000:4").values == (50000, 100000, 150000, 200000)
    assert parse_vary("quotas.tier.startup=1,2").values == (1, 2)
    for bad in ("budget", "budget=1:2", "budget=a:b:3", "budget=1:2:0"):
        with pytest.raises(SitingError):
            parse_vary(bad)


def test_sweep_in_processes_matches_single_solves(demo_frames):
    sc = parse_scenario(SMALL)
    axes = [Axis("budget", (3000.0, 9000.0)), Axis("quotas.tier.national_qi_centre", (1, 2))]
    table = run_sweep(sc, axes, demo_frames, workers=2)
    assert len(table) == 4 and table["objective"].notna().any()
    for row in table.itertuples():
        inst = small_instance(
            demo_frames,
            budget=row.budget,
            quotas={"tier": {"national_qi_centre": int(row._2)}, "sector": {"ic": 1}},
        )
        single = SitingModel.from_instance(inst).solve("highs", gap=0).result
        assert row.status == single.status
        if single.objective is not None:
            assert row.objective == pytest.approx(single.objective, rel=1e-6)


def test_sweep_unknown_key_is_refused(demo_frames):
    with pytest.raises(SitingError, match="no key 'budjet'"):
        run_sweep(parse_scenario(SMALL), [Axis("budjet", (1.0,))], demo_frames)


def test_sweep_on_a_dask_local_cluster(demo_frames, demo_gpkg, tmp_path):
    distributed = pytest.importorskip("distributed")
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            table = run_sweep(
                parse_scenario(SMALL),
                [Axis("budget", (5000.0, 9000.0))],
                demo_frames,
                scheduler=client,
            )
        # As a planner would: the CLI given the scheduler's address.
        out = _cli(
            "sweep",
            scenario,
            "--vary",
            "budget=5000,9000",
            "--out",
            tmp_path / "s.parquet",
            "--scheduler",
            cluster.scheduler_address,
            "--workspace",
            demo_gpkg,
        )
    local = run_sweep(
        parse_scenario(SMALL), [Axis("budget", (5000.0, 9000.0))], demo_frames, workers=1
    )
    pd.testing.assert_series_equal(table["objective"], local["objective"])
    assert "2 solves" in out
    pd.testing.assert_series_equal(
        pd.read_parquet(tmp_path / "s.parquet")["objective"], local["objective"]
    )


def test_sweep_cli_writes_table_and_chart(demo_gpkg, tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL))
    out = _cli(
        "sweep",
        scenario,
        "--vary",
        "budget=3000:9000:3",
        "--out",
        tmp_path / "s.csv",
        "--workers",
        "2",
        "--workspace",
        demo_gpkg,
    )
    assert "3 solves" in out
    table = pd.read_csv(tmp_path / "s.csv")
    assert list(table["budget"]) == [3000, 6000, 9000]
    assert table["objective"].is_monotonic_increasing
    png = (tmp_path / "s.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    _cli(
        "sweep",
        scenario,
        "--vary",
        "budget=3000,9000",
        "--out",
        tmp_path / "s.parquet",
        "--workers",
        "1",
        "--workspace",
        demo_gpkg,
    )
    parquet = pd.read_parquet(tmp_path / "s.parquet")
    assert list(parquet["budget"]) == [3000, 9000]
    assert list(parquet["objective"]) == list(table["objective"].iloc[[0, 2]])
