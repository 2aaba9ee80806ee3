"""Data shipped with parkplan as the package ``parkplan.data`` (see README.md here)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def data_path(name: str) -> Path:
    """Return the path of a file shipped in ``parkplan.data`` (the repository's ``data/``)."""
    return Path(str(importlib.resources.files("parkplan.data") / name))


def districts_path() -> Path:
    """Return the path of the WGS-84 GeoJSON of Shanghai's 16 districts."""
    return data_path("shanghai_districts.geojson")
