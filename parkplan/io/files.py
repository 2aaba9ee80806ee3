"""Reading and writing layer files: GeoPackage, GeoJSON, Shapefile, CSV and XLSX.

Reading returns records as the file holds them (text stays text) with geometries
converted to WGS-84; validation against the layer schema is
:func:`parkplan.layers.validate`'s job. Problems are reported with the file, the row
(1-based record number, header excluded) and the column.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from parkplan import crs as pcrs
from parkplan import layers
from parkplan.data import districts_path
from parkplan.errors import InputError, Problem

#: Largest file parkplan imports, in bytes; bigger files are refused before reading.
MAX_IMPORT_BYTES = 256 * 1024 * 1024

FORMATS = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "Shapefile",
    ".csv": "CSV",
    ".xlsx": "XLSX",
}

LON_NAMES = ("lon", "lng", "longitude", "经度")
LAT_NAMES = ("lat", "latitude", "纬度")
WKT_NAMES = ("wkt", "geometry")


def file_format(path: str | os.PathLike) -> str:
    """Return the format of ``path`` from its extension.

    Raises
    ------
    InputError
        For an extension parkplan does not read or write.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise InputError(
            [
                Problem(
                    str(path),
                    None,
                    None,
                    f"unsupported file type {suffix or '(none)'!r}; use one of {known}",
                )
            ]
        )
    return FORMATS[suffix]


