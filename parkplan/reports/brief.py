"""The leader brief (领导简报): one printable A4 page in Chinese, English subtitles.

``parkplan brief --out brief.pdf`` puts on one page what a leader asks first: where the
parks and sites are and how full the adopted (else the latest) siting plan makes them, how
each of the nine pilot tasks is rated and moving, which escalations are open at the highest
levels, and which major matters still await their report. The page is marked 示意数据 when
the workspace is illustrative, and carries the highest visibility of anything on it.

Two steps, as the other reports: :func:`parkplan.services.briefs.build_brief` reads the
workspace through :class:`parkplan.tracker.Tracker` (so the page never holds a record
above its reader's clearance) and the siting ledger into a :class:`Brief`; :func:`render_pdf`
here takes that data and draws it with matplotlib alone (the map with geopandas) into a
PDF whose CJK text is real text.

Fonts
-----
Text is set in Noto Sans CJK SC (Debian ``fonts-noto-cjk``). matplotlib's Type 42 path
would embed that CFF-flavoured OpenType font under a TrueType font dictionary (poppler
warns "Mismatch between font type and embedded font file"), so the PDF uses Type 3:
each glyph used is embedded as an outline, subset, with a ToUnicode map — ``pdffonts``
lists ``NotoSansCJKsc-Regular`` and ``pdftotext`` extracts the Chinese. Text from records
is drawn with math parsing off, so a name with ``$`` or markup prints literally.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.patches import Rectangle

from parkplan import maps
from parkplan.crs import METRIC_CRS
from parkplan.errors import ParkplanError
from parkplan.i18n import t
from parkplan.reports.common import atomic_path, duration, one_line
from parkplan.reports.typeset import fit, width_em, wrap

__all__ = ["FONT_FAMILY", "TOP_ESCALATIONS", "TOP_MATTERS", "Brief", "render_pdf"]

#: The CJK font the brief is set in (Debian ``fonts-noto-cjk``).
FONT_FAMILY = "Noto Sans CJK SC"
#: How many open escalations the page lists (highest level first); more are counted.
TOP_ESCALATIONS = 5
#: How many major matters awaiting report the page lists (earliest deadline first).
TOP_MATTERS = 3

_A4_MM = (210.0, 297.0)
_MARGIN = 12.0
_INK, _GREY, _LIGHT = "#1a1a1a", "#666666", "#e6e6e6"
_RATING_COLOURS = {
    "green": ("#2e7d32", "#ffffff"),
    "amber_green": ("#9ccc65", _INK),
    "amber": ("#f9c74f", _INK),
    "amber_red": ("#f3722c", "#ffffff"),
    "red": ("#c62828", "#ffffff"),
}
_VISIBILITY_COLOURS = {"internal": "#c62828", "shareable": "#ef6c00", "public": "#2e7d32"}


@dataclass
class Brief:
    """Everything the page shows, read once (:func:`parkplan.services.briefs.build_brief`)."""

    as_of: date
    generated_at: datetime
    reader: str
    marking: str
    illustrative: str | None
    tasks: list[dict[str, Any]]
    escalations: list[dict[str, Any]]
    escalations_more: int
    matters: list[dict[str, Any]]
    plan: dict[str, Any] | None
    layers: dict[str, gpd.GeoDataFrame] = field(repr=False, default_factory=dict)
    utilisation: pd.DataFrame | None = field(repr=False, default=None)


def _check_font() -> None:
    try:
        findfont(FontProperties(family=FONT_FAMILY), fallback_to_default=False)
    except ValueError:
        raise ParkplanError(
            f"the brief needs the font {FONT_FAMILY!r} (Debian package "
            "fonts-noto-cjk, conda-forge font-noto-cjk)"
        ) from None


class _Page:
    """An A4 figure with a millimetre grid (origin top left) for text and boxes."""

    def __init__(self) -> None:
        w, h = _A4_MM
        self.fig = Figure(figsize=(w / 25.4, h / 25.4))
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, w)
        self.ax.set_ylim(h, 0)
        self.ax.set_axis_off()

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: float = 8,
        *,
        color: str = _INK,
        weight: str = "normal",
        ha: str = "left",
        va: str = "baseline",
        width: float | None = None,
    ) -> None:
        if width is not None:
            s = fit(s, width, size)
        self.ax.text(
            x, y, s, fontsize=size, color=color, fontweight=weight, ha=ha, va=va, parse_math=False
        )

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        fill: str = "none",
        edge: str = "none",
        lw: float = 0.6,
    ) -> None:
        self.ax.add_patch(Rectangle((x, y), w, h, facecolor=fill, edgecolor=edge, linewidth=lw))

    def rule(
        self,
        y: float,
        *,
        color: str = _LIGHT,
        lw: float = 0.5,
        x0: float = _MARGIN,
        x1: float = _A4_MM[0] - _MARGIN,
    ) -> None:
        self.ax.plot([x0, x1], [y, y], color=color, linewidth=lw)

    def axes(self, x: float, y: float, w: float, h: float):
        pw, ph = _A4_MM
        return self.fig.add_axes((x / pw, 1 - (y + h) / ph, w / pw, h / ph))

    def heading(self, y: float, key: str, **values: Any) -> None:
        zh = t(key, "zh", **values)
        self.text(_MARGIN, y, zh, 10.5, weight="bold")
        self.text(
            _MARGIN + width_em(zh) * 10.5 * 25.4 / 72 + 2.5,
            y,
            t(key, "en", **values),
            7,
            color=_GREY,
        )


def _header(page: _Page, brief: Brief) -> None:
    right = _A4_MM[0] - _MARGIN
    page.text(_MARGIN, 19, t("brief.title", "zh"), 17, weight="bold")
    page.text(_MARGIN, 24.5, t("brief.title", "en"), 8, color=_GREY)
    page.text(right, 15, t("brief.as_of", "zh", date=brief.as_of.isoformat()), 9, ha="right")
    page.text(
        right,
        18.8,
        t("brief.as_of", "en", date=brief.as_of.isoformat()),
        6.5,
        color=_GREY,
        ha="right",
    )
    reader_zh = brief.reader or t("brief.anonymous", "zh")
    page.text(right, 23, t("brief.prepared_for", "zh", user=reader_zh), 7, ha="right", width=70)
    # The marking: the highest visibility of anything on the page.
    colour = _VISIBILITY_COLOURS.get(brief.marking, _INK)
    mark = (
        f"{t(f'report.visibility.{brief.marking}', 'zh')} "
        f"{t(f'report.visibility.{brief.marking}', 'en')}"
    )
    page.box(108, 11, 26, 7, edge=colour, lw=1.0)
    page.text(121, 16, mark, 8, color=colour, weight="bold", ha="center")
    if brief.illustrative:
        page.box(108, 19.5, 26, 7, fill="#fff3cd", edge="#c9a000", lw=0.8)
        page.text(
            121, 24.4, t("brief.illustrative", "zh"), 9, color="#7a5c00", weight="bold", ha="center"
        )
    page.rule(28, color=_INK, lw=0.8)


def _map(page: _Page, brief: Brief, y: float, width: float, height: float) -> None:
    ax = page.axes(_MARGIN, y, width, height)
    page.box(_MARGIN, y, width, height, edge="#bdbdbd", lw=0.5)
    ax.set_axis_off()
    layers = {k: v for k, v in brief.layers.items() if k != "candidates"}
    frames = {
        k: v.to_crs(METRIC_CRS)
        for k, v in layers.items()
        if isinstance(v, gpd.GeoDataFrame) and len(v)
    }
    districts, parks, sites = (frames.get(k) for k in ("districts", "parks", "sites"))
    if districts is not None:
        districts.plot(ax=ax, facecolor="#f1efe8", edgecolor="#9a9a9a", linewidth=0.4)
    if parks is not None:
        parks.plot(
            ax=ax,
            facecolor=maps.COLOURS["parks"] + "33",
            edgecolor=maps.COLOURS["parks"],
            linewidth=0.7,
        )
    focus = [f for f in (parks, sites) if f is not None]
    bounds = (
        pd.concat([f.geometry for f in focus]).total_bounds
        if focus
        else districts.total_bounds
        if districts is not None
        else None
    )
    if sites is not None:
        _sites(ax, sites, brief.utilisation)
    if bounds is None:
        return
    _frame(ax, bounds, pad=4000.0)
    if districts is not None:
        _district_labels(ax, districts)
    if parks is not None:
        _park_labels(ax, parks)
    _scale_bar(ax)


def _sites(ax: Any, sites: gpd.GeoDataFrame, util: pd.DataFrame | None) -> None:
    xy = sites.geometry.representative_point()
    if util is None:
        ax.scatter(
            xy.x, xy.y, s=9, c=maps.COLOURS["sites"], edgecolors="white", linewidths=0.4, zorder=4
        )
        return
    u = util.reindex(sites["site_id"].astype(str))
    classes = [
        maps.utilisation_class(v, p)
        for v, p in zip(u["utilisation"], u["placed"].fillna(0), strict=True)
    ]
    fills = [maps.UNUSED_FILL if k == 0 else maps.UTILISATION_COLOURS[k - 1] for k in classes]
    edges = [maps.UNUSED_LINE if k == 0 else "#7f2704" for k in classes]
    order = sorted(range(len(classes)), key=lambda i: classes[i])  # fuller sites on top
    ax.scatter(
        xy.x.iloc[order],
        xy.y.iloc[order],
        s=[9 if classes[i] == 0 else 14 for i in order],
        c=[fills[i] for i in order],
        edgecolors=[edges[i] for i in order],
        linewidths=0.5,
        zorder=4,
    )


def _frame(ax: Any, bounds: Any, pad: float) -> None:
    """Set the view to ``bounds`` plus ``pad`` metres, widened to the axes' aspect."""
    minx, miny, maxx, maxy = bounds
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    bbox = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    aspect = (bbox.width * fig_w) / (bbox.height * fig_h)
    w, h = maxx - minx, maxy - miny
    if w / h < aspect:
        grow = (h * aspect - w) / 2
        minx, maxx = minx - grow, maxx + grow
    else:
        grow = (w / aspect - h) / 2
        miny, maxy = miny - grow, maxy + grow
    # The limits have the box's aspect, so a metre is as long across as up.
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)


