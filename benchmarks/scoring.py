"""Benchmark :func:`parkplan.siting.scoring.suitability` against naive Python loops.

A random Shanghai is generated: 1,000 candidates, 5,000 sites in 100 parks, 200 industry
clusters, 500 institutions and 300 transport stops. ``suitability`` is timed on all of it.

Two loop baselines compute the same scores with shapely distances, one point pair at a time:

* ``naive``: a loop over candidate×site pairs; for each pair, each of the candidate's
  sectors, each cluster and institution of that sector and each stop, a shapely distance.
  This is the formula transcribed literally, recomputing per pair what depends only on the
  site. It is run on 50 candidates × 100 sites and extrapolated **per pair** to the full
  size (its cost is proportional to the number of pairs).
* ``loop_shared``: loops too, but computing each sector×site sum and each site's access
  once, then combining per pair; it shows how much of the speed-up is vectorisation rather
  than not repeating work. Its two phases are timed apart on the same subset and
  extrapolated per site and per pair respectively.

Both baselines are checked to agree with ``suitability`` on the subset (per-sector
normalisation is by the best site *of the subset* in both, so the comparison is exact).

Run ``python -m benchmarks.scoring [--seed N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import math
import platform
import resource
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from parkplan.crs import METRIC_CRS
from parkplan.layers import SECTORS, TRANSPORT_MODES
from parkplan.siting.scoring import ScoringWeights, suitability

N_CANDIDATES, N_SITES, N_PARKS = 1000, 5000, 100
N_CLUSTERS, N_INSTITUTIONS, N_STOPS = 200, 500, 300
SUB_CANDIDATES, SUB_SITES = 50, 100

# Mainland Shanghai, roughly (the sea and Chongming excluded): lon, lat.
LON, LAT = (121.10, 121.90), (30.80, 31.45)


def generate(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Return random candidates, sites, clusters, institutions and transport layers."""
    rng = np.random.default_rng(seed)
    sectors = np.array(list(SECTORS))

    def pts(lon, lat):
        return gpd.GeoSeries(shapely.points(lon, lat), crs=4326)

    def uniform(n):
        return rng.uniform(*LON, n), rng.uniform(*LAT, n)

    # Sites sit in parks: a park centre and buildings within ~1 km of it.
    park_lon, park_lat = uniform(N_PARKS)
    park = rng.integers(0, N_PARKS, N_SITES)
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i:05d}" for i in range(N_SITES)], "park_id": [f"P{p:03d}" for p in park]},
        geometry=pts(
            park_lon[park] + rng.normal(0, 0.01, N_SITES),
            park_lat[park] + rng.normal(0, 0.008, N_SITES),
        ),
    )
    clusters = gpd.GeoDataFrame(
        {
            "cluster_id": [f"K{i:03d}" for i in range(N_CLUSTERS)],
            "sector": rng.choice(sectors, N_CLUSTERS),
            "weight": rng.uniform(1, 10, N_CLUSTERS).round(1),
        },
        geometry=pts(*uniform(N_CLUSTERS)),
    )
    institutions = gpd.GeoDataFrame(
        {
            "inst_id": [f"I{i:03d}" for i in range(N_INSTITUTIONS)],
            "sectors": [
                ";".join(rng.choice(sectors, rng.integers(1, 4), replace=False))
                for _ in range(N_INSTITUTIONS)
            ],
            "headcount": rng.integers(5, 1500, N_INSTITUTIONS),
        },
        geometry=pts(*uniform(N_INSTITUTIONS)),
    )
    transport = gpd.GeoDataFrame(
        {
            "stop_id": [f"T{i:03d}" for i in range(N_STOPS)],
            "mode": rng.choice(list(TRANSPORT_MODES), N_STOPS, p=[0.85, 0.08, 0.02, 0.05]),
        },
        geometry=pts(*uniform(N_STOPS)),
    )
    candidates = pd.DataFrame(
        {
            "cand_id": [f"C{i:04d}" for i in range(N_CANDIDATES)],
            "sectors": [
                ";".join(rng.choice(sectors, rng.integers(1, 3), replace=False))
                for _ in range(N_CANDIDATES)
            ],
        }
    )
    return {
        "candidates": candidates,
        "sites": sites,
        "clusters": clusters,
        "institutions": institutions,
        "transport": transport,
    }


