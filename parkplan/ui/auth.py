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

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from parkplan.errors import ParkplanError
from parkplan.i18n import t

#: Hash scheme and cost (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000

#: The demo's accounts: the tracker's demo users; each password is ``<name>-demo``.
DEMO_USERS = ("admin", "convenor", "office", "owner3", "owner8", "planner", "viewer")

#: How long a sign-in lasts (days), like Panel's ``oauth_expiry``.
COOKIE_DAYS = 1


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Return ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` for ``password``.

    Parameters
    ----------
    password : str
    salt : bytes, optional
        Default 16 random bytes; give one only for reproducible demo files.
    iterations : int
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the stored hash ``encoded`` (constant-time compare)."""
    try:
        scheme, iterations, salt, digest = encoded.split("$")
        if scheme != SCHEME:
            return False
        got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _unb64(salt), int(iterations))
        return hmac.compare_digest(got, _unb64(digest))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class Credentials:
    """Who may sign in: user name → password hash."""

    hashes: Mapping[str, str]

    def verify(self, user: str, password: str) -> bool:
        """Whether ``user`` exists and ``password`` is theirs.

        An unknown user costs as much time as a known one (no user enumeration by timing).
        """
        encoded = self.hashes.get(user)
        if encoded is None:
            verify_password(password, _DUMMY_HASH)
            return False
        return verify_password(password, encoded)

    def __contains__(self, user: object) -> bool:
        return user in self.hashes


_DUMMY_HASH = hash_password("not a password", salt=b"parkplan-dummy!!")


def load_credentials(path: str | os.PathLike) -> Credentials:
    """Read a credentials file (see the module docstring).

    Raises
    ------
    ParkplanError
        If the file is missing, not JSON, or a user lacks a well-formed hash (plaintext
        passwords are refused).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ParkplanError(f"{path}: cannot read the credentials file: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise ParkplanError(f"{path}: not valid JSON: {err}") from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not users:
        raise ParkplanError(f'{path}: expected {{"users": {{NAME: {{"password_hash": ...}}}}}}')
    hashes = {}
    for name, entry in users.items():
        encoded = entry.get("password_hash") if isinstance(entry, dict) else None
        if (
            not isinstance(encoded, str)
            or not encoded.startswith(SCHEME + "$")
            or encoded.count("$") != 3
        ):
            raise ParkplanError(
                f"{path}: user {name!r} needs a password_hash "
                f"'{SCHEME}$…' (parkplan never stores plaintext passwords; "
                "make one with 'parkplan hash-password')"
            )
        hashes[str(name)] = encoded
    return Credentials(hashes)


def demo_password(user: str) -> str:
    """Return the documented demo password of ``user`` (``owner3`` → ``owner3-demo``)."""
    return f"{user}-demo"


def demo_credentials() -> dict[str, Any]:
    """Return the demo's credentials file content, deterministically.

    The salts derive from the user names so the file in the repository
    (``data/demo-credentials.json``) can be regenerated byte for byte; the passwords are
    public (README). Never use these for a real deployment.
    """
    users = {}
    for name in DEMO_USERS:
        salt = hashlib.sha256(f"parkplan-demo-salt:{name}".encode()).digest()[:16]
        users[name] = {"password_hash": hash_password(demo_password(name), salt=salt)}
    return {
        "_comment": "Demo accounts only (passwords are public: <name>-demo). "
        "Regenerate with parkplan.ui.auth.demo_credentials().",
        "users": users,
    }


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
            id_token = _b64(json.dumps({"user": user}).encode("utf-8"))
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
    "DEMO_USERS",
    "Credentials",
    "auth_provider",
    "cookie_secret_from_env",
    "demo_credentials",
    "demo_password",
    "hash_password",
    "load_credentials",
    "login_page",
    "logout_page",
    "signed_in_user",
    "verify_password",
]
