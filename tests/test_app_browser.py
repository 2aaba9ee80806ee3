"""The app in Debian's Chromium: sign in, edit, refuse, solve, switch language, stay offline.

One server (``parkplan serve``) runs for the module on a free 127.0.0.1 port, on a copy of
the demo workspace with one public milestone whose title is hostile markup, and with a
small scenario folder (``quick``: horizon 2026–2028, one national QI centre) so a solve
takes about a second. The server runs at a fixed clock (``--as-of``, the demo's date
2026-11-25 like tests/test_ui.py), so ratings, review dates and reporting clocks do not
depend on the day the tests run. Every test records every request the page makes and
asserts that none leaves the app's own host; each page gets a screenshot in
artifacts/screenshots/ (overview zh and en, board, its Gantt against last week's baseline,
desk zh and en, the studio's form and its plan).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from parkplan.siting.scenario import load_scenario
from parkplan.store import Workspace
from parkplan.tracker.seed import DEMO_DATE
from parkplan.tracker.service import Tracker
from tests import browser
from tests.browser import chromium_page, screenshot, settle

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")]

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<img src=x onerror=alert(1)>评估<script>alert(2)</script>"
#: The server's clock: the demo's date at noon, whatever the wall clock says.
AS_OF = f"{DEMO_DATE.isoformat()}T12:00"

# Force an edit the UI does not offer: find the milestone table's view in BokehJS, write a
# value into a cell and fire the view's edit handler, as a tampered client would.
FORCE_EDIT = """([field, value]) => {
  const seen = new Set();
  function* walk(v) {
    if (!v || seen.has(v)) return; seen.add(v); yield v;
    for (const c of (v.child_views ?? [])) yield* walk(c);
  }
  for (const root of [...Bokeh.index]) for (const v of walk(root)) {
    if (v.model.type.endsWith('DataTabulator')
        && (v.model.css_classes ?? []).includes('pp-milestones')) {
      const row = v.tabulator.getRows()[0];
      const cell = row.getCell(field);
      cell._cell.value = value;
      v.cellEdited(cell);
      return row.getData().id;
    }
  }
  return null;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, demo_gpkg):
    """Start ``parkplan serve`` on a demo copy; yield its URL; stop it."""
    tmp = tmp_path_factory.mktemp("app")
    ws_path = tmp / "ws.gpkg"
    shutil.copy(demo_gpkg, ws_path)
    with Workspace.open(ws_path) as ws:
        office = Tracker(ws, "office", clock=lambda: datetime.fromisoformat(AS_OF))
        m = office.milestone("M3-4")
        office.update_milestone("M3-4", m.version, visibility="public", title_zh=HOSTILE)
        # last week's stocktake: the boards draw it and list what changed since
        office.save_baseline("w47", as_of=DEMO_DATE - timedelta(days=7))
    scenarios = tmp / "scenarios"
    scenarios.mkdir()
    base = load_scenario(ROOT / "models" / "scenarios" / "baseline.yaml")
    quick = base.with_changes(
        name="quick",
        budget=12000,
        horizon=(2026, 2028),
        **{"quotas.tier": {"national_qi_centre": 1}, "quotas.sector": {}},
    )
    (scenarios / "quick.yaml").write_text(quick.to_yaml(), encoding="utf-8")
    port = _free_port()
    env = {
        **os.environ,
        "PARKPLAN_SCENARIOS": str(scenarios),
        "PARKPLAN_COOKIE_SECRET": "test-cookie-secret-" + "x" * 32,
    }
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from parkplan.cli import app; app()",
            "serve",
            "--workspace",
            str(ws_path),
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--as-of",
            AS_OF,
            "--credentials",
            str(ROOT / "data" / "demo-credentials.json"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/liveness", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("server did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def assert_only_app(requests: list[str], url: str) -> None:
    """Every request went to the app's own host (data: and the app's blob: URLs too)."""
    host = urlsplit(url).netloc
    outside = []
    for r in requests:
        if r.startswith(("data:", "about:")):
            continue
        inner = r[len("blob:") :] if r.startswith("blob:") else r
        if urlsplit(inner).netloc != host:
            outside.append(r)
    assert requests and not outside, outside


def sign_in(page, url: str, user: str, *, lang: str = "zh") -> None:
    page.goto(f"{url}/?lang={lang}")
    page.fill("#username", user)
    page.fill("#password", f"{user}-demo")
    page.click("#login-submit")
    page.wait_for_selector(".pp-tile", timeout=30000)


def milestone_row(page, mid: str):
    return page.locator(".pp-milestones .tabulator-row").filter(
        has=page.locator('[tabulator-field="id"]', has_text=re.compile(f"^{mid}$"))
    )


def test_sign_in_is_required_and_wrong_passwords_fail(app_url):
    with chromium_page() as (page, requests, errors):
        page.goto(app_url + "/")
        assert "/login" in page.url
        page.fill("#username", "owner3")
        page.fill("#password", "wrong")
        page.click("#login-submit")
        page.wait_for_selector("#login-error")
        assert "用户名或密码错误" in page.inner_text("#login-error")
        screenshot(page, "app-login.png")
        assert_only_app(requests, app_url)
        assert not errors


def test_owner_updates_a_milestone_and_the_rating_changes(app_url):
    with chromium_page(1400, 1000) as (page, requests, errors):
        sign_in(page, app_url, "owner3")
        settle(page)
        screenshot(page, "app-overview-zh.png")
        # the server's clock, not the wall clock, and the page says so
        page.locator(".pp-fixed-clock", has_text="演示时钟").wait_for(timeout=5000)
        page.get_by_text(f"九项任务总览 · {DEMO_DATE.isoformat()}").wait_for(timeout=5000)
        tile = page.locator('.pp-tile[data-task="3"]')
        assert tile.locator('[data-rating="amber"]').count() == 1
        # why, in Chinese from the catalogue (the library's reasons are in English)
        assert "预计比截止日期" in tile.locator(".pp-reasons").inner_text()
        assert "projected" not in tile.locator(".pp-reasons").inner_text()
        assert page.locator(".pp-overview-plan", has_text="尚无已采纳的选址方案").count() == 1
        page.get_by_role("button", name="打开任务（三）看板").click()
        rating = page.locator("#pp-task-rating")
        rating.locator('[data-rating="amber"]').wait_for(timeout=15000)
        cell = milestone_row(page, "M3-2").locator('[tabulator-field="forecast"]')
        assert cell.inner_text() == "2027-01-15"
        # below the Gantt and the baseline's changes, the table starts below the fold:
        # scroll the table first, as a person would. Tabulator redraws its rows as they
        # scroll into view, so the cell is looked up afresh once the table has settled
        # (a double-click that scrolls lands its second click on a new cell).
        page.locator(".pp-milestones").scroll_into_view_if_needed()
        page.locator(".pp-milestones .tabulator-row").first.wait_for(state="visible")
        settle(page)
        cell.dblclick()
        editor = cell.locator("input")
        editor.fill("2026-12-20")
        editor.press("Enter")
        rating.locator('[data-rating="green"]').wait_for(timeout=15000)
        page.get_by_text("里程碑已保存。").wait_for(timeout=5000)
        screenshot(page, "app-board-owner3.png")
        # the edit is a change since the baseline: 2027-01-15 → 2026-12-20
        page.locator(".pp-baseline td", has_text="提前 26 天").wait_for(timeout=10000)
        assert page.locator(".pp-baseline-note", has_text="对比基线：w47").count() == 1
        assert page.locator(".pp-gantt .pp-baseline-mark").count() == 4
        page.locator(".pp-gantt").scroll_into_view_if_needed()
        screenshot(page, "app-board-baseline.png")
        assert_only_app(requests, app_url)
        assert not errors


def test_viewer_sees_no_edit_control_and_a_forced_edit_is_refused(app_url):
    with chromium_page(1400, 1000) as (page, requests, errors):
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, app_url, "viewer")
        nav = page.locator(".pp-nav")
        assert nav.get_by_text("方案工作室").count() == 0
        page.get_by_role("button", name="打开任务（三）看板").click()
        page.locator(".pp-milestones .tabulator-row").first.wait_for(timeout=15000)
        assert page.locator(".pp-milestones .tabulator-editable").count() == 0
        page.get_by_text("只读：您的角色不能修改本任务的里程碑。").wait_for()
        # the hostile title shows as text, in the board, the Gantt and the table
        assert page.get_by_text("<script>alert(2)</script>", exact=False).count() >= 2
        assert page.evaluate(FORCE_EDIT, ["forecast", 1893456000000]) == "M3-4"
        # the library's refusal, said in Chinese from its code
        page.get_by_text("查阅人员只能查看，不能修改", exact=False).wait_for(timeout=10000)
        assert page.get_by_text("viewers read and do not write").count() == 0
        cell = milestone_row(page, "M3-4").locator('[tabulator-field="forecast"]')
        assert cell.inner_text() == "2028-06-30"
        screenshot(page, "app-board-viewer-refused.png")
        nav.get_by_text("风险与督办").click()
        page.wait_for_selector(".pp-heatmap")
        assert page.get_by_role("button", name="确认收悉").count() == 0
        assert not dialogs and not errors
        assert_only_app(requests, app_url)


