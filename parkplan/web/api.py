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
import secrets
import threading
import time
from datetime import date
from typing import Any

import tornado.web

from parkplan.errors import InputError, ParkplanError
from parkplan.i18n import t
from parkplan.identity.credentials import Credentials
from parkplan.tracker.access import NotFound, PermissionDenied
from parkplan.tracker.repository import StaleVersion
from parkplan.tracker.service import Tracker
from parkplan.web.resources import ServerResources, is_db_unavailable
from parkplan.web.sessions import USER_COOKIE, signed_in_user

log = logging.getLogger("parkplan.api")

#: How long a verified Basic ``Authorization`` header is remembered (seconds).
BASIC_CACHE_SECONDS = 300
#: Largest request body accepted (bytes).
MAX_BODY_BYTES = 64 * 1024
#: What a client reads when the database cannot be reached.
DB_UNAVAILABLE = t("web.api.db_unavailable", "en")


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": message}`` with ``status``.

    Parameters
    ----------
    status : int
        The HTTP status.
    code : str
        A stable code clients may test (``"bad_request"``, ``"stale_version"``, ...).
    message : str
        The sentence a person reads.
    """

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad_request(key: str, **values: Any) -> ApiError:
    """Return a 400 ``bad_request`` error saying the catalogue's ``key``."""
    return ApiError(400, "bad_request", t(key, "en", **values))


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
        raise bad_request("web.api.task_number", value=repr(raw)) from None
    if not 1 <= number <= 9:
        raise bad_request("web.api.task_number", value=number)
    return number


