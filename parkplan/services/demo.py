"""The demo workspace: real district boundaries and illustrative (示意) parks and organisations.

The demo layers live in the repository's ``data/`` folder (shipped as ``parkplan.data``)
and are loaded through the same importers a user's files go through.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from parkplan.data import data_path, districts_path
from parkplan.i18n import both
from parkplan.services.imports import LayerImport, import_layers
from parkplan.store import Workspace

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

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


def random_sites(n: int, districts: GeoDataFrame, seed: int = 0) -> GeoDataFrame:
    """Return ``n`` sites uniformly at random inside ``districts``, with every site field.

    Names are bilingual and unique, capacities rounded to 100 m², fit-out costs to 10 万元,
    as real data would be. For the map benchmark and the map's large-layer test.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    land = shapely.union_all(districts.geometry.to_numpy())
    shapely.prepare(land)
    minx, miny, maxx, maxy = land.bounds
    xs, ys = np.empty(0), np.empty(0)
    while len(xs) < n:
        x = rng.uniform(minx, maxx, 2 * n)
        y = rng.uniform(miny, maxy, 2 * n)
        inside = shapely.contains_xy(land, x, y)
        xs, ys = np.concatenate([xs, x[inside]]), np.concatenate([ys, y[inside]])
    xs, ys = xs[:n], ys[:n]
    ids = np.arange(1, n + 1)
    parks = rng.integers(1, 41, n)
    return gpd.GeoDataFrame(
        {
            "site_id": [f"S{i:05d}" for i in ids],
            "park_id": [f"P{p:02d}" for p in parks],
            "name_zh": [f"检测园{p}号园区{i}号楼（示意）" for p, i in zip(parks, ids, strict=True)],
            "name_en": [
                f"TIC Park {p} Building {i} (illustrative)" for p, i in zip(parks, ids, strict=True)
            ],
            "available_from": rng.integers(2026, 2031, n),
            "fitout_cost": rng.integers(20, 400, n) * 10.0,
            "office_m2": rng.integers(0, 60, n) * 100.0,
            "lab_m2": rng.integers(0, 40, n) * 100.0,
            "heavy_lab_m2": rng.integers(0, 10, n) * 100.0 * (rng.random(n) < 0.3),
            "hazard_lab_m2": rng.integers(0, 10, n) * 100.0 * (rng.random(n) < 0.2),
            "source": "示意数据 illustrative (benchmark)",
        },
        geometry=shapely.points(xs, ys),
        crs=4326,
    )