def _halo() -> list:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2, foreground="white")]


def _inside(ax: Any, x: float, y: float) -> bool:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return x0 < x < x1 and y0 < y < y1


def _district_labels(ax: Any, districts: gpd.GeoDataFrame) -> None:
    # Small central districts would crowd each other: label those of at least 60 km².
    for geom, name in zip(districts.geometry, districts.get("name_zh", []), strict=False):
        if geom is None or geom.is_empty or geom.area < 60e6:
            continue
        pt = geom.representative_point()
        if _inside(ax, pt.x, pt.y):
            ax.text(
                pt.x,
                pt.y,
                one_line(name),
                fontsize=6.5,
                color="#8a8a8a",
                ha="center",
                va="center",
                parse_math=False,
                zorder=2,
            )


def _park_labels(ax: Any, parks: gpd.GeoDataFrame) -> None:
    placed: list[tuple[float, float]] = []
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    step = (y1 - y0) * 0.035
    bbox = ax.get_position()
    metres_per_mm = (x1 - x0) / (bbox.width * _A4_MM[0])
    for geom, name in sorted(
        zip(parks.geometry, parks.get("name_zh", []), strict=False), key=lambda p: -p[0].centroid.y
    ):
        c = geom.centroid
        label = one_line(name).replace("（示意）", "")
        x, y = c.x + (x1 - x0) * 0.012, c.y
        while any(abs(y - py) < step and abs(x - px) < (x1 - x0) * 0.2 for px, py in placed):
            y -= step
        placed.append((x, y))
        label = fit(label, 40, 6)
        ha = "left"
        if x + width_em(label) * 6 * 25.4 / 72 * metres_per_mm > x1:  # would leave the map
            x, ha = c.x - (x1 - x0) * 0.012, "right"
        ax.text(
            x,
            y,
            label,
            fontsize=6,
            color=maps.COLOURS["parks"],
            ha=ha,
            va="center",
            parse_math=False,
            path_effects=_halo(),
            zorder=5,
            clip_on=True,
        )


