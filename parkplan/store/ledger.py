"""The scenario ledger: every siting run stored in the workspace (tables of revision 0002).

Plain records in, plain records out: the ledger knows nothing of PuLP or scenarios beyond
their text, hashes and results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from parkplan.errors import ParkplanError
from parkplan.store.geometry import GpkgGeometry, PostgisGeometry
from parkplan.store.workspace import Workspace

_RUN_COLUMNS = (
    "run_id",
    "scenario_name",
    "scenario_hash",
    "scenario_yaml",
    "layers_hash",
    "solver",
    "status",
    "objective",
    "bound",
    "gap",
    "seconds_build",
    "seconds_solve",
    "seconds_total",
    "created_at",
    "created_by",
    "result_json",
    "explanation_json",
    "stale_reason",
    "adopted",
)


@dataclass(frozen=True)
class RunRecord:
    """One stored siting run."""

    run_id: str
    scenario_name: str
    scenario_hash: str
    scenario_yaml: str
    layers_hash: str
    solver: str
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds_build: float
    seconds_solve: float
    seconds_total: float
    created_at: str
    created_by: str
    result_json: str
    explanation_json: str | None
    stale_reason: str | None
    adopted: bool

    @property
    def result(self) -> dict[str, Any]:
        """The contract's result document."""
        return json.loads(self.result_json)

    @property
    def explanation(self) -> dict[str, Any] | None:
        """The stored explanation, if one was computed."""
        return json.loads(self.explanation_json) if self.explanation_json else None

    def summary(self) -> dict[str, Any]:
        """Return the columns a listing shows, JSON-ready."""
        return {
            "run_id": self.run_id,
            "scenario": self.scenario_name,
            "status": self.status,
            "objective": self.objective,
            "gap": self.gap,
            "solver": self.solver,
            "seconds": self.seconds_total,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "stale": self.stale_reason,
            "adopted": self.adopted,
        }


def _tables(workspace: Workspace) -> tuple[sa.Table, sa.Table]:
    md = sa.MetaData()
    runs = sa.Table("scenario_runs", md, *(sa.Column(c) for c in _RUN_COLUMNS))
    geom = PostgisGeometry("POINT") if workspace.kind == "postgis" else GpkgGeometry("POINT")
    allocations = sa.Table(
        "scenario_allocations",
        md,
        sa.Column("fid", sa.Integer, primary_key=True),
        sa.Column("run_id"),
        sa.Column("cand_id"),
        sa.Column("site_id"),
        sa.Column("park_id"),
        sa.Column("year"),
        sa.Column("value"),
        sa.Column("geometry", geom),
    )
    return runs, allocations


def record_run(
    workspace: Workspace, conn: Connection, run: dict[str, Any], allocations: list[dict[str, Any]]
) -> None:
    """Store a run and its allocation rows inside the caller's transaction.

    Parameters
    ----------
    workspace : Workspace
    conn : sqlalchemy.Connection
    run : dict
        Values for every ledger column (see :class:`RunRecord`).
    allocations : list of dict
        ``cand_id, site_id, park_id, year, value, geometry`` (a shapely Point) per row.
    """
    runs, alloc = _tables(workspace)
    conn.execute(runs.insert(), [{c: run.get(c) for c in _RUN_COLUMNS}])
    if allocations:
        conn.execute(alloc.insert(), [{**a, "run_id": run["run_id"]} for a in allocations])
    if workspace.kind == "geopackage" and allocations:
        from parkplan.store import gpkg

        xs = [a["geometry"].x for a in allocations]
        ys = [a["geometry"].y for a in allocations]
        old = conn.execute(
            sa.text(
                "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents "
                "WHERE table_name = 'scenario_allocations'"
            )
        ).first()
        bounds = (min(xs), min(ys), max(xs), max(ys))
        if old and old[0] is not None:
            bounds = (
                min(bounds[0], old[0]),
                min(bounds[1], old[1]),
                max(bounds[2], old[2]),
                max(bounds[3], old[3]),
            )
        gpkg.register(
            conn, "scenario_allocations", "POINT", "方案分配 Scenario allocations", bounds
        )


def list_runs(workspace: Workspace) -> list[RunRecord]:
    """Return every stored run, newest first."""
    runs, _ = _tables(workspace)
    with workspace.connect() as conn:
        rows = (
            conn.execute(sa.select(runs).order_by(runs.c.created_at.desc(), runs.c.run_id.desc()))
            .mappings()
            .all()
        )
    return [_record(r) for r in rows]


