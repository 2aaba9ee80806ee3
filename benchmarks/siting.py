"""Benchmark parkplan's siting model against the contract's model written naively.

Random instances in the contract's format are generated at three sizes; each is solved by
:class:`parkplan.siting.SitingModel` and by :func:`naive_problem`, the literal time-indexed
model of ``docs/siting-contract.md`` (``x[c, s, t]``, a space row for every site,
class and year, ``lpSum`` in Python loops), with the same solver and limits.

Run ``python -m benchmarks.siting [--sizes small,medium,large] [--solver highs]
[--out benchmarks/results/siting.json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pulp

from parkplan.siting import (
    SPACE_CLASSES,
    SitingInstance,
    SitingModel,
    check_feasible,
    evaluate,
    instance_to_dict,
    validate,
)

SIZES = {
    # name: (sites, candidates, time limit s, relative gap)
    "small": (40, 60, 60.0, None),
    "medium": (120, 150, 60.0, None),
    "large": (300, 400, 120.0, 0.01),
}

SECTORS = ("ic", "biomed", "auto", "new_energy", "aerospace", "materials", "food", "environment")

# tier: (share, value range, subsidy range 万元, size factor)
TIER_PROFILE = {
    "international_major": (0.08, (30, 60), (2000, 6000), 2.0),
    "national_qi_centre": (0.15, (20, 40), (1000, 3000), 1.5),
    "local_champion": (0.25, (10, 25), (300, 1200), 1.0),
    "specialist": (0.25, (8, 20), (200, 900), 0.7),
    "startup": (0.27, (2, 10), (50, 300), 0.3),
}


def generate_instance(n_sites: int, n_cands: int, seed: int = 0) -> SitingInstance:
    """Return a random instance with a tight budget, tier and sector quotas.

    Parks specialise in a few sectors, and a site scores a candidate by sector fit, so
    that the scores are sparse and clustered the way the scoring step's are.
    """
    rng = np.random.default_rng(seed)
    horizon = list(range(2026, 2031))
    n_parks = max(2, n_sites // 8)
    park_sectors = [set(rng.choice(SECTORS, size=3, replace=False)) for _ in range(n_parks)]

    def classes(scale: float, p_lab: float, p_heavy: float, p_hazard: float, base: float):
        return {
            "office_m2": float(round(base * scale * rng.uniform(0.2, 1.0), -1)),
            "lab_m2": float(round(rng.uniform(0.2, 1.0) * 4000 * scale, -1))
            if rng.random() < p_lab
            else 0.0,
            "heavy_lab_m2": float(round(rng.uniform(0.2, 1.0) * 2000 * scale, -1))
            if rng.random() < p_heavy
            else 0.0,
            "hazard_lab_m2": float(round(rng.uniform(0.2, 1.0) * 800 * scale, -1))
            if rng.random() < p_hazard
            else 0.0,
        }

    site_park = rng.integers(0, n_parks, size=n_sites)
    sites = []
    for j in range(n_sites):
        rec = {
            "site_id": f"S{j:04d}",
            "park_id": f"P{site_park[j]:02d}",
            "available_from": int(rng.choice([2025, 2026, 2026, 2027, 2028, 2029])),
            "fitout_cost": float(round(rng.uniform(200, 2500), 1)),
        }
        rec.update(classes(3.0, 0.6, 0.3, 0.25, 12000))
        sites.append(rec)
    # Keep every class present somewhere big enough for the largest need generated below.
    for cls, big in (("lab_m2", 8000.0), ("heavy_lab_m2", 4000.0), ("hazard_lab_m2", 1600.0)):
        sites[int(rng.integers(n_sites))][cls] = big
    sites_df = pd.DataFrame(sites)

    tiers = list(TIER_PROFILE)
    shares = np.array([TIER_PROFILE[t][0] for t in tiers])
    cand_tier = rng.choice(tiers, size=n_cands, p=shares / shares.sum())
    cands = []
    for i in range(n_cands):
        tier = str(cand_tier[i])
        _, vr, sr, size = TIER_PROFILE[tier]
        n_sec = 1 if rng.random() < 0.7 else 2
        rec = {
            "cand_id": f"C{i:04d}",
            "tier": tier,
            "sectors": tuple(str(g) for g in rng.choice(SECTORS, size=n_sec, replace=False)),
            "value": float(round(rng.uniform(*vr), 2)),
            "subsidy": float(round(rng.uniform(*sr), 1)),
            "ready_year": int(rng.choice([2026, 2026, 2027, 2027, 2028, 2029])),
        }
        rec.update(classes(size, 0.5, 0.2, 0.15, 3000))
        cands.append(rec)
    cands_df = pd.DataFrame(cands)

    # Score: sector fit with the park, times a site-specific quality, zero where unsuitable.
    score = np.zeros((n_cands, n_sites))
    for i, c in enumerate(cands):
        for j in range(n_sites):
            fit = len(set(c["sectors"]) & park_sectors[site_park[j]]) / len(c["sectors"])
            if fit == 0 and rng.random() < 0.7:
                continue
            score[i, j] = round(float(np.clip(0.3 + 0.6 * fit * rng.beta(4, 2), 0, 1)), 4)

    need = cands_df[list(SPACE_CLASSES)].to_numpy()
    cap = sites_df[list(SPACE_CLASSES)].to_numpy()
    fits = (need[:, None, :] <= cap[None, :, :]).all(axis=2)

    # A few signed pairs (where they fit and score well) and a few vetoed ones.
    fixed = []
    for i in rng.choice(n_cands, size=max(1, n_cands // 30), replace=False):
        ok = np.nonzero(fits[i] & (score[i] > 0.5))[0]
        if len(ok):
            fixed.append((cands[i]["cand_id"], sites[int(rng.choice(ok))]["site_id"]))
    fixed_c = {c for c, _ in fixed}
    excluded = []
    for _ in range(max(1, n_cands // 50)):
        i, j = int(rng.integers(n_cands)), int(rng.integers(n_sites))
        if cands[i]["cand_id"] not in fixed_c:
            excluded.append((cands[i]["cand_id"], sites[j]["site_id"]))

    subsidy = cands_df["subsidy"].to_numpy()
    budget = float(round(0.3 * subsidy.sum() + 0.15 * sites_df["fitout_cost"].sum(), -1))
    tier_count = pd.Series(cand_tier).value_counts()
    tier_quotas = {
        "international_major": int(0.3 * tier_count.get("international_major", 0)),
        "national_qi_centre": int(0.25 * tier_count.get("national_qi_centre", 0)),
    }
    sector_count = pd.Series([g for c in cands for g in c["sectors"]]).value_counts()
    sector_quotas = {g: int(0.3 * sector_count.get(g, 0)) for g in SECTORS[:3]}

    inst = SitingInstance(
        horizon=horizon,
        discount_rate=0.08,
        budget=budget,
        fitout_penalty=0.005,
        tier_quotas=tier_quotas,
        sector_quotas=sector_quotas,
        fixed=fixed,
        excluded=excluded,
        sites=sites_df,
        candidates=cands_df,
        score=score,
    )
    validate(inst)
    return inst


def naive_problem(inst: SitingInstance) -> tuple[pulp.LpProblem, dict]:
    """Build the contract's model literally: ``x[c, s, t]``, every space row, ``lpSum``."""
    cands = inst.candidates.to_dict("records")
    sites = inst.sites.to_dict("records")
    horizon = inst.horizon
    t0, delta = horizon[0], inst.delta
    a = {
        (c["cand_id"], s["site_id"]): float(inst.score[i, j])
        for i, c in enumerate(cands)
        for j, s in enumerate(sites)
    }
    excluded = set(inst.excluded)
    fixed = dict(inst.fixed)

    prob = pulp.LpProblem("naive_siting", pulp.LpMaximize)
    x = {}
    for c in cands:
        for s in sites:
            cid, sid = c["cand_id"], s["site_id"]
            if (cid, sid) in excluded or (cid in fixed and fixed[cid] != sid):
                continue
            if any(c[k] > s[k] for k in SPACE_CLASSES):
                continue
            for t in horizon:
                if t >= c["ready_year"] and t >= s["available_from"]:
                    x[cid, sid, t] = prob.add_variable(f"x_{cid}_{sid}_{t}", cat=pulp.LpBinary)
    y = {s["site_id"]: prob.add_variable(f"y_{s['site_id']}", cat=pulp.LpBinary) for s in sites}
    value = {c["cand_id"]: c["value"] for c in cands}

    prob += pulp.lpSum(
        value[c] * a[c, s] * delta ** (t - t0) * var for (c, s, t), var in x.items()
    ) - inst.fitout_penalty * pulp.lpSum(s["fitout_cost"] * y[s["site_id"]] for s in sites)

    for c in cands:
        cid = c["cand_id"]
        prob += pulp.lpSum(v for (cc, _, _), v in x.items() if cc == cid) <= 1, f"once_{cid}"
    for cid, sid in inst.fixed:
        prob += (
            pulp.lpSum(v for (cc, ss, _), v in x.items() if (cc, ss) == (cid, sid)) == 1,
            (f"fixed_{cid}_{sid}"),
        )
    need = {c["cand_id"]: c for c in cands}
    for s in sites:
        sid = s["site_id"]
        here = [(cc, tt, v) for (cc, ss, tt), v in x.items() if ss == sid]
        for k in SPACE_CLASSES:
            for t in horizon:
                if t < s["available_from"]:
                    continue
                prob += (
                    pulp.lpSum(need[cc][k] * v for cc, tt, v in here if tt <= t) <= s[k] * y[sid],
                    f"space_{sid}_{k}_{t}",
                )
    for (c, s, t), v in x.items():
        prob += v <= y[s], f"open_{c}_{s}_{t}"
    subsidy = {c["cand_id"]: c["subsidy"] for c in cands}
    prob += (
        pulp.lpSum(subsidy[c] * v for (c, _, _), v in x.items())
        + pulp.lpSum(s["fitout_cost"] * y[s["site_id"]] for s in sites)
        <= inst.budget,
        "budget",
    )
    tier = {c["cand_id"]: c["tier"] for c in cands}
    for tau, q in inst.tier_quotas.items():
        prob += pulp.lpSum(v for (c, _, _), v in x.items() if tier[c] == tau) >= q, f"tier_{tau}"
    sectors = {c["cand_id"]: c["sectors"] for c in cands}
    for g, q in inst.sector_quotas.items():
        prob += (
            pulp.lpSum(v for (c, _, _), v in x.items() if g in sectors[c]) >= q,
            f"sector_{g}",
        )
    return prob, x


