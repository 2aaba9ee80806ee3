"""The workspace layers: one schema per layer, the codes they use, and validation.

Each layer is a pandera ``DataFrameModel``; its fields carry the column's Chinese label
(``title``) and English description with unit (``description``), from which
``docs/layers.md`` is generated (:func:`layers_markdown`). Validation is lazy and
reports every problem with its file, row and column (:class:`parkplan.errors.Problem`).

List-valued fields (``sectors``, ``accreditation``) are stored as ``;``-separated codes so
that every layer survives CSV, XLSX and Shapefile unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.pandas as pa
import shapely
from pandera.typing import Series
from pandera.typing.geopandas import GeoSeries

from parkplan.errors import InputError, Problem
from parkplan.i18n import Language, t

#: Sector codes (labels: :func:`code_label`). Policy 二（三）（五）（六） and the 2+3+6+6
#: industries.
SECTORS: tuple[str, ...] = tuple(
    "ic ai biomed medical_devices aerospace auto_nev new_materials electronics"
    " green_low_carbon consumer_goods equipment".split()
)

#: Candidate tiers, as in the siting contract.
TIERS: tuple[str, ...] = tuple(
    "international_major national_qi_centre local_champion specialist startup".split()
)

#: Recruitment stages, in order.
STAGES: tuple[str, ...] = ("identified", "contacted", "mou", "signed", "landed")

#: Kinds of existing institution.
INSTITUTION_TYPES: tuple[str, ...] = tuple(
    "international_tic national_qi_centre state_tic private_tic research_lab".split()
)

#: Accreditation and qualification marks.
ACCREDITATIONS: tuple[str, ...] = ("CNAS", "CMA")

#: Transport access points.
TRANSPORT_MODES: tuple[str, ...] = ("metro", "rail", "airport", "port")

#: The code lists by kind, as :func:`code_label` names them.
CODES: dict[str, tuple[str, ...]] = {
    "sector": SECTORS,
    "tier": TIERS,
    "stage": STAGES,
    "institution_type": INSTITUTION_TYPES,
    "accreditation": ACCREDITATIONS,
    "transport_mode": TRANSPORT_MODES,
}


def code_label(kind: str, code: str, lang: Language = "zh") -> str:
    """Return the label of a layer code in ``lang``, from the catalogue (``i18n/layers.yaml``).

    Parameters
    ----------
    kind : str
        A key of :data:`CODES` (``"sector"``, ``"tier"``, ``"stage"``, ...).
    code : str
        A code of that kind, e.g. ``"ic"``; a code it does not know is returned as it is.
    lang : {"zh", "en"}
    """
    if code not in CODES[kind]:
        return str(code)
    return t(f"code.{kind}.{code}", lang)


#: Space classes of the siting contract, in m².
SPACE_CLASSES: tuple[str, ...] = ("office_m2", "lab_m2", "heavy_lab_m2", "hazard_lab_m2")

YEAR_MIN, YEAR_MAX = 2000, 2100


def split_codes(value: str) -> list[str]:
    """Split a ``;``-separated code list, ignoring blanks and surrounding space.

    Parameters
    ----------
    value : str
        For example ``"ic; biomed"``.

    Returns
    -------
    list of str
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _codes_ok(series: pd.Series, allowed: tuple[str, ...], min_count: int):
    """Tell, per element, whether it is a ``;``-list of known codes, at least ``min_count``."""

    def ok(value: str) -> bool:
        codes = split_codes(value)
        return len(codes) >= min_count and all(code in allowed for code in codes)

    return series.map(ok).astype(bool)


_SECTORS_ERROR = "must be ';'-separated sector codes, at least one of: " + ", ".join(SECTORS)
_ACCREDITATION_ERROR = "must be ';'-separated codes from: " + ", ".join(ACCREDITATIONS)


def _id_field(title: str, description: str) -> object:
    return pa.Field(
        unique=True,
        str_length={"min_value": 1, "max_value": 64},
        title=title,
        description=description,
    )


def _name_zh() -> object:
    return pa.Field(
        str_length={"min_value": 1, "max_value": 200},
        title="中文名称",
        description="Name in Chinese (shown first)",
    )


