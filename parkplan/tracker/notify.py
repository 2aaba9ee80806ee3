"""Notifications: escalations, due-soon milestones and major matters, sent to channels.

Channels are configured in YAML (:func:`load_channels`; example
``parkplan/tracker/channels.yaml``): WeCom (企业微信) and DingTalk (钉钉) group robots, which
take a JSON ``markdown`` message over an HTTPS webhook, and e-mail over SMTP. Secrets —
webhook URLs (they embed the robot's key), DingTalk signing secrets, SMTP passwords — are
never in the file: it names the environment variables that hold them.

Three steps:

1. :func:`collect_events` (pure: records and a date in, events out) finds what to tell:
   escalations not yet closed (``escalation``), open milestones due within N days
   (``due_soon``), major matters opened (``matter_opened``) and past their reporting
   deadline unreported (``matter_overdue``). Each event has a stable key.
2. :func:`enqueue` writes one row per (event key, channel) to the outbox
   (``notification_outbox``, migration 0004), unique on that pair: running it twice queues
   nothing twice. The message is rendered once, here, so every attempt sends the same text
   with the same idempotency key.
3. :func:`dispatch` sends what is due. Each row is *claimed* (``pending``/``retry`` →
   ``sending``, a conditional update committed before anything is sent, so two dispatchers
   never both take it), sent, then marked ``sent`` — or, on a failure the channel reports
   (HTTP error status, robot ``errcode``, SMTP refusal, connection refused), ``retry`` with
   exponential backoff (``attempts``, ``next_attempt_at``) until ``failed``. A row is only
   ever re-sent from ``retry``, which is set only when the attempt demonstrably failed, so a
   retry cannot duplicate a delivery that succeeded.

When the outcome is unknown — the request went out but no answer came back, or the process
died between sending and marking (the row is left ``sending`` past its lease) — the row
becomes ``uncertain`` and is **not** retried automatically: parkplan prefers a message an
operator must check (``parkplan outbox list``; ``outbox requeue ID`` sends it again) to one
sent twice. Every message carries its idempotency key (in the text, an
``Idempotency-Key`` HTTP header, the e-mail's ``Message-ID``) so that a receiver can drop a
duplicate after a requeue. See docs/decisions/0006-notifications.md.
"""

from __future__ import annotations

import base64
import email.policy
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.i18n import both, t
from parkplan.identity.users import Visibility, visibility_from_label
from parkplan.store import Workspace
from parkplan.tracker import access, rules, tables
from parkplan.tracker.model import LEVEL_LABELS, TASK_CODES, EscalationStatus, Level, MatterStatus
from parkplan.tracker.repository import load_escalations, load_records, now_shanghai

if TYPE_CHECKING:
    from parkplan.tracker.service import Tracker

DEFAULT_CHANNELS_PATH = Path(__file__).with_name("channels.yaml")
#: Environment variable naming the channels file when ``--channels`` is not given.
CHANNELS_ENV = "PARKPLAN_CHANNELS"
#: What can be notified.
EVENT_KINDS = ("escalation", "due_soon", "matter_opened", "matter_overdue")
#: Rule kinds whose escalations are not sent as such: the ``due_soon`` and
#: ``matter_overdue`` events tell the same thing, from the records themselves.
COVERED_RULE_KINDS = frozenset({"due_within", "matter_report_overdue"})
#: WeCom's limit on a markdown message, in bytes (DingTalk's is larger).
WECOM_MAX_BYTES = 4096


class DeliveryFailed(ParkplanError):
    """The channel said no (or could not be reached): the message was not delivered.

    ``permanent`` failures (HTTP 4xx other than 408/429, SMTP 5xx) are not retried.
    """

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class DeliveryUncertain(ParkplanError):
    """The message went out but no answer came back: it may or may not have arrived."""


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


# ================================================================== events
@dataclass(frozen=True)
class Event:
    """Something to tell: a stable key, what kind, about what, and the message."""

    key: str
    kind: str
    subject_type: str
    subject_id: str
    task: int | None
    visibility: Visibility
    title: str
    body: str