def test_planner_solves_a_scenario_and_sees_the_plan_on_the_map(app_url):
    with chromium_page(1400, 1000) as (page, requests, errors):
        sign_in(page, app_url, "planner")
        page.locator(".pp-nav").get_by_text("方案工作室").click()
        page.wait_for_selector(".pp-solve")
        page.get_by_label("基础方案").select_option("quick")
        page.get_by_role("button", name="载入").click()
        budget = page.get_by_label("预算（万元）")
        budget.fill("9000")
        budget.press("Enter")
        page.locator(".pp-explain input[type=checkbox]").uncheck()
        page.get_by_role("button", name="求解").click()
        page.locator(".pp-solve-status", has_text="求解完成").wait_for(timeout=60000)
        # the copy just solved is offered as a base, from the ledger
        bases = page.get_by_label("基础方案")
        bases.locator("option", has_text="quick-copy（方案台账 · ").wait_for(
            state="attached", timeout=10000
        )
        bases.scroll_into_view_if_needed()
        screenshot(page, "app-studio-form.png")
        # A frame locator finds the plan map's frame afresh on every try: the map is
        # re-rendered (a new frame) when the plan arrives, which a frame handle would not
        # survive ("frame was detached").
        frame = page.frame_locator("iframe[name=plan-map]")
        frame.locator(".leaflet-marker-icon.pp-badge").first.wait_for(timeout=15000)
        assert frame.locator(".leaflet-marker-icon.pp-badge").count() >= 1
        assert "方案安置" in frame.locator(".leaflet-control-layers").inner_text()
        page.locator("iframe[name=plan-map]").scroll_into_view_if_needed()
        screenshot(page, "app-studio-plan.png")
        assert_only_app(requests, app_url)
        assert not errors


