"""Jinja2 templates of every package that renders HTML (maps, reports, ui), autoescaped.

Each package keeps its templates in its own ``templates/`` folder; :func:`render` renders
one and :func:`macros` returns a template's macros for small fragments (a popup, a
legend row) built many times per document. Values are escaped by Jinja's autoescape;
:class:`markupsafe.Markup` marks a fragment as already safe.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["environment", "macros", "render"]


@functools.cache
def environment(package: str) -> jinja2.Environment:
    """Return the (cached) autoescaping environment of ``package``'s ``templates/`` folder."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(package: str, name: str, /, **context: Any) -> Markup:
    """Render template ``name`` of ``package`` with ``context``.

    Parameters
    ----------
    package : str
        Dotted name of the package holding ``templates/`` (e.g. ``"parkplan.ui"``).
    name : str
        File name inside ``templates/``.
    **context
        Template variables; strings are escaped unless they are :class:`Markup`.

    Returns
    -------
    markupsafe.Markup
        The rendered text.
    """
    return Markup(environment(package).get_template(name).render(**context))


@functools.cache
def macros(package: str, name: str) -> Any:
    """Return the macros of template ``name`` of ``package`` as attributes.

    Calling a macro returns :class:`~markupsafe.Markup`; it is the fast path for
    fragments made once per feature.
    """
    return environment(package).get_template(name).module
