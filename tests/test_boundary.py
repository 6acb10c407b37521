"""The grader's boundary as an acceptance suite: everything a student controls, graded twice.

Every case of ``known_submissions/boundary.py`` (files and folders handed in, values and calls
that cross from the kernel, HTML of outputs) is graded by the harness and by plain
``nbgrader autograde`` with the course's configuration, given the folders the harness's kernels
share (``shared_folders``). Each must get its expected status and
score under both, and the machine must stay as it was: a canary file's mode and content, free
disk (within a stated budget), no process left running and nothing left in the scratch space.
"""
import os
import re
import secrets
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from boundary_runs import (MARKER, canary_untouched, environment, forget_students, make_canary,
                           other_workers_bytes, own_processes, scratch_entries, shows_solution)
from autograder.pages import text_blocks
from known_submissions import boundary

pytestmark = pytest.mark.needs_bwrap
DISK_BUDGET_MB = 200  # grading the catalogue may lower free disk by this much at most (what the
# other pytest-xdist workers write meanwhile not counted: boundary_runs.other_workers_bytes)
# Seconds a cell may run, in both graders: short for a01, whose cases that hang hit it; the
# course's own for the assignments whose test cells build Keras models. For a01 too, the seconds
# a cell's last output may take after its end (a kernel stuck after an interrupt is waited for
# that long, once in the harness, in every later cell in plain nbgrader).
CELL_TIMEOUT = {boundary.ASSIGNMENT: 10}
IOPUB_TIMEOUT = {boundary.ASSIGNMENT: 10}


def iopub_setting(assignment):
    return [f"--Execute.iopub_timeout={IOPUB_TIMEOUT[assignment]}"] if assignment in IOPUB_TIMEOUT else []


def graded_by_plain_nbgrader(assignment, submitted, work, db_url, settings=(), processes=2):
    """Plain nbgrader autograde from the course root over ``submitted``; {student: (status, score)}
    and nbgrader's log. The students are shared among ``processes`` nbgrader processes that run at
    once (each grades one at a time, with its own gradebook and autograded folder, the others'
    students excluded), as many kernels at a time as the harness's two workers. ``settings``
    (``--Class.trait=value``) come after the course's configuration."""
    from concurrent.futures import ThreadPoolExecutor

    from nbgrader.api import Gradebook, MissingEntry

    from autograder.gradebook.records import record_assignment
    from autograder.worker.nbgrader_cli import run_nbgrader

    students = sorted(p.name for p in submitted.iterdir())
    groups = [students[i::processes] for i in range(processes)]
    limit = [f"--Execute.timeout={CELL_TIMEOUT[assignment]}"] if assignment in CELL_TIMEOUT else []
    limit += [*iopub_setting(assignment), *settings]

    def grade(index):
        group_db = f"{db_url}.plain-{index}"
        record_assignment(assignment, group_db)
        others = [s for s in students if s not in groups[index]]
        run = run_nbgrader("autograde", assignment, "--force", *limit,
                           f"--CourseDirectory.db_url={group_db}",
                           f"--CourseDirectory.student_id_exclude={','.join(others)}",
                           f"--CourseDirectory.submitted_directory={submitted}",
                           f"--CourseDirectory.autograded_directory={work / f'autograded-{index}'}", timeout=1800)
        found = {}
        with Gradebook(group_db) as gradebook:
            for student in groups[index]:
                graded = (work / f"autograded-{index}" / student / assignment).is_dir()
                try:
                    score = gradebook.find_submission(assignment, student).score if graded else 0.0
                except MissingEntry:
                    score = 0.0
                found[student] = ("graded" if graded else boundary.REFUSED, float(score))
        return found, run.stdout + run.stderr

    with ThreadPoolExecutor(processes) as pool:
        runs = list(pool.map(grade, range(processes)))
    found = {student: result for part, _ in runs for student, result in part.items()}
    assert sorted(found) == students
    return found, "".join(log for _, log in runs)


