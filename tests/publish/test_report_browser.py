"""The report in a real browser: headless Chromium loads it without errors, draws the charts, and a
screenshot is kept for a person to look at (copied to ``$CITYIMAGE_SCREENSHOT_DIR`` when set)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from publish.report import index_headline, render_index, write_report
from tests.publish.test_report import CITY, history_frames, render

CHROMIUM = Path(os.environ.get("CITYIMAGE_CHROMIUM", "/usr/bin/chromium"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: apt-get install -y chromium to run browser tests"),
]

# Console errors, uncaught exceptions, CSP refusals and failed loads as Chromium logs them on stderr.
CONSOLE_ERRORS = re.compile(r"Uncaught|ERROR:CONSOLE|Refused to (?:load|apply|execute|connect)|net::ERR_|Content.Security.Policy", re.I)

# Injected into a copy of the page (without its CSP, which forbids scripts) to see what was laid out.
ONERROR = "<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message))});</script>"
PROBE = """<script>
(function () {
  var out = {errors: window.__errors, svgs: [], width: document.documentElement.scrollWidth,
             viewport: window.innerWidth, resources: performance.getEntriesByType('resource').map(function (r) { return r.name; })};
  document.querySelectorAll('figure.chart svg').forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    out.svgs.push({width: box.width, height: box.height, label: svg.getAttribute('aria-label'),
                   marks: svg.querySelectorAll('[role=graphics-symbol], .mark-line path, .mark-rect path, .mark-symbol path').length,
                   ns: svg.namespaceURI});
  });
  if (window.parent !== window) { window.parent.postMessage(JSON.stringify(out), '*'); return; }
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""

# Chromium will not make a window narrower than 500 px, so a phone is a 390 px wide frame in a page.
PHONE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;background:#e4e7eb}
iframe{display:block;border:0;background:#fff;width:390px;height:%(height)dpx}</style></head>
<body><iframe src="%(src)s" title="phone"></iframe><script>
window.addEventListener('message', function (e) {
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = e.data; document.body.appendChild(pre);
});
</script></body></html>"""


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
        "--enable-logging=stderr", "--v=0", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _phone(page: Path, height: int) -> Path:
    """A page showing ``page`` in a 390 px wide frame, beside it."""
    harness = page.with_name(f"phone-{page.name}")
    harness.write_text(PHONE % {"src": page.name, "height": height}, encoding="utf-8")
    return harness


def _probe(page: Path, tmp_path: Path, width: int) -> dict:
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html, count=1)
    html = html.replace("<head>", "<head>" + ONERROR, 1).replace("</body>", PROBE + "</body>", 1)
    probe_page = tmp_path / f"probe-{width}.html"
    probe_page.write_text(html, encoding="utf-8")
    target = _phone(probe_page, 2000) if width < 500 else probe_page
    result = _chromium("--dump-dom", "--virtual-time-budget=5000", f"--window-size={max(width, 500)},2000",
                       target.as_uri(), profile=tmp_path / f"profile-probe-{width}")
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    if width < 500:
        assert probe_page.exists()
    assert match, f"the probe did not run: {result.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"'))


def _screenshot(page: Path, shot: Path, tmp_path: Path, size: str) -> subprocess.CompletedProcess:
    result = _chromium(f"--screenshot={shot}", f"--window-size={size}", "--virtual-time-budget=5000",
                       page.as_uri(), profile=tmp_path / f"profile-{shot.stem}")
    assert shot.is_file() and shot.stat().st_size > 20_000, f"no screenshot: {result.stderr[-2000:]}"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("CITYIMAGE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(keep) / shot.name)
    return result


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("reports")
    kpis, history = history_frames()
    page = write_report(folder / "2026-W47.html", render(kpis, history))
    weeks = [{"week_id": w, "path": f"{w}.html", "headline": index_headline(history.filter(pl.col("week_id") == w))}
             for w in sorted(set(history["week_id"].to_list()))]
    index = write_report(folder / "index.html", render_index(weeks, CITY))
    return page, index


def test_report_loads_without_errors_and_draws_its_charts(pages: tuple[Path, Path], tmp_path: Path) -> None:
    page, _ = pages
    result = _screenshot(page, tmp_path / "report-1280.png", tmp_path, "1280,4000")
    errors = [line for line in result.stderr.splitlines() if CONSOLE_ERRORS.search(line)]
    assert errors == [], "\n".join(errors)

    probe = _probe(page, tmp_path, 1280)
    assert probe["errors"] == []
    assert probe["resources"] == [], "the page loaded something"
    assert len(probe["svgs"]) == 8
    for svg in probe["svgs"]:
        assert svg["ns"] == "http://www.w3.org/2000/svg", svg["label"]
        assert svg["width"] > 150 and svg["height"] > 50, svg
        assert svg["marks"] > 0, svg
    assert probe["width"] <= probe["viewport"], "the page scrolls sideways"


def test_report_fits_a_phone_width(pages: tuple[Path, Path], tmp_path: Path) -> None:
    page, _ = pages
    _screenshot(_phone(page, 6000), tmp_path / "report-390.png", tmp_path, "390,6000")
    probe = _probe(page, tmp_path, 390)
    assert probe["errors"] == []
    assert probe["viewport"] == 390
    assert probe["width"] <= 390, "the page is wider than a phone; wide tables should scroll inside their box"
    for svg in probe["svgs"]:
        assert 0 < svg["width"] <= 390 - 2 * 12, svg


def test_index_loads_without_errors(pages: tuple[Path, Path], tmp_path: Path) -> None:
    _, index = pages
    result = _screenshot(index, tmp_path / "index-1280.png", tmp_path, "1280,900")
    errors = [line for line in result.stderr.splitlines() if CONSOLE_ERRORS.search(line)]
    assert errors == [], "\n".join(errors)


def _printed_pages(page: Path, pdf: Path, tmp_path: Path) -> int:
    """How many pages Chromium prints ``page`` on, through the report's print stylesheet."""
    result = _chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", "--virtual-time-budget=5000", page.as_uri(),
                       profile=tmp_path / f"profile-{pdf.stem}")
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-", f"nothing printed: {result.stderr[-2000:]}"
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))


def test_the_headlines_print_on_two_pages(pages: tuple[Path, Path], tmp_path: Path) -> None:
    page, _ = pages
    html = page.read_text(encoding="utf-8")
    end = html.index("</section>", html.index('<section id="headline">')) + len("</section>")
    headlines = tmp_path / "headlines.html"
    headlines.write_text(html[:end] + "</div></body></html>", encoding="utf-8")  # the page up to its headlines
    assert _printed_pages(headlines, tmp_path / "headlines.pdf", tmp_path) <= 2
    assert _printed_pages(page, tmp_path / "whole.pdf", tmp_path) > 2  # the rest follows on later pages
