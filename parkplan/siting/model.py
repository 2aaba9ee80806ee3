r"""The siting model: a :class:`SitingInstance` in, a contract result out.

The contract (``docs/siting-contract.md``) writes the model with a variable
:math:`x_{c,s,t}` per candidate, site and year and a space constraint per site, class and
year. :class:`SitingModel` solves a smaller model with exactly the same optimum; the class
docstring gives it and proves the equivalence. :func:`evaluate` and :func:`check_feasible`
apply the contract *literally* to an allocation, so every reported objective is recomputed
from the instance and every allocation can be checked by code that shares nothing with the
formulation.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np
import pulp

from parkplan.errors import SitingError
from parkplan.siting.instance import SPACE_CLASSES, SitingInstance, validate

__all__ = [
    "RESULT_FORMAT",
    "STATUSES",
    "DEFAULT_GAP",
    "SitingResult",
    "SitingFormulation",
    "SitingModel",
    "SolverOutcome",
    "available_solvers",
    "build_problem",
    "cbc_outcome",
    "check_feasible",
    "contract_status",
    "evaluate",
    "highs_outcome",
    "solve_problem",
]

RESULT_FORMAT = "parkplan-siting-result/1"

STATUSES = ("optimal", "feasible", "infeasible", "no_solution")

#: Relative gap at which a solution counts as optimal when the caller asks for none.
#: HiGHS would otherwise stop at 1e-4 and CBC at 0; one figure keeps the solvers comparable.
DEFAULT_GAP = 1e-6

# A solver's 0/1 values are accepted as integral within this distance (HiGHS's default
# mip_feasibility_tolerance is 1e-6); anything further off is not a solution.
_INTEGRALITY_TOL = 1e-5

# Solver names as parkplan spells them → PuLP's names.
_PULP_NAMES = {"highs": "HiGHS", "cbc": "PULP_CBC_CMD"}


# --------------------------------------------------------------------------------------
# The contract, applied literally
# --------------------------------------------------------------------------------------


def _allocation_tuples(allocation: Iterable[Any]) -> list[tuple[str, str, int]]:
    """Accept ``(cand_id, site_id, year)`` tuples or the result file's records."""
    out = []
    for item in allocation:
        if isinstance(item, dict):
            out.append((str(item["cand_id"]), str(item["site_id"]), int(item["year"])))
        else:
            c, s, t = item
            out.append((str(c), str(s), int(t)))
    return out


def evaluate(inst: SitingInstance, allocation: Iterable[Any]) -> float:
    r"""Return the contract's objective for an allocation.

    .. math::

        \sum_{(c,s,t)} v_c\, a_{c,s}\, \delta^{t - t_0} \;-\; \varphi \sum_{s \text{ hosting}} f_s

    A site is taken as opened exactly when it hosts someone: opening an empty site only
    costs (``φ·f_s ≥ 0``), so this is the best ``y`` for the allocation.

    Parameters
    ----------
    inst : SitingInstance
    allocation : iterable of (cand_id, site_id, year) or of dicts with those keys

    Returns
    -------
    float

    Raises
    ------
    SitingError
        If the allocation names an unknown candidate or site.
    """
    alloc = _allocation_tuples(allocation)
    ci = {c: i for i, c in enumerate(inst.cand_ids)}
    si = {s: j for j, s in enumerate(inst.site_ids)}
    unknown = [c for c, _, _ in alloc if c not in ci] + [s for _, s, _ in alloc if s not in si]
    if unknown:
        raise SitingError(f"allocation names unknown ids: {', '.join(sorted(set(unknown)))}")
    value = inst.candidates["value"].to_numpy(dtype=float)
    fitout = inst.sites["fitout_cost"].to_numpy(dtype=float)
    t0, delta = inst.horizon[0], inst.delta
    total = 0.0
    for c, s, t in alloc:
        total += value[ci[c]] * float(inst.score[ci[c], si[s]]) * delta ** (t - t0)
    opened = {si[s] for _, s, _ in alloc}
    total -= inst.fitout_penalty * sum(fitout[j] for j in opened)
    return float(total)


