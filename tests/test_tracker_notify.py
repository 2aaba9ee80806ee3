"""Notifications against servers the tests start on loopback: WeCom/DingTalk robot JSON over
HTTP, e-mail over SMTP; retries with backoff; never sent twice."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import socketserver
import threading
import time
import urllib.parse
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.errors import InputError
from parkplan.identity.users import Visibility
from parkplan.store import Workspace
from parkplan.tracker import PermissionDenied, Tracker
from parkplan.tracker import notify as nt
from parkplan.tracker.model import Milestone
from parkplan.tracker.repository import load_escalations, load_records
from parkplan.tracker.rules import Records
from parkplan.tracker.seed import DEMO_DATE

runner = CliRunner()
T0 = datetime(2026, 11, 25, 9, 0)


# ------------------------------------------------------------ loopback servers
class Hook:
    """A robot webhook on 127.0.0.1: records every request, answers from a script."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, float]] = []  # (status, answer, delay s)
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with hook.lock:
                    status, answer, delay = (
                        hook.script.pop(0)
                        if hook.script
                        else (200, {"errcode": 0, "errmsg": "ok"}, 0)
                    )
                    hook.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": json.loads(body),
                            "status": status,
                        }
                    )
                time.sleep(delay)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=k"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def delivered(self) -> list[dict]:
        return [r for r in self.requests if r["status"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


class FakeSMTP(socketserver.ThreadingTCPServer):
    """A minimal SMTP server on 127.0.0.1 that keeps every message it accepts."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.messages: list[dict] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                def say(text):
                    self.wfile.write(text.encode() + b"\r\n")

                envelope: dict = {"rcpt": []}
                say("220 127.0.0.1 fake ESMTP")
                while line := self.rfile.readline():
                    verb = line[:4].decode(errors="replace").upper()
                    if verb == "EHLO":
                        say("250-127.0.0.1")
                        say("250 8BITMIME")
                    elif verb == "HELO":
                        say("250 127.0.0.1")
                    elif verb == "MAIL":
                        envelope["from"] = line[10:].decode().strip()
                        say("250 OK")
                    elif verb == "RCPT":
                        envelope["rcpt"].append(line[8:].decode().strip())
                        say("250 OK")
                    elif verb == "DATA":
                        say("354 end with .")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        outer.messages.append({**envelope, "raw": b"".join(data)})
                        say("250 OK queued")
                    elif verb == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("250 OK")

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def smtp():
    server = FakeSMTP()
    yield server
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------------- helpers
@pytest.fixture
def gpkg(tmp_path, demo_gpkg) -> str:
    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    return str(path)


def office(ws, at: datetime = T0) -> Tracker:
    return Tracker(ws, "office", clock=lambda: at)


def config(*channels: dict, **extra) -> nt.NotifyConfig:
    return nt.parse_channels({"channels": list(channels), **extra})


def wecom(**kw) -> dict:
    return {
        "name": "wecom",
        "type": "wecom",
        "url_env": "T_WECOM_URL",
        "clearance": "internal",
        **kw,
    }


def outbox_rows(ws) -> list[nt.OutboxRow]:
    return nt.outbox(ws)


# -------------------------------------------------------------- pure parts
def _ms(mid, due, status="not_started"):
    return Milestone(
        id=mid,
        task=3,
        title_zh=f"里程碑{mid}",
        owner="认证监督管理处",
        start=date(2026, 6, 1),
        due=due,
        status=status,
    )


def test_due_soon_events_at_their_boundaries():
    as_of = date(2026, 11, 25)
    ms = [
        _ms("A", as_of + timedelta(days=14)),
        _ms("B", as_of + timedelta(days=15)),
        _ms("C", as_of),
        _ms("D", as_of - timedelta(days=1)),
        _ms("E", as_of + timedelta(days=3), status="done"),
    ]
    events = nt.collect_events(Records((), ms, (), ()), [], as_of, due_soon_days=14)
    assert [e.key for e in events] == ["due_soon:A:2026-12-09", "due_soon:C:2026-11-25"]
    assert events[0].title == "【里程碑即将到期】A 里程碑A"
    assert "**剩余天数 Days left**：14" in events[0].body
    assert events[0].visibility == Visibility.shareable


def test_events_of_the_demo(gpkg):
    with Workspace.open(gpkg) as ws:
        tr = office(ws)
        with ws.connect() as conn:
            recs, escs = load_records(conn), load_escalations(conn)
    at = {
        d: {e.kind for e in nt.collect_events(recs, escs, d, ruleset=tr.rules)}
        for d in (
            datetime(2026, 11, 23, 9, 59),
            datetime(2026, 11, 24, 10, 0),
            datetime(2026, 11, 24, 10, 1),
        )
    }
    # the matter was opened 2026-11-23 10:00, to be reported within 24 h
    assert "matter_opened" not in at[datetime(2026, 11, 23, 9, 59)]
    assert {"matter_opened"} <= at[datetime(2026, 11, 24, 10, 0)]
    assert "matter_overdue" not in at[datetime(2026, 11, 24, 10, 0)]
    assert "matter_overdue" in at[datetime(2026, 11, 24, 10, 1)]
    events = nt.collect_events(recs, escs, DEMO_DATE, ruleset=tr.rules)
    keys = [e.key for e in events]
    assert len(keys) == len(set(keys))
    # due_within and matter escalations are told by due_soon / matter events instead
    assert not any(k.startswith(("escalation:due_soon:", "escalation:matter_late")) for k in keys)
    assert "escalation:overdue_office:milestone:M6-1:office" in keys
    esc = next(e for e in events if e.key == "escalation:overdue_office:milestone:M6-1:office")
    assert esc.title == "【升级事项·专班办公室】里程碑 M6-1" and esc.visibility == "shareable"


def test_robot_payload_shapes():
    row = nt.OutboxRow(
        1,
        "matter_opened:1",
        "c",
        "matter_opened",
        "matter",
        "1",
        3,
        "【重大事项报告】标题",
        "### 【重大事项报告】标题\n\n正文" + "长" * 3000,
        "internal",
        "pp-abc",
        "pending",
        0,
        T0,
        T0,
        None,
        None,
        None,
        "",
    )
    w = nt.wecom_payload(row)
    assert set(w) == {"msgtype", "markdown"} and w["msgtype"] == "markdown"
    assert set(w["markdown"]) == {"content"}
    assert len(w["markdown"]["content"].encode()) <= nt.WECOM_MAX_BYTES
    assert w["markdown"]["content"].endswith("消息编号 pp-abc")
    d = nt.dingtalk_payload(row)
    assert d == {
        "msgtype": "markdown",
        "markdown": {"title": "【重大事项报告】标题", "text": d["markdown"]["text"]},
    }
    assert (
        d["markdown"]["text"].startswith("### 【重大事项报告】标题")
        and "pp-abc" in d["markdown"]["text"]
    )


def test_channels_file_checks(tmp_path):
    example = nt.load_channels()
    assert [c.type for c in example.channels] == ["wecom", "dingtalk", "email"]
    assert example.channels[2].sender == "parkplan@example.gov.cn"
    with pytest.raises(InputError, match="secrets do not go in the file.*url_env"):
        config({"name": "x", "type": "wecom", "url": "https://qyapi.weixin.qq.com/…?key=1"})
    with pytest.raises(InputError, match="secrets do not go in the file.*password_env"):
        config(
            {
                "name": "m",
                "type": "email",
                "host": "h",
                "from": "a@b",
                "to": ["c@d"],
                "password": "hunter2",
            }
        )
    with pytest.raises(InputError, match="channel name 'x' is used twice"):
        config(wecom(name="x"), wecom(name="x"))
    with pytest.raises(InputError) as err:
        config({"name": "x", "type": "sms", "url_env": "A"})
    assert "row 1" in str(err.value)
    bad = tmp_path / "c.yaml"
    bad.write_text("channels: [", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        nt.load_channels(bad)


# ----------------------------------------------------------- delivery, HTTP
def test_robots_get_the_right_json_once(store, demo_location, hook):
    cfg = config(
        wecom(),
        {
            "name": "ding",
            "type": "dingtalk",
            "url_env": "T_DING_URL",
            "secret_env": "T_DING_SECRET",
            "clearance": "internal",
            "events": ["escalation", "matter_opened", "matter_overdue"],
        },
    )
    env = {
        "T_WECOM_URL": hook.url,
        "T_DING_URL": hook.url.replace("key=k", "access_token=t"),
        "T_DING_SECRET": "SEC123",
    }
    with Workspace.open(demo_location) as ws:
        queued = nt.enqueue(office(ws), cfg, DEMO_DATE)
        n = len(queued.queued)
        assert n > 4 and queued.already == 0
        report = nt.dispatch(ws, cfg, T0 + timedelta(minutes=1), environ=env)
        assert len(report.sent) == n and not report.retrying and not report.uncertain
        assert len(hook.requests) == n
        for req in hook.requests:
            body = req["json"]
            assert body["msgtype"] == "markdown"
            key = req["headers"]["Idempotency-Key"]
            if "key=k" in req["path"]:
                assert set(body["markdown"]) == {"content"}
                assert key in body["markdown"]["content"]
            else:
                assert set(body["markdown"]) == {"title", "text"}
                assert key in body["markdown"]["text"]
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(req["path"]).query)
                assert query["access_token"] == ["t"] and query["timestamp"] and query["sign"]
        assert len({r["headers"]["Idempotency-Key"] for r in hook.requests}) == n
        assert any(
            "重大事项报告" in json.dumps(r["json"], ensure_ascii=False) for r in hook.requests
        )
        # twice: nothing queued twice, nothing sent twice
        again = nt.enqueue(office(ws, T0 + timedelta(hours=1)), cfg, DEMO_DATE)
        assert again.queued == () and again.already == n
        assert nt.dispatch(ws, cfg, T0 + timedelta(hours=2), environ=env).sent == ()
        assert len(hook.requests) == n
        assert {r.status for r in outbox_rows(ws)} == {"sent"}


def test_http_500_first_then_the_retry_delivers_exactly_once(gpkg, hook):
    cfg = config(wecom(events=["matter_opened"]))
    env = {"T_WECOM_URL": hook.url}
    hook.script = [(500, {"error": "internal"}, 0)]
    with Workspace.open(gpkg) as ws:
        assert len(nt.enqueue(office(ws), cfg, DEMO_DATE).queued) == 1
        first = nt.dispatch(ws, cfg, T0, environ=env)
        assert first.sent == () and len(first.retrying) == 1
        row = first.retrying[0]
        assert row.status == "retry" and row.attempts == 1 and "HTTP 500" in row.last_error
        assert row.next_attempt_at == T0 + timedelta(seconds=60)
        assert nt.dispatch(ws, cfg, T0 + timedelta(seconds=30), environ=env).sent == ()
        second = nt.dispatch(ws, cfg, T0 + timedelta(seconds=61), environ=env)
        assert len(second.sent) == 1 and second.sent[0].attempts == 2
        for later in (2, 3):
            assert nt.dispatch(ws, cfg, T0 + timedelta(hours=later), environ=env).sent == ()
    assert [r["status"] for r in hook.requests] == [500, 200]
    assert len(hook.delivered) == 1
    keys = {r["headers"]["Idempotency-Key"] for r in hook.requests}
    assert len(keys) == 1  # the retry is the same message


def test_robot_errcode_backoff_and_giving_up(gpkg, hook):
    cfg = config(wecom(events=["matter_opened"]), retry={"max_attempts": 3, "backoff_seconds": 60})
    env = {"T_WECOM_URL": hook.url}
    hook.script = [(200, {"errcode": 45009, "errmsg": "api freq out of limit"}, 0)] * 3
    with Workspace.open(gpkg) as ws:
        nt.enqueue(office(ws), cfg, DEMO_DATE)
        now = T0
        waits = []
        for _ in range(3):
            report = nt.dispatch(ws, cfg, now, environ=env)
            row = (report.retrying or report.failed)[0]
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
        assert row.status == "failed" and row.attempts == 3
        assert "errcode 45009 api freq out of limit" in row.last_error
        assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=120)]
        assert nt.dispatch(ws, cfg, now + timedelta(days=1), environ=env).sent == ()
    assert len(hook.requests) == 3


def test_a_permanent_refusal_is_not_retried(gpkg, hook):
    cfg = config(wecom(events=["matter_opened"]))
    hook.script = [(404, {"error": "no such robot"}, 0)]
    with Workspace.open(gpkg) as ws:
        nt.enqueue(office(ws), cfg, DEMO_DATE)
        report = nt.dispatch(ws, cfg, T0, environ={"T_WECOM_URL": hook.url})
    assert (
        report.failed
        and report.failed[0].attempts == 1
        and "HTTP 404" in report.failed[0].last_error
    )


def test_a_crash_between_send_and_mark_never_resends(gpkg, hook):
    cfg = config(wecom(events=["matter_opened"]), lease_seconds=600)
    env = {"T_WECOM_URL": hook.url}

    def send_then_die(channel, row, environ):
        nt.post_webhook(channel, row, environ)
        raise KeyboardInterrupt  # the process stops before recording the delivery

    with Workspace.open(gpkg) as ws:
        nt.enqueue(office(ws), cfg, DEMO_DATE)
        with pytest.raises(KeyboardInterrupt):
            nt.dispatch(ws, cfg, T0, environ=env, senders={"wecom": send_then_die})
        assert outbox_rows(ws)[0].status == "sending"
        assert nt.dispatch(ws, cfg, T0 + timedelta(minutes=5), environ=env).sent == ()
        later = nt.dispatch(ws, cfg, T0 + timedelta(minutes=11), environ=env)
        assert later.sent == () and len(later.uncertain) == 1
        assert "never recorded" in later.uncertain[0].last_error
        assert nt.dispatch(ws, cfg, T0 + timedelta(days=1), environ=env).sent == ()
        assert len(hook.requests) == 1  # not sent twice
        # an operator who checked may send it again; the key lets the receiver dedupe
        with pytest.raises(PermissionDenied):
            nt.requeue(ws, later.uncertain[0].id, user=Tracker(ws, "viewer").user)
        nt.requeue(
            ws, later.uncertain[0].id, user=Tracker(ws, "office").user, now=T0 + timedelta(days=1)
        )
        assert len(nt.dispatch(ws, cfg, T0 + timedelta(days=1), environ=env).sent) == 1
    assert len(hook.requests) == 2
    assert len({r["headers"]["Idempotency-Key"] for r in hook.requests}) == 1


def test_no_answer_after_sending_is_uncertain_not_retried(gpkg, hook):
    cfg = config(wecom(events=["matter_opened"], timeout_seconds=0.3))
    hook.script = [(200, {"errcode": 0}, 1.0)]
    with Workspace.open(gpkg) as ws:
        nt.enqueue(office(ws), cfg, DEMO_DATE)
        report = nt.dispatch(ws, cfg, T0, environ={"T_WECOM_URL": hook.url})
        assert len(report.uncertain) == 1 and "no answer" in report.uncertain[0].last_error
        assert (
            nt.dispatch(ws, cfg, T0 + timedelta(days=1), environ={"T_WECOM_URL": hook.url}).sent
            == ()
        )
    assert len(hook.requests) == 1


def test_unreachable_robot_is_retried(gpkg):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    cfg = config(wecom(events=["matter_opened"], timeout_seconds=2))
    with Workspace.open(gpkg) as ws:
        nt.enqueue(office(ws), cfg, DEMO_DATE)
        report = nt.dispatch(ws, cfg, T0, environ={"T_WECOM_URL": url})
    assert report.retrying and "cannot reach http://127.0.0.1" in report.retrying[0].last_error


def test_concurrent_dispatchers_send_each_message_once(store, demo_location, hook):
    cfg = config(wecom())
    env = {"T_WECOM_URL": hook.url}
    with Workspace.open(demo_location) as ws:
        n = len(nt.enqueue(office(ws), cfg, DEMO_DATE).queued)
        results = []

        def run():
            with Workspace.open(demo_location) as own:
                results.append(nt.dispatch(own, cfg, T0, environ=env))

        threads = [threading.Thread(target=run) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        assert sum(len(r.sent) for r in results) == n
    keys = [r["headers"]["Idempotency-Key"] for r in hook.requests]
    assert len(keys) == n == len(set(keys))


def test_a_channel_without_its_secret_is_skipped(gpkg, hook):
    cfg = config(wecom())
    with Workspace.open(gpkg) as ws:
        n = len(nt.enqueue(office(ws), cfg, DEMO_DATE).queued)
        report = nt.dispatch(ws, cfg, T0, environ={})
        assert report.skipped_channels == {
            "wecom": "channel wecom: environment variable T_WECOM_URL is not set"
        }
        rows = outbox_rows(ws)
        assert len(rows) == n and {(r.status, r.attempts) for r in rows} == {("pending", 0)}
    assert hook.requests == []


def test_only_office_and_convenor_queue_and_clearance_filters(gpkg):
    cfg = config(
        wecom(),
        {"name": "public", "type": "wecom", "url_env": "T_PUBLIC", "clearance": "shareable"},
    )
    with Workspace.open(gpkg) as ws:
        for who in ("viewer", "planner", "owner3"):
            with pytest.raises(PermissionDenied, match="may not run notifications") as err:
                nt.enqueue(Tracker(ws, who), cfg, DEMO_DATE)
            assert (
                err.value.code
                == {
                    "viewer": "viewer_read_only",
                    "planner": "planner_no_records",
                    "owner3": "office_only",
                }[who]
            )
            assert err.value.values["entity"] == "notifications"
        queued = nt.enqueue(Tracker(ws, "convenor", clock=lambda: T0), cfg, DEMO_DATE)
        rows = outbox_rows(ws)
    # escalations and matters are internal: the shareable channel gets none of them
    assert {r.visibility for r in rows if r.channel == "public"} <= {"shareable", "public"}
    assert any(r.channel == "wecom" and r.visibility == "internal" for r in rows)
    assert len(queued.queued) == len(rows)


# ----------------------------------------------------------- delivery, SMTP
def test_email_arrives_with_its_headers(gpkg, smtp):
    cfg = config(
        {
            "name": "mail",
            "type": "email",
            "host": "127.0.0.1",
            "port": smtp.server_address[1],
            "security": "none",
            "from": "parkplan@example.gov.cn",
            "to": ["zhuanban@example.gov.cn", "office@example.gov.cn"],
            "clearance": "internal",
            "events": ["matter_opened", "matter_overdue"],
        }
    )
    with Workspace.open(gpkg) as ws:
        nt.enqueue(office(ws), cfg, DEMO_DATE)
        report = nt.dispatch(ws, cfg, T0, environ={})
        assert len(report.sent) == 2
        assert nt.dispatch(ws, cfg, T0 + timedelta(hours=1), environ={}).sent == ()
        rows = {r.idempotency_key: r for r in outbox_rows(ws)}
    assert len(smtp.messages) == 2
    for got in smtp.messages:
        assert got["from"] == "<parkplan@example.gov.cn>"
        assert got["rcpt"] == ["<zhuanban@example.gov.cn>", "<office@example.gov.cn>"]
        msg = email.message_from_bytes(got["raw"], policy=email.policy.default)
        key = msg["X-Parkplan-Idempotency-Key"]
        assert key in rows and msg["Message-ID"] == f"<{key}@parkplan.invalid>"
        assert msg["Subject"] == rows[key].title and msg["Subject"].startswith("【重大事项")
        assert msg["From"] == "parkplan@example.gov.cn"
        assert msg["To"] == "zhuanban@example.gov.cn, office@example.gov.cn"
        assert msg["X-Parkplan-Event"].startswith("matter_")
        text = msg.get_content()
        assert "指定认证机构单批次认证样品检测数据存疑" in text and key in text


def test_smtp_refusal_is_retried(gpkg):
    cfg = config(
        {
            "name": "mail",
            "type": "email",
            "host": "127.0.0.1",
            "port": 9,
            "security": "none",
            "from": "a@example.gov.cn",
            "to": ["b@example.gov.cn"],
            "clearance": "internal",
            "events": ["matter_opened"],
            "timeout_seconds": 2,
        }
    )
    with Workspace.open(gpkg) as ws:
        nt.enqueue(office(ws), cfg, DEMO_DATE)
        report = nt.dispatch(ws, cfg, T0, environ={})
    assert report.retrying and "127.0.0.1:9" in report.retrying[0].last_error


# ----------------------------------------------------------------------- CLI
def test_cli_notify_twice_sends_nothing_twice(gpkg, hook, tmp_path):
    channels = tmp_path / "channels.yaml"
    channels.write_text(
        "channels:\n  - {name: wecom, type: wecom, url_env: T_WECOM_URL, clearance: internal}\n",
        encoding="utf-8",
    )
    args = [
        "notify",
        "--as-of",
        "2026-11-25",
        "--channels",
        str(channels),
        "--as",
        "office",
        "--workspace",
        gpkg,
    ]
    first = runner.invoke(app, args, env={"T_WECOM_URL": hook.url})
    assert first.exit_code == 0, first.output
    n = len(hook.requests)
    assert n > 0 and f"queued {n} new messages (0 already queued)" in first.stdout
    assert f"sent {n}, retrying 0, failed 0, uncertain 0" in first.stdout
    second = runner.invoke(app, args, env={"T_WECOM_URL": hook.url})
    assert f"queued 0 new messages ({n} already queued)" in second.stdout
    assert "sent 0," in second.stdout and len(hook.requests) == n
    listed = runner.invoke(
        app, ["outbox", "list", "--format", "json", "--as", "office", "--workspace", gpkg]
    )
    rows = json.loads(listed.stdout)
    assert len(rows) == n and {r["status"] for r in rows} == {"sent"}
    assert (
        runner.invoke(app, ["outbox", "list", "--as", "viewer", "--workspace", gpkg]).stdout == ""
    )  # internal messages: not for viewers
    refused = runner.invoke(app, ["outbox", "requeue", "1", "--as", "office", "--workspace", gpkg])
    assert refused.exit_code == 2 and "only uncertain or failed messages" in refused.stderr
    unset = runner.invoke(app, args, env={"T_WECOM_URL": ""})
    assert "skipped channel wecom: environment variable T_WECOM_URL is not set" in unset.stderr
