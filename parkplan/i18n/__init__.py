"""The translation catalogue: every user-visible label, Chinese (zh-CN) first, English second.

Labels live in YAML files beside this module, one per area (``common.yaml``,
``reports.yaml``, ``ui.yaml``, ...), each mapping a key to ``{zh: ..., en: ...}``. Keys are
unique across files (a test checks). Code asks for a label by key; it never writes the text
itself.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")


@functools.cache
def catalogue() -> dict[str, dict[str, str]]:
    """Return every label, by key.

    Raises
    ------
    ValueError
        If a key appears in two files or a label lacks a language.
    """
    import yaml  # here, not at the top: the command line's --help needs no catalogue

    merged: dict[str, dict[str, str]] = {}
    for item in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(item.read_text(encoding="utf-8")) or {}
        for key, label in data.items():
            if key in merged:
                raise ValueError(f"label {key!r} is defined twice (again in {item.name})")
            if not isinstance(label, dict) or set(label) != set(LANGUAGES):
                raise ValueError(f"label {key!r} in {item.name} needs exactly zh and en")
            merged[key] = {lang: str(label[lang]) for lang in LANGUAGES}
    return merged


def t(key: str, lang: Language = "zh", **values) -> str:
    """Return the label ``key`` in ``lang``, formatted with ``values``.

    Raises
    ------
    KeyError
        For a key the catalogue lacks (a test renders every view, so a missing key fails CI).
    """
    text = catalogue()[key][lang]
    return text.format(**values) if values else text


def both(key: str, sep: str = " · ", **values) -> str:
    """Return the label in Chinese then English, e.g. ``"里程碑 · Milestones"``."""
    zh, en = t(key, "zh", **values), t(key, "en", **values)
    return zh if zh == en else f"{zh}{sep}{en}"
