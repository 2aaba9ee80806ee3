r"""The siting model: a :class:`SitingInstance` in, a contract result out.

The contract (``docs/siting-contract.md``) writes the model with a variable
:math:`x_{c,s,t}` per candidate, site and year and a space constraint per site, class and
year. :class:`SitingModel` solves a smaller model with exactly the same optimum; the class
docstring gives it and proves the equivalence. The work is in three rooms below this one:
:mod:`.formulation` builds the PuLP problem, :mod:`.solvers` runs a solver and reads its
status, and :mod:`.contract` applies the contract *literally* to the allocation that
comes back, so every reported objective is recomputed from the instance by code that
shares nothing with the formulation.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from os import PathLike
from typing import Any

import pulp

from parkplan.errors import SitingError
from parkplan.siting.contract import SitingResult, check_feasible, evaluate
from parkplan.siting.formulation import SitingFormulation, allowed_pairs, build_problem
from parkplan.siting.instance import SPACE_CLASSES, SitingInstance, validate
from parkplan.siting.solvers import (
    DEFAULT_GAP,
    SolverOutcome,
    check_solver,
    contract_status,
    solve_problem,
    solver_label,
)

__all__ = ["SitingModel"]

# A solver's 0/1 values are accepted as integral within this distance (HiGHS's default
# mip_feasibility_tolerance is 1e-6); anything further off is not a solution.
_INTEGRALITY_TOL = 1e-5


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
    candidates allowed at :math:`s` fit there together (see :mod:`.formulation`).

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
        *,
        node_limit: int | None = None,
    ) -> SitingModel:
        """Solve the model and set :attr:`result`.

        Parameters
        ----------
        solver : {"highs", "cbc"}
        time_limit : float, optional
            Seconds the solver may run.
        gap : float, optional
            Relative gap at which to stop and call the solution optimal; default
            :data:`~.solvers.DEFAULT_GAP`.
        msg : bool
            Show the solver's log.
        node_limit : int, optional
            Branch-and-bound nodes the solver may explore: a limit that stops the solver
            at the same point on any machine, where a time limit depends on the load.

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
        check_solver(solver)
        self._relink(solver)
        gap_req = DEFAULT_GAP if gap is None else float(gap)
        if gap_req < 0 or (time_limit is not None and time_limit <= 0):
            raise SitingError("gap must be >= 0 and time_limit > 0")
        if node_limit is not None and node_limit < 0:
            raise SitingError("node_limit must be >= 0")
        start = time.perf_counter()
        if self.formulation.conflicts or not self.formulation.x:
            outcome = self._solve_trivially(solver)
        else:
            outcome = solve_problem(
                self.problem, solver, time_limit, gap_req, msg, node_limit=node_limit
            )
        solve_seconds = time.perf_counter() - start

        allocation = self._read_allocation() if outcome.has_solution else None
        objective = self._checked_objective(outcome, allocation)
        status, bound, rel_gap = contract_status(outcome, objective, gap_req)
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
            message=self._message(status),
        )
        return self

    def _relink(self, solver: str) -> None:
        """Rebuild the problem in the linking form ``solver`` does best with, if need be."""
        wanted = self.AUTO_LINKING[solver] if self.linking == "auto" else self.linking
        if wanted != self.formulation.linking:
            t = time.perf_counter()
            self.formulation = build_problem(self.instance, name=self.problem.name, linking=wanted)
            # Both builds are time spent building; report them together.
            self.build_seconds += time.perf_counter() - t

    def _checked_objective(
        self, outcome: SolverOutcome, allocation: list[tuple[str, str, int]] | None
    ) -> float | None:
        """Check the solver's allocation against the contract and return its objective."""
        if allocation is None:
            return None
        violations = check_feasible(self.instance, allocation)
        if violations:
            raise SitingError(
                f"{outcome.solver} returned an allocation that breaks the contract: "
                + "; ".join(violations[:10])
            )
        return evaluate(self.instance, allocation)

    def _message(self, status: str) -> str:
        """Return the result's note for ``status``: for ``infeasible``, what conflicts."""
        if status == "infeasible":
            return "; ".join(self.formulation.conflicts or _diagnose(self.instance)) or (
                "no allocation meets the fixed pairs, quotas, budget and space together"
            )
        return {
            "feasible": "stopped before the solution was proven optimal",
            "no_solution": "the limit was reached before any feasible allocation was found",
        }.get(status, "")

    def _solve_trivially(self, solver: str) -> SolverOutcome:
        """Settle a model that needs no solver: a known conflict, or no variables at all."""
        name = solver_label(solver)
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
