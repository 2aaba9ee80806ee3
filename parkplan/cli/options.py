"""The options every command shares, how their values are read, and what they open.

One spelling per idea across the whole command line (``tests/test_cli_tree.py`` checks):
``-w/--workspace``, ``--as USER``, ``--as-of DATE``, ``--task N`` (1–9), ``-o/--out FILE``,
``--lang zh|en``, ``--format table|json`` and ``--version N`` for the record version read.

This module imports no heavy library: ``parkplan --help`` builds every command from it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from parkplan.i18n import both

if TYPE_CHECKING:
    from parkplan.tracker import Tracker


class OutputFormat(StrEnum):
    """How list commands print."""

    table = "table"
    json = "json"


class Language(StrEnum):
    """Which language comes first (maps) or labels a report."""

    zh = "zh"
    en = "en"


#: Task numbers of the programme: the policy's nine tasks （一）…（九）.
TASK_MIN, TASK_MAX = 1, 9

WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        metavar="PATH_OR_URL",
        help="GeoPackage path or postgresql:// URL [default: $PARKPLAN_WORKSPACE, then "
        "./parkplan.gpkg]",
    ),
]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="PARKPLAN_USER",
        metavar="USER",
        help="Who acts [default: $PARKPLAN_USER; without it, read public records anonymously]",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="Date to rate and compute slip at, YYYY-MM-DD [default: today]",
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="The records as they stood at the end of this day, YYYY-MM-DD "
        "[default: all, up to now]",
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table or json")]
LangOption = Annotated[
    Language, typer.Option("--lang", help="zh: Chinese first, English second; en: English first")
]
VersionOption = Annotated[
    int,
    typer.Option("--version", help="The version you read (from 'list'); a stale one is refused"),
]


def group(help: str) -> typer.Typer:
    """Return a command group: plain click help (so ``[default: ...]`` texts survive).

    Parameters
    ----------
    help : str
        What the group's commands are about.
    """
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, add_completion=False)


def out_option(help: str) -> Any:
    """Return the ``-o/--out FILE`` option of a command that writes a file.

    Parameters
    ----------
    help : str
        What the file is.
    """
    return typer.Option("--out", "-o", metavar="FILE", help=help)


def task_option(help: str = "Only this task (1–9)") -> Any:
    """Return the ``--task N`` option: a task number 1–9, anything else refused (exit 2).

    Parameters
    ----------
    help : str
        What the task selects.
    """
    return typer.Option("--task", metavar="N", callback=_check_tasks, help=help)


def _check_tasks(value: int | list[int] | None) -> int | list[int] | None:
    for n in value if isinstance(value, list) else () if value is None else (value,):
        check_task(n, "--task")
    return value


def renamed(old: str, new: str) -> Any:
    """Return a hidden option that keeps an option's old spelling working.

    Parameters
    ----------
    old : str
        The old spelling, e.g. ``"--out-dir"``.
    new : str
        The spelling ``--help`` shows, e.g. ``"--out"``.
    """
    return typer.Option(old, hidden=True, help=f"Old spelling of {new}.")


def either(new: Any, old: Any, default: Any = None) -> Any:
    """Return the value given under the new spelling, else the old one, else ``default``."""
    if new is not None:
        return new
    return old if old is not None else default


def parse_date(value: str | None, option: str) -> date | None:
    """Read a ``YYYY-MM-DD`` option value (``None`` passes through).

    Raises
    ------
    typer.BadParameter
        For anything else: click reports it with the option's name and exit status 2.
    """
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            both("cli.error.not_date", value=value), param_hint=option
        ) from None


def parse_moment(value: str, option: str) -> date | datetime:
    """Read a ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` option value.

    Raises
    ------
    typer.BadParameter
        For anything else.
    """
    try:
        return (
            datetime.fromisoformat(value)
            if "T" in value or " " in value
            else date.fromisoformat(value)
        )
    except ValueError:
        raise typer.BadParameter(
            both("cli.error.not_moment", value=value), param_hint=option
        ) from None


def parse_ids(value: str | None) -> tuple[str, ...] | None:
    """Split a comma-separated option value (``''`` gives none, ``None`` passes through)."""
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def parse_tasks(value: str | None, option: str) -> tuple[int, ...] | None:
    """Read a comma-separated list of task numbers, each 1–9.

    Raises
    ------
    typer.BadParameter
        For a number outside 1–9 or anything that is not a number.
    """
    try:
        numbers = None if value is None else tuple(int(t) for t in parse_ids(value))
    except ValueError:
        raise typer.BadParameter(
            both("cli.error.not_tasks", value=value), param_hint=option
        ) from None
    for n in numbers or ():
        check_task(n, option)
    return numbers


def check_task(number: int, option: str) -> int:
    """Return ``number`` if it is a task number (1–9).

    Raises
    ------
    typer.BadParameter
        Otherwise.
    """
    if not TASK_MIN <= number <= TASK_MAX:
        raise typer.BadParameter(both("cli.error.no_task", value=number), param_hint=option)
    return number


def given(**options: Any) -> dict[str, Any]:
    """Return the options that were given (not ``None``), for a partial update."""
    return {k: v for k, v in options.items() if v is not None}


@contextlib.contextmanager
def open_tracker(workspace: str | None, user: str | None) -> Iterator[Tracker]:
    """Open the workspace and the tracker as ``user`` for one command."""
    from parkplan.store import Workspace
    from parkplan.tracker import Tracker

    with Workspace.open(workspace) as ws:
        yield Tracker(ws, user)


def say(key: str, *, err: bool = False, **values: Any) -> None:
    """Print the catalogue's message ``key``, Chinese first, then English.

    Parameters
    ----------
    key : str
        A ``cli.*`` key of :mod:`parkplan.i18n`.
    err : bool
        Print to standard error (notes and warnings) instead of standard output.
    **values
        The message's fields.
    """
    typer.echo(both(key, **values), err=err)


def print_json(items: Any) -> None:
    """Print a record, or a list of records, as JSON (their ``to_dict()``)."""
    data = [i.to_dict() for i in items] if isinstance(items, list | tuple) else items.to_dict()
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def cut(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"
