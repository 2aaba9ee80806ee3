"""Tests for the leader brief: one A4 page, Chinese text extractable, fonts embedded."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from parkplan.errors import ParkplanError
from parkplan.reports import brief as brief_mod
from parkplan.reports.brief import Brief, render_pdf
from parkplan.services.briefs import build_brief
from parkplan.store import Workspace
from tests.browser import SCREENSHOTS
from tests.test_maps import _cli, _record_plan, greedy_allocation

AS_OF = date(2026, 11, 25)
HOSTILE = "<script>alert(1)</script> $\\alpha$ 危险品泄漏（示意）"
POPPLER = ("pdfinfo", "pdffonts", "pdftotext", "pdftoppm")


def _poppler() -> None:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"poppler-utils missing ({', '.join(missing)}): .ci/run installs it")


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def planned_ws(demo_gpkg, tmp_path) -> Path:
    """The demo workspace with an adopted plan and a hostile major matter."""
    from parkplan.tracker import Tracker

    path = tmp_path / "ws.gpkg"
    shutil.copy(demo_gpkg, path)
    with Workspace.open(path) as ws:
        _record_plan(ws, greedy_allocation(ws, 60), name="baseline", adopted=True)
        Tracker(ws, "convenor").add_matter(
            title=HOSTILE,
            what_happened="测试",
            occurred_at="2026-11-20T09:00:00",
            impact="测试",
            task=3,
        )
    return path


def test_build_brief_reads_as_the_reader(planned_ws):
    with Workspace.open(planned_ws) as ws:
        b = build_brief(ws, user="convenor", as_of=AS_OF)
        anon = build_brief(ws, as_of=AS_OF)
    assert [t["number"] for t in b.tasks] == list(range(1, 10))
    assert {t["rating"] for t in b.tasks} <= {"green", "amber_green", "amber", "amber_red", "red"}
    # Escalations: open ones only, highest level first, at most TOP_ESCALATIONS.
    ranks = {"owner": 0, "office": 1, "convenor": 2, "national": 3}
    levels = [ranks[e["level"]] for e in b.escalations]
    assert levels == sorted(levels, reverse=True) and len(levels) <= brief_mod.TOP_ESCALATIONS
    assert b.escalations_more >= 0
    assert any(m["title"] == HOSTILE for m in b.matters)
    assert b.marking == "internal" and b.illustrative and "示意" in b.illustrative
    assert b.plan["placed"] >= 30 and b.plan["label_zh"].endswith("(已采纳)")
    assert 0 < b.plan["mean"] <= 1
    assert b.utilisation is not None and (b.utilisation["placed"] > 0).sum() == b.plan["sites"]
    # Anonymous readers see public records only: no internal escalation or matter.
    assert anon.reader == "" and anon.marking == "public"
    assert anon.matters == [] and all(e["level"] != "office" for e in anon.escalations)


def test_brief_pdf_one_page_chinese_fonts_embedded(planned_ws, tmp_path):
    _poppler()
    out = tmp_path / "brief.pdf"
    result = _cli(
        "brief",
        "--out",
        out,
        "--as",
        "convenor",
        "--as-of",
        AS_OF.isoformat(),
        "--workspace",
        planned_ws,
    )
    assert result.exit_code == 0, result.output
    info = _run("pdfinfo", out)
    assert "Pages:           1" in info
    assert "A4" in info
    fonts = _run("pdffonts", out)
    assert "NotoSansCJKsc" in fonts
    # Every font embedded ("emb" column yes), none missing.
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("yes" in row for row in rows)
    text = _run("pdftotext", "-layout", out, "-")
    with Workspace.open(planned_ws) as ws:
        from parkplan.tracker import Tracker

        tasks = Tracker(ws, "convenor").tasks()
    for task in tasks:  # the key words of each task's title
        assert task.title_zh[:6] in text.replace(" ", ""), task.title_zh
    for words in (
        "检验检测认证先行先试工作简报",
        "示意",
        "九项试点任务",
        "载体利用率",
        "待处理升级事项",
        "待报告重大事项",
        "内部",
        "baseline",
    ):
        assert words in text, words
    # Hostile text prints literally (no markup, no math).
    assert "<script>alert(1)</script>" in text and "$\\alpha$" in text
    # A picture for people (and CI artefacts): render and keep it.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _run("pdftoppm", "-r", "50", "-png", "-singlefile", out, SCREENSHOTS / "brief")
    png = SCREENSHOTS / "brief.png"
    assert png.stat().st_size > 20_000


def test_brief_without_plan_or_marking(demo_gpkg, tmp_path):
    _poppler()
    out = tmp_path / "b.pdf"
    with Workspace.open(demo_gpkg) as ws:
        b = build_brief(ws, user="viewer", as_of=AS_OF)
    assert b.plan is None and b.utilisation is None
    b.illustrative = None
    render_pdf(b, out)
    text = _run("pdftotext", out, "-")
    assert "尚无选址方案" in text and "示意数据" not in text and "公开" in text
    assert "Pages:           1" in _run("pdfinfo", out)


def test_brief_fits_long_text_on_one_page(tmp_path):
    _poppler()
    long = "很长的标题" * 40
    b = Brief(
        as_of=AS_OF,
        generated_at=datetime(2026, 11, 25, 9),
        reader="测试 reader",
        marking="shareable",
        illustrative="示意数据 · illustrative",
        tasks=[
            {
                "number": i,
                "code": f"（{i}）",
                "title_zh": long,
                "title_en": "x" * 300,
                "rating": "red",
                "trend": "worsening",
            }
            for i in range(1, 10)
        ],
        escalations=[
            {
                "level": "national",
                "status": "open",
                "task_code": "（一）",
                "message": long,
                "opened": "2026-11-01",
            }
        ]
        * 5,
        escalations_more=12,
        matters=[
            {
                "title": long,
                "task_code": "",
                "deadline": "2026-11-24 10:00",
                "clock": {"state": "overdue", "hours": 30.0},
            }
        ]
        * 3,
        plan=None,
    )
    out = render_pdf(b, tmp_path / "long.pdf")
    assert "Pages:           1" in _run("pdfinfo", out)
    text = _run("pdftotext", out, "-")
    assert "…" in text and "另有 12 项" in text


def test_brief_needs_the_cjk_font(monkeypatch, tmp_path):
    monkeypatch.setattr(brief_mod, "FONT_FAMILY", "No Such Font 123")
    b = Brief(
        as_of=AS_OF,
        generated_at=datetime(2026, 11, 25),
        reader="",
        marking="public",
        illustrative=None,
        tasks=[],
        escalations=[],
        escalations_more=0,
        matters=[],
        plan=None,
    )
    with pytest.raises(ParkplanError, match="fonts-noto-cjk"):
        render_pdf(b, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_brief_cli_errors(planned_ws, tmp_path):
    bad = _cli("brief", "--out", tmp_path / "b.pdf", "--as", "nobody", "--workspace", planned_ws)
    assert bad.exit_code == 2 and "unknown user" in bad.stderr
    bad = _cli(
        "brief", "--out", tmp_path / "b.pdf", "--as-of", "yesterday", "--workspace", planned_ws
    )
    assert bad.exit_code == 2
    assert not (tmp_path / "b.pdf").exists()