def _task_line(task: int | None, titles: Mapping[int, str]) -> str | None:
    if task is None:
        return None
    return (
        f"**{both('notify.field.task', sep=' ')}**：{TASK_CODES.get(task, task)} "
        f"{titles.get(task, '')}".rstrip()
    )


def _line(key: str, value: Any) -> str:
    return f"**{both(key, sep=' ')}**：{value}"


def _body(title: str, lines: Sequence[str | None]) -> str:
    return "\n\n".join([f"### {title}", *[x for x in lines if x]])


def collect_events(
    records: rules.Records,
    escalations: Sequence[Any],
    as_of: date | datetime,
    *,
    due_soon_days: int = 14,
    ruleset: rules.RuleSet | None = None,
) -> list[Event]:
    """Find what to notify as of a date. Pure: records and a date in, events out.

    Parameters
    ----------
    records : Records
        Tasks, milestones and major matters.
    escalations : sequence of Escalation
    as_of : date or datetime
        The day for due-soon milestones; the moment for overdue matters (a bare date is
        00:00 of that day, as for the escalation rules).
    due_soon_days : int
        An open milestone is due soon when 0 ≤ due − as_of ≤ this.
    ruleset : RuleSet, optional
        To tell which escalations come from ``due_within`` and ``matter_report_overdue``
        rules (not sent as escalations: the due-soon and matter events cover them).

    Returns
    -------
    list of Event
        Keys: ``escalation:<escalation key>``, ``due_soon:<milestone>:<due>``,
        ``matter_opened:<id>``, ``matter_overdue:<id>:<deadline>``.
    """
    ruleset = ruleset or rules.load_rules()
    kind_of = {r.id: r.kind for r in ruleset.rules}
    titles = {task.number: task.title_zh for task in records.tasks}
    day = as_of.date() if isinstance(as_of, datetime) else as_of
    moment = as_of if isinstance(as_of, datetime) else datetime.combine(as_of, datetime.min.time())
    events: list[Event] = []
    for e in escalations:
        if e.status == EscalationStatus.closed or kind_of.get(e.rule_id) in COVERED_RULE_KINDS:
            continue
        level = LEVEL_LABELS[e.level]
        title = t(
            "notify.title.escalation",
            kind=t("notify.kind.escalation"),
            level=t(f"level.{Level(e.level).value}"),
            subject=t(f"subject.{e.subject_type}"),
            id=e.subject_id,
        )
        body = _body(
            title,
            [_task_line(e.task, titles), _line("notify.field.level", level), e.message.text("zh")],
        )
        events.append(
            Event(
                f"escalation:{e.key}",
                "escalation",
                e.subject_type,
                e.subject_id,
                e.task,
                Visibility(e.visibility),
                title,
                body,
            )
        )
    for m in records.milestones:
        left = (m.due - day).days
        if not m.open or not 0 <= left <= due_soon_days:
            continue
        title = t(
            "notify.title.record", kind=t("notify.kind.due_soon"), what=f"{m.id} {m.title_zh}"
        )
        body = _body(
            title,
            [
                _task_line(m.task, titles),
                _line("notify.field.owner", m.owner),
                _line("notify.field.due", m.due),
                _line("notify.field.forecast", m.forecast),
                _line("notify.field.days_left", left),
            ],
        )
        events.append(
            Event(
                f"due_soon:{m.id}:{m.due.isoformat()}",
                "due_soon",
                "milestone",
                m.id,
                m.task,
                Visibility(m.visibility),
                title,
                body,
            )
        )
    for mm in records.matters:
        if mm.status != MatterStatus.open or mm.reported_at is not None:
            continue
        detail = [
            _task_line(mm.task, titles),
            _line(
                "notify.field.what",
                t("notify.what_at", what=mm.what_happened, at=f"{mm.occurred_at:%Y-%m-%d %H:%M}"),
            ),
            _line("notify.field.impact", mm.impact),
            _line("notify.field.measures", mm.measures) if mm.measures else None,
            _line("notify.field.coordination", mm.coordination_requested)
            if mm.coordination_requested
            else None,
            _line("notify.field.deadline", f"{mm.report_deadline:%Y-%m-%d %H:%M}"),
        ]
        if mm.opened_at <= moment:
            title = t("notify.title.record", kind=t("notify.kind.matter_opened"), what=mm.title)
            events.append(
                Event(
                    f"matter_opened:{mm.id}",
                    "matter_opened",
                    "matter",
                    str(mm.id),
                    mm.task,
                    Visibility(mm.visibility),
                    title,
                    _body(title, detail),
                )
            )
        if moment > mm.report_deadline:
            title = t("notify.title.record", kind=t("notify.kind.matter_overdue"), what=mm.title)
            events.append(
                Event(
                    f"matter_overdue:{mm.id}:{mm.report_deadline:%Y%m%dT%H%M}",
                    "matter_overdue",
                    "matter",
                    str(mm.id),
                    mm.task,
                    Visibility(mm.visibility),
                    title,
                    _body(title, detail),
                )
            )
    return events


