"""Open every page of the built book in headless Chromium, as a reader would.

The built HTML (``_build/html``, or ``$BOOK_HTML``) is served on 127.0.0.1 and every page is
opened twice: at 1280 px (desktop) and at 390 px (a phone). A page fails on a console error, a
failed request, a request to any host but the local one, a serious or critical accessibility
violation found by axe-core, unrendered math, an unresolved glue value, an image that does not
load, a display equation cut off at the right edge, a second search bar, a sidebar toggle that
does not open the chapter list at 390 px, a solution that does not open on click, or a printout
with code cut off or show/hide buttons (print media: code wraps, folded blocks open). Figures
are checked separately: alt text that is not a file path, and a numbered caption.

The test needs a built book and Chromium (Debian's ``chromium`` package, driven by Playwright;
``$CHROMIUM`` overrides the path). Without them it is skipped with the reason, unless
``BOOK_BROWSER_TEST=required`` (CI), where a missing book or browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("BOOK_BROWSER_TEST") == "required"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SKIPPED_FOLDERS = {"_static", "_sources", "_images", "_downloads", "_panels_static"}


def _why_not_runnable() -> str | None:
    if not (HTML / "index.html").exists():
        return f"no built book at {HTML} (run `make book` first)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as error:
        return f"Python package missing: {error.name}"
    return None


WHY_NOT = _why_not_runnable()
if WHY_NOT and not REQUIRED:
    pytestmark = pytest.mark.skip(reason=f"browser test skipped: {WHY_NOT}")


def _pages() -> list[str]:
    if not HTML.exists():
        return []
    pages = [p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")]
    return sorted(p for p in pages if p.split("/")[0] not in SKIPPED_FOLDERS)


PAGES = _pages() or ["index.html"]


@dataclass
class PageReport:
    """What one page showed in the browser, by kind of problem."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    figure_count: int = 0

    def add(self, kind: str, message: str) -> None:
        self.problems.setdefault(kind, []).append(message)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(HTML), **kwargs)

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


@pytest.fixture(scope="module")
def server():
    if WHY_NOT:
        pytest.fail(f"the browser test is required here but cannot run: {WHY_NOT}")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:  # launch() uses a fresh, temporary profile
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def visit(server, browser):
    """A function page name -> PageReport; each page is opened once per test session."""
    import axe_playwright_python

    axe_source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()

    return functools.cache(lambda name: _open(browser, server, name, axe_source))


def _open(browser, server: str, name: str, axe_source: str) -> PageReport:
    """Open one page at both widths and check it."""
    report = PageReport()
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport, service_workers="block")
        try:
            page = context.new_page()
            _watch(page, server, report, viewport["width"])
            if _redirect_target(name):  # the root index.html only forwards to the first page
                page.goto(f"{server}/{name}", wait_until="commit")
                page.wait_for_url(f"{server}/{_redirect_target(name)}", timeout=10000)
                page.wait_for_load_state("load")
            else:
                page.goto(f"{server}/{name}", wait_until="load")
            _wait_for_math(page)
            if viewport is DESKTOP:
                _check_math(page, report)
                _check_glue(page, report)
                _check_images(page, report)
                _check_figures(page, report)
                _check_axe(page, report, axe_source)
                _check_print(page, report)  # before the solutions are opened by clicks
                _check_solutions(page, report)
            else:
                _check_equations_fit(page, report)
                _check_sidebar_opens(page, report)
            _check_one_search_bar(page, report, viewport["width"])
            page.wait_for_timeout(100)  # let late console messages arrive
        except Exception as error:  # noqa: BLE001  (a page that breaks the checks fails, with the reason)
            report.add("check stopped",
                       f"{type(error).__name__}: {str(error)[:300]} (at {viewport['width']} px)")
        finally:
            context.close()
    return report


def _redirect_target(name: str) -> str | None:
    """The page a redirect page (``<meta http-equiv="Refresh">``) forwards to, else None."""
    import re

    html = (HTML / name).read_text(encoding="utf-8", errors="replace")[:2000]
    match = re.search(r'http-equiv="Refresh" content="\d+;\s*url=([^"]+)"', html, re.IGNORECASE)
    if not match:
        return None
    return (Path(name).parent / match.group(1)).as_posix().removeprefix("./")


