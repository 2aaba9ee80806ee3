"""What an explanation of a siting plan is: typed records, their JSON, their sentences.

:mod:`.explain` computes these records; the CLI, the studio and the planning service read
them by attribute. Each record's ``to_dict()`` is the JSON stored with a run in the
scenario ledger and ``from_dict()`` reads it back, runs recorded before these types
included. Records hold codes and figures only: a sentence (a relaxation, a note) is
rendered from the catalogue (:mod:`parkplan.i18n`) in the reader's language.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from parkplan.i18n import Language, catalogue, t
from parkplan.layers import SPACE_CLASSES

__all__ = [
    "ACCOUNTS",
    "Alternative",
    "Breakdown",
    "BudgetUse",
    "Explanation",
    "Infeasibility",
    "ParkAccount",
    "Relaxation",
    "SiteLoss",
    "SpaceUse",
    "SpaceValue",
]

Allocation = list[tuple[str, str, int]]

#: The explanations that need no solver: computed for every plan and stored with every run,
#: so that the ledger can compare runs on what they were solved with.
ACCOUNTS = ("breakdown", "space_use", "budget_use")


@dataclass(frozen=True)
class ParkAccount:
    """A park's share of the objective: discounted value, fit-out penalty, and the net."""

    value: float
    penalty: float
    net: float


@dataclass(frozen=True)
class Breakdown:
    """The objective of a plan split by park, tier and sector.

    Parameters
    ----------
    total : float
        ``value - fitout_penalty``: the plan's objective.
    value : float
        The discounted value of the placements.
    fitout_penalty : float
        The fit-out penalty of the sites opened.
    by_park : dict of str to ParkAccount
    by_tier, by_sector : dict of str to float
        Value per tier, and per sector (a candidate's value split equally among its
        sectors), each summing to ``value``.
    """

    total: float
    value: float
    fitout_penalty: float
    by_park: dict[str, ParkAccount]
    by_tier: dict[str, float]
    by_sector: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the breakdown as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Breakdown:
        """Read a breakdown from :meth:`to_dict`'s data."""
        return cls(
            total=d["total"],
            value=d["value"],
            fitout_penalty=d["fitout_penalty"],
            by_park={p: ParkAccount(**a) for p, a in d["by_park"].items()},
            by_tier=dict(d["by_tier"]),
            by_sector=dict(d["by_sector"]),
        )


@dataclass(frozen=True)
class SpaceUse:
    """Space used in one park and class at the end of the horizon (m²).

    ``opened_m2`` is the capacity of the park's opened sites, ``capacity_m2`` that of all
    its sites, ``utilisation`` used / opened (``None`` when nothing is opened).
    """

    park_id: str
    space_class: str
    used_m2: float
    opened_m2: float
    capacity_m2: float
    utilisation: float | None


@dataclass(frozen=True)
class BudgetUse:
    """What a plan spends, in 万元: subsidies, fit-out of the sites opened, and the total."""

    subsidy: float
    fitout: float
    total: float


@dataclass(frozen=True)
class SpaceValue:
    """What more space of one class is worth in one park (a shadow price).

    ``value`` is in objective points per increment of space, ``site_id`` where it is
    worth most (``None`` where it is worth nothing), ``binding`` whether any of the park's
    space rows for the class is tight.
    """

    park_id: str
    space_class: str
    value: float
    site_id: str | None
    binding: bool


