"""The ``parkplan`` command line: thin wrappers over the library.

Each command calls one library function and turns a :class:`parkplan.errors.ParkplanError`
into a message on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import functools
import logging
from enum import StrEnum
from typing import Annotated

import typer

from parkplan.errors import ParkplanError

app = typer.Typer(
    help="parkplan — 上海检验检测认证先行先试 · Shanghai TIC pilot programme "
    "planning, tracking and park maps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Workspace schema (数据库结构).", no_args_is_help=True)
app.add_typer(db_app, name="db")

log = logging.getLogger("parkplan")

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


class OutputFormat(StrEnum):
    """How list commands print."""

    table = "table"
    json = "json"


def _user_errors(fn):
    """Turn the library's user-facing errors into a message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ParkplanError as err:
            typer.echo(f"parkplan: error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper


@app.callback()
def main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Errors only.")] = False,
):
    """Set up logging for every command."""
    level = (
        logging.ERROR
        if quiet
        else logging.DEBUG
        if verbose > 1
        else logging.INFO
        if verbose
        else logging.WARNING
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# Command modules register themselves on ``app``; imported last so they can use the above.
from parkplan.cli import (  # noqa: E402, F401, I001
    backup,
    maps_cli,
    reports,
    serve,
    siting,
    tracker,
    tracker_extra,
    workspace,
)