# ================================================================== outbox
@dataclass(frozen=True)
class OutboxRow:
    """One message for one channel and how far its delivery got."""

    id: int
    event_key: str
    channel: str
    kind: str
    subject_type: str
    subject_id: str
    task: int | None
    title: str
    body: str
    visibility: str
    idempotency_key: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    claimed_at: datetime | None
    claim_token: str | None
    sent_at: datetime | None
    last_error: str

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (without the body)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "body"}
        for k, v in data.items():
            if isinstance(v, datetime):
                data[k] = v.isoformat()
        data["status_label"] = t(f"notify.status.{self.status}")
        return data


def _row(r: Any) -> OutboxRow:
    return OutboxRow(**dict(r._mapping))


@dataclass(frozen=True)
class EnqueueReport:
    """What :func:`enqueue` did: rows queued now, and how many were already queued."""

    queued: tuple[tuple[str, str], ...]
    already: int

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "queued": [{"event_key": k, "channel": c} for k, c in self.queued],
            "already": self.already,
        }


def enqueue(tracker: Tracker, config: NotifyConfig, as_of: date | datetime) -> EnqueueReport:
    """Queue a message per (event, channel) not queued before, in one transaction.

    Events are found in what the tracker's user may see (:func:`collect_events`); a
    channel receives only events of its kinds, tasks and clearance.

    Raises
    ------
    PermissionDenied
        Unless the user is the office or the convenor.
    """
    access.check_write(tracker.user, "run", "notifications")
    queued: list[tuple[str, str]] = []
    already = 0
    repo = tracker.repository
    with repo.write() as conn:
        recs = load_records(conn)
        visible = rules.Records(
            recs.tasks, repo.visible(recs.milestones), (), repo.visible(recs.matters)
        )
        events = collect_events(
            visible,
            repo.visible(load_escalations(conn)),
            as_of,
            due_soon_days=config.due_soon_days,
            ruleset=tracker.rules,
        )
        now = tracker.clock()
        for ch in config.channels:
            for ev in events:
                if not ch.accepts(ev):
                    continue
                values = {
                    "event_key": ev.key,
                    "channel": ch.name,
                    "kind": ev.kind,
                    "subject_type": ev.subject_type,
                    "subject_id": ev.subject_id,
                    "task": ev.task,
                    "title": ev.title,
                    "body": ev.body,
                    "visibility": ev.visibility.value,
                    "idempotency_key": f"pp-{uuid.uuid4().hex}",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                    "last_error": "",
                }
                if _insert_new(conn, values):
                    queued.append((ev.key, ch.name))
                else:
                    already += 1
    return EnqueueReport(tuple(queued), already)


def _insert_new(conn: Connection, values: dict[str, Any]) -> bool:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (
        insert(tables.notification_outbox)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["event_key", "channel"])
        .returning(tables.notification_outbox.c.id)
    )
    return conn.execute(stmt).first() is not None


