"""Bilingual, escaped text of the park map: names, figures and catalogue labels.

Every value taken from the data is escaped here (:func:`escape`) before it reaches a
popup, tooltip or label, so a name such as ``<script>...`` shows as text.
Labels come from the translation catalogue (``parkplan/i18n/maps.yaml``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
from markupsafe import Markup

from parkplan.i18n import t as label
from parkplan.templating import macros

#: Shown for a missing value.
MISSING = "—"
#: Unit appended to floor areas.
SQM = " m²"


def escape(text: str) -> Markup:
    """Return ``text`` HTML-escaped, quotes as named entities (``&quot;``), as Markup."""
    return Markup(html.escape(text))


def is_missing(value: Any) -> bool:
    """Whether ``value`` is None, NaN or NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def esc(value: Any) -> Markup:
    """Return ``value`` escaped, or "—" when it is missing or blank."""
    if is_missing(value) or str(value).strip() == "":
        return Markup(MISSING)
    return escape(str(value))


def num(value: Any, unit: str = "") -> Markup:
    """Return a number with thousands separators (one decimal unless whole) and ``unit``."""
    if is_missing(value):
        return Markup(MISSING)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return escape(str(value))
    text = f"{x:,.0f}" if x == int(x) else f"{x:,.1f}"
    return escape(text + unit)


def year(value: Any) -> Markup:
    """Return a year as an integer, "—" when missing."""
    if is_missing(value):
        return Markup(MISSING)
    try:
        return Markup(int(float(value)))
    except (TypeError, ValueError):
        return escape(str(value))


def codes(value: Any) -> Markup:
    """Render a ``;``-list as ``"A, B, C"``, escaped."""
    if is_missing(value):
        return Markup(MISSING)
    parts = [p.strip() for p in str(value).split(";") if p.strip()]
    return escape(", ".join(parts)) if parts else Markup(MISSING)


def snippets() -> Any:
    """Return the map's HTML fragments (macros of ``maps/templates/snippets.html.j2``)."""
    return macros("parkplan.maps", "snippets.html.j2")


class Text:
    """Bilingual text in the ``language`` order: ``"zh"`` puts Chinese first.

    Parameters
    ----------
    language : {"zh", "en"}
    """

    def __init__(self, language: str):
        self.language = language
        self.zh_first = language == "zh"

    def pair(self, zh: str, en: str, sep: str = " ") -> str:
        """Return ``zh`` and ``en`` joined by ``sep``, in the language order."""
        return f"{zh}{sep}{en}" if self.zh_first else f"{en}{sep}{zh}"

    def label(self, key: str, sep: str = " ", **values: Any) -> str:
        """Return a catalogue label in both languages (plain text)."""
        return self.pair(label(key, "zh", **values), label(key, "en", **values), sep)

    def html(self, key: str, sep: str = " ", **values: Any) -> Markup:
        """Return a catalogue label in both languages, HTML-escaped."""
        return escape(self.label(key, sep, **values))

    def ordered(self, zh: str, en: str) -> tuple[str, str]:
        """Return ``(first, second)`` of a Chinese and an English text."""
        return (zh, en) if self.zh_first else (en, zh)

    def stacked(self, key: str) -> Markup:
        """Return a catalogue label as HTML, the second language small below."""
        return snippets().stacked(*self.ordered(label(key, "zh"), label(key, "en")))

    def names(self, row: Mapping) -> tuple[Markup, Markup]:
        """Return the escaped ``(primary, secondary)`` names of a record."""
        first, second = self.ordered(row.get("name_zh"), row.get("name_en"))
        if is_missing(first) or not str(first).strip():
            first, second = second, None
        return esc(first), (Markup("") if is_missing(second) else esc(second))

    def name_inline(self, row: Mapping) -> Markup:
        """Return ``"primary / secondary"`` (escaped), or the primary name alone."""
        first, second = self.names(row)
        return first + " / " + second if second else first
