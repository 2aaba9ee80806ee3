"""Import files into a workspace and export layers from it, keeping references whole.

The files are read and validated by :mod:`parkplan.io.files` (which knows no store); this
module checks the references between layers against the workspace and writes them, all or
nothing, in one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection

from parkplan import layers
from parkplan.errors import InputError, Problem
from parkplan.i18n import t
from parkplan.io.files import MAX_IMPORT_BYTES, read_layer_file, write_layer_file
from parkplan.store import Workspace


@dataclass(frozen=True)
class LayerImport:
    """One file to import into one layer, and how to read it.

    See :func:`parkplan.io.files.read_layer_file` for the options.
    """

    layer: str
    path: str | os.PathLike
    crs: str | None = None
    encoding: str | None = None
    source_layer: str | None = None


def import_layers(
    workspace: Workspace,
    imports: Sequence[LayerImport],
    *,
    append: bool = False,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> dict[str, int]:
    """Read, validate and write several layer files in one transaction.

    Every file is read and validated first; references between layers (a site's park, a
    park's district) are checked against the workspace as it will be after the import,
    in both directions. Only when nothing is wrong is anything written, and then all of
    it at once.

    Parameters
    ----------
    workspace : Workspace
    imports : sequence of LayerImport
    append : bool
        Add records to the layers instead of replacing them.
    max_bytes : int
        Files larger than this are refused.

    Returns
    -------
    dict of str to int
        Records imported per layer.

    Raises
    ------
    InputError
        Naming file, row, column and reason of every problem; the workspace is unchanged.
    """
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for item in imports:
        if item.layer in frames:
            raise InputError(
                [
                    Problem(
                        str(item.path),
                        None,
                        None,
                        t("services.import.twice", "en", layer=item.layer),
                    )
                ]
            )
        try:
            frames[item.layer] = read_layer_file(
                item.path,
                item.layer,
                crs=item.crs,
                encoding=item.encoding,
                source_layer=item.source_layer,
                max_bytes=max_bytes,
            )
            files[item.layer] = str(item.path)
        except InputError as err:
            problems += err.problems
    if problems:
        raise InputError(problems)
    with workspace.begin() as conn:
        after = _layers_after(workspace, conn, frames, append)
        problems = _reference_problems(after, frames, files)
        if append:
            problems += _appended_duplicates(workspace, conn, frames, files)
        if problems:
            raise InputError(problems)
        ordered = {name: frames[name] for name in layers.LAYERS if name in frames}
        workspace.write_layers(ordered, append=append, conn=conn)
    return {name: len(frame) for name, frame in frames.items()}


def import_layer(
    workspace: Workspace,
    layer: str,
    path: str | os.PathLike,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    append: bool = False,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> int:
    """Import one file into one layer; see :func:`import_layers`.

    Returns
    -------
    int
        Records imported.
    """
    counts = import_layers(
        workspace,
        [LayerImport(layer, path, crs, encoding, source_layer)],
        append=append,
        max_bytes=max_bytes,
    )
    return counts[layer]


def export_layer(workspace: Workspace, layer: str, path: str | os.PathLike) -> int:
    """Write layer ``layer`` to ``path`` in the format its extension names.

    Returns
    -------
    int
        Records written.
    """
    frame = workspace.read_layer(layer)
    write_layer_file(frame, Path(path), layer)
    return len(frame)


def _layers_after(
    workspace: Workspace, conn: Connection, frames: dict[str, pd.DataFrame], append: bool
) -> dict[str, pd.DataFrame]:
    """Return the id and reference columns every layer involved will hold after the import."""
    involved = set(frames)
    for ref in layers.REFERENCES:
        if ref.layer in frames or ref.target in frames:
            involved |= {ref.layer, ref.target}
    after = {}
    for name in involved:
        keep = {layers.id_column(name)} | {r.column for r in layers.REFERENCES if r.layer == name}
        stored = pd.DataFrame(workspace.read_layer(name, conn))[sorted(keep)]
        if name not in frames:
            after[name] = stored
        elif append:
            after[name] = pd.concat([stored, frames[name][sorted(keep)]], ignore_index=True)
        else:
            after[name] = frames[name][sorted(keep)]
    return after


def _reference_problems(
    after: dict[str, pd.DataFrame], frames: dict[str, pd.DataFrame], files: dict[str, str]
) -> list[Problem]:
    problems = []
    for ref in layers.REFERENCES:
        if ref.layer not in after or ref.target not in after:
            continue
        known = set(after[ref.target][ref.target_column])
        if ref.layer in frames:
            values = frames[ref.layer][ref.column]
            for i in values.index[~values.isin(known)]:
                hint = (
                    t("services.import.target_empty", "en", target=ref.target)
                    if not known
                    else t(
                        "services.import.not_a_target",
                        "en",
                        column=ref.target_column,
                        target=ref.target,
                    )
                )
                problems.append(
                    Problem(
                        files[ref.layer],
                        int(i) + 1,
                        ref.column,
                        t(
                            "services.import.unknown_reference",
                            "en",
                            kind=ref.target[:-1],
                            value=repr(values[i]),
                            hint=hint,
                        ),
                    )
                )
        elif ref.target in frames:
            orphans = after[ref.layer][~after[ref.layer][ref.column].isin(known)]
            if len(orphans):
                ids = sorted(set(orphans[ref.column]))
                problems.append(
                    Problem(
                        files[ref.target],
                        None,
                        ref.target_column,
                        t(
                            "services.import.orphans",
                            "en",
                            count=len(orphans),
                            layer=ref.layer,
                            ids=", ".join(map(repr, ids[:10])),
                        ),
                    )
                )
    return problems


def _appended_duplicates(
    workspace: Workspace, conn: Connection, frames: dict[str, pd.DataFrame], files: dict[str, str]
) -> list[Problem]:
    problems = []
    for name, frame in frames.items():
        id_col = layers.id_column(name)
        stored = set(workspace.read_layer(name, conn)[id_col])
        for i in frame.index[frame[id_col].isin(stored)]:
            problems.append(
                Problem(
                    files[name],
                    int(i) + 1,
                    id_col,
                    t(
                        "services.import.duplicate",
                        "en",
                        value=repr(frame.at[i, id_col]),
                        layer=name,
                    ),
                )
            )
    return problems