def _name_en() -> object:
    return pa.Field(
        str_length={"max_value": 200},
        nullable=True,
        title="英文名称",
        description="Name in English (may be blank)",
    )


def _source() -> object:
    return pa.Field(
        nullable=True,
        title="数据来源",
        description="Where the record comes from; demo records say '示意数据 illustrative'",
    )


def _area(title: str, description: str) -> object:
    return pa.Field(ge=0, title=title, description=description)


class Districts(pa.DataFrameModel):
    """Shanghai's 16 districts (区), real boundaries, WGS-84."""

    adcode: Series[str] = pa.Field(
        unique=True,
        str_matches=r"^3101\d\d$",
        title="行政区划代码",
        description="Six-digit administrative code, 3101xx",
    )
    name_zh: Series[str] = _name_zh()
    name_en: Series[str] = _name_en()
    geometry: GeoSeries

    class Config:
        metadata = {
            "geometry_type": "MULTIPOLYGON",
            "id": "adcode",
            "title": ("行政区", "Districts"),
        }


class Parks(pa.DataFrameModel):
    """Industrial parks (园区) that host the municipal TIC park's sites."""

    park_id: Series[str] = _id_field("园区编号", "Park identifier, e.g. P01")
    name_zh: Series[str] = _name_zh()
    name_en: Series[str] = _name_en()
    district_adcode: Series[str] = pa.Field(
        str_matches=r"^3101\d\d$",
        title="所在区",
        description="adcode of the district the park is in",
    )
    source: Series[str] = _source()
    geometry: GeoSeries

    class Config:
        metadata = {"geometry_type": "MULTIPOLYGON", "id": "park_id", "title": ("园区", "Parks")}


class Sites(pa.DataFrameModel):
    """Sites: a floor, building or plot in a park, with space by class (siting contract)."""

    site_id: Series[str] = _id_field("场地编号", "Site identifier (contract: site_id)")
    park_id: Series[str] = pa.Field(title="所属园区", description="park_id of the park it is in")
    name_zh: Series[str] = _name_zh()
    name_en: Series[str] = _name_en()
    available_from: Series[int] = pa.Field(
        ge=YEAR_MIN,
        le=YEAR_MAX,
        title="可用年份",
        description="First year its space can be used (contract: avail_s)",
    )
    fitout_cost: Series[float] = _area(
        "装修改造费用", "One-off fit-out cost, 万元 (10k CNY) (contract: f_s)"
    )
    office_m2: Series[float] = _area("办公面积", "Office capacity, m²")
    lab_m2: Series[float] = _area("实验室面积", "General laboratory capacity, m²")
    heavy_lab_m2: Series[float] = _area(
        "重型实验室面积", "High-bay, vibration, EMC or vehicle-rig laboratory capacity, m²"
    )
    hazard_lab_m2: Series[float] = _area(
        "危险品实验室面积", "Chemical, biological or flammable laboratory capacity, m²"
    )
    source: Series[str] = _source()
    geometry: GeoSeries

    class Config:
        metadata = {"geometry_type": "POINT", "id": "site_id", "title": ("场地", "Sites")}


class Institutions(pa.DataFrameModel):
    """Existing TIC organisations and national quality-inspection centres."""

    inst_id: Series[str] = _id_field("机构编号", "Institution identifier")
    name_zh: Series[str] = _name_zh()
    name_en: Series[str] = _name_en()
    inst_type: Series[str] = pa.Field(
        isin=list(INSTITUTION_TYPES),
        title="机构类型",
        description="One of: " + ", ".join(INSTITUTION_TYPES),
    )
    sectors: Series[str] = pa.Field(
        title="服务领域", description="';'-separated sector codes, at least one"
    )
    accreditation: Series[str] = pa.Field(
        nullable=True, title="资质", description="';'-separated: CNAS, CMA (may be blank)"
    )
    headcount: Series[int] = pa.Field(ge=0, title="人员规模", description="Staff, persons")
    source: Series[str] = _source()
    geometry: GeoSeries

    class Config:
        metadata = {
            "geometry_type": "POINT",
            "id": "inst_id",
            "title": ("现有机构", "Institutions"),
        }

    @pa.check("sectors", name="sector_codes", error=_SECTORS_ERROR)
    def _sectors(cls, series: Series[str]) -> Series[bool]:
        return _codes_ok(series, SECTORS, 1)

    @pa.check("accreditation", name="accreditation_codes", error=_ACCREDITATION_ERROR)
    def _accreditation(cls, series: Series[str]) -> Series[bool]:
        return _codes_ok(series, ACCREDITATIONS, 0)


