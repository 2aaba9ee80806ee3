"""A stored siting run as tables and files: the studio's results and downloads.

Pure functions of a :class:`parkplan.store.ledger.RunRecord` and the workspace's layers.
What a person reads (errors, sheet names, column headers, statuses) comes from the
catalogue in the language asked for.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from parkplan.i18n import t
from parkplan.siting.scenario import Scenario, load_scenario
from parkplan.store.ledger import RunRecord
from parkplan.ui.render import solver_status, yes_no


def scenario_files(folder: Path) -> dict[str, Path]:
    """Return the scenario YAML files of ``folder``, by file stem, sorted."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load(folder: Path, name: str) -> Scenario:
    """Load scenario ``name`` from ``folder`` (raises SitingError if invalid)."""
    return load_scenario(folder / f"{name}.yaml")


def parse_pairs(text: str, lang: str = "zh") -> list[tuple[str, str]]:
    """Read ``cand_id site_id`` pairs, one per line (comma, space or tab between).

    Raises
    ------
    ValueError
        Naming the line that is not a pair (in ``lang``).
    """
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").replace("\t", " ").split()
        if len(parts) != 2:
            raise ValueError(t("ui.studio.bad_pair", lang, n=n, line=line))
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


def summary_rows(run: RunRecord, lang: str = "zh") -> list[dict[str, Any]]:
    """Return the run's ledger summary as label/value rows in ``lang``.

    Labels from the catalogue (``ui.run.*``); the status and yes/no values translated.
    """
    rows = []
    for k, v in run.summary().items():
        value = solver_status(v, lang) if k == "status" else yes_no(v, lang)
        rows.append({"key": t(f"ui.run.{k}", lang), "value": value})
    return rows


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


#: Catalogue keys of the workbook's column headers, by column.
XLSX_COLUMNS = {
    "cand_id": "ui.alloc.cand_id", "name_zh": "ui.alloc.name_zh",
    "name_en": "ui.alloc.name_en", "tier": "ui.alloc.tier", "sectors": "ui.alloc.sectors",
    "site_id": "ui.alloc.site_id", "park_id": "ui.alloc.park_id", "year": "ui.alloc.year",
    "lon": "ui.alloc.lon", "lat": "ui.alloc.lat", "value": "ui.explain.value",
    "penalty": "ui.explain.penalty", "net": "ui.explain.net",
}


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(columns={c: t(XLSX_COLUMNS[c], lang) for c in frame.columns
                                 if c in XLSX_COLUMNS})


def to_xlsx(run: RunRecord, frame: gpd.GeoDataFrame, lang: str = "zh") -> bytes:
    """Return the run as a workbook: summary, placements (with lon/lat), objective by park.

    Sheet names and column headers are in ``lang`` (ids and codes stay as stored).
    """
    buf = io.BytesIO()
    table = _no_formulas(pd.DataFrame(frame.drop(columns="geometry")))
    table["lon"] = frame.geometry.x.round(6)
    table["lat"] = frame.geometry.y.round(6)
    by_park = ((run.explanation or {}).get("breakdown") or {}).get("by_park", {})
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        summary = _no_formulas(pd.DataFrame(summary_rows(run, lang))).rename(
            columns={"key": t("ui.xlsx.field", lang), "value": t("ui.xlsx.value", lang)})
        summary.to_excel(xl, sheet_name=t("ui.xlsx.summary", lang), index=False)
        _headers(table, lang).to_excel(xl, sheet_name=t("ui.xlsx.allocations", lang),
                                       index=False)
        _headers(pd.DataFrame([{"park_id": p, **v} for p, v in by_park.items()]),
                 lang).to_excel(xl, sheet_name=t("ui.xlsx.by_park", lang), index=False)
    return buf.getvalue()


__all__ = ["XLSX_COLUMNS", "allocation_frame", "load", "pairs_text", "parse_pairs",
           "scenario_files", "summary_rows", "to_gpkg", "to_xlsx"]