def shared_folders(assignment, stats):
    """The settings that give plain nbgrader's kernels the folders the harness's kernels of
    ``assignment`` shared (``stats``: what grade_class said of its run), as an instructor's
    ``nbgrader_config.py`` may name them: the decoded data and the reference's recorded Keras
    calls and figures, read-only in each kernel's sandbox. The kernels' boundary is then the same
    under both graders, shared folders included, and plain nbgrader's kernels neither decode the
    pictures again nor train the reference's Keras models again, each of them."""
    from autograder.sandbox import shared_data

    folders = {"decoded_data": shared_data.prepare(assignment, os.environ.get("COURSE_DATA_DIR")),
               "keras_replay": stats.get("keras_replay", "")}
    return tuple(f"--Sandbox.{name}={folder}" for name, folder in folders.items() if folder)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, data_cache):
    """Every boundary case, graded by the harness and by plain nbgrader, assignment by assignment,
    with the machine's state before and after."""
    from autograder.grading import grade_class
    from autograder.worker.processes import start_fork_server

    start_fork_server()  # a helper of this process that outlives the runs, as in test_worker
    work = tmp_path_factory.mktemp("boundary")
    cases = [c for c in boundary.CASES if not (c.needs_root and os.geteuid() != 0)]
    token = secrets.token_hex(8)
    scratch_before = scratch_entries()
    free_before = shutil.disk_usage(work).free
    own_students = {c.name for c in cases}
    others_before = other_workers_bytes(tmp_path_factory.getbasetemp(), own_students)
    harness, plain, logs, canaries, timings = {}, {}, {}, [], {}
    for assignment in sorted({c.assignment for c in cases}):
        mine = [c for c in cases if c.assignment == assignment]
        place = work / assignment
        submitted = place / "submitted"
        for case in mine:
            folder = submitted / case.name / assignment
            folder.mkdir(parents=True)
            canaries.append(make_canary(folder))
            case.build(folder)
        db_url = f"sqlite:///{place / 'gradebook.db'}"
        names = [c.name for c in mine]
        try:
            with environment(NBGRADER_DB_URL=db_url, **{MARKER: token}):
                started = time.monotonic()
                stats = {}
                harness.update({r.student_id: r for r in grade_class(
                    assignment, submitted, place / "out", jobs=2, cell_timeout=CELL_TIMEOUT.get(assignment), timeout=300,
                    show_progress=False, students=set(names), settings=tuple(iopub_setting(assignment)), stats=stats)})
                timings[f"{assignment} harness"] = time.monotonic() - started
                started = time.monotonic()
                found, logs[assignment] = graded_by_plain_nbgrader(assignment, submitted, place, db_url,
                                                                   shared_folders(assignment, stats))
                plain.update(found)
                timings[f"{assignment} plain nbgrader"] = time.monotonic() - started
        finally:
            forget_students(names)
    deadline = time.monotonic() + 10
    while own_processes(token) and time.monotonic() < deadline:
        time.sleep(0.2)
    others_mb = (other_workers_bytes(tmp_path_factory.getbasetemp(), own_students) - others_before) / 2**20
    disk_lowered_mb = (free_before - shutil.disk_usage(work).free) / 2**20 - others_mb
    print(f"\ngrader boundary: {len(cases)} cases; " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
          + f"; free disk lowered by {disk_lowered_mb:.0f} MB (and by {others_mb:.0f} MB by the other workers)")
    for case in cases:
        print(f"  {case.name:38} expected {case.expected_status} {case.expected_score:g}; harness "
              f"{harness[case.name].status} {harness[case.name].score:g} ({harness[case.name].seconds:.0f} s); plain nbgrader "
              f"{' '.join(map(str, plain[case.name]))}")
    return dict(cases=cases, harness=harness, plain=plain, logs=logs, work=work, canaries=canaries,
                disk_lowered_mb=disk_lowered_mb,
                leftover_processes=own_processes(token),
                new_scratch=sorted(set(scratch_entries()) - set(scratch_before)))


