"""Explanations of a siting plan, and of an infeasible scenario.

Where the value comes from, what space is worth, what else would do nearly as well, which
sites matter, and why an infeasible scenario fails.

Every function takes a :class:`~parkplan.siting.instance.SitingInstance` and plain
allocations and returns the typed records of :mod:`.explanation`; the methods are
justified in ``models/MODEL.md``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pulp

from parkplan.layers import SPACE_CLASSES
from parkplan.siting.explanation import (
    Allocation,
    Alternative,
    Breakdown,
    BudgetUse,
    Explanation,
    Infeasibility,
    ParkAccount,
    Relaxation,
    SiteLoss,
    SpaceUse,
    SpaceValue,
)
from parkplan.siting.formulation import allowed_pairs
from parkplan.siting.instance import SitingInstance
from parkplan.siting.model import SitingModel
from parkplan.siting.solvers import solve_problem

#: Space added per park and class when valuing space (m²).
SPACE_INCREMENT = 1000.0


def _weights(inst: SitingInstance) -> tuple[np.ndarray, np.ndarray]:
    """Return the objective weight of every (c, s) pair at its best year, and that year."""
    _, year, _ = allowed_pairs(inst)
    value = inst.candidates["value"].to_numpy(dtype=float)
    discount = inst.delta ** (year - inst.horizon[0])
    w = value[:, None] * np.asarray(inst.score, dtype=float) * discount
    return w, year


def objective_breakdown(inst: SitingInstance, allocation: Allocation) -> Breakdown:
    """Split the objective of ``allocation`` by park, tier and sector.

    A candidate's discounted value counts for its park and tier; for sectors it is split
    equally among the candidate's sectors, so that every breakdown sums to the value part
    of the objective. The fit-out penalty of opened sites is charged to their park.

    Returns
    -------
    Breakdown
    """
    sites = inst.sites.set_index("site_id")
    cands = inst.candidates.set_index("cand_id")
    t0, delta = inst.horizon[0], inst.delta
    sidx = {s: j for j, s in enumerate(inst.site_ids)}
    cidx = {c: i for i, c in enumerate(inst.cand_ids)}
    by_park: dict[str, dict[str, float]] = defaultdict(lambda: {"value": 0.0, "penalty": 0.0})
    by_tier: dict[str, float] = defaultdict(float)
    by_sector: dict[str, float] = defaultdict(float)
    for c, s, t in allocation:
        v = float(cands.at[c, "value"] * inst.score[cidx[c], sidx[s]] * delta ** (t - t0))
        by_park[sites.at[s, "park_id"]]["value"] += v
        by_tier[cands.at[c, "tier"]] += v
        sectors = cands.at[c, "sectors"] or ("(none)",)
        for g in sectors:
            by_sector[g] += v / len(sectors)
    for s in {s for _, s, _ in allocation}:
        by_park[sites.at[s, "park_id"]]["penalty"] += inst.fitout_penalty * float(
            sites.at[s, "fitout_cost"]
        )
    value = sum(p["value"] for p in by_park.values())
    penalty = sum(p["penalty"] for p in by_park.values())
    return Breakdown(
        total=value - penalty,
        value=value,
        fitout_penalty=penalty,
        by_park={
            p: ParkAccount(d["value"], d["penalty"], d["value"] - d["penalty"])
            for p, d in sorted(by_park.items())
        },
        by_tier=dict(sorted(by_tier.items())),
        by_sector=dict(sorted(by_sector.items())),
    )


def space_use(inst: SitingInstance, allocation: Allocation) -> list[SpaceUse]:
    """Report space used per park and class at the end of the horizon.

    Returns
    -------
    list of SpaceUse
    """
    need = inst.candidates.set_index("cand_id")[list(SPACE_CLASSES)]
    sites = inst.sites.set_index("site_id")
    opened = {s for _, s, _ in allocation}
    rows = []
    for park, park_sites in sites.groupby("park_id"):
        used = need.loc[[c for c, s, _ in allocation if s in park_sites.index]].sum()
        opened_cap = park_sites.loc[park_sites.index.isin(opened), list(SPACE_CLASSES)].sum()
        for cls in SPACE_CLASSES:
            cap = float(opened_cap[cls])
            rows.append(
                SpaceUse(
                    park_id=park,
                    space_class=cls,
                    used_m2=float(used[cls]),
                    opened_m2=cap,
                    capacity_m2=float(park_sites[cls].sum()),
                    utilisation=float(used[cls]) / cap if cap > 0 else None,
                )
            )
    return rows


def budget_use(inst: SitingInstance, allocation: Allocation) -> BudgetUse:
    """Report what ``allocation`` spends on subsidies and fit-out.

    Subsidies are those of the candidates placed; fit-out that of the sites they open (a
    site is opened exactly when it hosts someone).

    Returns
    -------
    BudgetUse
    """
    subsidy = inst.candidates.set_index("cand_id")["subsidy"]
    fitout = inst.sites.set_index("site_id")["fitout_cost"]
    spent = float(sum(subsidy[c] for c, _, _ in allocation))
    opened = float(sum(fitout[s] for s in {s for _, s, _ in allocation}))
    return BudgetUse(subsidy=spent, fitout=opened, total=spent + opened)


def plan_accounts(inst: SitingInstance, allocation: Allocation) -> Explanation:
    """Return a plan's accounts (:data:`.explanation.ACCOUNTS`), which need no solver.

    Returns
    -------
    Explanation
        With ``breakdown`` (:func:`objective_breakdown`), ``space_use``
        (:func:`space_use`) and ``budget_use`` (:func:`budget_use`).
    """
    return Explanation(
        breakdown=objective_breakdown(inst, allocation),
        space_use=space_use(inst, allocation),
        budget_use=budget_use(inst, allocation),
    )


def space_values(
    inst: SitingInstance,
    allocation: Allocation,
    solver: str = "highs",
    increment: float = SPACE_INCREMENT,
) -> list[SpaceValue]:
    """Value ``increment`` m² more of each class in each park: shadow prices of space.

    The site openings of ``allocation`` are fixed, the placement variables relaxed to
    [0, 1], and the linear programme re-solved; the dual value of a site's space row is the
    objective gained per extra m² there. A park's value for a class is the best of its
    opened sites' duals times ``increment`` (the space would be added where it is worth
    most). See ``models/MODEL.md`` for why this, and what it does not promise.

    Returns
    -------
    list of SpaceValue
        ``value`` in objective points per ``increment`` m².
    """
    allowed, _, _ = allowed_pairs(inst)
    w, _ = _weights(inst)
    need, cap = inst.need(), inst.capacity()
    subsidy = inst.candidates["subsidy"].to_numpy(dtype=float)
    fitout = inst.sites["fitout_cost"].to_numpy(dtype=float)
    sidx = {s: j for j, s in enumerate(inst.site_ids)}
    cidx = {c: i for i, c in enumerate(inst.cand_ids)}
    opened = sorted({sidx[s] for _, s, _ in allocation})
    lp = pulp.LpProblem("space_values", pulp.LpMaximize)
    pairs = [(int(i), int(j)) for i, j in np.argwhere(allowed) if int(j) in opened]
    z = {(i, j): lp.add_variable(f"z_{i}_{j}", lowBound=0, upBound=1) for i, j in pairs}
    lp.setObjective(pulp.lpSum(float(w[i, j]) * v for (i, j), v in z.items()))
    by_cand: dict[int, list] = defaultdict(list)
    by_site: dict[int, list] = defaultdict(list)
    for (i, j), v in z.items():
        by_cand[i].append(v)
        by_site[j].append((i, v))
    for i, vs in by_cand.items():
        lp += pulp.lpSum(vs) <= 1, f"once_{i}"
    for c, s in inst.fixed:
        if (cidx[c], sidx[s]) in z:
            lp += z[cidx[c], sidx[s]] >= 1, f"fixed_{cidx[c]}"
    rows = {}
    for j in opened:
        for k in range(len(SPACE_CLASSES)):
            name = f"space_{j}_{k}"
            lp += pulp.lpSum(float(need[i, k]) * v for i, v in by_site[j]) <= float(cap[j, k]), name
            rows[j, k] = name
    fixed_cost = float(fitout[opened].sum())
    lp += (
        pulp.lpSum(float(subsidy[i]) * v for (i, _), v in z.items())
        <= float(inst.budget) - fixed_cost,
        "budget",
    )
    tiers = inst.candidates["tier"].tolist()
    sectors = inst.candidates["sectors"].tolist()
    for tier, q in inst.tier_quotas.items():
        if q > 0:
            lp += pulp.lpSum(v for (i, _), v in z.items() if tiers[i] == tier) >= q, f"t_{tier}"
    for g, q in inst.sector_quotas.items():
        if q > 0:
            lp += pulp.lpSum(v for (i, _), v in z.items() if g in sectors[i]) >= q, f"g_{g}"
    # With a feasible plan's openings fixed the LP is feasible and bounded: no status to check.
    solve_problem(lp, solver, None, 0.0)
    # PuLP hands HiGHS the negated objective of a maximisation, so its duals come back
    # negated; CBC's come back as the maximisation's own.
    sign = -1.0 if solver == "highs" else 1.0
    out = []
    park_of = inst.sites["park_id"].tolist()
    for park in sorted(set(park_of)):
        for k, cls in enumerate(SPACE_CLASSES):
            best, where, tight = 0.0, None, False
            for j in opened:
                if park_of[j] != park:
                    continue
                con = lp.get_constraint_by_name(rows[j, k])
                pi = sign * con.pi if con.pi is not None and math.isfinite(con.pi) else 0.0
                slack = con.slack if con.slack is not None else 1.0
                tight = tight or abs(slack) < 1e-6
                if pi * increment > best:
                    best, where = pi * increment, inst.site_ids[j]
            out.append(SpaceValue(park, cls, best, where, tight))
    return out


def alternatives(
    inst: SitingInstance,
    allocation: Allocation,
    k: int = 3,
    solver: str = "highs",
    time_limit: float | None = 30.0,
    gap: float = 1e-3,
) -> list[Alternative]:
    """Find up to ``k`` further plans, each different from the best and from each other.

    Each new plan is the best one that differs from every plan found so far in at least one
    (candidate, site) pair: a no-good cut per plan found, ``Σ_{p∈P} z_p − Σ_{p∉P} z_p ≤
    |P| − 1``, excludes exactly that plan.

    Returns
    -------
    list of Alternative
        Best first; ``added`` and ``removed`` are against the best plan.
    """
    model = SitingModel.from_instance(inst, linking=SitingModel.AUTO_LINKING[solver])
    x = model.formulation.x
    cidx = {c: i for i, c in enumerate(inst.cand_ids)}
    sidx = {s: j for j, s in enumerate(inst.site_ids)}

    def exclude(plan: set[tuple[str, str]], n: int) -> None:
        keys = {(cidx[c], sidx[s]) for c, s in plan}
        chosen = [v for key, v in x.items() if key in keys]
        others = [v for key, v in x.items() if key not in keys]
        model.problem.addConstraint(
            pulp.lpSum(chosen) - pulp.lpSum(others) <= len(chosen) - 1, f"nogood_{n}"
        )

    best_pairs = {(c, s) for c, s, _ in allocation}
    exclude(best_pairs, 0)
    out = []
    for n in range(1, k + 1):
        res = model.solve(solver, time_limit=time_limit, gap=gap).result
        if res.status not in ("optimal", "feasible"):
            break
        pairs = {(c, s) for c, s, _ in res.allocation}
        exclude(pairs, n)
        out.append(
            Alternative(
                objective=res.objective,
                status=res.status,
                allocation=list(res.allocation),
                added=sorted(pairs - best_pairs),
                removed=sorted(best_pairs - pairs),
            )
        )
    # Re-solves stop within a gap, so a later plan can come out a little better.
    return sorted(out, key=lambda alt: -alt.objective)


def irreplaceability(
    inst: SitingInstance,
    allocation: Allocation,
    objective: float,
    *,
    top: int = 5,
    solver: str = "highs",
    time_limit: float | None = 30.0,
    gap: float = 1e-3,
) -> list[SiteLoss]:
    """Objective lost when each of the plan's ``top`` most valuable sites is excluded.

    The sites are ranked by the value their occupants bring; each is excluded in turn
    (every pair with it forbidden, fixed pairs there released) and the model re-solved.
    The loss is measured against ``objective``, the plan at hand: with a gap it lies
    between ``loss_min`` (from the re-solve's bound) and ``loss_max`` (from its plan).

    Excluding a site only removes options, so the loss is never negative; a re-solve can
    still beat ``objective`` when the plan itself was stopped within its gap, and such a
    difference is the plan's own gap, not a gain, so both ends are floored at 0. Where
    fixed pairs are released the variant has new options as well, and the change is
    reported as it is (negative: releasing them would gain).

    Returns
    -------
    list of SiteLoss
    """
    w, _ = _weights(inst)
    cidx = {c: i for i, c in enumerate(inst.cand_ids)}
    sidx = {s: j for j, s in enumerate(inst.site_ids)}
    value_at: dict[str, float] = defaultdict(float)
    for c, s, _ in allocation:
        value_at[s] += float(w[cidx[c], sidx[s]])
    ranked = sorted(value_at, key=lambda s: -value_at[s])[:top]
    park_of = dict(zip(inst.site_ids, inst.sites["park_id"], strict=True))
    out = []
    for s in ranked:
        excluded = list(inst.excluded) + [
            (c, s) for c in inst.cand_ids if (c, s) not in inst.excluded
        ]
        fixed_here = [f for f in inst.fixed if f[1] == s]
        variant = replace(inst, excluded=excluded, fixed=[f for f in inst.fixed if f[1] != s])
        res = (
            SitingModel.from_instance(variant).solve(solver, time_limit=time_limit, gap=gap).result
        )
        loss_min = loss_max = None
        if res.status in ("optimal", "feasible"):
            bound = res.bound if res.bound is not None else res.objective
            floor = -math.inf if fixed_here else 0.0
            loss_min = max(objective - bound, floor)
            loss_max = max(objective - res.objective, floor)
        out.append(
            SiteLoss(
                site_id=s,
                park_id=park_of[s],
                value_in_plan=value_at[s],
                status=res.status,
                fixed_pairs_released=[tuple(f) for f in fixed_here],
                loss_min=loss_min,
                loss_max=loss_max,
            )
        )
    return out


def explain_infeasible(
    inst: SitingInstance, solver: str = "highs", time_limit: float | None = 60.0
) -> Infeasibility:
    """Say which constraints conflict and the smallest relaxation that makes them hold.

    An elastic copy of the model gives every budget, quota, fixed-pair and space
    constraint a slack. First the number of constraints relaxed is minimised, then —
    with that number fixed — the total relative size of the relaxations (budget and space
    in proportion to their limits, quotas in candidates). Fixed pairs that can never be
    placed (too little space at the site, or a start after the horizon) are reported as
    they are.

    Both stages are solved through :func:`~parkplan.siting.solvers.solve_problem`, so a
    stage stopped by ``time_limit`` is told apart from a proven optimum exactly as in the
    siting model; the relaxation is then still one that makes the scenario feasible, but
    is not claimed to be the smallest.

    Returns
    -------
    Infeasibility
        ``proven_smallest`` when both stages are proven optimal; a ``note`` when the
        relaxation is not proven smallest or none was found.
    """
    allowed, _, conflicts = allowed_pairs(inst)
    need, cap = inst.need(), inst.capacity()
    subsidy = inst.candidates["subsidy"].to_numpy(dtype=float)
    fitout = inst.sites["fitout_cost"].to_numpy(dtype=float)
    cidx = {c: i for i, c in enumerate(inst.cand_ids)}
    sidx = {s: j for j, s in enumerate(inst.site_ids)}
    fixed = [(cidx[c], sidx[s]) for c, s in inst.fixed]
    ready = inst.candidates["ready_year"].to_numpy()
    avail = inst.sites["available_from"].to_numpy()
    for i, j in fixed:
        # Let the fixed candidate be considered at its site even where space forbids it,
        # so that a space relaxation can be proposed; a pair that fits but can only start
        # after the horizon stays a hard conflict.
        too_late = bool((need[i] <= cap[j]).all()) and max(ready[i], avail[j]) > inst.horizon[-1]
        allowed[i, j] = allowed[i, j] or not too_late
    pairs = [(int(i), int(j)) for i, j in np.argwhere(allowed)]
    sites_used = sorted({j for _, j in pairs})

    def build() -> tuple[pulp.LpProblem, dict, dict]:
        lp = pulp.LpProblem("elastic", pulp.LpMinimize)
        z = {(i, j): lp.add_variable(f"z_{i}_{j}", cat=pulp.LpBinary) for i, j in pairs}
        y = {j: lp.add_variable(f"y_{j}", cat=pulp.LpBinary) for j in sites_used}
        slack: dict[str, tuple[pulp.LpVariable, pulp.LpVariable, float, dict]] = {}

        def elastic(key: str, scale: float, upper: float, info: dict, integer: bool = False):
            amount = lp.add_variable(
                f"s_{len(slack)}",
                lowBound=0,
                upBound=upper,
                cat=pulp.LpInteger if integer else pulp.LpContinuous,
            )
            used = lp.add_variable(f"u_{len(slack)}", cat=pulp.LpBinary)
            lp.addConstraint(amount <= upper * used)
            slack[key] = (amount, used, scale, info)
            return amount

        by_cand: dict[int, list] = defaultdict(list)
        by_site: dict[int, list] = defaultdict(list)
        for (i, j), v in z.items():
            by_cand[i].append(v)
            by_site[j].append((i, v))
            lp += v <= y[j]
        for vs in by_cand.values():
            lp += pulp.lpSum(vs) <= 1
        for i, j in fixed:
            if (i, j) in z:
                rel = elastic(
                    f"fixed:{inst.cand_ids[i]}:{inst.site_ids[j]}",
                    1.0,
                    1.0,
                    {"kind": "fixed", "cand_id": inst.cand_ids[i], "site_id": inst.site_ids[j]},
                    integer=True,
                )
                lp += z[i, j] + rel >= 1
        for j in sites_used:
            for k, cls in enumerate(SPACE_CLASSES):
                total = float(sum(need[i, k] for i, _ in by_site[j]))
                if total <= cap[j, k]:
                    continue
                extra = elastic(
                    f"space:{inst.site_ids[j]}:{cls}",
                    max(cap[j, k], 1000.0),
                    total,
                    {
                        "kind": "space",
                        "site_id": inst.site_ids[j],
                        "space_class": cls,
                        "current": float(cap[j, k]),
                    },
                )
                lp += (
                    pulp.lpSum(float(need[i, k]) * v for i, v in by_site[j])
                    <= float(cap[j, k]) * y[j] + extra
                )
        total_cost = float(subsidy.sum() + fitout.sum())
        over = elastic(
            "budget",
            max(inst.budget, 1.0),
            total_cost,
            {"kind": "budget", "current": float(inst.budget)},
        )
        lp += (
            pulp.lpSum(float(subsidy[i]) * v for (i, _), v in z.items())
            + pulp.lpSum(float(fitout[j]) * v for j, v in y.items())
            <= float(inst.budget) + over
        )
        tiers = inst.candidates["tier"].tolist()
        sectors = inst.candidates["sectors"].tolist()
        groups = [
            ("tier", t, q, [v for (i, _), v in z.items() if tiers[i] == t])
            for t, q in inst.tier_quotas.items()
            if q > 0
        ]
        groups += [
            ("sector", g, q, [v for (i, _), v in z.items() if g in sectors[i]])
            for g, q in inst.sector_quotas.items()
            if q > 0
        ]
        for kind, key, q, vs in groups:
            short = elastic(
                f"{kind}:{key}",
                float(q),
                float(q),
                {"kind": kind, "key": key, "current": int(q)},
                integer=True,
            )
            lp += pulp.lpSum(vs) + short >= q
        return lp, slack, {"z": z}

    lp, slack, _ = build()
    lp.setObjective(pulp.lpSum(used for _, used, _, _ in slack.values()))
    fewest = solve_problem(lp, solver, time_limit, 0.0)
    if not fewest.has_solution:
        note = "relaxation_does_not_help" if fewest.proven_infeasible else "no_relaxation_found"
        return Infeasibility(conflicts, [], proven_smallest=False, note=note)
    count = round(pulp.value(lp.objective))
    lp2, slack2, _ = build()
    lp2 += pulp.lpSum(used for _, used, _, _ in slack2.values()) <= count
    lp2.setObjective(pulp.lpSum(amount * (1.0 / scale) for amount, _, scale, _ in slack2.values()))
    smallest = solve_problem(lp2, solver, time_limit, 0.0)
    # Stage 1's relaxation makes the scenario feasible too, if stage 2 found nothing better.
    chosen = slack2 if smallest.has_solution else slack
    relaxations = []
    for amount, _, _, info in chosen.values():
        v = amount.varValue or 0.0
        if v <= 1e-6:
            continue
        relaxations.append(_relaxation(info, v))
    # Smallest only when both stages are proven optimal: a solver stopped by its time
    # limit returns an incumbent that PuLP would call optimal all the same.
    proven = fewest.proven_optimal and smallest.proven_optimal
    return Infeasibility(
        conflicts=conflicts + [r.constraint for r in relaxations if r.constraint not in conflicts],
        relaxations=relaxations,
        proven_smallest=proven,
        note=None if proven else "not_proven_smallest",
    )


def _relaxation(info: dict, amount: float) -> Relaxation:
    """Return the relaxation of an elastic row by ``amount`` (its slack's value)."""
    kind = info["kind"]
    if kind == "budget":
        return Relaxation("budget", "budget", info["current"], info["current"] + amount)
    if kind in ("tier", "sector"):
        needed = int(info["current"] - round(amount))
        return Relaxation(kind, f"{kind}_{info['key']}", info["current"], needed, group=info["key"])
    if kind == "fixed":
        c, s = info["cand_id"], info["site_id"]
        return Relaxation("fixed", f"fixed_{c}_{s}", 1, 0, cand_id=c, site_id=s)
    s, cls = info["site_id"], info["space_class"]
    return Relaxation(
        "space",
        f"space_{s}_{cls}",
        info["current"],
        info["current"] + amount,
        site_id=s,
        space_class=cls,
    )
