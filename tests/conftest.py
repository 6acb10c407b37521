"""Shared fixtures of the course's own tests, and the rule that nothing is skipped on CI.

A test that needs something a machine may lack says so with a marker (``needs_bwrap``,
``needs_root``, ``needs_postgres``, ``needs_data``, ``needs_browser``; a test that takes the
``data_cache`` fixture gets ``needs_data`` by itself). On a developer's machine it may then skip,
with its reason shown in the summary (``make test`` runs pytest with ``-rs``). On CI (``CI`` set,
as ``.ci/run`` does) such a skip fails the run: CI installs all of them, so a skip there would be
a green run that proved nothing. The one exception is ``needs_cgroup``: a machine that gives the
grader no control group is one the grader supports (it warns and keeps the per-process limits), so
those tests may skip on CI too, their reason in the summary.
"""
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "admin")]

from autograder import course  # noqa: E402
from autograder.profiling import machine_cpu  # noqa: E402

ASSIGNMENTS = course.assignment_ids(ROOT)  # every assignments/<a>/manifest.toml
NEEDS = {"needs_bwrap": "bubblewrap (apt-get install bubblewrap)",
         "needs_root": "to run as root",
         "needs_cgroup": "a cgroup hierarchy with the memory controller to make groups in (root, or Sandbox.cgroup)",
         "needs_postgres": "a PostgreSQL server (apt-get install postgresql)",
         "needs_data": "the pre-filled data cache (COURSE_DATA_DIR)",
         "needs_browser": "Chromium and Playwright (apt-get install chromium)"}
MAY_SKIP_ON_CI = {"needs_cgroup"}  # a machine without it is one the course supports (see above)


def on_ci():
    return bool(os.environ.get("CI"))


# make test runs the files on two pytest-xdist workers at once (-n 2 --dist loadfile), each file
# whole on one worker (its module fixtures are built once). Some files are one unit of work, run
# one after the other on one worker as they would alone, with other files beside them
# (pytest_xdist_make_scheduler below):
# - the files that grade whole classes through the harness, which merges them into the course's
#   own autograded/ and feedback/: the demo's ghost students (ghost-reference, ghost-blank, ...),
#   which two of them at once would grade, merge and remove at once, and test_cluster's class
#   (cluster-*), graded by clusters of several workers on this machine;
# - the two hostile catalogues, whose cases turn on time limits and count what is left on the
#   machine: one at a time, so that at most two gradings share the cores;
# - the files that read the session's one grading-mode run of each source notebook
#   (tests/notebook_runs.py): on one worker, each notebook runs once, not once on each worker.
# Each worker has a temporary folder of its own, and so a scratch space of its own
# (autograder/scratch.py): a file that checks that grading left nothing there sees only its own.
UNITS = {"the ghost students": {"test_cluster.py", "test_grader_failures.py", "test_grading_end_to_end.py",
                                "test_harness.py", "test_resume.py", "test_soak.py", "test_worker.py"},
         "the hostile catalogues": {"test_adversarial.py", "test_boundary.py"},
         "the source notebooks' runs": {"test_a01_notebook.py", "test_a02_notebook.py", "test_a03_notebook.py",
                                        "test_a04_notebook.py", "test_expected_outputs.py",
                                        "test_notebooks_validate.py", "test_one_image.py"}}
UNIT_OF = {name: unit for unit, names in UNITS.items() for name in names}
# Seconds of the longest units and files in a run on two workers (fresh-clone CI): the longest are
# handed out first, so that no worker is left with a long one at the end. Others go by their count
# of tests.
SECONDS = {"the ghost students": 765, "the hostile catalogues": 695, "the source notebooks' runs": 150,
           "test_class_hub.py": 117, "test_trusted.py": 38, "test_catalogues_decided_outside.py": 31}
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    _own_temporary = Path("/tmp") / f"course-{WORKER}"  # short: the sandbox's socket paths are made below it
    _own_temporary.mkdir(mode=0o755, exist_ok=True)
    os.environ["TMPDIR"] = str(_own_temporary)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again