@pytest.mark.parametrize("case", boundary.CASES, ids=[c.name for c in boundary.CASES])
def test_the_harness_gives_each_case_its_status_score_and_message(graded, case):
    if case not in graded["cases"]:
        pytest.skip("only root can build this case (a device file)")
    result = graded["harness"][case.name]
    assert (result.status, result.score) == (case.expected_status, case.expected_score), (
        f"{case.name} ({case.description}): expected {case.expected_status} {case.expected_score:g}, got "
        f"{result.status} {result.score:g} ({result.message})")
    assert case.message in result.message
    feedback = graded["work"] / case.assignment / "out" / "feedback" / case.name
    if case.expected_status == "invalid":  # nothing of the instructor's reached a refused student
        assert shows_solution(feedback) == []
    for page in feedback.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert "<script" not in text.lower(), page  # feedback pages hold no script at all
        assert "hidden_checks" not in text and "BEGIN HIDDEN TESTS" not in text, page
        # a04's page holds about a dozen figures (about 2 MB): a page past this was flooded
        assert len(text) < 5_000_000, f"{page}: {len(text)} characters"


@pytest.mark.parametrize("case", boundary.CASES, ids=[c.name for c in boundary.CASES])
def test_plain_nbgrader_gives_each_case_its_status_and_score(graded, case):
    if case not in graded["cases"]:
        pytest.skip("only root can build this case (a device file)")
    status, score = graded["plain"][case.name]
    expected = (boundary.REFUSED, 0.0) if case.plain_nbgrader == boundary.REFUSED else ("graded", case.expected_score)
    assert (status, score) == expected, f"{case.name}: {status} {score:g}"
    if status == boundary.REFUSED:
        assert case.message in graded["logs"][case.assignment]


def test_grading_the_boundary_leaves_the_machine_as_it_was(graded):
    assert all(canary_untouched(canary) for canary in graded["canaries"])
    assert graded["disk_lowered_mb"] < DISK_BUDGET_MB, f"{graded['disk_lowered_mb']:.0f} MB"
    assert graded["leftover_processes"] == []
    assert graded["new_scratch"] == []
    assert not list(Path("/tmp").glob(f"{boundary.MARKER_PREFIX}*"))  # nothing a case tried to make on the host


def test_what_the_other_workers_write_meanwhile_is_theirs(tmp_path, monkeypatch):
    import boundary_runs

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setattr(boundary_runs, "ROOT", tmp_path / "course")
    own, other = tmp_path / "popen-gw0", tmp_path / "popen-gw1"
    own.mkdir()
    before = other_workers_bytes(own, {"case"})
    (other / "class").mkdir(parents=True)
    (other / "class" / "notebook.ipynb").write_bytes(os.urandom(3 * 2**20))
    (tmp_path / "course" / "feedback" / "ghost").mkdir(parents=True)  # another worker's student
    (tmp_path / "course" / "feedback" / "ghost" / "page.html").write_bytes(os.urandom(2 * 2**20))
    # this worker's own, counted against its budget
    (own / "mine.ipynb").write_bytes(os.urandom(5 * 2**20))
    (tmp_path / "course" / "autograded" / "case").mkdir(parents=True)
    (tmp_path / "course" / "autograded" / "case" / "notebook.ipynb").write_bytes(os.urandom(5 * 2**20))
    assert 5 * 2**20 <= other_workers_bytes(own, {"case"}) - before < 6 * 2**20
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert other_workers_bytes(own, {"case"}) == 0  # one process: no other worker


