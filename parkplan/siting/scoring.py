r"""Suitability scores: how well each site suits each candidate, from the map layers.

The siting contract (``docs/siting-contract.md``) takes a suitability
:math:`a_{c,s} \in [0, 1]` of site :math:`s` for candidate :math:`c` as given; this module
computes it from the workspace layers. The score is a weighted mean of three components,
each in :math:`[0, 1]`:

.. math::

    a_{c,s} = \operatorname{clip}_{[0,1]}\bigl(
        \hat w_P \, P_{c,s} + \hat w_A \, A_{c,s} + \hat w_X \, X_s \bigr),
    \qquad \hat w_i = w_i \Big/ \sum_{j \text{ computed}} w_j

where the sum in the denominator runs over the components that can be computed: a
component whose layer is ``None`` or has no rows (typically a workspace without transport)
is dropped and the remaining weights are renormalised to sum to 1.

Every distance is Euclidean in :data:`parkplan.crs.METRIC_CRS` (a Transverse Mercator on
Shanghai, scale error below 1e-4), and every decay is exponential, :math:`e^{-d/D}`: it is
1 on the spot, :math:`e^{-1} \approx 0.37` at the decay distance :math:`D`, and never
exactly 0, so a site is never cut off abruptly at an arbitrary radius.

**Proximity** :math:`P` (industry clusters a TIC organisation serves). For each sector
:math:`g` and site :math:`s`

.. math::

    R_{g,s} = \sum_{k \in g} \mathrm{weight}_k \, e^{-d(k,s)/D_P}, \qquad
    \tilde R_{g,s} = R_{g,s} \big/ \max_{s'} R_{g,s'}

so the best site for each sector scores 1. Normalising per sector keeps the score a
measure of *fit*: a sector with few or small clusters is not penalised against one with
many big ones (how much a candidate matters is its strategic value :math:`v_c` in the
objective, not its score). The price is that the scale is relative to the site set:
adding a site near a cluster can lower the others' scores. A sector with no cluster has
:math:`\tilde R_{g,\cdot} = 0`. A candidate with several sectors takes the **mean** over
its sectors, :math:`P = M \tilde R` with :math:`M_{c,g} = 1/|G_c|` for
:math:`g \in G_c`: a TIC organisation earns from all the sectors it serves, so the site
that serves all of them best wins, and a sector without any cluster contributes 0 to the
mean.

**Agglomeration** :math:`A` (existing TIC organisations of the candidate's sectors: peers,
staff pool, client familiarity). The same construction over institutions, each counting in
every sector it serves with load :math:`\ln(1 + \mathrm{headcount}_i)` and decay distance
:math:`D_A`. The logarithm gives diminishing returns: a 700-person laboratory counts about
2.7 times a 10-person one, not 70 times, because what attracts a newcomer is the presence
of an ecosystem rather than its raw size.

**Access** :math:`X` (transport), the same for all candidates:

.. math::

    X_s = \max_t \; \mathrm{mode\_weight}_{m(t)} \, e^{-d(t,s)/D_X}

i.e. the best nearby access point, weighted by mode (defaults in
:data:`DEFAULT_MODE_WEIGHTS`). It is *not* normalised by the best site: mode weights lie
in :math:`[0, 1]`, so :math:`X` already does, and a park far from any station should not
be promoted to 1 just because every site is badly served.

All computation is vectorised: distances are computed point×site with numpy broadcasting
in blocks of sites (bounded memory, no Python loop over pairs), sector loads are summed by
a matrix product, and candidates are mapped onto sectors by another.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from parkplan.crs import METRIC_CRS, STORAGE_CRS
from parkplan.errors import SitingError
from parkplan.layers import SECTORS, TRANSPORT_MODES, split_codes

__all__ = [
    "COMPONENTS",
    "DEFAULT_MODE_WEIGHTS",
    "DEFAULT_WEIGHTS",
    "ScoreMatrix",
    "ScoringWeights",
    "suitability",
]

#: The score's components, in the order they are combined and reported.
COMPONENTS: tuple[str, ...] = ("proximity", "agglomeration", "access")

#: Default weight of each transport mode in the access component. A judgement, to be
#: revisited with the programme office: airports carry international clients, auditors and
#: air-freighted samples, the core of international TIC business; (high-speed) rail
#: brings clients from the Yangtze River Delta; metro serves staff commuting and is common,
#: so it distinguishes sites less; ports matter only to import/export inspection.
DEFAULT_MODE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"airport": 1.0, "rail": 0.9, "metro": 0.7, "port": 0.5}
)

# Point×site distance blocks hold at most this many float64 values (32 MB), so memory
# stays bounded however many sites there are, while each block is large enough for numpy
# to run at full speed.
_BLOCK_ELEMENTS = 1 << 22

# How many offending ids an error message lists before it says "and N more".
_SHOW = 10


def _finite(value: Any) -> bool:
    """Tell whether ``value`` is a real, finite number (bool excluded)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass(frozen=True)
