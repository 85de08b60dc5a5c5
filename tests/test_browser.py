"""The built book in a real browser: every page as a reader meets it.

Headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) walks every page of
``_build/html`` served on a loopback port: the page loads, every image loads, math is typeset
by the MathJax copy served from the build, no cell output shows a traceback or an error,
the Colab and download buttons point at the committed notebook of the chapter, and the
scorecard lists every check. What a reader would not keep fails the test: progress-bar
walls, tqdm warnings, paths of the build machine, object reprs, table cells cut with "…",
content wider than the column or code cut at its edge (at laptop and phone width), figures
shrunk until their labels are under 9 px or shown without a number, caption and alt text, table
headers that are Python tuples, bare 0..n index columns, errors in the browser console, and
papermill's injected parameters cell. A screenshot of each page at each width goes to
``_build/screenshots/``.
"""

import functools
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

from conftest import ROOT, rlhfbook_cli
from rlhfbook.book import chapters, cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site():
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(`apt-get install chromium`; .ci/run does) to run the browser test"
        )
    if not (HTML / "index.html").exists():
        assert rlhfbook_cli("run", "--profile", "cpu").returncode == 0
        assert rlhfbook_cli("build", "--profile", "cpu", timeout=1200).returncode == 0
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(HTML)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _pages():
    book = [
        "book/intro",
        "book/running",
        "book/gpu",
        "book/scorecard",
        "book/status",
        "book/bibliography",
    ]
    return book + [f"notebooks/{c}" for c in chapters.toc_chapters(ROOT)]


VIEWPORTS = {"laptop": (1280, 900), "phone": (390, 844)}


def _open(browser, site, page_name, width="laptop"):
    w, h = VIEWPORTS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    errors, console = [], []
    page.on("requestfailed", lambda r: errors.append(r.url))
    # a resource that fails to load is judged by its URL above (offline, the Colab badge cannot load)
    page.on(
        "console",
        lambda m: (
            console.append(m.text)
            if m.type == "error" and "Failed to load" not in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: console.append(str(e)))
    response = page.goto(f"{site}/{page_name}.html", wait_until="load")
    assert response.ok, f"{page_name}: HTTP {response.status}"
    if page.evaluate("() => !!document.querySelector('.math')"):
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
            timeout=20000,
        )
        page.evaluate("() => MathJax.startup.promise")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / f"{page_name.replace('/', '__')}-{width}.png"), full_page=True
    )
    page.console_errors = console
    return page, errors


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("page_name", _pages())
def test_page_loads_with_images_math_and_clean_outputs(browser, site, page_name, width):
    page, failed_requests = _open(browser, site, page_name, width)
    local_failures = [u for u in failed_requests if u.startswith(site)]
    assert not local_failures, f"{page_name}: failed to load {local_failures}"
    broken = page.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    # the machine is offline: the only external image allowed is the Colab badge
    assert not [b for b in broken if b != chapters.COLAB_BADGE], (
        f"{page_name}: images that did not load: {broken}"
    )
    if page.evaluate("() => !!document.querySelector('.math')"):
        assert (
            page.evaluate("() => document.querySelectorAll('mjx-container').length") > 0
        ), f"{page_name}: math not typeset"
    text = page.inner_text("main")
    assert "$$" not in text, f"{page_name}: raw $$ math left untypeset"
    assert (
        page.evaluate(
            "() => document.querySelectorAll('.output.traceback, .output.error').length"
        )
        == 0
    )
    outputs = page.evaluate(
        "() => [...document.querySelectorAll('.cell_output')].map(e => e.innerText)"
    )
    assert not [o for o in outputs if "Traceback (most recent call last)" in o], (
        f"{page_name}: a traceback in an output"
    )
    stderr = page.evaluate(
        "() => [...document.querySelectorAll('.output.stderr')].map(e => e.innerText)"
    )
    assert not [s for s in stderr if "Error" in s], (
        f"{page_name}: an error on stderr: {stderr}"
    )
    if page_name.startswith("notebooks/"):
        chapter = page_name.removeprefix("notebooks/")
        hrefs = page.evaluate(
            "() => [...document.querySelectorAll('a')].map(a => a.href)"
        )
        assert chapters.colab_url(ROOT, chapter) in hrefs, (
            f"{chapter}: no Colab button to the committed notebook"
        )
        downloads = [
            h for h in hrefs if h.endswith(f"_sources/notebooks/{chapter}.ipynb")
        ]
        assert downloads, f"{chapter}: no download button"
        served = page.request.get(downloads[0]).body()
        assert served == (ROOT / "notebooks" / f"{chapter}.ipynb").read_bytes(), (
            f"{chapter}: the download button does not serve the committed notebook"
        )
    _assert_clean_for_a_reader(page, f"{page_name} at {width} width")
    page.close()


PROGRESS_LINE = re.compile(r"it/s\]|s/it\]|\d%\|")
MACHINE_PATHS = [str(ROOT), "/root/", "/tmp/", "/home/", "site-packages"]
# Figures are saved at 100 dpi with 10.5 pt tick labels (14.6 px): shown at >= 0.62 of their size they stay >= 9 px.
MIN_FIGURE_SCALE = 9 / (10.5 * 100 / 72)


