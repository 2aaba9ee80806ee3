"""Siting scenarios: the YAML files in ``models/scenarios/``, validated, and their instances.

A scenario names everything a planner chooses (horizon, money, weights, quotas, fixed and
excluded pairs, solver); the workspace supplies the layers. :func:`build_instance` joins
the two into a :class:`~parkplan.siting.instance.SitingInstance` in the contract's terms.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parkplan.errors import SitingError
from parkplan.layers import SPACE_CLASSES, STAGES, TIERS, split_codes
from parkplan.siting.instance import SitingInstance, problem_listing, validate
from parkplan.siting.scoring import ScoringWeights

#: Default probability that a candidate at each recruitment stage ends up recruited.
DEFAULT_STAGE_PROBABILITY = {
    "identified": 0.2,
    "contacted": 0.35,
    "mou": 0.6,
    "signed": 0.9,
    "landed": 1.0,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringConfig(_Strict):
    """Weights and decay distances of the suitability score (see MODEL.md)."""

    weights: dict[Literal["proximity", "agglomeration", "access"], float] = Field(
        default_factory=lambda: {"proximity": 0.5, "agglomeration": 0.3, "access": 0.2}
    )
    decay_km: dict[Literal["proximity", "agglomeration", "access"], float] = Field(
        default_factory=lambda: {"proximity": 10.0, "agglomeration": 5.0, "access": 3.0}
    )
    mode_weights: dict[str, float] | None = None

    def to_weights(self) -> ScoringWeights:
        """Return the scoring module's weights (which check the values)."""
        defaults = ScoringWeights()
        kwargs = {
            "proximity": self.weights.get("proximity", defaults.proximity),
            "agglomeration": self.weights.get("agglomeration", defaults.agglomeration),
            "access": self.weights.get("access", defaults.access),
            "cluster_decay_km": self.decay_km.get("proximity", defaults.cluster_decay_km),
            "agglomeration_decay_km": self.decay_km.get(
                "agglomeration", defaults.agglomeration_decay_km
            ),
            "access_decay_km": self.decay_km.get("access", defaults.access_decay_km),
        }
        if self.mode_weights is not None:
            kwargs["mode_weights"] = {**defaults.mode_weights, **self.mode_weights}
        return ScoringWeights(**kwargs)


class Quotas(_Strict):
    """Minimum numbers recruited per tier and per sector."""

    tier: dict[str, int] = Field(default_factory=dict)
    sector: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Quotas:
        from parkplan.layers import SECTORS

        for tier in self.tier:
            if tier not in TIERS:
                raise ValueError(
                    f"unknown tier {tier!r} in quotas.tier; tiers are " + ", ".join(TIERS)
                )
        for sector in self.sector:
            if sector not in SECTORS:
                raise ValueError(
                    f"unknown sector {sector!r} in quotas.sector; sectors are " + ", ".join(SECTORS)
                )
        if any(n < 0 for n in [*self.tier.values(), *self.sector.values()]):
            raise ValueError("quotas must be ≥ 0")
        return self


class SolverConfig(_Strict):
    """Which solver, and its limits."""

    name: Literal["highs", "cbc"] = "highs"
    time_limit: float | None = Field(default=60.0, gt=0)
    gap: float = Field(default=1e-4, ge=0, lt=1)