def read_layer_file(
    path: str | os.PathLike,
    layer: str,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> pd.DataFrame:
    """Read a layer file and validate it against layer ``layer``'s schema.

    Parameters
    ----------
    path : str or path
        The file. Its extension chooses the reader.
    layer : str
        The workspace layer the records are for (:data:`parkplan.layers.LAYERS`).
    crs : str, optional
        The coordinates' reference system, overriding the file's: anything pyproj knows
        (``EPSG:4490``, ``EPSG:32651``, WKT) or ``gcj02`` (AMap, Tencent) or ``bd09``
        (Baidu). Files that declare none are taken as WGS-84.
    encoding : str, optional
        Text encoding of a CSV file or of a Shapefile without ``.cpg``. By default CSV is
        read as UTF-8 (with or without BOM), then GB18030 (a superset of GBK).
    source_layer : str, optional
        Which layer of a multi-layer GeoPackage to read (default: the only one, or the
        one named like ``layer``).
    max_bytes : int
        Files larger than this are refused before reading.

    Returns
    -------
    DataFrame or GeoDataFrame
        Validated records, in WGS-84.

    Raises
    ------
    InputError
        Naming the file, row, column and reason of every problem found.
    """
    path = Path(path)
    name = str(path)
    layers.layer_model(layer)
    fmt = file_format(path)
    if not path.is_file():
        raise InputError([Problem(name, None, None, "file not found")])
    size = path.stat().st_size
    if size == 0:
        raise InputError([Problem(name, None, None, "the file is empty")])
    if size > max_bytes:
        raise InputError(
            [
                Problem(
                    name,
                    None,
                    None,
                    f"the file is {size / 2**20:,.0f} MiB, larger than the "
                    f"import limit of {max_bytes / 2**20:,.0f} MiB; split it",
                )
            ]
        )
    if fmt == "CSV":
        frame = _read_csv(path, encoding)
    elif fmt == "XLSX":
        frame = _read_xlsx(path)
    else:
        frame = _read_vector(path, fmt, layer, encoding, source_layer)
    if len(frame) == 0:
        raise InputError([Problem(name, None, None, "the file holds no records")])
    frame.index = pd.RangeIndex(len(frame))
    frame = _restore_truncated_names(frame, layer)
    problems: list[Problem] = []
    if isinstance(frame, gpd.GeoDataFrame):
        # The --crs option says what the coordinates really are, whatever the file claims:
        # GCJ-02 data often arrives labelled as WGS-84.
        frame = pcrs.to_wgs84(frame, crs if crs is not None else (frame.crs or "EPSG:4326"))
        try:
            pcrs.check_in_shanghai(frame, name)
        except InputError as err:
            problems += err.problems
    try:
        frame = layers.validate(layer, frame, file=name)
    except InputError as err:
        problems += err.problems
    if not problems and layer == "districts":
        problems += _gcj02_districts(frame, name)
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    return frame


def _restore_truncated_names(frame: pd.DataFrame, layer: str) -> pd.DataFrame:
    """Rename columns that a Shapefile cut to 10 characters back to the schema's names."""
    present = set(frame.columns)
    renames = {
        c.name[:10]: c.name
        for c in layers.columns(layer)
        if c.name not in present and c.name[:10] in present
    }
    return frame.rename(columns=renames)


def _read_vector(
    path: Path, fmt: str, layer: str, encoding: str | None, source_layer: str | None
) -> pd.DataFrame:
    name = str(path)
    try:
        if fmt == "GeoPackage" and source_layer is None:
            listed = [str(n) for n, _ in pyogrio.list_layers(path)]
            if layer in listed:
                source_layer = layer
            elif len(listed) == 1:
                source_layer = listed[0]
            else:
                raise InputError(
                    [
                        Problem(
                            name,
                            None,
                            None,
                            f"the GeoPackage holds layers {', '.join(listed)}; "
                            "name one with --source-layer",
                        )
                    ]
                )
        kwargs = {"layer": source_layer} if source_layer else {}
        if encoding and fmt == "Shapefile":
            kwargs["encoding"] = encoding
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = pyogrio.read_dataframe(path, **kwargs)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        # GEOS refuses to build a ring that is not closed or has too few points.
        shapely.errors.GEOSException,
        ValueError,
    ) as err:
        raise InputError(
            [Problem(name, None, None, f"cannot read it as {fmt}: {_first_line(err)}")]
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        return frame
    for col in frame.columns:
        if col != frame.geometry.name and frame[col].dtype == object:
            frame[col] = frame[col].astype(object)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    return frame


def _decode_csv(path: Path, encoding: str | None) -> str:
    raw = path.read_bytes()
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeError, LookupError) as err:
            # UnicodeError, not only UnicodeDecodeError: codecs such as punycode and idna
            # raise the base class.
            raise InputError(
                [
                    Problem(
                        str(path),
                        _line_of(raw, getattr(err, "start", 0)),
                        None,
                        f"cannot decode as {encoding}: {err}",
                    )
                ]
            ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        utf8_error = err
    try:
        # GB18030 is a superset of GBK and GB2312, the usual encodings of Chinese Excel CSV.
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(
            [
                Problem(
                    str(path),
                    _line_of(raw, utf8_error.start),
                    None,
                    "the text is neither UTF-8 nor GBK/GB18030; pass --encoding",
                )
            ]
        ) from None


def _line_of(raw: bytes, offset: int) -> int | None:
    """Return the 1-based data row (header excluded) holding byte ``offset``."""
    line = raw[:offset].count(b"\n")
    return line if line >= 1 else None


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    text = _decode_csv(path, encoding)
    try:
        with warnings.catch_warnings():
            # index_col=False: pandas would otherwise take the first column as an index
            # when the first record is longer than the header, and shift every value.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                index_col=False,
            )
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        pd.errors.ParserWarning,
        csv.Error,
    ) as err:
        raise InputError(
            [Problem(str(path), None, None, f"cannot read it as CSV: {_first_line(err)}")]
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return _table_geometry(frame, str(path))


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as err:  # openpyxl raises many types for a damaged workbook
        raise InputError(
            [Problem(str(path), None, None, f"cannot read it as XLSX: {_first_line(err)}")]
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return _table_geometry(frame, str(path))


def _table_geometry(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Turn lon/lat (or WKT) columns of a table into a geometry column, if present."""
    lower = {c.lower(): c for c in frame.columns}
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    wkt = next((lower[n] for n in WKT_NAMES if n in lower), None)
    problems = []
    if lon and lat:
        x = pd.to_numeric(frame[lon].replace("", np.nan), errors="coerce")
        y = pd.to_numeric(frame[lat].replace("", np.nan), errors="coerce")
        for col, raw, num in ((lon, frame[lon], x), (lat, frame[lat], y)):
            bad = num.isna() & raw.astype(str).str.strip().ne("")
            problems += [
                Problem(name, int(i) + 1, col, f"expected a number, got {raw[i]!r}")
                for i in frame.index[bad]
            ]
        geoms = shapely.points(x.to_numpy(dtype=float), y.to_numpy(dtype=float))
        geoms = np.where(x.isna() | y.isna(), None, geoms)
        frame = frame.drop(columns=[lon, lat])
    elif wkt:
        texts = frame[wkt]
        geoms = np.empty(len(frame), dtype=object)
        for i, value in enumerate(texts):
            if not str(value).strip():
                continue
            try:
                geoms[i] = shapely.from_wkt(value)
            except shapely.errors.ShapelyError as err:
                problems.append(Problem(name, i + 1, wkt, f"not valid WKT: {_first_line(err)}"))
        frame = frame.drop(columns=[wkt])
    else:
        return frame
    if problems:
        raise InputError(problems)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index))


def _gcj02_districts(frame: gpd.GeoDataFrame, name: str) -> list[Problem]:
    """Detect district boundaries in GCJ-02 that claim to be WGS-84.

    Compared with Shanghai's known boundaries, such a file sits displaced by exactly the
    GCJ-02 offset (about 500 m in Shanghai). Point layers carry nothing known to compare
    with, so this check exists for districts only (docs/decisions/0002).
    """
    known = gpd.read_file(districts_path()).set_index("adcode")
    mine = frame.set_index("adcode")
    common = mine.index.intersection(known.index)
    if len(common) == 0:
        return []
    k = known.loc[common].to_crs(pcrs.METRIC_CRS).geometry.centroid.to_crs(4326)
    m = mine.loc[common].to_crs(pcrs.METRIC_CRS).geometry.centroid.to_crs(4326)
    gx, gy = pcrs.wgs84_to_gcj02(k.x.to_numpy(), k.y.to_numpy())
    metres = 111_000 * np.cos(np.radians(31.2))
    shift = np.hypot((m.x - k.x) * metres, (m.y - k.y) * 111_000)
    off_gcj = np.hypot((m.x - gx) * metres, (m.y - gy) * 111_000)
    if np.median(shift) > 300 and np.median(off_gcj) < 100:
        return [
            Problem(
                name,
                None,
                "geometry",
                f"the districts lie {np.median(shift):.0f} m from Shanghai's known "
                "boundaries, by the GCJ-02 offset: the file is in GCJ-02 (AMap, "
                "Tencent); import it with --crs gcj02",
            )
        ]
    return []


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


#: The most characters a spreadsheet cell holds (Excel's limit; openpyxl cuts beyond it).
XLSX_CELL_CHARS = 32_767


def _check_fits_a_cell(wkt: pd.Series, path: Path) -> None:
    """Refuse geometries whose WKT a spreadsheet cell would cut short."""
    lengths = wkt.str.len()
    long = lengths.index[lengths > XLSX_CELL_CHARS]
    if len(long):
        raise InputError(
            [
                Problem(
                    str(path),
                    int(i) + 1,
                    "wkt",
                    f"the geometry is {lengths[i]:,} characters of WKT, more "
                    f"than a spreadsheet cell holds ({XLSX_CELL_CHARS:,}); "
                    "export this layer as .gpkg, .geojson or .shp",
                )
                for i in long
            ]
        )


def _check_not_a_workspace(path: Path) -> None:
    """Refuse to write into a GeoPackage that is a parkplan workspace (or not a GeoPackage)."""
    import sqlite3

    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
    except sqlite3.DatabaseError:
        tables = None
    if tables is None or "gpkg_contents" not in tables:
        raise InputError(
            [
                Problem(
                    str(path),
                    None,
                    None,
                    "the file exists and is not a GeoPackage; choose another name or remove it",
                )
            ]
        )
    if "alembic_version" in tables:
        raise InputError(
            [
                Problem(
                    str(path),
                    None,
                    None,
                    "the file is a parkplan workspace; export to another file, "
                    "or load a file into it with 'parkplan import'",
                )
            ]
        )


def write_layer_file(frame: pd.DataFrame, path: str | os.PathLike, layer: str) -> None:
    """Write a layer's records to a file in the format its extension names.

    Point layers written to CSV or XLSX get ``lon``/``lat`` columns and polygon layers a
    ``wkt`` column, so that the file imports back unchanged. Shapefiles are written in
    UTF-8 with a ``.cpg``. An existing file is replaced, except a GeoPackage, into which
    the layer is added (replacing a layer of the same name) and whose other layers stay; a
    GeoPackage that is a parkplan workspace is refused. Text cells are written as they are;
    spreadsheet formula neutralisation belongs to the tracker's exports, which hold free text.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        The layer, as :meth:`parkplan.store.Workspace.read_layer` returns it.
    path : str or path
    layer : str

    Raises
    ------
    InputError
        For a GeoPackage that is a parkplan workspace, or an existing ``.gpkg`` that is not
        a GeoPackage; for a layer without geometry written to a vector format.
    """
    path = Path(path)
    fmt = file_format(path)
    gtype = layers.geometry_type(layer)
    if fmt in ("CSV", "XLSX"):
        table = pd.DataFrame(frame[[c.name for c in layers.columns(layer)]])
        if gtype == "POINT":
            table["lon"] = frame.geometry.x.round(7)
            table["lat"] = frame.geometry.y.round(7)
        elif gtype:
            table["wkt"] = shapely.to_wkt(np.asarray(frame.geometry.values), rounding_precision=7)
            if fmt == "XLSX":
                _check_fits_a_cell(table["wkt"], path)
        if fmt == "CSV":
            table.to_csv(path, index=False, encoding="utf-8")
        else:
            table.to_excel(path, index=False, sheet_name=layer, engine="openpyxl")
        return
    if gtype is None:
        raise InputError(
            [
                Problem(
                    str(path),
                    None,
                    None,
                    f"the {layer} layer has no geometry; export it as .csv or .xlsx",
                )
            ]
        )
    kwargs = {"layer": layer} if fmt == "GeoPackage" else {}
    if fmt == "Shapefile":
        kwargs["encoding"] = "UTF-8"
    if fmt == "GeoPackage" and path.exists():
        # Into an existing GeoPackage the layer is added, or replaces its namesake; the
        # file's other layers stay. A parkplan workspace is written only by parkplan's store.
        _check_not_a_workspace(path)
    elif path.exists():
        path.unlink()
    with warnings.catch_warnings():
        # Shapefile cuts field names to 10 characters; the importer restores them.
        warnings.filterwarnings("ignore", message="Normalized/laundered field name")
        pyogrio.write_dataframe(
            frame,
            path,
            driver={"GeoPackage": "GPKG", "GeoJSON": "GeoJSON", "Shapefile": "ESRI Shapefile"}[fmt],
            **kwargs,
        )
