"""Browser pages that record what goes wrong on them, and a screenshot of each step.

Debian's Chromium (``apt-get install chromium``) driven by Playwright, offline: every request that
is not for 127.0.0.1 is aborted and recorded, so a page that needs the internet (a CDN script, a
font) shows up as a problem instead of a slow timeout. Each problem is kept with the *area* of the
page it happened on (hub, lab, formgrader, feedback), so each test asserts on its own area.
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# A request for anywhere but this machine (matched by the browser's driver, not in Python).
LEAVING = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/)(?!(data|blob|about):)")

# Console messages that are not problems of the page. Each entry is narrow and says why.
NOT_PROBLEMS = [
    # The echo of a request this recorder aborted because it went to the network: the request
    # itself is recorded, with its address, as a problem of its own.
    (re.compile(r"^Failed to load resource: net::ERR_INTERNET_DISCONNECTED$"), "aborted request, recorded"),
]


@dataclass
class Problem:
    area: str
    page: str
    kind: str
    text: str

    def __str__(self):
        return f"[{self.area}] {self.page}: {self.kind}: {self.text}"


class Recorder:
    """Opens pages (one browser context per person) and records their problems and screenshots."""

    def __init__(self, browser, screenshots):
        self.browser = browser
        self.screenshots = Path(screenshots)
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.problems = []
        self._area = {}
        self._label = {}
        self._expected = {}
        self._shots = 0

    def context(self):
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(60_000)
        # only requests that leave this machine come to Python (JupyterLab's own hundreds do not)
        context.route(LEAVING, self._route)
        return context

    def page(self, context, label, area):
        """A new page of ``context``; ``label`` names it in problems, ``area`` is where it is."""
        page = context.new_page()
        self._area[page] = area
        self._label[page] = label
        self._expected[page] = []

        def console(message):
            if message.type == "error":
                self._record(page, label, "console error", message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: self._record(page, label, "page error", str(error)))
        page.on("dialog", lambda dialog: (self._record(page, label, "dialog", dialog.message), dialog.dismiss()))
        return page

    def _route(self, route):
        request = route.request
        try:
            page = request.frame.page
        except Exception:  # a worker's request has no frame
            page = None
        self._record(page, self._label.get(page, "?"), "request to the network", request.url)
        route.abort("internetdisconnected")

    def _record(self, page, label, kind, text):
        if any(pattern.search(text) for pattern, _why in NOT_PROBLEMS):
            return
        if any(pattern.search(text) for pattern in self._expected.get(page, [])):
            return
        self.problems.append(Problem(self._area.get(page, "?"), label, kind, text))

    def set_area(self, page, area):
        self._area[page] = area

    @contextmanager
    def area(self, page, area):
        """Problems of ``page`` inside this block belong to ``area`` (a feedback page in Lab's viewer)."""
        before = self._area[page]
        self._area[page] = area
        try:
            yield
        finally:
            self._area[page] = before

    @contextmanager
    def expecting(self, page, pattern):
        """Inside this block, console errors of ``page`` matching ``pattern`` are what the step
        expects (the 403 of a page a student must not open), not problems."""
        compiled = re.compile(pattern)
        self._expected[page].append(compiled)
        try:
            yield
        finally:
            self._expected[page].remove(compiled)

    def shoot_every_page(self, prefix):
        """A screenshot of every page still open (when a step fails)."""
        for page, label in list(self._label.items()):
            if not page.is_closed():
                try:
                    self.shot(page, f"{prefix}-{re.sub(r'[^A-Za-z0-9]+', '-', label).strip('-')}")
                except Exception:  # a page that cannot be shot says nothing more
                    pass

    def in_area(self, *areas):
        return [p for p in self.problems if p.area in areas]

    def shot(self, page, name, full_page=False):
        """Save a screenshot ``NN-name.png`` in the screenshots folder; returns its path."""
        self._shots += 1
        path = self.screenshots / f"{self._shots:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path
