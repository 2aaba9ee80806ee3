"""Scenarios to start from, and a stored siting run as tables and files.

The studio's bases (:func:`scenario_bases`: YAML files and the scenarios of stored runs),
results and downloads, as pure functions of a :class:`parkplan.store.ledger.RunRecord` and
the workspace's layers. What a person reads (errors, sheet names, column headers,
statuses) comes from the catalogue in the language asked for.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import yaml

from parkplan.i18n import t
from parkplan.layers import code_label
from parkplan.siting.explanation import Explanation, Infeasibility
from parkplan.siting.scenario import Scenario, load_scenario, parse_scenario
from parkplan.store.ledger import RunRecord
from parkplan.ui.render import section, sections, solver_status, table, yes_no


def scenario_files(folder: Path) -> dict[str, Path]:
    """Return the scenario YAML files of ``folder``, by file stem, sorted."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


#: Starts the key of a stored run's scenario among the bases: no file stem holds a "/".
LEDGER_PREFIX = "run/"


@dataclass(frozen=True)
class ScenarioBase:
    """A scenario the studio starts from: a YAML file, or the scenario a stored run solved.

    Parameters
    ----------
    key : str
        The file's stem, or ``run/<run_id>`` for a run's scenario.
    name : str
        The scenario's name (a run's ``scenario_name``).
    path : Path, optional
        The YAML file.
    run_id, scenario_yaml : str, optional
        The run and the scenario it stored (the ledger keeps each run's scenario whole).
    """

    key: str
    name: str
    path: Path | None = None
    run_id: str | None = None
    scenario_yaml: str | None = None

    @property
    def from_ledger(self) -> bool:
        """Whether this is a stored run's scenario."""
        return self.run_id is not None

    def label(self, lang: str = "zh") -> str:
        """Name a file by its name; a run's scenario by its name, said to come from the ledger."""
        if self.from_ledger:
            return t("ui.studio.from_ledger", lang, name=self.name, run=self.run_id)
        return self.name

    def load(self) -> Scenario:
        """Read and validate the scenario (raises SitingError if invalid)."""
        if self.path is not None:
            return load_scenario(self.path)
        return parse_scenario(yaml.safe_load(self.scenario_yaml or ""), source=f"run {self.run_id}")


def scenario_bases(folder: Path, runs: Iterable[RunRecord]) -> dict[str, ScenarioBase]:
    """Return the scenarios to start from: ``folder``'s files, then the ledger's.

    Parameters
    ----------
    folder : Path
        ``models/scenarios`` (:func:`scenario_files`).
    runs : iterable of RunRecord
        Stored runs, newest first (:func:`parkplan.store.ledger.list_runs`); each
        scenario name is offered once, as its latest run solved it, so a copy made and
        solved in the studio can be picked and edited again.

    Returns
    -------
    dict
        By :attr:`ScenarioBase.key`: files sorted by name, then runs newest first.
    """
    bases = {
        stem: ScenarioBase(stem, stem, path=path) for stem, path in scenario_files(folder).items()
    }
    named: set[str] = set()
    for run in runs:
        if run.scenario_name in named:
            continue
        named.add(run.scenario_name)
        key = f"{LEDGER_PREFIX}{run.run_id}"
        bases[key] = ScenarioBase(
            key, run.scenario_name, run_id=run.run_id, scenario_yaml=run.scenario_yaml
        )
    return bases


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


