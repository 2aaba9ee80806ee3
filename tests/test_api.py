"""The JSON API (``/api/…``) served by ``parkplan serve``, on both stores, over real HTTP.

One server per store runs for the module on a free 127.0.0.1 port on a fresh demo
workspace. Requests authenticate with HTTP Basic (demo accounts) or the sign-in cookie.
"""

from __future__ import annotations

import contextlib
import shutil
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from parkplan.services.demo import create_workspace
from parkplan.store import Workspace
from parkplan.store.schemas import fresh_schema
from parkplan.tracker.service import Tracker
from parkplan.web.testing import basic, request, serve
from tests.conftest import STORES


@pytest.fixture(scope="module", params=STORES)
def api(request, tmp_path_factory, demo_gpkg):
    """Yield ``(url, location)`` of a running server on a fresh demo workspace."""
    tmp = tmp_path_factory.mktemp(f"api-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "geopackage":
            location = str(tmp / "ws.gpkg")
            shutil.copy(demo_gpkg, location)
        else:
            location = stack.enter_context(
                fresh_schema(request.getfixturevalue("pg_url"), prefix="t")
            )
            create_workspace(location, demo=True).close()
        with serve(location, tmp) as server:
            yield server.url, location


def call(url, method, path, body=None, user="office", **kw):
    auth = basic(user) if user else None
    return request(url, method, path, body, auth=auth, **kw)


def sign_in(url: str, user: str) -> SimpleCookie:
    """Sign in through the login form; return the cookies set."""
    import http.client

    conn = http.client.HTTPConnection(url.split("://")[1], timeout=30)
    try:
        conn.request(
            "POST",
            "/login",
            body=urlencode({"username": user, "password": f"{user}-demo"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        resp = conn.getresponse()
        resp.read()
        assert resp.status in (301, 302), resp.status
        jar = SimpleCookie()
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                jar.load(value)
        return jar
    finally:
        conn.close()


# ------------------------------------------------------------------ auth
def test_unauthenticated_and_wrong_passwords_get_401(api):
    url, _ = api
    status, body, headers = request(url, "GET", "/api/tasks")
    assert status == 401 and body["error"] == "unauthenticated"
    assert headers["WWW-Authenticate"].startswith("Basic")
    status, _, _ = request(url, "GET", "/api/tasks", auth=basic("office", "wrong-password"))
    assert status == 401
    status, _, _ = request(url, "GET", "/api/tasks", auth=basic("nobody", "nobody-demo"))
    assert status == 401
    status, _, _ = request(url, "GET", "/api/tasks", auth="Basic not-base64!")
    assert status == 401
    status, _, _ = request(url, "GET", "/api/tasks", headers={"Cookie": "user=forged"})
    assert status == 401


def test_signed_cookie_is_http_only_and_authenticates(api):
    url, _ = api
    jar = sign_in(url, "owner3")
    user = jar["user"]
    assert user["httponly"] and user["samesite"].lower() == "lax"
    assert not user["secure"]  # no --secure-cookies here: see test_deploy
    cookie = f"user={user.value}"
    status, body, _ = request(url, "GET", "/api/tasks", headers={"Cookie": cookie})
    assert status == 200 and body["user"] == "owner3"
    # a change authenticated by cookie alone is refused from another site (CSRF)
    status, ms, _ = request(url, "GET", "/api/milestones/M3-2", headers={"Cookie": cookie})
    status, body, _ = request(
        url,
        "PATCH",
        "/api/milestones/M3-2",
        {"version": ms["version"], "note": "from elsewhere"},
        headers={"Cookie": cookie, "Origin": "https://evil.example"},
    )
    assert status == 403
    # a tampered cookie is nobody
    status, _, _ = request(url, "GET", "/api/tasks", headers={"Cookie": cookie[:-2] + "xx"})
    assert status == 401


# ----------------------------------------------------------------- reads
def test_board_summary_and_lists(api):
    url, _ = api
    status, body, headers = call(url, "GET", "/api/tasks")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert [t["number"] for t in body["tasks"]] == list(range(1, 10))
    assert {"rating", "trend", "milestones", "open_risks"} <= set(body["tasks"][0])
    status, ms, _ = call(url, "GET", "/api/milestones?task=3")
    assert status == 200 and ms and {m["task"] for m in ms} == {3}
    status, one, _ = call(url, "GET", f"/api/milestones/{ms[0]['id']}")
    assert status == 200 and one["id"] == ms[0]["id"]
    status, risks, _ = call(url, "GET", "/api/risks?task=4")
    assert status == 200 and {r["task"] for r in risks} == {4}
    for bad in ("/api/milestones?task=x", "/api/milestones?task=10", "/api/risks?task=0"):
        status, body, _ = call(url, "GET", bad)
        assert status == 400 and body["error"] == "bad_request", bad
    status, body, _ = call(url, "GET", "/api/milestones/NOPE-1")
    assert status == 404 and body["error"] == "not_found"


def test_viewer_reads_only_what_is_public(api):
    url, _ = api
    status, risks, _ = call(url, "GET", "/api/risks", user="viewer")
    assert status == 200
    assert all(r["visibility"] == "public" for r in risks)


# --------------------------------------------------------------- changes
def test_owner_updates_a_milestone_and_a_stale_version_is_refused(api):
    url, location = api
    status, m, _ = call(url, "GET", "/api/milestones/M3-2", user="owner3")
    assert status == 200
    status, after, _ = call(
        url,
        "PATCH",
        "/api/milestones/M3-2",
        {"version": m["version"], "percent": 70, "note": "api 更新"},
        user="owner3",
    )
    assert status == 200, after
    assert after["version"] == m["version"] + 1 and after["percent"] == 70
    with Workspace.open(location) as ws:
        tr = Tracker(ws, "convenor")
        assert tr.milestone("M3-2").note == "api 更新"
        entries = [
            e for e in tr.journal("milestone", "M3-2") if (e.after or {}).get("note") == "api 更新"
        ]
        assert len(entries) == 1 and entries[0].actor == "owner3"
    # the same version again: the library's StaleVersion message, 409, nothing written
    status, body, _ = call(
        url,
        "PATCH",
        "/api/milestones/M3-2",
        {"version": m["version"], "percent": 80},
        user="owner3",
    )
    assert status == 409 and body["error"] == "stale_version"
    assert "changed after you read it" in body["message"] and "owner3" in body["message"]
    status, now, _ = call(url, "GET", "/api/milestones/M3-2", user="owner3")
    assert now["percent"] == 70 and now["version"] == after["version"]


def test_permission_is_enforced_by_the_library(api):
    url, _ = api
    status, m, _ = call(url, "GET", "/api/milestones/M3-2")
    for user in ("owner8", "viewer", "planner"):
        status, body, _ = call(
            url,
            "PATCH",
            "/api/milestones/M3-2",
            {"version": m["version"], "note": "not mine"},
            user=user,
        )
        assert status in (403, 404), (user, body)
        assert body["error"] in ("permission_denied", "not_found")
    status, body, _ = call(
        url,
        "PATCH",
        "/api/milestones/M3-2",
        {"version": m["version"], "note": "not mine"},
        user="owner8",
    )
    assert status == 403 and "may not update" in body["message"]
    status, again, _ = call(url, "GET", "/api/milestones/M3-2")
    assert again["version"] == m["version"]


@pytest.mark.parametrize(
    "body, what",
    [
        (b"not json", "not JSON"),
        ([1, 2], "JSON object"),
        ({"note": "no version"}, "version"),
        ({"version": "1", "note": "x"}, "version"),
        ({"version": 1}, "no field"),
    ],
)
def test_malformed_bodies_are_400(api, body, what):
    import http.client
    import json

    url, _ = api
    conn = http.client.HTTPConnection(url.split("://")[1], timeout=30)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request(
        "PATCH",
        "/api/milestones/M3-2",
        body=raw,
        headers={"Authorization": basic("office"), "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    assert resp.status == 400 and what in data["message"]


def test_invalid_values_are_400_with_the_problems(api):
    url, _ = api
    status, m, _ = call(url, "GET", "/api/milestones/M3-2")
    status, body, _ = call(
        url, "PATCH", "/api/milestones/M3-2", {"version": m["version"], "percent": 200}
    )
    assert status == 400 and body["error"] == "invalid" and body["problems"]
    status, body, _ = call(
        url, "PATCH", "/api/milestones/M3-2", {"version": m["version"], "colour": "red"}
    )
    assert status == 400 and "colour" in body["message"]
    status, body, _ = call(url, "PATCH", "/api/milestones/NOPE-1", {"version": 1, "note": "x"})
    assert status == 404


def test_office_reviews_a_risk(api):
    url, location = api
    status, risks, _ = call(url, "GET", "/api/risks?task=4")
    r = risks[0]
    status, after, _ = call(
        url,
        "PATCH",
        f"/api/risks/{r['id']}",
        {"version": r["version"], "mitigation": "分段推进 api", "reviewed_on": "2026-11-20"},
    )
    assert status == 200, after
    assert after["version"] == r["version"] + 1 and after["reviewed_on"] == "2026-11-20"
    status, body, _ = call(
        url, "PATCH", f"/api/risks/{r['id']}", {"version": r["version"], "mitigation": "stale"}
    )
    assert status == 409
    with Workspace.open(location) as ws:
        assert Tracker(ws, "convenor").risk(r["id"]).mitigation == "分段推进 api"
