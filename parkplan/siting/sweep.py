"""Parameter sweeps: one scenario solved over a grid of values, in parallel.

Local processes by default; a Dask distributed cluster when one machine is not enough.
Each grid point is a full solve of the scenario with some keys changed; the sweep returns a
table, and :func:`plot_sweep` draws the objective against the varied parameter.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parkplan.errors import SitingError
from parkplan.siting.model import SitingModel
from parkplan.siting.scenario import Scenario, build_instance
from parkplan.siting.scoring import suitability


@dataclass(frozen=True)
class Axis:
    """One varied scenario key and its values."""

    key: str
    values: tuple[float, ...]


def parse_vary(text: str) -> Axis:
    """Parse ``KEY=START:STOP:N`` (N evenly spaced values) or ``KEY=V1,V2,...``.

    Keys may be dotted (``quotas.tier.international_major=1,2,3``).

    Raises
    ------
    SitingError
        On a malformed specification.
    """
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key or not spec:
        raise SitingError(f"--vary {text!r}: write KEY=START:STOP:N or KEY=V1,V2,...")
    try:
        if ":" in spec:
            start, stop, n = spec.split(":")
            count = int(n)
            if count < 1:
                raise ValueError
            values = tuple(float(v) for v in np.linspace(float(start), float(stop), count))
        else:
            values = tuple(float(v) for v in spec.split(","))
    except ValueError:
        raise SitingError(
            f"--vary {text!r}: START, STOP must be numbers and N a whole "
            "number ≥ 1 (or give a comma-separated list)"
        ) from None
    return Axis(key, values)


def grid(scenario: Scenario, axes: Sequence[Axis]) -> list[dict[str, float]]:
    """Return every combination of the axes' values, validated against the scenario.

    Raises
    ------
    SitingError
        If a key does not exist in the scenario, or a value is invalid for it.
    """
    points = [
        dict(zip([a.key for a in axes], combo, strict=True))
        for combo in itertools.product(*(a.values for a in axes))
    ]
    for point in points:
        _changed(scenario, point)
    return points


def _changed(scenario: Scenario, point: dict[str, float]) -> Scenario:
    """Return the scenario with the point's keys set (quotas as whole numbers)."""
    data = scenario.model_dump()
    for dotted in point:
        node: Any = data
        *path, last = dotted.split(".")
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        # Quota and weight tables may gain keys; anything else must exist already.
        open_table = path[:1] in (["quotas"], ["scoring"]) and len(path) == 2
        if not isinstance(node, dict) or (last not in node and not open_table):
            raise SitingError(f"--vary {dotted}: the scenario has no key {dotted!r}")
    return scenario.with_changes(
        **{k: int(v) if k.startswith("quotas.") else v for k, v in point.items()}
    )


def solve_point(
    scenario: Scenario, point: dict[str, float], frames: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    """Solve one grid point; return a table row (never raises for a bad point)."""
    row: dict[str, Any] = dict(point)
    try:
        sc = _changed(scenario, point)
        score = suitability(
            frames["candidates"],
            frames["sites"],
            frames["clusters"],
            frames["institutions"],
            frames["transport"],
            sc.scoring.to_weights(),
        )
        inst = build_instance(sc, frames["sites"], frames["candidates"], score.values)
        res = (
            SitingModel.from_instance(inst)
            .solve(sc.solver.name, sc.solver.time_limit, sc.solver.gap)
            .result
        )
    except SitingError as err:
        return {**row, "status": "error", "message": str(err)}
    subsidy = inst.candidates.set_index("cand_id")["subsidy"]
    fitout = inst.sites.set_index("site_id")["fitout_cost"]
    return {
        **row,
        "status": res.status,
        "objective": res.objective,
        "bound": res.bound,
        "gap": res.gap,
        "recruited": len(res.allocation),
        "budget_used": float(
            sum(subsidy[c] for c, _, _ in res.allocation)
            + sum(fitout[s] for s in {s for _, s, _ in res.allocation})
        ),
        "seconds": res.seconds["total"],
        "message": res.message,
    }


def run_sweep(
    scenario: Scenario,
    axes: Sequence[Axis],
    frames: dict[str, pd.DataFrame],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Solve the scenario at every grid point, in parallel.

    Parameters
    ----------
    scenario : Scenario
    axes : sequence of Axis
    frames : dict of str to DataFrame
        The workspace layers (``parkplan.services.planning.read_inputs``).
    workers : int, optional
        Local processes (default: the number of CPUs).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``) or a
        ``distributed.Client``; the grid then runs on that cluster.
    progress : callable, optional
        ``progress(done, total)`` after each point.

    Returns
    -------
    DataFrame
        One row per grid point, in grid order: the varied keys, ``status, objective,
        bound, gap, recruited, budget_used, seconds, message``.
    """
    points = grid(scenario, axes)
    rows: list[dict[str, Any] | None] = [None] * len(points)
    done = 0
    if scheduler is not None:
        from distributed import Client
        from distributed import as_completed as dask_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            shared = client.scatter(frames, broadcast=True)
            futures = {
                client.submit(solve_point, scenario, p, shared, pure=False): i
                for i, p in enumerate(points)
            }
            for fut in dask_completed(futures):
                rows[futures[fut]] = fut.result()
                done += 1
                if progress:
                    progress(done, len(points))
        finally:
            if not isinstance(scheduler, Client):
                client.close()
    else:
        # Spawned, not forked: a fork of a process whose HiGHS thread pool is running can
        # deadlock in the child.
        with ProcessPoolExecutor(
            max_workers=workers or os.cpu_count(), mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            futures = {
                pool.submit(solve_point, scenario, p, frames): i for i, p in enumerate(points)
            }
            for fut in as_completed(futures):
                rows[futures[fut]] = fut.result()
                done += 1
                if progress:
                    progress(done, len(points))
    return pd.DataFrame(rows)


def plot_sweep(table: pd.DataFrame, key: str, path: str | os.PathLike, title: str = "") -> Path:
    """Draw the objective against ``key`` as a PNG (CJK-capable font where installed).

    Points without a plan (infeasible, no solution) are marked on the axis.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = [
        "Noto Sans CJK SC",
        "Noto Sans CJK JP",
        "WenQuanYi Zen Hei",
        "DejaVu Sans",
    ]
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    others = [
        c
        for c in table.columns
        if c
        not in (
            "status",
            "objective",
            "bound",
            "gap",
            "recruited",
            "budget_used",
            "seconds",
            "message",
            key,
        )
    ]
    groups = table.groupby(others) if others else [((), table)]
    for label, part in groups:
        part = part.sort_values(key)
        ok = part["status"].isin(["optimal", "feasible"])
        name = (
            ", ".join(f"{k}={v:g}" for k, v in zip(others, np.atleast_1d(label), strict=False))
            or "objective"
        )
        ax.plot(part.loc[ok, key], part.loc[ok, "objective"], marker="o", label=name)
        if (~ok).any():
            ax.scatter(
                part.loc[~ok, key],
                np.zeros((~ok).sum()),
                marker="x",
                color="red",
                label="无可行方案 infeasible",
            )
    ax.set_xlabel(key)
    ax.set_ylabel("目标值 Objective")
    ax.set_title(title or f"目标值随 {key} 变化 · Objective against {key}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
