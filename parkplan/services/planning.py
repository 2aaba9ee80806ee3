"""Planning runs: a scenario solved on a workspace's layers, explained, and recorded.

This is where the workspace (I/O) meets the siting model (pure): read the layers, score,
build the instance, solve, explain, and store the run in the scenario ledger — in that
order, each step a call into the library.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import yaml

from parkplan import layers
from parkplan.errors import SitingError
from parkplan.i18n import t
from parkplan.identity.users import ROLE_LABELS, Role, User
from parkplan.siting import explain
from parkplan.siting.contract import SitingResult
from parkplan.siting.explanation import BudgetUse, Explanation, SpaceUse
from parkplan.siting.instance import SitingInstance
from parkplan.siting.model import SitingModel
from parkplan.siting.scenario import Scenario, build_instance, parse_scenario
from parkplan.siting.scoring import ScoreMatrix, suitability
from parkplan.store import Workspace, ledger
from parkplan.tracker.access import PermissionDenied, refusal_values

#: The layers a siting run reads; their digest is stored with every run.
INPUT_LAYERS = ("sites", "candidates", "clusters", "institutions", "transport")

#: Roles that may record siting runs in the ledger and adopt a plan: the planners, and the
#: task-force office and convenor who decide between plans.
PLANNING_ROLES = frozenset({Role.planner, Role.office, Role.convenor})


def check_can_plan(workspace: Workspace, user: str | User | None) -> User:
    """Return the acting user if they may record siting runs and adopt plans.

    Parameters
    ----------
    workspace : Workspace
    user : str, User or None
        A user of the workspace (by name), or ``None`` for anonymous.

    Raises
    ------
    PermissionDenied
        For anonymous users and roles outside :data:`PLANNING_ROLES`; nothing is written.
    """
    from parkplan.tracker.service import Tracker

    actor = Tracker(workspace, user).user
    if not actor.active or actor.role not in PLANNING_ROLES:
        raise PermissionDenied(
            t(
                "services.planning.may_not_plan",
                "en",
                user=actor.name,
                role=ROLE_LABELS[actor.role],
            ),
            code="planning_role",
            values=refusal_values(actor, "plan"),
        )
    return actor


@dataclass(frozen=True)
class ExplainOptions:
    """Which explanations to compute after a solve, and how hard to try.

    Parameters
    ----------
    alternatives : int
        Near-optimal alternative plans to look for (0: none).
    irreplaceable : int
        How many of the plan's most valuable sites to test by exclusion (0: none).
    gap : float
        Relative gap of the re-solves behind alternatives and irreplaceability.
    time_limit : float
        Seconds each re-solve may take.
    """

    alternatives: int = 3
    irreplaceable: int = 5
    gap: float = 1e-3
    time_limit: float = 30.0


@dataclass
class PlanRun:
    """A solved (or unsolvable) scenario, its explanation, and its ledger id.

    ``recorded`` says whether the run is in the scenario ledger; ``run_id`` is the id it
    has there, or would have had.
    """

    run_id: str
    scenario: Scenario
    instance: SitingInstance
    score: ScoreMatrix
    result: SitingResult
    explanation: Explanation = field(default_factory=Explanation)
    layers_hash: str = ""
    recorded: bool = False


def read_inputs(workspace: Workspace) -> dict[str, pd.DataFrame]:
    """Read the layers a siting run needs.

    Raises
    ------
    SitingError
        If the workspace has no sites or no candidates.
    """
    frames = {name: workspace.read_layer(name) for name in INPUT_LAYERS}
    for name in ("sites", "candidates"):
        if frames[name].empty:
            raise SitingError(t("services.planning.no_layer", "en", layer=name))
    return frames


def prepare(
    scenario: Scenario, frames: dict[str, pd.DataFrame]
) -> tuple[SitingInstance, ScoreMatrix]:
    """Score the layers and build the scenario's instance (validated)."""
    score = suitability(
        frames["candidates"],
        frames["sites"],
        frames["clusters"],
        frames["institutions"],
        frames["transport"],
        scenario.scoring.to_weights(),
    )
    return build_instance(scenario, frames["sites"], frames["candidates"], score.values), score


