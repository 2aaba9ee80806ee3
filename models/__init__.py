"""The siting scenarios and the model card, shipped with parkplan as ``parkplan.models``."""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def scenarios_dir() -> Path:
    """Return the folder of the shipped scenario files (the repository's ``models/scenarios``)."""
    return Path(str(importlib.resources.files("parkplan.models") / "scenarios"))
