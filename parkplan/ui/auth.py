"""Sign-in for the app: a credentials file of hashed passwords, checked by a Tornado handler.

Panel's built-in ``--basic-auth`` compares plaintext passwords. parkplan keeps only
PBKDF2-SHA256 hashes (``hashlib.pbkdf2_hmac``, 600,000 iterations, a random 16-byte salt per
user) in a JSON file::

    {"users": {"owner3": {"password_hash": "pbkdf2_sha256$600000$<salt>$<hash>"}}}

and signs the user in with :class:`HashedLoginHandler`, a subclass of Panel's
``BasicLoginHandler`` that verifies the hash (in a worker thread, so a slow hash never
stalls other users) and sets the same signed ``user`` cookie Panel uses. The cookie is
signed with the server's cookie secret (``--cookie-secret-env``). The signed-in name is a
tracker user's name: roles and clearance come from the tracker, never from this file.

The login and logout pages are rendered here from strings (no CDN, no external font) with
every label from the catalogue, in Chinese and English.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

import jinja2

from parkplan.errors import ParkplanError
from parkplan.i18n import t
from parkplan.identity.credentials import Credentials
from parkplan.identity.passwords import b64encode

#: How long a sign-in lasts (days), like Panel's ``oauth_expiry``.
COOKIE_DAYS = 1


def cookie_secret_from_env(var: str) -> tuple[str, bool]:
    """Return the cookie secret held in environment variable ``var``.

    Returns
    -------
    (str, bool)
        The secret, and whether it came from the environment. When ``var`` is unset a
        random secret is made: sign-ins then last only until the server stops.

    Raises
    ------
    ParkplanError
        If the variable holds fewer than 32 characters.
    """
    value = os.environ.get(var)
    if value is None or value == "":
        return secrets.token_urlsafe(48), False
    if len(value) < 32:
        raise ParkplanError(
            f"${var} is too short for a cookie secret: use at least 32 "
            "random characters (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    return value, True


def signed_in_user(cookies: Mapping[str, str], cookie_secret: str | None) -> str | None:
    """Return the user named by the signed ``user`` cookie, or ``None``.

    Panel's ``pn.state.user`` also answers ``"guest"`` for a bare ``is_guest`` cookie a
    client can set itself; the app reads the signed cookie only.
    """
    from tornado.web import decode_signed_value

    raw = cookies.get("user")
    if not raw or not cookie_secret:
        return None
    decoded = decode_signed_value(cookie_secret, "user", raw, max_age_days=COOKIE_DAYS)
    return decoded.decode("utf-8") if decoded else None


# ------------------------------------------------------------------ pages
_PAGE = jinja2.Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ title }}</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: flex; align-items: center;
         justify-content: center; background: #f3f5f8; color: #1d2733;
         font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
                      "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; }
  .card { background: #fff; border: 1px solid #d8dee6; border-radius: 6px;
          padding: 28px 32px; width: 380px; box-shadow: 0 2px 8px rgba(0,0,0,.06); }
  h1 { font-size: 18px; margin: 0 0 4px; }
  .sub { color: #5b6b7c; font-size: 13px; margin: 0 0 20px; }
  label { display: block; font-size: 14px; margin: 12px 0 4px; }
  input { width: 100%; padding: 9px 10px; font-size: 15px; border: 1px solid #c5ced8;
          border-radius: 4px; }
  button, a.button { display: block; width: 100%; margin-top: 20px; padding: 10px;
           font-size: 15px; color: #fff; background: #1f5fa8; border: 0; border-radius: 4px;
           cursor: pointer; text-align: center; text-decoration: none; }
  .error { color: #b3261e; font-size: 14px; margin-top: 12px; }
  .note { color: #5b6b7c; font-size: 12px; margin-top: 16px; }
</style>
</head>
<body>
<div class="card">
  <h1>{{ title }}</h1>
  <p class="sub">{{ subtitle }}</p>
  {% if form %}
  <form action="{{ action }}" method="post">
    <label for="username">{{ user_label }}</label>
    <input id="username" name="username" type="text" autocomplete="username" required
           autofocus>
    <label for="password">{{ password_label }}</label>
    <input id="password" name="password" type="password" autocomplete="current-password"
           required>
    <button id="login-submit" type="submit">{{ submit_label }}</button>
  </form>
  {% if error %}<p class="error" id="login-error">{{ error }}</p>{% endif %}
  {% else %}
  <a class="button" href="{{ action }}">{{ submit_label }}</a>
  {% endif %}
  <p class="note">{{ note }}</p>
</div>
</body>
</html>
""")


def login_page(action: str, error: bool = False) -> str:
    """Return the sign-in page (bilingual, self-contained)."""
    from parkplan.i18n import both

    return _PAGE.render(
        form=True,
        action=action,
        title=both("app_title", sep=" · "),
        subtitle=both("ui.login.heading"),
        user_label=both("ui.login.user"),
        password_label=both("ui.login.password"),
        submit_label=both("ui.login.submit"),
        error=both("ui.login.failed") if error else "",
        note=t("ui.login.note", "zh") + " " + t("ui.login.note", "en"),
    )


