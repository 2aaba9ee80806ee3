"""The demo workspace: real district boundaries and illustrative (示意) parks and organisations.

The demo layers live in the repository's ``data/`` folder (shipped as ``parkplan.data``)
and are loaded through the same importers a user's files go through.
"""

from __future__ import annotations

import os

from parkplan.data import data_path, districts_path
from parkplan.i18n import both
from parkplan.services.imports import LayerImport, import_layers
from parkplan.store import Workspace

DEMO_LAYERS = {
    "parks": "demo/parks.geojson",
    "sites": "demo/sites.csv",
    "institutions": "demo/institutions.csv",
    "clusters": "demo/clusters.csv",
    "transport": "demo/transport.csv",
    "candidates": "demo/candidates.csv",
}


def populate_districts(workspace: Workspace) -> None:
    """Load Shanghai's 16 districts and the nine pilot tasks into ``workspace``."""
    from parkplan.tracker.seed import seed_tasks

    import_layers(workspace, [LayerImport("districts", districts_path())])
    seed_tasks(workspace)


def populate_demo(workspace: Workspace) -> None:
    """Load the districts, the illustrative demo layers and the tracker's demo records."""
    from parkplan.tracker.seed import seed_demo

    imports = [LayerImport("districts", districts_path())]
    imports += [LayerImport(layer, data_path(rel)) for layer, rel in DEMO_LAYERS.items()]
    import_layers(workspace, imports)
    with workspace.begin() as conn:
        # stored as the workspace's flag: the app and maps render their own banner from it
        workspace.set_meta("illustrative", both("services.demo.illustrative"), conn)
    seed_demo(workspace)


def create_workspace(location: str | os.PathLike, *, demo: bool = False) -> Workspace:
    """Create a workspace holding the districts, and with ``demo`` the illustrative layers.

    Parameters
    ----------
    location : str or path
        New GeoPackage path or PostgreSQL URL.
    demo : bool
        Also load the illustrative parks, sites, institutions, clusters, transport and
        candidates.

    Returns
    -------
    Workspace
    """
    return Workspace.create(location, populate=populate_demo if demo else populate_districts)
