"""The pilot-programme tracker (沪市监认监〔2026〕117号, section 二 and 三).

The nine tasks and their milestones, KPIs, risks, escalations, major matters, audit trail,
roles and visibility.

Pure modules: :mod:`.model` (records), :mod:`.schedule` (dependencies, CPM),
:mod:`.rating` (five-point status, baselines), :mod:`.rules` (escalation rules),
:mod:`.access` (roles, visibility). Store-backed: :mod:`.journal` and :mod:`.service`
(:class:`Tracker`), the only modules that touch the database. :mod:`.seed` writes the nine
tasks and the demo. See docs/tracker.md.
"""

from parkplan.tracker.access import NotFound, PermissionDenied
from parkplan.tracker.repository import StaleVersion
from parkplan.tracker.schedule import CycleError
from parkplan.tracker.service import Tracker

__all__ = ["CycleError", "NotFound", "PermissionDenied", "StaleVersion", "Tracker"]
