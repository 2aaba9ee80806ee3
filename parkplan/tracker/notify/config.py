"""Notification channels: the YAML file that names them and how they are checked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parkplan.errors import InputError, Problem
from parkplan.identity.users import Visibility, visibility_from_label

if TYPE_CHECKING:
    from parkplan.tracker.notify.events import Event

    pass


DEFAULT_CHANNELS_PATH = Path(__file__).parent.parent / "channels.yaml"
#: Environment variable naming the channels file when ``--channels`` is not given.
CHANNELS_ENV = "PARKPLAN_CHANNELS"
#: What can be notified.
EVENT_KINDS = ("escalation", "due_soon", "matter_opened", "matter_overdue")


# =========================================================== configuration
_ENV_NAME = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]
_SECRET_KEYS = {"url", "webhook", "webhook_url", "password", "secret", "token", "key"}


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RetryPolicy(_Config):
    """How often and how soon a failed delivery is tried again."""

    max_attempts: int = Field(6, ge=1, le=100)
    backoff_seconds: float = Field(60, gt=0)
    max_backoff_seconds: float = Field(6 * 3600, gt=0)

    def delay(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failure: backoff × 2^(attempts−1), capped."""
        seconds = min(self.backoff_seconds * 2 ** max(0, attempts - 1), self.max_backoff_seconds)
        return timedelta(seconds=seconds)


class Channel(_Config):
    """What every channel has: a name, the events it takes, its clearance."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")]
    events: tuple[Literal["escalation", "due_soon", "matter_opened", "matter_overdue"], ...] = (
        EVENT_KINDS
    )
    tasks: tuple[Annotated[int, Field(ge=1, le=9)], ...] | None = None
    clearance: Visibility = Visibility.shareable
    timeout_seconds: float = Field(10, gt=0, le=120)

    _vis = field_validator("clearance", mode="before")(visibility_from_label)

    def accepts(self, event: Event) -> bool:
        """Whether this channel takes ``event`` (kind, task, and visibility ≤ clearance)."""
        return (
            event.kind in self.events
            and (self.tasks is None or event.task in self.tasks)
            and Visibility(event.visibility).rank <= self.clearance.rank
        )

    def env_names(self) -> list[str]:
        """Return the environment variables this channel needs."""
        return []

    def missing(self, environ: Mapping[str, str]) -> str | None:
        """Say which needed environment variable is unset, or ``None``."""
        unset = [n for n in self.env_names() if not environ.get(n)]
        if unset:
            return (
                f"channel {self.name}: environment variable {', '.join(unset)} "
                f"{'is' if len(unset) == 1 else 'are'} not set"
            )
        return None


class WebhookChannel(Channel):
    """A WeCom or DingTalk group robot.

    The webhook URL is in environment variable ``url_env`` (DingTalk's signing secret, if
    the robot signs, in ``secret_env``).
    """

    type: Literal["wecom", "dingtalk"]
    url_env: _ENV_NAME
    secret_env: _ENV_NAME | None = None

    def env_names(self) -> list[str]:  # noqa: D102
        return [self.url_env] + ([self.secret_env] if self.secret_env else [])


class EmailChannel(Channel):
    """E-mail over SMTP; ``security`` is ``starttls`` (default), ``ssl`` or ``none``."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    username_env: _ENV_NAME | None = None
    password_env: _ENV_NAME | None = None
    sender: str = Field(alias="from", min_length=3)
    to: tuple[str, ...] = Field(min_length=1)

    def env_names(self) -> list[str]:  # noqa: D102
        return [n for n in (self.username_env, self.password_env) if n]


class NotifyConfig(_Config):
    """The channels file: channels, the due-soon window, retries and the sending lease."""

    channels: tuple[Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")], ...] = ()
    due_soon_days: int = Field(14, ge=0, le=365)
    retry: RetryPolicy = RetryPolicy()
    lease_seconds: float = Field(600, gt=0)
    source: str = Field("<memory>", exclude=True)

    def channel(self, name: str) -> Channel | None:
        """Return the channel called ``name``, or ``None``."""
        return next((c for c in self.channels if c.name == name), None)


def load_channels(path: str | os.PathLike | None = None) -> NotifyConfig:
    """Read and check a channels file.

    Parameters
    ----------
    path : path, optional
        Default ``$PARKPLAN_CHANNELS``, then the shipped example
        ``parkplan/tracker/channels.yaml``.

    Raises
    ------
    InputError
        Naming every problem; a secret written into the file (``url:``, ``password:``…)
        is refused — name an environment variable instead.
    """
    path = Path(path or os.environ.get(CHANNELS_ENV) or DEFAULT_CHANNELS_PATH)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError([Problem(str(path), None, None, f"cannot read: {err.strerror}")]) from None
    except yaml.YAMLError as err:
        raise InputError([Problem(str(path), None, None, f"not valid YAML: {err}")]) from None
    return parse_channels(data, source=str(path))


def parse_channels(data: Any, source: str = "<memory>") -> NotifyConfig:
    """Check and build a :class:`NotifyConfig` from parsed YAML (see :func:`load_channels`)."""
    if not isinstance(data, dict):
        raise InputError([Problem(source, None, None, "needs a mapping with 'channels:'")])
    problems = []
    channels = data.get("channels") or []
    if not isinstance(channels, list):
        raise InputError([Problem(source, None, "channels", "must be a list")])
    for n, ch in enumerate(channels, start=1):
        if isinstance(ch, dict):
            for key in sorted(set(ch) & _SECRET_KEYS):
                problems.append(
                    Problem(
                        source,
                        n,
                        key,
                        "secrets do not go in the file: put "
                        "it in an environment variable and name it with "
                        f"'{'url' if 'url' in key or key == 'webhook' else key}"
                        "_env'",
                    )
                )
    names = [c.get("name") for c in channels if isinstance(c, dict)]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(Problem(source, None, "name", f"channel name {name!r} is used twice"))
    if problems:
        raise InputError(problems)
    try:
        return NotifyConfig.model_validate({**data, "source": source})
    except ValidationError as err:
        out = []
        for e in err.errors():
            loc = list(e["loc"])
            row = (
                loc[1] + 1
                if len(loc) > 1 and loc[0] == "channels" and isinstance(loc[1], int)
                else None
            )
            column = ".".join(str(p) for p in loc if not isinstance(p, int)) or None
            out.append(Problem(source, row, column, e["msg"]))
        raise InputError(out) from None


__all__ = [
    "CHANNELS_ENV",
    "Channel",
    "DEFAULT_CHANNELS_PATH",
    "EVENT_KINDS",
    "EmailChannel",
    "NotifyConfig",
    "RetryPolicy",
    "WebhookChannel",
    "load_channels",
    "parse_channels",
]
