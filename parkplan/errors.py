"""Errors that parkplan reports to its users.

Every error a user can cause derives from :class:`ParkplanError`; the CLI and the app
show its message and never a traceback. Input errors carry a list of :class:`Problem`
records naming the file, row, column and reason.
"""

from __future__ import annotations

from dataclasses import dataclass


class ParkplanError(Exception):
    """Base class of every error that is the user's to fix."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    Parameters
    ----------
    file : str
        The file (or ``"<memory>"``) the record came from.
    row : int or None
        1-based number of the record in the file, header excluded; ``None`` when the
        problem is with the whole file or a whole column.
    column : str or None
        The column concerned, ``None`` for the whole record or file.
    reason : str
        What is wrong, in words a user can act on.
    """

    file: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.reason}"


class InputError(ParkplanError):
    """An input file or record is invalid; nothing was written.

    Parameters
    ----------
    problems : list of Problem
        Every problem found (validation is lazy: all are reported at once).
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        shown = self.problems[:20]
        lines = [str(p) for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"... and {len(self.problems) - len(shown)} more problems")
        super().__init__("\n".join(lines))


class WorkspaceError(ParkplanError):
    """The workspace cannot be opened, created or migrated as asked."""


class SitingError(ParkplanError):
    """A scenario or siting instance is invalid, or a solve cannot proceed."""