def explain_result(
    instance: SitingInstance,
    result: SitingResult,
    solver: str,
    options: ExplainOptions | None = ExplainOptions(),
) -> Explanation:
    """Compute the explanations that fit the result's status (see :mod:`.siting.explain`).

    Parameters
    ----------
    instance : SitingInstance
    result : SitingResult
    solver : str
        The solver of the explanations' own solves.
    options : ExplainOptions or None
        The explanations that need solves; ``None`` for none of them. A plan's accounts
        (:data:`.siting.explanation.ACCOUNTS`) need no solver and are always computed.

    Returns
    -------
    Explanation
        For a plan: ``breakdown``, ``space_use``, ``budget_use`` and, with ``options``,
        ``space_values``, ``alternatives``, ``irreplaceability``. For an infeasible
        scenario with ``options``: ``infeasibility``. Otherwise a ``note``.
    """
    if result.status == "infeasible" and options:
        return Explanation(infeasibility=explain.explain_infeasible(instance, solver=solver))
    if result.status not in ("optimal", "feasible"):
        return Explanation(note=result.message)
    alloc = result.allocation
    out = explain.plan_accounts(instance, alloc)
    if options is None:
        return out
    out.space_values = explain.space_values(instance, alloc, solver=solver)
    if options.alternatives:
        out.alternatives = explain.alternatives(
            instance,
            alloc,
            k=options.alternatives,
            solver=solver,
            gap=options.gap,
            time_limit=options.time_limit,
        )
    if options.irreplaceable:
        out.irreplaceability = explain.irreplaceability(
            instance,
            alloc,
            result.objective,
            top=options.irreplaceable,
            solver=solver,
            gap=options.gap,
            time_limit=options.time_limit,
        )
    return out


def run_scenario(
    workspace: Workspace,
    scenario: Scenario,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    options: ExplainOptions | None = ExplainOptions(),
    user: str | None = None,
    record: bool | None = None,
) -> PlanRun:
    """Solve a scenario on the workspace's layers, explain it and store it in the ledger.

    Anyone may solve; only a user whose role may plan records the run. Naming a user
    asks to record, so a named user without a planning role is refused rather than
    quietly left unrecorded.

    Parameters
    ----------
    workspace : Workspace
    scenario : Scenario
    solver, time_limit, gap : optional
        Override the scenario's solver settings.
    options : ExplainOptions or None
        Explanations that need solves; ``None`` for none (see :func:`explain_result`).
    user : str, optional
        Who runs it: a user of the workspace whose role may plan (:func:`check_can_plan`);
        needed only to ``record``.
    record : bool, optional
        Store the run in the ledger; by default, exactly when ``user`` is given.

    Raises
    ------
    PermissionDenied
        When recording, before anything is solved, if ``user`` may not plan (anonymous
        included).

    Returns
    -------
    PlanRun
        ``recorded`` says whether the run is in the ledger.
    """
    if record is None:
        record = user is not None
    actor = check_can_plan(workspace, user) if record else None
    frames = read_inputs(workspace)
    instance, score = prepare(scenario, frames)
    solver = solver or scenario.solver.name
    model = SitingModel.from_instance(instance).solve(
        solver,
        time_limit=time_limit if time_limit is not None else scenario.solver.time_limit,
        gap=gap if gap is not None else scenario.solver.gap,
    )
    result = model.result
    explanation = explain_result(instance, result, solver, options)
    run = PlanRun(
        run_id=new_run_id(),
        scenario=scenario,
        instance=instance,
        score=score,
        result=result,
        explanation=explanation,
        layers_hash=layers.digest(frames),
    )
    if actor is not None:
        record_run(workspace, run, frames["sites"], actor.name)
        run.recorded = True
    return run


def adopt_run(workspace: Workspace, run_id: str, user: str | User | None) -> ledger.RunRecord:
    """Adopt a stored run as the plan (task （八）'s KPIs report from it).

    Raises
    ------
    PermissionDenied
        If ``user`` may not plan.
    SitingError
        If the run has no plan.
    """
    check_can_plan(workspace, user)
    record = ledger.get_run(workspace, run_id)
    if record.status not in ("optimal", "feasible"):
        raise SitingError(
            t("services.planning.no_plan", "en", run=record.run_id, status=record.status)
        )
    with workspace.begin() as conn:
        ledger.set_adopted(workspace, record.run_id, conn)
    return record


