r"""The siting model's formulation: the reduced MIP of :class:`~.model.SitingModel` in PuLP.

:func:`build_problem` follows PuLP's examples: data, then variables, then the objective,
then constraints, each named from the ids it concerns (``space_{site}_{class}_{year}``,
``tier_{tier}``, ...), so that a solver's log or an LP file reads in the contract's terms
(``docs/siting-contract.md``). It takes a valid instance and returns the built problem with
the bookkeeping needed to read a solution back; nothing here solves.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pulp

from parkplan.errors import SitingError
from parkplan.siting.instance import SPACE_CLASSES, SitingInstance

__all__ = ["SitingFormulation", "allowed_pairs", "build_problem"]


@dataclass
class SitingFormulation:
    """A built PuLP problem and the bookkeeping to read its solution back.

    Parameters
    ----------
    problem : pulp.LpProblem
    x : dict of (int, int) to pulp.LpVariable
        ``x[c, s]`` by candidate and site row number, only for allowed pairs.
    y : dict of int to pulp.LpVariable
        ``y[s]``, only for sites that some candidate may use.
    year : dict of (int, int) to int
        The move-in year each allowed pair is reported with.
    conflicts : list of str
        Reasons the instance is infeasible that show before solving (a fixed pair that
        cannot be placed); the problem is not worth sending to a solver when non-empty.
    linking : str
        ``"site"`` or ``"pair"``, see :func:`build_problem`.
    """

    problem: pulp.LpProblem
    x: dict[tuple[int, int], pulp.LpVariable]
    y: dict[int, pulp.LpVariable]
    year: dict[tuple[int, int], int]
    conflicts: list[str]
    linking: str = "site"


def _tokens(ids: list[str]) -> list[str]:
    """Make ids safe and unique inside PuLP names (PuLP maps ``-+[] ->/`` to ``_``)."""
    toks = [re.sub(r"[^0-9A-Za-z_.]", "_", i) for i in ids]
    if len(set(toks)) < len(toks):
        toks = [f"{t}_{n}" for n, t in enumerate(toks)]
    return toks


def allowed_pairs(inst: SitingInstance) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return which (c, s) pairs may be used, the year each is best used in, and conflicts.

    A pair is allowed when the contract would create at least one ``x[c, s, t]`` for it.
    Its year is the allowed year with the largest discount weight ``δ^(t - t0)``: the
    earliest when ``r ≥ 0``, the last horizon year when ``-1 < r < 0``.
    """
    cands, sites = inst.candidates, inst.sites
    horizon = np.asarray(inst.horizon, dtype=np.int64)
    need, cap = inst.need(), inst.capacity()
    ready = cands["ready_year"].to_numpy(dtype=np.int64)
    avail = sites["available_from"].to_numpy(dtype=np.int64)

    fits = (need[:, None, :] <= cap[None, :, :]).all(axis=2)
    first = np.maximum(ready[:, None], avail[None, :])
    pos = np.searchsorted(horizon, first, side="left")
    in_horizon = pos < len(horizon)
    if inst.delta <= 1.0:
        year = horizon[np.minimum(pos, len(horizon) - 1)]
    else:
        year = np.full(pos.shape, horizon[-1])
    allowed = fits & in_horizon

    ci = {c: i for i, c in enumerate(inst.cand_ids)}
    si = {s: j for j, s in enumerate(inst.site_ids)}
    for c, s in inst.excluded:
        allowed[ci[c], si[s]] = False
    conflicts = []
    for c, s in inst.fixed:
        i, j = ci[c], si[s]
        if not allowed[i, j]:
            conflicts.append(_why_not(inst, i, j, bool(fits[i, j])))
        keep = allowed[i, j]
        allowed[i, :] = False
        allowed[i, j] = keep
    return allowed, year, conflicts


def _why_not(inst: SitingInstance, i: int, j: int, fits: bool) -> str:
    """Say why the fixed pair of candidate row ``i`` and site row ``j`` cannot be placed."""
    c, s = inst.cand_ids[i], inst.site_ids[j]
    if not fits:
        need, cap = inst.need()[i], inst.capacity()[j]
        short = [
            f"{cls} {need[k]:g} > {cap[k]:g}"
            for k, cls in enumerate(SPACE_CLASSES)
            if need[k] > cap[k]
        ]
        return f"fixed pair ({c}, {s}): the site is too small ({'; '.join(short)})"
    first = max(
        int(inst.candidates["ready_year"].iloc[i]), int(inst.sites["available_from"].iloc[j])
    )
    return (
        f"fixed pair ({c}, {s}): the earliest possible year {first} is after the horizon "
        f"ends ({inst.horizon[-1]})"
    )


