"""A stored siting run as tables and files: the studio's results and downloads.

Pure functions of a :class:`parkplan.store.ledger.RunRecord` and the workspace's layers.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from parkplan.siting.scenario import Scenario, load_scenario
from parkplan.store.ledger import RunRecord


def scenario_files(folder: Path) -> dict[str, Path]:
    """Return the scenario YAML files of ``folder``, by file stem, sorted."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load(folder: Path, name: str) -> Scenario:
    """Load scenario ``name`` from ``folder`` (raises SitingError if invalid)."""
    return load_scenario(folder / f"{name}.yaml")


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Read ``cand_id site_id`` pairs, one per line (comma, space or tab between).

    Raises
    ------
    ValueError
        Naming the line that is not a pair.
    """
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").replace("\t", " ").split()
        if len(parts) != 2:
            raise ValueError(f"line {n}: {line!r} is not 'cand_id site_id'")
        pairs.append((parts[0], parts[1]))
    return pairs


def pairs_text(pairs: list[tuple[str, str]] | list[list[str]]) -> str:
    """Write pairs one per line, as :func:`parse_pairs` reads them."""
    return "\n".join(f"{c} {s}" for c, s in pairs)


def allocation_frame(run: RunRecord, sites: pd.DataFrame, candidates: pd.DataFrame
                     ) -> gpd.GeoDataFrame:
    """Return the run's placements: candidate, names, tier, site, park, year, point (EPSG:4326)."""
    alloc = pd.DataFrame(run.result.get("allocation", []),
                         columns=["cand_id", "site_id", "year"])
    cands = candidates.drop(columns=["geometry"], errors="ignore")
    keep = [c for c in ("cand_id", "name_zh", "name_en", "tier", "sectors") if c in cands]
    frame = alloc.merge(cands[keep], on="cand_id", how="left")
    site_cols = [c for c in ("site_id", "park_id", "geometry") if c in sites]
    frame = frame.merge(pd.DataFrame(sites[site_cols]), on="site_id", how="left")
    frame = frame.sort_values(["year", "park_id", "site_id", "cand_id"]).reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def summary_rows(run: RunRecord) -> list[dict[str, Any]]:
    """Return the run's ledger summary as label/value rows."""
    return [{"key": k, "value": v} for k, v in run.summary().items()]


def to_gpkg(frame: gpd.GeoDataFrame, layer: str = "plan_allocations") -> bytes:
    """Return the placements as a GeoPackage file's bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.gpkg"
        frame.to_file(path, layer=layer, driver="GPKG")
        return path.read_bytes()


def _no_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text cells a spreadsheet would run as a formula a leading apostrophe.

    ``=…``, ``+…``, ``-…`` and ``@…`` then stay text, so a hostile name cannot run.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = [f"'{v}" if isinstance(v, str) and v and v[0] in "=+-@"
                        else v for v in out[col]]
    return out


def to_xlsx(run: RunRecord, frame: gpd.GeoDataFrame) -> bytes:
    """Return the run as a workbook: summary, placements (with lon/lat), objective by park."""
    buf = io.BytesIO()
    table = _no_formulas(pd.DataFrame(frame.drop(columns="geometry")))
    table["lon"] = frame.geometry.x.round(6)
    table["lat"] = frame.geometry.y.round(6)
    by_park = ((run.explanation or {}).get("breakdown") or {}).get("by_park", {})
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        summary = _no_formulas(pd.DataFrame(summary_rows(run)))
        summary.to_excel(xl, sheet_name="summary", index=False)
        table.to_excel(xl, sheet_name="allocations", index=False)
        pd.DataFrame([{"park_id": p, **v} for p, v in by_park.items()]).to_excel(
            xl, sheet_name="by_park", index=False)
    return buf.getvalue()


__all__ = ["allocation_frame", "load", "pairs_text", "parse_pairs", "scenario_files",
           "summary_rows", "to_gpkg", "to_xlsx"]
