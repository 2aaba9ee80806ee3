"""Tests of parkplan.siting.scoring on small hand-built frames and on the demo workspace.

Positions are laid out in kilometres east/north of a point in Pudong, in the metric CRS,
and converted to WGS-84 as the workspace stores them, so that every expected value below
is a hand computation on round distances.
"""

from __future__ import annotations

import math
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from parkplan.crs import METRIC_CRS
from parkplan.errors import SitingError
from parkplan.siting.scoring import (
    DEFAULT_MODE_WEIGHTS,
    ScoreMatrix,
    ScoringWeights,
    suitability,
)
from parkplan.store import Workspace

# Near Zhangjiang: 121.6 E, 31.2 N, expressed in the metric CRS (metres).
_ORIGIN = gpd.GeoSeries([shapely.Point(121.6, 31.2)], crs=4326).to_crs(METRIC_CRS).iloc[0]


def points(km: list[tuple[float, float]]) -> gpd.GeoSeries:
    """WGS-84 points at (east, north) km offsets from the origin."""
    geoms = [shapely.Point(_ORIGIN.x + 1000 * e, _ORIGIN.y + 1000 * n) for e, n in km]
    return gpd.GeoSeries(geoms, crs=METRIC_CRS).to_crs(4326)


def sites(km):
    ids = [f"S{i + 1:04d}" for i in range(len(km))]
    return gpd.GeoDataFrame({"site_id": ids, "park_id": "P01"}, geometry=points(km))


def candidates(sectors):
    ids = [f"C{i + 1:04d}" for i in range(len(sectors))]
    return pd.DataFrame({"cand_id": ids, "tier": "specialist", "sectors": sectors})


def clusters(rows):
    """rows: (sector, weight, (east_km, north_km))."""
    return gpd.GeoDataFrame(
        {
            "cluster_id": [f"K{i + 1:02d}" for i in range(len(rows))],
            "sector": [r[0] for r in rows],
            "weight": [float(r[1]) for r in rows],
        },
        geometry=points([r[2] for r in rows]),
    )


def institutions(rows):
    """rows: (sectors, headcount, (east_km, north_km))."""
    return gpd.GeoDataFrame(
        {
            "inst_id": [f"I{i + 1:03d}" for i in range(len(rows))],
            "sectors": [r[0] for r in rows],
            "headcount": [int(r[1]) for r in rows],
        },
        geometry=points([r[2] for r in rows]),
    )


def transport(rows):
    """rows: (mode, (east_km, north_km))."""
    return gpd.GeoDataFrame(
        {"stop_id": [f"T{i + 1:02d}" for i in range(len(rows))], "mode": [r[0] for r in rows]},
        geometry=points([r[1] for r in rows]),
    )


NO_INSTITUTIONS = institutions([])


def test_site_next_to_cluster_beats_one_20_km_away():
    result = suitability(
        candidates(["ic"]),
        sites([(0, 0), (20, 0)]),
        clusters([("ic", 5, (0.1, 0))]),
        NO_INSTITUTIONS,
    )
    near, far = result.values[0]
    assert near > far
    # Only proximity is computed: the near site is the best and scores 1, the far one
    # e^(-19.9/10) / e^(-0.1/10) after normalisation by the best site.
    assert near == pytest.approx(1.0)
    assert far == pytest.approx(math.exp(-1.98), rel=1e-6)


def test_exponential_decay_by_hand():
    # One cluster; sites at 0, 5 and 10 km with D = 10 km: raw e^0, e^-0.5, e^-1, and the
    # best site (on the cluster, raw 1) leaves them unchanged by the normalisation.
    weights = ScoringWeights(cluster_decay_km=10.0)
    result = suitability(
        candidates(["biomed"]),
        sites([(0, 0), (3, 4), (0, -10)]),
        clusters([("biomed", 4, (0, 0))]),
        None,
        weights=weights,
    )
    expected = [1.0, math.exp(-0.5), math.exp(-1.0)]
    assert result.components["proximity"][0] == pytest.approx(expected, rel=1e-6)