def new_run_id() -> str:
    """Return a new ledger id: time-ordered and unique."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def record_run(workspace: Workspace, run: PlanRun, sites: pd.DataFrame, user: str) -> None:
    """Store ``run`` in the scenario ledger (one transaction)."""
    res = run.result
    site_rows = sites.set_index("site_id")
    value_of = dict(zip(run.instance.cand_ids, run.instance.candidates["value"], strict=True))
    cidx = {c: i for i, c in enumerate(run.instance.cand_ids)}
    sidx = {s: j for j, s in enumerate(run.instance.site_ids)}
    delta, t0 = run.instance.delta, run.instance.horizon[0]
    allocations = [
        {
            "cand_id": c,
            "site_id": s,
            "park_id": site_rows.at[s, "park_id"],
            "year": int(t),
            "value": float(value_of[c] * run.instance.score[cidx[c], sidx[s]] * delta ** (t - t0)),
            "geometry": site_rows.at[s, "geometry"],
        }
        for c, s, t in res.allocation
    ]
    row = {
        "run_id": run.run_id,
        "scenario_name": run.scenario.name,
        "scenario_hash": run.scenario.digest(),
        "scenario_yaml": run.scenario.to_yaml(),
        "layers_hash": run.layers_hash,
        "solver": res.solver,
        "status": res.status,
        "objective": res.objective,
        "bound": res.bound,
        "gap": res.gap,
        "seconds_build": res.seconds["build"],
        "seconds_solve": res.seconds["solve"],
        "seconds_total": res.seconds["total"],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "created_by": user,
        "result_json": json.dumps(res.to_dict(), ensure_ascii=False),
        "explanation_json": json.dumps(
            run.explanation.to_dict(), ensure_ascii=False, default=float
        ),
        "stale_reason": None,
        "adopted": False,
    }
    with workspace.begin() as conn:
        ledger.record_run(workspace, conn, row, allocations)


def compare_runs(workspace: Workspace, first: str, second: str) -> dict[str, Any]:
    """Compare two stored runs side by side, each on the inputs it was solved with.

    Returns
    -------
    dict
        ``runs`` (summaries), ``placements`` (candidate → site in each run, only where they
        differ unless both hold it), objective ``by_park``, ``by_tier``, ``by_sector``,
        ``budget_used`` and ``space_by_park`` for each, and ``notes`` for a run whose
        figures cannot be had (its figures are then empty, its budget ``None``).
    """
    a, b = ledger.get_run(workspace, first), ledger.get_run(workspace, second)
    # Names only label the rows; every figure comes from the runs' own accounts.
    names = workspace.read_layer("candidates").set_index("cand_id")["name_zh"]
    out: dict[str, Any] = {"runs": [a.summary(), b.summary()], "notes": []}
    placed = [{c: (s, t) for c, s, t in _alloc(r)} for r in (a, b)]
    out["placements"] = [
        {
            "cand_id": c,
            "name_zh": names.get(c, ""),
            "a": placed[0].get(c, (None, None))[0],
            "b": placed[1].get(c, (None, None))[0],
            "same": placed[0].get(c) == placed[1].get(c),
        }
        for c in sorted(set(placed[0]) | set(placed[1]))
    ]
    current: list[dict[str, pd.DataFrame]] = []  # the workspace's layers, read once if needed
    accounts = []
    for run in (a, b):
        acc = _accounts(workspace, run, current)
        if acc is None:
            out["notes"].append(t("services.planning.no_accounts", "en", run=run.run_id))
        accounts.append(acc or Explanation())
    breakdowns = [acc.breakdown.to_dict() if acc.breakdown else {} for acc in accounts]
    for key in ("by_park", "by_tier", "by_sector"):
        out[key] = [b.get(key, {}) for b in breakdowns]
    out["budget_used"] = [
        asdict(acc.budget_use) if acc.budget_use else dict.fromkeys(("subsidy", "fitout", "total"))
        for acc in accounts
    ]
    out["space_by_park"] = [_space_by_park(acc.space_use or []) for acc in accounts]
    return out


def _alloc(run: ledger.RunRecord) -> list[tuple[str, str, int]]:
    return [(a["cand_id"], a["site_id"], a["year"]) for a in run.result["allocation"]]


def _accounts(
    workspace: Workspace, run: ledger.RunRecord, current: list[dict[str, pd.DataFrame]]
) -> Explanation | None:
    """Return a run's accounts (:data:`.siting.explanation.ACCOUNTS`) as it was solved.

    Runs are recorded with them. For a run recorded before they always were, they are
    recomputed from its instance, rebuilt from its stored scenario and the workspace's
    layers — which is the run's own instance only while the layers still hash as they did
    (``None`` otherwise). ``current`` caches the layers between calls.
    """
    stored = Explanation.from_dict(run.explanation)
    if stored.has_accounts():
        return stored
    if not run.result["allocation"]:
        return Explanation(space_use=[], budget_use=BudgetUse(0.0, 0.0, 0.0))
    if not current:
        current.append(read_inputs(workspace))
    if layers.digest(current[0]) != run.layers_hash:
        return None
    scenario = parse_scenario(yaml.safe_load(run.scenario_yaml), source=f"run {run.run_id}")
    instance, _ = prepare(scenario, current[0])
    return explain.plan_accounts(instance, _alloc(run))


def _space_by_park(space_use: list[SpaceUse]) -> dict[str, dict[str, float]]:
    """Pivot space-use rows to park → class → m² used, for the parks that use any."""
    out: dict[str, dict[str, float]] = {}
    for row in space_use:
        out.setdefault(row.park_id, {})[row.space_class] = row.used_m2
    return {park: used for park, used in sorted(out.items()) if any(used.values())}
