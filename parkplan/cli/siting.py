"""Siting commands: solve, sweep, scenarios list|compare|adopt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parkplan.cli.options import (
    AsOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    group,
    out_option,
)
from parkplan.i18n import both

if TYPE_CHECKING:
    from parkplan.siting.explanation import Explanation, Infeasibility

scenarios_app = group("The scenario ledger (方案台账).")

Solver = Annotated[str | None, typer.Option(help="highs or cbc [default: the scenario's]")]
TimeLimit = Annotated[float | None, typer.Option(help="Seconds the solver may run.")]
Gap = Annotated[float | None, typer.Option(help="Relative optimality gap.")]


def _label(key: str) -> str:
    """Return a label Chinese first, then English, as the solve report prints them."""
    return both(key, sep=" ")


def solve(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario YAML (models/scenarios/*.yaml)")
    ] = None,
    instance: Annotated[
        Path | None, typer.Option(help="Solve a contract instance file instead of a scenario.")
    ] = None,
    out: Annotated[Path | None, out_option("Write the result file (contract).")] = None,
    export_instance: Annotated[
        Path | None, typer.Option(help="Write the scenario's instance file (contract).")
    ] = None,
    solver: Solver = None,
    time_limit: TimeLimit = None,
    gap: Gap = None,
    explain: Annotated[bool, typer.Option(help="Compute explanations.")] = True,
    alternatives: Annotated[int, typer.Option(help="Near-optimal alternatives.")] = 3,
    irreplaceable: Annotated[int, typer.Option(help="Top sites to test by exclusion.")] = 5,
    as_user: AsOption = None,
    workspace: WorkspaceOption = None,
):
    """Solve a siting scenario on the workspace (or a bare instance file).

    The run is recorded in the scenario ledger when a user with a planning role is given
    (--as or PARKPLAN_USER); anyone else may still solve, and the run is not recorded.
    """
    from parkplan.errors import SitingError

    if (scenario is None) == (instance is None):
        raise SitingError(both("cli.solve.scenario_or_instance"))
    if instance is not None:
        _solve_instance(instance, out, solver, time_limit, gap, explain)
        return
    from parkplan.services import planning
    from parkplan.siting import write_instance
    from parkplan.siting.scenario import load_scenario
    from parkplan.store import Workspace

    sc = load_scenario(scenario)
    options = (
        planning.ExplainOptions(alternatives=alternatives, irreplaceable=irreplaceable)
        if explain
        else None
    )
    with Workspace.open(workspace) as ws:
        run = planning.run_scenario(
            ws, sc, solver=solver, time_limit=time_limit, gap=gap, options=options, user=as_user
        )
    if export_instance:
        write_instance(run.instance, export_instance)
    if out:
        run.result.write(out)
    recorded = (
        both("cli.solve.run", sep=" ", run_id=run.run_id)
        if run.recorded
        else both("cli.solve.not_recorded", sep=" ")
    )
    typer.echo(f"{both('cli.solve.scenario', sep=' ', name=sc.name)}  ·  {recorded}")
    print_result(run.result, run.instance)
    print_explanation(run.explanation)
    if not run.recorded:
        typer.echo(both("cli.solve.not_recorded_note", sep="\n"), err=True)


def _solve_instance(instance, out, solver, time_limit, gap, explain) -> None:
    from parkplan.siting import SitingModel, read_instance

    inst = read_instance(instance)
    model = SitingModel.from_instance(inst).solve(solver or "highs", time_limit, gap)
    if out:
        model.write_result(out)
    print_result(model.result, inst)
    if explain and model.result.status == "infeasible":
        from parkplan.siting.explain import explain_infeasible
        from parkplan.siting.explanation import Explanation

        print_explanation(Explanation(infeasibility=explain_infeasible(inst, solver or "highs")))


def print_result(result, inst) -> None:
    """Print a solve's status, objective and use of candidates and budget."""
    from parkplan.siting.explain import budget_use

    typer.echo(
        f"{_label('cli.solve.status')}: {result.status}   solver: {result.solver}   "
        f"time: {result.seconds['total']:.2f} s"
    )
    if result.objective is not None:
        gap = f"{result.gap:.2e}" if result.gap is not None else "n/a"
        bound = f"{result.bound:.4f}" if result.bound is not None else "n/a"
        typer.echo(
            f"{_label('cli.solve.objective')}: {result.objective:.4f}   bound: {bound}   gap: {gap}"
        )
        spent = budget_use(inst, result.allocation).total
        typer.echo(
            both(
                "cli.solve.recruited",
                sep="; ",
                n=len(result.allocation),
                total=len(inst.cand_ids),
                sites=len({s for _, s, _ in result.allocation}),
                spent=f"{spent:,.0f}",
                budget=f"{inst.budget:,.0f}",
            )
        )
    elif result.message:
        typer.echo(f"{_label('cli.solve.why')}: {result.message}")