def build_problem(
    inst: SitingInstance, name: str = "parkplan_siting", linking: str = "site"
) -> SitingFormulation:
    """Build the reduced siting MIP (see :class:`SitingModel`) as a PuLP problem.

    Data, variables, objective, then named constraints, in that order. The instance is
    assumed valid (:func:`~parkplan.siting.instance.validate`).

    Parameters
    ----------
    inst : SitingInstance
    name : str
        The problem's name.
    linking : {"site", "pair"}
        How occupancy opens a site: one row ``Σ_c z[c,s] <= M_s·y[s]`` per site, or one row
        ``z[c,s] <= y[s]`` per pair. Both give the same integer solutions; which one solves
        faster depends on the solver (see :class:`SitingModel`).

    Returns
    -------
    SitingFormulation
    """
    # --- data
    cand_ids, site_ids = inst.cand_ids, inst.site_ids
    ctok, stok = _tokens(cand_ids), _tokens(site_ids)
    cands, sites = inst.candidates, inst.sites
    value = cands["value"].to_numpy(dtype=float)
    subsidy = cands["subsidy"].to_numpy(dtype=float)
    fitout = sites["fitout_cost"].to_numpy(dtype=float)
    need, cap = inst.need(), inst.capacity()
    t0, t_last = inst.horizon[0], inst.horizon[-1]
    allowed, year, conflicts = allowed_pairs(inst)
    weight = value[:, None] * np.asarray(inst.score, dtype=float) * inst.delta ** (year - t0)
    pairs = [(int(i), int(j)) for i, j in np.argwhere(allowed)]

    prob = pulp.LpProblem(name, pulp.LpMaximize)

    # --- variables
    pair_tok = {(i, j): f"{ctok[i]}_{stok[j]}" for i, j in pairs}
    if len(set(pair_tok.values())) < len(pairs):
        # Ids with underscores can make "C1_2" + "S3" read like "C1" + "2_S3".
        pair_tok = {(i, j): f"{i}_{j}" for i, j in pairs}
    x = {(i, j): prob.add_variable(f"x_{pair_tok[i, j]}", cat=pulp.LpBinary) for i, j in pairs}
    used_sites = sorted({j for _, j in pairs})
    y = {j: prob.add_variable(f"y_{stok[j]}", cat=pulp.LpBinary) for j in used_sites}
    by_cand: dict[int, list[int]] = defaultdict(list)
    by_site: dict[int, list[int]] = defaultdict(list)
    for i, j in pairs:
        by_cand[i].append(j)
        by_site[j].append(i)

    # --- objective
    phi = inst.fitout_penalty
    prob.setObjective(
        pulp.LpAffineExpression(
            [(x[i, j], float(weight[i, j])) for i, j in pairs]
            + [(y[j], -phi * float(fitout[j])) for j in used_sites]
        )
    )

    # --- constraints
    def add(terms: list[tuple[pulp.LpVariable, float]], sense: int, rhs: float, cname: str):
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, cname, rhs))

    le, ge, eq = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
    ci = {c: i for i, c in enumerate(cand_ids)}
    si = {s: j for j, s in enumerate(site_ids)}
    fixed_rows = set()
    for c, s in dict.fromkeys(inst.fixed):  # a pair listed twice is one constraint
        i, j = ci[c], si[s]
        fixed_rows.add(i)
        if (i, j) in x:
            add([(x[i, j], 1.0)], eq, 1.0, f"fixed_{pair_tok[i, j]}")

    for i, js in by_cand.items():
        # With one allowed site the variable's own bound already says "at most once".
        if len(js) > 1 and i not in fixed_rows:
            add([(x[i, j], 1.0) for j in js], le, 1.0, f"once_{ctok[i]}")

    for j in used_sites:
        occupants = by_site[j]
        for k, cls in enumerate(SPACE_CLASSES):
            # If everyone allowed here fits at once, the row is implied once anyone in
            # the site forces y[s] = 1, which the linking rows below do.
            if need[occupants, k].sum() <= cap[j, k]:
                continue
            terms = [(x[i, j], float(need[i, k])) for i in occupants if need[i, k] > 0]
            terms.append((y[j], -float(cap[j, k])))
            add(terms, le, 0.0, f"space_{stok[j]}_{cls}_{t_last}")

    if linking == "pair":
        for i, j in pairs:
            add([(x[i, j], 1.0), (y[j], -1.0)], le, 0.0, f"open_{pair_tok[i, j]}")
    elif linking == "site":
        for j in used_sites:
            occupants = by_site[j]
            terms = [(x[i, j], 1.0) for i in occupants]
            terms.append((y[j], -float(_max_occupants(need[occupants], cap[j]))))
            add(terms, le, 0.0, f"open_{stok[j]}")
    else:
        raise SitingError(f"unknown linking {linking!r}; use 'site' or 'pair'")

    add(
        [(x[i, j], float(subsidy[i])) for i, j in pairs if subsidy[i] != 0]
        + [(y[j], float(fitout[j])) for j in used_sites if fitout[j] != 0],
        le,
        float(inst.budget),
        "budget",
    )

    tiers = cands["tier"].tolist()
    for tier, q in inst.tier_quotas.items():
        if q > 0:
            terms = [(x[i, j], 1.0) for i, j in pairs if tiers[i] == tier]
            add(terms, ge, float(q), f"tier_{tier}")
    sectors = cands["sectors"].tolist()
    gtok = _tokens(list(inst.sector_quotas))
    for (sector, q), tok in zip(inst.sector_quotas.items(), gtok, strict=True):
        if q > 0:
            terms = [(x[i, j], 1.0) for i, j in pairs if sector in sectors[i]]
            add(terms, ge, float(q), f"sector_{tok}")

    years = {(i, j): int(year[i, j]) for i, j in pairs}
    return SitingFormulation(prob, x, y, years, conflicts, linking)


def _max_occupants(need: np.ndarray, cap: np.ndarray) -> int:
    """Return an upper bound on how many of these candidates fit in one site together.

    For each class, the candidates needing none of it all fit, and of the others at most
    as many as the smallest needs add up to within the capacity; the least of these counts
    over the classes bounds the occupants. Every candidate fits alone, so it is at least 1.
    """
    best = len(need)
    for k in range(need.shape[1]):
        positive = np.sort(need[need[:, k] > 0, k])
        fitting = int(np.searchsorted(np.cumsum(positive), cap[k], side="right"))
        best = min(best, len(need) - len(positive) + fitting)
    return max(best, 1)
