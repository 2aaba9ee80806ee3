"""A small JSON API over the tracker, served by ``parkplan serve`` beside the app.

Routes (all JSON; every read and change goes through :class:`parkplan.tracker.Tracker`, which
enforces permissions, clearance and optimistic locking)::

    GET   /api/tasks                   the board summary: each visible task, rating, trend
    GET   /api/milestones?task=N       milestones (of task N)
    GET   /api/milestones/{id}
    PATCH /api/milestones/{id}         {"version": V, "field": value, ...}
    GET   /api/risks?task=N            risks (of task N)
    GET   /api/risks/{id}
    PATCH /api/risks/{id}              {"version": V, "field": value, ...}

Authentication: HTTP Basic (``Authorization: Basic …``) checked against the server's
credentials file of PBKDF2 hashes, or the app's signed ``user`` cookie (set by signing in
at ``/login``). Nobody authenticated: 401. Served with ``--no-auth``, requests read as the
anonymous user (public records only; every change refused).

Errors map to status codes: :class:`~parkplan.tracker.repository.StaleVersion` 409,
:class:`~parkplan.tracker.access.PermissionDenied` 403,
:class:`~parkplan.tracker.access.NotFound` 404, :class:`~parkplan.errors.InputError` and
malformed bodies 400, the database unreachable 503 (``Retry-After``). The body is always
``{"error": code, "message": text}``.

A PBKDF2 check costs a few hundred milliseconds by design; a successful Basic check is
remembered for :data:`BASIC_CACHE_SECONDS` under an HMAC of the header with a random
per-process key (the password itself is never kept), so scripts sending Basic on every
request stay fast. Blocking work (hashing, database) runs in a per-process thread pool,
never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import sqlalchemy as sa
import tornado.web

from parkplan.errors import InputError, ParkplanError
from parkplan.store import Workspace
from parkplan.tracker.access import NotFound, PermissionDenied
from parkplan.tracker.repository import StaleVersion
from parkplan.tracker.service import Tracker

log = logging.getLogger("parkplan.api")

#: How long a verified Basic ``Authorization`` header is remembered (seconds).
BASIC_CACHE_SECONDS = 300
#: Largest request body accepted (bytes).
MAX_BODY_BYTES = 64 * 1024
#: What a client reads when the database cannot be reached.
DB_UNAVAILABLE = "the database is unavailable, retry shortly"

#: Exceptions that mean "the database cannot be reached right now".
DB_DOWN_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)

_lock = threading.Lock()
_workspaces: dict[tuple[int, str], Workspace] = {}
_executors: dict[int, ThreadPoolExecutor] = {}


def workspace_for(location: str) -> Workspace:
    """Return this process's workspace for ``location``, opening it on first use.

    Keyed by process id too, so that processes forked by ``--num-procs`` never share an
    engine (or its connections) made before the fork.
    """
    key = (os.getpid(), location)
    with _lock:
        ws = _workspaces.get(key)
        if ws is None:
            ws = _workspaces[key] = Workspace.open(location)
        return ws


def executor() -> ThreadPoolExecutor:
    """Return this process's thread pool for blocking work (made after any fork)."""
    pid = os.getpid()
    with _lock:
        pool = _executors.get(pid)
        if pool is None:
            pool = _executors[pid] = ThreadPoolExecutor(
                max_workers=8, thread_name_prefix="parkplan-api"
            )
        return pool


def is_db_unavailable(err: BaseException) -> bool:
    """Whether ``err`` (or what caused it) says the database cannot be reached."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, DB_DOWN_ERRORS):
            return True
        if isinstance(err, sa.exc.DBAPIError) and err.connection_invalidated:
            return True
        err = err.__cause__ or err.__context__
        seen += 1
    return False


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": message}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _BasicCache:
    """Verified Basic headers → (user, expiry), keyed by an HMAC with a per-process key."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: dict[bytes, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _digest(self, header: str) -> bytes:
        return hmac.new(
            self._key, header.encode("utf-8", "surrogateescape"), hashlib.sha256
        ).digest()

    def get(self, header: str) -> str | None:
        digest = self._digest(header)
        with self._lock:
            hit = self._seen.get(digest)
            if hit is None:
                return None
            if hit[1] < time.monotonic():
                del self._seen[digest]
                return None
            return hit[0]

    def put(self, header: str, user: str) -> None:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[self._digest(header)] = (user, time.monotonic() + BASIC_CACHE_SECONDS)


