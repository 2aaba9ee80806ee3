"""Serve the app: Panel's server with hashed-password sign-in and every asset served locally.

:func:`serve` is what ``parkplan serve`` runs. It forces Bokeh's resource mode to
``server`` (BokehJS, Panel's bundles, the template's CSS and fonts come from the app's own
``/static`` routes; nothing from a CDN), installs :func:`parkplan.ui.auth.auth_provider`,
signs cookies with the given secret, and builds each user's page with
:func:`parkplan.ui.app.create_app`. The workspace is opened once per server process (after
``--num-procs`` forks them), on first use.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from parkplan.store import Workspace
from parkplan.store.workspace import resolve_location
from parkplan.ui.auth import Credentials, auth_provider, signed_in_user
from parkplan.ui.state import Services

log = logging.getLogger("parkplan.ui")


def _services(location: str) -> Services:
    import panel as pn

    return pn.state.as_cached(f"parkplan-services:{location}",
                              lambda: Services(Workspace.open(location)))


def current_page(location: str | None = None, cookie_secret: str | None = None):
    """Build the page of the session being opened (called once per browser session)."""
    import panel as pn

    from parkplan.ui.app import create_app

    location = resolve_location(location)
    services = _services(location)
    secret = cookie_secret or pn.config.cookie_secret
    user = signed_in_user(pn.state.cookies, secret)
    lang = (pn.state.session_args.get("lang") or [b"zh"])[0]
    lang = lang.decode() if isinstance(lang, bytes) else str(lang)
    return create_app(services, user, lang=lang)


def serve(location: str | None, *, port: int = 5006, address: str = "127.0.0.1",
          credentials: Credentials | None, cookie_secret: str, num_procs: int = 1,
          origins: Sequence[str] = (), show: bool = False) -> None:
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
    """
    os.environ["BOKEH_RESOURCES"] = "server"  # never a CDN, whatever the environment says
    import panel as pn

    location = resolve_location(location)
    Workspace.open(location).close()  # fail now, with the library's message, if unusable
    allowed = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}", *origins]
    kwargs = {}
    if credentials is not None:
        kwargs["auth_provider"] = auth_provider(credentials)
    log.info("serving %s on http://%s:%s/", location, address, port)
    pn.serve(lambda: current_page(location, cookie_secret), port=port, address=address,
             websocket_origin=allowed, show=show, start=True, title="parkplan",
             cookie_secret=cookie_secret, num_procs=num_procs, liveness=True,
             **kwargs)


__all__ = ["current_page", "serve"]