def outbox(workspace: Workspace, *, status: str | None = None, user: Any = None) -> list[OutboxRow]:
    """Return the outbox, oldest first (rows above ``user``'s clearance left out)."""
    query = sa.select(tables.notification_outbox).order_by(tables.notification_outbox.c.id)
    if status is not None:
        query = query.where(tables.notification_outbox.c.status == status)
    with workspace.connect() as conn:
        rows = [_row(r) for r in conn.execute(query)]
    if user is not None:
        rows = [r for r in rows if user.can_see(Visibility(r.visibility))]
    return rows


def requeue(
    workspace: Workspace, outbox_id: int, *, user: Any, now: datetime | None = None
) -> OutboxRow:
    """Send an ``uncertain`` or ``failed`` message again (an operator's decision).

    For an uncertain one, the receiver may get it twice; the idempotency key lets it tell.

    Raises
    ------
    PermissionDenied
        Unless ``user`` is the office or the convenor.
    ParkplanError
        If the row is not uncertain or failed.
    """
    access.check_write(user, "requeue", "notifications")
    now = now or now_shanghai()
    with workspace.begin() as conn:
        row = conn.execute(
            sa.select(tables.notification_outbox).where(
                tables.notification_outbox.c.id == outbox_id
            )
        ).first()
        if row is None or not user.can_see(Visibility(row.visibility)):
            raise access.NotFound(f"no outbox message #{outbox_id} visible to you")
        if row.status not in ("uncertain", "failed"):
            raise ParkplanError(
                f"outbox message #{outbox_id} is {row.status}; only uncertain "
                "or failed messages are requeued"
            )
        conn.execute(
            tables.notification_outbox.update()
            .where(tables.notification_outbox.c.id == outbox_id)
            .values(
                status="retry",
                attempts=0,
                next_attempt_at=now,
                claim_token=None,
                last_error=(
                    f"{row.last_error} [requeued by {user.name} at {now:%Y-%m-%d %H:%M}]"
                ).strip(),
            )
        )
        return _row(
            conn.execute(
                sa.select(tables.notification_outbox).where(
                    tables.notification_outbox.c.id == outbox_id
                )
            ).one()
        )


# ================================================================ delivery
def wecom_payload(row: OutboxRow) -> dict:
    """Return the WeCom group-robot message.

    ``{"msgtype": "markdown", "markdown": {"content": …}}``, within WeCom's 4096-byte
    limit, ending with the idempotency key.
    """
    return {"msgtype": "markdown", "markdown": {"content": _with_footer(row, WECOM_MAX_BYTES - 96)}}


def dingtalk_payload(row: OutboxRow) -> dict:
    """Return the DingTalk group-robot message.

    ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``, ending with the
    idempotency key.
    """
    return {
        "msgtype": "markdown",
        "markdown": {"title": row.title, "text": _with_footer(row, 18000)},
    }


def _with_footer(row: OutboxRow, limit: int) -> str:
    footer = f"\n\n---\n{t('notify.footer', id=row.idempotency_key)}"
    body = row.body
    room = limit - len(footer.encode())
    if len(body.encode()) > room:
        body = body.encode()[: room - 3].decode(errors="ignore") + "…"
    return body + footer


def email_message(
    channel: EmailChannel, row: OutboxRow, now: datetime | None = None
) -> EmailMessage:
    """Return the e-mail of an outbox row.

    ``Message-ID`` is ``<idempotency key@parkplan.invalid>`` (the same on every attempt),
    with ``X-Parkplan-Idempotency-Key`` and ``X-Parkplan-Event`` headers.
    """
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = row.title
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    msg["Date"] = email.utils.format_datetime((now or datetime.now()).astimezone())
    msg["Message-ID"] = f"<{row.idempotency_key}@parkplan.invalid>"
    msg["X-Parkplan-Idempotency-Key"] = row.idempotency_key
    msg["X-Parkplan-Event"] = row.event_key
    text = row.body.replace("### ", "").replace("**", "")
    msg.set_content(text + "\n\n-- \n" + t("notify.footer", id=row.idempotency_key) + "\n")
    return msg