def _basic_user(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _task_arg(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        number = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"task must be a number 1-9, not {raw!r}") from None
    if not 1 <= number <= 9:
        raise ApiError(400, "bad_request", f"task must be a number 1-9, not {number}")
    return number


class ApiHandler(tornado.web.RequestHandler):
    """Base of the API's handlers: authentication, JSON in and out, errors as JSON."""

    def initialize(
        self,
        location: str,
        credentials: Any = None,
        cookie_secret: str | None = None,
        basic_cache: _BasicCache | None = None,
    ) -> None:
        self.location = location
        self.credentials = credentials
        self.cookie_secret = cookie_secret
        self.basic_cache = basic_cache or _BasicCache()

    # --------------------------------------------------------------- helpers
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def check_xsrf_cookie(self) -> None:  # JSON API: no form posts; see _check_origin
        return

    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, ensure_ascii=False, default=str))

    def fail(self, err: ApiError) -> None:
        if err.status == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="parkplan", charset="UTF-8"')
        if err.status == 503:
            self.set_header("Retry-After", "5")
        self.send({"error": err.code, "message": err.message}, err.status)

    async def blocking(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor(), lambda: fn(*args, **kwargs))

    async def user(self) -> str | None:
        """Return the authenticated user's name (``None``: anonymous, ``--no-auth``)."""
        if self.credentials is None:
            return None
        header = self.request.headers.get("Authorization")
        if header:
            cached = self.basic_cache.get(header)
            if cached is not None and cached in self.credentials:
                return cached
            pair = _basic_user(header)
            if pair is not None and await self.blocking(self.credentials.verify, *pair):
                self.basic_cache.put(header, pair[0])
                return pair[0]
            raise ApiError(401, "unauthenticated", "wrong user name or password")
        raw = self.get_cookie("user")
        if raw and self.cookie_secret:
            from tornado.web import decode_signed_value

            from parkplan.ui.auth import COOKIE_DAYS

            decoded = decode_signed_value(self.cookie_secret, "user", raw, max_age_days=COOKIE_DAYS)
            name = decoded.decode("utf-8") if decoded else None
            if name and name in self.credentials:
                return name
        raise ApiError(
            401,
            "unauthenticated",
            "sign in: HTTP Basic with a user of the credentials file, or the app's sign-in cookie",
        )

    def _check_origin(self) -> None:
        """Refuse a cookie-authenticated change sent from another site (CSRF)."""
        if self.request.headers.get("Authorization"):
            return
        origin = self.request.headers.get("Origin")
        if origin and origin.split("://", 1)[-1] != self.request.host:
            raise ApiError(403, "forbidden", "cross-site request refused")

    def body(self) -> tuple[int, dict[str, Any]]:
        raw = self.request.body or b""
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ApiError(400, "bad_request", f"the body is not JSON: {err}") from None
        if not isinstance(data, dict):
            raise ApiError(
                400,
                "bad_request",
                'the body must be a JSON object {"version": V, "field": value, ...}',
            )
        version = data.pop("version", None)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ApiError(
                400,
                "bad_request",
                'give the version you read as an integer: {"version": V, "field": value, ...}',
            )
        if not data:
            raise ApiError(400, "bad_request", "no field to change")
        return version, data

    async def run(self, work) -> None:
        """Authenticate, run ``work(tracker)`` in the pool, answer its result or error."""
        try:
            user = await self.user()

            def call():
                ws = workspace_for(self.location)
                try:
                    tracker = Tracker(ws, user)
                except NotFound:
                    raise ApiError(403, "forbidden", f"{user!r} is not a tracker user") from None
                return work(tracker)

            result = await self.blocking(call)
        except ApiError as err:
            self.fail(err)
        except StaleVersion as err:
            self.fail(ApiError(409, "stale_version", str(err)))
        except PermissionDenied as err:
            self.fail(ApiError(403, "permission_denied", str(err)))
        except NotFound as err:
            self.fail(ApiError(404, "not_found", str(err)))
        except InputError as err:
            self.send(
                {
                    "error": "invalid",
                    "message": str(err),
                    "problems": [str(p) for p in err.problems],
                },
                400,
            )
        except ParkplanError as err:
            if is_db_unavailable(err):
                self.fail(ApiError(503, "database_unavailable", DB_UNAVAILABLE))
            elif "conflicts with another one" in str(err):
                self.fail(ApiError(409, "conflict", str(err)))
            else:
                self.fail(ApiError(400, "invalid", str(err)))
        except Exception as err:  # noqa: BLE001 - the client gets a message, the log the rest
            if is_db_unavailable(err):
                log.warning(
                    "API %s %s: database unavailable: %s",
                    self.request.method,
                    self.request.path,
                    str(err).splitlines()[0] if str(err) else err,
                )
                self.fail(ApiError(503, "database_unavailable", DB_UNAVAILABLE))
            else:
                log.exception("API %s %s failed", self.request.method, self.request.path)
                self.fail(ApiError(500, "internal", "internal error; see the server log"))
        else:
            self.send(result)


