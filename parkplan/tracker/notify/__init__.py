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

from parkplan.tracker.notify.config import (
    CHANNELS_ENV,
    DEFAULT_CHANNELS_PATH,
    EVENT_KINDS,
    Channel,
    EmailChannel,
    NotifyConfig,
    RetryPolicy,
    WebhookChannel,
    load_channels,
    parse_channels,
)
from parkplan.tracker.notify.events import COVERED_RULE_KINDS, Event, collect_events
from parkplan.tracker.notify.outbox import (
    SENDERS,
    DispatchReport,
    EnqueueReport,
    OutboxRow,
    dispatch,
    enqueue,
    outbox,
    requeue,
)
from parkplan.tracker.notify.transports import (
    WECOM_MAX_BYTES,
    DeliveryFailed,
    DeliveryUncertain,
    dingtalk_payload,
    email_message,
    post_webhook,
    send_email,
    wecom_payload,
)

__all__ = [
    "CHANNELS_ENV",
    "COVERED_RULE_KINDS",
    "DEFAULT_CHANNELS_PATH",
    "EVENT_KINDS",
    "SENDERS",
    "WECOM_MAX_BYTES",
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
