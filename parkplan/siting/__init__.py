"""Siting: which candidate organisation goes to which site, and when.

The model's contract is ``docs/siting-contract.md``: :mod:`.scoring` turns layers
into suitability scores, :mod:`.scenario` reads scenario files and builds instances,
:mod:`.instance` holds the contract's data and JSON file, :mod:`.contract` evaluates and
checks an allocation and holds the result file, :mod:`.formulation` builds the PuLP
problem, :mod:`.solvers` runs a solver and reads its status, :mod:`.model` ties them
together in :class:`SitingModel`, :mod:`.explain` explains a plan, :mod:`.sweep` solves
grids of scenarios.
"""

from parkplan.siting.contract import STATUSES, SitingResult, check_feasible, evaluate
from parkplan.siting.formulation import SitingFormulation, build_problem
from parkplan.siting.instance import (
    CANDIDATE_COLUMNS,
    SITE_COLUMNS,
    SPACE_CLASSES,
    TIERS,
    SitingInstance,
    instance_from_dict,
    instance_to_dict,
    read_instance,
    validate,
    write_instance,
)
from parkplan.siting.model import SitingModel
from parkplan.siting.scoring import ScoreMatrix, ScoringWeights, suitability
from parkplan.siting.solvers import DEFAULT_GAP, available_solvers

__all__ = [
    "CANDIDATE_COLUMNS",
    "DEFAULT_GAP",
    "SITE_COLUMNS",
    "SPACE_CLASSES",
    "STATUSES",
    "TIERS",
    "SitingFormulation",
    "SitingInstance",
    "SitingModel",
    "SitingResult",
    "ScoreMatrix",
    "ScoringWeights",
    "available_solvers",
    "build_problem",
    "check_feasible",
    "evaluate",
    "instance_from_dict",
    "instance_to_dict",
    "read_instance",
    "suitability",
    "validate",
    "write_instance",
]
