"""Packaging stays honest: dependency lists agree, CI runs the README's command, docs match."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from parkplan.layers import layers_markdown

ROOT = Path(__file__).resolve().parents[1]
# pip and conda-forge names differ here and there.
CONDA_NAMES = {"psycopg[binary]": "psycopg", "pandera[geopandas]": "pandera"}


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    pip_deps = {}
    for line in _pyproject()["project"]["dependencies"]:
        req = Requirement(line)
        pip_deps[_normalise(req.name)] = str(req.specifier)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = {}
    for item in env["dependencies"]:
        if not isinstance(item, str):
            continue
        req = Requirement(item)
        if req.name in ("python", "pip"):
            continue
        conda_deps[_normalise(req.name)] = str(req.specifier)
    assert conda_deps == pip_deps


def test_pulp_keeps_bundled_cbc_and_highs_is_there():
    deps = {
        Requirement(d).name.lower(): Requirement(d) for d in _pyproject()["project"]["dependencies"]
    }
    assert deps["pulp"].specifier.contains("3.3.2")
    assert not deps["pulp"].specifier.contains("4.0")
    assert "highspy" in deps


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    start, test = blocks[0].strip(), blocks[1].strip()
    assert "parkplan init --demo" in start
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test


def test_every_install_takes_the_constraints():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    ci = (ROOT / ".ci" / "run").read_text()
    installs = [line for line in ci.splitlines() if "pip install" in line] + blocks[:2]
    assert len(installs) == 4
    for command in installs:
        assert "pip install -q -c constraints.txt -e " in command, command


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exactly: {line!r}"
            pins[_normalise(name)] = version
    return pins


def test_constraints_pin_every_dependency_within_its_bounds():
    project = _pyproject()["project"]
    pins = _constraints()
    for line in project["dependencies"] + project["optional-dependencies"]["test"]:
        req = Requirement(line)
        name = _normalise(req.name)
        assert name in pins, f"constraints.txt lacks {name}"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {line!r}"
    # bokeh warns about pandas 4 on every table with pandas 3.1 (see constraints.txt).
    assert not SpecifierSet(">=3.1").contains(pins["pandas"])


def test_conda_environment_has_the_test_extra():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert '-e ".[test]"' in pip or "-e .[test]" in pip


def test_console_script():
    assert _pyproject()["project"]["scripts"]["parkplan"] == "parkplan.cli:app"


def test_layers_doc_is_generated_from_the_schemas():
    assert (ROOT / "docs" / "layers.md").read_text() == layers_markdown(), (
        "docs/layers.md is stale: python -m parkplan.layers > docs/layers.md"
    )