def run_naive(inst: SitingInstance, solver: str, time_limit: float, gap: float | None) -> dict:
    """Build and solve the naive model; read status honestly (same rules as parkplan)."""
    start = time.perf_counter()
    prob, x = naive_problem(inst)
    build = time.perf_counter() - start
    gap_req = 1e-6 if gap is None else gap
    kwargs = {"msg": False, "timeLimit": time_limit, "gapRel": gap_req}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        engine = pulp.getSolver({"highs": "HiGHS", "cbc": "PULP_CBC_CMD"}[solver], **kwargs)
    t1 = time.perf_counter()
    prob.solve(engine)
    solve = time.perf_counter() - t1

    status, bound, objective, alloc = "no_solution", None, None, []
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if solver == "highs":
        import highspy

        info = prob.solverModel.getInfo()
        has_solution = int(info.primal_solution_status) == 2
        bound = -float(info.mip_dual_bound)
        bound = bound if math.isfinite(bound) else None
        proven = prob.solverModel.getModelStatus() == highspy.HighsModelStatus.kOptimal
    else:
        proven = prob.sol_status == pulp.LpSolutionOptimal
    if has_solution:
        alloc = [key for key, v in x.items() if v.varValue is not None and v.varValue > 0.5]
        objective = evaluate(inst, alloc)
        problems = check_feasible(inst, alloc)
        assert not problems, problems[:5]
        status = "optimal" if proven else "feasible"
    elif prob.status == pulp.LpStatusInfeasible:
        status = "infeasible"
    rel_gap = None
    if bound is not None and objective is not None:
        bound = max(bound, objective)
        rel_gap = (bound - objective) / max(abs(objective), 1e-9)
    return {
        "status": status,
        "objective": objective,
        "bound": bound,
        "gap": rel_gap,
        "seconds": {"build": build, "solve": solve, "total": build + solve},
        "variables": len(prob.variables()),
        "constraints": len(prob._constraints),
    }