def logout_page(login_url: str) -> str:
    """Return the signed-out page (bilingual, self-contained)."""
    from parkplan.i18n import both

    return _PAGE.render(
        form=False,
        action=login_url,
        title=both("app_title", sep=" · "),
        subtitle=both("ui.logout.done"),
        submit_label=both("ui.login.again"),
        note="",
    )


# ---------------------------------------------------------- tornado / panel
def _handlers():
    """Build the handler and provider classes (import Panel only when serving)."""
    import asyncio

    import tornado.web
    from panel.auth import BasicAuthProvider, BasicLoginHandler, _validate_next_url
    from panel.io.state import state
    from tornado.websocket import WebSocketHandler

    class HashedLoginHandler(BasicLoginHandler):
        """Panel's login handler, verifying PBKDF2 hashes instead of plaintext."""

        credentials: Credentials = Credentials({})
        secure: bool = False

        def set_current_user(self, user):
            # HTTP-only (no script reads it), SameSite=Lax (not sent on cross-site
            # posts), Secure behind HTTPS (--secure-cookies / $PARKPLAN_SECURE_COOKIES)
            from panel.config import config

            self.clear_cookie("is_guest")
            flags = {
                "expires_days": COOKIE_DAYS,
                "httponly": True,
                "samesite": "Lax",
                "secure": self.secure,
                "path": config.cookie_path,
            }
            self.set_secure_cookie("user", user, **flags)
            id_token = b64encode(json.dumps({"user": user}).encode("utf-8"))
            self.set_secure_cookie("id_token", id_token, **flags)

        def get(self):
            next_url = _validate_next_url(self.get_argument("next", state.base_url))
            if next_url:
                self.set_cookie("next_url", next_url)
            self.set_header("Cache-Control", "no-store")
            self.write(
                login_page("." + self._login_endpoint, error=bool(self.get_argument("error", "")))
            )

        def _validate(self, username: str, password: str) -> bool:
            return self.credentials.verify(username, password)

        async def post(self):
            username = self.get_argument("username", "")
            password = self.get_argument("password", "")
            ok = await asyncio.get_running_loop().run_in_executor(
                None, self._validate, username, password
            )
            if ok:
                self.set_current_user(username)
                self.redirect(
                    _validate_next_url(self.get_cookie("next_url", state.base_url)) or "/"
                )
            else:
                self.redirect(self._login_endpoint + "?error=1")

    class PlainLogoutHandler(tornado.web.RequestHandler):
        """Clear the sign-in cookies and say so (no CDN assets, unlike Panel's page)."""

        login_url = "/login"

        def get(self):
            for name in (
                "user",
                "id_token",
                "access_token",
                "refresh_token",
                "oauth_expiry",
                "is_guest",
                "next_url",
            ):
                self.clear_cookie(name)
            self.write(logout_page("." + self.login_url))

    class HashedAuthProvider(BasicAuthProvider):
        """An auth provider for ``pn.serve(auth_provider=...)`` over a credentials file."""

        def __init__(self, credentials: Credentials, *, secure: bool = False, **kwargs: Any):
            self.credentials = credentials  # Bokeh validates the handlers during __init__
            self.secure = secure
            super().__init__(**kwargs)

        @property
        def get_user(self):
            def get_user(request_handler):
                raw = request_handler.get_secure_cookie("user", max_age_days=COOKIE_DAYS)
                user = raw.decode("utf-8") if raw else None
                # a user taken out of the credentials file is signed out at once
                if user not in self.credentials:
                    return None
                if isinstance(request_handler, WebSocketHandler):
                    state._active_users[user] += 1  # Panel's provider counts sessions
                return user

            return get_user

        @property
        def login_handler(self):
            return type(
                "ParkplanLogin",
                (HashedLoginHandler,),
                {
                    "credentials": self.credentials,
                    "secure": self.secure,
                    "_login_endpoint": self._login_endpoint,
                },
            )

        @property
        def logout_handler(self):
            return type(
                "ParkplanLogout", (PlainLogoutHandler,), {"login_url": self._login_endpoint}
            )

    return HashedLoginHandler, PlainLogoutHandler, HashedAuthProvider


def auth_provider(credentials: Credentials, *, secure: bool = False):
    """Return a Panel auth provider that signs users in against ``credentials``.

    ``secure`` marks the sign-in cookie ``Secure`` (HTTPS only); it is always HTTP-only
    and ``SameSite=Lax``.
    """
    return _handlers()[2](credentials, secure=secure)


__all__ = [
    "COOKIE_DAYS",
    "auth_provider",
    "cookie_secret_from_env",
    "login_page",
    "logout_page",
    "signed_in_user",
]