def test_cluster_weights_sum_then_normalise_by_best_site():
    # Clusters of weight 3 at 0 km and 1 at 10 km east; D = 5 km.
    # Site A (0 km): 3 + e^-2; site B (10 km): 3 e^-2 + 1; A is the best site.
    weights = ScoringWeights(cluster_decay_km=5.0)
    result = suitability(
        candidates(["ai"]),
        sites([(0, 0), (10, 0)]),
        clusters([("ai", 3, (0, 0)), ("ai", 1, (10, 0))]),
        None,
        weights=weights,
    )
    a, b = 3 + math.exp(-2), 3 * math.exp(-2) + 1
    assert result.components["proximity"][0] == pytest.approx([1.0, b / a], rel=1e-6)


def test_other_sectors_clusters_do_not_count():
    result = suitability(
        candidates(["ic", "biomed"]),
        sites([(0, 0), (20, 0)]),
        clusters([("ic", 5, (0, 0)), ("biomed", 1, (20, 0))]),
        None,
    )
    ic, bio = result.components["proximity"]
    assert ic[0] > ic[1] and bio[1] > bio[0]
    assert ic[0] == pytest.approx(1.0) and bio[1] == pytest.approx(1.0)


def test_candidate_without_matching_clusters_or_institutions_gets_zero_from_them():
    stops = transport([("metro", (0, 0))])
    result = suitability(
        candidates(["ic", "aerospace"]),
        sites([(0, 0), (5, 5)]),
        clusters([("ic", 5, (0, 0))]),
        institutions([("ic", 100, (1, 0))]),
        stops,
    )
    assert result.components["proximity"][1] == pytest.approx([0.0, 0.0], abs=0)
    assert result.components["agglomeration"][1] == pytest.approx([0.0, 0.0], abs=0)
    # What it has left is access, weighted as the defaults say.
    access = result.components["access"][1]
    assert access[0] == pytest.approx(DEFAULT_MODE_WEIGHTS["metro"])
    assert result.values[1] == pytest.approx(0.2 * access)


def test_agglomeration_weights_headcount_by_log1p():
    # Institutions: 99 staff on site A, 9 staff on site B, 20 km apart, D = 5 km.
    # Loads ln(100) and ln(10); site A: ln100 + ln10 e^-4, site B: ln100 e^-4 + ln10.
    weights = ScoringWeights(agglomeration_decay_km=5.0)
    insts = institutions([("biomed;ic", 99, (0, 0)), ("biomed", 9, (20, 0))])
    result = suitability(
        candidates(["biomed", "ic"]), sites([(0, 0), (20, 0)]), None, insts, weights=weights
    )
    l100, l10, e = math.log(100), math.log(10), math.exp(-4)
    biomed = np.array([l100 + l10 * e, l100 * e + l10])
    assert result.components["agglomeration"][0] == pytest.approx(biomed / biomed.max())
    # The 99-staff institution serves ic too, counting fully there.
    assert result.components["agglomeration"][1] == pytest.approx([1.0, e], rel=1e-6)
    assert result.weights == {"agglomeration": 1.0}


def test_access_is_best_mode_weighted_decay():
    weights = ScoringWeights(access_decay_km=3.0)
    stops = transport([("metro", (0, 0)), ("airport", (10, 0))])
    result = suitability(
        candidates(["ic"]),
        sites([(0, 0), (7, 0), (40, 0)]),
        clusters([("ic", 1, (0, 0))]),
        None,
        stops,
        weights=weights,
    )
    access = result.components["access"][0]
    metro, airport = DEFAULT_MODE_WEIGHTS["metro"], DEFAULT_MODE_WEIGHTS["airport"]
    expected = [
        max(metro, airport * math.exp(-10 / 3)),
        max(metro * math.exp(-7 / 3), airport * math.exp(-1)),
        max(metro * math.exp(-40 / 3), airport * math.exp(-10)),
    ]
    assert access == pytest.approx(expected, rel=1e-6)
    # Access is the same for every candidate and is not rescaled to the best site.
    assert access.max() < 1.0