class TasksHandler(ApiHandler):
    """``GET /api/tasks``: each visible task with its rating, trend and milestone counts."""

    async def get(self) -> None:
        as_of = self.get_query_argument("as_of", None)

        def work(tr: Tracker):
            try:
                day = date.fromisoformat(as_of) if as_of else None
            except ValueError:
                raise ApiError(
                    400, "bad_request", f"as_of must be YYYY-MM-DD, not {as_of!r}"
                ) from None
            prog = tr.programme(day)
            counts: dict[int, dict[str, int]] = {}
            for p in prog.milestones:
                c = counts.setdefault(p.milestone.task, {})
                c[p.milestone.status.value] = c.get(p.milestone.status.value, 0) + 1
            tasks = []
            for st in prog.statuses:
                d = st.to_dict()
                d.pop("clause_zh", None)
                d["milestones"] = counts.get(st.task.number, {})
                d["open_risks"] = sum(
                    1 for r in prog.risks if r.task == st.task.number and r.status.value == "open"
                )
                tasks.append(d)
            return {"as_of": prog.as_of.isoformat(), "user": tr.user.name, "tasks": tasks}

        await self.run(work)


class MilestonesHandler(ApiHandler):
    """``GET /api/milestones[?task=N]``, ``GET|PATCH /api/milestones/{id}``."""

    async def get(self, milestone_id: str | None = None) -> None:
        if milestone_id:
            await self.run(lambda tr: tr.milestone(milestone_id).to_dict())
            return
        try:
            task = _task_arg(self.get_query_argument("task", None))
        except ApiError as err:
            self.fail(err)
            return
        await self.run(lambda tr: [m.to_dict() for m in tr.milestones(task)])

    async def patch(self, milestone_id: str | None = None) -> None:
        try:
            if not milestone_id:
                raise ApiError(405, "method_not_allowed", "PATCH /api/milestones/{id}")
            self._check_origin()
            version, changes = self.body()
        except ApiError as err:
            self.fail(err)
            return
        await self.run(lambda tr: tr.update_milestone(milestone_id, version, **changes).to_dict())


class RisksHandler(ApiHandler):
    """``GET /api/risks[?task=N]``, ``GET|PATCH /api/risks/{id}``."""

    async def get(self, risk_id: str | None = None) -> None:
        if risk_id:
            await self.run(lambda tr: tr.risk(risk_id).to_dict())
            return
        try:
            task = _task_arg(self.get_query_argument("task", None))
        except ApiError as err:
            self.fail(err)
            return
        await self.run(lambda tr: [r.to_dict() for r in tr.risks(task)])

    async def patch(self, risk_id: str | None = None) -> None:
        try:
            if not risk_id:
                raise ApiError(405, "method_not_allowed", "PATCH /api/risks/{id}")
            self._check_origin()
            version, changes = self.body()
        except ApiError as err:
            self.fail(err)
            return
        await self.run(lambda tr: tr.update_risk(risk_id, version, **changes).to_dict())


def api_patterns(
    location: str, credentials: Any = None, cookie_secret: str | None = None
) -> list[tuple[str, type, dict[str, Any]]]:
    """Return the API's Tornado routes, for Panel's ``extra_patterns``.

    Parameters
    ----------
    location : str
        Workspace path or URL (each server process opens it on first use).
    credentials : parkplan.ui.auth.Credentials or None
        Who may call the API; ``None`` answers as the anonymous user (read only).
    cookie_secret : str, optional
        The server's cookie secret, to accept the app's signed ``user`` cookie.
    """
    kw = {
        "location": location,
        "credentials": credentials,
        "cookie_secret": cookie_secret,
        "basic_cache": _BasicCache(),
    }
    return [
        (r"/api/tasks/?", TasksHandler, kw),
        (r"/api/milestones/?", MilestonesHandler, kw),
        (r"/api/milestones/([A-Za-z0-9][A-Za-z0-9_.\-]{0,39})", MilestonesHandler, kw),
        (r"/api/risks/?", RisksHandler, kw),
        (r"/api/risks/([A-Za-z0-9][A-Za-z0-9_.\-]{0,39})", RisksHandler, kw),
    ]


__all__ = [
    "BASIC_CACHE_SECONDS",
    "DB_UNAVAILABLE",
    "MAX_BODY_BYTES",
    "api_patterns",
    "is_db_unavailable",
    "workspace_for",
]
