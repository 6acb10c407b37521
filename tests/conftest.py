"""Shared fixtures of the course's own tests, and the rule that nothing is skipped on CI.

A test that needs something a machine may lack says so with a marker (``needs_bwrap``,
``needs_root``, ``needs_postgres``, ``needs_data``, ``needs_browser``; a test that takes the
``data_cache`` fixture gets ``needs_data`` by itself). On a developer's machine it may then skip,
with its reason shown in the summary (``make test`` runs pytest with ``-rs``). On CI (``CI`` set,
as ``.ci/run`` does) such a skip fails the run: CI installs all of them, so a skip there would be
a green run that proved nothing.
"""
import collections
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "admin")]

from autograder import course  # noqa: E402
from autograder.profiling import machine_cpu  # noqa: E402

ASSIGNMENTS = course.assignment_ids(ROOT)  # every assignments/<a>/manifest.toml
NEEDS = {"needs_bwrap": "bubblewrap (apt-get install bubblewrap)",
         "needs_root": "to run as root",
         "needs_postgres": "a PostgreSQL server (apt-get install postgresql)",
         "needs_data": "the pre-filled data cache (COURSE_DATA_DIR)",
         "needs_browser": "Chromium and Playwright (apt-get install chromium)"}


def on_ci():
    return bool(os.environ.get("CI"))


def pytest_configure(config):
    config.addinivalue_line("markers", "full_mode: a student's run on the whole data (make test-full), not in make test")
    for marker, what in NEEDS.items():
        config.addinivalue_line("markers", f"{marker}: needs {what}; may skip locally, never on CI")


# Fixtures that skip where the machine lacks something, and the marker that says what.
FIXTURE_NEEDS = {"data_cache": "needs_data", "postgres_url": "needs_postgres", "sandboxed_kernel": "needs_bwrap",
                 "chromium": "needs_browser"}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in FIXTURE_NEEDS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    needs = [marker for marker in NEEDS if item.get_closest_marker(marker)]
    if report.skipped and needs and on_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, where everything it needs ({', '.join(needs)}) must be installed: {reason}"


# Seconds spent in each test file (its tests' setup, call and teardown, its module fixtures
# included), printed at the end of every run beside pytest's slowest tests: where the time went.
# Beside them, the machine's CPU seconds over the same time (every process, from /proc/stat): a
# file whose CPU seconds are far below its seconds times the cores waits more than it computes.
SECONDS_BY_FILE = collections.Counter()
CPU_SECONDS_BY_FILE = collections.Counter()
FILES_SHOWN = 15


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = machine_cpu()
    yield
    CPU_SECONDS_BY_FILE[item.nodeid.split("::")[0]] += machine_cpu() - before  # 0 without /proc/stat


def pytest_runtest_logreport(report):
    SECONDS_BY_FILE[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not SECONDS_BY_FILE:
        return
    cores = os.cpu_count() or 1
    terminalreporter.write_sep("=", f"seconds by test file, the {FILES_SHOWN} largest, and the machine's CPU "
                                    f"seconds meanwhile ({cores} cores)")
    for path, seconds in SECONDS_BY_FILE.most_common(FILES_SHOWN):
        terminalreporter.write_line(f"{seconds:8.1f} s  {CPU_SECONDS_BY_FILE[path]:8.1f} CPU s  {path}")
    terminalreporter.write_line(f"{sum(SECONDS_BY_FILE.values()):8.1f} s  "
                                f"{sum(CPU_SECONDS_BY_FILE.values()):8.1f} CPU s  in all, {len(SECONDS_BY_FILE)} files")


@pytest.fixture(scope="session")
def course_root():
    return ROOT


@pytest.fixture(scope="session")
def data_cache():
    """The pre-filled data cache (COURSE_DATA_DIR); notebook tests need real data."""
    value = os.environ.get("COURSE_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("COURSE_DATA_DIR is not set to a pre-filled data cache")
    return Path(value).resolve()


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium driven by Playwright (tests/browser.py), closed after the module."""
    import browser

    playwright, chromium = browser.launch()
    yield chromium
    chromium.close()
    playwright.stop()