def test_weights_renormalise_without_transport():
    cands = candidates(["ic"])
    site_frame = sites([(0, 0), (8, 3)])
    cl = clusters([("ic", 2, (1, 0))])
    insts = institutions([("ic", 50, (6, 2))])
    for missing in (None, transport([])):
        result = suitability(cands, site_frame, cl, insts, missing)
        assert set(result.components) == {"proximity", "agglomeration"}
        assert result.weights == pytest.approx({"proximity": 0.5 / 0.8, "agglomeration": 0.3 / 0.8})
        combined = (
            0.5 * result.components["proximity"] + 0.3 * result.components["agglomeration"]
        ) / 0.8
        assert result.values == pytest.approx(combined)
    with_transport = suitability(cands, site_frame, cl, insts, transport([("rail", (0, 0))]))
    assert sum(with_transport.weights.values()) == pytest.approx(1.0)
    assert with_transport.weights["access"] == pytest.approx(0.2)


def test_multi_sector_candidate_takes_the_mean_over_its_sectors():
    cl = clusters([("ic", 5, (0, 0)), ("biomed", 2, (12, 0)), ("ai", 1, (30, 30))])
    insts = institutions([("ic", 30, (1, 1)), ("biomed;ai", 300, (10, 0))])
    cands = candidates(["ic", "biomed", "ic;biomed", ["biomed", "ic"], "ic; biomed; ic"])
    result = suitability(cands, sites([(0, 0), (6, 0), (12, 0), (25, 5)]), cl, insts)
    for name in ("proximity", "agglomeration"):
        matrix = result.components[name]
        mean = (matrix[0] + matrix[1]) / 2
        # A ";"-string, a list and a string repeating a code all mean the same two sectors.
        for row in (2, 3, 4):
            assert matrix[row] == pytest.approx(mean)
    # By hand (D = 10 km): on the ic cluster, ic 1 and biomed 2 e^-1.2 / 2; 6 km from
    # both, e^-0.6 for each. The max rule would give 1 and e^-0.6 instead.
    assert result.components["proximity"][2, :2] == pytest.approx(
        [(1 + math.exp(-1.2)) / 2, math.exp(-0.6)], rel=1e-6
    )


def test_values_in_unit_interval_and_match_weighted_components():
    rng = np.random.default_rng(7)
    sectors = ["ic", "biomed", "ai", "auto_nev"]
    cl = clusters(
        [
            (rng.choice(sectors), rng.uniform(0.5, 10), tuple(rng.uniform(-30, 30, 2)))
            for _ in range(15)
        ]
    )
    insts = institutions(
        [
            (
                ";".join(rng.choice(sectors, 2, replace=False)),
                rng.integers(0, 800),
                tuple(rng.uniform(-30, 30, 2)),
            )
            for _ in range(25)
        ]
    )
    stops = transport(
        [
            (rng.choice(list(DEFAULT_MODE_WEIGHTS)), tuple(rng.uniform(-30, 30, 2)))
            for _ in range(10)
        ]
    )
    cands = candidates(
        [
            ";".join(rng.choice(sectors + ["equipment"], rng.integers(1, 3), replace=False))
            for _ in range(30)
        ]
    )
    site_frame = sites([tuple(rng.uniform(-30, 30, 2)) for _ in range(40)])
    weights = ScoringWeights(proximity=2, agglomeration=1, access=1)
    result = suitability(cands, site_frame, cl, insts, stops, weights=weights)
    assert result.shape == (30, 40)
    assert result.values.dtype == np.float64
    assert (result.values >= 0).all() and (result.values <= 1).all()
    for matrix in result.components.values():
        assert matrix.shape == (30, 40)
        assert (matrix >= 0).all() and (matrix <= 1).all()
    combined = sum(result.weights[k] * result.components[k] for k in result.components)
    assert result.values == pytest.approx(combined)
    assert result.weights == pytest.approx(
        {"proximity": 0.5, "agglomeration": 0.25, "access": 0.25}
    )
    assert result.values == pytest.approx(_naive(cands, site_frame, cl, insts, stops, weights))