def _metric(layers):
    """Shapely points in the metric CRS, km per metre factor applied by the callers."""
    return {
        name: list(frame.to_crs(METRIC_CRS).geometry)
        for name, frame in layers.items()
        if name != "candidates"
    }


def naive(layers, w: ScoringWeights) -> np.ndarray:
    """The scores by the formula, literally: Python loops over pairs, shapely distances."""
    geo = _metric(layers)
    cl, inst, stops = layers["clusters"], layers["institutions"], layers["transport"]
    cl_rows = list(zip(geo["clusters"], cl["sector"], cl["weight"], strict=True))
    inst_rows = list(
        zip(
            geo["institutions"],
            [s.split(";") for s in inst["sectors"]],
            inst["headcount"],
            strict=True,
        )
    )
    stop_rows = list(zip(geo["transport"], stops["mode"], strict=True))
    cands = [s.split(";") for s in layers["candidates"]["sectors"]]

    # Pass 1, per pair: raw sector sums and access.
    raw = {}
    for c, codes in enumerate(cands):
        for s, site in enumerate(geo["sites"]):
            prox, aggl = {}, {}
            for g in codes:
                prox[g] = sum(
                    weight * math.exp(-site.distance(p) / 1000 / w.cluster_decay_km)
                    for p, sector, weight in cl_rows
                    if sector == g
                )
                aggl[g] = sum(
                    math.log1p(h) * math.exp(-site.distance(p) / 1000 / w.agglomeration_decay_km)
                    for p, inst_codes, h in inst_rows
                    if g in inst_codes
                )
            access = max(
                w.mode_weights[m] * math.exp(-site.distance(p) / 1000 / w.access_decay_km)
                for p, m in stop_rows
            )
            raw[c, s] = prox, aggl, access
    # Pass 2: the best site per sector, for the normalisation.
    peak_p, peak_a = {}, {}
    for prox, aggl, _ in raw.values():
        for g in prox:
            peak_p[g] = max(peak_p.get(g, 0.0), prox[g])
            peak_a[g] = max(peak_a.get(g, 0.0), aggl[g])
    # Pass 3: combine.
    total = w.proximity + w.agglomeration + w.access
    out = np.empty((len(cands), len(geo["sites"])))
    for (c, s), (prox, aggl, access) in raw.items():
        p = np.mean([prox[g] / peak_p[g] if peak_p[g] > 0 else 0.0 for g in prox])
        a = np.mean([aggl[g] / peak_a[g] if peak_a[g] > 0 else 0.0 for g in aggl])
        out[c, s] = (w.proximity * p + w.agglomeration * a + w.access * access) / total
    return out


