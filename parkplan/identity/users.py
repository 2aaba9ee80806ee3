"""Who people are: users, their roles and clearance, and how widely a record may be shown.

A :class:`User` is a name, a :class:`Role`, the tasks a task owner owns and a clearance
(:class:`Visibility`). What each role may do to which record is the tracker's business
(:mod:`parkplan.tracker.access`); this module only says who someone is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from parkplan.i18n import both, t

#: An identifier: a letter or digit, then up to 39 letters, digits, ``_``, ``.`` or ``-``.
Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")]
#: Optional free text.
OptText = Annotated[str, Field(max_length=4000)]


class Visibility(StrEnum):
    """How widely a record may be shown: 内部 internal > 可共享 shareable > 公开 public."""

    public = "public"
    shareable = "shareable"
    internal = "internal"

    @property
    def rank(self) -> int:
        """0 for public, 1 for shareable, 2 for internal."""
        return _VIS_RANK[self]

    @property
    def label(self) -> str:
        """The Chinese label: 公开, 可共享, 内部."""
        return VISIBILITY_LABELS[self]


_VIS_RANK = {Visibility.public: 0, Visibility.shareable: 1, Visibility.internal: 2}
#: Each level's Chinese label, as spreadsheets and forms write it.
VISIBILITY_LABELS = {v: t(f"visibility.{v.value}", "zh") for v in Visibility}
_VIS_BY_LABEL = {label: vis for vis, label in VISIBILITY_LABELS.items()}


def visibility_from_label(value: Any) -> Any:
    """Return the level a Chinese label (公开, 可共享, 内部) names; anything else unchanged.

    For ``field_validator(..., mode="before")`` on a visibility field.
    """
    if isinstance(value, str) and value in _VIS_BY_LABEL:
        return _VIS_BY_LABEL[value]
    return value


class Role(StrEnum):
    """A user's role (see :mod:`parkplan.tracker.access` for what each may do)."""

    admin = "admin"
    convenor = "convenor"
    office = "office"
    task_owner = "task_owner"
    planner = "planner"
    viewer = "viewer"


#: Each role's label, Chinese then English.
ROLE_LABELS = {r: both(f"role.{r.value}", sep=" ") for r in Role}


class User(BaseModel):
    """Someone who uses parkplan: a role, the tasks they own, a clearance level."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    name: Id
    display_name: OptText = ""
    role: Role
    tasks: tuple[int, ...] = ()
    clearance: Visibility = Visibility.shareable
    unit: OptText = ""
    active: bool = True
    version: int = Field(1, ge=1)

    _vis = field_validator("clearance", mode="before")(visibility_from_label)

    @model_validator(mode="after")
    def _tasks(self) -> User:
        if self.role == Role.task_owner and not self.tasks:
            raise ValueError("a task owner needs the tasks they own (1–9)")
        if self.role != Role.task_owner and self.tasks:
            raise ValueError(f"only task owners own tasks, not a {self.role.value}")
        bad = [t for t in self.tasks if not 1 <= t <= 9]
        if bad:
            raise ValueError(f"tasks are numbered 1–9, not {bad}")
        return self

    def can_see(self, visibility: Visibility) -> bool:
        """Whether a record at ``visibility`` is within this user's clearance."""
        return Visibility(visibility).rank <= self.clearance.rank

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return self.model_dump(mode="json")


#: Who reads without naming themselves: public records only, no writes.
ANONYMOUS = User(
    name="anonymous", role=Role.viewer, clearance=Visibility.public, display_name="未登录 anonymous"
)

__all__ = [
    "ANONYMOUS",
    "ROLE_LABELS",
    "VISIBILITY_LABELS",
    "Id",
    "OptText",
    "Role",
    "User",
    "Visibility",
    "visibility_from_label",
]
