"""Reports on the demo workspace: the weekly stocktake (data, HTML, PDF with embedded CJK
fonts, a rendered page) and a major matter's 专报 in Word, with the reader's clearance
respected and hostile text escaped."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import docx
import pytest
from PIL import Image
from typer.testing import CliRunner

from parkplan.cli import app
from parkplan.errors import InputError
from parkplan.i18n import catalogue, t
from parkplan.identity.users import Visibility
from parkplan.reports import (
    IsoWeek,
    matter_report_data,
    parse_week,
    render_html,
    render_pdf,
    stocktake_data,
)
from parkplan.reports.common import matter_clock
from parkplan.services.reports import build_stocktake, write_major_matter_docx
from parkplan.store import Workspace
from parkplan.tracker import NotFound, Tracker
from parkplan.tracker.model import EscalationStatus, Level, MajorMatter
from parkplan.tracker.rating import Rating, Trend

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
AS_OF = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 14, 0)
WEEK = "2026-W48"
HOSTILE_RISK = "<script>alert(1)</script>"
HOSTILE_MILESTONE = '<img src=x onerror="alert(2)">里程碑'
HOSTILE_MATTER = "</style><script>alert(3)</script>事项"

runner = CliRunner()


def _tracker(ws: Workspace, user: str | None, now: datetime = NOW) -> Tracker:
    return Tracker(ws, user, clock=lambda: now)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def demo_copy(demo_gpkg, tmp_path) -> Path:
    path = tmp_path / "demo.gpkg"
    shutil.copy(demo_gpkg, path)
    return path


@pytest.fixture(scope="module")
def hostile(demo_gpkg, tmp_path_factory):
    """A demo copy with hostile titles, its stocktake data, HTML and PDF (built once)."""
    root = tmp_path_factory.mktemp("reports")
    path = root / "hostile.gpkg"
    shutil.copy(demo_gpkg, path)
    with Workspace.open(path) as ws:
        office = _tracker(ws, "office")
        office.add_risk(
            task=3,
            title_zh=HOSTILE_RISK,
            cause="c",
            effect="e",
            likelihood=2,
            impact=2,
            owner="认证监督管理处",
            opened_on="2026-11-20",
        )
        office.add_milestone(
            task=7,
            title_zh=HOSTILE_MILESTONE,
            owner="认证监督管理处",
            start="2026-11-01",
            due="2026-11-30",
        )
        office.add_matter(
            title=HOSTILE_MATTER, what_happened="x", occurred_at="2026-11-25", impact="y", task=7
        )
        data = build_stocktake(office, WEEK, as_of=AS_OF)
        tasks = office.tasks()
    html = render_html(data, "zh")
    pdf = render_pdf(html, root / "stocktake.pdf")
    return {"path": path, "data": data, "html": html, "pdf": pdf, "tasks": tasks}


# -------------------------------------------------------------------- weeks
def test_parse_week():
    week = parse_week("2026-W48")
    assert (week.monday, week.sunday, str(week)) == (
        date(2026, 11, 23),
        date(2026, 11, 29),
        "2026-W48",
    )
    assert parse_week("2026-W53").sunday == date(2027, 1, 3)  # 2026 has 53 ISO weeks
    assert IsoWeek.of(AS_OF) == week
    for bad in (
        "2026-48",
        "2026W48",
        "2026-W4",
        "W48",
        "2026-W00",
        "2027-W53",
        "2026-w48",
        "2026-W48; rm -rf /",
        "",
    ):
        with pytest.raises(InputError, match="ISO week"):
            parse_week(bad)


def test_stocktake_refuses_a_week_not_begun_or_an_as_of_outside_it(demo_gpkg):
    with Workspace.open(demo_gpkg) as ws:
        office = _tracker(ws, "office")
        with pytest.raises(InputError, match="2026-W50 has not begun"):
            build_stocktake(office, "2026-W50")
        with pytest.raises(InputError, match="not in week 2026-W48"):
            build_stocktake(office, WEEK, as_of=date(2026, 11, 30))


# --------------------------------------------------------- stocktake data
def test_stocktake_data_on_the_demo(demo_gpkg):
    with Workspace.open(demo_gpkg) as ws:
        office = _tracker(ws, "office")
        data = build_stocktake(office, WEEK)  # as of today (the clock), within the week
        statuses = office.task_statuses(AS_OF)
        escalations = office.escalations(open_only=True)
        risks = office.risks(open_only=True)
        matter = office.matter(1)
    assert data["as_of"] == "2026-11-25" and data["week_start"] == "2026-11-23"
    assert [t["code"] for t in data["tasks"]] == [f"（{c}）" for c in "一二三四五六七八九"]
    assert [(t["title_zh"], t["rating"]) for t in data["tasks"]] == [
        (s.task.title_zh, s.rating.value) for s in statuses
    ]
    by_no = {t["number"]: t for t in data["tasks"]}
    assert by_no[4]["rating"] == Rating.amber_red and by_no[1]["rating"] == Rating.green
    assert all(t["trend"] == Trend.new for t in data["tasks"]) and data["baseline"] is None
    # M6-1 (due 2026-10-31, in progress) is overdue; nothing finished this week
    assert [(m["id"], m["days_overdue"]) for m in data["overdue"]] == [("M6-1", 25)]
    assert by_no[6]["overdue"] == 1 and data["done"] == []
    assert data["critical_path"][0]["id"] == "M4-1"
    assert all(m["slack"] == 0 for m in data["critical_path"])
    assert [r["id"] for r in data["risks"]][:2] == ["R9-1", "R4-1"]  # highest score first
    assert {r["id"] for r in data["risks"]} == {r.id for r in risks}
    assert [g["level"] for g in data["escalations"]] == ["national", "convenor", "office", "owner"]
    for group in data["escalations"]:
        assert {e["id"] for e in group["items"]} == {
            e.id for e in escalations if e.level == group["level"]
        }
    assert all(
        e["status"] != EscalationStatus.closed for g in data["escalations"] for e in g["items"]
    )
    [mm] = data["matters"]
    assert mm["id"] == 1 and mm["clock"]["state"] == "overdue"
    assert mm["clock"]["hours"] == pytest.approx(
        (NOW - matter.report_deadline).total_seconds() / 3600, abs=0.05
    )
    assert data["marking"] == "internal" and data["reader"]["name"] == "office"
    assert "示意" in data["note"]


def test_stocktake_for_a_viewer_holds_only_public_records(demo_gpkg):
    with Workspace.open(demo_gpkg) as ws:
        data = build_stocktake(_tracker(ws, "viewer"), WEEK, as_of=AS_OF)
    assert len(data["tasks"]) == 9
    assert data["risks"] == [] and data["matters"] == []
    assert all(g["items"] == [] for g in data["escalations"])
    assert data["marking"] == "public"
    html = render_html(data)
    assert "指定认证机构单批次认证样品检测数据存疑" not in html


def test_trend_is_taken_against_the_previous_stocktake(demo_copy):
    with Workspace.open(demo_copy) as ws:
        office = _tracker(ws, "office")
        office.save_baseline("stocktake-2026-W47", date(2026, 11, 18))
        risk = office.risk("R1-1")
        office.update_risk("R1-1", risk.version, likelihood=5, impact=4)  # 20: red
        office.save_baseline("stocktake-2026-W48", AS_OF)  # this week's: not the reference
        data = build_stocktake(office, WEEK, as_of=AS_OF)
    by_no = {t["number"]: t for t in data["tasks"]}
    assert data["baseline"] == "stocktake-2026-W47"
    assert by_no[1]["rating"] == Rating.red and by_no[1]["trend"] == Trend.worsening
    assert by_no[2]["trend"] == Trend.steady
    assert "↓" in render_html(data)


def test_matter_clock_states():
    opened = datetime(2026, 11, 23, 10, 0)
    mm = MajorMatter(
        id=1,
        title="t",
        what_happened="w",
        occurred_at=opened,
        impact="i",
        opened_at=opened,
        opened_by="office",
        report_deadline=opened + timedelta(hours=24),
    )
    deadline = mm.report_deadline
    assert matter_clock(mm, deadline - timedelta(hours=2)) == {"state": "open", "hours": 2.0}
    assert matter_clock(mm, deadline)["state"] == "open"
    assert matter_clock(mm, deadline + timedelta(minutes=30)) == {"state": "overdue", "hours": 0.5}
    on_time = mm.model_copy(update={"reported_at": deadline, "reported_to": "召集人"})
    assert matter_clock(on_time, deadline + timedelta(days=3))["state"] == "on_time"
    late = mm.model_copy(update={"reported_at": deadline + timedelta(hours=3)})
    assert matter_clock(late, deadline) == {"state": "late", "hours": 3.0}


# -------------------------------------------------------------------- HTML
def test_html_has_the_nine_tasks_and_is_self_contained(hostile):
    html, data = hostile["html"], hostile["data"]
    for task in hostile["tasks"]:
        row = re.search(rf'<tr class="task" id="task-{task.number}">(.*?)</tr>', html, re.S)
        assert row, task.code
        rated = next(t for t in data["tasks"] if t["number"] == task.number)["rating"]
        assert task.code in row[1] and task.title_zh in row[1]
        assert f'class="rating r-{rated}"' in row[1]
        assert t(f"rating.{rated}", "zh") in row[1]
    assert '<html lang="zh-CN">' in html
    assert "Noto Sans CJK SC" in html and "size: A4" in html
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.I)
    assert not re.search(r"<[^>]*\b(src|href)\s*=", html, re.I)  # no references in tags
    assert not re.search(r"url\(|@import|https?://", html, re.I)  # nor in the CSS


def test_hostile_titles_are_escaped(hostile):
    html = hostile["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;里程碑" in html
    assert "&lt;/style&gt;&lt;script&gt;alert(3)&lt;/script&gt;事项" in html
    assert html.count("</style>") == 1
    assert "<script" not in html.lower() and "<img" not in html.lower()


def test_english_labels(hostile):
    html = render_html(hostile["data"], "en")
    assert '<html lang="en">' in html and "Task-force weekly stocktake" in html
    assert "Open risks" in html and "工作专班周例会盘点" not in html
    for task in hostile["tasks"]:  # Chinese titles stay, beside the English ones
        assert task.title_en in html.replace("&#39;", "'")
    with pytest.raises(InputError, match="zh or en"):
        render_html(hostile["data"], "fr")


def test_every_label_the_templates_may_ask_for_exists():
    keys = catalogue()
    dynamic = {
        "report.level.": [lv.value for lv in Level],
        "report.escalation.": [s.value for s in EscalationStatus],
        "report.trend.": [tr.value for tr in Trend],
        "report.visibility.": [v.value for v in Visibility],
        "rating.": [r.value for r in Rating],
        "report.clock.": ["open", "overdue", "on_time", "late"],
    }
    for prefix, values in dynamic.items():
        for value in values:
            assert prefix + value in keys
    sources = [
        REPO_ROOT / "parkplan" / "reports" / "templates" / "stocktake.html.j2",
        *(REPO_ROOT / "parkplan" / "reports").glob("*.py"),
    ]
    for src in sources:
        for key in re.findall(r"""["'](report\.[a-z0-9_.]+[a-z0-9_])["']""", src.read_text()):
            assert key in keys, f"{src.name}: {key}"


# --------------------------------------------------------------------- PDF
def _needs(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        pytest.skip(f"{tool} (Debian poppler-utils) is not installed; .ci/run installs it")
    return found


def test_pdf_embeds_cjk_fonts_and_maps_glyphs(hostile):
    pdf = hostile["pdf"]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(
        [_needs("pdftotext"), "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = _squash(text)
    assert "认证" in flat and "工作专班周例会盘点" in flat
    for task in hostile["tasks"]:  # every task's Chinese title, as text
        assert _squash(task.title_zh) in flat, task.code
    assert HOSTILE_RISK in text  # shown as text, not run
    assert "\ufffd" not in text

    fonts = subprocess.run(
        [_needs("pdffonts"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    cjk = [line.split() for line in fonts if "CJK" in line]
    assert cjk, fonts
    for cols in cjk:  # name, type…, encoding, emb, sub, uni, object, generation
        assert cols[-5:-2] == ["yes", "yes", "yes"], cols
    assert all(line.split()[-5] == "yes" for line in fonts), "every font is embedded"


def test_pdf_rendering_fetches_nothing(tmp_path):
    import weasyprint

    picture = tmp_path / "red.png"
    Image.new("RGB", (20, 20), "red").save(picture)
    html = f'<p>x<img src="{picture.as_uri()}"></p>'
    weasyprint.HTML(string=html).write_pdf(tmp_path / "control.pdf")
    assert b"/Image" in (tmp_path / "control.pdf").read_bytes()  # WeasyPrint alone fetches
    pdf = render_pdf(html, tmp_path / "report.pdf")
    assert b"/Image" not in pdf.read_bytes()  # the report's renderer refused


def test_pdf_first_page_renders_legibly(hostile):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "stocktake-p1"
    subprocess.run(
        [
            _needs("pdftoppm"),
            "-r",
            "60",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(hostile["pdf"]),
            str(target),
        ],
        check=True,
    )
    png = target.with_suffix(".png")
    with Image.open(png) as im:
        assert im.size == pytest.approx((496, 702), abs=2)  # A4 at 60 dpi
        grey = im.convert("L")
        dark = sum(grey.histogram()[:128]) / (im.size[0] * im.size[1])
    assert 0.01 < dark < 0.5  # text on a white page: neither blank nor a black box


# ------------------------------------------------------------- 专报 (Word)
def _docx_text(path: Path) -> str:
    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)


def test_major_matter_docx(demo_gpkg, tmp_path):
    out = tmp_path / "专报.docx"
    with Workspace.open(demo_gpkg) as ws:
        office = _tracker(ws, "office")
        matter = office.matter(1)
        write_major_matter_docx(office, 1, out)
    text = _docx_text(out)
    assert f"关于{matter.title}的专报" in text
    for part in (
        matter.what_happened,
        matter.impact,
        matter.measures,
        matter.coordination_requested,
        "报送单位：工作专班办公室",
        "2026年11月25日",
        "一、基本情况",
        "二、影响",
        "三、已采取措施",
        "四、需协调事项",
        "五、报告时限",
        "发生时间：2026年11月22日16时30分",
        "所属任务：（三）在上海浦东新区",
        "应于2026年11月24日10时00分前报告",
        "已超过报告时限28.0小时",
    ):
        assert part in text, part
    assert text.splitlines()[0] == "内部"
    assert docx.Document(str(out)).core_properties.title == f"关于{matter.title}的专报"

    with zipfile.ZipFile(out) as z:
        body, styles = z.read("word/document.xml").decode(), z.read("word/styles.xml").decode()
    runs = re.findall(r"<w:r>(.*?)</w:r>", body, re.S)
    assert runs and all(re.search(r'w:eastAsia="(SimSun|SimHei)"', r) for r in runs)
    defaults = re.search(r"<w:docDefaults>.*?</w:docDefaults>", styles, re.S)[0]
    assert 'w:eastAsia="SimSun"' in defaults and "eastAsiaTheme" not in defaults
    assert 'w:eastAsia="zh-CN"' in defaults


def test_major_matter_is_refused_to_a_reader_who_may_not_see_it(demo_gpkg, tmp_path):
    out = tmp_path / "x.docx"
    with Workspace.open(demo_gpkg) as ws:
        for user in ("viewer", "planner", None):  # clearance public, shareable, anonymous
            with pytest.raises(NotFound, match=r"no major matter #1 visible to you"):
                write_major_matter_docx(_tracker(ws, user), 1, out)
        with pytest.raises(NotFound, match=r"no major matter #999 visible to you"):
            write_major_matter_docx(_tracker(ws, "office"), 999, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_public_matter_reported_on_time_for_a_viewer(demo_copy, tmp_path):
    with Workspace.open(demo_copy) as ws:
        office = _tracker(ws, "office", datetime(2026, 11, 25, 9, 0))
        mm = office.add_matter(
            title="关于公开事项的专报",
            what_happened="第一段\n\n第二段\x07",
            occurred_at="2026-11-25T08:00",
            impact="影响",
            task=9,
            visibility="public",
        )
        later = _tracker(ws, "office", datetime(2026, 11, 25, 18, 0))
        later.report_matter(mm.id, mm.version, to="市场监管总局")
        out = write_major_matter_docx(_tracker(ws, "viewer"), mm.id, tmp_path / "p.docx")
    text = _docx_text(out)
    assert "关于公开事项的专报" in text and "关于关于" not in text and "的专报的专报" not in text
    assert "第一段\n第二段\n" in text  # one paragraph per line; the BEL character dropped
    assert "已于2026年11月25日18时00分报送市场监管总局，在报告时限内。" in text
    assert "暂无。" in text  # no measures recorded
    assert not text.startswith("内部")


def test_matter_report_data_goes_to_the_national_authority_for_devolved_tasks():
    opened = datetime(2026, 11, 23, 10, 0)
    mm = MajorMatter(
        id=7,
        task=4,
        title="事项",
        what_happened="w",
        occurred_at=opened,
        impact="i",
        opened_at=opened,
        opened_by="office",
        report_deadline=opened + timedelta(hours=24),
    )
    data = matter_report_data(mm, None, now=opened + timedelta(hours=1), unit="专班办公室")
    assert data["to"] == "工作专班召集人、市场监管总局"
    assert data["sections"][4]["paragraphs"][1] == (
        "截至2026年11月23日11时00分尚未报告，距报告时限还有23.0小时。"
    )


# --------------------------------------------------------------- both stores
def test_reports_on_both_stores(demo_location, tmp_path):
    with Workspace.open(demo_location) as ws:
        office = _tracker(ws, "office")
        data = build_stocktake(office, WEEK, as_of=AS_OF)
        pure = stocktake_data(office.programme(AS_OF), WEEK, now=NOW)
        write_major_matter_docx(office, 1, tmp_path / "m.docx")
    assert len(data["tasks"]) == 9 and data["matters"][0]["clock"]["state"] == "overdue"
    assert [t["rating"] for t in pure["tasks"]] == [t["rating"] for t in data["tasks"]]
    assert "基本情况" in _docx_text(tmp_path / "m.docx")


# --------------------------------------------------------------------- CLI
def test_cli_stocktake_writes_html_and_pdf(demo_gpkg, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "report",
            "stocktake",
            "--week",
            WEEK,
            "--as-of",
            "2026-11-25",
            "--out-dir",
            str(out),
            "--as",
            "office",
            "--workspace",
            str(demo_gpkg),
        ],
    )
    assert result.exit_code == 0, result.output
    html, pdf = out / "stocktake-2026-W48.html", out / "stocktake-2026-W48.pdf"
    assert html.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    assert "（九）" in html.read_text(encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == [html.name, pdf.name]  # no temp files


def test_cli_save_baseline_refused_before_any_file_is_written(demo_copy, tmp_path):
    def run(out: Path, who: str):
        return runner.invoke(
            app,
            [
                "report",
                "stocktake",
                "--week",
                WEEK,
                "--as-of",
                "2026-11-25",
                "--out-dir",
                str(out),
                "--no-pdf",
                "--save-baseline",
                "--as",
                who,
                "--workspace",
                str(demo_copy),
            ],
        )

    first = run(tmp_path / "first", "office")
    assert first.exit_code == 0, first.output
    assert "saved baseline stocktake-2026-W48 as of 2026-11-25" in first.stdout
    again = run(tmp_path / "again", "office")
    assert again.exit_code == 2
    assert "a baseline 'stocktake-2026-W48' already exists" in again.stderr
    viewer = run(tmp_path / "viewer", "viewer")
    assert viewer.exit_code == 2 and "may not save" in viewer.stderr
    for refused in ("again", "viewer"):
        out = tmp_path / refused
        assert not out.exists() or list(out.iterdir()) == []
    with Workspace.open(demo_copy) as ws:
        assert [b.name for b in Tracker(ws, "office").baselines()] == ["stocktake-2026-W48"]


@pytest.mark.parametrize("week", ["2026-48", "2026-W99", "48"])
def test_cli_refuses_a_bad_week(demo_gpkg, tmp_path, week):
    result = runner.invoke(
        app,
        [
            "report",
            "stocktake",
            "--week",
            week,
            "--out-dir",
            str(tmp_path),
            "--as",
            "office",
            "--workspace",
            str(demo_gpkg),
        ],
    )
    assert result.exit_code == 2
    assert "parkplan: error: --week" in result.stderr and "ISO week" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_major_matter(demo_gpkg, tmp_path):
    out = tmp_path / "m.docx"
    args = ["report", "major-matter", "1", "--docx", str(out), "--workspace", str(demo_gpkg)]
    denied = runner.invoke(app, [*args, "--as", "viewer"])
    assert denied.exit_code == 2 and "no major matter #1 visible to you" in denied.stderr
    unknown = runner.invoke(
        app,
        [
            "report",
            "major-matter",
            "42",
            "--docx",
            str(out),
            "--as",
            "office",
            "--workspace",
            str(demo_gpkg),
        ],
    )
    assert unknown.exit_code == 2 and "no major matter #42" in unknown.stderr
    assert not out.exists()
    ok = runner.invoke(app, [*args], env={"PARKPLAN_USER": "convenor"})
    assert ok.exit_code == 0, ok.output
    assert "关于指定认证机构单批次认证样品检测数据存疑（示意）的专报" in _docx_text(out)