def run_parkplan(inst: SitingInstance, solver: str, time_limit: float, gap: float | None) -> dict:
    start = time.perf_counter()
    model = SitingModel.from_instance(inst).solve(solver=solver, time_limit=time_limit, gap=gap)
    wall = time.perf_counter() - start
    res = model.to_dict()
    return {
        "status": res["status"],
        "objective": res["objective"],
        "bound": res["bound"],
        "gap": res["gap"],
        "solver": res["solver"],
        "seconds": {**res["seconds"], "wall": wall},
        "variables": len(model.problem.variables()),
        "constraints": len(model.problem._constraints),
    }


def _fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--solver", default="highs", choices=["highs", "cbc"])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive model")
    parser.add_argument("--out", default="benchmarks/results/siting.json")
    parser.add_argument("--export-dir", default=None, help="also write the instances here")
    args = parser.parse_args(argv)

    rows = []
    for size in args.sizes.split(","):
        n_sites, n_cands, limit, gap = SIZES[size]
        inst = generate_instance(n_sites, n_cands, seed=args.seed)
        if args.export_dir:
            Path(args.export_dir).mkdir(parents=True, exist_ok=True)
            with open(Path(args.export_dir) / f"siting-{size}.json", "w") as fh:
                json.dump(instance_to_dict(inst), fh)
        ours = run_parkplan(inst, args.solver, limit, gap)
        naive = None if args.no_naive else run_naive(inst, args.solver, limit, gap)
        row = {
            "size": size,
            "sites": n_sites,
            "candidates": n_cands,
            "time_limit": limit,
            "gap_requested": gap,
            "parkplan": ours,
            "naive": naive,
        }
        if naive:
            row["ratios"] = {
                "build": naive["seconds"]["build"] / max(ours["seconds"]["build"], 1e-9),
                "total": naive["seconds"]["total"] / max(ours["seconds"]["total"], 1e-9),
            }
        rows.append(row)
        _print_row(row)

    targets = check_targets(rows)
    for line in targets:
        print(line)

    out = {
        "solver": args.solver,
        "targets": targets,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "seed": args.seed,
        "runs": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)
    print(f"\nwritten {args.out}")
    return 0


