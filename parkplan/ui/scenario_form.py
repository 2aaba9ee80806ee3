"""The studio's scenario form: a base scenario loaded into widgets, read back as a copy.

A base is a file of ``models/scenarios`` or the scenario of a run stored in the ledger
(:func:`parkplan.ui.plan.scenario_bases`); the form edits weights, budget, horizon,
quotas and fixed or excluded pairs, and :meth:`ScenarioForm.scenario` returns the
validated copy (the YAML files are never overwritten).
"""

from __future__ import annotations

import io

import panel as pn
import param

from parkplan.errors import ParkplanError
from parkplan.layers import SECTORS, TIERS, code_label
from parkplan.siting.scenario import Scenario
from parkplan.store import ledger
from parkplan.ui import plan
from parkplan.ui.state import Session

__all__ = ["COPY_SUFFIX", "WEIGHTS", "ScenarioForm", "scenario_from_form"]

WEIGHTS = ("proximity", "agglomeration", "access")

#: Appended to a loaded scenario's name for the copy the form saves. Part of an identifier
#: (scenario names are ``[A-Za-z0-9_.-]``, the library's rule), so not a translated label.
COPY_SUFFIX = "-copy"


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


class ScenarioForm(pn.viewable.Viewer):
    """Pick a base, edit it, read it back as a validated scenario (or download it as YAML)."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, **params):
        super().__init__(**params)
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
        self.yaml = pn.widgets.FileDownload(
            callback=self._scenario_yaml, filename="scenario.yaml", width=200
        )
        self._titles = {k: pn.pane.Markdown("") for k in ("form", "weights", "quotas", "pairs")}
        self._layout = pn.Column(
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
        )
        self._scenario: Scenario | None = None

    def __panel__(self):
        return self._layout

    def list_bases(self, runs: list[ledger.RunRecord]) -> None:
        """Re-list the bases (files, then the ledger's runs); keep the one picked."""
        s = self.session
        self._bases = plan.scenario_bases(s.services.scenarios_dir, runs)
        picked = self._base.value
        self._base.options = {b.label(s.lang): key for key, b in self._bases.items()}
        if picked in self._bases:
            self._base.value = picked

    def load_default(self) -> None:
        """Load ``baseline`` when it is a base, else the first base, if any."""
        if self._bases:
            self.load("baseline" if "baseline" in self._bases else next(iter(self._bases)))

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
        self.yaml.filename = f"{self._name.value.strip() or 'scenario'}.yaml"
        return io.BytesIO(text.encode("utf-8"))

    def relabel(self) -> None:
        """Name the widgets in the session's language."""
        s = self.session
        self._base.name = s.t("ui.studio.base")
        self._name.name = s.t("ui.studio.name")
        self._load.name = s.t("ui.studio.load")
        self._budget.name = s.t("ui.studio.budget")
        self._h0.name = s.t("ui.studio.horizon_start")
        self._h1.name = s.t("ui.studio.horizon_end")
        for k, w in self._weights.items():
            w.name = s.t(f"ui.studio.weight.{k}")
        for k, w in self._tiers.items():
            w.name = code_label("tier", k, s.lang)
        for k, w in self._sectors.items():
            w.name = code_label("sector", k, s.lang)
        self._fixed.name = s.t("ui.studio.fixed")
        self._excluded.name = s.t("ui.studio.excluded")
        self._fixed.placeholder = self._excluded.placeholder = s.t("ui.studio.pairs_placeholder")
        self.yaml.label = s.t("ui.studio.download_yaml")
        for key, title in self._titles.items():
            title.object = f"#### {s.t('ui.studio.' + key)}"
