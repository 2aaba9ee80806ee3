"""Siting: which candidate organisation goes to which site, and when.

The model's contract is ``docs/siting-contract.md``: :mod:`.scoring` turns layers
into suitability scores, :mod:`.scenario` reads scenario files and builds instances,
:mod:`.instance` holds the contract's data and JSON file, :mod:`.model` solves it and writes
the result file, :mod:`.explain` explains a plan, :mod:`.sweep` solves grids of scenarios.
"""

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
from parkplan.siting.model import (
    DEFAULT_GAP,
    STATUSES,
    SitingFormulation,
    SitingModel,
    SitingResult,
    available_solvers,
    build_problem,
    check_feasible,
    evaluate,
)
from parkplan.siting.scoring import ScoreMatrix, ScoringWeights, suitability

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
