"""Which folders the parkplan distribution ships, and as which packages.

Everything else about the project is in ``pyproject.toml``. This file exists because
pyproject's ``[tool.setuptools.packages.find]`` cannot discover packages and also ship a
folder under another name: the repository's ``data/`` (district boundaries, demo fixtures,
policy text) ships as ``parkplan.data`` and ``models/`` (the scenario files and the model card)
as ``parkplan.models``, so that an installed parkplan finds them.
"""

from setuptools import find_namespace_packages, setup

# Folders renamed into the package: repository folder -> package name.
RENAMED = {"data": "parkplan.data", "models": "parkplan.models"}
# Every file kind the packages hold besides Python modules; tests/test_wheel.py fails when a
# tracked file is missing from the wheel (a new kind must be added here).
DATA = [
    "*.yaml",
    "*.md",
    "*.txt",
    "*.json",
    "*.geojson",
    "*.csv",
    "*.j2",
    "*.html",
    "*.css",
    "*.js",
    "*.png",
    "*.svg",
    "*.mako",
    "LICENSE",
]


def packages() -> list[str]:
    """Return parkplan's packages, every folder a package (namespace folders hold data)."""
    found = find_namespace_packages(include=["parkplan", "parkplan.*"], exclude=["*.__pycache__"])
    for folder, name in RENAMED.items():
        found.append(name)
        found += [
            f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__"])
        ]
    return sorted(found)


setup(
    packages=packages(),
    package_dir={name: folder for folder, name in RENAMED.items()},
    package_data={"": DATA},
)
