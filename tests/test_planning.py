"""Scenarios, explanations, the ledger and the siting CLI on the demo workspace."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from parkplan import planning
from parkplan.cli import app
from parkplan.errors import SitingError
from parkplan.siting import SitingModel, check_feasible, evaluate, read_instance
from parkplan.siting import explain as ex
from parkplan.siting.scenario import Scenario, load_scenario, parse_scenario
from parkplan.siting.sweep import Axis, parse_vary, run_sweep
from parkplan.store import Workspace, ledger

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "models" / "scenarios"
runner = CliRunner()

# A small scenario on the demo layers that solves to proven optimality in well under a
# second: few candidates are worth placing under this budget.
SMALL = {"name": "small", "horizon": [2026, 2028], "budget": 9000,
         "quotas": {"tier": {"national_qi_centre": 1}, "sector": {"ic": 1}},
         "solver": {"name": "highs", "time_limit": 30, "gap": 0.0}}


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
    nested = parse_scenario.__wrapped__ if hasattr(parse_scenario, "__wrapped__") else None
    assert nested is None
    with pytest.raises(SitingError, match="solver.tme_limit: no such scenario key; did you "
                                          "mean 'time_limit'"):
        parse_scenario({"name": "x", "budget": 1, "solver": {"tme_limit": 3}})


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "budget": -5}, "budget: Input should be greater than or equal to 0"),
    ({"name": "x", "budget": 1, "quotas": {"tier": {"galactic": 1}}}, "unknown tier 'galactic'"),
    ({"name": "x", "budget": 1, "horizon": [2030, 2026]}, "first ≤ last"),
    ({"name": "x", "budget": 1, "value_mode": "hope"}, "value_mode"),
    ({"name": "bad name!", "budget": 1}, "name"),
])
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


def test_expected_value_mode_weights_by_stage(demo_frames):
    value = small_instance(demo_frames)
    expected = small_instance(demo_frames, value_mode="expected")
    cands = demo_frames["candidates"].set_index("cand_id")
    probability = {"identified": 0.2, "contacted": 0.35, "mou": 0.6, "signed": 0.9}
    for c, v_exp, v in zip(expected.cand_ids, expected.candidates["value"],
                           value.candidates["value"], strict=True):
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
    assert b["total"] == pytest.approx(res.objective)
    assert sum(p["net"] for p in b["by_park"].values()) == pytest.approx(res.objective)
    assert sum(b["by_tier"].values()) == pytest.approx(b["value"])
    assert sum(b["by_sector"].values()) == pytest.approx(b["value"])


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
    assert all(v["value"] == 0 for v in values if not v["binding"])
    assert all(v["value"] >= 0 for v in values)


def test_alternatives_differ_and_do_not_beat_the_optimum(demo_frames):
    inst = small_instance(demo_frames)
    res = SitingModel.from_instance(inst).solve("highs", gap=0).result
    alts = ex.alternatives(inst, res.allocation, k=2, gap=0)
    assert len(alts) == 2
    plans = [frozenset((c, s) for c, s, _ in res.allocation)]
    for alt in alts:
        alloc = [tuple(a) for a in alt["allocation"]]
        assert check_feasible(inst, alloc) == []
        assert alt["objective"] <= res.objective + 1e-6
        assert alt["objective"] == pytest.approx(evaluate(inst, alloc))
        plans.append(frozenset((c, s) for c, s, _ in alloc))
    assert len(set(plans)) == 3
    assert alts[0]["objective"] >= alts[1]["objective"] - 1e-6


def test_irreplaceability_equals_resolving_without_the_site(demo_frames):
    inst = small_instance(demo_frames)
    res = SitingModel.from_instance(inst).solve("highs", gap=0).result
    rows = ex.irreplaceability(inst, res.allocation, res.objective, top=2, gap=0)
    for row in rows:
        assert row["site_id"] in {s for _, s, _ in res.allocation}
        without = small_instance(demo_frames, excluded=[[c, row["site_id"]]
                                                         for c in inst.cand_ids])
        alone = SitingModel.from_instance(without).solve("highs", gap=0).result
        assert row["loss_max"] == pytest.approx(res.objective - alone.objective, abs=1e-6)
        assert row["loss_min"] == pytest.approx(row["loss_max"], abs=1e-6)


def test_infeasible_scenario_names_the_conflict_and_the_smallest_relaxation(demo_frames):
    inst = small_instance(demo_frames, budget=3000,
                          quotas={"tier": {"international_major": 3}})
    res = SitingModel.from_instance(inst).solve("highs").result
    assert res.status == "infeasible"
    info = ex.explain_infeasible(inst)
    assert info["relaxations"], info
    # Check the proposal independently: apply it and the scenario becomes feasible; one
    # less relaxation and it does not.
    relaxed = dict(budget=3000, quotas={"tier": {"international_major": 3}})
    for r in info["relaxations"]:
        if r["constraint"] == "budget":
            relaxed["budget"] = r["needed"] + 1e-6
        elif r["constraint"] == "tier_international_major":
            relaxed["quotas"] = {"tier": {"international_major": r["needed"]}}
    fixed = SitingModel.from_instance(small_instance(demo_frames, **relaxed)).solve("highs")
    assert fixed.result.status == "optimal"
    if len(info["relaxations"]) == 1 and info["relaxations"][0]["constraint"] == "budget":
        short = dict(relaxed, budget=info["relaxations"][0]["needed"] - 50)
        again = SitingModel.from_instance(small_instance(demo_frames, **short)).solve("highs")
        assert again.result.status == "infeasible"


def test_budget_relaxation_is_the_smallest_budget_that_works(demo_frames):
    """Brute force: bisect the smallest feasible budget, then ask the elastic model."""
    quotas = {"tier": {"national_qi_centre": 3}}

    def status(budget):
        inst = small_instance(demo_frames, budget=budget, quotas=quotas)
        return SitingModel.from_instance(inst).solve("highs").result.status

    lo, hi = 0.0, 50000.0
    assert status(hi) == "optimal"
    while hi - lo > 1.0:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if status(mid) == "optimal" else (mid, hi)
    # 10 % short: relaxing the budget (+11 %) is smaller than dropping a third of the quota.
    info = ex.explain_infeasible(small_instance(demo_frames, budget=0.9 * hi, quotas=quotas))
    (relax,) = info["relaxations"]
    assert relax["constraint"] == "budget"
    assert relax["needed"] == pytest.approx(hi, abs=1.5)


# ------------------------------------------------------------- runs and ledger
def test_run_is_recorded_and_compared(demo_location):
    sc = parse_scenario(SMALL)
    with Workspace.open(demo_location) as ws:
        a = planning.run_scenario(ws, sc, options=planning.ExplainOptions(alternatives=0,
                                                                           irreplaceable=0),
                                  user="planner")
        b = planning.run_scenario(ws, sc.with_changes(budget=15000, name="bigger"),
                                  options=planning.ExplainOptions(alternatives=0,
                                                                  irreplaceable=0),
                                  user="office")
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


@pytest.mark.parametrize("who", [None, "viewer", "owner3", "admin"])
def test_only_planning_roles_record_runs(demo_location, who):
    from parkplan.tracker.access import PermissionDenied
    from tests.conftest import snapshot

    before = snapshot(demo_location)
    with Workspace.open(demo_location) as ws, pytest.raises(PermissionDenied,
                                                            match="may not record"):
        planning.run_scenario(ws, parse_scenario(SMALL), options=None, user=who)
    assert snapshot(demo_location) == before


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
    out = _cli("solve", scenario, "--as", "planner", "--workspace", ws, "--out",
               tmp_path / "r.json",
               "--export-instance", tmp_path / "i.json", "--alternatives", "1",
               "--irreplaceable", "1")
    assert "状态 status: optimal" in out and "按园区 by park" in out
    result = json.loads((tmp_path / "r.json").read_text())
    assert set(result) == {"format", "status", "objective", "bound", "gap", "solver",
                           "seconds", "allocation"}
    inst = read_instance(tmp_path / "i.json")
    assert evaluate(inst, [(a["cand_id"], a["site_id"], a["year"])
                           for a in result["allocation"]]) == pytest.approx(result["objective"])
    for solver in ("highs", "cbc"):
        _cli("solve", "--instance", tmp_path / "i.json", "--solver", solver, "--out",
             tmp_path / f"r_{solver}.json")
        again = json.loads((tmp_path / f"r_{solver}.json").read_text())
        assert again["status"] == "optimal"
        assert again["objective"] == pytest.approx(result["objective"], rel=1e-6)
    listing = json.loads(_cli("scenarios", "list", "--format", "json", "--workspace", ws))
    assert listing[0]["scenario"] == "small"
    refused = runner.invoke(app, ["scenarios", "adopt", listing[0]["run_id"], "--as", "viewer",
                                  "--workspace", str(ws)])
    assert refused.exit_code == 2 and "may not record siting runs or adopt" in refused.stderr
    _cli("scenarios", "adopt", listing[0]["run_id"], "--as", "convenor", "--workspace", ws)
    assert json.loads(_cli("scenarios", "list", "--format", "json", "--workspace", ws))[0][
        "adopted"]


def test_infeasible_scenario_explains_in_the_cli(demo_gpkg, tmp_path):
    ws = tmp_path / "ws.gpkg"
    ws.write_bytes(demo_gpkg.read_bytes())
    out = _cli("solve", SCENARIOS / "infeasible-austerity.yaml", "--as", "planner",
               "--workspace", ws)
    assert "status: infeasible" in out
    assert "最小放宽 smallest relaxation" in out and "international_major" in out
    assert "Traceback" not in out


def test_solve_cli_refuses_bad_input_cleanly(demo_gpkg, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbudget: 5\nquotas: {tier: {international_major: 400}}\n")
    result = runner.invoke(app, ["solve", str(bad), "--as", "planner", "--workspace",
                                 str(demo_gpkg)])
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
    assert len(table) == 4
    for row in table.itertuples():
        inst = small_instance(demo_frames, budget=row.budget,
                              quotas={"tier": {"national_qi_centre":
                                               int(row._2)}, "sector": {"ic": 1}})
        single = SitingModel.from_instance(inst).solve("highs", gap=0).result
        assert row.status == single.status
        if single.objective is not None:
            assert row.objective == pytest.approx(single.objective, rel=1e-6)


def test_sweep_unknown_key_is_refused(demo_frames):
    with pytest.raises(SitingError, match="no key 'budjet'"):
        run_sweep(parse_scenario(SMALL), [Axis("budjet", (1.0,))], demo_frames)


def test_sweep_on_a_dask_local_cluster(demo_frames):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        table = run_sweep(parse_scenario(SMALL), [Axis("budget", (5000.0, 9000.0))],
                          demo_frames, scheduler=client)
    local = run_sweep(parse_scenario(SMALL), [Axis("budget", (5000.0, 9000.0))], demo_frames,
                      workers=1)
    pd.testing.assert_series_equal(table["objective"], local["objective"])


def test_sweep_cli_writes_table_and_chart(demo_gpkg, tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL))
    out = _cli("sweep", scenario, "--vary", "budget=3000:9000:3", "--out", tmp_path / "s.csv",
               "--workers", "2", "--workspace", demo_gpkg)
    assert "3 solves" in out
    table = pd.read_csv(tmp_path / "s.csv")
    assert list(table["budget"]) == [3000, 6000, 9000]
    assert table["objective"].is_monotonic_increasing
    png = (tmp_path / "s.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    _cli("sweep", scenario, "--vary", "budget=3000,9000", "--out", tmp_path / "s.parquet",
         "--workers", "1", "--workspace", demo_gpkg)
    parquet = pd.read_parquet(tmp_path / "s.parquet")
    assert list(parquet["budget"]) == [3000, 9000]
    assert list(parquet["objective"]) == list(table["objective"].iloc[[0, 2]])


def test_unused(itertools_=itertools, scenario_=Scenario):
    """Keep imports honest."""
    assert itertools_ and scenario_