def _scale_bar(ax: Any) -> None:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    target = (x1 - x0) / 6
    km = max(1, int(10 ** math.floor(math.log10(target / 1000))))
    for m in (5, 2, 1):
        if km * m * 1000 <= target:
            km *= m
            break
    xs, ys = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.04
    ax.plot([xs, xs + km * 1000], [ys, ys], color=_INK, linewidth=1.2, zorder=6)
    ax.text(
        xs + km * 500,
        ys + (y1 - y0) * 0.012,
        f"{t('brief.map.scale', 'zh', km=km)} {t('brief.map.scale', 'en', km=km)}",
        fontsize=6,
        ha="center",
        va="bottom",
        zorder=6,
    )


def _side_panel(page: _Page, brief: Brief, x: float, y: float, width: float) -> None:
    """Legend of the map and the plan in figures, beside the map."""

    def dot(yy: float, fill: str, edge: str, text_zh: str, text_en: str = "") -> None:
        page.ax.scatter([x + 1.8], [yy - 1.1], s=22, c=fill, edgecolors=edge, linewidths=0.6)
        page.text(x + 4.5, yy, text_zh, 7)
        if text_en:
            page.text(
                x + 4.5 + width_em(text_zh) * 7 * 25.4 / 72 + 1.5,
                yy,
                text_en,
                5.8,
                color=_GREY,
                width=width - 6 - width_em(text_zh) * 7 * 25.4 / 72,
            )

    park = maps.COLOURS["parks"]
    page.box(x + 0.3, y - 2.6, 3, 2.6, fill=park + "33", edge=park)
    page.text(x + 4.5, y, t("map.layer.parks", "zh"), 7)
    page.text(
        x + 4.5 + width_em(t("map.layer.parks", "zh")) * 7 * 25.4 / 72 + 1.5,
        y,
        t("map.layer.parks", "en"),
        5.8,
        color=_GREY,
    )
    y += 6
    if brief.utilisation is None:
        dot(
            y,
            maps.COLOURS["sites"],
            "white",
            t("map.layer.sites", "zh"),
            t("map.layer.sites", "en"),
        )
        y += 7
        for line in wrap(t("brief.map.no_plan", "zh"), width, 7.5):
            page.text(x, y, line, 7.5, color=_GREY)
            y += 3.6
        return
    page.text(x, y, t("map.legend.utilisation", "zh"), 8, weight="bold")
    page.text(x, y + 3.2, t("map.legend.utilisation", "en"), 5.8, color=_GREY)
    y += 7.8
    for colour, text in zip(maps.UTILISATION_COLOURS, maps.bin_labels(), strict=True):
        dot(y, colour, "#7f2704", text)
        y += 4.2
    dot(
        y,
        maps.UNUSED_FILL,
        maps.UNUSED_LINE,
        t("map.legend.not_used", "zh"),
        t("map.legend.not_used", "en"),
    )
    y += 9
    p = brief.plan
    if p is None:
        return
    mean = "—" if p["mean"] is None else f"{p['mean'] * 100:.0f}%"
    for line in wrap(
        t(
            "brief.map.plan",
            "zh",
            plan=p["label_zh"],
            placed=p["placed"],
            sites=p["sites"],
            mean=mean,
        ),
        width,
        7.5,
        max_lines=6,
    ):
        page.text(x, y, line, 7.5)
        y += 3.7
    y += 1
    for line in wrap(
        t(
            "brief.map.plan",
            "en",
            plan=p["label_en"],
            placed=p["placed"],
            sites=p["sites"],
            mean=mean,
        ),
        width,
        5.8,
        max_lines=5,
    ):
        page.text(x, y, line, 5.8, color=_GREY)
        y += 2.8


