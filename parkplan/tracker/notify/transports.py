"""Delivering one message: WeCom and DingTalk group robots over HTTPS, e-mail over SMTP."""

from __future__ import annotations

import base64
import email.policy
import email.utils
import hashlib
import hmac
import http.client
import json
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING

from parkplan.errors import ParkplanError
from parkplan.i18n import t
from parkplan.tracker.notify.config import EmailChannel, WebhookChannel

if TYPE_CHECKING:
    from parkplan.tracker.notify.outbox import OutboxRow

    pass


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


__all__ = [
    "DeliveryFailed",
    "DeliveryUncertain",
    "WECOM_MAX_BYTES",
    "dingtalk_payload",
    "email_message",
    "post_webhook",
    "send_email",
    "wecom_payload",
]