def allocation_frame(
    run: RunRecord, sites: pd.DataFrame, candidates: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Return the run's placements: candidate, names, tier, site, park, year, point (EPSG:4326)."""
    alloc = pd.DataFrame(run.result.get("allocation", []), columns=["cand_id", "site_id", "year"])
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
            out[col] = [
                f"'{v}" if isinstance(v, str) and v and v[0] in "=+-@" else v for v in out[col]
            ]
    return out


#: Catalogue keys of the workbook's column headers, by column.
XLSX_COLUMNS = {
    "cand_id": "ui.alloc.cand_id",
    "name_zh": "ui.alloc.name_zh",
    "name_en": "ui.alloc.name_en",
    "tier": "ui.alloc.tier",
    "sectors": "ui.alloc.sectors",
    "site_id": "ui.alloc.site_id",
    "park_id": "ui.alloc.park_id",
    "year": "ui.alloc.year",
    "lon": "ui.alloc.lon",
    "lat": "ui.alloc.lat",
    "value": "ui.explain.value",
    "penalty": "ui.explain.penalty",
    "net": "ui.explain.net",
}


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(
        columns={c: t(XLSX_COLUMNS[c], lang) for c in frame.columns if c in XLSX_COLUMNS}
    )


def to_xlsx(run: RunRecord, frame: gpd.GeoDataFrame, lang: str = "zh") -> bytes:
    """Return the run as a workbook: summary, placements (with lon/lat), objective by park.

    Sheet names and column headers are in ``lang`` (ids and codes stay as stored).
    """
    buf = io.BytesIO()
    table = _no_formulas(pd.DataFrame(frame.drop(columns="geometry")))
    table["lon"] = frame.geometry.x.round(6)
    table["lat"] = frame.geometry.y.round(6)
    breakdown = Explanation.from_dict(run.explanation).breakdown
    by_park = breakdown.to_dict()["by_park"] if breakdown else {}
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        summary = _no_formulas(pd.DataFrame(summary_rows(run, lang))).rename(
            columns={"key": t("ui.xlsx.field", lang), "value": t("ui.xlsx.value", lang)}
        )
        summary.to_excel(xl, sheet_name=t("ui.xlsx.summary", lang), index=False)
        _headers(table, lang).to_excel(xl, sheet_name=t("ui.xlsx.allocations", lang), index=False)
        _headers(pd.DataFrame([{"park_id": p, **v} for p, v in by_park.items()]), lang).to_excel(
            xl, sheet_name=t("ui.xlsx.by_park", lang), index=False
        )
    return buf.getvalue()


__all__ = [
    "LEDGER_PREFIX",
    "XLSX_COLUMNS",
    "ScenarioBase",
    "allocation_frame",
    "pairs_text",
    "parse_pairs",
    "scenario_bases",
    "scenario_files",
    "summary_rows",
    "to_gpkg",
    "to_xlsx",
]


def _relaxation_sections(info: Infeasibility, lang: str) -> list[dict[str, Any]]:
    """Return the conflicts of an infeasible run and the relaxations that make it feasible."""
    out = [section(t("ui.explain.conflicts", lang), items=list(info.conflicts))]
    if not info.relaxations:
        return [*out, section(text=t("ui.explain.no_relaxation", lang))]
    # "smallest" only when the solver proved it (runs stored before the flag existed do
    # not say, so they are not claimed smallest either)
    key = "ui.explain.relaxations" if info.proven_smallest else "ui.explain.relaxations_unproven"
    return [*out, section(t(key, lang), items=[r.text(lang) for r in info.relaxations])]


def _table_section(key: str, columns: Iterable[str], rows: list[dict], lang: str) -> dict[str, Any]:
    cols = [(c, t(f"ui.explain.{c}", lang)) for c in columns]
    return section(t(f"ui.explain.{key}", lang), table=table(cols, rows))


def _pairs(pairs: Iterable[Iterable[str]]) -> str:
    return ", ".join(f"{c}→{s}" for c, s in pairs)


def explanation_html(explanation: dict | None, lang: str) -> str:
    """Render a run's explanation (``RunRecord.explanation``) as headed sections.

    Conflicts and relaxations of an infeasible run, value by park and tier, the most
    valuable space, alternative plans and the sites hardest to replace.
    """
    e = Explanation.from_dict(explanation)
    parts = []
    if e.infeasibility is not None:
        parts += _relaxation_sections(e.infeasibility, lang)
    breakdown = e.breakdown
    if breakdown and breakdown.by_park:
        rows = [
            {"park": p, "value": d.value, "penalty": d.penalty, "net": d.net}
            for p, d in breakdown.by_park.items()
        ]
        parts.append(_table_section("by_park", ("park", "value", "penalty", "net"), rows, lang))
    if breakdown and breakdown.by_tier:
        rows = [
            {"tier": code_label("tier", k, lang), "value": v} for k, v in breakdown.by_tier.items()
        ]
        parts.append(_table_section("by_tier", ("tier", "value"), rows, lang))
    values = sorted(
        (asdict(v) for v in e.space_values or [] if v.value > 1e-6), key=lambda v: -v["value"]
    )[:5]
    if values:
        cols = ("park_id", "space_class", "value")
        parts.append(_table_section("space_values", cols, values, lang))
    if e.alternatives:
        rows = [
            {
                "n": i,
                "objective": a.objective,
                "added": _pairs(a.added),
                "removed": _pairs(a.removed),
            }
            for i, a in enumerate(e.alternatives, 1)
        ]
        parts.append(
            _table_section("alternatives", ("n", "objective", "added", "removed"), rows, lang)
        )
    irr = [asdict(r) for r in e.irreplaceability or [] if r.loss_max is not None]
    if irr:
        cols = ("site_id", "park_id", "loss_min", "loss_max")
        parts.append(_table_section("irreplaceability", cols, irr, lang))
    return sections(parts, none=e.note or t("ui.explain.none", lang))