def _tasks(page: _Page, brief: Brief, y: float) -> float:
    x_code, x_title, x_rating, x_trend = _MARGIN, _MARGIN + 11, 150.0, 177.0
    row_h = 6.8
    page.heading(y, "brief.tasks.title")
    y += 3.0
    page.box(_MARGIN, y, _A4_MM[0] - 2 * _MARGIN, 5.0, fill="#f2f2f2")
    for x, key in (
        (x_code, "brief.tasks.task"),
        (x_rating, "brief.tasks.rating"),
        (x_trend, "brief.tasks.trend"),
    ):
        page.text(x + 1, y + 3.6, f"{t(key, 'zh')} {t(key, 'en')}", 6.5, color=_GREY)
    y += 5.0
    for task in brief.tasks:
        page.text(x_code + 1, y + 4.3, task["code"], 8)
        page.text(x_title, y + 3.5, task["title_zh"], 8, width=x_rating - x_title - 2)
        page.text(
            x_title, y + 6.3, task["title_en"], 5.3, color=_GREY, width=x_rating - x_title - 2
        )
        fill, ink = _RATING_COLOURS.get(task["rating"], (_LIGHT, _INK))
        page.box(x_rating, y + 1.1, 25, 5.0, fill=fill)
        page.text(
            x_rating + 12.5,
            y + 4.7,
            f"{t('rating.' + task['rating'], 'zh')} {t('rating.' + task['rating'], 'en')}",
            6.8,
            color=ink,
            ha="center",
            weight="bold",
        )
        page.text(x_trend + 1, y + 3.5, t(f"report.trend.{task['trend']}", "zh"), 7.5)
        page.text(
            x_trend + 1,
            y + 6.3,
            t(f"report.trend.{task['trend']}", "en"),
            5.3,
            color=_GREY,
            width=_A4_MM[0] - _MARGIN - x_trend - 1,
        )
        y += row_h
        page.rule(y)
    return y