def check_feasible(inst: SitingInstance, allocation: Iterable[Any]) -> list[str]:
    """List every contract constraint an allocation violates.

    The check is literal: variable existence, each candidate at most once, fixed pairs,
    cumulative space for *every* site, class and year, budget and quotas. Sites are taken as
    opened exactly when they host someone (see :func:`evaluate`). Sums are compared with a
    relative tolerance of 1e-9 so that float rounding is not reported.

    Parameters
    ----------
    inst : SitingInstance
    allocation : iterable of (cand_id, site_id, year) or of dicts with those keys

    Returns
    -------
    list of str
        Empty when the allocation is feasible.
    """
    alloc = _allocation_tuples(allocation)
    ci = {c: i for i, c in enumerate(inst.cand_ids)}
    si = {s: j for j, s in enumerate(inst.site_ids)}
    horizon = list(inst.horizon)
    cands, sites = inst.candidates, inst.sites
    need, cap = inst.need(), inst.capacity()
    ready = cands["ready_year"].to_numpy()
    avail = sites["available_from"].to_numpy()
    excluded = set(inst.excluded)
    fixed_site = dict(inst.fixed)

    def over(lhs: float, rhs: float) -> bool:
        return lhs > rhs + 1e-9 * max(1.0, abs(rhs))

    problems: list[str] = []
    placed: list[tuple[int, int, int]] = []
    for c, s, t in alloc:
        if c not in ci or s not in si:
            problems.append(f"({c}, {s}, {t}): unknown candidate or site")
            continue
        i, j = ci[c], si[s]
        if t not in horizon:
            problems.append(f"({c}, {s}, {t}): year {t} is not in the horizon")
        if t < ready[i]:
            problems.append(f"({c}, {s}, {t}): before the candidate is ready ({ready[i]})")
        if t < avail[j]:
            problems.append(f"({c}, {s}, {t}): before the site is available ({avail[j]})")
        if (c, s) in excluded:
            problems.append(f"({c}, {s}, {t}): pair is excluded")
        if c in fixed_site and fixed_site[c] != s:
            problems.append(f"({c}, {s}, {t}): candidate is fixed to {fixed_site[c]}")
        for k, cls in enumerate(SPACE_CLASSES):
            if over(need[i, k], cap[j, k]):
                problems.append(
                    f"({c}, {s}, {t}): needs {need[i, k]:g} m² of {cls}, site has {cap[j, k]:g}"
                )
        placed.append((i, j, t))

    times = Counter(c for c, _, _ in alloc)
    for c, n in times.items():
        if n > 1:
            problems.append(f"candidate {c} is placed {n} times")
    at = {(c, s) for c, s, _ in alloc}
    for c, s in dict.fromkeys(inst.fixed):
        if (c, s) not in at:
            problems.append(f"fixed pair ({c}, {s}) is not placed")

    ids = inst.site_ids
    for j in sorted({j for _, j, _ in placed}):
        for t in horizon:
            if t < avail[j]:
                continue
            for k, cls in enumerate(SPACE_CLASSES):
                used = sum(need[i, k] for i, jj, tt in placed if jj == j and tt <= t)
                if over(used, cap[j, k]):
                    problems.append(f"space_{ids[j]}_{cls}_{t}: {used:g} m² used of {cap[j, k]:g}")

    subsidy = cands["subsidy"].to_numpy(dtype=float)
    fitout = sites["fitout_cost"].to_numpy(dtype=float)
    spent = sum(subsidy[i] for i, _, _ in placed) + sum(
        fitout[j] for j in {j for _, j, _ in placed}
    )
    if over(spent, inst.budget):
        problems.append(f"budget: {spent:g} spent of {inst.budget:g}")

    recruited = {i for i, _, _ in placed}
    tiers = cands["tier"].tolist()
    sectors = cands["sectors"].tolist()
    for tier, q in inst.tier_quotas.items():
        n = sum(1 for i in recruited if tiers[i] == tier)
        if n < q:
            problems.append(f"tier_{tier}: {n} recruited, quota {q}")
    for sector, q in inst.sector_quotas.items():
        n = sum(1 for i in recruited if sector in sectors[i])
        if n < q:
            problems.append(f"sector_{sector}: {n} recruited, quota {q}")
    return problems


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------


