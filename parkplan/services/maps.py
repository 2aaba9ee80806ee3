"""What the park maps take from a workspace: its layers and a stored run's plan.

:mod:`parkplan.maps` draws data and knows no store; the CLI, the app and the brief read
the workspace through these functions and hand the frames and the :class:`~parkplan.maps.Plan`
to :func:`parkplan.maps.park_map`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parkplan.errors import ParkplanError
from parkplan.i18n import t
from parkplan.maps import LAYER_KEYS, Plan
from parkplan.store import ledger

if TYPE_CHECKING:
    import geopandas as gpd

    from parkplan.store import Workspace

__all__ = ["adopted_run", "load_plan", "workspace_layers"]

#: Statuses of a run that has a plan.
PLANNED = ("optimal", "feasible")


def load_plan(workspace: Workspace, run_id: str | None = None) -> Plan | None:
    """Return the plan of a stored run: ``run_id``, else the adopted one, else the latest.

    Parameters
    ----------
    workspace : Workspace
    run_id : str, optional
        A run id, a unique prefix of one, or a scenario name (:func:`ledger.get_run`).

    Returns
    -------
    Plan or None
        ``None`` when no ``run_id`` is given and no stored run has a plan.

    Raises
    ------
    parkplan.errors.ParkplanError
        If ``run_id`` matches no run, or the run has no plan (e.g. it was infeasible).
    """
    if run_id is not None:
        run = ledger.get_run(workspace, run_id)
        if run.status not in PLANNED:
            raise ParkplanError(t("map.error.no_plan", "en", run=run.run_id, status=run.status))
        return Plan.from_run(run)
    runs = [r for r in ledger.list_runs(workspace) if r.status in PLANNED]
    adopted = [r for r in runs if r.adopted]
    chosen = adopted[0] if adopted else runs[0] if runs else None
    return Plan.from_run(chosen) if chosen is not None else None


def workspace_layers(
    workspace: Workspace, *, candidates: bool = False
) -> dict[str, gpd.GeoDataFrame]:
    """Read the map's layers from the workspace (missing layers are left out).

    With ``candidates``, also the ``candidates`` layer a plan's badges name.
    """
    names = (*LAYER_KEYS, "candidates") if candidates else LAYER_KEYS
    return {name: workspace.read_layer(name) for name in names if workspace.has_layer(name)}


def adopted_run(workspace: Workspace) -> ledger.RunRecord | None:
    """Return the adopted siting run when it has a plan (optimal or feasible), else ``None``."""
    try:
        runs = ledger.list_runs(workspace)
    except Exception:  # noqa: BLE001 - a workspace without the ledger has no adopted plan
        return None
    return next((r for r in runs if r.adopted and r.status in PLANNED), None)
