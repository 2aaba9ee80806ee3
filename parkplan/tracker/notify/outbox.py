"""The outbox: queueing each event once per channel, and dispatching what is due."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Connection

from parkplan.errors import ParkplanError
from parkplan.i18n import t
from parkplan.identity.users import Visibility
from parkplan.store import Workspace
from parkplan.tracker import access, rules, tables
from parkplan.tracker.notify.config import Channel, NotifyConfig, RetryPolicy
from parkplan.tracker.notify.events import collect_events
from parkplan.tracker.notify.transports import (
    DeliveryFailed,
    DeliveryUncertain,
    post_webhook,
    send_email,
)
from parkplan.tracker.repository import load_escalations, load_records, now_shanghai

if TYPE_CHECKING:
    from parkplan.tracker.service import Tracker


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


#: How a message is sent: a channel, the row, the environment holding the secrets.
Sender = Callable[[Any, OutboxRow, Mapping[str, str]], None]
#: The sender of each channel type.
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
    "SENDERS",
    "DispatchReport",
    "EnqueueReport",
    "OutboxRow",
    "dispatch",
    "enqueue",
    "outbox",
    "requeue",
]
