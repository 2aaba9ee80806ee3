"""Workspace commands: init, import, export, layers, db upgrade."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.options import FormatOption, OutputFormat, WorkspaceOption, group, say

db_app = group("Workspace schema (数据库结构).")


def init(
    location: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH_OR_URL",
            help="New GeoPackage path or PostgreSQL URL (the same as --workspace)",
            show_default=False,
        ),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Load the illustrative demo layers.")] = False,
    exist_ok: Annotated[
        bool, typer.Option(help="If a workspace is already there, keep it and say so.")
    ] = False,
    workspace: WorkspaceOption = None,
):
    """Create a workspace with Shanghai's districts (and with --demo, illustrative layers)."""
    from parkplan.errors import WorkspaceError
    from parkplan.services.demo import create_workspace
    from parkplan.store import Workspace, resolve_location

    location = resolve_location(location or workspace)

    if exist_ok:
        try:
            Workspace.open(location).close()
        except WorkspaceError:
            pass
        else:
            say("cli.init.kept", location=location)
            return
    with create_workspace(location, demo=demo) as ws:
        counts = {info.name: info.features for info in ws.describe()}
    summary = ", ".join(f"{name} {n}" for name, n in counts.items())
    say("cli.init.created", location=location, summary=summary)
    if demo:
        say("cli.init.illustrative")


def import_(
    layer: Annotated[str, typer.Argument(help="Layer (see 'parkplan layers')")],
    file: Annotated[
        Path, typer.Argument(help="GeoPackage, GeoJSON, Shapefile, CSV (lon/lat columns) or XLSX")
    ],
    crs: Annotated[
        str | None,
        typer.Option(
            help="The coordinates' CRS: EPSG code, WKT, gcj02 (AMap/Tencent) or bd09 "
            "(Baidu) [default: the file's, else WGS-84]"
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of a CSV or Shapefile [default: UTF-8, then GBK]"),
    ] = None,
    source_layer: Annotated[
        str | None, typer.Option(help="Layer to read from a multi-layer GeoPackage")
    ] = None,
    append: Annotated[bool, typer.Option(help="Add to the layer instead of replacing it.")] = False,
    workspace: WorkspaceOption = None,
):
    """Import a file into a layer: all records or none."""
    from parkplan.services.imports import import_layer
    from parkplan.store import Workspace, resolve_location

    with Workspace.open(workspace) as ws:
        n = import_layer(
            ws, layer, file, crs=crs, encoding=encoding, source_layer=source_layer, append=append
        )
    say("cli.imported", n=n, layer=layer, file=file, location=resolve_location(workspace))


def export(
    layer: Annotated[str, typer.Argument(help="Layer to export")],
    file: Annotated[Path, typer.Argument(help="Output .gpkg, .geojson, .shp, .csv or .xlsx")],
    workspace: WorkspaceOption = None,
):
    """Export a layer to a file (CSV and XLSX of point layers get lon/lat columns)."""
    from parkplan.services.imports import export_layer
    from parkplan.store import Workspace

    with Workspace.open(workspace) as ws:
        n = export_layer(ws, layer, file)
    say("cli.exported", n=n, layer=layer, file=file)


def list_layers(
    output: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
):
    """List the workspace's layers: features, CRS, bounds, area."""
    from parkplan.store import Workspace

    with Workspace.open(workspace) as ws:
        infos = ws.describe()
        illustrative = ws.get_meta("illustrative")
        location = ws.location
    if output == OutputFormat.json:
        typer.echo(
            json.dumps(
                {
                    "workspace": location,
                    "illustrative": illustrative,
                    "layers": [i.to_dict() for i in infos],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if illustrative:
        typer.echo(illustrative)
    typer.echo(f"{'layer':<14}{'features':>9}  {'geometry':<13}{'area km²':>10}  bounds")
    for i in infos:
        bounds = " ".join(f"{v:.4f}" for v in i.bounds) if i.bounds else "-"
        area = f"{i.area_km2:,.1f}" if i.area_km2 is not None else "-"
        typer.echo(
            f"{i.name:<14}{i.features:>9}  {i.geometry_type or 'table':<13}{area:>10}  {bounds}"
        )


@db_app.command("upgrade")
def db_upgrade(workspace: WorkspaceOption = None):
    """Apply pending schema migrations to the workspace."""
    from parkplan.store import Workspace

    with Workspace.open(workspace, check_schema=False) as ws:
        before, after = ws.upgrade()
    say("cli.db.upgraded", before=before or "(none)", after=after)
