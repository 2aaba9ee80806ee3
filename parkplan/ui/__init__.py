"""The Panel app: views (Viewer classes) over the tracker and the siting library.

Layout: :mod:`.state` (a session's state, no widgets), :mod:`.render` (pure functions to
escaped HTML/SVG), :mod:`.mapview` (park maps in iframes), :mod:`.plan` (runs as tables and
files), the views :mod:`.overview`, :mod:`.board`, :mod:`.desk`, :mod:`.studio` and the
shell :mod:`.app`. Sign-in and the server are :mod:`parkplan.web`'s (which mounts this app;
nothing here imports it). See docs/decisions/0008-app.md.
"""