def check_targets(rows: list[dict]) -> list[str]:
    """State the performance targets against the figures measured."""
    lines = []
    for row in rows:
        ours = row["parkplan"]
        sec = ours["seconds"]
        share = sec["build"] / max(sec["total"], 1e-9)
        lines.append(
            f"target {row['size']}: model building {100 * share:.1f}% of total (< 10%): "
            f"{'met' if share < 0.10 else 'MISSED'}"
        )
        if row["size"] == "medium":
            ok = ours["status"] == "optimal" and sec["wall"] < 8.0
            lines.append(
                f"target medium: proven optimal in {sec['wall']:.2f} s wall (< 8 s): "
                f"{'met' if ok else 'MISSED'}"
            )
        if row["size"] == "large":
            ok = ours["gap"] is not None and ours["gap"] <= 0.01 and sec["wall"] <= 120.0
            lines.append(
                f"target large: gap {_fmt(ours['gap'], '.2%')} in {sec['wall']:.2f} s wall "
                f"(<= 1% in 120 s): {'met' if ok else 'MISSED'}"
            )
    return lines


_HEADER = False


def _print_row(row: dict) -> None:
    global _HEADER
    if not _HEADER:
        print(
            f"{'size':<7}{'model':<9}{'vars':>8}{'rows':>8}{'build s':>9}{'solve s':>9}"
            f"{'total s':>9}{'build%':>8}  {'status':<12}{'objective':>12}{'gap':>10}"
        )
        _HEADER = True
    for label in ("parkplan", "naive"):
        r = row[label]
        if r is None:
            continue
        sec = r["seconds"]
        print(
            f"{row['size']:<7}{label:<9}{r['variables']:>8}{r['constraints']:>8}"
            f"{sec['build']:>9.2f}{sec['solve']:>9.2f}{sec['total']:>9.2f}"
            f"{100 * sec['build'] / max(sec['total'], 1e-9):>7.1f}%  {r['status']:<12}"
            f"{_fmt(r['objective']):>12}{_fmt(r['gap'], '.2e'):>10}"
        )
    if "ratios" in row:
        print(
            f"{'':<7}naive/parkplan: build x{row['ratios']['build']:.1f}, "
            f"total x{row['ratios']['total']:.1f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