class Clusters(pa.DataFrameModel):
    """Industry clusters that TIC organisations serve (a point per cluster centre)."""

    cluster_id: Series[str] = _id_field("集群编号", "Cluster identifier")
    name_zh: Series[str] = _name_zh()
    name_en: Series[str] = _name_en()
    sector: Series[str] = pa.Field(
        isin=list(SECTORS), title="产业领域", description="One sector code"
    )
    weight: Series[float] = pa.Field(
        gt=0, title="权重", description="Relative size or importance, > 0"
    )
    source: Series[str] = _source()
    geometry: GeoSeries

    class Config:
        metadata = {
            "geometry_type": "POINT",
            "id": "cluster_id",
            "title": ("产业集群", "Industry clusters"),
        }


class Transport(pa.DataFrameModel):
    """Transport access points (metro and rail stations, airports, ports)."""

    stop_id: Series[str] = _id_field("站点编号", "Access point identifier")
    name_zh: Series[str] = _name_zh()
    name_en: Series[str] = _name_en()
    mode: Series[str] = pa.Field(
        isin=list(TRANSPORT_MODES),
        title="方式",
        description="One of: " + ", ".join(TRANSPORT_MODES),
    )
    source: Series[str] = _source()
    geometry: GeoSeries

    class Config:
        metadata = {
            "geometry_type": "POINT",
            "id": "stop_id",
            "title": ("交通站点", "Transport access"),
        }


class Candidates(pa.DataFrameModel):
    """Organisations to recruit (anchor candidates), with their needs (siting contract)."""

    cand_id: Series[str] = _id_field("候选机构编号", "Candidate identifier (contract: cand_id)")
    name_zh: Series[str] = _name_zh()
    name_en: Series[str] = _name_en()
    tier: Series[str] = pa.Field(
        isin=list(TIERS), title="层级", description="One of: " + ", ".join(TIERS)
    )
    sectors: Series[str] = pa.Field(
        title="产业领域", description="';'-separated sector codes, at least one"
    )
    value: Series[float] = pa.Field(
        ge=0, title="战略价值", description="Strategic value v_c ≥ 0 (contract: value)"
    )
    subsidy: Series[float] = pa.Field(
        ge=0, title="所需补贴", description="Subsidy it needs to come, 万元 (contract)"
    )
    ready_year: Series[int] = pa.Field(
        ge=YEAR_MIN,
        le=YEAR_MAX,
        title="可入驻年份",
        description="Earliest year it can move in (contract)",
    )
    office_m2: Series[float] = _area("办公需求", "Office space needed, m²")
    lab_m2: Series[float] = _area("实验室需求", "General laboratory space needed, m²")
    heavy_lab_m2: Series[float] = _area("重型实验室需求", "Heavy laboratory space needed, m²")
    hazard_lab_m2: Series[float] = _area("危险品实验室需求", "Hazard laboratory space needed, m²")
    stage: Series[str] = pa.Field(
        isin=list(STAGES), title="招引阶段", description="Recruitment stage: " + ", ".join(STAGES)
    )
    source: Series[str] = _source()

    class Config:
        metadata = {"geometry_type": None, "id": "cand_id", "title": ("招引候选机构", "Candidates")}

    @pa.check("sectors", name="sector_codes", error=_SECTORS_ERROR)
    def _sectors(cls, series: Series[str]) -> Series[bool]:
        return _codes_ok(series, SECTORS, 1)


#: Every layer, in the order they are loaded (parents before children).
LAYERS: dict[str, type[pa.DataFrameModel]] = {
    "districts": Districts,
    "parks": Parks,
    "sites": Sites,
    "institutions": Institutions,
    "clusters": Clusters,
    "transport": Transport,
    "candidates": Candidates,
}