def _is_loopback(host: str | None) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def post_webhook(channel: WebhookChannel, row: OutboxRow, environ: Mapping[str, str]) -> None:
    """Post a row to a WeCom or DingTalk robot.

    Raises
    ------
    DeliveryFailed
        The robot was not reached, answered with an HTTP error, or with ``errcode`` ≠ 0.
    DeliveryUncertain
        The request went out but no (readable) answer came back.
    """
    url = environ[channel.url_env]
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed(
            f"channel {channel.name}: {channel.url_env} is not an http(s) URL", permanent=True
        )
    if channel.type == "dingtalk" and channel.secret_env:
        stamp = str(round(time.time() * 1000))
        secret = environ[channel.secret_env]
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        url += ("&" if parts.query else "?") + f"timestamp={stamp}&sign={sign}"
    payload = wecom_payload(row) if channel.type == "wecom" else dingtalk_payload(row)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": row.idempotency_key,
            "User-Agent": "parkplan",
        },
    )
    handlers = [urllib.request.ProxyHandler({})] if _is_loopback(parts.hostname) else []
    opener = urllib.request.build_opener(*handlers)
    where = f"{parts.scheme}://{parts.hostname}"
    try:
        response = opener.open(request, timeout=channel.timeout_seconds)
    except urllib.error.HTTPError as err:
        err.close()
        raise DeliveryFailed(
            f"{where} answered HTTP {err.code} {err.reason}",
            permanent=400 <= err.code < 500 and err.code not in (408, 429),
        ) from None
    except urllib.error.URLError as err:  # the request did not go out whole
        raise DeliveryFailed(f"cannot reach {where}: {err.reason}") from None
    except (OSError, http.client.HTTPException) as err:
        raise DeliveryUncertain(
            f"{where} gave no answer after the message was sent ({type(err).__name__}: {err})"
        ) from None
    try:
        with response:
            raw = response.read(65536)
    except (OSError, http.client.HTTPException) as err:
        raise DeliveryUncertain(
            f"{where} answered {response.status} but the answer could not be read ({err})"
        ) from None
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise DeliveryFailed(
            f"{where} refused the message: errcode {answer.get('errcode')} "
            f"{answer.get('errmsg', '')}".rstrip()
        )


def send_email(channel: EmailChannel, row: OutboxRow, environ: Mapping[str, str]) -> None:
    """Send a row by SMTP (STARTTLS, SSL or plain, with login if configured).

    Raises
    ------
    DeliveryFailed
        The server could not be reached or refused the message (5xx: permanent).
    DeliveryUncertain
        The whole message was sent but the server's answer to it never came.
    """
    msg = email_message(channel, row)
    data = msg.as_bytes(policy=email.policy.SMTP)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    data += b".\r\n"
    username = environ.get(channel.username_env) if channel.username_env else channel.username
    password = environ.get(channel.password_env) if channel.password_env else None
    where = f"{channel.host}:{channel.port}"
    sent_all = False
    smtp: smtplib.SMTP | None = None
    try:
        context = ssl.create_default_context()
        if channel.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                channel.host, channel.port, timeout=channel.timeout_seconds, context=context
            )
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds)
        smtp.ehlo()
        if channel.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if username:
            smtp.login(username, password or "")
        _expect(smtp.mail(channel.sender), (250,), "MAIL FROM", where)
        for rcpt in channel.to:
            _expect(smtp.rcpt(rcpt), (250, 251), f"RCPT TO {rcpt}", where)
        _expect(smtp.docmd("DATA"), (354,), "DATA", where)
        smtp.send(data)
        sent_all = True
        _expect(smtp.getreply(), (250,), "end of data", where)
    except DeliveryFailed:
        raise
    except (smtplib.SMTPException, OSError) as err:
        if sent_all:
            raise DeliveryUncertain(
                f"{where} gave no answer after the message was sent ({type(err).__name__}: {err})"
            ) from None
        permanent = isinstance(err, smtplib.SMTPResponseException) and err.smtp_code >= 500
        raise DeliveryFailed(f"{where}: {type(err).__name__}: {err}", permanent=permanent) from None
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _expect(reply: tuple[int, bytes], ok: tuple[int, ...], step: str, where: str) -> None:
    code, text = reply
    if code not in ok:
        raise DeliveryFailed(
            f"{where} refused {step}: {code} {text.decode(errors='replace')}", permanent=code >= 500
        )