class Scenario(_Strict):
    """A siting scenario, as written in ``models/scenarios/NAME.yaml``.

    Units as in the siting contract: money in 万元 (10k CNY), areas in m², years as
    integers.
    """

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    title_zh: str = ""
    title_en: str = ""
    description: str = ""
    horizon: tuple[int, int] = (2026, 2030)
    discount_rate: float = Field(default=0.08, gt=-1)
    budget: float = Field(ge=0)
    fitout_penalty: float = Field(default=0.002, ge=0)
    value_mode: Literal["value", "expected"] = "value"
    stage_probability: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_STAGE_PROBABILITY)
    )
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    quotas: Quotas = Field(default_factory=Quotas)
    fixed: list[tuple[str, str]] = Field(default_factory=list)
    excluded: list[tuple[str, str]] = Field(default_factory=list)
    solver: SolverConfig = Field(default_factory=SolverConfig)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        first, last = self.horizon
        if not 2000 <= first <= last <= 2100:
            raise ValueError(
                f"horizon {list(self.horizon)} must be [first, last] years, "
                "first ≤ last, within 2000–2100"
            )
        unknown = set(self.stage_probability) - set(STAGES)
        if unknown:
            raise ValueError(
                f"unknown stage(s) {sorted(unknown)} in stage_probability; "
                "stages are " + ", ".join(STAGES)
            )
        if any(not 0 <= p <= 1 for p in self.stage_probability.values()):
            raise ValueError("stage probabilities must be within 0–1")
        return self

    @property
    def years(self) -> list[int]:
        """The planning years ``t0 … tN``."""
        return list(range(self.horizon[0], self.horizon[1] + 1))

    def digest(self) -> str:
        """Return the SHA-256 of the scenario's content (key order and layout ignored)."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_yaml(self) -> str:
        """Return the scenario as YAML text (what the ledger stores)."""
        return yaml.safe_dump(self.model_dump(mode="json"), allow_unicode=True, sort_keys=False)

    def with_changes(self, **changes) -> Scenario:
        """Return a validated copy with some top-level or dotted keys changed.

        Parameters
        ----------
        **changes
            ``budget=80000`` or, for nested keys, ``{"quotas.tier.startup": 2}`` passed as
            ``**{"quotas.tier.startup": 2}``.
        """
        data = self.model_dump(mode="python")
        for dotted, value in changes.items():
            node = data
            *path, last = dotted.split(".")
            for key in path:
                node = node.setdefault(key, {})
            node[last] = value
        return parse_scenario(data, source=f"{self.name} (changed)")


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    """Return the field names allowed at ``loc`` (for typo suggestions)."""
    for key in loc[:-1]:
        field = model.model_fields.get(str(key))
        if (
            field is None
            or not isinstance(field.annotation, type)
            or not issubclass(field.annotation, BaseModel)
        ):
            return []
        model = field.annotation
    return list(model.model_fields)


def parse_scenario(data: object, *, source: str = "<scenario>") -> Scenario:
    """Validate scenario data (as loaded from YAML).

    Raises
    ------
    SitingError
        Listing every problem with its key, e.g. a misspelt key with a suggestion.
    """
    if not isinstance(data, dict):
        raise SitingError(f"{source}: a scenario must be a mapping of keys to values")
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            loc = tuple(e["loc"])
            where = ".".join(str(p) for p in loc) or "(top level)"
            if e["type"] == "extra_forbidden":
                hint = _suggest(str(loc[-1]), _field_names(Scenario, loc))
                lines.append(f"  {where}: no such scenario key{hint}")
            else:
                msg = e["msg"].removeprefix("Value error, ")
                lines.append(f"  {where}: {msg}")
        raise SitingError(f"{source}: invalid scenario\n" + "\n".join(lines)) from None


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises
    ------
    SitingError
        If the file is missing, is not YAML, or is not a valid scenario.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SitingError(f"{path}: cannot read the scenario: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise SitingError(
            f"{path}: cannot read the scenario: it is not UTF-8 text "
            f"({err.reason} at byte {err.start})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SitingError(
            f"{path}: not valid YAML{where}: {getattr(err, 'problem', err)}"
        ) from None
    except (ValueError, OverflowError) as err:
        # PyYAML's constructors raise these for well-formed but impossible scalars: a date
        # such as 2026-13-01, a \U escape beyond U+10FFFF.
        raise SitingError(f"{path}: not valid YAML: a value cannot be read ({err})") from None
    except RecursionError:
        raise SitingError(f"{path}: not valid YAML parkplan reads: nested too deeply") from None
    scenario = parse_scenario(data, source=str(path))
    try:
        scenario.scoring.to_weights()
    except SitingError as err:
        raise SitingError(f"{path}: invalid scenario\n  scoring: {err}") from None
    return scenario


def candidate_values(candidates: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """Return each candidate's value in the objective under the scenario's value mode.

    ``value`` mode: the candidate's strategic value. ``expected`` mode: value × the
    probability of its recruitment stage.
    """
    values = candidates["value"].to_numpy(dtype=float)
    if scenario.value_mode == "value":
        return values
    probability = {**DEFAULT_STAGE_PROBABILITY, **scenario.stage_probability}
    return values * candidates["stage"].map(probability).to_numpy(dtype=float)


def build_instance(
    scenario: Scenario, sites: pd.DataFrame, candidates: pd.DataFrame, score: np.ndarray
) -> SitingInstance:
    """Join a scenario and the workspace's layers into a siting instance.

    Candidates already landed (stage ``landed``) are in the park already and are left out:
    a fixed pair naming one is an error, an excluded pair naming one holds already and is
    dropped.

    Parameters
    ----------
    scenario : Scenario
    sites : DataFrame
        The ``sites`` layer.
    candidates : DataFrame
        The ``candidates`` layer.
    score : ndarray
        ``a[c, s]`` for ``candidates`` × ``sites`` in their row order.

    Returns
    -------
    SitingInstance
        Validated.

    Raises
    ------
    SitingError
        Unknown ids in fixed/excluded pairs, a fixed pair naming a landed candidate,
        quotas that cannot be met by the candidates there are, a candidate needing a class
        no site has, and any other instance problem.
    """
    keep = (candidates["stage"] != "landed").to_numpy()
    landed = set(candidates.loc[~keep, "cand_id"].astype(str))
    landed_fixed = [
        f"fixed pair ({c}, {s}): candidate {c} has landed already (stage 'landed') "
        "and is not re-planned; remove the pair from the scenario"
        for c, s in scenario.fixed
        if c in landed
    ]
    if landed_fixed:
        raise SitingError(problem_listing("invalid scenario for this workspace", landed_fixed))
    # A landed candidate is placed nowhere, so an exclusion naming it holds already.
    excluded = [tuple(p) for p in scenario.excluded if p[0] not in landed]
    cands = candidates[keep].reset_index(drop=True)
    site_frame = pd.DataFrame(
        {
            "site_id": sites["site_id"].astype(str),
            "park_id": sites["park_id"].astype(str),
            "available_from": sites["available_from"].astype(int),
            "fitout_cost": sites["fitout_cost"].astype(float),
            **{k: sites[k].astype(float) for k in SPACE_CLASSES},
        }
    ).reset_index(drop=True)
    cand_frame = pd.DataFrame(
        {
            "cand_id": cands["cand_id"].astype(str),
            "tier": cands["tier"].astype(str),
            "sectors": [tuple(split_codes(s)) for s in cands["sectors"]],
            "value": candidate_values(cands, scenario),
            "subsidy": cands["subsidy"].astype(float),
            "ready_year": cands["ready_year"].astype(int),
            **{k: cands[k].astype(float) for k in SPACE_CLASSES},
        }
    )
    inst = SitingInstance(
        horizon=scenario.years,
        discount_rate=scenario.discount_rate,
        budget=scenario.budget,
        fitout_penalty=scenario.fitout_penalty,
        tier_quotas=dict(scenario.quotas.tier),
        sector_quotas=dict(scenario.quotas.sector),
        fixed=[tuple(p) for p in scenario.fixed],
        excluded=excluded,
        sites=site_frame,
        candidates=cand_frame,
        score=np.asarray(score, dtype=float)[keep],
    )
    validate(inst)
    return inst
