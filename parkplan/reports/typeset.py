"""Setting mixed Chinese and Latin text in a fixed width, for the one-page reports.

Widths are estimated in em (CJK and full-width characters 1, the rest about 0.56), which
is close enough for Noto Sans CJK to keep a line inside its box.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fit", "width_em", "wrap"]


def width_em(text: str) -> float:
    """Return the approximate width of ``text`` in em: CJK and full-width 1, the rest 0.56."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.56 for ch in text)


def fit(text: str, width_mm: float, size_pt: float) -> str:
    """Return ``text``, shortened with "…" to fit ``width_mm`` at ``size_pt``."""
    em_mm = size_pt * 25.4 / 72
    if width_em(text) * em_mm <= width_mm:
        return text
    out = ""
    for ch in text:
        if (width_em(out + ch) + 1) * em_mm > width_mm:
            break
        out += ch
    return out.rstrip() + "…"


def wrap(text: str, width_mm: float, size_pt: float, max_lines: int = 4) -> list[str]:
    """Break ``text`` into lines of at most ``width_mm`` (CJK breaks anywhere, words whole).

    More than ``max_lines`` lines end in "…" on the last.
    """
    em_mm = size_pt * 25.4 / 72
    lines, line = [], ""
    for token in _tokens(text):
        if line and width_em(line + token) * em_mm > width_mm and token not in _NO_LINE_START:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], fit(" ".join(lines[max_lines - 1 :]), width_mm, size_pt)]
    return lines


#: Characters a line may not start with (closing punctuation stays on the line before).
_NO_LINE_START = frozenset("，。：；、）！？,.:;)!?")


def _tokens(text: str) -> list[str]:
    """Split into CJK characters and space-led Latin words (break points for wrapping)."""
    out: list[str] = []
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in "WF"
        if wide or not out or ch == " " or unicodedata.east_asian_width(out[-1][-1]) in "WF":
            out.append(ch)
        else:
            out[-1] += ch
    return out
