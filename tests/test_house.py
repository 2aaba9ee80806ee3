"""The house rules (docs/decisions/0010-one-house.md), checked on the code's syntax trees.

- Arrows go down only: siting and tracker import none of ui, web, cli, services, apps; io
  imports no store; store imports neither siting nor tracker; maps and reports import no
  store (they take data, not a workspace); tests import nothing from benchmarks.
- No module of ``parkplan/`` over 700 lines (migrations aside), no class over 400 lines.
- No ``_private`` name of one module imported or used (``mod._name``, ``obj._name``) in
  another.
- No tracked file names a path outside the repository.

Function complexity (at most 20) is ruff's C901, configured in pyproject.toml.

``PENDING`` lists what broke a rule when the rule was written: issue 9 is fixing those right
now. A violation not listed fails, and so does a listed one that is fixed (remove it), so
the lists only shrink.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "parkplan"
MAX_MODULE_LINES = 700
MAX_CLASS_LINES = 400

# What may not import what: (modules ruled, by prefix) -> prefixes they must not import.
ARROWS = {
    ("parkplan.siting", "parkplan.tracker"): (
        "parkplan.ui",
        "parkplan.web",
        "parkplan.cli",
        "parkplan.services",
        "apps",
    ),
    ("parkplan.io",): ("parkplan.store",),
    ("parkplan.store",): ("parkplan.siting", "parkplan.tracker"),
    ("parkplan.maps", "parkplan.reports"): ("parkplan.store",),
    ("tests",): ("benchmarks",),
}

# Names with a leading underscore that are documented public API (namedtuple's methods,
# SQLAlchemy's ``Row._mapping``, ``sys._getframe``) and may be used anywhere.
PUBLIC_UNDERSCORE = {
    "_replace",
    "_asdict",
    "_fields",
    "_make",
    "_field_defaults",
    "_getframe",
    "_mapping",
}
# Private members of libraries, used where they offer no public way: python-docx's XML
# elements of a paragraph and a run (``paragraph._p``, ``run._r``: the documented way to set
# what python-docx has no property for), Panel's count of a user's sessions.
FOREIGN_PRIVATE = {"_p", "_r", "_active_users"}

# Today's violations, being fixed under issue 9 (by its other parts, in parallel). Remove an
# entry when it is fixed: the tests fail until you do.
PENDING: dict[str, set[str]] = {
    "arrows": set(),
    "module_lines": set(),
    "class_lines": set(),
    "private": set(),
    "outside_paths": set(),
}


# ------------------------------------------------------------------ the tree
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


@cache
def _sources(folder: str) -> dict[Path, ast.Module]:
    """Parse every module of a top-level folder (``parkplan``: migrations aside)."""
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "migrations" in rel.parts or "__pycache__" in rel.parts:
            continue
        found[path] = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
    return found


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an ``import from`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = _module_name(path).split(".")
    if not _is_package(path):
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, tree: ast.Module) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, node)
            names.add(module)
            # ``from parkplan import ui`` imports the module parkplan.ui.
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ------------------------------------------------------------------ the rules
def _arrows() -> set[str]:
    found = set()
    for folder in ("parkplan", "tests"):
        for path, tree in _sources(folder).items():
            module = _module_name(path)
            for ruled, forbidden in ARROWS.items():
                if not any(_under(module, r) for r in ruled):
                    continue
                for name in _imports(path, tree):
                    hit = next((f for f in forbidden if _under(name, f)), None)
                    if hit:
                        found.add(f"{_rel(path)} -> {hit}")
    return found


def _module_lines() -> set[str]:
    return {
        _rel(path)
        for path in _sources("parkplan")
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES
    }


def _class_lines() -> set[str]:
    found = set()
    for path, tree in _sources("parkplan").items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if node.end_lineno - start + 1 > MAX_CLASS_LINES:
                    found.add(f"{_rel(path)}::{node.name}")
    return found


def _private(name: str) -> bool:
    return (
        name.startswith("_")
        and not name.startswith("__")
        and name not in PUBLIC_UNDERSCORE | FOREIGN_PRIVATE
    )


def _defined_here(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assignments, attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if _private(n)}


def _private_uses() -> set[str]:
    """``from m import _x`` of parkplan's modules, and ``anything._x`` not defined here."""
    found = set()
    for path, tree in _sources("parkplan").items():
        own = _defined_here(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = _absolute(path, node)
                if _under(module, "parkplan"):
                    for alias in node.names:
                        if _private(alias.name):
                            found.add(f"{_rel(path)} imports {module}.{alias.name}")
            elif (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and node.attr not in own
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.add(f"{_rel(path)} uses .{node.attr}")
    return found


# A path on the machine that wrote the file: a home or work folder, or a climb out of the
# checkout into a sibling folder.
OUTSIDE = re.compile(
    r"(?<![\w.~-])/(?:work|home|Users|root|mnt|srv)/[\w.-]+"
    r"|(?<![\w.-])\.\./(?:\.\./)*(?:shared|helpers|main|wt-[\w-]+)\b"
)


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout
        files = [ROOT / name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        skip = {".git", ".venv", "__pycache__", "build"}
        files = [
            p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]
    return [p for p in files if p.is_file()]


def _outside_paths() -> set[str]:
    found = set()
    for path in _tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):  # binary files name no paths we read
            continue
        # The file only: the path itself would put this file on the list.
        if OUTSIDE.search(text):
            found.add(_rel(path))
    return found


RULES = {
    "arrows": _arrows,
    "module_lines": _module_lines,
    "class_lines": _class_lines,
    "private": _private_uses,
    "outside_paths": _outside_paths,
}


@pytest.mark.parametrize("rule", list(RULES))
def test_house_rule(rule):
    found = RULES[rule]()
    new = sorted(found - PENDING[rule])
    fixed = sorted(PENDING[rule] - found)
    assert not new, f"{rule}: breaks the house rules (docs/decisions/0010-one-house.md): {new}"
    assert not fixed, f"{rule}: fixed, remove from PENDING in tests/test_house.py: {fixed}"


def test_complexity_exemptions_are_still_needed():
    # pyproject.toml exempts files from C901 while issue 9 simplifies them; a file that
    # passes loses its exemption.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "C90" in lint["select"] and lint["mccabe"]["max-complexity"] == 20
    exempt = sorted(f for f, rules in lint["per-file-ignores"].items() if "C901" in rules)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "C901",
            "--config",
            "lint.mccabe.max-complexity=20",
            "--output-format",
            "json",
            *exempt,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    complex_files = {Path(d["filename"]).relative_to(ROOT).as_posix() for d in json.loads(out)}
    assert sorted(set(exempt) - complex_files) == [], "remove their C901 ignores in pyproject"


def test_the_rules_see_the_tree():
    # A rule that parses nothing passes for nothing.
    assert len(_sources("parkplan")) > 40
    assert _module_name(PACKAGE / "store" / "backup" / "__init__.py") == "parkplan.store.backup"
    tree = ast.parse("from ..errors import WorkspaceError\nfrom . import tools\n")
    assert _imports(PACKAGE / "store" / "backup" / "__init__.py", tree) >= {
        "parkplan.store.errors",
        "parkplan.store.backup.tools",
    }
    # Spelt in pieces, so that this file does not name them itself.
    assert OUTSIDE.search("see /" + "work/shared/spec/x.md")
    assert OUTSIDE.search("`.." + "/shared/x`")
    assert not OUTSIDE.search("/usr/bin/chromium and /etc/postgresql and ./data/x")