def test_a_changed_copy_of_a_stand_in_or_a_forged_log_fails_the_test_with_its_reason(graded):
    """The test of optimization fails, and says why on the student's page, where the kernel's copy
    of its stand-in answered otherwise, and where the kernel logged the calls' arguments in a form
    of its own (that the other tests pass, the scores say: the test of each case's status and score)."""
    reasons = {"changes_the_stand_ins_copy": "the kernel&#39;s copy of the stand-in propagate answered differently",
               "forges_the_logged_arguments": "a logged call that is not the grader&#39;s protocol"}
    for case, reason in reasons.items():
        pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / case).rglob("*.html"))
        assert len(pages) == 1, case
        assert reason in pages[0].read_text(encoding="utf-8"), case


def test_messages_that_break_the_format_are_dropped_with_a_note_and_the_cells_go_on(graded):
    """The case's messages that break Jupyter's protocol or the notebook format are not on its page:
    a note says so in the cell; its frames that cannot be read leave nothing; its reply without a
    status is its cell's error; the three cells' later prints are there, and the message sent
    twice is there once."""
    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "breaks_the_message_format").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert text.count("that does not follow Jupyter&#39;s message protocol or the notebook format; it was not kept: "
                      "NotebookValidationError: 5 is not") == 1  # one note for the cell, on its first
    assert text.count("<pre>the cell went on") == 3
    assert text.count("reply to this cell does not follow Jupyter&#39;s message protocol: it has no status") == 1
    assert text.count("<pre>sent twice") == 1
    assert text.count("a list as") == 2  # in the cell's code only


def test_html_nested_too_deep_reaches_the_feedback_page_as_text(graded):
    """The case's two outputs and markdown cell are on its page, each as text with a note, never
    handed to the sanitiser's parser (which took minutes for each)."""
    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "nests_html_deep").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert text.count('class="course-shown-as-text"') == 3
    assert "My notes:" in text and "&lt;dd&gt;&lt;dl&gt;" in text


def test_hostile_maths_reaches_the_feedback_page_as_mathml_and_text(graded):
    """The case's maths is on its page: the long formula as MathML, the TeX that latex2mathml cannot
    convert (markdown and the Latex output) as text; the page has no script to typeset it."""
    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "hostile_maths").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert "<script" not in text
    assert "<mi>x</mi><mo>+</mo>" * 8000 in text
    assert text.count('<span class="tex-source">') == 5 + 300  # one of them the output's
    assert text.count("{" * 1000 + "x" + "}" * 1000) == 2 and r"$\def\a{b} x^a^b$" in text


def test_layout_costly_markup_reaches_the_feedback_page_without_its_cost(graded):
    """The case's outputs are on its page, text and tables, without the markup that made the
    browser's layout cost far more than its size."""
    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "layout_costly_markup").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert "ab" * 10_000 in text and '<col span="100">' * 10_000 in text and "ab" * 5_000 in text
    assert '<td rowspan="100" colspan="100">a</td>' in text
    for gone in ("<ruby", "<rt", "<bdo", ' dir="rtl"', ' lang="he"', 'style="opacity', 'span="1000"', 'rowspan="65534"'):
        assert gone not in text, gone
    assert text.count('<span class="course-maths-as-text"') == 20 and "<mpadded>" not in text



def test_text_costly_to_lay_out_reaches_the_feedback_page_in_blocks(graded):
    """The case's code cell, printed text, value and error are on its page whole, each in lines
    and pieces of blocks the browser lays out one by one, and its HTML and markdown are cut
    into blocks of 1,000 turns of direction or 1,000 accents (autograder/pages/text_blocks.py)."""
    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "text_costly_to_lay_out").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert text_blocks.STYLE in text
    piece = f'<span class="{text_blocks.PIECE_CLASS}">'
    pieces = [part.partition("</span>")[0] for part in text.split(piece)[1:]]
    whole = [piece for piece in pieces if len(piece) == text_blocks.PIECE and piece in boundary.MIXED_DIRECTION]
    assert len(whole) >= 4 * 49  # four texts of 50 pieces, the first of each after "# ", "'" or "ValueError: "
    # The HTML and the markdown, in 50,000 turns of direction each, cut every 1,000 (in <b>, <em>)
    for tag in ("b", "em"):
        assert text.count(f'</{tag}><span class="{text_blocks.CUT_CLASS}"></span><{tag}>') == 49
    # ... and the letter's 50,000 accents every 1,000
    assert text.count("\u0301" * 1000 + f'<span class="{text_blocks.CUT_CLASS}"></span>') == 49


