"""Sign-in for the app: Panel's login, checking the credentials file's hashes.

Panel's built-in ``--basic-auth`` compares plaintext passwords. parkplan keeps only
PBKDF2-SHA256 hashes (:mod:`parkplan.identity.passwords`) in a credentials file
(:mod:`parkplan.identity.credentials`) and signs the user in with
:class:`HashedLoginHandler`, a subclass of Panel's ``BasicLoginHandler`` that verifies the
hash (in a worker thread, so a slow hash never stalls other users) and sets the same signed
``user`` cookie Panel uses. The cookie is signed with the server's cookie secret
(``--cookie-secret-env``) and read back by :func:`parkplan.web.sessions.signed_in_user`
only. The signed-in name is a tracker user's name: roles and clearance come from the
tracker, never from the credentials file.

The login and logout pages are :mod:`parkplan.web.pages`' templates.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import tornado.web
from panel.auth import BasicAuthProvider, BasicLoginHandler
from panel.io.state import state

from parkplan.identity.credentials import Credentials
from parkplan.identity.passwords import b64encode
from parkplan.web.pages import login_page, logout_page
from parkplan.web.sessions import COOKIE_DAYS, USER_COOKIE, safe_next_url, signed_in_user

#: Cookies a sign-out clears (Panel's and parkplan's).
SESSION_COOKIES = (
    USER_COOKIE,
    "id_token",
    "access_token",
    "refresh_token",
    "oauth_expiry",
    "is_guest",
    "next_url",
)


def _next_url(raw: str | None) -> str | None:
    try:
        return safe_next_url(raw, state.base_url)
    except ValueError:
        raise tornado.web.HTTPError(400, "Invalid next url") from None


class HashedLoginHandler(BasicLoginHandler):
    """Panel's login handler, verifying PBKDF2 hashes instead of plaintext."""

    credentials: Credentials = Credentials({})
    secure: bool = False
    login_endpoint: str = "/login"

    def set_current_user(self, user: str) -> None:
        """Set the signed ``user`` cookie (and Panel's ``id_token``) for ``user``."""
        # HTTP-only (no script reads it), SameSite=Lax (not sent on cross-site posts),
        # Secure behind HTTPS (--secure-cookies / $PARKPLAN_SECURE_COOKIES)
        from panel.config import config

        self.clear_cookie("is_guest")
        flags = {
            "expires_days": COOKIE_DAYS,
            "httponly": True,
            "samesite": "Lax",
            "secure": self.secure,
            "path": config.cookie_path,
        }
        self.set_secure_cookie(USER_COOKIE, user, **flags)
        id_token = b64encode(json.dumps({"user": user}).encode("utf-8"))
        self.set_secure_cookie("id_token", id_token, **flags)

    def get(self) -> None:
        """Show the sign-in page (remembering where to go next)."""
        next_url = _next_url(self.get_argument("next", state.base_url))
        if next_url:
            self.set_cookie("next_url", next_url)
        self.set_header("Cache-Control", "no-store")
        self.write(
            login_page("." + self.login_endpoint, error=bool(self.get_argument("error", "")))
        )

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``password`` is ``username``'s (slow by design: run it off the loop)."""
        return self.credentials.verify(username, password)

    async def post(self) -> None:
        """Check the form's user name and password; set the cookie or say it failed."""
        username = self.get_argument("username", "")
        password = self.get_argument("password", "")
        ok = await asyncio.get_running_loop().run_in_executor(
            None, self.check_password, username, password
        )
        if ok:
            self.set_current_user(username)
            self.redirect(_next_url(self.get_cookie("next_url", state.base_url)) or "/")
        else:
            self.redirect(self.login_endpoint + "?error=1")


class PlainLogoutHandler(tornado.web.RequestHandler):
    """Clear the sign-in cookies and say so (no CDN assets, unlike Panel's page)."""

    login_url = "/login"

    def get(self) -> None:
        """Clear the session's cookies and show the signed-out page."""
        for name in SESSION_COOKIES:
            self.clear_cookie(name)
        self.write(logout_page("." + self.login_url))


class HashedAuthProvider(BasicAuthProvider):
    """An auth provider for ``pn.serve(auth_provider=...)`` over a credentials file.

    Parameters
    ----------
    credentials : Credentials
        Who may sign in.
    cookie_secret : str
        The server's cookie secret (the one ``pn.serve`` signs with).
    secure : bool
        Mark the sign-in cookie ``Secure``.
    """

    def __init__(
        self, credentials: Credentials, cookie_secret: str, *, secure: bool = False, **kwargs: Any
    ):
        # set before Panel's __init__: Bokeh validates the handlers during it
        self.credentials = credentials
        self.cookie_secret = cookie_secret
        self.secure = secure
        super().__init__(**kwargs)

    @property
    def get_user(self):
        """Return the function naming a request's user (``None``: sign in first)."""
        panel_get_user = super().get_user

        def get_user(request_handler):
            cookies = {USER_COOKIE: request_handler.get_cookie(USER_COOKIE)}
            if signed_in_user(cookies, self.cookie_secret, self.credentials) is None:
                return None
            # Panel's own reading of the same cookie counts the user's open sessions
            return panel_get_user(request_handler)

        return get_user

    @property
    def login_handler(self):
        """Return the login handler class bound to this provider's credentials."""
        return type(
            "ParkplanLogin",
            (HashedLoginHandler,),
            {
                "credentials": self.credentials,
                "secure": self.secure,
                "login_endpoint": self.login_url,
            },
        )

    @property
    def logout_handler(self):
        """Return the logout handler class."""
        return type("ParkplanLogout", (PlainLogoutHandler,), {"login_url": self.login_url})


def auth_provider(credentials: Credentials, cookie_secret: str, *, secure: bool = False):
    """Return a Panel auth provider that signs users in against ``credentials``.

    Parameters
    ----------
    credentials : Credentials
    cookie_secret : str
        The server's cookie secret.
    secure : bool
        Mark the sign-in cookie ``Secure`` (HTTPS only); it is always HTTP-only and
        ``SameSite=Lax``.

    Returns
    -------
    HashedAuthProvider
    """
    return HashedAuthProvider(credentials, cookie_secret, secure=secure)


__all__ = [
    "HashedAuthProvider",
    "HashedLoginHandler",
    "PlainLogoutHandler",
    "SESSION_COOKIES",
    "auth_provider",
]
