"""Map and brief commands: ``parkplan map`` (one HTML file), ``parkplan brief`` (one PDF page)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli import AsOfOption, AsOption, WorkspaceOption, _user_errors, app
from parkplan.cli.tracker import _date
from parkplan.errors import ParkplanError
from parkplan.store import Workspace


class BasemapChoice(StrEnum):
    """Basemaps of ``parkplan map``."""

    none = "none"
    osm = "osm"
    tianditu = "tianditu"
    amap = "amap"


class Language(StrEnum):
    """Which language comes first."""

    zh = "zh"
    en = "en"


RunOption = Annotated[
    str | None,
    typer.Option(
        "--run",
        metavar="RUN_ID",
        help="Stored siting run to draw: id, unique prefix or scenario name (default: the "
        "adopted plan, else the latest)",
    ),
]
NoPlanOption = Annotated[bool, typer.Option("--no-plan", help="Draw no plan.")]

#: Layers ``parkplan map`` reads.
MAP_LAYERS = ("districts", "parks", "sites", "institutions", "clusters", "candidates")


@app.command("map")
@_user_errors
def map_(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write")],
    run: RunOption = None,
    no_plan: NoPlanOption = False,
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
    language: Annotated[Language, typer.Option(help="Language shown first")] = Language.zh,
    workspace: WorkspaceOption = None,
):
    """Write the park map as one self-contained HTML file (opens from file://, no network)."""
    from parkplan.maps import park_map, save_offline
    from parkplan.services.maps import load_plan

    with Workspace.open(workspace) as ws:
        layers = {name: ws.read_layer(name) for name in MAP_LAYERS}
        plan = None if no_plan else load_plan(ws, run)
    try:
        m = park_map(
            layers,
            plan=plan,
            basemap=basemap.value,
            tianditu_key=tianditu_key,
            title=title,
            language=language.value,
        )
    except ValueError as err:
        raise ParkplanError(str(err)) from None
    save_offline(m, out)
    drawn = f"plan {plan.label()}" if plan else "no plan"
    typer.echo(f"wrote {out} ({out.stat().st_size / 1024:,.0f} KiB, {drawn})")
    if basemap is not BasemapChoice.none:
        typer.echo(
            f"note: the {basemap.value} basemap loads tiles from the network when the map is opened"
        )


@app.command("brief")
@_user_errors
def brief(
    out: Annotated[Path, typer.Option("--out", "-o", help="PDF file to write")],
    user: AsOption = None,
    as_of: AsOfOption = None,
    run: RunOption = None,
    workspace: WorkspaceOption = None,
):
    """Write the leader brief: one A4 page in Chinese (map, nine ratings, escalations)."""
    from parkplan.services.briefs import write_brief

    with Workspace.open(workspace) as ws:
        path = write_brief(ws, out, user=user, as_of=_date(as_of, "--as-of"), run_id=run)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KiB)")