@dataclass
class SitingResult:
    """The outcome of a solve, as the contract's result file has it.

    Parameters
    ----------
    status : str
        One of :data:`STATUSES`.
    objective : float or None
        The contract objective of ``allocation``, recomputed from the instance; ``None``
        without a solution.
    bound : float or None
        The best proven upper bound on the optimum, or ``None`` when the solver gave none.
    gap : float or None
        ``(bound - objective) / max(|objective|, 1e-9)``, or ``None``.
    solver : str
        Solver name and version, e.g. ``"HiGHS 1.16.0"``.
    seconds : dict of str to float
        ``build``, ``solve`` and ``total`` wall-clock seconds.
    allocation : list of (cand_id, site_id, year)
    message : str
        For ``infeasible``, which constraints conflict; otherwise a short note. Not part of
        the contract's file.
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solver: str
    seconds: dict[str, float]
    allocation: list[tuple[str, str, int]] = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as the contract's JSON object (``parkplan-siting-result/1``)."""
        return {
            "format": RESULT_FORMAT,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "solver": self.solver,
            "seconds": {k: round(float(v), 4) for k, v in self.seconds.items()},
            "allocation": [
                {"cand_id": c, "site_id": s, "year": int(t)} for c, s, t in self.allocation
            ],
        }

    def write(self, path: str | PathLike[str]) -> None:
        """Write the result file.

        Parameters
        ----------
        path : str or path-like
        """
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False, indent=1)
            fh.write("\n")


# --------------------------------------------------------------------------------------
# Formulation
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------


