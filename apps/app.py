"""The parkplan app for ``panel serve apps/app.py`` (development; no sign-in).

``parkplan serve`` is the supported way to run it: it adds sign-in with hashed passwords, a
cookie secret and local-only assets (see docs/auth.md). Served this way instead, the page
reads the workspace in ``$PARKPLAN_WORKSPACE`` as the anonymous user (public records only,
no changes). Everything else lives in :mod:`parkplan.ui`.
"""

from parkplan.web.server import current_page

current_page().servable()
