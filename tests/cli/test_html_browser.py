"""The HTML report in a real browser: headless Chromium lays it out at 360, 1366 and 1920 px and a script
measures it (nothing wider than the window, no element cut off); the palette's contrast is WCAG AA; the page
has what a keyboard and a screen reader need.

The page itself has no script (it is self-contained and inert): the test adds its measuring script to a copy,
shows that copy in an ``<iframe srcdoc>`` exactly the width under test (headless Chromium will not make a
window narrower than 500 px; the frame's own viewport is what the page's media queries see), runs Chromium
with ``--dump-dom`` and reads the measurements the script wrote into the outer page. Without Chromium
(``.ci/run`` installs the Debian package ``chromium``) the browser tests are skipped and say so.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from backupbridge.bridge import Bridge
from backupbridge.health import HealthPolicy, assess
from backupbridge.report import Report, build_report, html_contrast_pairs, render_html

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs the Debian package 'chromium')"
)
WIDTHS = (360, 1366, 1920)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

# Runs at the end of <body>: every element's box against the window, and every cell's content against the
# cell. Elements hidden on purpose (the visually hidden header row of the card layout, the skip link until
# it has the focus) are left out.
MEASURE = r"""
<script>
(function () {
  var width = document.documentElement.clientWidth;
  var problems = [];
  function hidden(el) {
    for (var e = el; e; e = e.parentElement) {
      var style = getComputedStyle(e);
      if (style.display === "none" || style.visibility === "hidden") return true;
      if (e.classList && e.classList.contains("skip")) return true;
      if (style.position === "absolute" && e.getBoundingClientRect().width <= 1) return true;
    }
    return false;
  }
  function name(el) {
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && el.className.baseVal === undefined
      ? "." + el.className : "") + " " + (el.textContent || "").trim().slice(0, 40);
  }
  var all = document.body.querySelectorAll("*");
  for (var i = 0; i < all.length; i++) {
    var el = all[i];
    if (el.tagName === "SCRIPT" || el.id === "measurements" || hidden(el)) continue;
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > width + 0.5 || r.left < -0.5) problems.push("outside the window: " + name(el));
    if ((el.tagName === "TD" || el.tagName === "TH") && el.scrollWidth > el.clientWidth + 1)
      problems.push("cut off in its cell: " + name(el));
    var style = getComputedStyle(el);
    if (style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1)
      problems.push("content clipped: " + name(el));
  }
  var charts = Array.prototype.map.call(document.querySelectorAll("svg.chart"), function (s) {
    return s.getBoundingClientRect().width;
  });
  var host = window.parent.document;
  var out = host.createElement("pre");
  out.id = "measurements";
  out.textContent = JSON.stringify({
    width: width,
    scrollWidth: document.documentElement.scrollWidth,
    problems: problems,
    charts: charts,
    rows: document.querySelectorAll("tr[tabindex]").length
  });
  host.body.appendChild(out);
})();
</script>
"""


@pytest.fixture(scope="module")
def report() -> Report:
    """A sandbox report with long names and a long unbroken reason (a path), the things that overflow."""
    import attrs

    with Bridge.sandbox(size=40) as bridge:
        snapshot = bridge.snapshot(since=None)
    assessment = assess(
        snapshot.devices,
        snapshot.plans,
        snapshot.jobs,
        now=snapshot.clocks,
        policy=HealthPolicy(),
        timezones=snapshot.timezones,
        incomplete=snapshot.incomplete,
    )
    result = build_report(snapshot, assessment, generated_at=max(snapshot.clocks.values()))
    long_token = "\\\\fileserver01.corp.example\\backups$\\" + "VeryLongFolderNameWithoutAnySpaces" * 3
    first = attrs.evolve(
        result.problems[0],
        reason=f"last run failed: cannot open {long_token}",
        device="WORKSTATION-WITH-A-VERY-LONG-HOSTNAME-0001.branch-office.corp.example",
    )
    company = attrs.evolve(result.companies[0], company="Internationale Speditions- und Logistikgesellschaft mbH")
    return attrs.evolve(result, problems=(first, *result.problems[1:]), companies=(company, *result.companies[1:]))


def page(report: Report) -> str:
    stream = io.StringIO()
    render_html(report, stream)
    return stream.getvalue()


def framed(html: str, width: int, height: int) -> str:
    """``html`` in a frame ``width`` x ``height`` CSS pixels, at the top left of an otherwise empty page."""
    import html as html_module

    return (
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe style="border:0;display:block;width:{width}px;height:{height}px" '
        f'srcdoc="{html_module.escape(html, quote=True)}"></iframe></body></html>'
    )


def chromium(tmp_path: Path, width: int, height: int, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{width}-{len(args)}"
    window = f"--window-size={max(width, 500)},{height}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", window, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )


@needs_chromium
@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_fits_the_window_at_every_width(report: Report, tmp_path: Path, width: int) -> None:
    html = page(report)
    assert "<script" not in html  # the report itself stays inert
    target = tmp_path / "report.html"
    target.write_text(framed(html.replace("</body>", MEASURE + "</body>"), width, 1000), encoding="utf-8")
    done = chromium(tmp_path, width, 1000, "--dump-dom", target.as_uri())
    match = re.search(r'<pre id="measurements">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    assert match, f"Chromium gave no measurements (rc {done.returncode}): {done.stderr[-500:]}"
    import html as html_module

    measured = json.loads(html_module.unescape(match.group(1)))
    assert measured["width"] == width
    assert measured["scrollWidth"] <= width, "the page scrolls sideways"
    assert measured["problems"] == []
    assert measured["charts"] and min(measured["charts"]) >= 40  # every bar visible, none squeezed away
    assert measured["rows"] == len(report.companies) + len(report.problems)


@needs_chromium
def test_screenshots_at_every_width(report: Report, tmp_path: Path) -> None:
    """Screenshots for a person to look at (BACKUPBRIDGE_SCREENSHOTS=DIR keeps them)."""
    keep = os.environ.get("BACKUPBRIDGE_SCREENSHOTS")
    for width in WIDTHS:
        height = 1600 if width < 500 else 1100
        target = tmp_path / f"report-{width}.html"
        target.write_text(framed(page(report), width, height), encoding="utf-8")
        shot = (Path(keep) if keep else tmp_path) / f"report-{width}.png"
        done = chromium(tmp_path, width, height, f"--screenshot={shot}", target.as_uri())
        assert shot.exists() and shot.stat().st_size > 1000, done.stderr[-500:]


@needs_chromium
def test_the_report_prints(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text(page(report), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    done = chromium(tmp_path, 1366, 1000, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", target.as_uri())
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF"), done.stderr[-500:]


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey


@pytest.mark.parametrize(("what", "foreground", "background"), html_contrast_pairs())
def test_every_text_colour_reads_at_wcag_aa(what: str, foreground: str, background: str) -> None:
    assert contrast(foreground, background) >= 4.5, f"{what}: {foreground} on {background}"


def test_every_colour_of_the_page_is_in_the_tested_palette(report: Report) -> None:
    """A colour added to the style sheet without a contrast check fails here."""
    tested = {c for _, fg, bg in html_contrast_pairs() for c in (fg, bg)}
    borders = {"#d0d4da"}  # lines between rows: not text
    used = set(re.findall(r"#[0-9a-f]{6}\b", page(report)))
    assert used <= tested | borders, used - tested - borders


class Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_keyboard_and_screen_reader_structure(report: Report) -> None:
    parsed = Structure()
    parsed.feed(page(report))
    tags = parsed.tags
    first_link = next(a for t, a in tags if t == "a")
    assert first_link.get("class") == "skip" and first_link.get("href") == "#problems-heading"
    ids = {a.get("id") for _, a in tags}
    assert all((a.get("href") or "")[1:] in ids for t, a in tags if t == "a" and (a.get("href") or "").startswith("#"))
    assert sum(t == "caption" for t, _ in tags) == sum(t == "table" for t, _ in tags) == 2
    header_cells = [a for t, a in tags if t == "th"]
    assert header_cells and all(a.get("scope") in ("col", "row") for a in header_cells)
    rows = [a for t, a in tags if t == "tr" and ("data-company" in a or a.get("class") == "problem")]
    assert rows and all(a.get("tabindex") == "0" for a in rows)
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in tags)
    assert ("html", {"lang": "en"}) in tags
    css = page(report)
    assert "@media print" in css and ":focus-visible" in css