def _assert_clean_for_a_reader(page, page_name):
    outputs = page.evaluate(
        "() => [...document.querySelectorAll('.cell_output')].map(e => e.innerText)"
    )
    for text in outputs:
        run = longest = 0
        for line in text.splitlines():
            run = run + 1 if PROGRESS_LINE.search(line) else 0
            longest = max(longest, run)
        assert longest <= 3, (
            f"{page_name}: {longest} consecutive progress-bar lines in an output"
        )
        for bad in ("TqdmWarning", "IProgress", "PosixPath(", " object at 0x"):
            assert bad not in text, f"{page_name}: {bad!r} in an output"
    main = page.inner_text("main")
    for path in MACHINE_PATHS:
        assert path not in main, (
            f"{page_name}: the build machine's path {path!r} is on the page"
        )
    assert "# Parameters" not in main, (
        f"{page_name}: papermill's injected parameters cell is shown"
    )
    cut = page.evaluate(
        "() => [...document.querySelectorAll('td, th')].map(c => c.innerText.trim()).filter(t => t.endsWith('…'))"
    )
    assert not cut, f"{page_name}: table cells cut short: {cut[:3]}"
    wide = page.evaluate("""() => [...document.querySelectorAll('main table')].filter(
        t => t.getBoundingClientRect().width > t.closest('main').getBoundingClientRect().width + 1).length""")
    assert wide == 0, f"{page_name}: {wide} table(s) wider than the column"
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
    ), f"{page_name}: the page scrolls sideways"
    cut_code = page.evaluate("""() => [...document.querySelectorAll('main pre')]
        .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText.split('\\n')[0].slice(0, 60))""")
    assert not cut_code, (
        f"{page_name}: code or output cut at the column's edge: {cut_code[:3]}"
    )
    tuples = page.evaluate("""() => [...document.querySelectorAll('main th')].map(t => t.innerText.trim())
        .filter(t => /^\\(.*,.*\\)$/.test(t))""")
    assert not tuples, (
        f"{page_name}: table headers that are Python tuples: {tuples[:3]}"
    )
    bare_index = page.evaluate("""() => [...document.querySelectorAll('main table')].filter(t => {
        const first = [...t.querySelectorAll('tbody tr')].map(r => r.firstElementChild);
        return first.length > 1 && first.every((c, i) => c.tagName === 'TH' && c.innerText.trim() === String(i));
        }).length""")
    assert bare_index == 0, (
        f"{page_name}: {bare_index} table(s) with a bare 0..n index column"
    )
    unplaced = page.evaluate("""() => [...document.querySelectorAll('main img')]
        .filter(i => !i.closest('a[href*="colab"], .cell_input, .bd-header-article'))
        .filter(i => { const f = i.closest('figure');
            return !f || !f.querySelector('.caption-number') || !(i.getAttribute('alt') || '').trim(); })
        .map(i => i.src.split('/').pop())""")
    assert not unplaced, (
        f"{page_name}: figures without a number, caption or alt text: {unplaced[:3]}"
    )
    assert not page.console_errors, (
        f"{page_name}: errors in the browser console: {page.console_errors[:3]}"
    )
    small = page.evaluate("""() => [...document.querySelectorAll('main figure img, .cell_output img')]
        .filter(i => i.naturalWidth > 0).map(i => i.getBoundingClientRect().width / i.naturalWidth)""")
    if (
        "laptop" in page_name
    ):  # on a phone every figure is shrunk to the screen; zoom is the reader's tool
        assert all(s >= MIN_FIGURE_SCALE for s in small), (
            f"{page_name}: a figure is shown at {min(small):.0%} of its size: its labels fall under 9 px"
        )


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["laptop", "phone"])
def test_scorecard_states_every_verdict_in_words(browser, site, viewport):
    """Every check's claim and verdict word; the explanation of whatever is not reproduced shown without
    a click; no sideways scrolling on a laptop or a phone."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    assert page.goto(f"{site}/book/scorecard.html", wait_until="load").ok
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / f"book__scorecard-{viewport[0]}.png"), full_page=True
    )
    text = " ".join(
        page.inner_text("main").split()
    )  # innerText leaves out what a closed <details> hides
    for chapter in chapters.toc_chapters(ROOT):
        record = json.loads(
            (cli.results_dir("cpu", ROOT) / f"{chapter}.json").read_text()
        )
        for check in record["checks"]:
            claim = " ".join(check["claim"].split())
            if check["kind"] == "sanity":  # folded away in a <details> block
                assert page.locator("details", has_text=claim[:40]).count(), (
                    f"scorecard misses {check['name']}"
                )
                continue
            assert claim in text, f"scorecard misses {chapter}: {check['name']}"
            if check["status"] != "reproduced":
                assert " ".join(check["explanation"].split()) in text, (
                    f"{check['name']}: explanation hidden"
                )
    assert (
        "Totals" in text and "findings:" in text and "sanity:" in text
    )  # (MyST curls the apostrophe)
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
    ), f"the scorecard scrolls sideways at {viewport[0]} px"
    page.close()
