r"""The contract's own arithmetic: an allocation's objective, its feasibility, the result.

:func:`evaluate` and :func:`check_feasible` apply the contract (``docs/siting-contract.md``)
*literally* to an allocation: the time-indexed model, every site, class and year. They
share nothing with :mod:`.formulation`, so every objective parkplan reports is recomputed
from the instance and every allocation a solver returns can be checked independently.
:class:`SitingResult` is the contract's result file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from parkplan.errors import SitingError
from parkplan.siting.instance import SPACE_CLASSES, SitingInstance

__all__ = ["RESULT_FORMAT", "STATUSES", "SitingResult", "check_feasible", "evaluate"]

RESULT_FORMAT = "parkplan-siting-result/1"

STATUSES = ("optimal", "feasible", "infeasible", "no_solution")


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
    problems, placed = _variable_problems(inst, alloc)
    problems += _assignment_problems(inst, alloc)
    problems += _space_problems(inst, placed)
    problems += _budget_problems(inst, placed)
    problems += _quota_problems(inst, placed)
    return problems


def _over(lhs: float, rhs: float) -> bool:
    """Whether ``lhs <= rhs`` fails by more than float rounding (relative 1e-9)."""
    return lhs > rhs + 1e-9 * max(1.0, abs(rhs))


def _variable_problems(
    inst: SitingInstance, alloc: list[tuple[str, str, int]]
) -> tuple[list[str], list[tuple[int, int, int]]]:
    """Check that each placement is a variable the contract creates.

    Returns the problems and the placements of known ids as ``(cand row, site row, year)``.
    """
    ci = {c: i for i, c in enumerate(inst.cand_ids)}
    si = {s: j for j, s in enumerate(inst.site_ids)}
    horizon = set(inst.horizon)
    need, cap = inst.need(), inst.capacity()
    ready = inst.candidates["ready_year"].to_numpy()
    avail = inst.sites["available_from"].to_numpy()
    excluded = set(inst.excluded)
    fixed_site = dict(inst.fixed)
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
        problems += [
            f"({c}, {s}, {t}): needs {need[i, k]:g} m² of {cls}, site has {cap[j, k]:g}"
            for k, cls in enumerate(SPACE_CLASSES)
            if _over(need[i, k], cap[j, k])
        ]
        placed.append((i, j, t))
    return problems, placed


def _assignment_problems(inst: SitingInstance, alloc: list[tuple[str, str, int]]) -> list[str]:
    """Check "each candidate at most once" and that every fixed pair is placed."""
    problems = [
        f"candidate {c} is placed {n} times"
        for c, n in Counter(c for c, _, _ in alloc).items()
        if n > 1
    ]
    at = {(c, s) for c, s, _ in alloc}
    problems += [
        f"fixed pair ({c}, {s}) is not placed"
        for c, s in dict.fromkeys(inst.fixed)
        if (c, s) not in at
    ]
    return problems


def _space_problems(inst: SitingInstance, placed: list[tuple[int, int, int]]) -> list[str]:
    """Check cumulative space for every used site, class and year the site is available."""
    need, cap = inst.need(), inst.capacity()
    avail = inst.sites["available_from"].to_numpy()
    ids = inst.site_ids
    problems = []
    for j in sorted({j for _, j, _ in placed}):
        for t in inst.horizon:
            if t < avail[j]:
                continue
            for k, cls in enumerate(SPACE_CLASSES):
                used = sum(need[i, k] for i, jj, tt in placed if jj == j and tt <= t)
                if _over(used, cap[j, k]):
                    problems.append(f"space_{ids[j]}_{cls}_{t}: {used:g} m² used of {cap[j, k]:g}")
    return problems


def _budget_problems(inst: SitingInstance, placed: list[tuple[int, int, int]]) -> list[str]:
    """Check the budget: subsidies of those placed and fit-out of the sites they open."""
    subsidy = inst.candidates["subsidy"].to_numpy(dtype=float)
    fitout = inst.sites["fitout_cost"].to_numpy(dtype=float)
    spent = sum(subsidy[i] for i, _, _ in placed) + sum(
        fitout[j] for j in {j for _, j, _ in placed}
    )
    if _over(spent, inst.budget):
        return [f"budget: {spent:g} spent of {inst.budget:g}"]
    return []


def _quota_problems(inst: SitingInstance, placed: list[tuple[int, int, int]]) -> list[str]:
    """Check the tier and sector quotas on the candidates recruited."""
    recruited = {i for i, _, _ in placed}
    tiers = inst.candidates["tier"].tolist()
    sectors = inst.candidates["sectors"].tolist()
    problems = []
    for tier, q in inst.tier_quotas.items():
        n = sum(1 for i in recruited if tiers[i] == tier)
        if n < q:
            problems.append(f"tier_{tier}: {n} recruited, quota {q}")
    for sector, q in inst.sector_quotas.items():
        n = sum(1 for i in recruited if sector in sectors[i])
        if n < q:
            problems.append(f"sector_{sector}: {n} recruited, quota {q}")
    return problems


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