def _naive(cands, site_frame, cl, insts, stops, w):
    """The module docstring's formulas, literally, with loops and shapely distances."""
    to_m = {
        name: list(frame.to_crs(METRIC_CRS).geometry)
        for name, frame in [("s", site_frame), ("k", cl), ("i", insts), ("t", stops)]
    }

    def raw(sector, kind):
        out = []
        for s in to_m["s"]:
            total = 0.0
            if kind == "k":
                for k, row in zip(to_m["k"], cl.itertuples(), strict=True):
                    if row.sector == sector:
                        total += row.weight * math.exp(-s.distance(k) / 1000 / w.cluster_decay_km)
            else:
                for i, row in zip(to_m["i"], insts.itertuples(), strict=True):
                    if sector in row.sectors.split(";"):
                        total += math.log1p(row.headcount) * math.exp(
                            -s.distance(i) / 1000 / w.agglomeration_decay_km
                        )
            out.append(total)
        peak = max(out)
        return [v / peak if peak > 0 else 0.0 for v in out]

    values = []
    for c in cands.itertuples():
        codes = c.sectors.split(";")
        prox = np.mean([raw(g, "k") for g in codes], axis=0)
        aggl = np.mean([raw(g, "i") for g in codes], axis=0)
        acc = [
            max(
                w.mode_weights[row.mode] * math.exp(-s.distance(t) / 1000 / w.access_decay_km)
                for t, row in zip(to_m["t"], stops.itertuples(), strict=True)
            )
            for s in to_m["s"]
        ]
        total = w.proximity + w.agglomeration + w.access
        values.append(
            (w.proximity * prox + w.agglomeration * aggl + w.access * np.array(acc)) / total
        )
    return np.array(values)


def test_order_ids_and_exports():
    cands = candidates(["ic", "biomed"])
    site_frame = sites([(0, 0), (3, 0), (9, 9)])
    result = suitability(
        cands,
        site_frame,
        clusters([("ic", 1, (0, 0)), ("biomed", 1, (9, 9))]),
        None,
        transport([("port", (3, 0))]),
    )
    assert isinstance(result, ScoreMatrix)
    assert result.cand_ids == ["C0001", "C0002"]
    assert result.site_ids == ["S0001", "S0002", "S0003"]

    as_dict = result.to_dict()
    assert list(as_dict) == ["C0001", "C0002"]
    assert list(as_dict["C0001"]) == ["S0001", "S0002", "S0003"]
    for c, cand in enumerate(result.cand_ids):
        for s, site in enumerate(result.site_ids):
            value = as_dict[cand][site]
            assert type(value) is float
            assert value == round(float(result.values[c, s]), 4)
            assert len(repr(value)) <= 6  # "0.8123": no binary noise in the JSON file

    frame = result.to_frame()
    assert list(frame.columns) == ["cand_id", "site_id", "score", "proximity", "access"]
    assert len(frame) == 6
    row = frame[(frame.cand_id == "C0002") & (frame.site_id == "S0003")].iloc[0]
    assert row.score == result.values[1, 2]
    assert row.proximity == result.components["proximity"][1, 2]


def test_metric_input_crs_gives_the_same_scores():
    cands = candidates(["ic"])
    site_frame = sites([(0, 0), (4, 4), (-7, 2)])
    cl = clusters([("ic", 3, (1, 1)), ("ic", 1, (-5, 0))])
    wgs = suitability(cands, site_frame, cl, None)
    metric = suitability(cands, site_frame.to_crs(METRIC_CRS), cl.to_crs(METRIC_CRS), None)
    assert metric.values == pytest.approx(wgs.values, abs=1e-9)


@pytest.fixture(scope="module")
def demo_layers(demo_gpkg, tmp_path_factory):
    path = tmp_path_factory.mktemp("scoring") / "demo.gpkg"
    shutil.copy(demo_gpkg, path)
    with Workspace.open(path) as ws:
        return {
            name: ws.read_layer(name)
            for name in ("sites", "institutions", "clusters", "transport", "candidates")
        }