def _print_infeasibility(info: Infeasibility) -> None:
    typer.echo(f"{_label('cli.solve.conflicts')}: " + "; ".join(info.conflicts))
    if info.relaxations:
        key = (
            "cli.solve.smallest_relaxation" if info.proven_smallest else "cli.solve.some_relaxation"
        )
        typer.echo(_label(key) + ":")
    for r in info.relaxations:
        typer.echo(f"  - {both(r.label, **r.values)}")
    if info.note_label:
        typer.echo(f"  ({both(info.note_label)})")


def print_explanation(explanation: Explanation) -> None:
    """Print why a plan is what it is, or why a scenario has no plan."""
    if explanation.infeasibility is not None:
        _print_infeasibility(explanation.infeasibility)
        return
    breakdown = explanation.breakdown
    if breakdown:
        parks = ", ".join(f"{p} {d.net:.1f}" for p, d in breakdown.by_park.items())
        tiers = ", ".join(f"{t} {v:.1f}" for t, v in breakdown.by_tier.items())
        typer.echo(f"{_label('cli.solve.by_park')}: {parks}")
        typer.echo(f"{_label('cli.solve.by_tier')}: {tiers}")
    values = [v for v in explanation.space_values or [] if v.value > 1e-6]
    if values:
        top = sorted(values, key=lambda v: -v.value)[:5]
        typer.echo(
            f"{_label('cli.solve.space_value')}: "
            + ", ".join(f"{v.park_id} {v.space_class} {v.value:.2f}" for v in top)
        )
    for n, alt in enumerate(explanation.alternatives or [], 1):
        typer.echo(
            both(
                "cli.solve.alternative",
                sep=": ",
                n=n,
                objective=f"{alt.objective:.4f}",
                differ=len(alt.added),
            )
        )
    for row in explanation.irreplaceability or []:
        if row.loss_max is not None:
            typer.echo(
                both(
                    "cli.solve.irreplaceable",
                    sep=" ",
                    site=row.site_id,
                    park=row.park_id,
                    low=f"{row.loss_min:.2f}",
                    high=f"{row.loss_max:.2f}",
                )
            )


@scenarios_app.command("list")
def scenarios_list(
    output: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
):
    """List stored runs, newest first."""
    from parkplan.store import Workspace
    from parkplan.store.ledger import list_runs

    with Workspace.open(workspace) as ws:
        runs = [r.summary() for r in list_runs(ws)]
    if output == OutputFormat.json:
        typer.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{'run':<24}{'scenario':<24}{'status':<12}{'objective':>12}  flags")
    for r in runs:
        obj = f"{r['objective']:.4f}" if r["objective"] is not None else "-"
        flags = ("adopted " if r["adopted"] else "") + ("STALE" if r["stale"] else "")
        typer.echo(f"{r['run_id']:<24}{r['scenario']:<24}{r['status']:<12}{obj:>12}  {flags}")


@scenarios_app.command("compare")
def scenarios_compare(
    first: str,
    second: str,
    output: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
):
    """Compare two runs (ids, id prefixes or scenario names) side by side."""
    from parkplan.services.planning import compare_runs
    from parkplan.store import Workspace

    with Workspace.open(workspace) as ws:
        cmp = compare_runs(ws, first, second)
    if output == OutputFormat.json:
        typer.echo(json.dumps(cmp, ensure_ascii=False, indent=2, default=float))
        return
    _print_comparison(cmp)