class ScoringWeights:
    """Weights and decay distances of the suitability score.

    Parameters
    ----------
    proximity, agglomeration, access : float
        Relative weights of the three components, each finite and ≥ 0. They need not sum
        to 1: :meth:`effective` divides them by their sum over the components that can be
        computed, so dropping ``access`` (no transport layer) renormalises the other two.
    cluster_decay_km : float
        :math:`D_P`, the decay distance of the proximity component (km, > 0).
    agglomeration_decay_km : float
        :math:`D_A`, the decay distance of the agglomeration component (km, > 0).
    access_decay_km : float
        :math:`D_X`, the decay distance of the access component (km, > 0).
    mode_weights : mapping of str to float
        Weight in ``[0, 1]`` of each transport mode (``metro``, ``rail``, ``airport``,
        ``port``) in the access component; a stop of a mode left out makes
        :func:`suitability` fail. Defaults to :data:`DEFAULT_MODE_WEIGHTS`.

    Raises
    ------
    parkplan.errors.SitingError
        On construction, if a weight is negative or not finite, a decay distance is not
        positive, or a mode weight is unknown or outside ``[0, 1]``.

    Notes
    -----
    Every decay is exponential, :math:`e^{-d/D}` with :math:`d` and :math:`D` in km: the
    contribution of a point is 1 on the spot, 0.37 at :math:`D`, 0.05 at :math:`3D`.
    """

    proximity: float = 0.5
    agglomeration: float = 0.3
    access: float = 0.2
    cluster_decay_km: float = 10.0
    agglomeration_decay_km: float = 5.0
    access_decay_km: float = 3.0
    # Excluded from the hash (a mapping is not hashable); equality still compares it.
    mode_weights: Mapping[str, float] = field(
        default_factory=lambda: DEFAULT_MODE_WEIGHTS, hash=False
    )

    def __post_init__(self) -> None:
        # Freeze a private copy, so that the caller's dict cannot change the weights later.
        object.__setattr__(self, "mode_weights", MappingProxyType(dict(self.mode_weights)))
        self.check()

    def check(self) -> None:
        """Check every weight and distance; see the class for the rules.

        Raises
        ------
        parkplan.errors.SitingError
            Naming every value that is wrong.
        """
        problems = []
        for name in COMPONENTS:
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                problems.append(f"weight {name} must be a finite number ≥ 0, not {value!r}")
        for name in ("cluster_decay_km", "agglomeration_decay_km", "access_decay_km"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                problems.append(f"{name} must be a distance > 0 km, not {value!r}")
        for mode, value in self.mode_weights.items():
            if mode not in TRANSPORT_MODES:
                problems.append(
                    f"mode_weights: unknown transport mode {mode!r}; modes are: "
                    + ", ".join(TRANSPORT_MODES)
                )
            elif not _finite(value) or not 0 <= value <= 1:
                problems.append(f"mode_weights[{mode!r}] must lie in [0, 1], not {value!r}")
        if problems:
            raise SitingError("invalid scoring weights: " + "; ".join(problems))

    def effective(self, computed: Iterable[str]) -> dict[str, float]:
        """Return the weights of the computed components, renormalised to sum to 1.

        Parameters
        ----------
        computed : iterable of str
            The components that can be computed (a subset of :data:`COMPONENTS`).

        Returns
        -------
        dict of str to float
            One entry per computed component, in :data:`COMPONENTS` order.

        Raises
        ------
        parkplan.errors.SitingError
            If no component is computed or all their weights are 0.
        """
        computed = set(computed)
        raw = {name: float(getattr(self, name)) for name in COMPONENTS if name in computed}
        total = sum(raw.values())
        if total <= 0:
            what = ", ".join(raw) if raw else "none (every layer is missing or empty)"
            raise SitingError(
                f"no suitability component has a positive weight; "
                f"components that can be computed: {what}"
            )
        return {name: value / total for name, value in raw.items()}


#: The default weights (a module constant, so that it can be a default argument).
DEFAULT_WEIGHTS = ScoringWeights()


@dataclass(frozen=True, eq=False)
class ScoreMatrix:
    """Suitability of every site for every candidate, with its components.

    Parameters
    ----------
    cand_ids : list of str
        Candidate ids, in the row order of the candidates given to :func:`suitability`.
    site_ids : list of str
        Site ids, in the row order of the sites given.
    values : numpy.ndarray
        :math:`a_{c,s}`, float64 of shape ``(len(cand_ids), len(site_ids))``, in ``[0, 1]``.
    components : dict of str to numpy.ndarray
        Each computed component (``proximity``, ``agglomeration``, ``access``), same shape
        as ``values``, in ``[0, 1]``; ``access`` is a read-only broadcast view of one row
        per site. Dropped components are absent.
    weights : dict of str to float
        The effective weights, summing to 1, with which the components were combined:
        ``values == clip(Σ weights[k] * components[k], 0, 1)``.
    """

    cand_ids: list[str]
    site_ids: list[str]
    values: np.ndarray
    components: dict[str, np.ndarray]
    weights: dict[str, float]

    @property
    def shape(self) -> tuple[int, int]:
        """``(number of candidates, number of sites)``."""
        return self.values.shape

    def to_frame(self) -> pd.DataFrame:
        """Return the scores as a long table, one row per candidate and site.

        Returns
        -------
        pandas.DataFrame
            Columns ``cand_id``, ``site_id`` (categorical), ``score`` and one column per
            computed component, so that any score can be explained; candidate-major order.
        """
        n_c, n_s = self.shape
        # Categorical ids: 5 million rows of repeated strings would cost far more memory.
        data: dict[str, Any] = {
            "cand_id": pd.Categorical.from_codes(
                np.repeat(np.arange(n_c), n_s), categories=self.cand_ids
            ),
            "site_id": pd.Categorical.from_codes(
                np.tile(np.arange(n_s), n_c), categories=self.site_ids
            ),
            "score": self.values.ravel(),
        }
        for name, matrix in self.components.items():
            data[name] = np.ascontiguousarray(matrix).ravel()
        return pd.DataFrame(data)

    def to_dict(self, decimals: int = 4) -> dict[str, dict[str, float]]:
        """Return the scores in the contract's instance shape, ``{cand_id: {site_id: a}}``.

        Parameters
        ----------
        decimals : int
            Decimals to round to (the contract's files use 4).

        Returns
        -------
        dict of str to dict of str to float
            Every candidate has a score for every site, as the contract requires.
        """
        # Rounding k / 10**4 in numpy yields the double nearest that decimal, so the JSON
        # writer prints it short ("0.8123"); tolist() converts to Python floats in C.
        rows = np.round(self.values, decimals).tolist()
        return {
            cand: dict(zip(self.site_ids, row, strict=True))
            for cand, row in zip(self.cand_ids, rows, strict=True)
        }


def suitability(
    candidates: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    clusters: gpd.GeoDataFrame | None,
    institutions: gpd.GeoDataFrame | None,
    transport: gpd.GeoDataFrame | None = None,
    weights: ScoringWeights = DEFAULT_WEIGHTS,
) -> ScoreMatrix:
    r"""Score every site for every candidate, :math:`a_{c,s} \in [0, 1]`.

    The formulas are in the module docstring. Frames are the workspace layers (only the
    columns named below are read); geometries are taken in the CRS they record, WGS-84
    when they record none, and projected to :data:`parkplan.crs.METRIC_CRS` once.
    Non-point geometries are represented by their centroid.

    Parameters
    ----------
    candidates : pandas.DataFrame
        ``cand_id`` and ``sectors`` (a ``;``-separated string of sector codes, or a list
        or tuple of them).
    sites : geopandas.GeoDataFrame
        ``site_id`` and the geometry.
    clusters : geopandas.GeoDataFrame or None
        ``sector``, ``weight`` (> 0) and the geometry. ``None`` or empty drops proximity.
    institutions : geopandas.GeoDataFrame or None
        ``sectors`` (``;``-separated), ``headcount`` (≥ 0) and the geometry. ``None`` or
        empty drops agglomeration.
    transport : geopandas.GeoDataFrame or None
        ``mode`` and the geometry. ``None`` or empty drops access.
    weights : ScoringWeights
        Component weights and decay distances.

    Returns
    -------
    ScoreMatrix
        Rows in the order of ``candidates``, columns in the order of ``sites``.

    Raises
    ------
    parkplan.errors.SitingError
        If sites or candidates are empty, ids are missing or repeated, a sector code or
        transport mode is unknown, a candidate has no sector, a geometry is missing, a
        cluster weight or headcount is invalid, or a weight is invalid.
    """
    if not isinstance(weights, ScoringWeights):
        raise SitingError(f"weights must be ScoringWeights, not {type(weights).__name__}")
    weights.check()  # cheap, and catches an instance altered after construction
    if candidates is None or len(candidates) == 0:
        raise SitingError("no candidates to score: the candidates table is empty")
    if sites is None or len(sites) == 0:
        raise SitingError("no sites to score: the sites layer is empty")

    cand_ids = _ids(candidates, "cand_id", "candidates")
    site_ids = _ids(sites, "site_id", "sites")
    cand_sectors = _sector_lists(candidates, "sectors", "candidates", cand_ids)
    empty = [cid for cid, codes in zip(cand_ids, cand_sectors, strict=True) if not codes]
    if empty:
        raise SitingError(f"candidates without any sector: {_listing(empty)}")
    site_xy = _metric_xy(sites, "sites", site_ids)

    sector_index = {code: j for j, code in enumerate(SECTORS)}
    # Row-normalised candidate×sector indicator: the matrix product with a sector×site
    # matrix takes the mean over each candidate's sectors.
    cand_matrix = _indicator(cand_sectors, sector_index)
    cand_matrix /= cand_matrix.sum(axis=1, keepdims=True)

    parts: dict[str, np.ndarray] = {}
    if _has_rows(clusters):
        parts["proximity"] = cand_matrix @ _proximity(
            clusters, site_xy, sector_index, weights.cluster_decay_km * 1000.0
        )
    if _has_rows(institutions):
        parts["agglomeration"] = cand_matrix @ _agglomeration(
            institutions, site_xy, sector_index, weights.agglomeration_decay_km * 1000.0
        )
    if _has_rows(transport):
        access = _access(transport, site_xy, weights.mode_weights, weights.access_decay_km * 1000.0)
        # One row per site, the same for every candidate: a view, not C copies.
        parts["access"] = np.broadcast_to(access, (len(cand_ids), len(site_ids)))

    effective = weights.effective(parts)
    values = np.zeros((len(cand_ids), len(site_ids)))
    for name, weight in effective.items():
        values += weight * parts[name]
    # The combination is a convex mean of [0, 1] values; the clip only absorbs rounding.
    np.clip(values, 0.0, 1.0, out=values)
    return ScoreMatrix(
        cand_ids=cand_ids, site_ids=site_ids, values=values, components=parts, weights=effective
    )


def _proximity(
    clusters: gpd.GeoDataFrame, site_xy: np.ndarray, sector_index: dict[str, int], scale_m: float
) -> np.ndarray:
    """Return the per-sector normalised cluster proximity, sector×site."""
    _require(clusters, ("sector", "weight"), "clusters")
    ids = _ids(clusters, "cluster_id", "clusters") if "cluster_id" in clusters else None
    labels = ids or [str(i + 1) for i in range(len(clusters))]
    codes = [[str(code).strip()] for code in clusters["sector"]]
    _check_codes(codes, "clusters", labels)
    weight = pd.to_numeric(clusters["weight"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(weight) & (weight > 0))
    if bad.any():
        raise SitingError(
            "clusters: weight must be a number > 0; wrong for "
            + _listing([labels[i] for i in np.flatnonzero(bad)])
        )
    loads = _indicator(codes, sector_index).T * weight  # sector×cluster
    raw = _decay_sum(loads, _metric_xy(clusters, "clusters", labels), site_xy, scale_m)
    return _normalise_rows(raw)


def _agglomeration(
    institutions: gpd.GeoDataFrame,
    site_xy: np.ndarray,
    sector_index: dict[str, int],
    scale_m: float,
) -> np.ndarray:
    """Return the per-sector normalised institution agglomeration, sector×site."""
    _require(institutions, ("sectors", "headcount"), "institutions")
    ids = _ids(institutions, "inst_id", "institutions") if "inst_id" in institutions else None
    labels = ids or [str(i + 1) for i in range(len(institutions))]
    codes = _sector_lists(institutions, "sectors", "institutions", labels)
    headcount = pd.to_numeric(institutions["headcount"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(headcount) & (headcount >= 0))
    if bad.any():
        raise SitingError(
            "institutions: headcount must be a number ≥ 0; wrong for "
            + _listing([labels[i] for i in np.flatnonzero(bad)])
        )
    # An institution counts fully in every sector it serves (no split): its staff and
    # reputation are there for each of them.
    loads = _indicator(codes, sector_index).T * np.log1p(headcount)  # sector×institution
    raw = _decay_sum(loads, _metric_xy(institutions, "institutions", labels), site_xy, scale_m)
    return _normalise_rows(raw)


def _access(
    transport: gpd.GeoDataFrame,
    site_xy: np.ndarray,
    mode_weights: Mapping[str, float],
    scale_m: float,
) -> np.ndarray:
    """Return the access of each site: the best mode-weighted decay to any stop."""
    _require(transport, ("mode",), "transport")
    ids = _ids(transport, "stop_id", "transport") if "stop_id" in transport else None
    labels = ids or [str(i + 1) for i in range(len(transport))]
    modes = [str(m).strip() for m in transport["mode"]]
    unknown = sorted({m for m in modes if m not in mode_weights})
    if unknown:
        raise SitingError(
            f"transport: no weight for mode(s) {', '.join(map(repr, unknown))}; "
            f"weighted modes are: {', '.join(mode_weights)}"
        )
    point_weight = np.array([mode_weights[m] for m in modes], dtype=float)
    point_xy = _metric_xy(transport, "transport", labels)
    out = np.empty(len(site_xy))
    for block, dist in _distance_blocks(point_xy, site_xy):
        np.exp(dist / -scale_m, out=dist)
        dist *= point_weight[:, None]
        out[block] = dist.max(axis=0)
    return out


def _decay_sum(
    loads: np.ndarray, point_xy: np.ndarray, site_xy: np.ndarray, scale_m: float
) -> np.ndarray:
    """Return ``loads @ exp(-d / scale)``: for each row of loads, its decayed sum per site."""
    out = np.empty((loads.shape[0], len(site_xy)))
    for block, dist in _distance_blocks(point_xy, site_xy):
        np.exp(dist / -scale_m, out=dist)
        out[:, block] = loads @ dist
    return out


def _distance_blocks(point_xy: np.ndarray, site_xy: np.ndarray):
    """Yield ``(slice of sites, point×site distance matrix in metres)`` block by block.

    The loop runs over blocks of sites (a handful), never over pairs; blocks bound the
    memory of the temporaries whatever the number of sites.
    """
    step = max(1, _BLOCK_ELEMENTS // max(1, len(point_xy)))
    for start in range(0, len(site_xy), step):
        block = slice(start, start + step)
        dx = point_xy[:, 0, None] - site_xy[None, block, 0]
        dy = point_xy[:, 1, None] - site_xy[None, block, 1]
        yield block, np.hypot(dx, dy)


def _normalise_rows(raw: np.ndarray) -> np.ndarray:
    """Divide each row by its maximum; a row whose maximum is 0 (no points) stays 0."""
    peak = raw.max(axis=1, keepdims=True)
    return np.divide(raw, peak, out=np.zeros_like(raw), where=peak > 0)


def _indicator(code_lists: list[list[str]], sector_index: dict[str, int]) -> np.ndarray:
    """Return the 0/1 row×sector matrix of ``code_lists`` (repeated codes count once)."""
    rows = np.repeat(np.arange(len(code_lists)), [len(codes) for codes in code_lists])
    cols = np.fromiter(
        (sector_index[c] for codes in code_lists for c in codes), dtype=np.intp, count=len(rows)
    )
    matrix = np.zeros((len(code_lists), len(sector_index)))
    matrix[rows, cols] = 1.0
    return matrix


def _sector_lists(
    frame: pd.DataFrame, column: str, layer: str, labels: list[str]
) -> list[list[str]]:
    """Parse and check a sector column: ``;``-strings or sequences of codes."""
    _require(frame, (column,), layer)
    lists = [_codes(value) for value in frame[column]]
    _check_codes(lists, layer, labels)
    return lists


def _codes(value: Any) -> list[str]:
    """Return the codes of one cell: a ``;``-separated string or a list/tuple/array."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    return split_codes(value)


def _check_codes(lists: list[list[str]], layer: str, labels: list[str]) -> None:
    """Raise if any code is not a known sector, naming the rows."""
    bad = [
        f"{label} {code!r}"
        for label, codes in zip(labels, lists, strict=True)
        for code in codes
        if code not in SECTORS
    ]
    if bad:
        raise SitingError(
            f"{layer}: unknown sector code(s): {_listing(bad)}; "
            f"known sectors are: {', '.join(SECTORS)}"
        )


def _ids(frame: pd.DataFrame, column: str, layer: str) -> list[str]:
    """Return a layer's ids as str, checking that they are present and unique."""
    _require(frame, (column,), layer)
    series = frame[column]
    if series.isna().any():
        raise SitingError(f"{layer}: {int(series.isna().sum())} row(s) have no {column}")
    ids = [str(v) for v in series]
    counts = pd.Series(ids).value_counts()
    repeated = counts[counts > 1].index.tolist()
    if repeated:
        raise SitingError(f"{layer}: repeated {column}: {_listing(repeated)}")
    return ids


def _metric_xy(frame: gpd.GeoDataFrame, layer: str, labels: list[str]) -> np.ndarray:
    """Return the features' coordinates in METRIC_CRS as an ``(n, 2)`` float64 array."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SitingError(f"{layer} must be a GeoDataFrame with point geometries")
    geoms = np.asarray(frame.geometry.array)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise SitingError(
            f"{layer}: missing or empty geometry for "
            + _listing([labels[i] for i in np.flatnonzero(missing)])
        )
    # Like parkplan.crs.from_wgs84: a frame recording no CRS is taken to be WGS-84.
    projected = gpd.GeoSeries(geoms, crs=frame.crs or STORAGE_CRS).to_crs(METRIC_CRS)
    points = shapely.centroid(np.asarray(projected.array))
    xy = np.column_stack([shapely.get_x(points), shapely.get_y(points)]).astype(np.float64)
    if not np.isfinite(xy).all():
        raise SitingError(f"{layer}: some coordinates cannot be projected; is the CRS right?")
    return xy


def _require(frame: pd.DataFrame, columns: Iterable[str], layer: str) -> None:
    """Raise if ``frame`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SitingError(f"{layer}: missing column(s) {', '.join(missing)}")


def _has_rows(frame: pd.DataFrame | None) -> bool:
    """Tell whether an optional layer is given and not empty."""
    return frame is not None and len(frame) > 0


def _listing(items: list[str]) -> str:
    """Return ``items`` joined, cut after a few with a count of the rest."""
    shown = ", ".join(str(i) for i in items[:_SHOW])
    more = len(items) - _SHOW
    return shown + (f" and {more} more" if more > 0 else "")
