"""Sign-in sessions: the signed ``user`` cookie, its secret, and where to go after signing in.

:func:`signed_in_user` is the one check of the cookie: the page server, the Panel auth
provider and the JSON API all call it, so a cookie that is unsigned, expired, signed with
another secret, or names a user taken out of the credentials file reads as nobody
everywhere alike.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Container, Mapping
from urllib.parse import urlparse

from parkplan.errors import ParkplanError
from parkplan.i18n import t

#: How long a sign-in lasts (days), like Panel's ``oauth_expiry``.
COOKIE_DAYS = 1
#: The cookie that names the signed-in user (Panel's name for it).
USER_COOKIE = "user"
#: Shortest cookie secret accepted.
MIN_SECRET_LENGTH = 32


def cookie_secret_from_env(var: str) -> tuple[str, bool]:
    """Return the cookie secret held in environment variable ``var``.

    Parameters
    ----------
    var : str
        The variable's name (``--cookie-secret-env``).

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
    if len(value) < MIN_SECRET_LENGTH:
        raise ParkplanError(
            t("web.cookie_secret.too_short", "en", var=var, length=MIN_SECRET_LENGTH)
        )
    return value, True


def signed_in_user(
    cookies: Mapping[str, str | None],
    cookie_secret: str | None,
    credentials: Container[str] | None = None,
) -> str | None:
    """Return the user named by the signed ``user`` cookie, or ``None``.

    Panel's ``pn.state.user`` also answers ``"guest"`` for a bare ``is_guest`` cookie a
    client can set itself; parkplan reads the signed cookie only.

    Parameters
    ----------
    cookies : mapping of str to str
        The request's cookies (only ``user`` is read).
    cookie_secret : str or None
        The server's secret; ``None`` reads every cookie as nobody.
    credentials : container of str, optional
        Who may sign in: a user no longer in it reads as nobody (signed out at once).

    Returns
    -------
    str or None
    """
    from tornado.web import decode_signed_value

    raw = cookies.get(USER_COOKIE)
    if not raw or not cookie_secret:
        return None
    decoded = decode_signed_value(cookie_secret, USER_COOKIE, raw, max_age_days=COOKIE_DAYS)
    name = decoded.decode("utf-8") if decoded else None
    if name is None or (credentials is not None and name not in credentials):
        return None
    return name


def safe_next_url(next_url: str | None, base_url: str = "/") -> str | None:
    """Return where to go after signing in, if it is a path on this server.

    Parameters
    ----------
    next_url : str or None
        The ``next`` argument or cookie.
    base_url : str
        The server's prefix, put in front of a path that lacks it.

    Returns
    -------
    str or None
        ``None`` when ``next_url`` is empty.

    Raises
    ------
    ValueError
        If ``next_url`` names a scheme or another host, or holds a backslash (which some
        browsers read as ``/``): an open redirect.
    """
    if not next_url:
        return None
    parts = urlparse(next_url)
    if parts.scheme or parts.netloc or "\\" in next_url:
        raise ValueError(t("web.next_url.refused", "en", url=next_url))
    if base_url and not next_url.startswith(base_url):
        next_url = next_url.replace("/", base_url, 1)
    return next_url


__all__ = [
    "COOKIE_DAYS",
    "MIN_SECRET_LENGTH",
    "USER_COOKIE",
    "cookie_secret_from_env",
    "safe_next_url",
    "signed_in_user",
]