def _escalations(page: _Page, brief: Brief, y: float) -> float:
    page.heading(y, "brief.escalations.title")
    y += 1.5
    if not brief.escalations:
        page.text(
            _MARGIN,
            y + 4,
            f"{t('brief.escalations.none', 'zh')} {t('brief.escalations.none', 'en')}",
            7.5,
            color=_GREY,
        )
        return y + 6
    for e in brief.escalations:
        y += 4.6
        level = f"report.level.{e['level']}"
        page.text(_MARGIN, y, t(level, "zh"), 7.5, weight="bold", width=24)
        page.text(_MARGIN + 25, y, e["task_code"], 7.5)
        page.text(_MARGIN + 37, y, e["message"], 7, width=118)
        page.text(
            _A4_MM[0] - _MARGIN,
            y,
            f"{t('report.escalation.' + e['status'], 'zh')} {e['opened']}",
            6.5,
            color=_GREY,
            ha="right",
        )
    if brief.escalations_more:
        y += 4.2
        page.text(
            _MARGIN + 37,
            y,
            f"{t('brief.escalations.more', 'zh', n=brief.escalations_more)}"
            f" · {t('brief.escalations.more', 'en', n=brief.escalations_more)}",
            6.5,
            color=_GREY,
        )
    return y + 2


def _matters(page: _Page, brief: Brief, y: float) -> float:
    page.heading(y, "brief.matters.title")
    y += 1.5
    if not brief.matters:
        page.text(
            _MARGIN,
            y + 4,
            f"{t('brief.matters.none', 'zh')} {t('brief.matters.none', 'en')}",
            7.5,
            color=_GREY,
        )
        return y + 6
    fmt = duration("zh")
    for m in brief.matters:
        y += 4.6
        clock = m["clock"]
        state = clock["state"]
        text = (
            t(
                f"report.clock.{state}",
                "zh",
                left=fmt(clock["hours"]),
                late=fmt(clock["hours"]),
                at="",
                to="",
            )
            if state in ("open", "overdue")
            else ""
        )
        colour = "#c62828" if state == "overdue" else _INK
        page.text(_MARGIN, y, m["task_code"], 7.5)
        page.text(_MARGIN + 12, y, m["title"], 7.5, width=100)
        page.text(
            _MARGIN + 114,
            y,
            t("brief.matters.deadline", "zh", deadline=m["deadline"]),
            6.8,
            color=_GREY,
        )
        page.text(
            _A4_MM[0] - _MARGIN,
            y,
            text,
            6.8,
            color=colour,
            ha="right",
            weight="bold" if state == "overdue" else "normal",
        )
    return y + 2


def _footer(page: _Page, brief: Brief) -> None:
    y = _A4_MM[1] - 8
    page.rule(y - 3.5, color=_INK, lw=0.5)
    when = brief.generated_at.strftime("%Y-%m-%d %H:%M")
    page.text(
        _MARGIN,
        y,
        f"{t('brief.footer', 'zh', when=when)} · {t('brief.footer', 'en', when=when)}",
        6,
        color=_GREY,
    )
    if brief.illustrative:
        page.text(
            _A4_MM[0] - _MARGIN,
            y,
            one_line(brief.illustrative),
            6,
            color="#7a5c00",
            ha="right",
            width=110,
        )


def render_pdf(brief: Brief, path: str | os.PathLike) -> Path:
    """Draw ``brief`` on one A4 page and write it as a PDF (fonts embedded).

    Raises
    ------
    ParkplanError
        If the CJK font is not installed.
    """
    _check_font()
    rc = {
        "font.family": [FONT_FAMILY],
        "font.sans-serif": [FONT_FAMILY],
        "pdf.fonttype": 3,
        "text.parse_math": False,
        "axes.unicode_minus": False,
        "svg.fonttype": "none",
    }
    with matplotlib.rc_context(rc):
        page = _Page()
        _header(page, brief)
        page.heading(35, "brief.map.title")
        _map(page, brief, 38, 128, 106)
        _side_panel(page, brief, 144, 41, _A4_MM[0] - _MARGIN - 144)
        y = _tasks(page, brief, 153)
        y = _escalations(page, brief, y + 7)
        _matters(page, brief, y + 6)
        _footer(page, brief)
        path = Path(path)
        with atomic_path(path) as tmp:
            page.fig.savefig(
                tmp,
                format="pdf",
                metadata={
                    "Title": f"{t('brief.title', 'zh')} {brief.as_of.isoformat()}",
                    "Subject": t("brief.title", "en"),
                    "Creator": "parkplan",
                },
            )
    return path
