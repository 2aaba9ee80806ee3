"""Helpers shared by the reports: whole-file writes, the major matters' clock, durations."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from parkplan.i18n import Language, t


def one_line(text: Any) -> str:
    """Return ``text`` on one line: runs of whitespace (newlines included) become one space."""
    return " ".join(str(text or "").split())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    A failed write leaves neither a partial file nor the temporary one; the file gets the
    usual permissions (``0666`` less the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def matter_clock(matter: Any, now: datetime) -> dict[str, Any]:
    """Where a major matter stands against its report deadline at ``now``.

    Returns
    -------
    dict
        ``state``: ``open`` (not reported, deadline ahead; ``hours`` left), ``overdue``
        (not reported, deadline passed; ``hours`` late), ``on_time`` or ``late`` (reported;
        ``hours`` late, 0 when on time).
    """
    if matter.reported_at is not None:
        late = matter.reported_at - matter.report_deadline
        if late > timedelta(0):
            return {"state": "late", "hours": _hours(late)}
        return {"state": "on_time", "hours": 0.0}
    if now > matter.report_deadline:
        return {"state": "overdue", "hours": _hours(now - matter.report_deadline)}
    return {"state": "open", "hours": _hours(matter.report_deadline - now)}


def duration(lang: Language) -> Callable[[float], str]:
    """Return a function writing a number of hours as ``"14.0小时"`` or ``"2.5天"`` (≥ 48 h)."""

    def fmt(hours: float) -> str:
        if abs(hours) >= 48:
            return t("report.days", lang, n=f"{hours / 24:.1f}")
        return t("report.hours", lang, n=f"{hours:.1f}")

    return fmt


__all__ = ["atomic_path", "duration", "matter_clock"]