Sender = Callable[[Any, OutboxRow, Mapping[str, str]], None]
SENDERS: dict[str, Sender] = {"wecom": post_webhook, "dingtalk": post_webhook, "email": send_email}


# ================================================================ dispatch
@dataclass(frozen=True)
class DispatchReport:
    """What :func:`dispatch` did, row by row (as they ended), and channels it skipped."""

    sent: tuple[OutboxRow, ...] = ()
    retrying: tuple[OutboxRow, ...] = ()
    failed: tuple[OutboxRow, ...] = ()
    uncertain: tuple[OutboxRow, ...] = ()
    skipped_channels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "sent": [r.to_dict() for r in self.sent],
            "retrying": [r.to_dict() for r in self.retrying],
            "failed": [r.to_dict() for r in self.failed],
            "uncertain": [r.to_dict() for r in self.uncertain],
            "skipped_channels": dict(self.skipped_channels),
        }


def dispatch(
    workspace: Workspace,
    config: NotifyConfig,
    now: datetime | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    senders: Mapping[str, Sender] | None = None,
) -> DispatchReport:
    """Send every queued message that is due, one at a time; never send one twice.

    Parameters
    ----------
    workspace : Workspace
    config : NotifyConfig
    now : datetime, optional
        Shanghai local time (default the clock): which rows are due, when retries fall.
    environ : mapping, optional
        Where secrets are looked up (default ``os.environ``).
    senders : mapping, optional
        Channel type → send function (default :data:`SENDERS`).

    Notes
    -----
    Per row: claim it (a committed conditional update ``pending``/``retry`` →
    ``sending``), send, then record the outcome (``sent``; ``retry`` with
    ``next_attempt_at`` = now + backoff; ``failed`` after ``retry.max_attempts`` or a
    permanent refusal; ``uncertain`` when the outcome is unknown). Rows left ``sending``
    longer than ``lease_seconds`` (the process died between sending and recording) become
    ``uncertain``. Channels whose secrets are not set are skipped, their rows untouched.
    """
    now = now or now_shanghai()
    environ = os.environ if environ is None else environ
    senders = {**SENDERS, **(senders or {})}
    ready: dict[str, Channel] = {}
    skipped: dict[str, str] = {}
    for ch in config.channels:
        reason = ch.missing(environ)
        if reason:
            skipped[ch.name] = reason
        else:
            ready[ch.name] = ch
    outcome: dict[str, list[OutboxRow]] = {"sent": [], "retry": [], "failed": [], "uncertain": []}
    outcome["uncertain"] += _expire_leases(workspace, now, config.lease_seconds)
    if not ready:
        return _report(outcome, skipped)
    with workspace.connect() as conn:
        due = (
            conn.execute(
                sa.select(tables.notification_outbox.c.id)
                .where(
                    tables.notification_outbox.c.status.in_(("pending", "retry")),
                    tables.notification_outbox.c.next_attempt_at <= now,
                    tables.notification_outbox.c.channel.in_(list(ready)),
                )
                .order_by(tables.notification_outbox.c.id)
            )
            .scalars()
            .all()
        )
    for row_id in due:
        token = uuid.uuid4().hex
        row = _claim(workspace, row_id, token, now)
        if row is None:
            continue  # another dispatcher took it
        ch = ready[row.channel]
        status, error = "sent", ""
        try:
            senders[ch.type](ch, row, environ)
        except DeliveryFailed as err:
            permanent = err.permanent or row.attempts >= config.retry.max_attempts
            status, error = ("failed" if permanent else "retry"), str(err)
        except DeliveryUncertain as err:
            status, error = "uncertain", str(err)
        except Exception as err:  # noqa: BLE001 — a bug mid-send: outcome unknown
            status, error = "uncertain", f"{type(err).__name__}: {err}"
        marked = _mark(workspace, row, token, status, error, now, config.retry)
        outcome[status].append(marked)
    return _report(outcome, skipped)