def _print_comparison(cmp: dict) -> None:
    a, b = cmp["runs"]
    typer.echo(f"{'':<22}{'A ' + a['run_id']:<30}{'B ' + b['run_id']:<30}")
    for key in ("scenario", "status"):
        typer.echo(f"{_label('cli.compare.' + key):<22}{a[key]:<30}{b[key]:<30}")
    objective = _label("cli.compare.objective")
    typer.echo(f"{objective:<22}{_num(a['objective']):<30}{_num(b['objective']):<30}")
    ba, bb = cmp["budget_used"]
    budget = _label("cli.compare.budget")
    typer.echo(f"{budget:<22}{_money(ba['total']):<30}{_money(bb['total']):<30}")
    for key in ("by_park", "by_tier", "by_sector"):
        typer.echo(_label(f"cli.compare.{key}"))
        left, right = cmp[key]
        for name in sorted(set(left) | set(right)):
            lv, rv = left.get(name), right.get(name)
            lv = lv["net"] if isinstance(lv, dict) else lv
            rv = rv["net"] if isinstance(rv, dict) else rv
            typer.echo(f"  {name:<20}{_num(lv):<30}{_num(rv):<30}")
    typer.echo(_label("cli.compare.space"))
    sa, sb = cmp["space_by_park"]
    for park in sorted(set(sa) | set(sb)):
        typer.echo(f"  {park:<20}{_space(sa.get(park)):<30}{_space(sb.get(park)):<30}")
    changed = [p for p in cmp["placements"] if not p["same"]]
    typer.echo(f"{_label('cli.compare.differ')}: {len(changed)}")
    for p in changed:
        typer.echo(
            f"  {p['cand_id']:<8}{p['name_zh'][:14]:<16}{p['a'] or '-':<10}→ {p['b'] or '-'}"
        )
    for note in cmp["notes"]:
        typer.echo(f"{_label('cli.compare.note')}: {note}")


def _num(v) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) else "-"


def _money(v) -> str:
    return f"{v:,.0f}" if isinstance(v, (int, float)) else "-"


def _space(d) -> str:
    return " / ".join(f"{v:,.0f}" for v in d.values()) if d else "-"


@scenarios_app.command("adopt")
def scenarios_adopt(run: str, as_user: AsOption = None, workspace: WorkspaceOption = None):
    """Adopt a run as the plan (task （八）'s KPIs report from it)."""
    from parkplan.services.planning import adopt_run
    from parkplan.store import Workspace

    with Workspace.open(workspace) as ws:
        record = adopt_run(ws, run, as_user)
    typer.echo(f"adopted {record.run_id} ({record.scenario_name})")


def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML")],
    vary: Annotated[list[str], typer.Option(help="KEY=START:STOP:N or KEY=V1,V2 (repeatable)")],
    out: Annotated[Path, out_option("Table: .csv or .parquet")] = Path("sweep.csv"),
    chart: Annotated[
        Path | None, typer.Option(help="PNG chart [default: beside the table]")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Local processes.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    ] = None,
    workspace: WorkspaceOption = None,
):
    """Solve a scenario over a grid of parameter values, in parallel."""
    from rich.progress import Progress

    from parkplan.errors import SitingError
    from parkplan.services.planning import read_inputs
    from parkplan.siting.scenario import load_scenario
    from parkplan.siting.sweep import parse_vary, plot_sweep, run_sweep
    from parkplan.store import Workspace

    sc = load_scenario(scenario)
    axes = [parse_vary(v) for v in vary]
    if out.suffix not in (".csv", ".parquet"):
        raise SitingError(both("cli.sweep.suffix", out=out))
    with Workspace.open(workspace) as ws:
        frames = read_inputs(ws)
    with Progress(transient=True) as bar:
        task = bar.add_task(both("cli.sweep.solving", sep=" "), total=None)
        table = run_sweep(
            sc,
            axes,
            frames,
            workers=workers,
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    chart = chart or out.with_suffix(".png")
    plot_sweep(table, axes[0].key, chart, title=f"{sc.title_zh or sc.name}")
    counts = table["status"].value_counts().to_dict()
    typer.echo(f"{len(table)} solves ({counts}) → {out}, {chart}")