def test_language_switch_and_the_escalation_desk(app_url):
    with chromium_page(1400, 1000) as (page, requests, errors):
        sign_in(page, app_url, "office")
        page.locator(".pp-nav").get_by_text("风险与督办").click()
        page.wait_for_selector(".pp-heatmap")
        settle(page)
        screenshot(page, "app-desk-zh.png")
        page.locator(".pp-lang").get_by_text("English").click()
        page.locator(".pp-nav").get_by_text("Risks and escalations").wait_for(timeout=10000)
        page.get_by_text("Risk heat map").wait_for()
        page.get_by_text("Shanghai TIC pilot programme workbench").wait_for()
        page.get_by_label("Comment").fill("收到，已安排专人跟进")
        page.get_by_role("button", name="Acknowledge").click()
        page.get_by_text("Acknowledged.").wait_for(timeout=10000)
        screenshot(page, "app-desk-en.png")
        page.locator(".pp-nav").get_by_text("Overview").click()
        page.get_by_text("The nine tasks").wait_for(timeout=10000)
        settle(page)
        screenshot(page, "app-overview-en.png")
        assert_only_app(requests, app_url)
        assert not errors


# ------------------------------------------------------------------ the harness itself
def test_a_required_browser_that_is_missing_fails_instead_of_skipping(monkeypatch, tmp_path):
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.fail.Exception, match="must run"), chromium_page():
        pass


def test_a_required_browser_that_does_not_start_fails(monkeypatch):
    pytest.importorskip("playwright.sync_api")
    if not Path("/bin/false").exists():
        pytest.skip("no /bin/false to stand for a broken browser")
    monkeypatch.setenv(browser.CHROMIUM_ENV, "/bin/false")  # exists, does not start
    with pytest.raises(pytest.fail.Exception, match="did not start"), chromium_page():
        pass


def test_an_optional_browser_that_is_missing_skips(monkeypatch, tmp_path):
    monkeypatch.delenv(browser.CHROMIUM_ENV, raising=False)
    monkeypatch.setattr(browser, "DEFAULT_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.skip.Exception, match="not found"), chromium_page():
        pass