def _watch(page, server: str, report: PageReport, width: int) -> None:
    local = urlparse(server).netloc

    def route(route):
        url = urlparse(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != local:
            report.add("request to another host", f"{route.request.url} (at {width} px)")
            route.abort()
        else:
            route.continue_()

    page.route("**/*", route)
    page.on("console", lambda message: message.type == "error" and report.add(
        "console error", f"{message.text} (at {width} px)"))
    page.on("pageerror", lambda error: report.add("page error", f"{error} (at {width} px)"))
    page.on("requestfailed", lambda request: urlparse(request.url).netloc == local and report.add(
        "failed request", f"{request.url}: {request.failure} (at {width} px)"))
    page.on("response", lambda response: response.status >= 400 and report.add(
        "failed request", f"{response.url}: HTTP {response.status} (at {width} px)"))


def _wait_for_math(page) -> None:
    page.evaluate("""async () => {
        const started = Date.now();
        while (document.querySelector('.math') && !(window.MathJax && window.MathJax.startup
               && window.MathJax.startup.promise) && Date.now() - started < 10000) {
            await new Promise(resolve => setTimeout(resolve, 50));
        }
        if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
            await window.MathJax.startup.promise;
        }
    }""")


def _check_math(page, report: PageReport) -> None:
    unrendered = page.evaluate("""() => [...document.querySelectorAll('.math')]
        .filter(el => !el.querySelector('mjx-container') && el.tagName !== 'MJX-CONTAINER')
        .map(el => el.textContent.trim().slice(0, 60))""")
    for text in unrendered:
        report.add("unrendered math", text)
    for text in page.evaluate("""() => [...document.querySelectorAll('mjx-merror')]
            .map(el => el.textContent.slice(0, 80))"""):
        report.add("math error", text)


def _check_glue(page, report: PageReport) -> None:
    text = page.evaluate("""() => {
        const main = (document.querySelector('main') || document.body).cloneNode(true);
        main.querySelectorAll('pre, script, style').forEach(el => el.remove());
        return main.textContent;
    }""")
    for marker in ("{glue", "glue:text", "glue:figure", "glue:any"):
        if marker in text:
            start = text.index(marker)
            report.add("unresolved glue", text[max(0, start - 30): start + 60].replace("\n", " "))


def _check_images(page, report: PageReport) -> None:
    broken = page.evaluate("""async () => {
        const images = [...document.querySelectorAll('img')];
        images.forEach(img => { img.loading = 'eager'; });
        const broken = [];
        for (const img of images) {
            try { await img.decode(); } catch (error) { /* checked below */ }
            if (!img.complete || img.naturalWidth === 0) broken.push(img.getAttribute('src'));
        }
        return broken;
    }""")
    for src in broken:
        report.add("missing image", src)


def _check_figures(page, report: PageReport) -> None:
    figures = page.evaluate("""() => [...document.querySelectorAll('main article img')]
        .filter(img => !img.closest('.bd-sidebar, .navbar-brand, header'))
        .map(img => {
            const figure = img.closest('figure');
            const caption = figure ? figure.querySelector('figcaption') : null;
            return {src: img.getAttribute('src'), alt: img.getAttribute('alt') || '',
                    caption: caption ? caption.textContent.trim() : '',
                    number: caption ? (caption.querySelector('.caption-number') || {}).textContent || ''
                                    : ''};
        })""")
    report.figure_count = len(figures)
    for figure in figures:
        name = figure["src"].rsplit("/", 1)[-1]
        alt = figure["alt"].strip()
        if not alt or "/" in alt or alt.lower().endswith((".png", ".svg", ".jpg", ".jpeg", ".gif")):
            report.figures.append(f"{name}: alt text {alt!r} is empty or a file path")
        if not figure["caption"]:
            report.figures.append(f"{name}: no caption")
        elif not figure["number"].strip():
            report.figures.append(f"{name}: caption is not numbered (give the figure a name)")


def _check_axe(page, report: PageReport, axe_source: str) -> None:
    page.add_script_tag(content=axe_source)
    result = page.evaluate("""async () => {
        // preload: false, or axe re-fetches every stylesheet's @import relative to the page.
        const result = await axe.run(document, {resultTypes: ['violations'], preload: false});
        return result.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
                        target: v.nodes[0].target.join(' '),
                        html: v.nodes[0].html.slice(0, 160)}));
    }""")
    for v in result:
        report.add("accessibility (axe-core)",
                   f"{v['impact']} {v['id']}: {v['help']} ({v['count']}x, e.g. {v['target']}: {v['html']})")


def _check_solutions(page, report: PageReport) -> None:
    titles = page.locator(".solution > .admonition-title")
    for index in range(titles.count()):
        title = titles.nth(index)
        body = page.locator(".solution").nth(index).locator(":scope > .admonition-title ~ *").first
        if body.count() == 0:
            report.add("solution", f"solution {index + 1} has no content")
            continue
        if body.is_visible() and body.bounding_box()["height"] > 0:
            report.add("solution", f"solution {index + 1} is not folded away")
            continue
        title.scroll_into_view_if_needed()
        title.click()
        try:
            body.wait_for(state="visible", timeout=2000)
            page.wait_for_function("el => el.getBoundingClientRect().height > 0", arg=body.element_handle(),
                                   timeout=2000)
        except Exception:  # noqa: BLE001  (Playwright's TimeoutError: reported below)
            report.add("solution", f"solution {index + 1} does not open on click")


def _check_print(page, report: PageReport) -> None:
    """In print, code wraps and folded blocks are open without their show/hide buttons."""
    page.emulate_media(media="print")
    found = page.evaluate("""() => ({
        buttons: [...document.querySelectorAll('button.toggle-button')]
            .filter(b => getComputedStyle(b).display !== 'none').length,
        hidden: [...document.querySelectorAll('.admonition.toggle > .admonition-title ~ *')]
            .filter(el => getComputedStyle(el).visibility === 'hidden'
                          || el.getBoundingClientRect().height === 0).length,
        unwrapped: [...document.querySelectorAll('article pre')]
            .filter(el => !getComputedStyle(el).whiteSpace.startsWith('pre-wrap')).length,
    })""")
    page.emulate_media(media="screen")
    if found["buttons"]:
        report.add("print", f"{found['buttons']} show/hide buttons are printed")
    if found["hidden"]:
        report.add("print", f"{found['hidden']} folded blocks stay folded in print")
    if found["unwrapped"]:
        report.add("print", f"{found['unwrapped']} code blocks do not wrap in print")


def _check_equations_fit(page, report: PageReport) -> None:
    for text in page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        return [...document.querySelectorAll('div.math, mjx-container[display="true"]')]
            .filter(el => {
                const box = el.getBoundingClientRect();
                if (box.width === 0) return false;
                let scrolls = false;
                for (let node = el; node && node !== document.body; node = node.parentElement) {
                    const style = getComputedStyle(node);
                    if (['auto', 'scroll'].includes(style.overflowX)) { scrolls = true; break; }
                }
                return box.right > width + 1 || (el.scrollWidth > el.clientWidth + 1 && !scrolls);
            })
            .map(el => el.textContent.trim().slice(0, 60));
    }"""):
        report.add("equation cut off at 390 px", text)


def _check_sidebar_opens(page, report: PageReport) -> None:
    toggles = page.locator(".primary-toggle:visible")
    if toggles.count() == 0:
        report.add("sidebar", "no visible sidebar toggle at 390 px")
        return
    links = page.locator(".bd-sidebar-primary nav.bd-links a.reference, "
                         "#pst-primary-sidebar-modal nav.bd-links a.reference")
    if links.count() == 0:
        report.add("sidebar", "the primary sidebar has no chapter list")
        return
    toggles.first.click()
    try:
        page.wait_for_function("""() => [...document.querySelectorAll(
                '.bd-sidebar-primary nav.bd-links a.reference')].some(a => {
            const box = a.getBoundingClientRect();
            return box.width > 0 && box.left >= 0 && box.right <= window.innerWidth
                && box.top >= 0 && box.top < window.innerHeight
                && getComputedStyle(a).visibility === 'visible';
        })""", timeout=3000)
    except Exception:  # noqa: BLE001  (Playwright's TimeoutError)
        report.add("sidebar", "the sidebar toggle does not open the chapter list at 390 px")


def _check_one_search_bar(page, report: PageReport, width: int) -> None:
    visible = page.locator(".search-button-field:visible").count()
    if visible > 1:
        report.add("duplicate search bar", f"{visible} search bars visible at {width} px")


@pytest.mark.parametrize("name", PAGES)
def test_page_works_in_the_browser(visit, name):
    report = visit(name)
    if report.problems:
        pytest.fail(f"{name}:\n" + "\n".join(
            f"  {kind}: {message}" for kind, messages in report.problems.items() for message in messages),
            pytrace=False)


@pytest.mark.parametrize("name", PAGES)
def test_figures_have_alt_text_and_a_numbered_caption(visit, name):
    report = visit(name)
    if report.figures:
        pytest.fail(f"{name}: {report.figure_count} figures:\n  " + "\n  ".join(report.figures),
                    pytrace=False)


def main(names: list[str]) -> int:
    """Print every page's report: ``python tests/test_browser.py [PAGE ...]``."""
    from playwright.sync_api import sync_playwright

    if WHY_NOT:
        print(f"cannot run: {WHY_NOT}")
        return 1
    import axe_playwright_python

    axe_source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    server = f"http://127.0.0.1:{httpd.server_address[1]}"
    failed = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in names or PAGES:
            report = _open(browser, server, name, axe_source)
            problems = [f"{kind}: {m}" for kind, messages in report.problems.items() for m in messages]
            failed += bool(problems)
            print(f"{name}: {len(problems)} problems, {report.figure_count} figures")
            for line in problems + [f"figure: {f}" for f in report.figures]:
                print("   ", line)
        browser.close()
    httpd.shutdown()
    return 1 if failed else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