@dataclass(frozen=True)
class ColumnSpec:
    """One attribute column of a layer, as the store and the importers see it."""

    name: str
    kind: str  # "str" | "int" | "float"
    nullable: bool
    title: str
    description: str


@dataclass(frozen=True)
class Reference:
    """A column whose values must exist as ids of another layer."""

    layer: str
    column: str
    target: str
    target_column: str


#: Cross-layer references, checked on import in both directions.
REFERENCES: tuple[Reference, ...] = (
    Reference("parks", "district_adcode", "districts", "adcode"),
    Reference("sites", "park_id", "parks", "park_id"),
)


def layer_model(name: str) -> type[pa.DataFrameModel]:
    """Return the schema of layer ``name``.

    Raises
    ------
    InputError
        If there is no such layer.
    """
    try:
        return LAYERS[name]
    except KeyError:
        known = ", ".join(LAYERS)
        raise InputError(
            [Problem("<layer>", None, None, f"unknown layer {name!r}; layers are: {known}")]
        ) from None


def geometry_type(name: str) -> str | None:
    """Return the layer's GeoPackage geometry type name, or ``None`` for a table."""
    return layer_model(name).__config__.metadata["geometry_type"]


def id_column(name: str) -> str:
    """Return the layer's identifier column."""
    return layer_model(name).__config__.metadata["id"]


def columns(name: str) -> list[ColumnSpec]:
    """Return the attribute columns of layer ``name`` (geometry excluded), in order."""
    schema = layer_model(name).to_schema()
    specs = []
    for col_name, col in schema.columns.items():
        if col_name == "geometry":
            continue
        dtype = str(col.dtype)
        kind = "int" if "int" in dtype else "float" if "float" in dtype else "str"
        specs.append(
            ColumnSpec(col_name, kind, bool(col.nullable), col.title or "", col.description or "")
        )
    return specs


def empty_frame(name: str) -> pd.DataFrame:
    """Return an empty, correctly typed frame for layer ``name``."""
    data = {c.name: pd.Series([], dtype=_dtype(c.kind)) for c in columns(name)}
    if geometry_type(name) is None:
        return pd.DataFrame(data)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _dtype(kind: str) -> str:
    return {"int": "int64", "float": "float64", "str": "object"}[kind]


_CHECK_REASONS = {
    "field_uniqueness": "duplicate value {case!r}: ids must be unique",
    "greater_than_or_equal_to": "value {case!r} must be ≥ {min_value}",
    "greater_than": "value {case!r} must be > {min_value}",
    "less_than_or_equal_to": "value {case!r} must be ≤ {max_value}",
    "isin": "value {case!r} is not one of: {allowed}",
    "str_matches": "value {case!r} does not match the pattern {pattern}",
    "str_length": "value {case!r} must be {min_value} to {max_value} characters long",
    "not_nullable": "a value is required",
}


def validate(name: str, frame: pd.DataFrame, *, file: str = "<memory>") -> pd.DataFrame:
    """Coerce and validate a frame against layer ``name``'s schema, all at once.

    The frame's index must be the 0-based position of each record in ``file``: rows in
    messages are that position + 1. Columns not in the schema are dropped.

    Parameters
    ----------
    name : str
        Layer name.
    frame : DataFrame or GeoDataFrame
        Records as read; text columns may hold numbers as strings. Geometries, if any,
        already in WGS-84.
    file : str
        Shown in problems.

    Returns
    -------
    DataFrame or GeoDataFrame
        Typed, with exactly the schema's columns, in schema order, index reset.

    Raises
    ------
    InputError
        Listing every problem: missing columns, values of the wrong type, failed checks,
        missing, empty, invalid or wrongly typed geometries.
    """
    model = layer_model(name)
    problems: list[Problem] = []
    if len(frame) == 0:
        raise InputError([Problem(file, None, None, f"no records: the {name} layer is empty")])
    missing = [c.name for c in columns(name) if c.name not in frame.columns]
    gtype = geometry_type(name)
    if gtype is not None and not isinstance(frame, gpd.GeoDataFrame):
        missing.append("geometry (or lon/lat columns)")
    for col in missing:
        problems.append(Problem(file, None, col, "required column is missing"))
    if problems:
        raise InputError(problems)

    out = pd.DataFrame(index=frame.index)
    for spec in columns(name):
        out[spec.name], bad = _coerce(frame[spec.name], spec)
        problems += [Problem(file, int(i) + 1, spec.name, reason) for i, reason in bad]
    if gtype is not None:
        geoms, bad = _check_geometries(frame.geometry, gtype)
        problems += [Problem(file, int(i) + 1, "geometry", reason) for i, reason in bad]
        out = gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
    try:
        model.validate(out, lazy=True)
    except pa.errors.SchemaErrors as err:
        # A cell that could not be coerced holds a placeholder: report it once, as coerced.
        seen = {(p.row, p.column) for p in problems}
        problems += [
            p for p in _pandera_problems(err, model, file) if (p.row, p.column) not in seen
        ]
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        raise InputError(problems)
    return out.reset_index(drop=True)


