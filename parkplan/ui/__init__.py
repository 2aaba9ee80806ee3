"""The Panel app: views (Viewer classes) over the tracker and the siting library.

Layout: :mod:`.state` (a session's state, no widgets), :mod:`.render` (pure functions to
escaped HTML/SVG), :mod:`.mapview` (park maps in iframes), :mod:`.plan` (runs as tables and
files), the views :mod:`.overview`, :mod:`.board`, :mod:`.desk`, :mod:`.studio`, the shell
:mod:`.app`, sign-in :mod:`.auth` and the server :mod:`.server`. See
docs/decisions/0008-app.md.
"""
