"""A real browser for the HTML-safety tests: Debian's Chromium driven by Playwright, offline.

Playwright cannot download its own browsers here, so it drives ``/usr/bin/chromium``
(``apt-get install chromium``). Without it the browser tests skip, except under CI (``CI`` set),
where a missing browser is a failure, not a green run that checked nothing.
Every request that is not for ``file:`` or ``127.0.0.1`` is aborted: the pages must work with no
network, as a student's feedback opened offline or a formgrader without internet.
"""
import os
import shutil
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def launch():
    """A Playwright instance and a headless Chromium; the caller closes both (see ``closing``)."""
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is pinned in requirements.txt but not installed")
    playwright = sync_playwright().start()
    return playwright, playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@dataclass
class Visit:
    """What a page did while it was open."""
    url: str
    final_url: str = ""
    title: str = ""
    pwned: object = None
    dialogs: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    blocked_requests: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)


def visit(browser, url, settle_ms=1500, check=None, login=None):
    """Open ``url`` offline, let it settle (timers, meta refresh, error handlers), then report what
    happened; ``check(page)`` may look at the page before it closes and its result is returned too.
    ``login``: a URL requested first for its cookies (Jupyter's token login, valid for the site)."""
    context = browser.new_context()
    if login:
        context.request.get(login, max_redirects=0)
    seen = Visit(url)

    def route(request_route):
        parsed = urlparse(request_route.request.url)
        if parsed.scheme in ("file", "data", "about", "blob") or parsed.hostname in LOCAL_HOSTS:
            request_route.continue_()
        else:
            seen.blocked_requests.append(request_route.request.url)
            request_route.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: message.type == "error" and seen.console_errors.append(message.text))
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.on("requestfailed", lambda request: seen.failed_requests.append(request.url))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_timeout(settle_ms)
        seen.final_url = page.url
        seen.title = page.title()
        seen.pwned = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
        result = check(page) if check else None
    finally:
        context.close()
    return seen, result


# Where student markup is drawn: the page's first screen and the screen of each element of student
# markup holding ``cover``, scanned every 40 px with elementFromPoint. A point drawn by such an element
# outside the cell it is in (its markdown, output or raw cell) is an escape.
_DRAWN = """(cover) => {
    const cells = '.text_cell_render, .output_subarea, .course-raw-cell';
    const marked = [...document.querySelectorAll(cells)].flatMap(cell => [...cell.children])
        .filter(element => element.textContent.includes(cover));
    const escapes = [], inside = new Set();
    const scan = () => {
        for (let x = 5; x < innerWidth; x += 40) {
            for (let y = 5; y < innerHeight; y += 40) {
                const hit = document.elementFromPoint(x, y);
                const element = hit && marked.find(m => m.contains(hit));
                if (!element) continue;
                const box = element.parentElement.closest(cells).getBoundingClientRect();
                if (x < box.left || x > box.right || y < box.top || y > box.bottom) {
                    escapes.push(`${element.outerHTML.slice(0, 80)} at (${x}, ${y + scrollY})`);
                } else {
                    inside.add(marked.indexOf(element));
                }
            }
        }
    };
    window.scrollTo(0, 0);
    scan();
    for (const element of marked) {
        element.parentElement.closest(cells).scrollIntoView();
        scan();
    }
    return {marked: marked.length, drawn_inside: inside.size, escapes: escapes.slice(0, 10)};
}"""


def drawn_outside_cells(page, cover):
    """{marked: elements of student markup holding ``cover``, drawn_inside: how many of them were
    seen drawn in their own cell, escapes: points where one is drawn outside it}."""
    return page.evaluate(_DRAWN, cover)