def _coerce(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, list[tuple[int, str]]]:
    """Convert one column to its kind; return it and (index, reason) for each bad cell."""
    blank = values.isna() | values.astype("string").str.strip().eq("")
    bad: list[tuple[int, str]] = []
    if not spec.nullable:
        bad += [(i, "a value is required") for i in values.index[blank.fillna(True)]]
    if spec.kind == "str":
        text = values.astype("object").where(~blank, None)
        text = text.map(lambda v: v if v is None else str(v).strip())
        if spec.nullable:
            text = text.where(text.notna(), "")
        return text.astype("object"), bad
    numbers = pd.to_numeric(values.where(~blank), errors="coerce").astype("float64")
    # 'inf', '-inf' and '1e400' parse, but no area, amount or year is infinite, and an
    # integer beyond int64 would wrap when converted.
    limit = 2.0**63 if spec.kind == "int" else np.inf
    out_of_range = numbers.notna() & ~(numbers.abs() < limit)
    unparsable = numbers.isna() & ~blank
    word = "an integer" if spec.kind == "int" else "a number"
    bad += [(i, f"expected {word}, got {values[i]!r}") for i in values.index[unparsable]]
    bad += [
        (
            i,
            f"{values[i]!r} is out of range for an integer"
            if spec.kind == "int"
            else f"expected a finite number, got {values[i]!r}",
        )
        for i in values.index[out_of_range]
    ]
    numbers = numbers.where(~out_of_range)
    if spec.kind == "int":
        fractional = numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
        bad += [(i, f"expected an integer, got {values[i]!r}") for i in values.index[fractional]]
        return numbers.fillna(0).round().astype("int64"), bad
    return numbers.fillna(0.0), bad


def _check_geometries(geoms: gpd.GeoSeries, gtype: str):
    """Return geometries promoted to ``gtype`` and (index, reason) for each bad one."""
    bad: list[tuple[int, str]] = []
    arr = geoms.values
    missing = geoms.isna().to_numpy()
    empty = ~missing & shapely.is_empty(np.asarray(arr))
    for i in geoms.index[missing]:
        bad.append((i, "geometry is missing"))
    for i in geoms.index[empty]:
        bad.append((i, "geometry is empty"))
    present = ~missing & ~empty
    types = np.array(shapely.get_type_id(np.asarray(arr)))
    # 0 Point, 3 Polygon, 4 MultiPoint, 6 MultiPolygon.
    allowed = {"POINT": {0}, "MULTIPOLYGON": {3, 6}}[gtype]
    wrong = present & ~np.isin(types, list(allowed))
    for i in geoms.index[wrong]:
        bad.append(
            (
                i,
                f"geometry is a {geoms[i].geom_type}, expected "
                f"{'a Point' if gtype == 'POINT' else 'a Polygon or MultiPolygon'}",
            )
        )
    ok = present & ~wrong
    invalid = ok & ~shapely.is_valid(np.asarray(arr))
    for i in geoms.index[invalid]:
        bad.append((i, f"geometry is invalid: {shapely.is_valid_reason(geoms[i])}"))
    promoted = np.asarray(arr).copy()
    if gtype == "MULTIPOLYGON":
        single = ok & (types == 3)
        promoted[single] = [shapely.MultiPolygon([g]) for g in promoted[single]]
    return gpd.GeoSeries(promoted, index=geoms.index, crs="EPSG:4326"), bad


