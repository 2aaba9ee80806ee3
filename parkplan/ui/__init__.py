"""The Panel app: views (Viewer classes) over the tracker and the siting library.

Layout: :mod:`.state` (a session's state, no widgets), :mod:`.render` (pure functions to
display data and HTML through the Jinja templates in ``templates/``), :mod:`.gantt` (the
Gantt SVG), :mod:`.mapview` (park maps in iframes), :mod:`.plan` (runs as tables, files
and explanations), the views :mod:`.overview`, :mod:`.board`, :mod:`.desk` and
:mod:`.studio` (with :mod:`.scenario_form` and :mod:`.compare`), the shell :mod:`.app`.
No HTML is built by f-strings: every
fragment is a template, values autoescaped. See docs/decisions/0008-app.md.
"""
