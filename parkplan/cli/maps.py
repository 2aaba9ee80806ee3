"""``parkplan map``: the park map as one self-contained HTML file."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parkplan.cli.options import (
    LangOption,
    Language,
    WorkspaceOption,
    out_option,
    parse_date,
    renamed,
    say,
)

if TYPE_CHECKING:
    from parkplan.store import Workspace


class BasemapChoice(StrEnum):
    """Basemaps of ``parkplan map``."""

    none = "none"
    osm = "osm"
    tianditu = "tianditu"
    amap = "amap"


RunOption = Annotated[
    str | None,
    typer.Option(
        "--run",
        metavar="RUN_ID",
        help="Stored siting run to draw: id, unique prefix or scenario name [default: the "
        "adopted plan, else the latest]",
    ),
]


def _run_as_of(workspace: Workspace, day: date) -> str | None:
    """Return the run a map of ``day`` draws: adopted if recorded by then, else the newest."""
    from parkplan.services.maps import PLANNED
    from parkplan.store import ledger

    runs = [
        r
        for r in ledger.list_runs(workspace)
        if r.status in PLANNED and r.created_at[:10] <= day.isoformat()
    ]
    chosen = next((r for r in runs if r.adopted), runs[0] if runs else None)
    return chosen.run_id if chosen is not None else None


def map_(
    out: Annotated[Path, out_option("HTML file to write")],
    run: RunOption = None,
    no_plan: Annotated[bool, typer.Option("--no-plan", help="Draw no plan.")] = False,
    basemap: Annotated[
        BasemapChoice, typer.Option(help="Web tiles under the map; 'none' keeps it fully offline")
    ] = BasemapChoice.none,
    tianditu_key: Annotated[
        str | None,
        typer.Option(
            envvar="PARKPLAN_TIANDITU_KEY",
            show_envvar=True,
            help="Tianditu key (for --basemap tianditu)",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title shown on the map")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Draw the plan as it stood at the end of this day, YYYY-MM-DD: the adopted "
            "run if it was recorded by then, else the newest run recorded by then "
            "[default: now]",
        ),
    ] = None,
    lang: LangOption = Language.zh,
    language: Annotated[Language | None, renamed("--language", "--lang")] = None,
    workspace: WorkspaceOption = None,
):
    """Write the park map as one self-contained HTML file (opens from file://, no network)."""
    from parkplan.errors import ParkplanError
    from parkplan.maps import park_map, save_offline
    from parkplan.services.maps import load_plan, workspace_layers
    from parkplan.store import Workspace

    day = parse_date(as_of, "--as-of")
    with Workspace.open(workspace) as ws:
        layers = workspace_layers(ws, candidates=True)
        if day is not None and run is None and not no_plan:
            run = _run_as_of(ws, day)
            no_plan = run is None
        plan = None if no_plan else load_plan(ws, run)
    try:
        m = park_map(
            layers,
            plan=plan,
            basemap=basemap.value,
            tianditu_key=tianditu_key,
            title=title,
            language=(language or lang).value,
        )
    except ValueError as err:
        raise ParkplanError(str(err)) from None
    save_offline(m, out)
    kib = f"{out.stat().st_size / 1024:,.0f}"
    if plan:
        say("cli.map.wrote_plan", path=out, kib=kib, plan=plan.label())
    else:
        say("cli.map.wrote", path=out, kib=kib)
    if basemap is not BasemapChoice.none:
        say("cli.map.online", basemap=basemap.value)