def _report(outcome: dict[str, list[OutboxRow]], skipped: dict[str, str]) -> DispatchReport:
    return DispatchReport(
        tuple(outcome["sent"]),
        tuple(outcome["retry"]),
        tuple(outcome["failed"]),
        tuple(outcome["uncertain"]),
        skipped,
    )


def _claim(workspace: Workspace, row_id: int, token: str, now: datetime) -> OutboxRow | None:
    o = tables.notification_outbox.c
    with workspace.begin() as conn:
        result = conn.execute(
            tables.notification_outbox.update()
            .where(o.id == row_id, o.status.in_(("pending", "retry")), o.next_attempt_at <= now)
            .values(status="sending", attempts=o.attempts + 1, claimed_at=now, claim_token=token)
        )
        if result.rowcount != 1:
            return None
        return _row(conn.execute(sa.select(tables.notification_outbox).where(o.id == row_id)).one())


def _mark(
    workspace: Workspace,
    row: OutboxRow,
    token: str,
    status: str,
    error: str,
    now: datetime,
    retry: RetryPolicy,
) -> OutboxRow:
    o = tables.notification_outbox.c
    values: dict[str, Any] = {"status": status, "last_error": error[:2000]}
    if status == "sent":
        values["sent_at"] = now
    elif status == "retry":
        values["next_attempt_at"] = now + retry.delay(row.attempts)
    with workspace.begin() as conn:
        conn.execute(
            tables.notification_outbox.update()
            .where(o.id == row.id, o.claim_token == token)
            .values(values)
        )
        return _row(conn.execute(sa.select(tables.notification_outbox).where(o.id == row.id)).one())


def _expire_leases(workspace: Workspace, now: datetime, lease_seconds: float) -> list[OutboxRow]:
    o = tables.notification_outbox.c
    cutoff = now - timedelta(seconds=lease_seconds)
    with workspace.begin() as conn:
        stale = conn.execute(
            sa.select(tables.notification_outbox).where(
                o.status == "sending", o.claimed_at < cutoff
            )
        ).all()
        for r in stale:
            conn.execute(
                tables.notification_outbox.update()
                .where(o.id == r.id, o.status == "sending", o.claim_token == r.claim_token)
                .values(
                    status="uncertain",
                    last_error=(
                        f"claimed at {r.claimed_at:%Y-%m-%d %H:%M:%S} and never recorded: "
                        "the sender stopped between sending and recording; check whether "
                        "it arrived, then 'parkplan outbox requeue' it if not"
                    ),
                )
            )
        ids = [r.id for r in stale]
        if not ids:
            return []
        return [
            _row(r)
            for r in conn.execute(sa.select(tables.notification_outbox).where(o.id.in_(ids)))
        ]


__all__ = [
    "CHANNELS_ENV",
    "COVERED_RULE_KINDS",
    "DEFAULT_CHANNELS_PATH",
    "EVENT_KINDS",
    "SENDERS",
    "Channel",
    "DeliveryFailed",
    "DeliveryUncertain",
    "DispatchReport",
    "EmailChannel",
    "EnqueueReport",
    "Event",
    "NotifyConfig",
    "OutboxRow",
    "RetryPolicy",
    "WebhookChannel",
    "collect_events",
    "dingtalk_payload",
    "dispatch",
    "email_message",
    "enqueue",
    "load_channels",
    "outbox",
    "parse_channels",
    "post_webhook",
    "requeue",
    "send_email",
    "wecom_payload",
]
