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

from parkplan.errors import ParkplanError
from parkplan.layers import code_label
from parkplan.services.maps import load_plan, workspace_layers
from parkplan.services.planning import ExplainOptions, run_scenario
from parkplan.store import ledger
from parkplan.ui import plan, render
from parkplan.ui.common import BasemapPicker, NoticeBar, html_pane, session_map
from parkplan.ui.compare import RunComparison
from parkplan.ui.mapview import MapCache, iframe, map_document
from parkplan.ui.scenario_form import ScenarioForm
from parkplan.ui.state import Session

log = logging.getLogger("parkplan.ui")


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
        self.form = ScenarioForm(session=s)
        self._explain = pn.widgets.Checkbox(value=True, css_classes=["pp-explain"])
        self._solve = pn.widgets.Button(button_type="primary", width=160, css_classes=["pp-solve"])
        self._solve.on_click(self._solve_clicked)
        self._progress = pn.indicators.Progress(
            active=True, visible=False, width=300, bar_color="primary"
        )
        self._status = pn.pane.Markdown("", css_classes=["pp-solve-status"])
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
        self.comparison = RunComparison(session=s)
        self._titles = {
            k: pn.pane.Markdown("")
            for k in (
                "result",
                "map",
                "compare",
                "explanation",
                "allocations",
                "exports",
            )
        }
        form = pn.Column(
            self.form,
            pn.Row(self._explain),
            pn.Row(self._solve, self.form.yaml),
            self._progress,
            self._status,
            NoticeBar(session=s),
        )
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
            self.comparison,
            sizing_mode="stretch_width",
        )
        self.form.list_bases(self._list_runs())
        self.form.load_default()
        s.param.watch(self._relabel, ["lang"])
        s.param.watch(self._refresh_runs, ["revision"])
        s.param.watch(lambda _e: self._render_run(), ["basemap"])
        self._relabel()  # also lists the stored runs

    def __panel__(self):
        return self._layout

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
            scenario = self.form.scenario()
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
        """Re-list the stored runs; keep the run shown, and the compared pair if still there."""
        lang = self.session.lang
        runs = self._list_runs()
        self.form.list_bases(runs)  # a copy just solved becomes a base
        ids = [r.run_id for r in runs]
        options = {
            f"{r.run_id} · {r.scenario_name} · {render.solver_status(r.status, lang)}"
            + (" · ⚠" if r.stale_reason else ""): r.run_id
            for r in runs
        }
        self._runs.options = options
        self.comparison.offer(options, ids)
        if runs:
            if self.run_id not in ids:
                self.run_id = runs[0].run_id
            self._runs.value = self.run_id
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
            self._summary.object = render.note(s.t("ui.studio.no_run"))
            self._explanation.object = self._alloc.object = ""
            self._map.object = iframe(session_map(s, self.maps), height=660, name="plan-map")
            return
        for ext, d in self._downloads.items():
            d.filename = f"plan-{run.run_id}.{ext}"
        rows = plan.summary_rows(run, s.lang)
        self._summary.object = render.table([("key", ""), ("value", "")], rows)
        self._explanation.object = plan.explanation_html(run.explanation, s.lang)
        sites, cands = self._layers()
        frame = plan.allocation_frame(run, sites, cands)
        name_col = "name_en" if s.lang == "en" else "name_zh"
        alloc_rows = [
            {
                "year": r["year"],
                "cand_id": r["cand_id"],
                "name": r.get(name_col),
                "tier": code_label("tier", r.get("tier"), s.lang),
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
            plan=load_plan(s.workspace, run.run_id),
            title=f"{run.scenario_name} · {run.run_id}",
            basemap=s.basemap,
        )
        return io.BytesIO(doc.encode("utf-8"))

    # ------------------------------------------------------------- labels
    def _relabel(self, *_):
        s = self.session
        self.form.relabel()
        self.comparison.relabel()
        self._explain.name = s.t("ui.studio.explain")
        self._solve.name = s.t("ui.studio.solve")
        self._runs.name = s.t("ui.studio.runs")
        for ext, d in self._downloads.items():
            d.label = s.t(f"ui.studio.download_{ext}")
        for key, title in self._titles.items():
            title.object = f"#### {s.t('ui.studio.' + key)}"
        self._refresh_runs()


__all__ = ["ScenarioStudio"]
