"""A real class on JupyterHub, end to end in a real browser.

Does the course work as a class uses it? An instructor and two students with real Unix accounts
log in to the class hub (admin/hub/). The instructor releases; student A fetches a01 in the
Assignments tab, writes ``init_w``, runs its test, validates and submits; student B submits the
blank notebook; the instructor collects, grades with the course's harness, grades a written a04
answer by hand in the formgrader and releases feedback; student A reads the score. Along the way:
no error on any page, nobody reads what is not theirs, no hidden test in the feedback.

Needs root (it creates accounts), Debian's chromium, node and npm (JupyterHub's proxy) and the
data cache (COURSE_DATA_DIR). Without them it skips and says why; under CI (CI set) it fails.
Screenshots of each step: $HUB_SCREENSHOTS, else a folder of pytest's tmp dir; the folder and the
time of each step are printed at the end of the run.
"""
import argparse
import csv
import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from hub import lab
from hub.pages import ARGS, CHROMIUM, Recorder

ROOT = Path(__file__).resolve().parent.parent
A01, A04 = "a01_santa_logreg", "a04_knn_mlp_transfer"
INIT_W = ('def init_w(n):\n'
          '    """A column of n zeros, shape (n, 1), for the weights of the neuron."""\n'
          '    return np.zeros((n, 1))')
WRITTEN_ANSWER_ID = "answer_validation"
WRITTEN_ANSWER = ("Choosing k by its test accuracy tunes k to those very photos, so that accuracy is "
                  "optimistic. Cross-validation on the training set chooses k; the test set is used "
                  "once, at the end.")
HAND_SCORE = 1.5

_spec = importlib.util.spec_from_file_location("classhub", ROOT / "admin" / "hub" / "classhub.py")
classhub = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(classhub)


# ---------------------------------------------------------------------------------------------
# the class, its hub and a browser, for the whole module


