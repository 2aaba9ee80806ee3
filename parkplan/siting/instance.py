"""The siting instance: the contract's data, its JSON file and its validation.

An instance is everything the siting model needs, resolved to arrays and ids: the horizon,
the money, the quotas, the fixed and excluded pairs, the sites, the candidates and the
suitability scores ``a[c, s]``. It is written and read in the contract's format
``parkplan-siting-instance/1`` (see ``docs/siting-contract.md``), so that any
instance can be exported, re-solved and checked by a program that knows nothing of parkplan.

Reading is in two steps. :func:`instance_from_dict` checks the *shape* of the file (keys,
types, ids that the score table refers to) and builds a :class:`SitingInstance`;
:func:`validate` then checks the *meaning* (signs, quotas that can be met at all, pairs that
name known ids, …). Both collect every problem before raising one :class:`SitingError`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from parkplan.errors import SitingError

__all__ = [
    "FORMAT",
    "SPACE_CLASSES",
    "TIERS",
    "SITE_COLUMNS",
    "CANDIDATE_COLUMNS",
    "SitingInstance",
    "instance_from_dict",
    "instance_to_dict",
    "problem_listing",
    "read_instance",
    "write_instance",
    "validate",
]

FORMAT = "parkplan-siting-instance/1"

SPACE_CLASSES: tuple[str, ...] = ("office_m2", "lab_m2", "heavy_lab_m2", "hazard_lab_m2")

TIERS: tuple[str, ...] = (
    "international_major",
    "national_qi_centre",
    "local_champion",
    "specialist",
    "startup",
)

SITE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "park_id",
    "available_from",
    "fitout_cost",
    *SPACE_CLASSES,
)

CANDIDATE_COLUMNS: tuple[str, ...] = (
    "cand_id",
    "tier",
    "sectors",
    "value",
    "subsidy",
    "ready_year",
    *SPACE_CLASSES,
)

_TOP_KEYS = (
    "format",
    "horizon",
    "discount_rate",
    "budget",
    "fitout_penalty",
    "quotas",
    "fixed",
    "excluded",
    "sites",
    "candidates",
    "score",
)

# Expected JSON type of each record field: "str", "int" (year), "num" or "strs" (sectors).
_SITE_TYPES = {"site_id": "str", "park_id": "str", "available_from": "int", "fitout_cost": "num"}
_SITE_TYPES.update({k: "num" for k in SPACE_CLASSES})
_CAND_TYPES = {
    "cand_id": "str",
    "tier": "str",
    "sectors": "strs",
    "value": "num",
    "subsidy": "num",
    "ready_year": "int",
}
_CAND_TYPES.update({k: "num" for k in SPACE_CLASSES})


@dataclass(eq=False)
class SitingInstance:
    """The data of one siting problem, exactly as the contract defines it.

    Parameters
    ----------
    horizon : list of int
        The planning years ``t0 … tN``, strictly increasing.
    discount_rate : float
        ``r`` in the discount factor ``δ = 1 / (1 + r)``; must be above -1.
    budget : float
        ``B``, total budget for subsidies and fit-out (万元).
    fitout_penalty : float
        ``φ``, objective penalty per 万元 of fit-out.
    tier_quotas : dict of str to int
        ``q_τ``, minimum number of candidates recruited per tier.
    sector_quotas : dict of str to int
        ``m_g``, minimum number of candidates recruited per sector.
    fixed : list of (str, str)
        ``(cand_id, site_id)`` pairs already signed: the candidate must go to that site.
    excluded : list of (str, str)
        ``(cand_id, site_id)`` pairs that may not be used.
    sites : pandas.DataFrame
        One row per site with the columns :data:`SITE_COLUMNS`.
    candidates : pandas.DataFrame
        One row per candidate with the columns :data:`CANDIDATE_COLUMNS`; ``sectors`` holds a
        tuple of str.
    score : numpy.ndarray
        ``a[c, s]``, shape ``(len(candidates), len(sites))`` in the row order of the two
        frames. ``NaN`` marks a missing score (which :func:`validate` rejects).
    """

    horizon: list[int]
    discount_rate: float
    budget: float
    fitout_penalty: float
    tier_quotas: dict[str, int]
    sector_quotas: dict[str, int]
    fixed: list[tuple[str, str]]
    excluded: list[tuple[str, str]]
    sites: pd.DataFrame
    candidates: pd.DataFrame
    score: np.ndarray = field(repr=False)

    @property
    def site_ids(self) -> list[str]:
        """Site ids in row order."""
        return [str(s) for s in self.sites["site_id"]]

    @property
    def cand_ids(self) -> list[str]:
        """Candidate ids in row order."""
        return [str(c) for c in self.candidates["cand_id"]]

    @property
    def delta(self) -> float:
        """The discount factor ``δ = 1 / (1 + r)``."""
        return 1.0 / (1.0 + self.discount_rate)

    def capacity(self) -> np.ndarray:
        """Return ``cap[s, k]`` as a float array, classes in :data:`SPACE_CLASSES` order."""
        return self.sites[list(SPACE_CLASSES)].to_numpy(dtype=float)

    def need(self) -> np.ndarray:
        """Return ``need[c, k]`` as a float array, classes in :data:`SPACE_CLASSES` order."""
        return self.candidates[list(SPACE_CLASSES)].to_numpy(dtype=float)


def read_instance(path: str | PathLike[str]) -> SitingInstance:
    """Read and validate an instance file in the contract's format.

    Parameters
    ----------
    path : str or path-like
        A ``parkplan-siting-instance/1`` JSON file.

    Returns
    -------
    SitingInstance

    Raises
    ------
    SitingError
        If the file is not JSON, is not in the contract's format, or the instance is invalid;
        the message lists every problem.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise SitingError(f"{path}: not a JSON file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise SitingError(
            f"{path}: not a JSON file: it is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except RecursionError:
        raise SitingError(f"{path}: not a JSON file parkplan reads: nested too deeply") from None
    except OSError as exc:
        raise SitingError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        return instance_from_dict(data)
    except SitingError as exc:
        raise SitingError(f"{path}: {exc}") from exc


def write_instance(inst: SitingInstance, path: str | PathLike[str]) -> None:
    """Write an instance in the contract's format.

    Parameters
    ----------
    inst : SitingInstance
        The instance; it is written as it is (validate it first if in doubt).
    path : str or path-like
        The file to write.
    """
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(instance_to_dict(inst), fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def instance_to_dict(inst: SitingInstance) -> dict[str, Any]:
    """Return the instance as the contract's JSON object.

    Floats are written as Python floats, whose ``repr`` round-trips exactly, so
    ``instance_from_dict(instance_to_dict(inst))`` loses nothing.

    Parameters
    ----------
    inst : SitingInstance

    Returns
    -------
    dict
        A JSON-serialisable object with ``"format": "parkplan-siting-instance/1"``.
    """
    sites = [
        {col: _plain(row[col], _SITE_TYPES[col]) for col in SITE_COLUMNS}
        for row in inst.sites.to_dict("records")
    ]
    candidates = [
        {col: _plain(row[col], _CAND_TYPES[col]) for col in CANDIDATE_COLUMNS}
        for row in inst.candidates.to_dict("records")
    ]
    site_ids = inst.site_ids
    score = {
        c: {s: float(inst.score[i, j]) for j, s in enumerate(site_ids)}
        for i, c in enumerate(inst.cand_ids)
    }
    return {
        "format": FORMAT,
        "horizon": [int(t) for t in inst.horizon],
        "discount_rate": float(inst.discount_rate),
        "budget": float(inst.budget),
        "fitout_penalty": float(inst.fitout_penalty),
        "quotas": {
            "tier": {str(k): int(v) for k, v in inst.tier_quotas.items()},
            "sector": {str(k): int(v) for k, v in inst.sector_quotas.items()},
        },
        "fixed": [[str(c), str(s)] for c, s in inst.fixed],
        "excluded": [[str(c), str(s)] for c, s in inst.excluded],
        "sites": sites,
        "candidates": candidates,
        "score": score,
    }


def _plain(value: Any, kind: str) -> Any:
    """Convert a frame cell to the plain JSON type the contract expects."""
    if kind == "str":
        return str(value)
    if kind == "int":
        return int(value)
    if kind == "strs":
        return [str(v) for v in value]
    return float(value)


def instance_from_dict(d: Any) -> SitingInstance:
    """Build and validate an instance from the contract's JSON object.

    Keys the contract does not name are ignored, at the top level and in records.

    Parameters
    ----------
    d : dict
        A parsed ``parkplan-siting-instance/1`` object.

    Returns
    -------
    SitingInstance

    Raises
    ------
    SitingError
        Naming every missing key, wrongly typed value (with the record it is in), unknown id
        in the score table, and every problem :func:`validate` finds.
    """
    problems: list[str] = []
    if not isinstance(d, dict):
        raise SitingError(f"instance must be a JSON object, not {_jtype(d)}")
    if d.get("format") != FORMAT:
        problems.append(f"key 'format' must be {FORMAT!r}, found {d.get('format')!r}")
    for key in _TOP_KEYS:
        if key not in d:
            problems.append(f"missing key {key!r}")

    horizon = d.get("horizon")
    if "horizon" in d and not (
        isinstance(horizon, list) and horizon and all(_is_int(t) for t in horizon)
    ):
        problems.append("key 'horizon' must be a non-empty list of integer years")
    for key in ("discount_rate", "budget", "fitout_penalty"):
        if key in d and not _is_num(d[key]):
            problems.append(f"key {key!r} must be a finite number, found {_jtype(d[key])}")

    tier_q, sector_q = _quota_fields(d, problems)
    pairs = _pair_fields(d, problems)

    site_rows = _records(d, "sites", "site_id", _SITE_TYPES, problems)
    cand_rows = _records(d, "candidates", "cand_id", _CAND_TYPES, problems)

    score = None
    if "score" in d and site_rows is not None and cand_rows is not None:
        score = _score_matrix(d["score"], cand_rows, site_rows, problems)

    if problems:
        raise SitingError(problem_listing("invalid siting instance", problems))

    sites = pd.DataFrame(site_rows, columns=list(SITE_COLUMNS))
    for col in SPACE_CLASSES + ("fitout_cost",):
        sites[col] = sites[col].astype(float)
    sites["available_from"] = sites["available_from"].astype("int64")
    candidates = pd.DataFrame(cand_rows, columns=list(CANDIDATE_COLUMNS))
    candidates["sectors"] = [tuple(s) for s in candidates["sectors"]]
    for col in SPACE_CLASSES + ("value", "subsidy"):
        candidates[col] = candidates[col].astype(float)
    candidates["ready_year"] = candidates["ready_year"].astype("int64")

    inst = SitingInstance(
        horizon=[int(t) for t in horizon],
        discount_rate=float(d["discount_rate"]),
        budget=float(d["budget"]),
        fitout_penalty=float(d["fitout_penalty"]),
        tier_quotas=tier_q,
        sector_quotas=sector_q,
        fixed=pairs["fixed"],
        excluded=pairs["excluded"],
        sites=sites,
        candidates=candidates,
        score=score,
    )
    validate(inst)
    return inst


def _quota_fields(d: dict, problems: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Read the file's tier and sector quotas, noting what is malformed in ``problems``."""
    tier_q: dict[str, int] = {}
    sector_q: dict[str, int] = {}
    if "quotas" not in d:
        return tier_q, sector_q
    quotas = d["quotas"]
    if not isinstance(quotas, dict):
        problems.append(f"key 'quotas' must be an object, found {_jtype(quotas)}")
        return tier_q, sector_q
    for kind, target in (("tier", tier_q), ("sector", sector_q)):
        sub = quotas.get(kind, {})
        if not isinstance(sub, dict):
            problems.append(f"key 'quotas.{kind}' must be an object, found {_jtype(sub)}")
            continue
        for name, q in sub.items():
            if _is_int(q):
                target[name] = q
            else:
                problems.append(f"key 'quotas.{kind}.{name}' must be an integer, found {_jtype(q)}")
    return tier_q, sector_q


def _pair_fields(d: dict, problems: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Read the file's fixed and excluded pairs, noting what is malformed in ``problems``."""
    pairs: dict[str, list[tuple[str, str]]] = {"fixed": [], "excluded": []}
    for key in pairs:
        if key not in d:
            continue
        raw = d[key]
        if not isinstance(raw, list):
            problems.append(f"key {key!r} must be a list of [cand_id, site_id] pairs")
            continue
        for i, pair in enumerate(raw):
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
                pairs[key].append((pair[0], pair[1]))
            else:
                problems.append(f"{key}[{i}] must be a [cand_id, site_id] pair of strings")
    return pairs


def _records(
    d: dict, key: str, id_key: str, types: dict[str, str], problems: list[str]
) -> list[dict] | None:
    """Check a list of records against its field types; return the known fields only."""
    if key not in d:
        return None
    raw = d[key]
    if not isinstance(raw, list):
        problems.append(f"key {key!r} must be a list of objects, found {_jtype(raw)}")
        return None
    rows = []
    ok = True
    for i, rec in enumerate(raw):
        if not isinstance(rec, dict):
            problems.append(f"{key}[{i}] must be an object, found {_jtype(rec)}")
            ok = False
            continue
        label = f"{key}[{i}]"
        if isinstance(rec.get(id_key), str):
            label += f" ({rec[id_key]})"
        for col, kind in types.items():
            if col not in rec:
                problems.append(f"{label}: missing key {col!r}")
                ok = False
            elif not _has_type(rec[col], kind):
                problems.append(
                    f"{label}: key {col!r} must be {_KIND_WORDS[kind]}, found {_jtype(rec[col])}"
                )
                ok = False
        rows.append({col: rec.get(col) for col in types})
    return rows if ok else None


def _score_matrix(
    raw: Any, cand_rows: list[dict], site_rows: list[dict], problems: list[str]
) -> np.ndarray | None:
    """Turn the nested ``{cand_id: {site_id: a}}`` object into an aligned array."""
    if not isinstance(raw, dict):
        problems.append(f"key 'score' must be an object, found {_jtype(raw)}")
        return None
    ci = {r["cand_id"]: i for i, r in enumerate(cand_rows)}
    si = {r["site_id"]: j for j, r in enumerate(site_rows)}
    score = np.full((len(cand_rows), len(site_rows)), np.nan)
    for c, row in raw.items():
        if c not in ci:
            problems.append(f"score: unknown candidate {c!r}")
            continue
        if not isinstance(row, dict):
            problems.append(f"score.{c} must be an object, found {_jtype(row)}")
            continue
        for s, a in row.items():
            if s not in si:
                problems.append(f"score.{c}: unknown site {s!r}")
            elif not _is_num(a):
                problems.append(f"score.{c}.{s} must be a finite number, found {_jtype(a)}")
            else:
                score[ci[c], si[s]] = float(a)
    return score


_KIND_WORDS = dict(
    str="a string", int="an integer year", num="a finite number", strs="a list of strings"
)


def _has_type(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return _is_int(value)
    if kind == "strs":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return _is_num(value)


def _is_int(value: Any) -> bool:
    # bool is an int subclass in Python, but true/false in a file is never a year or a count.
    # Beyond int64 the frames that carry the instance would overflow or wrap silently.
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _is_num(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        # JSON readers accept NaN and Infinity, and an integer may exceed any double.
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _jtype(value: Any) -> str:
    """Name a Python value by its JSON type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def problem_listing(title: str, problems: list[str]) -> str:
    """Return ``title`` and a count, then one ``- problem`` line per problem.

    Parameters
    ----------
    title : str
    problems : list of str

    Returns
    -------
    str
    """
    return f"{title} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n" + "\n".join(
        f"- {p}" for p in problems
    )


def validate(inst: SitingInstance) -> None:
    """Check that an instance is one the contract's model can be built for.

    Every problem is collected, then one :class:`SitingError` lists them all. Some choices
    go beyond the contract's letter, because each of them can only be a mistake in the
    data:

    - a candidate that needs a space class no site offers at all is an error (a wrong
      column or a missing layer, not a planning question); one that merely needs more of
      a class than the largest site has is valid and is simply never placed;
    - a candidate fixed to two different sites, or a pair that is both fixed and excluded,
      is an error (under the contract it would only make the instance infeasible);
    - a quota above the number of candidates who could count towards it is an error.

    A fixed pair that cannot be placed for a reason of years or space at that one site is
    *not* an error: the contract calls such an instance infeasible, and solving reports it.

    Parameters
    ----------
    inst : SitingInstance

    Raises
    ------
    SitingError
        Listing every problem found.
    """
    problems = [
        f"{name}: missing columns {', '.join(missing)}"
        for frame, name, cols in (
            (inst.sites, "sites", SITE_COLUMNS),
            (inst.candidates, "candidates", CANDIDATE_COLUMNS),
        )
        if (missing := [c for c in cols if c not in frame.columns])
    ]
    if problems:
        raise SitingError(problem_listing("invalid siting instance", problems))
    for check in (
        _scalar_problems,
        _record_problems,
        _pair_problems,
        _quota_problems,
        _score_problems,
    ):
        problems += check(inst)
    if problems:
        raise SitingError(problem_listing("invalid siting instance", problems))


def _scalar_problems(inst: SitingInstance) -> list[str]:
    """Check the horizon, discount rate, budget, fit-out penalty and id uniqueness."""
    problems = []
    horizon = list(inst.horizon)
    if not horizon:
        problems.append("horizon: empty")
    elif any(b <= a for a, b in zip(horizon, horizon[1:], strict=False)):
        problems.append(f"horizon: years must be strictly increasing, found {horizon}")
    for key in ("discount_rate", "budget", "fitout_penalty"):
        if not math.isfinite(getattr(inst, key)):
            problems.append(f"{key}: must be a finite number, found {getattr(inst, key)!r}")
    if inst.discount_rate <= -1:
        problems.append(f"discount_rate: must be above -1, found {inst.discount_rate!r}")
    if inst.budget < 0:
        problems.append(f"budget: must not be negative, found {inst.budget!r}")
    if inst.fitout_penalty < 0:
        problems.append(f"fitout_penalty: must not be negative, found {inst.fitout_penalty!r}")
    return problems + [
        f"{name} {dup!r} appears {n} times"
        for name, ids in (("site_id", inst.site_ids), ("cand_id", inst.cand_ids))
        for dup, n in Counter(ids).items()
        if n > 1
    ]


def _record_problems(inst: SitingInstance) -> list[str]:
    """Check sites' and candidates' figures, tiers, and that some site has what is needed."""
    problems = [
        f"site {rec['site_id']}: {col} must be a non-negative number, found {rec[col]!r}"
        for rec in inst.sites.to_dict("records")
        for col in ("fitout_cost", *SPACE_CLASSES)
        if not (math.isfinite(rec[col]) and rec[col] >= 0)
    ]
    cap = inst.capacity()
    max_cap = cap.max(axis=0) if len(inst.sites) else np.zeros(len(SPACE_CLASSES))
    for rec in inst.candidates.to_dict("records"):
        cid = rec["cand_id"]
        if rec["tier"] not in TIERS:
            problems.append(
                f"candidate {cid}: unknown tier {rec['tier']!r} (one of {', '.join(TIERS)})"
            )
        for col in ("value", "subsidy", *SPACE_CLASSES):
            if not (math.isfinite(rec[col]) and rec[col] >= 0):
                problems.append(
                    f"candidate {cid}: {col} must be a non-negative number, found {rec[col]!r}"
                )
        for k, col in enumerate(SPACE_CLASSES):
            # A class no site offers at all is a data error (a wrong column, a missing
            # layer); a need larger than every site merely leaves the candidate unplaced,
            # which the explanations report.
            if rec[col] > 0 and max_cap[k] <= 0:
                problems.append(
                    f"candidate {cid}: needs {rec[col]:g} m² of {col} but no site has any {col}"
                )
    return problems


def _pair_problems(inst: SitingInstance) -> list[str]:
    """Check that fixed and excluded pairs name known ids and do not contradict."""
    problems = []
    site_set, cand_set = set(inst.site_ids), set(inst.cand_ids)
    fixed_at: dict[str, str] = {}
    for kind, pairs in (("fixed", inst.fixed), ("excluded", inst.excluded)):
        for c, s in pairs:
            if c not in cand_set:
                problems.append(f"{kind} pair ({c}, {s}): unknown candidate {c!r}")
            if s not in site_set:
                problems.append(f"{kind} pair ({c}, {s}): unknown site {s!r}")
            if kind == "fixed":
                if c in fixed_at and fixed_at[c] != s:
                    problems.append(f"candidate {c} is fixed to two sites, {fixed_at[c]} and {s}")
                fixed_at.setdefault(c, s)
    for c, s in set(inst.fixed) & set(inst.excluded):
        problems.append(f"pair ({c}, {s}) is both fixed and excluded")
    return problems


def _quota_problems(inst: SitingInstance) -> list[str]:
    """Check quotas: known tiers, not negative, not above who could count towards them."""
    problems = []
    cands = inst.candidates
    tier_count = Counter(cands["tier"])
    for tier, q in inst.tier_quotas.items():
        if tier not in TIERS:
            problems.append(f"tier quota for unknown tier {tier!r} (one of {', '.join(TIERS)})")
        elif q < 0:
            problems.append(f"tier quota {tier}: must not be negative, found {q}")
        elif q > tier_count.get(tier, 0):
            problems.append(
                f"tier quota {tier}: {q} required but only {tier_count.get(tier, 0)} "
                f"candidates have that tier"
            )
    sector_count = Counter(g for secs in cands["sectors"] for g in set(secs))
    for sector, q in inst.sector_quotas.items():
        if q < 0:
            problems.append(f"sector quota {sector}: must not be negative, found {q}")
        elif q > sector_count.get(sector, 0):
            problems.append(
                f"sector quota {sector}: {q} required but only {sector_count.get(sector, 0)} "
                f"candidates have that sector"
            )
    return problems


def _score_problems(inst: SitingInstance) -> list[str]:
    """Check the score table's shape and that every score is present and in [0, 1]."""
    problems = []
    cand_ids, site_ids = inst.cand_ids, inst.site_ids
    score = np.asarray(inst.score, dtype=float)
    if score.shape != (len(cand_ids), len(site_ids)):
        return [
            f"score: shape {score.shape} does not match {len(cand_ids)} candidates × "
            f"{len(site_ids)} sites"
        ]
    for i in np.nonzero(np.isnan(score).any(axis=1))[0]:
        where = ", ".join(site_ids[j] for j in np.nonzero(np.isnan(score[i]))[0])
        problems.append(f"score: missing for candidate {cand_ids[i]} at site(s) {where}")
    bad = ~np.isnan(score) & ((score < 0) | (score > 1))
    for i, j in zip(*np.nonzero(bad), strict=True):
        problems.append(
            f"score: {float(score[i, j])!r} for candidate {cand_ids[i]} at site {site_ids[j]} "
            "is outside [0, 1]"
        )
    return problems