@dataclass(frozen=True)
class Alternative:
    """A near-optimal plan that differs from the best one.

    ``added`` and ``removed`` are the (candidate, site) pairs it has that the best plan
    lacks, and the other way round.
    """

    objective: float
    status: str
    allocation: Allocation
    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        """Return the alternative as JSON-ready data (pairs as lists)."""
        return {
            "objective": self.objective,
            "status": self.status,
            "allocation": [list(a) for a in self.allocation],
            "differs": {
                "added": [list(p) for p in self.added],
                "removed": [list(p) for p in self.removed],
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alternative:
        """Read an alternative from :meth:`to_dict`'s data."""
        return cls(
            objective=d["objective"],
            status=d["status"],
            allocation=[(str(c), str(s), int(y)) for c, s, y in d["allocation"]],
            added=[(c, s) for c, s in d["differs"]["added"]],
            removed=[(c, s) for c, s in d["differs"]["removed"]],
        )


@dataclass(frozen=True)
class SiteLoss:
    """The objective lost without one of the plan's sites (irreplaceability).

    ``loss_min`` and ``loss_max`` bound the loss (from the re-solve's bound and plan);
    both are ``None`` when the re-solve found no plan. ``fixed_pairs_released`` are the
    fixed pairs at the site that the re-solve had to let go.
    """

    site_id: str
    park_id: str
    value_in_plan: float
    status: str
    fixed_pairs_released: list[tuple[str, str]]
    loss_min: float | None
    loss_max: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data (pairs as lists)."""
        return {
            **asdict(self),
            "fixed_pairs_released": [list(p) for p in self.fixed_pairs_released],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SiteLoss:
        """Read a row from :meth:`to_dict`'s data."""
        return cls(
            site_id=d["site_id"],
            park_id=d["park_id"],
            value_in_plan=d["value_in_plan"],
            status=d["status"],
            fixed_pairs_released=[(c, s) for c, s in d.get("fixed_pairs_released", [])],
            loss_min=d.get("loss_min"),
            loss_max=d.get("loss_max"),
        )


#: The relaxations an infeasible scenario can be offered, by kind.
RELAXATION_KINDS = ("budget", "tier", "sector", "fixed", "space")


@dataclass(frozen=True)
class Relaxation:
    """One constraint relaxed so that an infeasible scenario becomes feasible.

    Parameters
    ----------
    kind : {"budget", "tier", "sector", "fixed", "space"}
    constraint : str
        The constraint's name, as the formulation names it (``budget``, ``tier_{tier}``,
        ``sector_{sector}``, ``fixed_{cand}_{site}``, ``space_{site}_{class}``).
    current, needed : float
        The limit now and the limit that works (a quota in candidates, a fixed pair as
        1 → 0, the budget in 万元, space in m²).
    group : str, optional
        The tier or sector of a quota.
    cand_id, site_id, space_class : str, optional
        The fixed pair, or the site and class of a space relaxation.
    """

    kind: str
    constraint: str
    current: float
    needed: float
    group: str | None = None
    cand_id: str | None = None
    site_id: str | None = None
    space_class: str | None = None

    @property
    def amount(self) -> float:
        """How far the limit moves (always positive)."""
        return abs(self.needed - self.current)

    @property
    def label(self) -> str:
        """The catalogue key of this kind of relaxation's sentence."""
        return f"siting.relax.{self.kind}"

    @property
    def values(self) -> dict[str, Any]:
        """The figures and ids the sentence is formatted with."""
        return {**{k: v for k, v in asdict(self).items() if v is not None}, "amount": self.amount}

    def text(self, lang: Language = "zh") -> str:
        """Say what to relax, in ``lang``, from the catalogue.

        Parameters
        ----------
        lang : {"zh", "en"}

        Returns
        -------
        str
        """
        return t(self.label, lang, **self.values)

    def to_dict(self) -> dict[str, Any]:
        """Return the relaxation as JSON-ready data (codes and figures, no sentence)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Relaxation:
        """Read a relaxation from :meth:`to_dict`'s data.

        Runs recorded before relaxations stated their kind stored the constraint's name
        and a sentence; the kind and ids are read back from the name.
        """
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if "kind" not in fields:
            fields.update(_legacy_fields(str(d["constraint"])))
        return cls(**fields)


def _legacy_fields(constraint: str) -> dict[str, str]:
    """Recover a legacy relaxation's kind and ids from its constraint's name."""
    if constraint == "budget":
        return {"kind": "budget"}
    kind, _, rest = constraint.partition("_")
    if kind in ("tier", "sector"):
        return {"kind": kind, "group": rest}
    if kind == "space":
        cls = next(c for c in SPACE_CLASSES if rest.endswith(f"_{c}"))
        return {"kind": "space", "site_id": rest[: -len(cls) - 1], "space_class": cls}
    # fixed_{cand}_{site}: ids may hold underscores; the site is taken as the last part.
    cand, _, site = rest.rpartition("_")
    return {"kind": "fixed", "cand_id": cand, "site_id": site}


#: The notes an infeasibility explanation can carry, by code, and the sentences runs
#: recorded before the codes stored instead.
INFEASIBILITY_NOTES = {
    "not_proven_smallest": (
        "a relaxation that makes it feasible, not proven smallest (the solver "
        "stopped at its time limit)"
    ),
    "relaxation_does_not_help": (
        "even relaxing budget, quotas, fixed pairs and space does not help"
    ),
    "no_relaxation_found": "no relaxation was found within the time limit",
}


@dataclass(frozen=True)
class Infeasibility:
    """Why a scenario is infeasible, and the smallest relaxation found that fixes it.

    Parameters
    ----------
    conflicts : list of str
        The constraints that conflict, by name.
    relaxations : list of Relaxation
    proven_smallest : bool
        Both stages of the elastic model were proven optimal.
    note : str, optional
        A code of :data:`INFEASIBILITY_NOTES` when the relaxation is not proven smallest
        or none was found.
    """

    conflicts: list[str]
    relaxations: list[Relaxation]
    proven_smallest: bool
    note: str | None = None

    @property
    def note_label(self) -> str | None:
        """The catalogue key of the note's sentence, or ``None`` without a note."""
        return f"siting.note.{self.note}" if self.note else None

    def note_text(self, lang: Language = "zh") -> str | None:
        """Return the note in ``lang`` from the catalogue, or ``None`` without one."""
        return t(self.note_label, lang) if self.note_label else None

    def to_dict(self) -> dict[str, Any]:
        """Return the explanation as JSON-ready data."""
        return {
            "conflicts": list(self.conflicts),
            "relaxations": [r.to_dict() for r in self.relaxations],
            "proven_smallest": self.proven_smallest,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Infeasibility:
        """Read an explanation from :meth:`to_dict`'s data (a legacy note's sentence too)."""
        note = d.get("note")
        legacy = {text: code for code, text in INFEASIBILITY_NOTES.items()}
        note = legacy.get(note, note)
        if note is not None and f"siting.note.{note}" not in catalogue():
            note = None  # a sentence no code stands for: nothing to render it from
        return cls(
            conflicts=list(d.get("conflicts", [])),
            relaxations=[Relaxation.from_dict(r) for r in d.get("relaxations") or []],
            # Runs stored before the flag existed do not say, so are not claimed smallest.
            proven_smallest=bool(d.get("proven_smallest", False)),
            note=note,
        )


@dataclass
class Explanation:
    """Everything explained about one solve; what is absent was not computed.

    A plan has its accounts (:data:`ACCOUNTS`) and, when asked for, ``space_values``,
    ``alternatives`` and ``irreplaceability``; an infeasible scenario has
    ``infeasibility``; a solve with neither has a ``note``.
    """

    breakdown: Breakdown | None = None
    space_use: list[SpaceUse] | None = None
    budget_use: BudgetUse | None = None
    space_values: list[SpaceValue] | None = None
    alternatives: list[Alternative] | None = None
    irreplaceability: list[SiteLoss] | None = None
    infeasibility: Infeasibility | None = None
    note: str | None = None

    def has_accounts(self) -> bool:
        """Whether the plan's accounts are all here (runs recorded early may lack them)."""
        return all(getattr(self, key) is not None for key in ACCOUNTS)

    def to_dict(self) -> dict[str, Any]:
        """Return the explanation as the JSON stored in the ledger (computed parts only)."""
        out: dict[str, Any] = {}
        if self.breakdown is not None:
            out["breakdown"] = self.breakdown.to_dict()
        if self.space_use is not None:
            out["space_use"] = [asdict(r) for r in self.space_use]
        if self.budget_use is not None:
            out["budget_use"] = asdict(self.budget_use)
        if self.space_values is not None:
            out["space_values"] = [asdict(v) for v in self.space_values]
        if self.alternatives is not None:
            out["alternatives"] = [a.to_dict() for a in self.alternatives]
        if self.irreplaceability is not None:
            out["irreplaceability"] = [r.to_dict() for r in self.irreplaceability]
        if self.infeasibility is not None:
            out["infeasibility"] = self.infeasibility.to_dict()
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Explanation:
        """Read an explanation from :meth:`to_dict`'s data, or an empty one from ``None``."""
        d = d or {}

        def rows(key: str, read: Any) -> list | None:
            return None if d.get(key) is None else [read(r) for r in d[key]]

        return cls(
            # A run without a plan stored an empty breakdown: there is nothing to split.
            breakdown=Breakdown.from_dict(d["breakdown"]) if d.get("breakdown") else None,
            space_use=rows("space_use", lambda r: SpaceUse(**r)),
            budget_use=BudgetUse(**d["budget_use"]) if d.get("budget_use") else None,
            space_values=rows("space_values", lambda r: SpaceValue(**r)),
            alternatives=rows("alternatives", Alternative.from_dict),
            irreplaceability=rows("irreplaceability", SiteLoss.from_dict),
            infeasibility=(
                Infeasibility.from_dict(d["infeasibility"]) if d.get("infeasibility") else None
            ),
            note=d.get("note"),
        )
