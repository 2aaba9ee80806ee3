"""The scenario studio: edit a scenario in forms, solve it off the event loop, see the plan.

A scenario — a file of ``models/scenarios``, or the scenario of a run stored in the
workspace's ledger (the latest run of each name) — is loaded into the form (weights,
budget, horizon, quotas, fixed and excluded pairs) and saved under a new name when changed
(a copy: the YAML files are never overwritten; the run's scenario is stored in the ledger,
so a copy solved once is offered as a base again, and can be downloaded as YAML).
Solving runs :func:`parkplan.services.planning.run_scenario` in the server's executor and awaits
it, so the event loop — and every other user's session — carries on; a progress bar and
a seconds counter show the solve is running; any error the solve raises ends it with a
notice (and a log entry), never a stuck status. The plan appears on the park map (on the
basemap the user picks) with its explanations; two stored runs compare side by side (the
user's choice of the two survives new runs); a run downloads as GeoPackage, XLSX or a
self-contained HTML map.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time

import panel as pn
import param

from parkplan import maps
from parkplan.errors import ParkplanError
from parkplan.layers import SECTORS, TIERS
from parkplan.services.planning import ExplainOptions, compare_runs, run_scenario
from parkplan.siting.scenario import Scenario
from parkplan.store import ledger
from parkplan.ui import plan, render
from parkplan.ui.common import BasemapPicker, NoticeBar, html_pane, session_map
from parkplan.ui.mapview import MapCache, iframe, map_document, workspace_layers
from parkplan.ui.state import Session

WEIGHTS = ("proximity", "agglomeration", "access")

#: Appended to a loaded scenario's name for the copy the form saves. Part of an identifier
#: (scenario names are ``[A-Za-z0-9_.-]``, the library's rule), so not a translated label.
COPY_SUFFIX = "-copy"

log = logging.getLogger("parkplan.ui")


def scenario_from_form(
    base: Scenario,
    *,
    name: str,
    budget: float,
    horizon: tuple[int, int],
    weights: dict[str, float],
    tiers: dict[str, int],
    sectors: dict[str, int],
    fixed: str,
    excluded: str,
    lang: str = "zh",
) -> Scenario:
    """Apply the form's values to ``base``: a validated copy named ``name``.

    Raises
    ------
    SitingError
        If the scenario is invalid (every problem listed).
    ValueError
        If a fixed or excluded line is not a pair.
    """
    return base.with_changes(
        **{
            "name": name,
            "budget": budget,
            "horizon": tuple(horizon),
            "scoring.weights": dict(weights),
            "quotas.tier": {k: int(v) for k, v in tiers.items() if v},
            "quotas.sector": {k: int(v) for k, v in sectors.items() if v},
            "fixed": plan.parse_pairs(fixed, lang),
            "excluded": plan.parse_pairs(excluded, lang),
        }
    )


class ScenarioStudio(pn.viewable.Viewer):
    """Scenario forms, a background solve, the plan on the map, comparison, downloads."""

    session = param.ClassSelector(class_=Session)
    maps = param.ClassSelector(class_=MapCache)
    running = param.Boolean(default=False, doc="A solve of this session is under way.")
    run_id = param.String(default=None, allow_None=True, doc="The run shown.")

    def __init__(self, **params):
        super().__init__(**params)
        s = self.session
        if self.maps is None:
            self.maps = s.services.maps()
        self._bases: dict[str, plan.ScenarioBase] = {}
        # wide, and the copy's name on a line of its own: a ledger base's label names its run
        self._base = pn.widgets.Select(width=360, css_classes=["pp-base"])
        self._name = pn.widgets.TextInput(width=360)
        self._load = pn.widgets.Button(width=120)
        self._load.on_click(lambda _e: self.load(self._base.value))
        self._budget = pn.widgets.FloatInput(start=0, step=1000, width=160)
        self._h0 = pn.widgets.IntInput(start=2000, end=2100, width=100)
        self._h1 = pn.widgets.IntInput(start=2000, end=2100, width=100)
        self._weights = {
            k: pn.widgets.FloatInput(start=0, end=1, step=0.05, width=120) for k in WEIGHTS
        }
        self._tiers = {k: pn.widgets.IntInput(start=0, end=100, width=165) for k in TIERS}
        self._sectors = {k: pn.widgets.IntInput(start=0, end=100, width=165) for k in SECTORS}
        self._fixed = pn.widgets.TextAreaInput(height=70, width=300)
        self._excluded = pn.widgets.TextAreaInput(height=70, width=300)
        self._explain = pn.widgets.Checkbox(value=True, css_classes=["pp-explain"])
        self._solve = pn.widgets.Button(button_type="primary", width=160, css_classes=["pp-solve"])
        self._solve.on_click(self._solve_clicked)
        self._progress = pn.indicators.Progress(
            active=True, visible=False, width=300, bar_color="primary"
        )
        self._status = pn.pane.Markdown("", css_classes=["pp-solve-status"])
        self._yaml = pn.widgets.FileDownload(
            callback=self._scenario_yaml, filename="scenario.yaml", width=200
        )
        self._runs = pn.widgets.Select(width=480)
        self._runs.param.watch(lambda e: setattr(self, "run_id", e.new), "value")
        self._summary = html_pane()
        self._explanation = html_pane()
        self._alloc = html_pane()
        self._map = html_pane(height=680, css_classes=["pp-plan-map"])
        self._downloads = {
            "gpkg": pn.widgets.FileDownload(callback=self._gpkg, filename="plan.gpkg", width=200),
            "xlsx": pn.widgets.FileDownload(callback=self._xlsx, filename="plan.xlsx", width=200),
            "html": pn.widgets.FileDownload(callback=self._html, filename="plan.html", width=200),
        }
        self._cmp_a = pn.widgets.Select(width=380)
        self._cmp_b = pn.widgets.Select(width=380)
        self._compare = pn.widgets.Button(width=140)
        self._compare.on_click(lambda _e: self._render_compare())
        self._cmp_defaults: tuple[str | None, str | None] = (None, None)
        self._comparison = html_pane()
        self._titles = {
            k: pn.pane.Markdown("")
            for k in (
                "form",
                "weights",
                "quotas",
                "pairs",
                "result",
                "map",
                "compare",
                "explanation",
                "allocations",
                "exports",
            )
        }
        form = pn.Column(
            self._titles["form"],
            pn.Row(self._base, self._load),
            self._name,
            pn.Row(self._budget, self._h0, self._h1),
            self._titles["weights"],
            pn.Row(*self._weights.values()),
            self._titles["quotas"],
            pn.GridBox(*self._tiers.values(), ncols=3),
            pn.GridBox(*self._sectors.values(), ncols=3),
            self._titles["pairs"],
            pn.Row(self._fixed, self._excluded),
            pn.Row(self._explain),
            pn.Row(self._solve, self._yaml),
            self._progress,
            self._status,
            NoticeBar(session=s),
        )
        self._form = form
        self._layout = pn.Column(
            pn.Row(
                form,
                pn.Column(
                    self._titles["map"],
                    BasemapPicker(session=s),
                    self._map,
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
            self._titles["result"],
            self._runs,
            self._summary,
            pn.Row(*self._downloads.values()),
            self._titles["explanation"],
            self._explanation,
            self._titles["allocations"],
            self._alloc,
            self._titles["compare"],
            pn.Row(self._cmp_a, self._cmp_b, self._compare),
            self._comparison,
            sizing_mode="stretch_width",
        )
        self._scenario: Scenario | None = None
        self._list_bases(self._list_runs())
        if self._bases:
            self.load("baseline" if "baseline" in self._bases else next(iter(self._bases)))
        s.param.watch(self._relabel, ["lang"])
        s.param.watch(self._refresh_runs, ["revision"])
        s.param.watch(lambda _e: self._render_run(), ["basemap"])
        self._relabel()  # also lists the stored runs

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------- form
    def _list_bases(self, runs: list[ledger.RunRecord]) -> None:
        """Re-list the bases (files, then the ledger's runs); keep the one picked."""
        s = self.session
        self._bases = plan.scenario_bases(s.services.scenarios_dir, runs)
        picked = self._base.value
        self._base.options = {b.label(s.lang): key for key, b in self._bases.items()}
        if picked in self._bases:
            self._base.value = picked

    def load(self, key: str) -> None:
        """Put a base into the form; the copy is named ``<name>-copy``.

        Parameters
        ----------
        key : str
            A scenario file's stem, or ``run/<run_id>`` for a stored run's scenario
            (:func:`parkplan.ui.plan.scenario_bases`).
        """
        s = self.session
        try:
            base = self._bases.get(key)
            if base is None:
                raise ParkplanError(s.t("ui.studio.no_base", name=key))
            sc = base.load()
        except ParkplanError as err:
            s.refused(err)
            return
        self._scenario = sc
        self._base.value = key
        self._name.value = f"{sc.name}{COPY_SUFFIX}"
        self._budget.value = float(sc.budget)
        self._h0.value, self._h1.value = sc.horizon
        for k, w in self._weights.items():
            w.value = float(sc.scoring.weights.get(k, 0.0))
        for k, w in self._tiers.items():
            w.value = int(sc.quotas.tier.get(k, 0))
        for k, w in self._sectors.items():
            w.value = int(sc.quotas.sector.get(k, 0))
        self._fixed.value = plan.pairs_text(sc.fixed)
        self._excluded.value = plan.pairs_text(sc.excluded)

    def scenario(self) -> Scenario:
        """Return the scenario as the form says (validated; raises SitingError/ValueError)."""
        if self._scenario is None:
            raise ParkplanError(self.session.t("ui.studio.no_scenario"))
        return scenario_from_form(
            self._scenario,
            name=self._name.value.strip() or self._scenario.name,
            budget=float(self._budget.value or 0),
            horizon=(self._h0.value, self._h1.value),
            weights={k: float(w.value or 0) for k, w in self._weights.items()},
            tiers={k: w.value or 0 for k, w in self._tiers.items()},
            sectors={k: w.value or 0 for k, w in self._sectors.items()},
            fixed=self._fixed.value or "",
            excluded=self._excluded.value or "",
            lang=self.session.lang,
        )

    def _scenario_yaml(self) -> io.BytesIO:
        try:
            text = self.scenario().to_yaml()
        except (ParkplanError, ValueError) as err:
            text = f"# {err}\n"
        self._yaml.filename = f"{self._name.value.strip() or 'scenario'}.yaml"
        return io.BytesIO(text.encode("utf-8"))

    # ------------------------------------------------------------ solve
    def explain_options(self) -> ExplainOptions:
        """Explanations to compute: alternatives and irreplaceability when ticked."""
        if self._explain.value:
            return ExplainOptions(alternatives=1, irreplaceable=3, time_limit=20.0)
        return ExplainOptions(alternatives=0, irreplaceable=0)

    async def _solve_clicked(self, _event=None) -> None:
        await self.solve()

    async def solve(self) -> str | None:
        """Solve the form's scenario in the executor; show the run. Returns its id."""
        s = self.session
        if not s.can_run_scenarios:
            s.notice_kind = "danger"
            s.notice = s.t("ui.studio.not_allowed", user=s.user.name)
            return None
        if self.running:
            return None
        try:
            scenario = self.scenario()
        except (ParkplanError, ValueError) as err:
            s.refused(err)
            return None
        self.running = True
        s.notice = ""
        started = time.monotonic()
        future = s.services.executor.submit(
            run_scenario, s.workspace, scenario, options=self.explain_options(), user=s.user.name
        )
        try:
            while not future.done():
                self._status.object = s.t(
                    "ui.studio.solving",
                    name=scenario.name,
                    seconds=f"{time.monotonic() - started:.1f}",
                )
                await asyncio.sleep(0.25)
            run = future.result()
        except (ParkplanError, ValueError) as err:
            s.refused(err)
            self._status.object = ""
            return None
        except Exception as err:  # noqa: BLE001 - the boundary: log it, tell the user
            log.exception("solve of %s by %s failed", scenario.name, s.user.name)
            s.notice_kind = "danger"
            s.notice = s.t("ui.studio.failed", error=f"{type(err).__name__}: {err}")
            self._status.object = ""
            return None
        finally:
            self.running = False
        self._status.object = s.t(
            "ui.studio.solved",
            name=scenario.name,
            status=render.solver_status(run.result.status, s.lang),
            seconds=f"{time.monotonic() - started:.1f}",
        )
        s.notice_kind, s.notice = "success", s.t("ui.studio.stored", run=run.run_id)
        self._refresh_runs()
        self.run_id = run.run_id
        self._runs.value = run.run_id
        return run.run_id

    @param.depends("running", watch=True)
    def _running(self) -> None:
        self._progress.visible = self.running
        self._solve.disabled = self.running

    # ------------------------------------------------------------ results
    def _list_runs(self) -> list[ledger.RunRecord]:
        try:
            return ledger.list_runs(self.session.workspace)
        except Exception:  # noqa: BLE001 - a workspace without the ledger shows no runs
            return []

    def _refresh_runs(self, *_):
        """Re-list the stored runs; keep the run shown and the two compared if still there.

        The comparison follows the two newest runs (A the older) until the user picks
        others; a picked run is kept for as long as it is stored.
        """
        lang = self.session.lang
        runs = self._list_runs()
        self._list_bases(runs)  # a copy just solved becomes a base
        ids = [r.run_id for r in runs]
        chosen = (self._cmp_a.value, self._cmp_b.value)
        options = {
            f"{r.run_id} · {r.scenario_name} · {render.solver_status(r.status, lang)}"
            + (" · ⚠" if r.stale_reason else ""): r.run_id
            for r in runs
        }
        for sel in (self._runs, self._cmp_a, self._cmp_b):
            sel.options = options
        if runs:
            if self.run_id not in ids:
                self.run_id = runs[0].run_id
            self._runs.value = self.run_id
            defaults = (ids[min(1, len(ids) - 1)], ids[0])
            if chosen == self._cmp_defaults:  # the user has not picked: follow the newest
                chosen = defaults
            self._cmp_a.value, self._cmp_b.value = (
                c if c in ids else d for c, d in zip(chosen, defaults, strict=True)
            )
            self._cmp_defaults = defaults
        self._render_run()

    def _run(self) -> ledger.RunRecord | None:
        if not self.run_id:
            return None
        try:
            return ledger.get_run(self.session.workspace, self.run_id)
        except ParkplanError:
            return None

    @param.depends("run_id", watch=True)
    def _render_run(self) -> None:
        s = self.session
        run = self._run()
        for d in self._downloads.values():
            d.disabled = run is None
        if run is None:
            self._summary.object = f"<p>{render.esc(s.t('ui.studio.no_run'))}</p>"
            self._explanation.object = self._alloc.object = ""
            self._map.object = iframe(session_map(s, self.maps), height=660, name="plan-map")
            return
        for ext, d in self._downloads.items():
            d.filename = f"plan-{run.run_id}.{ext}"
        rows = plan.summary_rows(run, s.lang)
        self._summary.object = render.table([("key", ""), ("value", "")], rows)
        self._explanation.object = self._explanation_html(run)
        sites, cands = self._layers()
        frame = plan.allocation_frame(run, sites, cands)
        name_col = "name_en" if s.lang == "en" else "name_zh"
        tier_of = {k: v[0 if s.lang == "zh" else 1] for k, v in TIERS.items()}
        alloc_rows = [
            {
                "year": r["year"],
                "cand_id": r["cand_id"],
                "name": r.get(name_col),
                "tier": tier_of.get(r.get("tier"), r.get("tier")),
                "site_id": r["site_id"],
                "park_id": r.get("park_id"),
            }
            for r in frame.to_dict("records")
        ]
        self._alloc.object = render.table(
            [
                (c, s.t(f"ui.alloc.{c}"))
                for c in ("year", "cand_id", "name", "tier", "site_id", "park_id")
            ],
            alloc_rows,
            empty=s.t("ui.empty"),
        )
        self._render_map(run)

    def _layers(self):
        ws = self.session.workspace
        return ws.read_layer("sites"), ws.read_layer("candidates")

    def _render_map(self, run) -> None:
        doc = session_map(self.session, self.maps, run_id=run.run_id)
        self._map.object = iframe(doc, height=660, name="plan-map")

    def _explanation_html(self, run) -> str:
        s = self.session
        e = run.explanation or {}
        parts = []
        if "infeasibility" in e:
            info = e["infeasibility"]
            parts.append(
                f"<h4>{render.esc(s.t('ui.explain.conflicts'))}</h4><ul>"
                + "".join(f"<li>{render.esc(c)}</li>" for c in info.get("conflicts", []))
                + "</ul>"
            )
            relaxations = info.get("relaxations") or []
            if relaxations:
                # "smallest" only when the solver proved it (runs stored before the flag
                # existed do not say, so they are not claimed smallest either)
                key = (
                    "ui.explain.relaxations"
                    if info.get("proven_smallest")
                    else "ui.explain.relaxations_unproven"
                )
                parts.append(
                    f"<h4>{render.esc(s.t(key))}</h4><ul>"
                    + "".join(f"<li>{render.esc(r.get('text'))}</li>" for r in relaxations)
                    + "</ul>"
                )
            else:
                parts.append(f"<p>{render.esc(s.t('ui.explain.no_relaxation'))}</p>")
        breakdown = e.get("breakdown") or {}
        if breakdown.get("by_park"):
            rows = [
                {
                    "park": p,
                    "value": d.get("value"),
                    "penalty": d.get("penalty"),
                    "net": d.get("net"),
                }
                for p, d in breakdown["by_park"].items()
            ]
            parts.append(
                f"<h4>{render.esc(s.t('ui.explain.by_park'))}</h4>"
                + render.table(
                    [(c, s.t(f"ui.explain.{c}")) for c in ("park", "value", "penalty", "net")], rows
                )
            )
        if breakdown.get("by_tier"):
            rows = [
                {"tier": TIERS.get(k, (k, k))[0 if s.lang == "zh" else 1], "value": v}
                for k, v in breakdown["by_tier"].items()
            ]
            parts.append(
                f"<h4>{render.esc(s.t('ui.explain.by_tier'))}</h4>"
                + render.table(
                    [("tier", s.t("ui.explain.tier")), ("value", s.t("ui.explain.value"))], rows
                )
            )
        values = sorted(
            (v for v in e.get("space_values", []) if (v.get("value") or 0) > 1e-6),
            key=lambda v: -v["value"],
        )[:5]
        if values:
            parts.append(
                f"<h4>{render.esc(s.t('ui.explain.space_values'))}</h4>"
                + render.table(
                    [(c, s.t(f"ui.explain.{c}")) for c in ("park_id", "space_class", "value")],
                    values,
                )
            )
        alts = e.get("alternatives") or []
        if alts:
            rows = [
                {
                    "n": i,
                    "objective": a.get("objective"),
                    "added": ", ".join(f"{c}→{st}" for c, st in a["differs"]["added"]),
                    "removed": ", ".join(f"{c}→{st}" for c, st in a["differs"]["removed"]),
                }
                for i, a in enumerate(alts, 1)
            ]
            parts.append(
                f"<h4>{render.esc(s.t('ui.explain.alternatives'))}</h4>"
                + render.table(
                    [(c, s.t(f"ui.explain.{c}")) for c in ("n", "objective", "added", "removed")],
                    rows,
                )
            )
        irr = [r for r in e.get("irreplaceability") or [] if r.get("loss_max") is not None]
        if irr:
            parts.append(
                f"<h4>{render.esc(s.t('ui.explain.irreplaceability'))}</h4>"
                + render.table(
                    [
                        (c, s.t(f"ui.explain.{c}"))
                        for c in ("site_id", "park_id", "loss_min", "loss_max")
                    ],
                    irr,
                )
            )
        if not parts:
            return f"<p>{render.esc(e.get('note') or s.t('ui.explain.none'))}</p>"
        return "".join(parts)

    def _render_compare(self) -> None:
        s = self.session
        a, b = self._cmp_a.value, self._cmp_b.value
        if not a or not b:
            return
        try:
            cmp = compare_runs(s.workspace, a, b)
        except ParkplanError as err:
            s.refused(err)
            return
        ra, rb = cmp["runs"]
        ra, rb = ({**r, "status": render.solver_status(r.get("status"), s.lang)} for r in (ra, rb))
        rows = [
            {"field": s.t(f"ui.run.{k}"), "a": ra.get(k), "b": rb.get(k)}
            for k in ("run_id", "scenario", "status", "objective", "seconds")
        ]
        rows += [
            {
                "field": s.t(f"ui.compare.{k}"),
                "a": cmp["budget_used"][0][k],
                "b": cmp["budget_used"][1][k],
            }
            for k in ("subsidy", "fitout", "total")
        ]
        parks = sorted(set(cmp["by_park"][0]) | set(cmp["by_park"][1]))
        park_rows = [
            {
                "park": p,
                "a": (cmp["by_park"][0].get(p) or {}).get("net"),
                "b": (cmp["by_park"][1].get(p) or {}).get("net"),
            }
            for p in parks
        ]
        moved = [p for p in cmp["placements"] if not p["same"]]
        a_b = [("a", s.t("ui.studio.compare_a")), ("b", s.t("ui.studio.compare_b"))]
        self._comparison.object = (
            '<div class="pp-compare" style="display:flex;gap:24px;flex-wrap:wrap">'
            f"<div>{render.table([('field', ''), *a_b], rows)}</div>"
            f"<div><h4>{render.esc(s.t('ui.explain.by_park'))}</h4>"
            f"{render.table([('park', ''), *a_b], park_rows)}</div>"
            f"<div><h4>{render.esc(s.t('ui.compare.differs', n=len(moved)))}</h4>"
            + render.table(
                [("cand_id", s.t("ui.alloc.cand_id")), ("name_zh", s.t("ui.alloc.name")), *a_b],
                moved,
                empty=s.t("ui.compare.same"),
            )
            + "</div></div>"
        )

    # ------------------------------------------------------------ downloads
    def _frame(self):
        run = self._run()
        if run is None:
            return None, None
        sites, cands = self._layers()
        return run, plan.allocation_frame(run, sites, cands)

    def _gpkg(self) -> io.BytesIO | None:
        run, frame = self._frame()
        return None if run is None else io.BytesIO(plan.to_gpkg(frame))

    def _xlsx(self) -> io.BytesIO | None:
        run, frame = self._frame()
        return None if run is None else io.BytesIO(plan.to_xlsx(run, frame, self.session.lang))

    def _html(self) -> io.BytesIO | None:
        s = self.session
        run = self._run()
        if run is None:
            return None
        doc = map_document(
            workspace_layers(s.workspace, candidates=True),
            s.lang,
            plan=maps.load_plan(s.workspace, run.run_id),
            title=f"{run.scenario_name} · {run.run_id}",
            basemap=s.basemap,
        )
        return io.BytesIO(doc.encode("utf-8"))

    # ------------------------------------------------------------- labels
    def _relabel(self, *_):
        s = self.session
        lang = s.lang
        self._base.name = s.t("ui.studio.base")
        self._name.name = s.t("ui.studio.name")
        self._load.name = s.t("ui.studio.load")
        self._budget.name = s.t("ui.studio.budget")
        self._h0.name = s.t("ui.studio.horizon_start")
        self._h1.name = s.t("ui.studio.horizon_end")
        for k, w in self._weights.items():
            w.name = s.t(f"ui.studio.weight.{k}")
        for k, w in self._tiers.items():
            w.name = TIERS[k][0 if lang == "zh" else 1]
        for k, w in self._sectors.items():
            w.name = SECTORS[k][0 if lang == "zh" else 1]
        self._fixed.name = s.t("ui.studio.fixed")
        self._excluded.name = s.t("ui.studio.excluded")
        self._fixed.placeholder = self._excluded.placeholder = s.t("ui.studio.pairs_placeholder")
        self._explain.name = s.t("ui.studio.explain")
        self._solve.name = s.t("ui.studio.solve")
        self._yaml.label = s.t("ui.studio.download_yaml")
        self._runs.name = s.t("ui.studio.runs")
        self._cmp_a.name = s.t("ui.studio.compare_a")
        self._cmp_b.name = s.t("ui.studio.compare_b")
        self._compare.name = s.t("ui.studio.compare")
        for ext, d in self._downloads.items():
            d.label = s.t(f"ui.studio.download_{ext}")
        for key, title in self._titles.items():
            title.object = f"#### {s.t('ui.studio.' + key)}"
        self._refresh_runs()


__all__ = ["COPY_SUFFIX", "ScenarioStudio", "WEIGHTS", "scenario_from_form"]
