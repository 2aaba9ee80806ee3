"""Solvers: choosing one by name, setting its options, and reading what it proved.

parkplan names its solvers ``"highs"`` and ``"cbc"`` and asks PuLP for them by name
(:func:`pulp.getSolver`), never by class. Every problem parkplan solves goes through
:func:`solve_problem`, which returns a solver-neutral :class:`SolverOutcome`;
:func:`contract_status` maps an outcome to the contract's one set of statuses.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

import pulp

from parkplan.errors import SitingError

__all__ = [
    "DEFAULT_GAP",
    "SOLVER_NAMES",
    "SolverOutcome",
    "available_solvers",
    "cbc_outcome",
    "check_solver",
    "contract_status",
    "highs_outcome",
    "make_solver",
    "read_highs_outcome",
    "solve_problem",
]

#: Relative gap at which a solution counts as optimal when the caller asks for none.
#: HiGHS would otherwise stop at 1e-4 and CBC at 0; one figure keeps the solvers comparable.
DEFAULT_GAP = 1e-6

#: Solver names as parkplan spells them → PuLP's names (for :func:`pulp.getSolver`).
SOLVER_NAMES = {"highs": "HiGHS", "cbc": "PULP_CBC_CMD"}


def available_solvers() -> list[str]:
    """Return the solvers parkplan can use here, of ``"highs"`` and ``"cbc"``.

    Returns
    -------
    list of str
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        have = set(pulp.listSolvers(onlyAvailable=True))
    return [name for name, pname in SOLVER_NAMES.items() if pname in have]


def check_solver(name: str) -> None:
    """Refuse a solver name parkplan does not know.

    Parameters
    ----------
    name : str

    Raises
    ------
    SitingError
        If ``name`` is not one of :data:`SOLVER_NAMES`.
    """
    if name not in SOLVER_NAMES:
        raise SitingError(f"unknown solver {name!r}; use one of {', '.join(SOLVER_NAMES)}")


def solver_label(name: str) -> str:
    """Return a solver's display name (``"HiGHS"``, ``"CBC"``) for a parkplan name.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    return {"highs": "HiGHS", "cbc": "CBC"}.get(name, name)


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


def make_solver(
    name: str,
    time_limit: float | None,
    gap: float,
    msg: bool,
    log: str | None,
    node_limit: int | None = None,
):
    """Return the PuLP solver object for a parkplan solver name.

    Parameters
    ----------
    name : {"highs", "cbc"}
    time_limit : float or None
        Seconds the solver may run.
    gap : float
        Relative gap at which the solver may stop.
    msg : bool
        Show the solver's log.
    log : str or None
        CBC's log file (where :func:`cbc_outcome` reads its bound and version).
    node_limit : int, optional
        Branch-and-bound nodes the solver may explore. Unlike a time limit it stops the
        solver at the same point on any machine, however loaded.

    Returns
    -------
    pulp.LpSolver

    Raises
    ------
    SitingError
        For an unknown or unavailable solver.
    """
    check_solver(name)
    if name not in available_solvers():
        raise SitingError(
            f"solver {name!r} is not available here; available: "
            f"{', '.join(available_solvers()) or 'none'}"
        )
    kwargs: dict[str, Any] = {"msg": msg, "gapRel": gap}
    if time_limit is not None:
        kwargs["timeLimit"] = time_limit
    if node_limit is not None:
        kwargs["maxNodes" if name == "cbc" else "mip_max_nodes"] = int(node_limit)
    if name == "cbc":
        # The log is the only place CBC states its bound and version.
        kwargs["logPath"] = log
        if msg:
            kwargs["msg"] = False
        with warnings.catch_warnings():
            # PuLP 3.3 flags its bundled CBC for removal in 4.0; it is still the one we ship.
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.getSolver(SOLVER_NAMES[name], **kwargs)
    if not msg:
        _swallow_highs_banner()
    return pulp.getSolver(SOLVER_NAMES[name], **kwargs)


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
    problem: pulp.LpProblem,
    solver: str,
    time_limit: float | None,
    gap: float,
    msg: bool = False,
    node_limit: int | None = None,
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
    node_limit : int, optional
        Branch-and-bound nodes the solver may explore (see :func:`make_solver`).

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
        engine = make_solver(solver, time_limit, gap, msg, log, node_limit)
        if solver == "highs":
            _run_highs(problem, engine)
            return read_highs_outcome(problem)
        problem.solve(engine)
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


def _run_highs(problem: pulp.LpProblem, engine: pulp.LpSolver) -> None:
    """Solve with HiGHS, tolerating PuLP's missing entry for HiGHS's node-limit stop.

    PuLP 3.3 maps HiGHS's statuses through a table that lacks ``kSolutionLimit`` (where
    ``mip_max_nodes`` stops) and raises ``KeyError`` after it has loaded the solution's
    values. parkplan reads the status from HiGHS itself (:func:`read_highs_outcome`), so
    only PuLP's own status is lost, and nothing reads it.
    """
    import highspy

    try:
        problem.solve(engine)
    except KeyError:
        if problem.solverModel.getModelStatus() != highspy.HighsModelStatus.kSolutionLimit:
            raise


def read_highs_outcome(prob: pulp.LpProblem) -> SolverOutcome:
    """Read status, bound and version from the highspy model PuLP leaves on the problem.

    Parameters
    ----------
    prob : pulp.LpProblem
        A problem just solved with HiGHS.

    Returns
    -------
    SolverOutcome
    """
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