def test_demo_workspace_scores(demo_layers):
    d = demo_layers
    result = suitability(
        d["candidates"], d["sites"], d["clusters"], d["institutions"], d["transport"]
    )
    assert result.shape == (120, 72)
    assert set(result.components) == {"proximity", "agglomeration", "access"}
    assert (result.values >= 0).all() and (result.values <= 1).all()
    assert result.cand_ids == list(d["candidates"]["cand_id"])
    assert result.site_ids == list(d["sites"]["site_id"])
    # Candidates serving integrated circuits only are best placed in Zhangjiang (P01),
    # next to the demo's largest IC cluster.
    park_of = d["sites"]["park_id"].to_numpy()
    ic_only = np.flatnonzero(d["candidates"]["sectors"].str.strip() == "ic")
    assert len(ic_only) >= 3
    assert set(park_of[result.values[ic_only].argmax(axis=1)]) == {"P01"}
    # Every candidate has a positive score somewhere, and some sites beat others.
    assert (result.values.max(axis=1) > 0).all()
    assert (result.values.max(axis=1) > result.values.min(axis=1)).all()


def _base():
    return dict(
        candidates=candidates(["ic"]),
        sites=sites([(0, 0)]),
        clusters=clusters([("ic", 1, (0, 0))]),
        institutions=None,
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"candidates": candidates(["ic", "quantum"])}, "unknown sector code.*C0002 'quantum'"),
        ({"candidates": candidates(["ic;semis"])}, "unknown sector code.*'semis'"),
        ({"candidates": candidates([""])}, "candidates without any sector: C0001"),
        ({"candidates": candidates([])}, "no candidates"),
        ({"sites": sites([])}, "no sites"),
        ({"clusters": clusters([("chips", 1, (0, 0))])}, "clusters: unknown sector"),
        ({"clusters": clusters([("ic", 0, (0, 0))])}, "clusters: weight must be a number > 0"),
        ({"institutions": institutions([("ic", -1, (0, 0))])}, "headcount must be"),
        ({"transport": transport([("ferry", (0, 0))])}, "no weight for mode.*'ferry'"),
        ({"candidates": pd.DataFrame({"cand_id": ["C1"]})}, "candidates: missing column.*sectors"),
        ({"candidates": candidates(["ic", "ai"]).assign(cand_id="C1")}, "repeated cand_id: C1"),
        ({"sites": sites([(0, 0)]).set_geometry([None], crs=4326)}, "sites: missing or empty"),
        ({"clusters": None}, "no suitability component has a positive weight"),
        ({"weights": ScoringWeights(proximity=0.0)}, "no suitability component"),
    ],
)
def test_validation_errors(change, message):
    args = _base() | change
    with pytest.raises(SitingError, match=message):
        suitability(**args)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"proximity": -0.1}, "weight proximity must be a finite number ≥ 0"),
        ({"access": float("nan")}, "weight access"),
        ({"cluster_decay_km": 0}, "cluster_decay_km must be a distance > 0"),
        ({"access_decay_km": -3}, "access_decay_km"),
        ({"mode_weights": {"metro": 1.5}}, r"mode_weights\['metro'\] must lie in \[0, 1\]"),
        ({"mode_weights": {"tram": 0.5}}, "unknown transport mode 'tram'"),
    ],
)
def test_invalid_weights(kwargs, message):
    with pytest.raises(SitingError, match=message):
        ScoringWeights(**kwargs)


def test_weights_are_immutable_and_copied():
    modes = {"metro": 0.5, "rail": 0.5, "airport": 0.5, "port": 0.5}
    weights = ScoringWeights(mode_weights=modes)
    modes["metro"] = 9.0
    assert weights.mode_weights["metro"] == 0.5
    with pytest.raises(TypeError):
        weights.mode_weights["metro"] = 9.0
    assert weights == ScoringWeights(mode_weights=dict(weights.mode_weights))
    assert weights.effective(["access"]) == {"access": 1.0}