def available_solvers() -> list[str]:
    """Return the solvers parkplan can use here, of ``"highs"`` and ``"cbc"``.

    Returns
    -------
    list of str
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        have = set(pulp.listSolvers(onlyAvailable=True))
    return [name for name, pname in _PULP_NAMES.items() if pname in have]


@functools.cache
def _swallow_highs_banner() -> None:
    """Create the process's first ``Highs()`` with standard output muted.

    HiGHS prints a copyright banner from C++ on the first ``Highs()`` of a process,
    whatever ``output_flag`` says; it would land in the middle of the CLI's output.
    """
    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def make_solver(name: str, time_limit: float | None, gap: float, msg: bool, log: str | None):
    """Return the PuLP solver object for a parkplan solver name."""
    if name not in _PULP_NAMES:
        raise SitingError(f"unknown solver {name!r}; use one of {', '.join(_PULP_NAMES)}")
    if name not in available_solvers():
        raise SitingError(
            f"solver {name!r} is not available here; available: "
            f"{', '.join(available_solvers()) or 'none'}"
        )
    kwargs: dict[str, Any] = {"msg": msg, "gapRel": gap}
    if time_limit is not None:
        kwargs["timeLimit"] = time_limit
    if name == "cbc":
        # The log is the only place CBC states its bound and version.
        kwargs["logPath"] = log
        if msg:
            kwargs["msg"] = False
        with warnings.catch_warnings():
            # PuLP 3.3 flags its bundled CBC for removal in 4.0; it is still the one we ship.
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.getSolver(_PULP_NAMES[name], **kwargs)
    if not msg:
        _swallow_highs_banner()
    return pulp.getSolver(_PULP_NAMES[name], **kwargs)


@dataclass
class SolverOutcome:
    """What a solver said, in solver-neutral terms.

    PuLP's own statuses are not trusted (it calls HiGHS's time-limit incumbent "optimal"
    and leaves CBC's fractional leftovers in the variables); :func:`highs_outcome` and
    :func:`cbc_outcome` read what the solver itself proved.

    Parameters
    ----------
    proven_infeasible : bool
        The solver proved that no solution exists.
    proven_optimal : bool
        The solver proved its solution optimal within the gap it was given.
    has_solution : bool
        The solver holds a feasible solution (proven or not).
    bound : float or None
        The best proven bound on the optimum, in the problem's own sense, or ``None``.
    solver : str
        Solver name and version.
    bound_is_objective : bool
        The bound is the solution's objective: CBC states no bound when it finishes the
        search outright.
    """

    proven_infeasible: bool
    proven_optimal: bool
    has_solution: bool
    bound: float | None
    solver: str
    bound_is_objective: bool = False


def solve_problem(
    problem: pulp.LpProblem, solver: str, time_limit: float | None, gap: float, msg: bool = False
) -> SolverOutcome:
    """Solve a PuLP problem with a parkplan solver and say what the solver proved.

    Every problem parkplan solves (the siting model, and the explanations' re-solves,
    elastic models and space LP) goes through here, so that all read statuses one way.

    Parameters
    ----------
    problem : pulp.LpProblem
    solver : {"highs", "cbc"}
    time_limit : float or None
        Seconds the solver may run.
    gap : float
        Relative gap at which the solver may stop and call its solution optimal.
    msg : bool
        Show the solver's log.

    Returns
    -------
    SolverOutcome

    Raises
    ------
    SitingError
        For an unknown or unavailable solver, or if the solver fails.
    """
    tmpdir = tempfile.mkdtemp(prefix="parkplan-cbc-") if solver == "cbc" else None
    log = os.path.join(tmpdir, "cbc.log") if tmpdir else None
    try:
        engine = make_solver(solver, time_limit, gap, msg, log)
        problem.solve(engine)
        if solver == "highs":
            return _highs_outcome(problem)
        with open(log, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        if msg:
            print(text)
        return cbc_outcome(problem.status, problem.sol_status, text)
    except pulp.PulpSolverError as exc:
        raise SitingError(f"solver {solver!r} failed: {exc}") from exc
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _highs_outcome(prob: pulp.LpProblem) -> SolverOutcome:
    """Read status, bound and version from the highspy model PuLP leaves on the problem."""
    h = prob.solverModel
    info = h.getInfo()
    return highs_outcome(
        h.getModelStatus(),
        int(info.primal_solution_status),
        float(info.mip_dual_bound),
        maximise=prob.sense == pulp.LpMaximize,
        version=f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
    )


def highs_outcome(
    model_status: Any,
    primal_solution_status: int,
    mip_dual_bound: float,
    *,
    maximise: bool,
    version: str,
) -> SolverOutcome:
    """Map HiGHS's raw statuses to a :class:`SolverOutcome`.

    Parameters
    ----------
    model_status : highspy.HighsModelStatus
        ``Highs.getModelStatus()``.
    primal_solution_status : int
        ``HighsInfo.primal_solution_status``: 2 when HiGHS holds a feasible point. PuLP
        maps ``kTimeLimit`` to "optimal" whether or not there is one; only this says.
    mip_dual_bound : float
        ``HighsInfo.mip_dual_bound``, as HiGHS saw the problem.
    maximise : bool
        Whether the PuLP problem maximises: PuLP hands HiGHS the negated objective of a
        maximisation, so its bound comes back negated.
    version : str
        HiGHS's version, e.g. ``"1.16.0"``.

    Returns
    -------
    SolverOutcome
    """
    import highspy

    bound = -mip_dual_bound if maximise else mip_dual_bound
    return SolverOutcome(
        proven_infeasible=model_status
        in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible),
        proven_optimal=model_status == highspy.HighsModelStatus.kOptimal,
        has_solution=primal_solution_status == 2,
        bound=bound if math.isfinite(bound) else None,
        solver=f"HiGHS {version}",
    )


_CBC_BOUND = re.compile(r"^Upper bound:\s+(\S+)", re.M)
_CBC_VERSION = re.compile(r"^Version:\s+(\S+)", re.M)
_CBC_RESULT = re.compile(r"^Result - (.*)$", re.M)


def cbc_outcome(status: int, sol_status: int, log_text: str) -> SolverOutcome:
    """Map PuLP's CBC statuses and CBC's log to a :class:`SolverOutcome`.

    CBC prints ``Upper bound:`` (for a maximisation) when it stops with a gap or on a
    limit; when it proves optimality outright it prints no bound and the bound is the
    objective. Where the log cannot be parsed the bound is ``None``; a minimisation's bound
    (``Lower bound:``) is not read.

    Parameters
    ----------
    status : int
        ``LpProblem.status`` after the solve.
    sol_status : int
        ``LpProblem.sol_status``: PuLP's only sign that CBC holds an integer solution
        (without one it leaves fractional values in the variables).
    log_text : str
        CBC's log.

    Returns
    -------
    SolverOutcome
    """
    version = _CBC_VERSION.search(log_text)
    result = _CBC_RESULT.search(log_text)
    bound_m = _CBC_BOUND.search(log_text)
    result_text = result.group(1) if result else ""
    bound: float | None = None
    if bound_m:
        try:
            bound = float(bound_m.group(1))
        except ValueError:
            bound = None
    infeasible = status == pulp.LpStatusInfeasible or "infeasible" in result_text.lower()
    has_solution = sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    optimal = (
        status == pulp.LpStatusOptimal
        and sol_status == pulp.LpSolutionOptimal
        and result_text.startswith("Optimal")
    )
    return SolverOutcome(
        proven_infeasible=infeasible and not has_solution,
        proven_optimal=optimal,
        has_solution=has_solution,
        bound=bound,
        solver=f"CBC {version.group(1)}" if version else "CBC",
        bound_is_objective=optimal and bound is None and result_text == "Optimal solution found",
    )


def contract_status(
    outcome: SolverOutcome, objective: float | None, gap: float
) -> tuple[str, float | None, float | None]:
    """Return the contract's ``status``, ``bound`` and ``gap`` for a maximisation's outcome.

    Parameters
    ----------
    outcome : SolverOutcome
    objective : float or None
        The contract objective of the solver's allocation, recomputed from the instance;
        ``None`` when there is no usable allocation (whatever ``outcome`` says).
    gap : float
        The relative gap requested: a solution whose proven gap is within it is optimal.

    Returns
    -------
    tuple of (str, float or None, float or None)
        ``optimal`` (proven, or within ``gap``), ``feasible`` (a solution, not proven),
        ``infeasible`` (proven) or ``no_solution``; the bound; the relative gap.
    """
    if objective is None:
        status = "infeasible" if outcome.proven_infeasible else "no_solution"
        return status, outcome.bound if status == "no_solution" else None, None
    bound = None
    if outcome.bound_is_objective:
        bound = objective
    elif outcome.bound is not None:
        # A bound a hair under a feasible objective is solver round-off, not news.
        bound = max(outcome.bound, objective)
    rel_gap = None if bound is None else (bound - objective) / max(abs(objective), 1e-9)
    if outcome.proven_optimal or (rel_gap is not None and rel_gap <= gap):
        return "optimal", bound, rel_gap
    return "feasible", bound, rel_gap


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


class SitingModel:
    r"""The siting model of the contract, in a reduced form with the same optimum.

    Let :math:`P` be the pairs :math:`(c, s)` for which the contract creates at least one
    :math:`x_{c,s,t}`, and for each such pair let :math:`t^*_{c,s}` be the allowed year
    with the largest discount weight: the earliest allowed year
    :math:`\min\{t \in T : t \ge \max(ready_c, avail_s)\}` when :math:`r \ge 0`, the
    last year :math:`t_N` when :math:`-1 < r < 0`. With :math:`w_{c,s} = v_c\, a_{c,s}\,
    \delta^{t^*_{c,s} - t_0}`, parkplan solves

    .. math::

        \max \sum_{(c,s) \in P} w_{c,s}\, z_{c,s} - \varphi \sum_s f_s\, y_s

    subject to

    .. math::

        \sum_s z_{c,s} \le 1 \quad \forall c; \qquad z_{c,s^*} = 1 \quad \forall (c, s^*)
        \text{ fixed}

        \sum_c need_{c,k}\, z_{c,s} \le cap_{s,k}\, y_s \quad \forall s, k

        \sum_c z_{c,s} \le M_s\, y_s \quad \forall s \quad\text{(``linking="site"``) or}
        \quad z_{c,s} \le y_s \quad \forall (c, s) \in P \quad\text{(``"pair"``)}

        \sum_{c,s} \sigma_c z_{c,s} + \sum_s f_s y_s \le B; \qquad
        \sum_{c \in \tau} \sum_s z_{c,s} \ge q_\tau; \qquad
        \sum_{c \ni g} \sum_s z_{c,s} \ge m_g

    and reports :math:`x_{c,s,t^*_{c,s}} = z_{c,s}`. :math:`M_s` bounds how many of the
    candidates allowed at :math:`s` fit there together (:func:`_max_occupants`).

    **Same optimum.** (1) *Space.* Needs are non-negative, so the cumulative occupancy
    :math:`\sum_c need_{c,k} \sum_{t' \le t} x_{c,s,t'}` is non-decreasing in :math:`t`.
    Every :math:`x_{c,s,t}` has :math:`t \ge avail_s`, so if a site can host anyone then
    :math:`t_N \ge avail_s` and the contract's row for :math:`t = t_N` is among its rows;
    it implies the rows of all earlier years, because occupants never leave. Hence one row
    per :math:`(s, k)` with the sum over all years gives the same feasible set.
    (2) *Years.* After (1) every constraint sees :math:`x_{c,s,\cdot}` only through
    :math:`z_{c,s} = \sum_t x_{c,s,t} \in \{0, 1\}` (at most one year per candidate;
    :math:`x_{c,s,t} \le y_s` for all :math:`t` is :math:`z_{c,s} \le y_s`). So every
    contract solution maps to a feasible :math:`z` and back, and the year only enters the
    objective, through :math:`\delta^{t - t_0}`. Since :math:`v_c\, a_{c,s} \ge 0`,
    putting the pair in :math:`t^*_{c,s}` never loses value; the reduced optimum equals the
    contract's and the reported allocation attains it. (3) *Linking.* For 0/1 values both
    forms say exactly "a site that hosts anyone is opened": the site form because
    :math:`M_s \ge` any feasible number of occupants, so it never cuts off a solution.
    (4) *Rows left out.* A space row is dropped when the needs of everyone allowed at the
    site fit at once (once an occupant forces :math:`y_s = 1`, it holds); "at most once" is
    dropped for a candidate with one allowed site (its 0/1 bound says it) or a fixed one
    (its equality says it); sites nobody may use get no :math:`y` (opening them only
    costs). Pairs with :math:`a_{c,s} = 0` are kept: they may be needed for quotas.

    The per-pair form has the tighter LP relaxation, the per-site form far fewer rows.
    On the generated instances of ``benchmarks/siting.py`` HiGHS proves optimality about
    20 % faster with the per-site form while CBC is up to 3x slower with it, so
    ``linking="auto"`` picks per solver.

    Parameters
    ----------
    instance : SitingInstance
    formulation : SitingFormulation
    build_seconds : float
    linking : {"auto", "site", "pair"}

    Attributes
    ----------
    problem : pulp.LpProblem
    result : SitingResult or None
        Set by :meth:`solve`.
    """

    #: The linking form each solver does best with (see the class docstring).
    AUTO_LINKING = {"highs": "site", "cbc": "pair"}

    def __init__(
        self,
        instance: SitingInstance,
        formulation: SitingFormulation,
        build_seconds: float,
        linking: str = "auto",
    ):
        self.instance = instance
        self.formulation = formulation
        self.build_seconds = build_seconds
        self.linking = linking
        self.result: SitingResult | None = None

    @property
    def problem(self) -> pulp.LpProblem:
        """The PuLP problem that is (or will be) solved."""
        return self.formulation.problem

    @classmethod
    def from_instance(
        cls, inst: SitingInstance, name: str = "parkplan_siting", linking: str = "auto"
    ) -> SitingModel:
        """Validate an instance and build its model.

        Parameters
        ----------
        inst : SitingInstance
        name : str
            The PuLP problem's name.
        linking : {"auto", "site", "pair"}
            The linking form (see the class docstring); ``"auto"`` builds the per-site form
            and :meth:`solve` rebuilds if the chosen solver does better with the other.

        Returns
        -------
        SitingModel

        Raises
        ------
        SitingError
            If the instance is invalid.
        """
        if linking not in ("auto", "site", "pair"):
            raise SitingError(f"unknown linking {linking!r}; use 'auto', 'site' or 'pair'")
        validate(inst)
        start = time.perf_counter()
        form = build_problem(inst, name=name, linking="site" if linking == "auto" else linking)
        return cls(inst, form, time.perf_counter() - start, linking=linking)

    def solve(
        self,
        solver: str = "highs",
        time_limit: float | None = None,
        gap: float | None = None,
        msg: bool = False,
    ) -> SitingModel:
        """Solve the model and set :attr:`result`.

        Parameters
        ----------
        solver : {"highs", "cbc"}
        time_limit : float, optional
            Seconds the solver may run.
        gap : float, optional
            Relative gap at which to stop and call the solution optimal; default
            :data:`DEFAULT_GAP`.
        msg : bool
            Show the solver's log.

        Returns
        -------
        SitingModel
            ``self``.

        Raises
        ------
        SitingError
            For an unknown or unavailable solver, or if a solver returns an allocation that
            breaks the contract.
        """
        if solver not in _PULP_NAMES:
            raise SitingError(f"unknown solver {solver!r}; use one of {', '.join(_PULP_NAMES)}")
        wanted = self.AUTO_LINKING[solver] if self.linking == "auto" else self.linking
        if wanted != self.formulation.linking:
            t = time.perf_counter()
            self.formulation = build_problem(self.instance, name=self.problem.name, linking=wanted)
            # Both builds are time spent building; report them together.
            self.build_seconds += time.perf_counter() - t
        gap_req = DEFAULT_GAP if gap is None else float(gap)
        if gap_req < 0 or (time_limit is not None and time_limit <= 0):
            raise SitingError("gap must be >= 0 and time_limit > 0")
        start = time.perf_counter()
        form, inst = self.formulation, self.instance
        if form.conflicts or not form.x:
            outcome = self._solve_trivially(solver)
        else:
            outcome = solve_problem(self.problem, solver, time_limit, gap_req, msg)
        solve_seconds = time.perf_counter() - start

        allocation = self._read_allocation() if outcome.has_solution else None
        objective = None
        if allocation is not None:
            violations = check_feasible(inst, allocation)
            if violations:
                raise SitingError(
                    f"{outcome.solver} returned an allocation that breaks the contract: "
                    + "; ".join(violations[:10])
                )
            objective = evaluate(inst, allocation)
        status, bound, rel_gap = contract_status(outcome, objective, gap_req)
        message = {
            "feasible": "stopped before the solution was proven optimal",
            "no_solution": "the limit was reached before any feasible allocation was found",
        }.get(status, "")
        if status == "infeasible":
            message = "; ".join(form.conflicts or _diagnose(inst)) or (
                "no allocation meets the fixed pairs, quotas, budget and space together"
            )

        seconds = {
            "build": self.build_seconds,
            "solve": solve_seconds,
            "total": self.build_seconds + time.perf_counter() - start,
        }
        self.result = SitingResult(
            status=status,
            objective=objective,
            bound=bound,
            gap=rel_gap,
            solver=outcome.solver,
            seconds=seconds,
            allocation=allocation or [],
            message=message,
        )
        return self

    def _solve_trivially(self, solver: str) -> SolverOutcome:
        """Settle a model that needs no solver: a known conflict, or no variables at all."""
        name = {"highs": "HiGHS", "cbc": "CBC"}.get(solver, solver)
        if self.formulation.conflicts:
            return SolverOutcome(True, False, False, None, name)
        # No variable: the empty allocation is the only one; it fails only a positive quota.
        inst = self.instance
        feasible = not check_feasible(inst, [])
        return SolverOutcome(
            not feasible, feasible, feasible, None, name, bound_is_objective=feasible
        )

    def _read_allocation(self) -> list[tuple[str, str, int]] | None:
        """Return the allocation in the solver's values, or None if they are not 0/1."""
        form = self.formulation
        cand_ids, site_ids = self.instance.cand_ids, self.instance.site_ids
        chosen = []
        for (i, j), var in form.x.items():
            v = var.varValue
            if v is None or not math.isfinite(v) or abs(v - round(v)) > _INTEGRALITY_TOL:
                return None
            if round(v) == 1:
                chosen.append((i, j))
        for var in form.y.values():
            v = var.varValue
            if v is None or not math.isfinite(v) or abs(v - round(v)) > _INTEGRALITY_TOL:
                return None
        chosen.sort()
        return [(cand_ids[i], site_ids[j], form.year[i, j]) for i, j in chosen]

    def to_dict(self) -> dict[str, Any]:
        """Return the result as the contract's JSON object.

        Raises
        ------
        SitingError
            If the model has not been solved.
        """
        if self.result is None:
            raise SitingError("the model has not been solved yet")
        return self.result.to_dict()

    def write_result(self, path: str | PathLike[str]) -> None:
        """Write the contract's result file.

        Parameters
        ----------
        path : str or path-like
        """
        if self.result is None:
            raise SitingError("the model has not been solved yet")
        self.result.write(path)


