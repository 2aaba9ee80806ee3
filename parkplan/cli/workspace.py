"""Workspace commands: init, import, export, layers, db upgrade."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from parkplan import layers as layer_schemas
from parkplan.cli import OutputFormat, WorkspaceOption, _user_errors, app, db_app
from parkplan.errors import WorkspaceError
from parkplan.store import Workspace, resolve_location


@app.command()
@_user_errors
def init(
    location: Annotated[
        str, typer.Argument(metavar="PATH_OR_URL", help="New GeoPackage path or PostgreSQL URL")
    ],
    demo: Annotated[bool, typer.Option(help="Load the illustrative demo layers.")] = False,
    exist_ok: Annotated[
        bool, typer.Option(help="If a workspace is already there, keep it and say so.")
    ] = False,
):
    """Create a workspace with Shanghai's districts (and with --demo, illustrative layers)."""
    from parkplan.services.demo import create_workspace

    if exist_ok:
        try:
            Workspace.open(location).close()
        except WorkspaceError:
            pass
        else:
            typer.echo(f"{location} already holds a workspace; keeping it")
            return
    with create_workspace(location, demo=demo) as ws:
        counts = {info.name: info.features for info in ws.describe()}
    summary = ", ".join(f"{name} {n}" for name, n in counts.items())
    typer.echo(f"created {location}: {summary}")
    if demo:
        typer.echo("示意数据 · the demo's parks, sites, institutions and candidates are invented")


@app.command("import")
@_user_errors
def import_(
    layer: Annotated[str, typer.Argument(help="Layer: " + ", ".join(layer_schemas.LAYERS))],
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

    with Workspace.open(workspace) as ws:
        n = import_layer(
            ws, layer, file, crs=crs, encoding=encoding, source_layer=source_layer, append=append
        )
    typer.echo(f"imported {n} {layer} records from {file} into {resolve_location(workspace)}")


@app.command()
@_user_errors
def export(
    layer: Annotated[str, typer.Argument(help="Layer to export")],
    file: Annotated[Path, typer.Argument(help="Output .gpkg, .geojson, .shp, .csv or .xlsx")],
    workspace: WorkspaceOption = None,
):
    """Export a layer to a file (CSV and XLSX of point layers get lon/lat columns)."""
    from parkplan.services.imports import export_layer

    with Workspace.open(workspace) as ws:
        n = export_layer(ws, layer, file)
    typer.echo(f"exported {n} {layer} records to {file}")


@app.command("layers")
@_user_errors
def list_layers(
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or json")
    ] = OutputFormat.table,
    workspace: WorkspaceOption = None,
):
    """List the workspace's layers: features, CRS, bounds, area."""
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
@_user_errors
def db_upgrade(workspace: WorkspaceOption = None):
    """Apply pending schema migrations to the workspace."""
    with Workspace.open(workspace, check_schema=False) as ws:
        before, after = ws.upgrade()
    typer.echo(f"schema {before or '(none)'} -> {after}")
