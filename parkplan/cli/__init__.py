"""The ``parkplan`` command line: thin wrappers over the library.

Each module of this package holds the commands of one domain, as plain functions or as its
own ``typer.Typer`` group; this module registers them all, in the order ``--help`` lists
them, and is the one place that turns a :class:`parkplan.errors.ParkplanError` into a
message on standard error and exit status 2, never a traceback.

Start-up is kept short: the command modules import only typer and :mod:`.options` at the
top; geopandas, the store, the solver, folium and panel are imported inside the commands
that use them (``tests/test_cli_tree.py`` checks that ``--help`` imports no pandas).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from parkplan.cli import (
    backup,
    baselines,
    escalations,
    evidence,
    journal,
    kpis,
    maps,
    matters,
    meetings,
    milestones,
    notify,
    reports,
    risks,
    serve,
    siting,
    tasks,
    users,
    workspace,
)
from parkplan.errors import ParkplanError


class ParkplanGroup(TyperGroup):
    """The top-level group: builds a command when it is used, reports a user's mistake.

    Typer would build the whole tree of 56 commands (their signatures, options, help) at
    every start; this group builds only the one a user runs, and lists them all for
    ``--help`` from their first help line. That halves the start-up of ``parkplan --help``.
    """

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Return the command names in the order of :data:`COMMANDS`."""
        return [name for name, _ in COMMANDS]

    def get_command(self, ctx: typer.Context, cmd_name: str):
        """Return the command ``cmd_name``, built on first use (``None`` if there is none)."""
        if cmd_name not in self.commands:
            target = dict(COMMANDS).get(cmd_name)
            if target is None:
                return None
            if isinstance(target, typer.Typer):
                # get_group, not get_command: a group of one command stays a group.
                command = typer.main.get_group(target)
            else:
                single = typer.Typer(rich_markup_mode=None, add_completion=False)
                single.command(cmd_name)(target)
                command = typer.main.get_command(single)
            command.name = cmd_name
            self.commands[cmd_name] = command
        return self.commands[cmd_name]

    def format_commands(self, ctx: typer.Context, formatter) -> None:
        """List the commands with the first line of their help, building none of them."""
        rows = [(name, _first_line(target)) for name, target in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: typer.Context):
        """Run the command; a :class:`ParkplanError` becomes a message and exit status 2."""
        try:
            return super().invoke(ctx)
        except ParkplanError as err:
            typer.echo(f"parkplan: error: {err}", err=True)
            raise typer.Exit(2) from None


def _first_line(target: typer.Typer | Callable[..., Any]) -> str:
    text = target.info.help if isinstance(target, typer.Typer) else inspect.getdoc(target)
    return (text or "").strip().splitlines()[0]


app = typer.Typer(
    cls=ParkplanGroup,
    help="parkplan — 上海检验检测认证先行先试 · Shanghai TIC pilot programme "
    "planning, tracking and park maps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click help: Rich would read "[default: ...]" in help texts as markup and drop it.
    rich_markup_mode=None,
)

log = logging.getLogger("parkplan")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"parkplan {version('parkplan')}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Errors only.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
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


# Every command, in the order --help lists them: a workspace, planning on it, maps and reports
# from it, the programme's records, then running and keeping the service. ParkplanGroup
# builds each on first use.
COMMANDS: tuple[tuple[str, typer.Typer | Callable[..., Any]], ...] = (
    ("init", workspace.init),
    ("import", workspace.import_),
    ("export", workspace.export),
    ("layers", workspace.list_layers),
    ("solve", siting.solve),
    ("sweep", siting.sweep),
    ("scenarios", siting.scenarios_app),
    ("map", maps.map_),
    ("brief", reports.brief),
    ("report", reports.app),
    ("tasks", tasks.app),
    ("milestones", milestones.app),
    ("risks", risks.app),
    ("kpis", kpis.app),
    ("evidence", evidence.app),
    ("escalate", escalations.escalate),
    ("escalations", escalations.app),
    ("matters", matters.app),
    ("meetings", meetings.app),
    ("notify", notify.notify),
    ("outbox", notify.outbox_app),
    ("baseline", baselines.app),
    ("journal", journal.journal),
    ("users", users.app),
    ("serve", serve.serve),
    ("hash-password", serve.hash_password),
    ("backup", backup.backup_),
    ("restore", backup.restore_),
    ("db", workspace.db_app),
)