def missing_prerequisites():
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the test creates Unix accounts and runs the hub as root)")
    for tool in ("useradd", "userdel", "chpasswd", "runuser", "node", "npm", "git"):
        if not shutil.which(tool):
            missing.append(f"{tool} on PATH")
    if not os.path.exists(CHROMIUM):
        missing.append(f"Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("playwright (pinned in requirements.txt)")
    if importlib.util.find_spec("jupyterhub") is None:
        missing.append("jupyterhub (pinned in requirements.txt)")
    data = os.environ.get("COURSE_DATA_DIR")
    if not data or not Path(data).is_dir():
        missing.append("COURSE_DATA_DIR, a pre-filled data cache")
    return missing


@dataclass
class Scenario:
    hub: object
    passwords: dict
    recorder: Recorder
    runtime: Path
    timings: list = field(default_factory=list)
    state: dict = field(default_factory=dict)
    contexts: list = field(default_factory=list)

    @property
    def instructor(self):
        return self.hub.instructor

    @property
    def student_a(self):
        return self.hub.students[0]

    @property
    def student_b(self):
        return self.hub.students[1]

    @property
    def course(self):
        return self.hub.course_dir()

    def server(self, user):
        return f"{self.hub.url}/user/{user}"

    def run(self, user, argv, cwd=None, timeout=900):
        """A command run by ``user`` in their own account (the instructor: from the course root),
        as in a terminal of their JupyterLab. Fails the test when it fails."""
        if cwd is None and user == self.instructor:
            cwd = self.course
        done = classhub.run_as(self.hub, user, argv, cwd=cwd, runtime=self.runtime,
                               capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{user}: {' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    @contextmanager
    def step(self, name):
        """Time a step; when it fails, a screenshot of every open page."""
        start = time.monotonic()
        try:
            yield
        except BaseException:
            self.recorder.shoot_every_page(f"FAILED-{name.split()[0]}")
            raise
        finally:
            self.timings.append((name, time.monotonic() - start))

    def person(self, label, area):
        """A browser of its own (cookies, tabs) for one person, and its first page."""
        context = self.recorder.context()
        self.contexts.append(context)
        return context, self.recorder.page(context, label, area)


class _Summary:
    """Prints where the screenshots are and how long each step took, at the end of the run."""

    def __init__(self, scenario, started):
        self.scenario, self.started, self.ended = scenario, started, None

    def pytest_terminal_summary(self, terminalreporter):
        write = terminalreporter.write_line
        terminalreporter.section("class hub (tests/test_class_hub.py)")
        write(f"screenshots: {self.scenario.recorder.screenshots}")
        for name, seconds in self.scenario.timings:
            write(f"{seconds:7.1f} s  {name}")
        if self.ended:
            write(f"{self.ended - self.started:7.1f} s  in all, from the first account made to the last one removed")


@pytest.fixture(scope="module")
def class_hub(request, tmp_path_factory):
    missing = missing_prerequisites()
    if missing:
        message = "the class hub test needs " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    screenshots = Path(os.environ.get("HUB_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "class-hub-screenshots")
    shutil.rmtree(screenshots, ignore_errors=True)
    token = secrets.token_hex(2)
    users = [f"nnh{token}-teacher", f"nnh{token}-alice", f"nnh{token}-bob"]
    passwords = {user: secrets.token_urlsafe(12) for user in users}
    folder = Path(tempfile.mkdtemp(prefix="nn-class-hub-"))
    hub = classhub.ClassHub(folder, users[0], users[1:], port=0,  # each port chosen free as the hub starts
                            data_dir=str(Path(os.environ["COURSE_DATA_DIR"]).resolve()))
    timings = []
    process = playwright = browser = summary = scenario = None
    log = open(folder / "jupyterhub.log", "w")
    try:
        t0 = time.monotonic()
        runtime = classhub.set_up(hub, passwords)
        timings.append(("0 accounts, course copy, exchange, runtime, proxy (classhub.set_up)", time.monotonic() - t0))
        t0 = time.monotonic()
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        process = classhub.start_until_up(hub, log, timeout=120)
        timings.append(("0 hub and proxy started, browser started", time.monotonic() - t0))
        scenario = Scenario(hub, passwords, Recorder(browser, screenshots), runtime, timings)
        summary = _Summary(scenario, started)
        request.config.pluginmanager.register(summary, "class-hub-summary")
        yield scenario
    finally:
        t0 = time.monotonic()
        if scenario and "background" in scenario.state:
            scenario.state["background"].shutdown(wait=True)  # the harness, before its account goes
        if browser:
            browser.close()
        if playwright:
            playwright.stop()
        if process:
            classhub.stop(process)
        log.close()
        if summary:  # the hub's log (it holds the users' servers' logs too), beside the screenshots
            shutil.copyfile(folder / "jupyterhub.log", scenario.recorder.screenshots / "jupyterhub.log")
        timings.append(("9a browser and hub stopped (the hub stops the users' servers)", time.monotonic() - t0))
        t0 = time.monotonic()
        for user in users:
            classhub.remove_account(user)
        timings.append(("9b accounts removed (their processes ended, homes deleted)", time.monotonic() - t0))
        t0 = time.monotonic()
        shutil.rmtree(folder, ignore_errors=True)
        timings.append(("9c class folder removed", time.monotonic() - t0))
        if summary:
            summary.ended = time.monotonic()


# ---------------------------------------------------------------------------------------------
# what the tests read from the course


def notebook_json(path):
    return json.loads(Path(path).read_text())


def cell_indexes(notebook):
    """Positions of the cells of a notebook by nbgrader grade_id, and the code cells that run
    without any solution (after the imports, before the first cell a student writes)."""
    index = {}
    cells = notebook["cells"]
    for i, cell in enumerate(cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id:
            index[grade_id] = i
    first_solution = min(i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                         and c["cell_type"] == "code")
    free = [i for i in range(index["imports"] + 1, first_solution) if cells[i]["cell_type"] == "code"]
    return index, free


FIGURE_CALL = re.compile(r"\bplotting\.\w+\(|\bplt\.(show|imshow|plot|subplots)\(")


def figure_cells(notebook, indexes):
    return [i for i in indexes if FIGURE_CALL.search("".join(notebook["cells"][i]["source"]))]


def hidden_test_lines(course, assignment):
    """Lines of the source notebook's hidden tests, and of the hidden checks module (if any),
    that a feedback page must never show."""
    lines = set()
    source = notebook_json(course / "source" / assignment / f"{assignment}.ipynb")
    for cell in source["cells"]:
        text = "".join(cell["source"])
        for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", text, re.S):
            lines.update(line.strip() for line in region.splitlines() if line.strip())
    module = course / "source" / assignment / "hidden_checks.py"
    if module.exists():
        visible = "".join((course / "release" / assignment / name).read_text()
                          for name in os.listdir(course / "release" / assignment) if name.endswith(".py"))
        for line in module.read_text().splitlines():
            line = line.strip()
            if len(line) >= 30 and not line.startswith("#") and line not in visible:
                lines.add(line)
    return lines


def read_grades(path):
    with open(path, newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def points_of(course, assignment, grade_id):
    notebook = notebook_json(course / "release" / assignment / f"{assignment}.ipynb")
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("grade_id") == grade_id:
            return float(nbgrader["points"])
    raise AssertionError(f"no cell {grade_id} in {assignment}")


# ---------------------------------------------------------------------------------------------
# the loop


def test_whole_loop_release_work_submit_grade_feedback(class_hub):
    """Release, fetch, work, validate, submit, collect, grade (harness and by hand), release
    feedback, read the score: does the whole loop work in a browser, without an error on any page?"""
    from playwright.sync_api import expect

    s = class_hub
    hub, recorder = s.hub, s.recorder
    a, b, teacher = s.student_a, s.student_b, s.instructor
    first_problem = len(recorder.problems)
    a01_notebook = notebook_json(s.course / "release" / A01 / f"{A01}.ipynb")
    a01_index, free_cells = cell_indexes(a01_notebook)
    a04_index, _ = cell_indexes(notebook_json(s.course / "release" / A04 / f"{A04}.ipynb"))
    server = s.server(teacher)

    with s.step("1 the students log in (their servers start), the instructor logs in to the formgrader"
                " and releases a01 and a04 (nbgrader release_assignment)"):
        # The class starts together: the students' servers start while the instructor releases.
        context_a, page_a = s.person(f"student A ({a})", "lab")
        context_b, page_b = s.person(f"student B ({b})", "lab")
        s.state.update(context_a=context_a, page_a=page_a, context_b=context_b, page_b=page_b)
        lab.log_in(page_a, hub.url, a, s.passwords[a], wait=False)
        lab.log_in(page_b, hub.url, b, s.passwords[b], wait=False)
        context_i, formgrader = s.person(f"instructor ({teacher})", "hub")
        s.state.update(context_i=context_i, formgrader=formgrader)
        lab.log_in(formgrader, hub.url, teacher, s.passwords[teacher],
                   next_path=f"/hub/spawn/{teacher}?next=" + quote(f"/user/{teacher}/formgrader/manage_assignments"),
                   ready="#main-table td.name",
                   on_login_page=lambda page: recorder.shot(page, "hub-login"))
        recorder.set_area(formgrader, "formgrader")
        for assignment in (A01, A04):
            report = lab.formgrader_action(formgrader, server, assignment, "release")
            assert "Success" in report, report
            lab.close_formgrader_dialog(formgrader)
        recorder.shot(formgrader, "formgrader-a01-a04-released")
        outbound = hub.exchange / hub.course_id / "outbound"
        assert (outbound / A01 / f"{A01}.ipynb").exists() and (outbound / A04 / f"{A04}.ipynb").exists()

    with s.step("2a student A fetches a04, writes a written answer, submits it"):
        lab.wait_for_lab(page_a)
        lab.open_assignment_list(page_a)
        lab.released_row(page_a, A01).wait_for()
        recorder.shot(page_a, "student-a-assignments-tab")
        a04 = lab.fetch_and_open(page_a, A04, A04)
        lab.edit_markdown(page_a, lab.cells(a04).nth(a04_index[WRITTEN_ANSWER_ID]), WRITTEN_ANSWER)
        lab.save(page_a)
        recorder.shot(page_a, "student-a-a04-written-answer")
        lab.show_tab(page_a, "Assignments")
        lab.submit(page_a, A04)

    with s.step("2b instructor collects a04 (formgrader), starts grading it with the harness (background)"):
        report = lab.formgrader_action(formgrader, server, A04, "collect")
        assert "Success" in report, report
        lab.close_formgrader_dialog(formgrader)
        assert (s.course / "submitted" / a / A04 / f"{A04}.ipynb").exists()
        background = ThreadPoolExecutor(1)
        s.state["background"] = background
        started = time.monotonic()
        a04_graded = background.submit(lambda: (
            s.run(teacher, ["python", "-m", "autograder", "grade", A04, "--out", f"grades/{A04}", "--jobs", "1"]),
            time.monotonic() - started))

    with s.step("2c student A opens a01, types init_w in the editor, runs its test"):
        lab.show_tab(page_a, "Assignments")
        panel = lab.fetch_and_open(page_a, A01, A01)
        lab.wait_for_kernel(page_a, panel, s.server(a), f"{A01}/{A01}.ipynb")
        cells = lab.cells(panel)
        lab.replace_source(page_a, cells.nth(a01_index["init_w"]), INIT_W)
        for grade_id in ("setup", "imports", "init_w", "test_init_w"):
            lab.run_cell(page_a, cells.nth(a01_index[grade_id]))
        output = cells.nth(a01_index["test_init_w"]).locator(".jp-OutputArea").inner_text()
        recorder.shot(page_a, "student-a-init_w-visible-tests-passed")
        assert "init_w: visible tests passed" in output, output

    with s.step("3 student A saves, clicks Validate, submits a01 in the Assignments tab"):
        lab.save(page_a)
        message = lab.validate(page_a, panel)
        recorder.shot(page_a, "student-a-validate")
        # Only init_w is written: validation names the test cells of the other functions, not init_w's.
        assert "test_propagate" in message and "test_init_w" not in message, message
        lab.close_dialog(page_a)
        lab.show_tab(page_a, "Assignments")
        lab.submit(page_a, A01)
        recorder.shot(page_a, "student-a-submitted")
        # For test_release_notebook_shows_one_image_per_figure_cell: run, without waiting, the
        # cells that need no solution (data loading, the first pictures); that test looks later.
        lab.show_tab(page_a, f"{A01}.ipynb")
        for i in free_cells:
            lab.start_cell(page_a, cells.nth(i))
        s.state.update(panel_a=panel, release_notebook=a01_notebook, free_cells=free_cells)

    with s.step("4 student B fetches a01, submits it blank"):
        lab.wait_for_lab(page_b)
        lab.open_assignment_list(page_b)
        lab.fetch_assignment(page_b, A01)
        lab.submit(page_b, A01)
        recorder.shot(page_b, "student-b-submitted-blank")

    with s.step("5a instructor collects a01 (formgrader)"):
        report = lab.formgrader_action(formgrader, server, A01, "collect")
        assert "Success" in report, report
        lab.close_formgrader_dialog(formgrader)
        for student in (a, b):
            assert (s.course / "submitted" / student / A01 / f"{A01}.ipynb").exists()

    with s.step("5b instructor grades a01 with the harness, after a04's grading (from 2b) ends"):
        _done, a04_seconds = a04_graded.result()
        s.run(teacher, ["python", "-m", "autograder", "grade", A01, "--out", f"grades/{A01}"])
        grades = read_grades(s.course / "grades" / A01 / "grades.csv")
        init_w_points = points_of(s.course, A01, "test_init_w")
        assert grades[a]["status"] == "graded" and float(grades[a]["score"]) == init_w_points, grades[a]
        assert grades[b]["status"] == "graded" and float(grades[b]["score"]) == 0, grades[b]
        a04_grades = read_grades(s.course / "grades" / A04 / "grades.csv")
        assert a04_grades[a]["status"] == "graded" and "by hand" in a04_grades[a]["message"], a04_grades[a]
        s.state.update(a01_grades=grades)
    s.timings.append(("  (2b-5b, in the background) instructor grades a04 with the harness", a04_seconds))

    with s.step("5c instructor grades the written a04 answer by hand in the formgrader"):
        # the harness's a01 scores are in nbgrader's gradebook: the formgrader lists them
        formgrader.goto(f"{server}/formgrader/gradebook/{A01}/{A01}")
        row = formgrader.locator("#main-table tr", has=formgrader.locator("a.name-shown", has_text=a))
        assert f"{init_w_points:g} / " in row.locator("td.score").inner_text()
        lab.formgrader_submission(formgrader, server, A04, A04, a)
        answer = formgrader.locator(".nbgrader_cell", has=formgrader.locator(f"input#{WRITTEN_ANSWER_ID}"))
        answer.scroll_into_view_if_needed()
        recorder.shot(formgrader, "formgrader-a04-written-answer-to-grade")
        assert WRITTEN_ANSWER[:40] in answer.inner_text()
        lab.give_score(formgrader, WRITTEN_ANSWER_ID, HAND_SCORE)
        formgrader.reload()  # the score shown after a reload is the one the gradebook holds
        expect(formgrader.locator(f"input.score#{WRITTEN_ANSWER_ID}")).to_have_value(f"{HAND_SCORE:g}")
        answer.scroll_into_view_if_needed()
        recorder.shot(formgrader, "formgrader-a04-graded-by-hand")

    with s.step("5d instructor generates and releases feedback (formgrader buttons)"):
        # See test_graded_submissions_keep_what_release_feedback_needs: until the harness keeps
        # them, the instructor puts back the two files of each submission that nbgrader's
        # release_feedback reads (it fails without them).
        lacking = sorted(str(folder.relative_to(s.course)) for folder in (s.course / "autograded").glob("*/*")
                         if not (folder / "timestamp.txt").exists())
        s.state["autograded_lacking_timestamp"] = lacking
        for relative in lacking:
            student, assignment = Path(relative).parts[1:]
            submitted = s.course / "submitted" / student / assignment
            s.run(teacher, ["cp", str(submitted / "timestamp.txt"), str(submitted / "submission_secret.txt"),
                            str(s.course / relative)])
        for assignment in (A01, A04):
            for column in ("generate-feedback", "release-feedback"):
                report = lab.formgrader_action(formgrader, server, assignment, column)
                assert "Success" in report, report
                lab.close_formgrader_dialog(formgrader)
        recorder.shot(formgrader, "formgrader-feedback-released")

    with s.step("6 student A fetches the feedback and reads the score"):
        lab.show_tab(page_a, "Assignments")
        lab.refresh_assignment_list(page_a)
        link = lab.fetch_feedback(page_a, A01)
        score, max_score = float(grades[a]["score"]), float(grades[a]["max_score"])
        with recorder.area(page_a, "feedback"):
            link.click()
            lab.open_in_file_browser(page_a, f"{A01}.html")
            heading = page_a.frame_locator(".jp-HTMLViewer iframe").locator("h4").first
            heading.wait_for()
            recorder.shot(page_a, "student-a-feedback-score")
            assert f"Score: {score:.1f} / {max_score:.1f}" in heading.inner_text(), heading.inner_text()
        # the same page in a tab of its own, as a student opens it from the file browser
        feedback_files = sorted(hub.home(a).glob(f"{A01}/feedback/*/{A01}.html"))
        assert len(feedback_files) == 1, feedback_files
        relative = feedback_files[0].relative_to(hub.home(a))
        feedback = recorder.page(context_a, "feedback page", "feedback")
        feedback.goto(f"{s.server(a)}/files/{quote(str(relative))}")
        feedback.wait_for_load_state("load")
        recorder.shot(feedback, "student-a-feedback-page")
        s.state["feedback"] = feedback

    # Feedback shows no hidden test: neither nbgrader's markers nor any line of the hidden tests,
    # in the page student A read nor in any feedback file released into the exchange.
    pages = {"student A's feedback page": feedback.content()}
    for released in (hub.exchange / hub.course_id / "feedback").glob("*.html"):
        pages[f"released feedback {released.name}"] = released.read_text()
    secret_lines = hidden_test_lines(s.course, A01) | hidden_test_lines(s.course, A04)
    for name, html in pages.items():
        assert "HIDDEN TESTS" not in html, name
        shown = [line for line in secret_lines if line in html]
        assert not shown, f"{name} shows hidden test code: {shown}"

    problems = [str(p) for p in recorder.problems[first_problem:] if p.area in ("hub", "lab")]
    assert not problems, "errors on the hub's and JupyterLab's pages:\n" + "\n".join(problems)


def needs(s, *keys):
    missing = [key for key in keys if key not in s.state]
    if missing:
        pytest.fail(f"the loop (test_whole_loop_...) did not get as far as this check needs ({', '.join(missing)})")


def test_each_role_has_only_its_own_nbgrader_extensions(class_hub):
    """Do students get only the Assignments tab and Validate, and the instructor the formgrader
    and Create Assignment too (each account's own ~/.jupyter, admin/hub/roles/)?"""
    s = class_hub
    needs(s, "page_b", "context_i")
    page_b = s.state["page_b"]
    first_problem = len(s.recorder.problems)
    with s.step("7 roles: the menus of a student and of the instructor, their formgrader URLs"):
        page_i = s.recorder.page(s.state["context_i"], "instructor's JupyterLab", "lab")
        page_i.goto(f"{s.server(s.instructor)}/lab")
        page_i.wait_for_selector(lab.LAB_SHELL)
        lab.show_tab(page_b, "Assignments")
        assert lab.menu_items(page_b, "Nbgrader") == ["Assignment List"]
        assert {"Assignment List", "Formgrader", "Create assignment"} <= set(lab.menu_items(page_i, "Nbgrader"))
        assert page_b.request.get(f"{s.server(s.student_b)}/formgrader").status == 404
        assert page_i.request.get(f"{s.server(s.instructor)}/formgrader").status == 200
    problems = [str(p) for p in s.recorder.problems[first_problem:] if p.area in ("hub", "lab")]
    assert not problems, "\n".join(problems)


PROBE = """
import glob, os
def probe(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as handle:
                handle.read(1)
        return "READ"
    except OSError as error:
        return type(error).__name__
print("uid", os.getuid())
for path in {paths!r}:
    print(probe(path), path)
print("found", glob.glob({pattern!r}))
"""


def test_a_student_cannot_read_other_students_work_the_course_or_another_server(class_hub):
    """From a kernel of their own and through the hub, can student B read student A's work, the
    course's source/, the gradebook, submissions, or open A's or the instructor's server?"""
    s = class_hub
    needs(s, "page_b", "feedback")
    hub, page_b, recorder = s.hub, s.state["page_b"], s.recorder
    a, b = s.student_a, s.student_b
    first_problem = len(recorder.problems)
    with s.step("8 student B tries to read what is not theirs: from a kernel, through the hub"):
        course, exchange = s.course, hub.exchange / hub.course_id
        paths = [hub.home(a), hub.home(a) / A01 / f"{A01}.ipynb", hub.home(a) / ".local/share/jupyter/nbgrader_cache",
                 course, course / "source" / A01 / f"{A01}.ipynb", course / "gradebook.db",
                 course / "submitted" / a / A01 / f"{A01}.ipynb", course / "autograded" / a / A01 / f"{A01}.ipynb",
                 course / "feedback" / a / A01 / f"{A01}.html", exchange / "inbound", exchange / "feedback"]
        paths += sorted(course.glob(f"source/{A01}/hidden_checks.py"))
        for path in paths:
            assert path.exists(), f"{path} should exist for this check to mean something"

        # A notebook of B's own, from the Launcher, and the probe typed into it.
        lab.open_launcher(page_b)
        page_b.locator(".jp-Launcher:visible .jp-Launcher-section", has_text="Notebook").locator(".jp-LauncherCard").first.click()
        page_b.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Untitled").first.wait_for()
        panel = lab.notebook_panel(page_b, "Untitled")
        lab.wait_for_kernel(page_b, panel, s.server(b), "Untitled.ipynb")
        cell = lab.cells(panel).first
        lab.replace_source(page_b, cell, PROBE.format(paths=[str(p) for p in paths],
                                                      pattern=str(exchange / "inbound" / f"{a}+*")))
        lab.run_cell(page_b, cell)
        output = cell.locator(".jp-OutputArea").inner_text()
        recorder.shot(page_b, "student-b-kernel-cannot-read")
        lines = output.strip().splitlines()
        assert lines[0] == f"uid {pwd.getpwnam(b).pw_uid}", output
        read = [line for line in lines[1:-1] if not line.startswith("PermissionError ")]
        assert not read, "student B's kernel could open:\n" + "\n".join(read)
        assert lines[-1] == "found []", output

        # Through the hub: A's server and the instructor's, as B (B's login cookie).
        for url in (f"{s.server(a)}/lab", f"{s.server(a)}/api/contents/{A01}", f"{s.server(a)}/api/kernels",
                    f"{s.server(a)}/files/{A01}/{A01}.ipynb", f"{s.server(s.instructor)}/formgrader",
                    f"{s.server(s.instructor)}/api/contents/course/gradebook.db"):
            reply = page_b.request.get(url)
            assert reply.status == 403, f"{url}: {reply.status} for student B"
        assert page_b.request.get(f"{hub.url}/hub/api/users/{a}").status in (403, 404)
        other = recorder.page(s.state["context_b"], "student B opens A's server", "hub")
        with recorder.expecting(other, r"status of 403 \(Forbidden\)"):
            other.goto(f"{s.server(a)}/lab")
            assert "403" in other.inner_text("body")
            recorder.shot(other, "student-b-forbidden-on-a-server")
    problems = [str(p) for p in recorder.problems[first_problem:] if p.area in ("hub", "lab")]
    assert not problems, "\n".join(problems)


def test_graded_submissions_keep_what_release_feedback_needs(class_hub):
    """After the harness, does each graded submission (autograded/<student>/<a>/) still have the
    timestamp.txt and submission_secret.txt that nbgrader's release_feedback reads?
    (nbgrader's own autograde copies them; without them release_feedback stops with
    FileNotFoundError: .../feedback/<student>/<a>/timestamp.txt.)"""
    s = class_hub
    needs(s, "autograded_lacking_timestamp")
    assert s.state["autograded_lacking_timestamp"] == [], (
        "graded by the harness without timestamp.txt / submission_secret.txt: "
        + ", ".join(s.state["autograded_lacking_timestamp"]))


def test_formgrader_pages_work_offline(class_hub):
    """Do the formgrader's pages load with no console error and nothing from the network (MathJax
    served locally, no CDN)?"""
    s = class_hub
    needs(s, "formgrader")
    problems = [str(p) for p in s.recorder.in_area("formgrader")]
    assert not problems, "\n".join(problems)


def test_release_notebook_shows_one_image_per_figure_cell(class_hub):
    """In student A's JupyterLab, does each figure cell of the release notebook that runs without a
    solution (the pictures of the data) show exactly one image?"""
    s = class_hub
    needs(s, "panel_a", "free_cells")
    notebook = s.state["release_notebook"]
    panel = lab.notebook_panel(s.state["page_a"], f"{A01}.ipynb")
    figures = figure_cells(notebook, s.state["free_cells"])
    assert figures, "no figure cell runs without a solution: nothing to check"
    counts = {}
    with s.step("8b the figure cells A started in 3 have run (data loading, pictures)"):
        for i in figures:
            cell = lab.cells(panel).nth(i)
            cell.scroll_into_view_if_needed()
            lab.wait_for_cell(cell, timeout_ms=300_000)
            counts[i] = cell.locator(".jp-OutputArea-output img").count()
        s.recorder.shot(s.state["page_a"], "student-a-figure-cell")
    assert all(count == 1 for count in counts.values()), f"images per figure cell (cell index: count): {counts}"


def test_feedback_page_renders_maths_offline(class_hub):
    """Does student A's feedback page show its maths rendered (MathML or MathJax output, no raw TeX),
    with no console error and nothing loaded from the network?"""
    s = class_hub
    needs(s, "feedback")
    feedback = s.state["feedback"]
    maths = feedback.locator("math, mjx-container, .MathJax, .MathJax_Display")
    rendered = maths.count()
    if rendered:
        maths.first.scroll_into_view_if_needed()
        s.recorder.shot(feedback, "student-a-feedback-maths")
    raw_tex = re.findall(r"\$\$|\\frac|\\sigma|\\hat", feedback.inner_text("body"))
    problems = [str(p) for p in s.recorder.in_area("feedback")]
    assert rendered > 0 and not raw_tex and not problems, (
        f"rendered maths elements: {rendered}; raw TeX shown: {raw_tex[:5]}; problems:\n" + "\n".join(problems))


@pytest.mark.needs_root
def test_the_course_folder_in_the_exchange_is_the_instructors_before_any_release(tmp_path):
    """Made at set-up for the instructor, so that no student can make it first and own it; one a
    student made already stops the set-up with a message naming them."""
    hub = classhub.ClassHub(tmp_path / "class", "daemon", ["nobody"])
    hub.folder.mkdir()
    classhub.prepare_exchange(hub)
    course = hub.exchange / hub.course_id
    info = os.lstat(course)
    assert (info.st_uid, oct(info.st_mode & 0o7777)) == (pwd.getpwnam("daemon").pw_uid, "0o755")
    assert oct(os.lstat(hub.exchange).st_mode & 0o7777) == "0o1777"
    classhub.prepare_exchange(hub)  # again: the instructor's folder is kept
    os.chown(course, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
    with pytest.raises(SystemExit, match="belongs to nobody, not to the instructor daemon"):
        classhub.prepare_exchange(hub)


# A stand-in for JupyterHub in the test below: it binds the class's three ports as the hub and its
# proxy do, stops as they do when one is taken, else answers the API's root as the hub does.
STAND_IN = r"""
import http.server, json, os, socket, sys
settings = json.load(open(os.environ["CLASS_HUB_SETTINGS"]))
held = []
for name in ("port", "hub_port", "proxy_api_port"):
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", settings[name]))
    except OSError as error:
        print(f"[E] Failed to bind {name} {settings[name]}: {error}", flush=True)
        sys.exit(1)
    held.append(sock)
held[0].close()
class Root(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/hub/api/" else 404)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", settings["port"]), Root).serve_forever()
"""


def test_a_port_taken_before_the_hub_binds_it_is_chosen_again(tmp_path, monkeypatch):
    """Nothing holds the ports the class hub chose until it binds them: one another program took
    meanwhile (here, the first choice of the hub's own port) makes the hub stop; it starts again
    on ports chosen afresh. A port given (``--port``) is kept, and its being in use said."""
    hub = classhub.ClassHub(tmp_path / "class", "teacher", ["alice"], port=0)
    hub.state.mkdir(parents=True)
    hub.settings_file.write_text(json.dumps({"state": str(hub.state)}))
    monkeypatch.setattr(classhub, "start", lambda hub, log: subprocess.Popen(
        [sys.executable, "-c", STAND_IN], env=dict(os.environ, CLASS_HUB_SETTINGS=str(hub.settings_file)),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    taker = socket.socket()
    taker.bind(("127.0.0.1", 0))
    taker.listen()
    choices, real = [], classhub.free_ports

    def first_taken(count):
        ports = real(count)
        if not choices:
            ports[1] = taker.getsockname()[1]  # the hub's own port, in use already
        choices.append(ports)
        return ports

    monkeypatch.setattr(classhub, "free_ports", first_taken)
    with taker, open(hub.state / "jupyterhub.log", "w") as log:
        process = classhub.start_until_up(hub, log, timeout=30)
        try:
            assert len(choices) == 2 and process.poll() is None
            assert [hub.port, hub.hub_port, hub.proxy_api_port] == choices[1]
            assert json.loads(hub.settings_file.read_text())["hub_port"] == choices[1][1]
            said = (hub.state / "jupyterhub.log").read_text()
            assert f"Failed to bind hub_port {choices[0][1]}" in said and "Address already in use" in said
        finally:
            classhub.stop(process)
        given = classhub.ClassHub(hub.folder, "teacher", ["alice"], port=taker.getsockname()[1])
        with pytest.raises(classhub.PortHeld, match=rf"127\.0\.0\.1:{given.port}, the hub's public port, is held by "
                           rf"{pwd.getpwuid(os.geteuid()).pw_name} \(pid {os.getpid()}\)"):
            classhub.start_until_up(given, log, timeout=30)  # a program listens there: refused before the start
        assert len(choices) == 2
        with socket.socket() as bound:  # bound, not listening: the hub finds it out as it binds
            bound.bind(("127.0.0.1", 0))
            given.port = bound.getsockname()[1]
            with pytest.raises(classhub.HubExited, match=rf"in use \(port {given.port}, .*choose another with --port"):
                classhub.start_until_up(given, log, timeout=30)
        assert len(choices) == 5 and all(len(ports) == 2 for ports in choices[2:])  # tried 3 times, --port kept


# A student's program in the test below: it listens on the port given and answers every request
# with 200, as a look-alike login page would (the hub's API root included); it says its pid.
SQUATTER = r"""
import http.server, os, sys
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"a look-alike login page")
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Page)
print(os.getpid(), flush=True)
server.serve_forever()
"""

# A stand-in for JupyterHub whose proxy found the public port taken: it says so as the proxy
# does, and runs on without it, as JupyterHub does.
PROXY_LOST = r"""
import time
print("[ConfigProxy] error: Uncaught Exception: listen EADDRINUSE: address already in use", flush=True)
time.sleep(300)
"""


@pytest.mark.needs_root
def test_a_public_port_another_account_listens_on_is_never_taken_for_the_hubs(tmp_path, monkeypatch):
    """While the hub is down, a student's program may take its public port and serve a look-alike
    login page, which would collect the passwords typed into it. Taken before `up`, the hub does
    not start; taken between that check and the proxy's start, the proxy cannot bind, the hub runs
    on, and the program's 200 on /hub/api/ is not taken for the hub's: the hub is stopped. Both
    errors name the program (its account and pid). A proxy that could not bind is fatal at once."""
    python = classhub.runtime_prefix() / "bin" / "python"  # one that another account may run
    hub = classhub.ClassHub(tmp_path / "class", "teacher", ["alice"], port=classhub.free_ports(1)[0])
    hub.state.mkdir(parents=True)
    hub.settings_file.write_text(json.dumps({"state": str(hub.state)}))
    squatters, hubs = [], []

    def squat():
        squatter = subprocess.Popen(["runuser", "-u", "nobody", "--", str(python), "-c", SQUATTER, str(hub.port)],
                                    cwd="/", stdout=subprocess.PIPE, text=True, start_new_session=True)
        squatters.append(squatter)
        return int(squatter.stdout.readline())

    def end(process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 10
        while classhub.listeners(hub.port) and time.monotonic() < deadline:  # the program, runuser's child,
            time.sleep(0.05)                                                  # ends a moment later

    def start(hub, log):
        hubs.append(subprocess.Popen([sys.executable, "-c", PROXY_LOST], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True))
        return hubs[-1]

    held_by = rf"127\.0\.0\.1:{hub.port}, the hub's public port, is held by nobody \(pid {{0}}\).*kill {{0}}"
    try:
        with open(hub.state / "jupyterhub.log", "w") as log:
            pid = squat()
            monkeypatch.setattr(classhub, "start", start)
            with pytest.raises(classhub.PortHeld, match=held_by.format(pid)):
                classhub.start_until_up(hub, log, timeout=30)
            assert not hubs  # refused before the start
            end(squatters[-1])

            taken = []
            monkeypatch.setattr(classhub, "start", lambda hub, log: taken.append(squat()) or start(hub, log))
            with pytest.raises(classhub.PortHeld, match=held_by.format("(\\d+)")) as refused:
                classhub.start_until_up(hub, log, timeout=30)
            assert str(taken[0]) in str(refused.value) and hubs[0].poll() is not None  # the hub stopped
            end(squatters[-1])

            monkeypatch.setattr(classhub, "start", start)
            began = time.monotonic()
            with pytest.raises(classhub.HubExited, match=r"proxy could not bind .*in use \(port .*choose another"):
                classhub.start_until_up(hub, log, timeout=30)
            assert time.monotonic() - began < 10 and all(process.poll() is not None for process in hubs)
    finally:
        for process in squatters:
            if process.poll() is None:
                end(process)


@pytest.mark.needs_root
def test_set_up_writes_into_a_home_as_its_account_and_follows_no_link_there():
    """`up` runs as root, and again at each restart, in homes whose owners may have put links
    where it writes: ~/.tmp to the instructor's home, a ~/.jupyter file to a root file. Written
    as the account, such a link leads nowhere that account could not write anyway: nothing of
    root's or another account's changes hands or content."""
    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="class-hub-links-", dir="/tmp"))
    try:
        base.chmod(0o755)
        home, victim, victim_file = base / "home", base / "instructor-home", base / "root-file"
        victim.mkdir(mode=0o700)
        victim_file.write_text("root's\n")
        victim_file.chmod(0o600)
        home.mkdir()
        (home / ".jupyter").mkdir()
        (home / ".tmp").symlink_to(victim)
        (home / ".jupyter" / "jupyter_server_config.json").symlink_to(victim_file)
        for path in (home, home / ".jupyter", home / ".tmp", home / ".jupyter" / "jupyter_server_config.json"):
            os.lchown(path, nobody.pw_uid, nobody.pw_gid)
        home.chmod(0o700)

        assert not classhub.private_folder_as("nobody", home / ".tmp")
        assert not classhub.write_as("nobody", home / ".jupyter" / "jupyter_server_config.json", b"{}")
        assert (os.stat(victim).st_uid, oct(os.stat(victim).st_mode & 0o7777)) == (0, "0o700")
        assert os.stat(victim_file).st_uid == 0 and victim_file.read_text() == "root's\n"

        assert classhub.private_folder_as("nobody", home / "fresh")  # where nothing is in the way
        assert classhub.write_as("nobody", home / ".jupyter" / "labconfig" / "page_config.json", b"{}")
        made = [os.stat(home / "fresh"), os.stat(home / ".jupyter" / "labconfig" / "page_config.json")]
        assert [(m.st_uid, oct(m.st_mode & 0o777)) for m in made] == [(nobody.pw_uid, "0o700"), (nobody.pw_uid, "0o644")]
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.needs_root
def test_is_a_submission_folder_the_grader_may_not_open_refused_alone():
    """On a shared machine a student can make, in the exchange's inbound folder, a submission
    folder only they may open: the grader (another account) refuses that one with the reason,
    and does not stop (nbgrader collect stopped for the whole class on it)."""
    python = classhub.runtime_prefix() / "bin" / "python"  # one that another account may run
    base = Path(tempfile.mkdtemp(prefix="gate-unreadable-", dir="/tmp"))
    try:
        base.chmod(0o755)
        (base / "locked").mkdir(mode=0o700)
        (base / "open").mkdir(mode=0o755)
        (base / "open" / "a01_santa_logreg.ipynb").write_text("{}")
        (base / "open").chmod(0o755)
        check = ("import sys; from autograder.gate.files import check_submission; "
                 "print([check_submission(sys.argv[1] + '/' + name, within=sys.argv[1]) for name in ('locked', 'open')])")
        seen = subprocess.run(["runuser", "-u", "nobody", "--", str(python), "-c", check, str(base)],
                              cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert seen.returncode == 0, seen.stderr[-2000:]
        assert seen.stdout.strip() == "[['locked could not be opened as a folder (Permission denied)'], []]", seen.stdout
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.needs_root
def test_up_refuses_a_repository_whose_hidden_tests_other_accounts_can_read(monkeypatch):
    """The hub runs from the repository, which holds source/ and the hidden checks: while the
    students' accounts could read them there, `up` does not start."""
    base = Path(tempfile.mkdtemp(prefix="class-hub-repo-", dir="/tmp"))
    try:
        base.chmod(0o755)
        repo = base / "repo"
        (repo / "source").mkdir(parents=True)
        (repo / "gradebook.db").write_text("")
        repo.chmod(0o755)
        (repo / "source").chmod(0o755)
        (repo / "gradebook.db").chmod(0o600)
        assert classhub.exposed_to_students(repo) == ["source"]
        monkeypatch.setattr(classhub, "REPO", repo)
        with pytest.raises(SystemExit, match=r"could read source in .*: make the repository yours alone first"):
            classhub.up(argparse.Namespace(folder=str(base / "class")))
        repo.chmod(0o700)
        assert classhub.exposed_to_students(repo) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_runtime_another_hub_runs_from_is_not_removed_as_stale(tmp_path):
    """Making this venv's runtime removed every other one in the cache: another course's hub on the
    machine (a venv of other packages, a runtime of another key) lost its servers' interpreter."""
    cache = tmp_path / "cache"
    used, stale, kept = (cache / f"runtime-{key}" for key in ("other-course", "old", "this"))
    for runtime in (used, stale, kept):
        (runtime / "bin").mkdir(parents=True)
    shutil.copy2("/bin/sleep", used / "bin" / "sleep")
    running = subprocess.Popen([str(used / "bin" / "sleep"), "30"])
    try:
        assert classhub.running_from(used) and not classhub.running_from(stale)
        classhub.remove_stale_runtimes(cache, keep=kept)
        assert used.is_dir() and kept.is_dir() and not stale.exists()
    finally:
        running.kill()
        running.wait()
    classhub.remove_stale_runtimes(cache, keep=kept)
    assert sorted(p.name for p in cache.iterdir()) == ["runtime-this"]
