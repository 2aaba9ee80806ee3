"""The server's own HTML pages, rendered from Jinja2 templates (autoescaped).

Templates live in ``parkplan/web/templates`` and render through :mod:`parkplan.templating`
(the one Jinja setup); every label comes from the catalogue, in Chinese and English; no
page loads anything from a CDN or names an external font.
"""

from __future__ import annotations

from parkplan.i18n import LANGUAGES, Language, both, t
from parkplan.templating import render

PACKAGE = "parkplan.web"


def login_page(action: str, error: bool = False) -> str:
    """Return the sign-in page (bilingual, self-contained).

    Parameters
    ----------
    action : str
        Where the form posts to (the login endpoint).
    error : bool
        Say that the last attempt failed.

    Returns
    -------
    str
    """
    return str(
        render(
            PACKAGE,
            "sign_in.html",
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
    )


def logout_page(login_url: str) -> str:
    """Return the signed-out page (bilingual, self-contained).

    Parameters
    ----------
    login_url : str
        Where "sign in again" leads.

    Returns
    -------
    str
    """
    return str(
        render(
            PACKAGE,
            "sign_in.html",
            form=False,
            action=login_url,
            title=both("app_title", sep=" · "),
            subtitle=both("ui.logout.done"),
            submit_label=both("ui.login.again"),
            note="",
        )
    )


def db_down_template(lang: str = "zh") -> str:
    """Return the Panel template text of the page shown while the database is down.

    Both languages are shown, the session's first (the catalogue's ``ui.db_down.*``).

    Parameters
    ----------
    lang : str
        The session's language; anything else reads as Chinese.

    Returns
    -------
    str
        A template for :class:`panel.Template` (it extends Panel's ``base``).
    """
    first: Language = lang if lang in LANGUAGES else "zh"  # type: ignore[assignment]
    order = [first, *(x for x in LANGUAGES if x != first)]
    return str(
        render(
            PACKAGE,
            "db_down.html",
            heading=" · ".join(t("ui.db_down.title", x) for x in order),
            paragraphs=[(x, t("ui.db_down.body", x)) for x in order],
        )
    )


__all__ = ["db_down_template", "login_page", "logout_page"]
