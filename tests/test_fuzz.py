"""Property-based tests (hypothesis) of everything that reads user files.

No input may crash a reader with anything but its documented error: ``InputError`` for
layer files (``parkplan.io``), ``SitingError`` for scenarios and instances. A failed import
leaves the workspace byte for byte as it was.

Every bug these properties found is pinned by a plain regression test at the end of this
file (B1-B10), so that it stays fixed whatever hypothesis happens to draw.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parkplan.data import data_path

from parkplan import layers
from parkplan.errors import InputError, SitingError
from parkplan.io.files import read_layer_file
from parkplan.services.imports import import_layer
from parkplan.siting.instance import (
    SitingInstance,
    instance_from_dict,
    instance_to_dict,
    read_instance,
)
from parkplan.siting.model import SitingModel
from parkplan.siting.scenario import Scenario, load_scenario, parse_scenario
from parkplan.store import Workspace
from tests.conftest import snapshot

#: Examples per property; PARKPLAN_FUZZ_EXAMPLES=2000 explores harder (minutes).
EXAMPLES = int(os.environ.get("PARKPLAN_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)

#: Integers, including those beyond int64 and beyond any double (bug B4).
ANY_INT = st.one_of(
    st.integers(min_value=-(2**62), max_value=2**62),
    st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**309]),
)

LAYER_NAMES = list(layers.LAYERS)
COORD_COLUMNS = ["lon", "lat", "lng", "longitude", "latitude", "经度", "纬度", "wkt", "geometry"]
INTERESTING = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-0",
    "0",
    "1",
    "2027",
    "9999",
    "121.5",
    "31.2",
    "121.6,31.2",
    "P01",
    "310115",
    "S0001",
    "startup",
    "food",
    "lab",
    "metro",
    "CMA;CNAS",
    "POINT (121.5 31.2)",
    "POINT EMPTY",
    "POLYGON ((121.5 31.2, 121.6 31.2, 121.6 31.3, 121.5 31.2))",
    "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))",
    "LINESTRING (0 0, 1 1)",
    "=1+1",
    "<b>x</b>",
    "\u0000",
    "名称",
    "\ufeff",
    "'",
    '"',
    "\n",
    "\r\n",
    ",",
]
CELL = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(max_size=12),
    ANY_INT.map(str),
    st.floats(allow_nan=True).map(repr),
)
ENCODE_AS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "latin-1", "cp1252", "big5"]
READ_AS = [
    None,
    None,
    None,
    "utf-8",
    "gbk",
    "gb18030",
    "utf-16",
    "utf-32",
    "latin-1",
    "ascii",
    "big5",
    "no-such-codec",
    "rot13",
    "base64",
    "idna",
    "punycode",
    "unicode_escape",
]


# --------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def base_gpkg(demo_gpkg, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "base.gpkg"
    shutil.copy(demo_gpkg, path)
    return path


class Scratch:
    """A fresh copy of the demo workspace and a folder for the input file, per example."""

    def __init__(self, base: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="parkplan-fuzz-"))
        self.ws = self.dir / "ws.gpkg"
        shutil.copy(base, self.ws)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def check_import(
    base: Path, layer: str, name: str, content: bytes, encoding: str | None = None
) -> str:
    """Import one file into a copy of the demo; return ``ok`` or ``refused``."""
    with Scratch(base) as scratch:
        path = scratch.dir / name
        path.write_bytes(content)
        before = snapshot(str(scratch.ws))
        with Workspace.open(scratch.ws) as ws:
            try:
                import_layer(ws, layer, path, encoding=encoding)
            except InputError as err:
                assert err.problems and all(p.reason for p in err.problems)
                outcome = "refused"
            else:
                outcome = "ok"
        if outcome == "refused":
            assert snapshot(str(scratch.ws)) == before, "a failed import changed the workspace"
        else:
            with Workspace.open(scratch.ws) as ws:
                assert layer in {i.name for i in ws.describe()}
        return outcome


# ------------------------------------------------------------------------- CSV
@st.composite
def csv_files(draw):
    layer = draw(st.sampled_from(LAYER_NAMES))
    known = [c.name for c in layers.columns(layer)]
    if draw(st.booleans()):
        columns = known + draw(st.lists(st.sampled_from(COORD_COLUMNS), max_size=2))
        columns = draw(st.permutations(columns))
    else:
        columns = draw(
            st.lists(
                st.one_of(st.sampled_from(known + COORD_COLUMNS), st.text(max_size=6)), max_size=10
            )
        )
    rows = draw(
        st.lists(st.lists(CELL, min_size=len(columns), max_size=len(columns) + 1), max_size=4)
    )
    if draw(st.booleans()):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
        text = out.getvalue()
    else:
        text = "\n".join(",".join(r) for r in [columns, *rows])
    encoding = draw(st.sampled_from(ENCODE_AS))
    return layer, text.encode(encoding, errors="replace"), draw(st.sampled_from(READ_AS))


@FUZZ
@given(case=csv_files())
def test_csv_import_refuses_cleanly_or_imports(base_gpkg, case):
    layer, content, encoding = case
    check_import(base_gpkg, layer, "input.csv", content, encoding)


@FUZZ
@given(
    layer=st.sampled_from(LAYER_NAMES),
    content=st.binary(max_size=300),
    encoding=st.sampled_from(READ_AS),
)
def test_csv_bytes_refused_cleanly(base_gpkg, layer, content, encoding):
    check_import(base_gpkg, layer, "input.csv", content, encoding)


def _mutate(data: bytes, edits: list[tuple[float, int, int]]) -> bytes:
    """Apply edits (where, what, byte): 0 delete, 1 insert, 2 replace, 3 cut the rest."""
    out = bytearray(data)
    for where, what, byte in edits:
        i = min(int(where * len(out)), max(len(out) - 1, 0))
        if not out:
            break
        if what == 0:
            del out[i]
        elif what == 1:
            out.insert(i, byte)
        elif what == 2:
            out[i] = byte
        else:
            del out[i:]
    return bytes(out)


EDITS = st.lists(
    st.tuples(
        st.floats(0, 1),
        st.integers(0, 3),
        st.sampled_from(b',"\n\r;\x00\xff\xe5 .-0123456789abcNP{}[]:'),
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(edits=EDITS, layer=st.sampled_from(["sites", "candidates", "clusters"]))
def test_mutated_demo_csv_refused_cleanly_or_imported(base_gpkg, edits, layer):
    source = data_path(f"demo/{layer}.csv").read_bytes()
    content = _mutate(source, edits)
    check_import(base_gpkg, layer, "input.csv", content)


# --------------------------------------------------------------------- GeoJSON
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=32)
COORD = st.one_of(
    st.floats(121.0, 122.0),
    st.floats(30.7, 31.9),
    FINITE,
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e300]),
)
POINT = st.lists(COORD, min_size=0, max_size=4)
RING = st.lists(POINT, max_size=6)
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    ANY_INT,
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(INTERESTING),
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=8,
)
GEOMETRY = st.one_of(
    st.none(),
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": POINT}),
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": st.lists(RING, max_size=2)}),
    st.fixed_dictionaries(
        {
            "type": st.just("MultiPolygon"),
            "coordinates": st.lists(st.lists(RING, max_size=2), max_size=2),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["LineString", "MultiPoint", "GeometryCollection", "Nonsense", ""]
            ),
            "coordinates": JSON_VALUE,
        }
    ),
    JSON_VALUE,
)


@st.composite
def geojson_files(draw):
    layer = draw(st.sampled_from(LAYER_NAMES))
    known = [c.name for c in layers.columns(layer)]
    feature = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Feature", "Feature", "feature", "Thing"]),
            "geometry": GEOMETRY,
            "properties": st.one_of(
                st.dictionaries(st.sampled_from(known), st.one_of(CELL, JSON_LEAF)),
                st.dictionaries(
                    st.one_of(st.sampled_from(known), st.text(max_size=5)), JSON_VALUE, max_size=4
                ),
                st.none(),
            ),
        }
    )
    top = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"type": st.just("FeatureCollection"), "features": st.lists(feature, max_size=4)}
            ),
            st.fixed_dictionaries(
                {
                    "type": st.just("FeatureCollection"),
                    "features": st.lists(feature, max_size=2),
                    "crs": st.fixed_dictionaries(
                        {"type": st.just("name"), "properties": JSON_VALUE}
                    ),
                }
            ),
            feature,
            JSON_VALUE,
        )
    )
    return layer, json.dumps(top, ensure_ascii=draw(st.booleans())).encode()


def _is_position(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(v, (int, float)) for v in value)
    )


@FUZZ
@given(case=geojson_files())
def test_geojson_import_refuses_cleanly_or_imports(base_gpkg, case):
    layer, content = case
    check_import(base_gpkg, layer, "input.geojson", content)


@FUZZ
@given(edits=EDITS)
def test_mutated_demo_geojson_refused_cleanly_or_imported(base_gpkg, edits):
    content = _mutate(data_path("demo/parks.geojson").read_bytes(), edits)
    check_import(base_gpkg, "parks", "input.geojson", content)


@FUZZ
@given(
    suffix=st.sampled_from([".gpkg", ".geojson", ".json", ".shp", ".xlsx", ".csv"]),
    content=st.one_of(
        st.binary(min_size=1, max_size=200),
        st.sampled_from(
            [b"PK\x03\x04garbage", b"SQLite format 3\x00junk", b"{}", b"[]", b"null", b"\x00" * 100]
        ),
    ),
)
def test_garbage_in_any_format_is_refused_cleanly(base_gpkg, suffix, content):
    check_import(base_gpkg, "sites", f"input{suffix}", content)


# -------------------------------------------------------------------- scenarios
SCENARIO_KEYS = list(Scenario.model_fields)
GOOD_SCENARIO = {
    "name": "small",
    "horizon": [2026, 2028],
    "budget": 9000,
    "quotas": {"tier": {"national_qi_centre": 1}},
    "solver": {"name": "highs", "time_limit": 30, "gap": 0.0},
}
SCENARIO_VALUE = st.one_of(
    JSON_VALUE,
    st.fixed_dictionaries(
        {},
        optional={
            "weights": st.dictionaries(
                st.sampled_from(["proximity", "agglomeration", "access", "x"]), st.floats()
            ),
            "decay_km": st.dictionaries(st.sampled_from(["proximity", "access", "y"]), st.floats()),
            "mode_weights": st.dictionaries(st.text(max_size=5), st.floats()),
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "tier": st.dictionaries(st.sampled_from(["startup", "specialist", "nope"]), ANY_INT),
            "sector": st.dictionaries(st.sampled_from(["food", "auto", "nope"]), ANY_INT),
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(["highs", "cbc", "gurobi"]),
            "time_limit": st.one_of(st.floats(), st.none()),
            "gap": st.floats(),
        },
    ),
    st.lists(st.lists(st.text(max_size=5), max_size=3), max_size=3),
    st.lists(ANY_INT, max_size=3),
)


@st.composite
def scenario_dicts(draw):
    if draw(st.booleans()):
        data = copy.deepcopy(GOOD_SCENARIO)
        for key in draw(st.lists(st.sampled_from(SCENARIO_KEYS + ["nmae", "x"]), max_size=3)):
            if draw(st.booleans()):
                data[key] = draw(SCENARIO_VALUE)
            else:
                data.pop(key, None)
        return data
    return draw(
        st.one_of(
            JSON_VALUE,
            st.dictionaries(
                st.one_of(st.sampled_from(SCENARIO_KEYS), st.text(max_size=6), ANY_INT),
                SCENARIO_VALUE,
                max_size=6,
            ),
        )
    )


def check_scenario(scenario: Scenario) -> None:
    """A scenario that validates can be used: digested, written, read back, weighted."""
    assert len(scenario.digest()) == 64
    again = parse_scenario(yaml.safe_load(scenario.to_yaml()))
    assert again.digest() == scenario.digest()
    try:
        scenario.scoring.to_weights()
    except SitingError:
        pass


@FUZZ
@given(data=scenario_dicts())
def test_parse_scenario_raises_only_siting_error(data):
    try:
        scenario = parse_scenario(data)
    except SitingError as err:
        assert str(err)
        return
    check_scenario(scenario)


@FUZZ
@given(
    text=st.one_of(
        scenario_dicts().map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
        st.text(max_size=200),
        st.tuples(scenario_dicts().map(yaml.safe_dump), EDITS).map(
            lambda t: _mutate(t[0].encode(), t[1]).decode("utf-8", errors="ignore")
        ),
    )
)
def test_load_scenario_raises_only_siting_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            scenario = load_scenario(path)
        except SitingError as err:
            assert str(path) in str(err)
            return
    check_scenario(scenario)


# -------------------------------------------------------------------- instances
def small_instance() -> dict:
    sites = pd.DataFrame(
        {
            "site_id": ["S1", "S2"],
            "park_id": ["P1", "P2"],
            "available_from": [2026, 2027],
            "fitout_cost": [100.0, 50.0],
            "office_m2": [1000.0, 500.0],
            "lab_m2": [500.0, 0.0],
            "heavy_lab_m2": [0.0, 300.0],
            "hazard_lab_m2": [0.0, 0.0],
        }
    )
    cands = pd.DataFrame(
        {
            "cand_id": ["C1", "C2", "C3"],
            "tier": ["startup", "specialist", "local_champion"],
            "sectors": [("food",), ("auto", "food"), ()],
            "value": [3.0, 2.0, 5.0],
            "subsidy": [100.0, 200.0, 50.0],
            "ready_year": [2026, 2027, 2028],
            "office_m2": [200.0, 100.0, 300.0],
            "lab_m2": [100.0, 0.0, 0.0],
            "heavy_lab_m2": [0.0, 100.0, 0.0],
            "hazard_lab_m2": [0.0, 0.0, 0.0],
        }
    )
    inst = SitingInstance(
        [2026, 2027, 2028],
        0.05,
        1000.0,
        0.002,
        {"startup": 1},
        {"food": 1},
        [("C1", "S1")],
        [("C2", "S1")],
        sites,
        cands,
        np.array([[0.5, 0.2], [0.1, 0.9], [0.3, 0.3]]),
    )
    return instance_to_dict(inst)


VALID_INSTANCE = small_instance()


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_instances(draw):
    data = copy.deepcopy(VALID_INSTANCE)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        what = draw(st.sampled_from(["replace", "delete", "duplicate", "negate"]))
        last = path[-1]
        if what == "replace":
            parent[last] = draw(
                st.one_of(
                    JSON_VALUE,
                    st.sampled_from(
                        ["S1", "C1", "startup", -1, 0, 1e308, math.nan, math.inf, [], {}, 2026]
                    ),
                )
            )
        elif what == "delete":
            del parent[last]
        elif what == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
            parent[last] = -parent[last]
    return data


@FUZZ
@given(data=st.one_of(mutated_instances(), JSON_VALUE))
def test_instance_from_dict_raises_only_siting_error(data):
    try:
        inst = instance_from_dict(data)
    except SitingError as err:
        assert str(err)
        return
    # What the reader accepts, the model can be built for.
    SitingModel.from_instance(inst)
    assert instance_from_dict(instance_to_dict(inst)).cand_ids == inst.cand_ids


@FUZZ
@given(
    text=st.one_of(
        mutated_instances().map(json.dumps),
        st.tuples(st.just(json.dumps(VALID_INSTANCE)), EDITS).map(
            lambda t: _mutate(t[0].encode(), t[1]).decode("utf-8", errors="ignore")
        ),
        st.text(max_size=100),
    )
)
def test_read_instance_raises_only_siting_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "instance.json"
        path.write_text(text, encoding="utf-8")
        try:
            read_instance(path)
        except SitingError as err:
            assert str(path) in str(err)


def test_the_valid_instance_and_scenario_are_valid():
    assert instance_from_dict(copy.deepcopy(VALID_INSTANCE)).site_ids == ["S1", "S2"]
    assert parse_scenario(GOOD_SCENARIO).name == "small"
    assert read_layer_file(data_path("demo/sites.csv"), "sites").shape[0] == 72


# ------------------------------------------------- regressions the fuzzing found
def test_garbage_gpkg_is_refused_cleanly(base_gpkg):
    # B1: pyogrio.list_layers ran outside the reader's error handling.
    assert check_import(base_gpkg, "sites", "input.gpkg", b"x") == "refused"


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nbudget: 1\ndescription: 2026-13-01\n",  # B2
        'name: "\\U00110000"\n',  # B10, ValueError
        'name: "\\UFFFFFFFF"\n',  # B10, OverflowError
        "[" * 1000,
    ],  # B5, RecursionError
    ids=["impossible date", "escape beyond U+10FFFF", "escape beyond 2**31", "nested 1000 deep"],
)
def test_yaml_that_pyyaml_cannot_construct_is_refused_cleanly(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SitingError, match="not valid YAML"):
        load_scenario(path)


@pytest.mark.parametrize("reader", [load_scenario, read_instance])
def test_a_file_that_is_not_utf8_is_refused_cleanly(tmp_path, reader):
    # B3
    path = tmp_path / "input"
    path.write_bytes(b"\xff")
    with pytest.raises(SitingError, match="UTF-8"):
        reader(path)


def test_deeply_nested_json_is_refused_cleanly(tmp_path):
    path = tmp_path / "instance.json"
    path.write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(SitingError, match="nested too deeply"):
        read_instance(path)


@pytest.mark.parametrize(
    "where, value",
    [
        (("candidates", 0, "ready_year"), 2**63),
        (("candidates", 0, "ready_year"), 2**64),
        (("sites", 0, "available_from"), -(2**64)),
        (("horizon", 0), 2**63),
        (("quotas", "tier", "startup"), 2**64),
        (("budget",), 10**309),
        (("sites", 0, "office_m2"), 10**309),
        (("score", "C1", "S1"), 10**309),
        (("discount_rate",), math.inf),
        (("candidates", 0, "value"), math.nan),
    ],
    ids=[
        "year 2**63",
        "year 2**64",
        "year -2**64",
        "horizon 2**63",
        "quota 2**64",
        "budget 1e309",
        "m2 1e309",
        "score 1e309",
        "rate inf",
        "value nan",
    ],
)
def test_numbers_beyond_range_in_an_instance_are_refused_cleanly(where, value):
    # B4: 2**63 used to wrap to -2**63 silently, wider ones to raise OverflowError.
    data = copy.deepcopy(VALID_INSTANCE)
    node = data
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    key = next(step for step in reversed(where) if isinstance(step, str))
    with pytest.raises(SitingError, match=re.escape(key)):
        instance_from_dict(data)


@pytest.mark.parametrize(
    "ring",
    [
        [[121.5, 31.2]],
        [[121.5, 31.2], [121.5, 31.2]],
        [[121.5, 31.2], [121.6, 31.2], [121.6, 31.3], [121.5, 31.3]],
    ],
)
def test_a_polygon_with_a_broken_ring_is_refused_cleanly(base_gpkg, ring):
    # B6: GEOS's exception escaped the reader.
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    content = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    assert check_import(base_gpkg, "parks", "input.geojson", content) == "refused"


def test_an_exotic_encoding_that_fails_is_refused_cleanly(base_gpkg):
    # B7: punycode and idna raise UnicodeError, the base class of UnicodeDecodeError.
    assert check_import(base_gpkg, "sites", "input.csv", b"\x00", "punycode") == "refused"


def test_a_csv_record_longer_than_its_header_is_refused_cleanly(base_gpkg, tmp_path):
    # B8: pandas took the first column as the index and shifted every value left.
    content = b"lon,lat\n,,x\n"
    assert check_import(base_gpkg, "sites", "input.csv", content) == "refused"
    path = tmp_path / "sites.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="more fields|Length of header"):
        read_layer_file(path, "sites")


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "1e30"])
@pytest.mark.parametrize("suffix", [".csv", ".geojson"])
def test_an_infinite_or_huge_year_is_refused_cleanly(base_gpkg, tmp_path, suffix, value):
    # B9: 'inf' raised pandas' IntCastingNaNError; 1e30 wrapped to -2**63.
    fields = {c.name: "1" for c in layers.columns("sites")} | {
        "site_id": "S9",
        "park_id": "P01",
        "available_from": value,
    }
    if suffix == ".csv":
        content = (
            ",".join([*fields, "lon", "lat"])
            + "\n"
            + ",".join([*fields.values(), "121.6", "31.2"])
            + "\n"
        ).encode()
    else:
        content = json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": fields,
                        "geometry": {"type": "Point", "coordinates": [121.6, 31.2]},
                    }
                ],
            }
        ).encode()
    assert check_import(base_gpkg, "sites", f"input{suffix}", content) == "refused"
    path = tmp_path / f"sites{suffix}"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_layer_file(path, "sites")
    assert any(p.column == "available_from" and p.row == 1 for p in info.value.problems)


@pytest.mark.parametrize("value", ["inf", "nan", "1e400"])
def test_an_infinite_amount_is_refused_cleanly(tmp_path, value):
    fields = {c.name: "1" for c in layers.columns("sites")} | {
        "site_id": "S9",
        "park_id": "P01",
        "available_from": "2027",
        "fitout_cost": value,
    }
    path = tmp_path / "sites.csv"
    path.write_text(
        ",".join([*fields, "lon", "lat"])
        + "\n"
        + ",".join([*fields.values(), "121.6", "31.2"])
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        read_layer_file(path, "sites")
    assert [(p.row, p.column) for p in info.value.problems] == [(1, "fitout_cost")]