def pytest_xdist_make_scheduler(config, log):
    """xdist's loadfile, with the files of each of UNITS as one scope, the longest scopes first
    (xdist's own groups, --dist loadgroup, do not reach this pytest's test ids)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class CourseScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return UNIT_OF.get(Path(path).name, path)

        def _assign_work_unit(self, node):
            longest = max(self.workqueue, key=lambda scope: (SECONDS.get(Path(scope).name, 0),
                                                             len(self.workqueue[scope])))
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

    return CourseScheduling(config, log)


def pytest_configure(config):
    config.addinivalue_line("markers", "full_mode: a student's run on the whole data (make test-full), not in make test")
    for marker, what in NEEDS.items():
        config.addinivalue_line("markers", f"{marker}: needs {what}; may skip locally"
                                + (", and on CI" if marker in MAY_SKIP_ON_CI else ", never on CI"))


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
    if report.skipped and needs and not MAY_SKIP_ON_CI & set(needs) and on_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, where everything it needs ({', '.join(needs)}) must be installed: {reason}"


# Seconds spent in each test file (its tests' setup, call and teardown, its module fixtures
# included), printed at the end of every run beside pytest's slowest tests: where the time went.
# In a run on one process, beside them the machine's CPU seconds over the same time (every
# process, from /proc/stat): a file whose CPU seconds are far below its seconds times the cores
# waits more than it computes. On several workers the files share the machine, so only the
# whole run's CPU seconds are shown, against the seconds the run took.
SECONDS_BY_FILE = collections.Counter()
CPU_SECONDS_BY_FILE = collections.Counter()
SECONDS_BY_WORKER = collections.Counter()
FILES_SHOWN = 15
RUN_STARTED = {}


def pytest_sessionstart(session):
    RUN_STARTED.update(seconds=time.monotonic(), cpu=machine_cpu())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = machine_cpu()
    yield
    CPU_SECONDS_BY_FILE[item.nodeid.split("::")[0]] += machine_cpu() - before  # 0 without /proc/stat


def pytest_runtest_logreport(report):
    SECONDS_BY_FILE[report.nodeid.split("::")[0]] += report.duration
    worker = getattr(getattr(report, "node", None), "gateway", None)  # xdist's worker that ran it
    if worker is not None:
        SECONDS_BY_WORKER[worker.id] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not SECONDS_BY_FILE:
        return
    cores = os.cpu_count() or 1
    shared = not CPU_SECONDS_BY_FILE  # the tests ran on xdist's workers, not in this process
    terminalreporter.write_sep("=", f"seconds by test file, the {FILES_SHOWN} largest" + (
        " (summed over the workers)" if shared else f", and the machine's CPU seconds meanwhile ({cores} cores)"))
    for path, seconds in SECONDS_BY_FILE.most_common(FILES_SHOWN):
        cpu = "" if shared else f"  {CPU_SECONDS_BY_FILE[path]:8.1f} CPU s"
        terminalreporter.write_line(f"{seconds:8.1f} s{cpu}  {path}")
    cpu = "" if shared else f"  {sum(CPU_SECONDS_BY_FILE.values()):8.1f} CPU s"
    terminalreporter.write_line(f"{sum(SECONDS_BY_FILE.values()):8.1f} s{cpu}  in all, {len(SECONDS_BY_FILE)} files")
    seconds, cpu = time.monotonic() - RUN_STARTED["seconds"], machine_cpu() - RUN_STARTED["cpu"]
    terminalreporter.write_line(f"the run: {seconds:.0f} s, the machine's CPU {cpu:.0f} s of {seconds * cores:.0f} "
                                f"({cores} cores, {cpu / (seconds * cores):.0%} busy)")
    if SECONDS_BY_WORKER:
        terminalreporter.write_line("seconds of tests on each worker: " + ", ".join(
            f"{worker} {seconds:.0f} s" for worker, seconds in sorted(SECONDS_BY_WORKER.items())))


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
