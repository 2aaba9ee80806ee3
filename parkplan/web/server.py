"""Serve the app: Panel's server with hashed-password sign-in and every asset served locally.

:func:`serve` is what ``parkplan serve`` runs. It sets Bokeh's resource mode to ``server``
(BokehJS, Panel's bundles, the template's CSS and fonts come from the app's own ``/static``
routes; nothing from a CDN), installs :func:`parkplan.web.auth.auth_provider`, signs
cookies with the given secret, mounts the JSON API (:mod:`parkplan.web.api`) under
``/api``, and builds each user's page with :func:`parkplan.ui.app.create_app`. It owns one
:class:`~parkplan.web.resources.ServerResources`: each server process (after
``--num-procs`` forks them) opens the workspace once, on first use, and shares it between
the app's sessions and the API.

The arrow runs one way: :mod:`parkplan.web` imports :mod:`parkplan.ui` to mount the app;
nothing in ``ui`` imports ``web``.

When the database cannot be reached (PostgreSQL stopped or restarting) a new page shows a
plain message instead of a traceback, and the API answers 503; both recover by themselves
once the database is back (the engine pings pooled connections before use).

``clock`` (``parkplan serve --as-of``) makes the app's "now" start at a fixed moment (an
:class:`~parkplan.ui.state.AsOfClock`): ratings, the as-of date, reporting clocks and
the times changes are stamped with follow it; a banner on every page says so. The JSON API
keeps the real clock. Default: the real clock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime

from parkplan.identity.credentials import Credentials
from parkplan.store import Workspace
from parkplan.store.workspace import resolve_location
from parkplan.web.pages import db_down_template
from parkplan.web.resources import ServerResources, is_db_unavailable
from parkplan.web.sessions import signed_in_user

log = logging.getLogger("parkplan.ui")


def unavailable_page(lang: str = "zh"):
    """Return the page shown while the database cannot be reached (no traceback).

    A :class:`panel.Template` whose text is in the HTML itself (rendered server-side), so
    it reads the same with or without the page's scripts. Both languages are shown (the
    session's first): the catalogue's ``ui.db_down.*``.

    Parameters
    ----------
    lang : str
        The session's language.

    Returns
    -------
    panel.Template
    """
    import panel as pn

    return pn.Template(db_down_template(lang))


def current_page(
    location: str | None = None,
    cookie_secret: str | None = None,
    clock: Callable[[], datetime] | None = None,
    resources: ServerResources | None = None,
):
    """Build the page of the session being opened (called once per browser session).

    Parameters
    ----------
    location : str, optional
        Workspace path or URL (``None``: ``$PARKPLAN_WORKSPACE``, then ``./parkplan.gpkg``).
    cookie_secret : str, optional
        The server's cookie secret (default Panel's ``cookie_secret``).
    clock : callable, optional
        The app's "now" (default the real clock; see :func:`serve`).
    resources : ServerResources, optional
        The server's; ``panel serve apps/app.py`` passes none and gets one per process,
        kept in Panel's cache.

    Returns
    -------
    panel.viewable.Viewable
    """
    import panel as pn

    from parkplan.ui.app import create_app

    if resources is None:
        resources = pn.state.as_cached("parkplan-server-resources", ServerResources)
    location = resolve_location(location)
    lang = (pn.state.session_args.get("lang") or [b"zh"])[0]
    lang = lang.decode() if isinstance(lang, bytes) else str(lang)
    try:
        services = resources.services(location, clock)
        secret = cookie_secret or pn.config.cookie_secret
        user = signed_in_user(pn.state.cookies, secret)
        return create_app(services, user, lang=lang)
    except Exception as err:
        if not is_db_unavailable(err):
            raise
        log.warning(
            "new page: the database is unavailable: %s",
            str(err).splitlines()[0] if str(err) else type(err).__name__,
        )
        return unavailable_page(lang)


def configure_logging(
    log_file: str | os.PathLike | None, *, level: int = logging.INFO, processes: int = 1
) -> None:
    """Send parkplan's, Tornado's and Bokeh's logs to ``log_file`` (and stderr).

    One process: a :class:`~logging.handlers.RotatingFileHandler` (10 MiB × 5 files).
    Several processes (``--num-procs``) share the file through a
    :class:`~logging.handlers.WatchedFileHandler` (append-only, reopened after an external
    rotation such as logrotate), since rotating from several processes loses lines.
    """
    import logging.handlers

    fmt = logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        if processes == 1:
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    log_file, maxBytes=10 * 2**20, backupCount=5, encoding="utf-8"
                )
            )
        else:
            handlers.append(logging.handlers.WatchedFileHandler(log_file, encoding="utf-8"))
    for name in ("parkplan", "tornado", "bokeh"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        for h in list(logger.handlers):
            if getattr(h, "parkplan_handler", False):
                logger.removeHandler(h)
        for h in handlers:
            h.setFormatter(fmt)
            h.parkplan_handler = True  # type: ignore[attr-defined]  # ours, to replace on reconfiguring
            logger.addHandler(h)


def serve(
    location: str | None,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    credentials: Credentials | None,
    cookie_secret: str,
    num_procs: int = 1,
    origins: Sequence[str] = (),
    show: bool = False,
    secure_cookies: bool = False,
    as_of: datetime | None = None,
) -> None:
    """Start the server and block until it stops.

    Parameters
    ----------
    location : str or None
        Workspace path or URL (``None``: ``$PARKPLAN_WORKSPACE``, then ``./parkplan.gpkg``).
    port, address : int, str
        Where to listen (default 127.0.0.1: put a TLS reverse proxy in front for others).
    credentials : Credentials or None
        Who may sign in; ``None`` serves without sign-in, reading as the anonymous user
        (public records only, no changes).
    cookie_secret : str
        Signs the sign-in cookie.
    num_procs : int
        Server processes (Tornado forks them; 0 = one per core).
    origins : sequence of str
        Extra ``host[:port]`` values allowed to open the app's websocket (behind a proxy).
    show : bool
        Open a browser.
    secure_cookies : bool
        Mark the sign-in cookie ``Secure`` (sent over HTTPS only): set it behind a TLS proxy.
    as_of : datetime, optional
        Serve the app as if "now" were this moment (Shanghai time), running on from it
        (:class:`~parkplan.ui.state.AsOfClock`): demonstrations and tests. Default: the
        real clock.
    """
    import panel as pn
    from bokeh.settings import settings

    from parkplan.web.api import api_patterns

    # never a CDN, whatever the environment says: Bokeh's own setting, which outranks
    # $BOKEH_RESOURCES
    settings.resources.set_value("server")
    location = resolve_location(location)
    Workspace.open(location).close()  # fail now, with the library's message, if unusable
    allowed = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}", *origins]
    kwargs = {}
    if credentials is not None:
        from parkplan.web.auth import auth_provider

        kwargs["auth_provider"] = auth_provider(credentials, cookie_secret, secure=secure_cookies)
    clock = None
    if as_of is not None:
        from parkplan.ui.state import AsOfClock

        clock = AsOfClock(as_of)
        log.warning("the app's clock starts at %s (--as-of), not the real time", as_of)
    resources = ServerResources()
    log.info("serving %s on http://%s:%s/", location, address, port)
    pn.serve(
        lambda: current_page(location, cookie_secret, clock, resources),
        port=port,
        address=address,
        websocket_origin=allowed,
        show=show,
        start=True,
        title="parkplan",
        cookie_secret=cookie_secret,
        num_procs=num_procs,
        liveness=True,
        extra_patterns=api_patterns(location, resources, credentials, cookie_secret),
        **kwargs,
    )


__all__ = ["configure_logging", "current_page", "serve", "unavailable_page"]