def get_run(workspace: Workspace, run_id: str) -> RunRecord:
    """Return one run by id, or by a unique prefix of it, or the newest of a scenario name.

    Raises
    ------
    ParkplanError
        If no run, or more than one, matches.
    """
    runs = list_runs(workspace)
    exact = [r for r in runs if r.run_id == run_id]
    if exact:
        return exact[0]
    prefixed = [r for r in runs if r.run_id.startswith(run_id)]
    if len(prefixed) == 1:
        return prefixed[0]
    by_name = [r for r in runs if r.scenario_name == run_id]
    if by_name:
        return by_name[0]
    if len(prefixed) > 1:
        raise ParkplanError(f"{run_id!r} matches {len(prefixed)} runs; give more of the id")
    raise ParkplanError(f"no stored run {run_id!r}; 'parkplan scenarios list' shows them")


def set_adopted(workspace: Workspace, run_id: str, conn: Connection) -> None:
    """Make ``run_id`` the adopted plan (the one the tracker's task （八） reports from)."""
    runs, _ = _tables(workspace)
    conn.execute(runs.update().values(adopted=False))
    conn.execute(runs.update().where(runs.c.run_id == run_id).values(adopted=True))


def _record(row) -> RunRecord:
    data = dict(row)
    data["adopted"] = bool(data["adopted"])
    return RunRecord(**data)


@dataclass(frozen=True)
class AdoptedCandidate:
    """A candidate of the adopted plan: the first year it is allocated and its figures.

    ``tier`` and ``floor_m2`` (office, lab, heavy lab and hazard lab m²) come from the
    ``candidates`` layer; both are ``None`` for a candidate the layer no longer holds.
    """

    cand_id: str
    year: int
    tier: str | None
    floor_m2: float | None


@dataclass(frozen=True)
class AdoptedPlan:
    """The newest adopted run and its candidates (see :func:`adopted_plan`)."""

    run_id: str
    scenario_name: str
    candidates: tuple[AdoptedCandidate, ...]


def adopted_plan(workspace: Workspace, conn: Connection) -> AdoptedPlan | None:
    """Return the newest adopted run with each candidate it allocates, or ``None``.

    Parameters
    ----------
    workspace : Workspace
    conn : sqlalchemy.Connection

    Returns
    -------
    AdoptedPlan or None
        ``None`` if no run is adopted. Candidates are by ``cand_id``, each with the
        first year the run allocates it.
    """
    runs, alloc = _tables(workspace)
    run = conn.execute(
        sa.select(runs.c.run_id, runs.c.scenario_name)
        .where(runs.c.adopted == sa.bindparam("adopted", True))
        .order_by(runs.c.created_at.desc(), runs.c.run_id.desc())
    ).first()
    if run is None:
        return None
    first = conn.execute(
        sa.select(alloc.c.cand_id, sa.func.min(alloc.c.year).label("year"))
        .where(alloc.c.run_id == run.run_id)
        .group_by(alloc.c.cand_id)
        .order_by(alloc.c.cand_id)
    ).all()
    figures: dict[str, tuple[str, float]] = {}
    if workspace.has_layer("candidates", conn):
        figures = {
            c.cand_id: (c.tier, c.office_m2 + c.lab_m2 + c.heavy_lab_m2 + c.hazard_lab_m2)
            for c in conn.execute(
                sa.text(
                    "SELECT cand_id, tier, office_m2, lab_m2, heavy_lab_m2, hazard_lab_m2 "
                    "FROM candidates"
                )
            ).all()
        }
    return AdoptedPlan(
        run.run_id,
        run.scenario_name,
        tuple(
            AdoptedCandidate(a.cand_id, int(a.year), *figures.get(a.cand_id, (None, None)))
            for a in first
        ),
    )


def mark_site_runs_stale(
    workspace: Workspace, conn: Connection, site_id: str, reason: str
) -> list[tuple[str, str | None]]:
    """Mark every run that allocated ``site_id`` stale for ``reason``, in the caller's transaction.

    Returns
    -------
    list of (str, str or None)
        Each run's id and its previous stale reason, by run id.
    """
    runs, alloc = _tables(workspace)
    ids = (
        conn.execute(
            sa.select(alloc.c.run_id)
            .where(alloc.c.site_id == site_id)
            .distinct()
            .order_by(alloc.c.run_id)
        )
        .scalars()
        .all()
    )
    changed = []
    for run_id in ids:
        old = conn.execute(sa.select(runs.c.stale_reason).where(runs.c.run_id == run_id)).scalar()
        conn.execute(runs.update().where(runs.c.run_id == run_id).values(stale_reason=reason))
        changed.append((run_id, old))
    return changed
