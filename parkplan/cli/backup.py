"""Backup commands: backup, restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.options import WorkspaceOption, out_option, say


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n / 1024:,.0f} KiB"


def backup_(
    out: Annotated[Path, out_option("Backup file to write")],
    force: Annotated[bool, typer.Option(help="Replace an existing file at --out.")] = False,
    workspace: WorkspaceOption = None,
):
    """Back up the workspace to one file (consistent even while it is in use)."""
    from parkplan.store.backup import backup

    info = backup(workspace, out, force=force)
    what = f"schema {info.schema} of {info.location}" if info.schema else info.location
    say("cli.backup.done", what=what, path=info.path, size=_size(info.size), rev=info.revision)


def restore_(
    path: Annotated[Path, typer.Argument(help="Backup file written by 'parkplan backup'")],
    force: Annotated[bool, typer.Option(help="Replace the workspace already there.")] = False,
    workspace: WorkspaceOption = None,
):
    """Restore a backup into the workspace location: all of it or nothing."""
    from parkplan.store.backup import restore

    info = restore(path, workspace, force=force)
    what = f"schema {info.schema} of {info.location}" if info.schema else info.location
    say("cli.restore.done", what=what, path=info.path, rev=info.revision)
    if not info.current:
        say("cli.restore.upgrade", location=info.location)