def test_images_costly_to_draw_are_left_out_of_the_feedback_page_with_a_note(graded):
    """The case's SVG of 10^8 rectangles (an output and in HTML) and its PNG of 20,000 x 20,000
    pixels are not on its page; notes say why (autograder/pages/image_budget.py)."""
    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "images_costly_to_draw").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert "(an SVG image is not shown: it draws more than 100,000 elements" in text
    assert "(an image is not shown: it has far more than 25,000,000 pixels" in text
    assert 'HTML: <img alt="bomb">' in text
    assert not re.search(r'<img[^<>]*src="data:image/svg', text)  # (the cell's code that made them shows it)
    assert "iVBORw0KGgoAAAANSUhEUgAATiAAAE4g" not in text  # a PNG of 20,000 x 20,000

def test_colour_codes_reach_the_feedback_page_bounded(graded):
    """The case's colour codes are on its page, at most 2,000 of them, and its text whole."""
    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "colour_codes").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert text.count('<span class="ansi-red-fg">x</span>') == 1_000  # 2,000 codes: one colours each x, one resets
    assert text.count("x" * 1000) >= 70  # the rest of the 80,000 x's, uncoloured
    assert '<span class="ansi-red-intense-fg ansi-bold">red</span>' in text


def test_markup_that_draws_over_the_page_stays_within_its_cell(graded):
    """The case's markdown and output keep no class that the page's stylesheets give a meaning, and
    the page contains each cell's paint (tests/test_html_safety.py and test_formgrader_safety.py
    check both in Chromium)."""
    from bs4 import BeautifulSoup

    from autograder.pages import html_safety

    pages = list((graded["work"] / boundary.ASSIGNMENT / "out" / "feedback" / "draws_over_the_page").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    soup = BeautifulSoup(text, "html.parser")
    assert len(soup.find_all("a", string="Next submission")) == 2  # the markdown's, the output's
    assert len(soup.find_all("div", string="covered")) == 2
    assert soup.select(".modal, .navbar-fixed-top, .btn") == []
    assert html_safety.CONTAINED_STYLE in text


@pytest.mark.parametrize("case, assignment, label", [
    ("changes_the_keras_recording", boundary.A03, "Keras recording"),
    ("changes_the_decoded_data", boundary.ASSIGNMENT, "Decoded data"),
])
def test_a_shared_folder_cannot_be_changed_from_a_kernel(graded, case, assignment, label):
    """The kernel saw the folder that every kernel of the class shares (the reference's recorded
    Keras calls: every Keras call of its notebook then replayed; the decoded data: its pictures
    read from there), under the harness and under plain nbgrader given the same folders, and
    could change nothing in it: not an entry, not the folder. Full score under both."""
    pages = list((graded["work"] / assignment / "out" / "feedback" / case).rglob("*.html"))
    notebooks = list((graded["work"] / assignment).glob(f"autograded-*/{case}/{assignment}/{assignment}.ipynb"))
    assert len(pages) == 1 and len(notebooks) == 1, (pages, notebooks)
    printed = "".join(output.get("text", "") for cell in nbformat.read(notebooks[0], as_version=4).cells
                      for output in cell.get("outputs", []))
    for grader, text in (("the harness's page", pages[0].read_text(encoding="utf-8")),
                         ("plain nbgrader's notebook", printed)):
        found = re.search(rf"{label}: (\d+) entries; changes refused: (\d+); changes that held: (.*)", text)
        assert found, f"the case's line is not in {grader}"
        entries, refused, held = int(found[1]), int(found[2]), found[3].strip()
        assert entries > 0 and refused == 3 + 5 * entries and held == "[]", (grader, found[0])