def _parse_body(raw: bytes) -> tuple[int, dict[str, Any]]:
    """Return ``(version, changes)`` of a PATCH body ``{"version": V, "field": value, ...}``."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", t("web.api.too_large", "en", limit=MAX_BODY_BYTES))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise bad_request("web.api.not_json", reason=err) from None
    if not isinstance(data, dict):
        raise bad_request("web.api.not_object")
    version = data.pop("version", None)
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad_request("web.api.no_version")
    if not data:
        raise bad_request("web.api.no_change")
    return version, data


def error_answer(err: Exception, where: str) -> tuple[int, dict[str, Any]]:
    """Return the status and JSON body that answer ``err`` (logged when it is not the user's).

    Parameters
    ----------
    err : Exception
        What the request's work raised.
    where : str
        The request (``"PATCH /api/risks/R3-1"``), for the log.

    Returns
    -------
    (int, dict)
    """
    if isinstance(err, ApiError):
        return err.status, {"error": err.code, "message": err.message}
    known = (
        (StaleVersion, 409, "stale_version"),
        (PermissionDenied, 403, "permission_denied"),
        (NotFound, 404, "not_found"),
    )
    for kind, status, code in known:
        if isinstance(err, kind):
            return status, {"error": code, "message": str(err)}
    if isinstance(err, InputError):
        problems = [str(p) for p in err.problems]
        return 400, {"error": "invalid", "message": str(err), "problems": problems}
    if is_db_unavailable(err):
        if not isinstance(err, ParkplanError):
            first = str(err).splitlines()[0] if str(err) else err
            log.warning("API %s: database unavailable: %s", where, first)
        return 503, {"error": "database_unavailable", "message": DB_UNAVAILABLE}
    if isinstance(err, ParkplanError):
        # the store's words for a unique-key violation: the client lost a race
        if "conflicts with another one" in str(err):
            return 409, {"error": "conflict", "message": str(err)}
        return 400, {"error": "invalid", "message": str(err)}
    log.error("API %s failed", where, exc_info=err)
    return 500, {"error": "internal", "message": t("web.api.internal", "en")}


class ApiHandler(tornado.web.RequestHandler):
    """Base of the API's handlers: authentication, JSON in and out, errors as JSON."""

    def initialize(
        self,
        location: str,
        resources: ServerResources,
        credentials: Credentials | None = None,
        cookie_secret: str | None = None,
        basic_cache: _BasicCache | None = None,
    ) -> None:
        """Take the route's settings (see :func:`api_patterns`)."""
        self.location = location
        self.resources = resources
        self.credentials = credentials
        self.cookie_secret = cookie_secret
        self.basic_cache = basic_cache or _BasicCache()

    # --------------------------------------------------------------- helpers
    def set_default_headers(self) -> None:
        """Answer JSON, never cached, never sniffed."""
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def check_xsrf_cookie(self) -> None:
        """Skip Tornado's form check: the API takes no form posts (see :meth:`check_origin`)."""
        return

    def send(self, data: Any, status: int = 200) -> None:
        """Finish the request with ``data`` as JSON."""
        self.set_status(status)
        self.finish(json.dumps(data, ensure_ascii=False, default=str))

    def fail(self, err: Exception) -> None:
        """Finish the request with the answer to ``err`` (see :func:`error_answer`)."""
        status, body = error_answer(err, f"{self.request.method} {self.request.path}")
        if status == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="parkplan", charset="UTF-8"')
        if status == 503:
            self.set_header("Retry-After", "5")
        self.send(body, status)

    async def blocking(self, fn, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` in the server's pool, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.resources.executor(), lambda: fn(*args, **kwargs))

    async def user(self) -> str | None:
        """Return the authenticated user's name (``None``: anonymous, ``--no-auth``).

        Raises
        ------
        ApiError
            401 when nobody is authenticated.
        """
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
            raise ApiError(401, "unauthenticated", t("web.api.wrong_password", "en"))
        cookies = {USER_COOKIE: self.get_cookie(USER_COOKIE)}
        name = signed_in_user(cookies, self.cookie_secret, self.credentials)
        if name is not None:
            return name
        raise ApiError(401, "unauthenticated", t("web.api.sign_in", "en"))

    def check_origin(self) -> None:
        """Refuse a cookie-authenticated change sent from another site (CSRF).

        Raises
        ------
        ApiError
            403 for an ``Origin`` other than this server's host.
        """
        if self.request.headers.get("Authorization"):
            return
        origin = self.request.headers.get("Origin")
        if origin and origin.split("://", 1)[-1] != self.request.host:
            raise ApiError(403, "forbidden", t("web.api.cross_site", "en"))

    def body(self) -> tuple[int, dict[str, Any]]:
        """Return ``(version, changes)`` of the request's PATCH body.

        Raises
        ------
        ApiError
            400 for a body that is not ``{"version": V, "field": value, ...}``, 413 for
            one larger than :data:`MAX_BODY_BYTES`.
        """
        return _parse_body(self.request.body or b"")

    async def run(self, work) -> None:
        """Authenticate, run ``work(tracker)`` in the pool, answer its result or error."""
        try:
            user = await self.user()

            def call():
                ws = self.resources.workspace(self.location)
                try:
                    tracker = Tracker(ws, user)
                except NotFound:
                    raise ApiError(
                        403, "forbidden", t("web.api.not_a_user", "en", user=repr(user))
                    ) from None
                return work(tracker)

            result = await self.blocking(call)
        except Exception as err:  # noqa: BLE001 - the client gets a message, the log the rest
            self.fail(err)
        else:
            self.send(result)

    async def patch_record(self, record_id: str | None, route: str, update) -> None:
        """Answer ``PATCH /api/{route}/{id}``: ``update(tracker, id, version, **changes)``."""
        try:
            if not record_id:
                raise ApiError(405, "method_not_allowed", f"PATCH /api/{route}/{{id}}")
            self.check_origin()
            version, changes = self.body()
        except ApiError as err:
            self.fail(err)
            return
        await self.run(lambda tr: update(tr, record_id, version, **changes).to_dict())

    async def get_records(self, record_id: str | None, one, many) -> None:
        """Answer ``GET /api/{route}[/{id}]``: ``one(tracker, id)`` or ``many(tracker, task)``."""
        if record_id:
            await self.run(lambda tr: one(tr, record_id).to_dict())
            return
        try:
            task = _task_arg(self.get_query_argument("task", None))
        except ApiError as err:
            self.fail(err)
            return
        await self.run(lambda tr: [r.to_dict() for r in many(tr, task)])


class TasksHandler(ApiHandler):
    """``GET /api/tasks``: each visible task with its rating, trend and milestone counts."""

    async def get(self) -> None:
        """Answer the board summary (``?as_of=YYYY-MM-DD``, default today)."""
        as_of = self.get_query_argument("as_of", None)

        def work(tr: Tracker):
            try:
                day = date.fromisoformat(as_of) if as_of else None
            except ValueError:
                raise bad_request("web.api.as_of", value=repr(as_of)) from None
            return board_summary(tr, day)

        await self.run(work)


def board_summary(tr: Tracker, day: date | None) -> dict[str, Any]:
    """Return ``GET /api/tasks``' answer: each visible task, its rating and counts.

    Parameters
    ----------
    tr : Tracker
    day : date or None
        The as-of date (``None``: today).

    Returns
    -------
    dict
    """
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


class MilestonesHandler(ApiHandler):
    """``GET /api/milestones[?task=N]``, ``GET|PATCH /api/milestones/{id}``."""

    async def get(self, milestone_id: str | None = None) -> None:
        """Answer one milestone or the list (of task N)."""
        await self.get_records(
            milestone_id, lambda tr, i: tr.milestone(i), lambda tr, n: tr.milestones(n)
        )

    async def patch(self, milestone_id: str | None = None) -> None:
        """Change a milestone's fields, given the version read."""
        await self.patch_record(
            milestone_id, "milestones", lambda tr, i, v, **kw: tr.update_milestone(i, v, **kw)
        )


class RisksHandler(ApiHandler):
    """``GET /api/risks[?task=N]``, ``GET|PATCH /api/risks/{id}``."""

    async def get(self, risk_id: str | None = None) -> None:
        """Answer one risk or the list (of task N)."""
        await self.get_records(risk_id, lambda tr, i: tr.risk(i), lambda tr, n: tr.risks(n))

    async def patch(self, risk_id: str | None = None) -> None:
        """Change a risk's fields, given the version read."""
        await self.patch_record(risk_id, "risks", lambda tr, i, v, **kw: tr.update_risk(i, v, **kw))


def api_patterns(
    location: str,
    resources: ServerResources,
    credentials: Credentials | None = None,
    cookie_secret: str | None = None,
) -> list[tuple[str, type, dict[str, Any]]]:
    """Return the API's Tornado routes, for Panel's ``extra_patterns``.

    Parameters
    ----------
    location : str
        Workspace path or URL (each server process opens it on first use).
    resources : ServerResources
        The server's workspaces and thread pool.
    credentials : Credentials or None
        Who may call the API; ``None`` answers as the anonymous user (read only).
    cookie_secret : str, optional
        The server's cookie secret, to accept the app's signed ``user`` cookie.

    Returns
    -------
    list of (pattern, handler class, settings)
    """
    kw = {
        "location": location,
        "resources": resources,
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
    "ApiError",
    "api_patterns",
    "board_summary",
    "error_answer",
]