def _diagnose(inst: SitingInstance) -> list[str]:
    """Name constraints that cannot all hold, from simple counting arguments.

    This is not a full irreducible-infeasible-set search: it reports quotas that too few
    placeable candidates could meet, fixed pairs that overfill a site or overrun the budget,
    and quotas whose cheapest subsidies overrun the budget left after the fixed pairs.
    """
    allowed, _, _ = allowed_pairs(inst)
    placeable = allowed.any(axis=1)
    cands, sites = inst.candidates, inst.sites
    cand_ids, site_ids = inst.cand_ids, inst.site_ids
    ci = {c: i for i, c in enumerate(cand_ids)}
    si = {s: j for j, s in enumerate(site_ids)}
    subsidy = cands["subsidy"].to_numpy(dtype=float)
    fitout = sites["fitout_cost"].to_numpy(dtype=float)
    need, cap = inst.need(), inst.capacity()
    out = []

    fixed = list(dict.fromkeys(inst.fixed))
    fixed_rows = {ci[c] for c, _ in fixed}
    fixed_cost = sum(subsidy[ci[c]] for c, _ in fixed) + sum(
        fitout[si[s]] for s in {s for _, s in fixed}
    )
    if fixed_cost > inst.budget:
        out.append(f"budget: the fixed pairs alone cost {fixed_cost:g}, budget {inst.budget:g}")
    per_site: dict[int, list[int]] = defaultdict(list)
    for c, s in fixed:
        per_site[si[s]].append(ci[c])
    for j, rows in per_site.items():
        for k, cls in enumerate(SPACE_CLASSES):
            if need[rows, k].sum() > cap[j, k]:
                out.append(
                    f"space_{site_ids[j]}_{cls}: the candidates fixed there need "
                    f"{need[rows, k].sum():g} m², the site has {cap[j, k]:g}"
                )

    groups = [
        (f"tier_{t}", q, [i for i in range(len(cand_ids)) if cands["tier"].iloc[i] == t])
        for t, q in inst.tier_quotas.items()
    ] + [
        (f"sector_{g}", q, [i for i in range(len(cand_ids)) if g in cands["sectors"].iloc[i]])
        for g, q in inst.sector_quotas.items()
    ]
    for name, q, rows in groups:
        if q <= 0:
            continue
        ok = [i for i in rows if placeable[i]]
        if len(ok) < q:
            out.append(f"{name}: quota {q} but only {len(ok)} such candidates can be placed")
            continue
        have = sum(1 for i in ok if i in fixed_rows)
        extra = sorted(subsidy[i] for i in ok if i not in fixed_rows)[: max(q - have, 0)]
        if fixed_cost + sum(extra) > inst.budget:
            out.append(
                f"{name} with budget: meeting quota {q} costs at least "
                f"{fixed_cost + sum(extra):g} with the fixed pairs, budget {inst.budget:g}"
            )
    return out