def _pandera_problems(err: pa.errors.SchemaErrors, model, file: str) -> list[Problem]:
    """Translate pandera's failure cases into problems with rows and plain reasons."""
    schema = model.to_schema()
    problems = []
    for case in err.failure_cases.itertuples(index=False):
        column = case.column if isinstance(case.column, str) else None
        row = int(case.index) + 1 if pd.notna(case.index) else None
        check = str(case.check)
        key = check.split("(")[0]
        stats: dict = {}
        if column in schema.columns:
            for ch in schema.columns[column].checks:
                if ch.name == key:
                    stats = dict(ch.statistics or {})
        if key in _CHECK_REASONS:
            if "allowed_values" in stats:
                stats["allowed"] = ", ".join(map(str, stats.pop("allowed_values")))
            try:
                reason = _CHECK_REASONS[key].format(case=case.failure_case, **stats)
            except (KeyError, IndexError):
                reason = f"value {case.failure_case!r} fails {check}"
        elif check.startswith("must be"):
            reason = f"value {case.failure_case!r} {check}"
        else:
            reason = f"value {case.failure_case!r} fails check {check}"
        problems.append(Problem(file, row, column, reason))
    return problems


def layers_markdown() -> str:
    """Render ``docs/layers.md`` from the schemas (a test keeps the file in step).

    Returns
    -------
    str
        Markdown text.
    """
    out = [
        "# Workspace layers",
        "",
        "Generated from `parkplan/layers.py` by `python -m parkplan.layers > docs/layers.md`;",
        "a test fails when this file and the schemas drift. Coordinates are stored in",
        "WGS-84 (EPSG:4326); list-valued columns hold `;`-separated codes.",
        "",
    ]
    for name, model in LAYERS.items():
        zh, en = model.__config__.metadata["title"]
        gtype = geometry_type(name)
        out += [f"## `{name}` — {zh} · {en}", "", (model.__doc__ or "").strip(), ""]
        out += [
            f"Geometry: {gtype.title() if gtype else 'none (attribute table)'}. "
            f"Identifier: `{id_column(name)}`.",
            "",
        ]
        out += ["| column | 中文 | type | required | description |", "|---|---|---|---|---|"]
        for c in columns(name):
            out.append(
                f"| `{c.name}` | {c.title} | {c.kind} | "
                f"{'no' if c.nullable else 'yes'} | {c.description} |"
            )
        refs = [r for r in REFERENCES if r.layer == name]
        if refs:
            out.append("")
            out += [f"`{r.column}` must be a `{r.target_column}` of `{r.target}`." for r in refs]
        out.append("")
    out += ["## Codes", ""]
    for title, kind in (
        ("Sectors", "sector"),
        ("Tiers", "tier"),
        ("Stages", "stage"),
        ("Institution types", "institution_type"),
        ("Accreditation", "accreditation"),
        ("Transport modes", "transport_mode"),
    ):
        out += [f"### {title}", "", "| code | 中文 | English |", "|---|---|---|"]
        out += [
            f"| `{code}` | {code_label(kind, code, 'zh')} | {code_label(kind, code, 'en')} |"
            for code in CODES[kind]
        ]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(layers_markdown(), end="")


def digest(frames: dict[str, pd.DataFrame]) -> str:
    """Return a SHA-256 of layer contents, independent of row order and storage.

    Used by the scenario ledger to tell whether a run's inputs have changed.

    Parameters
    ----------
    frames : dict of str to DataFrame
        Layer name to frame, as the store reads them.
    """
    sha = hashlib.sha256()
    for name in sorted(frames):
        frame = frames[name]
        cols = [c.name for c in columns(name)]
        table = pd.DataFrame(frame[cols]).astype(str)
        if geometry_type(name) is not None and len(frame):
            table["wkb"] = shapely.to_wkb(np.asarray(frame.geometry.values), hex=True)
        rows = sorted(table.itertuples(index=False, name=None))
        sha.update(f"{name}:{len(rows)}\n".encode())
        for row in rows:
            sha.update(("\t".join(row) + "\n").encode())
    return sha.hexdigest()
