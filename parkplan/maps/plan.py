"""A siting plan as the map draws it: who goes where, and how full each site gets."""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parkplan.i18n import t as label
from parkplan.layers import SPACE_CLASSES
from parkplan.maps.style import UTILISATION_BINS
from parkplan.maps.text import Text

__all__ = [
    "Plan",
    "as_plan",
    "bin_labels",
    "percent",
    "site_utilisation",
    "utilisation_class",
]


@dataclass(frozen=True)
class Plan:
    """A siting plan to draw: who goes to which site in which year.

    Parameters
    ----------
    allocation : tuple of (cand_id, site_id, year)
    name : str
        Scenario name, shown in the legend.
    run_id : str, optional
        Ledger id of the run it comes from.
    adopted : bool
        Whether it is the adopted plan.
    """

    allocation: tuple[tuple[str, str, int], ...]
    name: str = ""
    run_id: str | None = None
    adopted: bool = False

    @classmethod
    def from_run(cls, run: Any) -> Plan:
        """Return the plan of a stored siting run (a :class:`parkplan.store.ledger.RunRecord`)."""
        alloc = tuple(
            (str(a["cand_id"]), str(a["site_id"]), int(a["year"]))
            for a in run.result.get("allocation", [])
        )
        return cls(alloc, run.scenario_name, run.run_id, bool(run.adopted))

    def label(self, language: str = "zh", *, bilingual: bool = True) -> str:
        """Return name, run id and state, e.g. ``"baseline · 2026… (已采纳 adopted)"``.

        ``language`` comes first; with ``bilingual=False`` the state is in it alone.
        """
        text = " · ".join(p for p in (self.name, self.run_id) if p)
        if not self.run_id:  # not from the ledger: neither adopted nor latest
            return text
        key = "map.plan.adopted" if self.adopted else "map.plan.latest"
        state = Text(language).label(key) if bilingual else label(key, language)
        return f"{text} ({state})"


def as_plan(plan: Any) -> Plan | None:
    """Return ``plan`` as a :class:`Plan`: a Plan, or rows of (cand_id, site_id, year) or dicts."""
    if plan is None or isinstance(plan, Plan):
        return plan
    rows = []
    for a in plan:
        if isinstance(a, Mapping):
            rows.append((str(a["cand_id"]), str(a["site_id"]), int(a["year"])))
        else:
            c, s, y = tuple(a)[:3]
            rows.append((str(c), str(s), int(y)))
    return Plan(tuple(rows))


def _numeric(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        values = frame[col] if col in frame.columns else pd.Series(np.nan, index=frame.index)
        out[col] = pd.to_numeric(values, errors="coerce").fillna(0.0).astype(float)
    return out


def site_utilisation(
    sites: pd.DataFrame, candidates: pd.DataFrame, allocation: Iterable[tuple[str, str, int]]
) -> pd.DataFrame:
    """Share of each site's floor space a plan uses, by the end of the horizon.

    Occupancy is cumulative (who moved in stays), so the plan's year does not matter:
    a site's use is the sum of the space needs of every organisation placed there.

    Parameters
    ----------
    sites : DataFrame
        ``site_id`` and the capacity columns (:data:`parkplan.layers.SPACE_CLASSES`).
    candidates : DataFrame
        ``cand_id`` and the need columns.
    allocation : iterable of (cand_id, site_id, year)

    Returns
    -------
    DataFrame
        Indexed by ``site_id`` (every site, in order): ``placed`` (organisations),
        ``used_<class>`` per space class, ``used_m2``, ``capacity_m2`` and
        ``utilisation`` (``used_m2 / capacity_m2``; NaN for a site without space).

    Warns
    -----
    UserWarning
        For allocations naming a site or candidate the layers lack (a run stored before
        the layers changed); they are left out.
    """
    alloc = pd.DataFrame(
        [tuple(a)[:3] for a in allocation], columns=["cand_id", "site_id", "year"]
    ).astype({"cand_id": str, "site_id": str})
    cap = _numeric(sites.set_axis(sites["site_id"].astype(str)), SPACE_CLASSES)
    need = _numeric(candidates.set_axis(candidates["cand_id"].astype(str)), SPACE_CLASSES)
    known = alloc["cand_id"].isin(need.index) & alloc["site_id"].isin(cap.index)
    if not known.all():
        missing = alloc.loc[~known, ["cand_id", "site_id"]].astype(str).agg("→".join, axis=1)
        warnings.warn(
            label("map.warn.left_out", "en", pairs=", ".join(missing.head(5)))
            + (" …" if len(missing) > 5 else ""),
            stacklevel=2,
        )
        alloc = alloc[known]
    used = need.loc[alloc["cand_id"]].set_axis(alloc["site_id"]).groupby(level=0).sum()
    used = used.reindex(cap.index, fill_value=0.0)
    out = pd.DataFrame(
        {"placed": alloc.groupby("site_id").size().reindex(cap.index, fill_value=0).astype(int)},
        index=cap.index,
    )
    for cls in SPACE_CLASSES:
        out[f"used_{cls}"] = used[cls]
    out["used_m2"] = used.sum(axis=1)
    out["capacity_m2"] = cap.sum(axis=1)
    out["utilisation"] = out["used_m2"] / out["capacity_m2"].where(out["capacity_m2"] > 0)
    out.index.name = "site_id"
    return out


def utilisation_class(utilisation: float | None, placed: int = 1) -> int:
    """Colour class of a site: 0 when the plan does not use it, else 1-5 (see the bins)."""
    if (
        not placed
        or utilisation is None
        or (isinstance(utilisation, float) and math.isnan(utilisation))
    ):
        return 0
    return 1 + bisect.bisect_right(UTILISATION_BINS, float(utilisation))


def percent(x: float) -> str:
    """Return a share as a whole percentage, e.g. ``"25%"``."""
    return f"{x * 100:.0f}%"


def bin_labels() -> list[str]:
    """Return the utilisation classes' labels, e.g. ``["0%–25%", …, "≥ 90%"]``."""
    edges = (0.0, *UTILISATION_BINS)
    labels = [
        f"{percent(lo)}–{percent(hi)}" for lo, hi in zip(edges, UTILISATION_BINS, strict=False)
    ]
    return [*labels, f"≥ {percent(UTILISATION_BINS[-1])}"]
