"""Benchmark parkplan's park map against ``GeoDataFrame.explore()`` on 10,000 sites.

Random sites are placed inside Shanghai's real district boundaries
(:func:`parkplan.data.districts_path`) with every attribute of the ``sites`` layer. The
same two layers (districts and sites) are drawn by :func:`parkplan.maps.park_map` and by
geopandas' :meth:`~geopandas.GeoDataFrame.explore` (its defaults: OpenStreetMap tiles,
tooltips with every column), and in the same run:

* **bytes** of each HTML file;
* **time to first paint** in headless Chromium (Debian's ``/usr/bin/chromium``, never a
  downloaded one): the Performance API's ``first-paint`` and ``first-contentful-paint``,
  and **features drawn**, the first animation frame after every district and site is on
  the Leaflet map (a ``requestAnimationFrame`` loop counts the map's vector layers; the
  frame after the count is reached starts once that frame has been painted);
* **pan**: median time from ``panBy`` (no animation) to the next frame, i.e. how long a
  redraw of all features takes while a user drags the map.

Both files are served from a local ``http.server`` on 127.0.0.1; every request to another
host is aborted (and counted). parkplan's map makes none. explore's page links Leaflet,
jQuery, Bootstrap, Font Awesome and the awesome-markers plugin from CDNs, and OSM tiles:
**offline, explore cannot render at all** (no Leaflet, so no map) — that is its figure
"explore (offline)". For a like-for-like timing, "explore (local Leaflet)" answers
explore's two Leaflet URLs with the same vendored Leaflet 1.9.3 parkplan inlines (as if
its CDN were instant) and aborts the rest, which the map does not need to draw.

Run ``python -m benchmarks.maps [--sites 10000] [--runs 3] [--out
benchmarks/results/maps.json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
from parkplan.data import districts_path

from parkplan.maps import park_map, save_offline
from parkplan.maps.assets import static
from parkplan.services.demo import random_sites

CHROMIUM = os.environ.get("PARKPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
TARGET_BYTES_RATIO = 1 / 3
TARGET_FIRST_PAINT_S = 3.0
TIMEOUT_MS = 20_000

# Counts the map's vector layers every frame; records when n are on the map and the
# start of the next frame (after the frame that drew them was painted).
_PROBE_JS = """
window.__ppBench = {reached: null, drawn: null};
(function () {
  var need = %d;
  function count() {
    if (!window.L) return 0;
    var key = Object.keys(window).find(function (k) { return k.indexOf('map_') === 0; });
    var m = key && window[key];
    if (!m || !m._layers) return 0;
    var n = 0;
    for (var id in m._layers) { if (m._layers[id] instanceof L.Path) n++; }
    return n;
  }
  function tick(ts) {
    var b = window.__ppBench;
    if (b.reached !== null) { b.drawn = performance.now(); return; }
    if (count() >= need) { b.reached = performance.now(); }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
})();
"""

_PAN_JS = """
async () => {
  var key = Object.keys(window).find(function (k) { return k.indexOf('map_') === 0; });
  var m = window[key], out = [];
  for (var i = 0; i < 7; i++) {
    await new Promise(r => requestAnimationFrame(r));
    var t0 = performance.now();
    m.panBy([i % 2 ? -240 : 240, 0], {animate: false});
    await new Promise(r => requestAnimationFrame(r));
    await new Promise(r => requestAnimationFrame(r));
    out.push(performance.now() - t0);
  }
  return out;
}
"""


def write_maps(n_sites: int, seed: int, folder: Path) -> dict[str, Any]:
    """Write ``parkplan.html`` and ``explore.html`` for the same data; return sizes, counts."""
    districts = gpd.read_file(districts_path())
    sites = random_sites(n_sites, districts, seed)
    t0 = time.perf_counter()
    save_offline(
        park_map({"districts": districts, "sites": sites}, title="检测认证载体 TIC sites"),
        folder / "parkplan.html",
    )
    t1 = time.perf_counter()
    m = districts.explore(name="districts")
    sites.explore(m=m, name="sites")
    m.save(folder / "explore.html")
    t2 = time.perf_counter()
    return {
        "sites": n_sites,
        "districts": len(districts),
        "build_s": {"parkplan": t1 - t0, "explore": t2 - t1},
        "bytes": {
            name: (folder / f"{name}.html").stat().st_size for name in ("parkplan", "explore")
        },
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _leaflet_asset(url: str) -> tuple[bytes, str] | None:
    """The vendored Leaflet file a CDN URL asks for (same version as folium links)."""
    path = urlparse(url).path
    if "/leaflet@" not in path:
        return None
    if path.endswith("/dist/leaflet.js"):
        return static("leaflet", "leaflet.js").read_bytes(), "application/javascript"
    if path.endswith("/dist/leaflet.css"):
        return static("leaflet", "leaflet.css").read_bytes(), "text/css"
    return None


def measure(browser: Any, url: str, need: int, local_leaflet: bool = False) -> dict[str, Any]:
    """Load ``url`` in a fresh context; return paint timings, features drawn, requests."""
    context = browser.new_context(viewport=VIEWPORT)
    aborted: list[str] = []
    served: list[str] = []

    def route(r: Any) -> None:
        host = urlparse(r.request.url).hostname
        if host == "127.0.0.1" or r.request.url.startswith("data:"):
            r.continue_()
            return
        asset = _leaflet_asset(r.request.url) if local_leaflet else None
        if asset is not None:
            served.append(r.request.url)
            r.fulfill(status=200, body=asset[0], content_type=asset[1])
            return
        aborted.append(r.request.url)
        r.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc).splitlines()[0]))
    page.add_init_script(_PROBE_JS % need)
    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    try:
        # Drawn, or cannot draw: the page has loaded and Leaflet is not there.
        page.wait_for_function(
            "window.__ppBench.drawn !== null || !window.L", timeout=TIMEOUT_MS / 2
        )
    except Exception:  # never drawn: reported as None
        pass
    page.wait_for_timeout(300)  # let a late first paint be recorded
    timings = page.evaluate(
        """() => {
            const p = {};
            for (const e of performance.getEntriesByType('paint')) p[e.name] = e.startTime;
            const nav = performance.getEntriesByType('navigation')[0];
            return {fp: p['first-paint'] ?? null, fcp: p['first-contentful-paint'] ?? null,
                    load: nav ? nav.loadEventEnd : null,
                    drawn: window.__ppBench.drawn, leaflet: typeof window.L === 'object'};
        }"""
    )
    pan = page.evaluate(_PAN_JS) if timings["drawn"] is not None else None
    context.close()
    return {
        **timings,
        "pan_ms": statistics.median(pan) if pan else None,
        "aborted": len(aborted),
        "aborted_hosts": sorted({urlparse(u).hostname for u in aborted}),
        "served_locally": len(served),
        "errors": errors[:3],
    }


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if len(values) == len(runs) else None


def run(n_sites: int = 10_000, runs: int = 3, seed: int = 0) -> dict[str, Any]:
    """Write both maps, time them in Chromium, and return every figure."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"system Chromium not found at {CHROMIUM} (set PARKPLAN_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="parkplan-bench-") as tmp:
        folder = Path(tmp)
        result = write_maps(n_sites, seed, folder)
        need = result["sites"] + result["districts"]
        variants = {
            "parkplan": ("parkplan.html", False),
            "explore (offline)": ("explore.html", False),
            "explore (local Leaflet)": ("explore.html", True),
        }
        timings: dict[str, list[dict]] = {name: [] for name in variants}
        with serve(folder) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                # Warm-up (discarded): the first page of a fresh browser pays for starting
                # its renderer process, which would land on whichever variant goes first.
                for file, local in variants.values():
                    measure(browser, f"{base}/{file}", need, local)
                for _ in range(runs):  # interleaved, so drift hits every variant alike
                    for name, (file, local) in variants.items():
                        timings[name].append(measure(browser, f"{base}/{file}", need, local))
            finally:
                browser.close()
    result["chromium"] = CHROMIUM
    result["runs"] = runs
    result["timings"] = {
        name: {
            "first_paint_ms": _median(rs, "fp"),
            "first_contentful_paint_ms": _median(rs, "fcp"),
            "features_drawn_ms": _median(rs, "drawn"),
            "pan_redraw_ms": _median(rs, "pan_ms"),
            "leaflet_loaded": all(r["leaflet"] for r in rs),
            "aborted_requests": rs[0]["aborted"],
            "aborted_hosts": rs[0]["aborted_hosts"],
            "served_locally": rs[0]["served_locally"],
            "page_errors": rs[0]["errors"],
            "all_runs": [{k: r[k] for k in ("fp", "fcp", "drawn", "pan_ms")} for r in rs],
        }
        for name, rs in timings.items()
    }
    result["python"] = sys.version.split()[0]
    result["machine"] = platform.platform()
    return result


def _fmt_ms(x: float | None) -> str:
    return "not rendered" if x is None else f"{x:,.0f} ms"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def report(result: dict[str, Any]) -> str:
    """Return the figures as text, with the targets and what explore's figures mean."""
    b = result["bytes"]
    tm = result["timings"]
    ours, off, local = tm["parkplan"], tm["explore (offline)"], tm["explore (local Leaflet)"]
    lines = [
        f"Park map benchmark: {result['sites']:,} random sites + {result['districts']} real "
        f"districts, headless Chromium ({result['chromium']}), median of {result['runs']} runs",
        "",
        f"HTML bytes   parkplan {b['parkplan']:>12,}",
        f"             explore  {b['explore']:>12,}",
        f"             ratio    {b['parkplan'] / b['explore']:.3f} "
        f"(target ≤ {TARGET_BYTES_RATIO:.3f}: "
        f"{'met' if b['parkplan'] <= TARGET_BYTES_RATIO * b['explore'] else 'MISSED'})",
        "",
        f"{'':26}{'first paint':>14}{'first content':>15}{'features drawn':>16}"
        f"{'pan redraw':>14}{'aborted':>9}",
    ]
    for name, t in tm.items():
        lines.append(
            f"{name:26}{_fmt_ms(t['first_paint_ms']):>14}"
            f"{_fmt_ms(t['first_contentful_paint_ms']):>15}"
            f"{_fmt_ms(t['features_drawn_ms']):>16}{_fmt_ms(t['pan_redraw_ms']):>14}"
            f"{t['aborted_requests']:>9}"
        )
    fcp = ours["first_contentful_paint_ms"]
    lines += [
        "",
        f"parkplan first contentful paint {_fmt_ms(fcp)} (target < {TARGET_FIRST_PAINT_S:.0f} s: "
        f"{'met' if fcp is not None and fcp < TARGET_FIRST_PAINT_S * 1000 else 'MISSED'}); "
        f"non-local requests: {ours['aborted_requests']}",
        "ratios parkplan / explore (local Leaflet): first contentful paint "
        f"{_ratio(fcp, local['first_contentful_paint_ms'])}, features drawn "
        f"{_ratio(ours['features_drawn_ms'], local['features_drawn_ms'])}, pan redraw "
        f"{_ratio(ours['pan_redraw_ms'], local['pan_redraw_ms'])}",
        "",
        "explore (offline): every request to another host aborted "
        f"({', '.join(off['aborted_hosts']) or 'none'}). Leaflet loaded: "
        f"{off['leaflet_loaded']}. explore's HTML loads Leaflet and its other assets from CDNs, "
        "so without network it cannot draw the map at all"
        + (f" (page error: {off['page_errors'][0]})" if off["page_errors"] else "")
        + ".",
        "explore (local Leaflet): its two Leaflet URLs answered with the vendored Leaflet "
        f"1.9.3 ({local['served_locally']} requests), the rest aborted "
        f"({local['aborted_requests']}: jQuery, Bootstrap, Font Awesome, tiles); a best case "
        "for explore, as if its CDNs answered instantly.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/maps.json"))
    args = parser.parse_args(argv)
    result = run(args.sites, args.runs, args.seed)
    print(report(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
