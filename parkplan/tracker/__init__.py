"""The pilot-programme tracker (沪市监认监〔2026〕117号, section 二 and 三).

The nine tasks and their milestones, KPIs, risks, escalations, major matters, audit trail,
roles and visibility.

Pure modules: :mod:`.model` (records), :mod:`.schedule` (dependencies, CPM),
:mod:`.rating` (five-point status, baselines), :mod:`.rules` (escalation rules, pydantic
rule files), :mod:`.access` (the write matrix, visibility). Store-backed, all through the
unit of work :mod:`.repository`: :mod:`.queries` (programme, statuses), :mod:`.commands`
(one module per aggregate), :mod:`.journal`, :mod:`.meetings`, :mod:`.excel` and
:mod:`.notify`; :class:`Tracker` (:mod:`.service`) is the facade over them. Users and roles
are :mod:`parkplan.identity.users`. :mod:`.seed` writes the nine tasks (``seed_plan.yaml``)
and the demo. See docs/tracker.md.
"""

from parkplan.tracker.access import NotFound, PermissionDenied
from parkplan.tracker.repository import StaleVersion
from parkplan.tracker.schedule import CycleError
from parkplan.tracker.service import Tracker

__all__ = ["CycleError", "NotFound", "PermissionDenied", "StaleVersion", "Tracker"]