def loop_shared(layers, w: ScoringWeights) -> tuple[np.ndarray, float, float]:
    """Loops and shapely too, but per-site work done once; return scores and phase times."""
    t0 = time.perf_counter()
    geo = _metric(layers)
    cl, inst, stops = layers["clusters"], layers["institutions"], layers["transport"]
    prox = {g: [] for g in SECTORS}
    aggl = {g: [] for g in SECTORS}
    access = []
    inst_codes = [s.split(";") for s in inst["sectors"]]
    for site in geo["sites"]:
        for g in SECTORS:
            prox[g].append(
                sum(
                    weight * math.exp(-site.distance(p) / 1000 / w.cluster_decay_km)
                    for p, sector, weight in zip(
                        geo["clusters"], cl["sector"], cl["weight"], strict=True
                    )
                    if sector == g
                )
            )
            aggl[g].append(
                sum(
                    math.log1p(h) * math.exp(-site.distance(p) / 1000 / w.agglomeration_decay_km)
                    for p, codes, h in zip(
                        geo["institutions"], inst_codes, inst["headcount"], strict=True
                    )
                    if g in codes
                )
            )
        access.append(
            max(
                w.mode_weights[m] * math.exp(-site.distance(p) / 1000 / w.access_decay_km)
                for p, m in zip(geo["transport"], stops["mode"], strict=True)
            )
        )
    for table in (prox, aggl):
        for g, row in table.items():
            peak = max(row)
            table[g] = [v / peak if peak > 0 else 0.0 for v in row]
    t1 = time.perf_counter()
    total = w.proximity + w.agglomeration + w.access
    cands = [s.split(";") for s in layers["candidates"]["sectors"]]
    out = np.empty((len(cands), len(geo["sites"])))
    for c, codes in enumerate(cands):
        for s in range(len(geo["sites"])):
            p = sum(prox[g][s] for g in codes) / len(codes)
            a = sum(aggl[g][s] for g in codes) / len(codes)
            out[c, s] = (w.proximity * p + w.agglomeration * a + w.access * access[s]) / total
    t2 = time.perf_counter()
    return out, t1 - t0, t2 - t1


def _call(layers, w):
    return suitability(
        layers["candidates"],
        layers["sites"],
        layers["clusters"],
        layers["institutions"],
        layers["transport"],
        weights=w,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    w = ScoringWeights()

    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    layers = generate(args.seed)
    print(
        f"{N_CANDIDATES} candidates × {N_SITES} sites, {N_CLUSTERS} clusters, "
        f"{N_INSTITUTIONS} institutions, {N_STOPS} transport stops"
    )

    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = _call(layers, w)
        times.append(time.perf_counter() - t)
    fast = min(times)
    print(
        f"suitability: {fast:.3f} s (best of {args.repeat}; all: "
        + ", ".join(f"{t:.3f}" for t in times)
        + ")"
    )
    t = time.perf_counter()
    result.to_dict()
    print(
        f"  to_dict (contract's score table, {result.values.size:,} entries): "
        f"{time.perf_counter() - t:.2f} s"
    )
    print(
        f"  peak RSS of the process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )

    subset = dict(layers)
    subset["candidates"] = layers["candidates"].iloc[:SUB_CANDIDATES].reset_index(drop=True)
    subset["sites"] = layers["sites"].iloc[:SUB_SITES].reset_index(drop=True)
    sub_pairs, pairs = SUB_CANDIDATES * SUB_SITES, N_CANDIDATES * N_SITES
    expected = _call(subset, w).values

    t = time.perf_counter()
    slow = naive(subset, w)
    naive_s = time.perf_counter() - t
    assert np.allclose(slow, expected, rtol=0, atol=1e-9), "naive disagrees"
    naive_full = naive_s / sub_pairs * pairs
    print(
        f"naive (loops over pairs, shapely): {naive_s:.2f} s on "
        f"{SUB_CANDIDATES}×{SUB_SITES}; extrapolated per pair to "
        f"{N_CANDIDATES}×{N_SITES}: {naive_full:,.0f} s "
        f"({naive_full / 3600:.1f} h); ratio {naive_full / fast:,.0f}×"
    )

    shared, per_site_s, per_pair_s = loop_shared(subset, w)
    assert np.allclose(shared, expected, rtol=0, atol=1e-9), "loop_shared disagrees"
    shared_full = per_site_s / SUB_SITES * N_SITES + per_pair_s / sub_pairs * pairs
    print(
        f"loop_shared (per-site work once, loops, shapely): {per_site_s + per_pair_s:.2f} s "
        f"on {SUB_CANDIDATES}×{SUB_SITES}; extrapolated (site phase per site, "
        f"pair phase per pair): {shared_full:,.0f} s; ratio {shared_full / fast:,.0f}×"
    )
    print("baselines agree with suitability on the subset to 1e-9")


if __name__ == "__main__":
    main()
