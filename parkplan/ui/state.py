"""The state of one signed-in user's session: who, which language, which page, what was read.

:class:`Session` is a :class:`param.Parameterized` holding no widgets: the views watch its
parameters and call its methods; its methods call the library
(:class:`parkplan.tracker.Tracker`) and nothing else. Every change goes through
:meth:`Session.attempt`, which turns the library's refusal (permission, stale version,
invalid input) into a notice the user reads, and reloads the programme after a change.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import param

from parkplan.errors import ParkplanError
from parkplan.i18n import t as _t
from parkplan.identity.users import Role, User
from parkplan.services.planning import PLANNING_ROLES
from parkplan.store import Workspace
from parkplan.tracker import access
from parkplan.tracker.access import NotFound, PermissionDenied
from parkplan.tracker.model import Baseline
from parkplan.tracker.queries import Programme
from parkplan.tracker.rating import Comparison
from parkplan.tracker.repository import StaleVersion, now_shanghai
from parkplan.tracker.service import Tracker
from parkplan.ui import render

#: The app's pages, in menu order.
PAGES = ("overview", "board", "desk", "studio")

#: Roles that run siting scenarios in the studio: the library's rule, shown in the UI.
SCENARIO_ROLES = PLANNING_ROLES

#: Basemaps the park maps offer (``none``: district outlines only, fully offline).
BASEMAP_CHOICES = ("none", "osm", "tianditu", "amap")


class AsOfClock:
    """A clock that starts at a fixed moment and runs on in real time from there.

    ``parkplan serve --as-of 2026-11-25`` serves the programme as it stood that day
    (ratings, the as-of date, the reporting clock, the times changes are stamped with),
    whatever the wall clock says: for demonstrations and the browser tests. The time
    passes normally from the start, so changes stay in order.

    Parameters
    ----------
    start : datetime
        "Now" when the clock is made (Shanghai local time, no time zone).
    """

    def __init__(self, start: datetime):
        self.start = start.replace(tzinfo=None, microsecond=0)
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        """Return the fixed day plus the time elapsed since the clock started."""
        return self.start + timedelta(seconds=int(time.monotonic() - self._t0))

    def __repr__(self) -> str:
        return f"AsOfClock({self.start.isoformat()})"


def parse_as_of(text: str) -> datetime:
    """Read ``YYYY-MM-DD`` (taken at 12:00) or ``YYYY-MM-DDTHH:MM[:SS]`` as Shanghai time.

    Raises
    ------
    ValueError
        If ``text`` is neither.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time()).replace(hour=12)
        return datetime.fromisoformat(text).replace(tzinfo=None, microsecond=0)
    except ValueError:
        raise ValueError(f"--as-of: {text!r} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None


@dataclass
class Services:
    """What every session of one server process shares: the workspace and helpers.

    Parameters
    ----------
    workspace : Workspace
        Opened once per process (after the server forks its processes).
    scenarios_dir : Path
        Where the studio finds scenario YAML files (``models/scenarios``).
    executor : concurrent.futures.Executor, optional
        Runs solves off the server's event loop; default a small thread pool.
    clock : callable, optional
        "Now" in Shanghai: default the real clock; an :class:`AsOfClock` for a server
        started with ``--as-of`` (and tests fix it).
    """

    workspace: Workspace
    scenarios_dir: Path = field(default_factory=lambda: default_scenarios_dir())
    executor: Any = None
    clock: Callable[[], datetime] = now_shanghai
    cache: dict[Any, Any] = field(default_factory=dict)

    def maps(self):
        """Return the process's shared :class:`~parkplan.ui.mapview.MapCache`."""
        from parkplan.ui.mapview import MapCache

        return self.cache.setdefault("maps", MapCache(self.workspace))

    @property
    def fixed_clock(self) -> datetime | None:
        """The start of an :class:`AsOfClock` (shown as a banner), ``None`` for real time."""
        return self.clock.start if isinstance(self.clock, AsOfClock) else None

    def __post_init__(self) -> None:
        if self.executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self.executor = ThreadPoolExecutor(
                max_workers=max(1, min(2, os.cpu_count() or 1)), thread_name_prefix="parkplan-solve"
            )


def default_scenarios_dir() -> Path:
    """Return ``$PARKPLAN_SCENARIOS``, else the shipped scenarios (``parkplan.models``)."""
    env = os.environ.get("PARKPLAN_SCENARIOS")
    if env:
        return Path(env)
    from parkplan.models import scenarios_dir

    return scenarios_dir()


class Session(param.Parameterized):
    """One user's session: language, as-of date, page, selected task, last notice.

    Parameters
    ----------
    services : Services
    user : str or None
        The signed-in user's name (a tracker user); ``None`` reads anonymously.
    """

    lang = param.Selector(default="zh", objects=["zh", "en"], doc="Language of labels.")
    as_of = param.Date(default=None, doc="Date the programme is read as of (default today).")
    page = param.Selector(default="overview", objects=list(PAGES), doc="Page shown.")
    task = param.Integer(default=1, bounds=(1, 9), doc="Task shown on the board.")
    revision = param.Integer(default=0, doc="Bumped whenever the programme was re-read.")
    notice = param.String(default="", doc="Last message to the user (plain text).")
    notice_kind = param.Selector(default="info", objects=["info", "success", "warning", "danger"])
    basemap = param.Selector(
        default="none",
        objects=list(BASEMAP_CHOICES),
        doc="Web tiles under the park maps (none: offline).",
    )
    baseline = param.String(
        default=None,
        allow_None=True,
        doc="Baseline the board compares with (None: the last stocktake before the as-of date).",
    )

    def __init__(self, services: Services, user: str | None = None, **params: Any):
        super().__init__(**params)
        self.services = services
        self.workspace = services.workspace
        self.error: str | None = None
        try:
            self.tracker = Tracker(services.workspace, user, clock=services.clock)
        except NotFound:
            # signed in (credentials file) but not a tracker user: read as anonymous
            self.tracker = Tracker(services.workspace, None, clock=services.clock)
            self.error = self.t("ui.error.unknown_user", user=user)
        self._programme: Programme | None = None
        self._saved: list[Baseline] | None = None
        self._compared: dict[tuple[str, date], Comparison] = {}
        if self.as_of is None:
            self.as_of = services.clock().date()
        if self.user.role == Role.task_owner and self.user.tasks:
            self.task = self.user.tasks[0]

    # ---------------------------------------------------------- reading
    @property
    def user(self) -> User:
        """The tracker user this session acts as."""
        return self.tracker.user

    def t(self, key: str, **values: Any) -> str:
        """Return catalogue label ``key`` in the session's language."""
        return _t(key, self.lang, **values)

    @property
    def programme(self) -> Programme:
        """Everything the user may see of the programme as of :attr:`as_of`."""
        if self._programme is None:
            self._programme = self.tracker.programme(self.as_of)
        return self._programme

    def reload(self) -> None:
        """Re-read the programme and tell the views (``revision`` changes)."""
        self._programme = None
        self._saved = None
        self._compared.clear()
        self.revision += 1

    def saved_baselines(self) -> list[Baseline]:
        """Return the saved baselines, oldest first, without snapshots (read once per revision)."""
        if self._saved is None:
            self._saved = self.tracker.baselines()
        return self._saved

    def compared_baseline(self) -> Baseline | None:
        """Return the baseline the board compares with, without its snapshot, or ``None``.

        The one the user picked (:attr:`baseline`) while it is saved, else the last
        stocktake before :attr:`as_of` (:meth:`Tracker.last_baseline`, the trend's);
        ``None`` when there is neither.
        """
        saved = {b.name: b for b in self.saved_baselines()}
        name = self.baseline if self.baseline in saved else None
        if name is None:
            last = self.tracker.last_baseline(self.as_of)
            name = last.name if last else None
        return saved.get(name)

    def comparison(self, name: str) -> Comparison:
        """Return the programme as of :attr:`as_of` against baseline ``name``, read once.

        Records above the user's clearance are left out (:meth:`Tracker.compare_baseline`).
        """
        key = (name, self.as_of)
        if key not in self._compared:
            self._compared[key] = self.tracker.compare_baseline(name, self.as_of)
        return self._compared[key]

    @param.depends("as_of", watch=True)
    def _as_of_changed(self) -> None:
        self.reload()

    def open_task(self, number: int) -> None:
        """Show task ``number``'s board."""
        self.task = number
        self.page = "board"

    # ------------------------------------------------------- permissions
    def can(self, action: str, record: Any, *, task: int | None = None) -> bool:
        """Whether the library would let the user do ``action`` to ``record``.

        Used to hide controls; the library checks again on every change.
        """
        try:
            access.check_write(self.user, action, record, task=task)
        except PermissionDenied:
            return False
        return True

    @property
    def can_run_scenarios(self) -> bool:
        """Whether the studio's solve and export controls are shown."""
        return self.user.active and self.user.role in SCENARIO_ROLES

    def pages(self) -> list[str]:
        """Return the pages this user sees (the studio: planners, office, convenor)."""
        return [p for p in PAGES if p != "studio" or self.can_run_scenarios]

    # ----------------------------------------------------------- changes
    def attempt(self, change: Callable[[], Any], *, done: str) -> Any | None:
        """Run a library change; say what happened; re-read the programme.

        Parameters
        ----------
        change : callable
            Calls the library (e.g. ``lambda: tracker.update_milestone(...)``).
        done : str
            Catalogue key of the success message.

        Returns
        -------
        The change's result, or ``None`` when the library refused it; the notice then says
        why (:meth:`refused`).
        """
        try:
            result = change()
        except ParkplanError as err:
            self.refused(err)
            self.reload()
            return None
        self.notice_kind = "success"
        self.notice = self.t(done)
        self.reload()
        return result

    def refused(self, err: Exception) -> None:
        """Say in the notice why the library refused something, after a translated heading.

        A permission refusal is said in the session's language from its code and values
        (:func:`parkplan.ui.render.refusal_text`); a stale version and any other error in
        the library's own words.
        """
        if isinstance(err, PermissionDenied):
            kind, heading, text = (
                "danger",
                "ui.notice.denied",
                render.refusal_text(err, self.lang),
            )
        elif isinstance(err, StaleVersion):
            kind, heading, text = "warning", "ui.notice.stale", str(err)
        else:
            kind, heading, text = "danger", "ui.notice.refused", str(err)
        self.notice_kind = kind
        self.notice = self.t("ui.notice.because", heading=self.t(heading), why=text)

    def notice_html(self) -> str:
        """Return the notice as escaped HTML (library messages quote user-entered names)."""
        return html.escape(self.notice)

    def update_milestone(self, milestone_id: str, version: int, **changes: Any) -> Any:
        """Change a milestone as the user (see :meth:`Tracker.update_milestone`)."""
        return self.attempt(
            lambda: self.tracker.update_milestone(milestone_id, version, **changes),
            done="ui.notice.milestone_saved",
        )

    def escalation_step(
        self, action: str, escalation_id: int, comment: str, version: int | None
    ) -> Any:
        """Acknowledge, act on or close an escalation as the user."""
        step = {
            "acknowledge": self.tracker.acknowledge,
            "act": self.tracker.act,
            "close": self.tracker.close,
        }[action]
        return self.attempt(
            lambda: step(escalation_id, comment, version=version),
            done=f"ui.notice.escalation_{action}",
        )


__all__ = [
    "BASEMAP_CHOICES",
    "PAGES",
    "SCENARIO_ROLES",
    "AsOfClock",
    "Services",
    "Session",
    "default_scenarios_dir",
    "parse_as_of",
]
